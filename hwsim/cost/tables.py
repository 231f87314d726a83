"""Sourced constant tables (hwsim/cost/data/tables/*.yaml) for the datapath and FPGA models.

A table file has `version: 1` and sections of entries `{value: number, source: text}`; an
entry without a source is refused, as in the cost profiles. Sections whose entries are
mappings of such entries (FPGA parts) are read with `records`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from hwsim.errors import HwsimError

TABLES = Path(__file__).parent / "data" / "tables"


@cache
def _doc(name: str) -> dict:
    path = TABLES / f"{name}.yaml"
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise HwsimError(f"{path.name}: version: expected 1")
    return doc


def _entry(where: str, entry) -> float:
    if not (isinstance(entry, dict) and isinstance(entry.get("value"), int | float)):
        raise HwsimError(f"{where}: expected {{value: number, source: text}}")
    if not str(entry.get("source", "")).strip():
        raise HwsimError(f"{where}.source: every entry needs a source")
    return float(entry["value"])


@cache
def constants(name: str, section: str) -> dict[str, float]:
    """{key: value} of one section of table `name`, every entry checked for a source."""
    raw = _doc(name).get(section) or {}
    return {str(k): _entry(f"{name}.yaml: {section}.{k}", v) for k, v in raw.items()}


@cache
def records(name: str, section: str) -> dict[str, dict[str, float]]:
    """{record: {field: value}} of a section whose records hold sourced entries."""
    raw = _doc(name).get(section) or {}
    return {
        str(rec): {str(f): _entry(f"{name}.yaml: {section}.{rec}.{f}", e) for f, e in d.items()}
        for rec, d in raw.items()
    }
