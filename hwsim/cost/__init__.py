"""hwsim.cost: prices a finished simulation's action counts (energy) and components (area).

`recost(stats, profile)` returns a copy of `stats` priced with another profile, without
re-simulating. Profiles are data files in hwsim/cost/data with a source per entry
(horowitz45, accelergy40, bitmod28, bitfusion).

  profiles.py  load and validate profiles      energy.py  counts x table (bit-width formulas)
  scaling.py   Stillmaker & Baas node scaling   area.py    component areas
  datapath.py  a MAC's components from its formats and PE kind (no prices)
  asic.py      pJ / um^2 of those components, float-unit calibration, leakage density
  fpga.py      LUT/FF/DSP/BRAM of those components, DSP packing, fits-the-device
  tables.py    sourced constants of the datapath and FPGA models (data/tables/*.yaml)
Leakage: `leakage` in energy_breakdown_pj = static power of the priced area (hwsim.cost.asic)
x latency; the PE area of a per_cycle profile is left out (its synthesised per-cycle figure
includes the PE's leakage). Each op's row carries its share (its cycles).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from hwsim.cost.area import area_breakdown_mm2
from hwsim.cost.asic import datapath_pj, leakage_nw_per_um2
from hwsim.cost.datapath import MODELLED_KINDS, mac_datapath, pe_operands
from hwsim.cost.energy import action_pj, kulisch_bits, price_counts, sram_pj_per_bit
from hwsim.cost.profiles import Profile, load_profile, profile_names
from hwsim.cost.scaling import area_scale, energy_scale
from hwsim.errors import HwsimError


def arch_datapath(arch):
    """The datapath of the arch's PE at the arch's (run-wide) precision, or None for a PE
    kind without a datapath model."""
    arr, prec = arch.pe_array, arch.precision
    if arr.pe_kind not in MODELLED_KINDS:
        return None
    key = (arr.pe_kind, arr.pe_params, arr.dot_product_width, prec)
    try:
        try:
            hash(key)
        except TypeError:  # list-valued PE parameters: no caching
            return _datapath.__wrapped__(*key)
        return _datapath(*key)
    except HwsimError as e:
        raise HwsimError(f"arch.precision: {e} ({arch.source})") from None


@lru_cache(maxsize=256)
def _datapath(kind, pe_params, dp, prec):
    params = dict(pe_params)
    a, w = pe_operands(
        kind, params, prec.activation_format, prec.weight_format, prec.activation_bits,
        prec.weight_bits,
    )  # fmt: skip
    return mac_datapath(kind, params, a, w, dp, prec.group_size, prec.scale_bits)


def leakage_w(arch, area_mm2: dict, profile: Profile) -> float:
    """Static power (W) of the priced area; a per_cycle PE figure already holds its own."""
    node = arch.technology.node_nm
    watts = 0.0
    for name, mm2 in area_mm2.items():
        if name == "pe" and profile.pe_pricing == "per_cycle":
            continue
        storage = name.startswith("sram:")
        watts += mm2 * 1e6 * leakage_nw_per_um2(node, storage) * 1e-9
    return watts


def recost(stats, profile: str | Profile | None = None):
    """A copy of `stats` with energy_pj, energy/area breakdowns and per-op energy priced."""
    prof = (
        profile
        if isinstance(profile, Profile)
        else load_profile(profile or stats.arch.technology.profile)
    )
    arch = stats.arch
    # a per_cycle profile prices the PE from its own figure: the datapath is needed only for
    # per_action pricing and FPGA resources
    needed = prof.pe_pricing == "per_action" or arch.fpga is not None
    parts = arch_datapath(arch) if needed else None
    pe_per_mac = None
    if parts is not None and prof.pe_pricing == "per_action":
        pe_per_mac = datapath_pj(parts, prof, energy_scale(prof.node_nm, arch.technology.node_nm))
    area = area_breakdown_mm2(
        arch, prof, stats.pe_counts_per_mac, parts if pe_per_mac is not None else None
    )
    leak_pj_per_cycle = leakage_w(arch, area, prof) / (arch.clock_mhz * 1e6) * 1e12
    breakdown: dict[str, float] = {}
    unpriced: set[str] = set()
    per_op = []
    for row, counts in zip(stats.op_rows, stats.op_counts, strict=True):
        repeat = row["repeat"]
        op_parts, missing = price_counts(counts, arch, prof, pe_per_mac)
        op_parts["leakage"] = leak_pj_per_cycle * row["cycles"]
        unpriced |= missing
        per_op.append(sum(op_parts.values()))
        for k, v in op_parts.items():
            breakdown[k] = breakdown.get(k, 0.0) + v * repeat
    rows = [{**row, "energy_pj": e} for row, e in zip(stats.op_rows, per_op, strict=True)]
    energy_breakdown = dict(sorted(breakdown.items()))
    if unpriced:
        energy_breakdown["unpriced_actions"] = ", ".join(sorted(unpriced))
    fpga = None
    if arch.fpga is not None:
        from hwsim.cost.fpga import fpga_resources

        if parts is None:
            raise HwsimError(
                f"arch.pe_array.pe.kind: {arch.pe_array.pe_kind!r} has no datapath model for "
                f"FPGA resources; expected one of {', '.join(MODELLED_KINDS)} ({arch.source})"
            )
        fpga = fpga_resources(arch, parts)
    return replace(
        stats,
        fpga=fpga,
        op_rows=rows,
        energy_pj=float(sum(v for k, v in energy_breakdown.items() if k != "unpriced_actions")),
        energy_breakdown_pj=energy_breakdown,
        area_mm2=float(sum(area.values())),
        area_breakdown_mm2=area,
        profile=prof.name,
    )


__all__ = [
    "Profile",
    "action_pj",
    "arch_datapath",
    "area_scale",
    "energy_scale",
    "kulisch_bits",
    "leakage_w",
    "load_profile",
    "profile_names",
    "recost",
    "sram_pj_per_bit",
]
