"""The sweep result store: SQLite, one row per design point keyed by its configuration hash.

Every finished point is committed at once (WAL journal), so a sweep killed at any moment,
SIGKILL included, leaves only whole rows behind, and re-running the sweep skips them.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pandas as pd

from hwsim.errors import HwsimError, shown

METRICS = ("cycles", "energy_pj", "area_mm2", "latency_s", "dram_bytes", "edp_pj_s", "sqnr_db",
           "utilisation")  # fmt: skip
# eval_metrics: JSON {"eval:<metric>": value} of a sweep with an eval: block (else NULL); the
# tables spread it into one column per metric (expand_eval)
COLUMNS = ("key", "seq", "params", "status", "reason", *METRICS, "eval_metrics")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,      -- hash of the point's full configuration
    seq INTEGER NOT NULL,      -- the point's place in its sweep's enumeration
    params TEXT NOT NULL,      -- JSON of the axis values
    status TEXT NOT NULL,      -- ok | invalid
    reason TEXT NOT NULL,      -- one-line reason when invalid
    cycles INTEGER, energy_pj REAL, area_mm2 REAL, latency_s REAL, dram_bytes INTEGER,
    edp_pj_s REAL, sqnr_db REAL, utilisation REAL,
    eval_metrics TEXT          -- JSON of the eval objectives, NULL without an eval: block
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _readable(method):
    """A damaged store (a garbage page) found mid-sweep, or a disk that fills up under it, is
    one line naming it, not a trace."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            damaged = "malformed" in str(e) or "not a database" in str(e)
            hint = "; expected an intact `hwsim sweep` store (move it away to start afresh)"
            verb = "write" if method.__name__ in ("add", "set_meta") else "read"
            raise HwsimError(
                f"result store {shown(self.path)}: "
                + (f"unreadable ({e}){hint}" if damaged else f"cannot {verb} ({e})")
            ) from None

    return wrapper


class ResultStore:
    """Open (or create) a store; use as a context manager or call close()."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            _check_is_store(self.path, self._db)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            _add_eval_column(self._db)
        except (OSError, sqlite3.DatabaseError) as e:
            if hasattr(self, "_db"):
                self._db.close()
            raise HwsimError(f"result store {shown(self.path)}: cannot open ({e})") from None
        except HwsimError:
            self._db.close()
            raise

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @_readable
    def count(self) -> int:
        """Stored points (counting them reads every page of the table)."""
        return self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    @_readable
    def keys(self) -> set[str]:
        """Keys of every stored point."""
        return {k for (k,) in self._db.execute("SELECT key FROM points")}

    @_readable
    def add(self, rows: list[dict]) -> None:
        """Insert finished points (a key already stored is left as it is) and commit."""
        values = [tuple(r.get(c) for c in COLUMNS) for r in rows]
        marks = ", ".join("?" * len(COLUMNS))
        with self._db:
            self._db.executemany(
                f"INSERT OR IGNORE INTO points ({', '.join(COLUMNS)}) VALUES ({marks})", values
            )

    @_readable
    def get(self, keys) -> dict[str, dict]:
        """Stored rows by key (missing keys left out)."""
        out = {}
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            q = f"SELECT {', '.join(COLUMNS)} FROM points WHERE key IN ({marks})"
            for row in self._db.execute(q, chunk):
                out[row[0]] = dict(zip(COLUMNS, row))
        return out

    @_readable
    def table(self) -> pd.DataFrame:
        """Every stored point, in sweep order (seq, then key)."""
        rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM points ORDER BY seq, key")
        return expand_eval(pd.DataFrame(rows.fetchall(), columns=list(COLUMNS)))

    @_readable
    def set_meta(self, name: str, value: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value)
            )

    @_readable
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT name, value FROM meta"))


def expand_eval(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with its eval_metrics JSON spread into one column per `eval:<metric>` (NaN where a
    point has none), the JSON column dropped."""
    import json

    parsed = [json.loads(v) if isinstance(v, str) else {} for v in df["eval_metrics"]]
    out = df.drop(columns=["eval_metrics"])
    for name in dict.fromkeys(k for p in parsed for k in p):
        out[name] = [p.get(name) for p in parsed]
    return out


def _add_eval_column(db: sqlite3.Connection) -> None:
    """A store written before eval objectives gets their (empty) column."""
    if "eval_metrics" not in _tables(db)["points"]:
        with db:
            db.execute("ALTER TABLE points ADD COLUMN eval_metrics TEXT")


def _tables(db: sqlite3.Connection) -> dict[str, list[str]]:
    names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: [row[1] for row in db.execute(f"PRAGMA table_info('{n}')")] for n in names}


def _check_is_store(path: Path, db: sqlite3.Connection, must_exist: bool = False) -> None:
    """Refuse an SQLite file that some other program wrote (never add tables to it)."""
    tables = _tables(db)
    foreign = sorted(set(tables) - {"points", "meta"})
    # the columns every version of the store has had; a store never loses one
    if foreign or ("points" in tables and not set(COLUMNS[:5]) <= set(tables["points"])):
        what = f"it has table {foreign[0]!r}" if foreign else "its points table has other columns"
    elif must_exist and "points" not in tables:
        what = "no points table"
    else:
        return
    raise HwsimError(f"{path}: not a result store ({what}); expected `hwsim sweep` output")


def open_existing(path) -> ResultStore:
    """A store that must already exist (for reports)."""
    p = Path(path)
    if not p.is_file():
        raise HwsimError(f"result store {str(p)!r} not found")
    with p.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise HwsimError(f"{p}: not a result store (expected an SQLite file)")
    try:
        db = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            _check_is_store(p, db, must_exist=True)
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        raise HwsimError(f"result store {str(p)!r}: cannot open ({e})") from None
    return ResultStore(p)


def remove_store(path) -> None:
    """Delete a store and its WAL side files (for a command that created it and failed)."""
    p = Path(path)
    for f in (p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm")):
        f.unlink(missing_ok=True)
