"""A SCALE-Sim (v2/v3) `.cfg` file -> Arch.

SCALE-Sim describes a systolic array of 1-byte words: [architecture_presets] ArrayHeight,
ArrayWidth, IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB, Dataflow, Bandwidth (words per
cycle), MemoryBanks. It has no precision and no energy, so the Arch gets an 8-bit INT MAC,
the horowitz45 profile and 45 nm.
"""

from __future__ import annotations

import configparser
import difflib
from pathlib import Path

from hwsim.errors import HwsimError, read_text
from hwsim.spec.schema import (
    DRAM,
    Arch,
    MemoryLevel,
    PEArray,
    Precision,
    Technology,
    VectorUnit,
)

_DATAFLOWS = {"os": "os", "ws": "ws", "is": "is"}
# [architecture_presets] keys this reader uses; other SCALE-Sim versions add keys it ignores,
# but a near-miss of one of these is a typo that would silently fall back to a default
_KNOWN_KEYS = (
    "ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB",
    "IfmapOffset", "FilterOffset", "OfmapOffset", "Dataflow", "Bandwidth", "MemoryBanks",
)  # fmt: skip


def load_scalesim_cfg(path: Path) -> Arch:
    """Read a SCALE-Sim config into an Arch (dataflow and array shape kept exactly)."""
    cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    try:
        cp.read_string(read_text(path, "SCALE-Sim config"))
    except configparser.Error as e:
        raise HwsimError(f"{path}: not a valid SCALE-Sim config ({type(e).__name__})") from None
    sec = "architecture_presets"
    if not cp.has_section(sec):
        raise HwsimError(f"{path}: missing section [{sec}]")
    a = cp[sec]
    known = {k.lower(): k for k in _KNOWN_KEYS}
    for key in a:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.8)
        if key not in known and close:
            raise HwsimError(
                f"{path}: [{sec}] {key}: unknown key; expected {known[close[0]]} (a typo?)"
            )

    def integer(key: str, default: int | None = None) -> int:
        if key.lower() not in a:
            if default is not None:
                return default
            raise HwsimError(f"{path}: [{sec}] {key}: missing required field")
        raw = a[key.lower()].strip()
        try:
            value = int(float(raw))
        except ValueError:
            raise HwsimError(
                f"{path}: [{sec}] {key}: expected an integer > 0, got {raw!r}"
            ) from None
        if value <= 0:
            raise HwsimError(f"{path}: [{sec}] {key}: expected an integer > 0, got {raw!r}")
        return value

    rows, cols = integer("ArrayHeight"), integer("ArrayWidth")
    dataflow = a.get("dataflow", "os").strip().lower()
    if dataflow not in _DATAFLOWS:
        raise HwsimError(f"{path}: [{sec}] Dataflow: expected os, ws or is, got {dataflow!r}")
    banks = integer("MemoryBanks", 1)
    bandwidth = integer("Bandwidth", 10)

    def sram(name: str, key: str, operand: str) -> MemoryLevel:
        size = integer(key) * 1024
        # SCALE-Sim reads one word per PE edge per cycle and double-buffers its SRAMs
        edge = rows if operand != "weights" else cols
        return MemoryLevel(name, size, banks, 8, edge, edge, (operand,), True)

    memory = (
        sram("ifmap_sram", "IfmapSramSzkB", "inputs"),
        sram("filter_sram", "FilterSramSzkB", "weights"),
        sram("ofmap_sram", "OfmapSramSzkB", "outputs"),
    )
    run_name = path.stem
    if cp.has_section("general") and "run_name" in cp["general"]:
        run_name = cp["general"]["run_name"].strip()
    return Arch(
        version=1,
        name=run_name,
        clock_mhz=1000.0,
        pe_array=PEArray(rows, cols, "int_mac", (), 1, True),
        dataflow=_DATAFLOWS[dataflow],
        memory=memory,
        dram=DRAM("lpddr4", float(bandwidth), 0, None),
        vector_unit=VectorUnit(cols),
        technology=Technology(45, "horowitz45"),
        precision=Precision(None, None, 8, 8, None, 0),
        source=str(path),
    )
