"""The files hwsim ships (hwsim/data/): archs, workloads, recipes and sweeps, found by name.

`resolve(kind, name_or_path)` is the one rule every loader uses:

1. an existing path wins (absolute, or relative to `base` when given, then to the cwd; a
   folder too, so that its loader says it cannot read it);
2. else a shipped name: `bitmod`, `bitmod.yaml`, or the spelling of the repository before
   the files became package data, `arch/bitmod.yaml` (that kind's old folder, relative to
   nowhere);
3. else an HwsimError of one line listing the shipped names of that kind.

A kind's files may have several suffixes (an arch is a YAML file or a SCALE-Sim .cfg, a
workload a YAML file or a SCALE-Sim topology .csv); a file with its folder's first suffix is
named by its stem, any other by its file name (`scalesim` is scalesim.yaml, `scalesim.cfg`
the .cfg twin).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hwsim.errors import HwsimError

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Kind:
    folders: tuple[tuple[str, tuple[str, ...]], ...]  # (folder under DATA, suffixes), in order
    old_folders: tuple[str, ...]  # where the repository kept them before they were package data
    also: str = ""  # what else the loader accepts, for the error message


KINDS = {
    "arch": Kind((("arch", (".yaml", ".cfg")),), ("arch",)),
    "workload": Kind(
        (("workloads", (".yaml",)), ("scalesim", (".csv",))),
        ("workloads", "workloads/scalesim"),
        also=" (or a model card model:phase:length[:batch])",
    ),
    "recipe": Kind((("recipes", (".yaml",)),), ("workloads/recipes",)),
    "sweep": Kind((("sweeps", (".yaml",)),), ("workloads/sweeps",)),
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValueError(f"shipped kind {kind!r}: expected one of {', '.join(KINDS)}")
    return KINDS[kind]


def files(kind: str) -> dict[str, Path]:
    """Every shipped file of a kind, by its name."""
    out: dict[str, Path] = {}
    for folder, suffixes in _kind(kind).folders:
        for p in sorted((DATA / folder).iterdir()):
            if p.is_file() and p.suffix.lower() in suffixes:
                out.setdefault(p.stem if p.suffix.lower() == suffixes[0] else p.name, p)
    return out


def names(kind: str) -> list[str]:
    """The shipped names of a kind, sorted."""
    return sorted(files(kind))


def shipped(kind: str, name: str) -> Path | None:
    """The shipped file called `name` (`bitmod`, `bitmod.yaml` or `arch/bitmod.yaml`), or None."""
    k = _kind(kind)
    folder, _, leaf = name.replace("\\", "/").rpartition("/")
    if folder and folder.removeprefix("./") not in k.old_folders:
        return None
    by_name = files(kind)
    if leaf in by_name:
        return by_name[leaf]
    for path in by_name.values():
        if path.name == leaf:
            return path
    return None


def resolve(kind: str, name_or_path, base: Path | None = None, where: str | None = None) -> Path:
    """The file a user means by `name_or_path` (see the module docstring for the rule).

    `base` is a folder to try first (a sweep file's own), `where` the prefix of the error
    (default: the kind).
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise HwsimError(
            f"{where or kind}: expected a path or a shipped {kind}'s name, "
            f"got {type(name_or_path).__name__}"
        )
    text = str(name_or_path)
    p = Path(text)
    for cand in (base / p, p) if base is not None else (p,):
        if cand.exists():
            return cand
    found = shipped(kind, text)
    if found is not None:
        return found
    raise HwsimError(
        f"{where or kind}: no file or shipped {kind} named {text!r}{_kind(kind).also}; "
        f"shipped: {', '.join(names(kind))}"
    )


def epilog(kinds=tuple(KINDS)) -> str:
    """The shipped names of some kinds, one line each, for `--help` epilogs."""
    return "\n".join(f"shipped {kind}s: {', '.join(names(kind))}" for kind in kinds)
