"""Load the repository's scripts (reports/paper/*.py, tests/golden/*.py) as modules, so tests
can call their functions without running their command lines."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script(relative: str):
    """The module of the script at ROOT / `relative` (e.g. "reports/paper/fliqs.py")."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
