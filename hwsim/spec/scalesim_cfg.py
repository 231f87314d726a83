"""A SCALE-Sim (v2/v3) `.cfg` file -> Arch.

SCALE-Sim describes a systolic array of 1-byte words: [architecture_presets] ArrayHeight,
ArrayWidth, IfmapSramSzkB, FilterSramSzkB, OfmapSramSzkB, Dataflow, Bandwidth (words per
cycle; SCALE-Sim 3 allows a comma list, whose first entry is the one hwsim's single DRAM
port takes), MemoryBanks. It has no precision and no energy, so the Arch gets an 8-bit INT
MAC, the horowitz45 profile and 45 nm. SCALE-Sim 3's extra sections ([layout], [sparsity])
and keys (ReadRequestBuffer, ...) are accepted and not modelled.

Values are read literally (no `%` interpolation) and every number is a plain decimal
integer, as SCALE-Sim's own `int(...)` requires: `32.9`, `1e3`, `inf` are errors here, not 32.
"""

from __future__ import annotations

import configparser
import difflib
import re
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

SECTION = "architecture_presets"
_DATAFLOWS = ("os", "ws", "is")
# [architecture_presets] keys this reader uses; other SCALE-Sim versions add keys it ignores,
# but a near-miss of one of these is a typo that would silently fall back to a default
_KNOWN_KEYS = (
    "ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB",
    "IfmapOffset", "FilterOffset", "OfmapOffset", "Dataflow", "Bandwidth", "MemoryBanks",
)  # fmt: skip
_INT = re.compile(r"\+?[0-9]{1,12}")
MAX_ARRAY_SIDE = 1 << 16  # PEs per side; beyond it the cycle model's int64 counts are at risk
MAX_SRAM_KB = 1 << 30  # 1 TiB per buffer
MAX_BANDWIDTH = 1 << 30  # words per cycle


def _clip(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[:n] + "...")


def _parse(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    try:
        text = read_text(path, "SCALE-Sim config").lstrip("\ufeff")
    except OSError as e:
        raise HwsimError(
            f"{path}: SCALE-Sim config: expected a readable file, got {e.strerror or e}"
        ) from None
    try:
        cp.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as e:
        raise HwsimError(
            f"{path}: line {e.lineno}: expected a [section] header first, "
            f"got {_clip(e.line.strip())}"
        ) from None
    except configparser.DuplicateSectionError as e:
        raise HwsimError(
            f"{path}: line {e.lineno}: [{e.section}]: expected once, got twice"
        ) from None
    except configparser.DuplicateOptionError as e:
        key = {k.lower(): k for k in _KNOWN_KEYS}.get(e.option, e.option)
        raise HwsimError(
            f"{path}: line {e.lineno}: [{e.section}] {key}: expected once, got twice"
        ) from None
    except configparser.ParsingError as e:
        lineno, line = e.errors[0]
        raise HwsimError(
            f"{path}: line {lineno}: expected `key: value` or [section], got {_clip(line.strip())}"
        ) from None
    return cp


def load_scalesim_cfg(path: Path) -> Arch:
    """Read a SCALE-Sim config into an Arch (dataflow and array shape kept exactly)."""
    cp = _parse(path)
    if not cp.has_section(SECTION):
        raise HwsimError(f"{path}: [{SECTION}]: expected this section, got none")
    a = cp[SECTION]
    known = {k.lower(): k for k in _KNOWN_KEYS}
    for key in a:
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.8)
        if key not in known and close:
            raise HwsimError(
                f"{path}: [{SECTION}] {key}: unknown key; expected {known[close[0]]} (a typo?)"
            )

    def number(raw: str, key: str, low: int, high: int) -> int:
        if not _INT.fullmatch(raw) or not low <= int(raw) <= high:
            raise HwsimError(
                f"{path}: [{SECTION}] {key}: expected an integer in {low}..{high}, got {_clip(raw)}"
            )
        return int(raw)

    def integer(key: str, high: int, default: int | None = None, low: int = 1) -> int:
        if key.lower() not in a:
            if default is not None:
                return default
            raise HwsimError(f"{path}: [{SECTION}] {key}: expected an integer, got no such key")
        return number(a[key.lower()].strip(), key, low, high)

    rows, cols = integer("ArrayHeight", MAX_ARRAY_SIDE), integer("ArrayWidth", MAX_ARRAY_SIDE)
    dataflow = a.get("dataflow", "os").strip().lower()
    if dataflow not in _DATAFLOWS:
        raise HwsimError(
            f"{path}: [{SECTION}] Dataflow: expected os, ws or is, got {_clip(dataflow)}"
        )
    banks = integer("MemoryBanks", 1 << 16, 1)
    bandwidth = 10
    if "bandwidth" in a:  # SCALE-Sim 3: a comma list; the first entry feeds hwsim's DRAM
        parts = [p.strip() for p in a["bandwidth"].split(",")]
        bandwidth = [number(p, "Bandwidth", 1, MAX_BANDWIDTH) for p in parts][0]
    for key in ("IfmapOffset", "FilterOffset", "OfmapOffset"):  # not modelled, but integers
        integer(key, 1 << 62, 0, low=0)
    _check_run_presets(path, cp)

    def sram(name: str, key: str, operand: str) -> MemoryLevel:
        size = integer(key, MAX_SRAM_KB) * 1024
        # SCALE-Sim reads one word per PE edge per cycle and double-buffers its SRAMs
        edge = rows if operand != "weights" else cols
        return MemoryLevel(name, size, banks, 8, edge, edge, (operand,), True)

    memory = (
        sram("ifmap_sram", "IfmapSramSzkB", "inputs"),
        sram("filter_sram", "FilterSramSzkB", "weights"),
        sram("ofmap_sram", "OfmapSramSzkB", "outputs"),
    )
    run_name = path.stem
    if cp.has_section("general") and cp["general"].get("run_name", "").strip():
        run_name = cp["general"]["run_name"].strip()
        if not run_name.isprintable():
            raise HwsimError(
                f"{path}: [general] run_name: expected one line of text, got {_clip(run_name)}"
            )
    return Arch(
        version=1,
        name=run_name,
        clock_mhz=1000.0,
        pe_array=PEArray(rows, cols, "int_mac", (), 1, True),
        dataflow=dataflow,
        memory=memory,
        dram=DRAM("lpddr4", float(bandwidth), 0, None),
        vector_unit=VectorUnit(cols),
        technology=Technology(45, "horowitz45"),
        precision=Precision(None, None, 8, 8, None, 0),
        source=str(path),
    )


def _check_run_presets(path: Path, cp: configparser.ConfigParser) -> None:
    """[run_presets]: the keys SCALE-Sim validates, when present, hold values it accepts."""
    if not cp.has_section("run_presets"):
        return
    r = cp["run_presets"]
    mode = r.get("interfacebandwidth")
    if mode is not None and mode.strip() not in ("CALC", "USER"):
        raise HwsimError(
            f"{path}: [run_presets] InterfaceBandwidth: expected CALC or USER, got {_clip(mode)}"
        )
    ramulator = r.get("useramulatortrace")
    if ramulator is not None and ramulator.strip().lower() not in ("true", "false"):
        raise HwsimError(
            f"{path}: [run_presets] UseRamulatorTrace: expected True or False, got "
            f"{_clip(ramulator)}"
        )
