"""Cost profiles: data files (hwsim/cost/data/*.yaml), every entry a value with its source.

A profile has `node_nm`, `pe_pricing` (per_action: price the PE's action counts with the
bit-width formulas; per_cycle: price `pe:active_cycles` with a synthesised per-PE figure from
`pe_pj_per_cycle`, keyed by what the PE is, `KIND[:NAME=VALUE...]`, as hwsim.cost.energy
describes; `pe_um2` uses the same keys), `entries` (coefficients) and `dram_pj_per_bit` by DRAM
type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from hwsim.errors import HwsimError, closest

DATA = Path(__file__).parent / "data"
ENTRY_KEYS = [
    "mult_pj_per_bit2",
    "mult_um2_per_bit2",
    "add_pj_per_bit",
    "add_um2_per_bit",
    "reg_pj_per_bit",
    "fp16_mult_pj",
    "fp16_add_pj",
    "fp32_mult_pj",
    "fp32_add_pj",
    "sram_pj_per_64b_at_8kb",
    "sram_size_exponent",
    "sram_um2_per_bit",
]


@dataclass(frozen=True)
class Profile:
    """A validated cost profile (values only; sources stay in the file)."""

    name: str
    node_nm: int
    pe_pricing: str  # per_action | per_cycle
    entries: dict  # coefficient name -> value
    dram_pj_per_bit: dict  # dram type -> pJ/bit
    pe_pj_per_cycle: dict  # PE entry key -> pJ per PE per active cycle
    pe_um2: dict  # same keys -> um^2 per PE
    sources: dict  # every key -> its source text
    pe_selectors: dict  # PE entry key -> (kind or "*", {qualifier: value})

    def __getitem__(self, key: str) -> float:
        return self.entries[key]


def profile_names() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.yaml"))


@cache
def load_profile(name: str) -> Profile:
    """The profile called `name` (a file in hwsim/cost/data)."""
    path = DATA / f"{name}.yaml"
    if not path.is_file():
        raise HwsimError(
            f"unknown cost profile {name!r}; closest: {closest(name, profile_names())}"
        )
    doc = yaml.safe_load(path.read_text())
    where = f"({path.name})"
    if doc.get("version") != 1:
        raise HwsimError(f"{path.name}: version: expected 1, got {doc.get('version')!r}")
    sources: dict[str, str] = {}

    def table(section: str, required: bool) -> dict:
        raw = doc.get(section) or {}
        if required and not raw:
            raise HwsimError(f"{path.name}: {section}: missing section {where}")
        out = {}
        for key, entry in raw.items():
            if not (isinstance(entry, dict) and isinstance(entry.get("value"), int | float)):
                raise HwsimError(
                    f"{path.name}: {section}.{key}: expected {{value: number, source: text}}"
                )
            if not str(entry.get("source", "")).strip():
                raise HwsimError(f"{path.name}: {section}.{key}.source: every entry needs a source")
            out[str(key)] = float(entry["value"])
            sources[f"{section}.{key}"] = entry["source"]
        return out

    entries = table("entries", True)
    missing = [k for k in ENTRY_KEYS if k not in entries]
    if missing:
        raise HwsimError(f"{path.name}: entries: missing {', '.join(missing)}")
    pricing = doc.get("pe_pricing", "per_action")
    if pricing not in ("per_action", "per_cycle"):
        raise HwsimError(
            f"{path.name}: pe_pricing: expected per_action or per_cycle, got {pricing!r}"
        )
    per_cycle = table("pe_pj_per_cycle", pricing == "per_cycle")
    pe_um2 = table("pe_um2", False)
    extra = sorted(set(pe_um2) - set(per_cycle))
    if extra:
        raise HwsimError(f"{path.name}: pe_um2.{extra[0]}: expected a key of pe_pj_per_cycle")
    return Profile(
        name=doc.get("name", name),
        node_nm=int(doc["node_nm"]),
        pe_pricing=pricing,
        entries=entries,
        dram_pj_per_bit=table("dram_pj_per_bit", True),
        pe_pj_per_cycle=per_cycle,
        pe_um2=pe_um2,
        sources=sources,
        pe_selectors={
            key: pe_selector(f"{path.name}: pe_pj_per_cycle.{key}", key) for key in per_cycle
        },
    )


def pe_selector(where: str, key: str) -> tuple[str, dict[str, str]]:
    """`KIND[:NAME=VALUE...]` -> (KIND, {NAME: VALUE}); KIND may be `*` (any PE kind)."""
    kind, *parts = key.split(":")
    pairs = [part.partition("=") for part in parts]
    quals = {name: value for name, _, value in pairs}
    if not kind or len(quals) < len(pairs) or not all(n and eq and v for n, eq, v in pairs):
        raise HwsimError(f"{where}: expected KIND[:NAME=VALUE...] with distinct names, got {key!r}")
    return kind, quals
