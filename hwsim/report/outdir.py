"""Output directories that hwsim shares with its user: it replaces only the files it wrote.

A directory hwsim writes into (a run report, a sweep's outputs) holds a manifest,
`.hwsim-manifest.json`, naming the files hwsim put there. Writing a set of files:

  1. refuse a non-empty directory that is not hwsim's (no manifest, and some entry that is
     not one of the names this kind of directory holds), so no user file is ever touched;
  2. remove leftovers of interrupted writes (only hwsim-named temporaries: `.hwsim-tmp-*`,
     and those of older releases);
  3. write every new file as a `.hwsim-tmp-*` file in the directory itself, so a failure
     (a full disk, a size limit) removes them and leaves the old report as it was;
  4. record the old and new names in the manifest as `complete: false`, os.replace each
     file into place, drop the old files hwsim no longer writes, then mark it complete.

The directory itself is never renamed or removed, so a kill at any moment leaves it there,
holding the old files, the new ones, or a mix the manifest calls incomplete.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from hwsim.errors import HwsimError, shown

MANIFEST = ".hwsim-manifest.json"
TMP_PREFIX = ".hwsim-tmp-"
_OLD_TMP_FILE = re.compile(r"^\.(.+)\.[a-z0-9_]{8}(\.[A-Za-z]+)$")


class OutputDir:
    """A directory claimed for writing: `create()` it, then `write({name: writer})`.

    `kind` names it in messages ("report directory"); `names` are the files such a
    directory may hold when an older hwsim wrote it without a manifest."""

    def __init__(self, path, kind: str, names: frozenset[str] | set[str]):
        if str(path).strip() == "":
            raise HwsimError(f"{kind}: expected a directory path, got ''")
        self.path = Path(path)
        self.kind = kind
        self.names = frozenset(names) | {MANIFEST}
        self.created: list[Path] = []  # directories this command made, deepest last
        self.old: set[str] = set()  # files hwsim wrote here before
        self._check()

    def _check(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise HwsimError(f"{self.kind} {shown(p)}: exists and is not a directory")
        if not p.is_dir():
            return
        try:
            entries = sorted(os.listdir(p))
        except OSError as e:
            raise HwsimError(f"{self.kind} {shown(p)}: cannot read ({e.strerror})") from None
        manifest = read_manifest(p)
        if manifest is not None:
            self.old = set(manifest["files"]) & {e for e in entries}
            return
        foreign = [e for e in entries if not self._ours(p / e)]
        if foreign:
            raise HwsimError(
                f"{self.kind} {shown(p)}: expected an empty directory or one hwsim wrote, "
                f"got one holding {shown(foreign[0])} (choose another -o)"
            )
        self.old = {e for e in entries if e in self.names and e != MANIFEST}

    def create(self) -> Path:
        """Make the directory (and missing parents, remembered for `discard`)."""
        missing = []
        p = self.path
        while not p.exists() and p != p.parent:
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as e:
                self.discard()
                raise HwsimError(f"{self.kind} {shown(d)}: cannot create ({e.strerror})") from None
            self.created.append(d)
        self._clean_leftovers()
        return self.path

    def discard(self) -> None:
        """Remove the directories `create` made, if they are still empty."""
        for d in reversed(self.created):
            try:
                d.rmdir()
            except OSError:
                break  # not empty (or gone): leave it and its parents
        self.created = []

    def _ours(self, entry: Path) -> bool:
        """Whether an entry of a directory without a manifest is one hwsim writes."""
        if entry.name in self.names:
            return entry.is_file()
        return self._leftover(entry.name)

    def _leftover(self, entry: str) -> bool:
        """A temporary file of an interrupted write: ours, or an older hwsim's
        (`.points.csv.k3j_x9a1.csv`: tempfile's 8 random characters)."""
        if entry.startswith(TMP_PREFIX):
            return True
        m = _OLD_TMP_FILE.match(entry)  # its mkstemp kept the name's suffix: .csv, .png
        return bool(m) and m.group(1) in self.names and m.group(2) == Path(m.group(1)).suffix

    def _clean_leftovers(self) -> None:
        for e in os.listdir(self.path):
            if self._leftover(e) and not (self.path / e).is_dir():
                _unlink(self.path / e)
        # an older hwsim wrote a report into a sibling `.NAME.tmp-XXXXXXXX` and renamed the
        # old one to `.NAME.old-XXXXXXXX`; a kill left them behind (holding only report files)
        parent, name = self.path.resolve().parent, self.path.resolve().name
        pattern = re.compile(rf"^\.{re.escape(name)}\.(tmp|old)-[a-z0-9_]{{8}}$")
        try:
            siblings = os.listdir(parent)
        except OSError:
            return  # a parent we may not list: nothing of ours to find there
        for e in siblings:
            d = parent / e
            if pattern.match(e) and d.is_dir() and not d.is_symlink():
                inside = os.listdir(d)
                if all(f in self.names and (d / f).is_file() for f in inside):
                    shutil.rmtree(d, ignore_errors=True)

    def write(self, writers: dict[str, Callable[[Path], object]], keep: tuple[str, ...] = ()):
        """Write each `name` by `writers[name](temporary path)`, then put them all in place.

        `keep`: names hwsim owns here but writes some other way (a sweep's SQLite store)."""
        for name in writers:
            if (self.path / name).is_dir() and not (self.path / name).is_symlink():
                raise HwsimError(
                    f"{self.kind} {shown(self.path)}: expected {shown(name)} to be a file "
                    "hwsim wrote, got a folder (choose another -o)"
                )
        token = secrets.token_hex(4)
        tmps: dict[str, Path] = {}
        try:
            for name, write in writers.items():
                tmps[name] = self.path / f"{TMP_PREFIX}{token}-{name}"
                write(tmps[name])
                os.chmod(tmps[name], 0o644)
        except BaseException as e:
            for t in tmps.values():
                _unlink(t)
            if isinstance(e, OSError):
                raise HwsimError(
                    f"{self.kind} {shown(self.path)}: cannot write {name} ({_reason(e)})"
                ) from None
            raise
        new = set(writers) | set(keep)
        try:
            self._manifest(sorted(new | self.old), complete=False, token=token)
            for name, t in tmps.items():
                os.replace(t, self.path / name)
            for name in sorted(self.old - new):
                _unlink(self.path / name)
            self._manifest(sorted(new), complete=True, token=token)
        except BaseException as e:
            for t in tmps.values():
                _unlink(t)
            if isinstance(e, OSError):
                raise HwsimError(
                    f"{self.kind} {shown(self.path)}: cannot write ({_reason(e)})"
                ) from None
            raise
        self.old = new
        self.created = []  # it holds hwsim's files now: never discarded

    def _manifest(self, files: list[str], complete: bool, token: str) -> None:
        tmp = self.path / f"{TMP_PREFIX}{token}-{MANIFEST}"
        doc = {"written_by": "hwsim", "kind": self.kind, "complete": complete, "files": files}
        try:
            tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, self.path / MANIFEST)
        except BaseException:
            _unlink(tmp)
            raise


def read_manifest(d: Path) -> dict | None:
    """The manifest of a directory hwsim wrote, or None when there is none (or not ours)."""
    try:
        doc = json.loads((Path(d) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(doc, dict) and doc.get("written_by") == "hwsim"
    if not ok or not isinstance(doc.get("files"), list):
        return None
    plain = (isinstance(f, str) and "/" not in f and f not in ("", ".", "..") for f in doc["files"])
    if not all(plain):  # never a path outside the directory
        return None
    return doc


def _reason(e: OSError) -> str:
    return e.strerror or type(e).__name__


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        pass  # a read-only directory: nothing of ours could be written there anyway
