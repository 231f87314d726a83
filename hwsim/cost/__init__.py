"""hwsim.cost: prices a finished simulation's action counts (energy) and components (area).

`recost(stats, profile)` returns a copy of `stats` priced with another profile, without
re-simulating. Profiles are data files in hwsim/cost/data with a source per entry
(horowitz45, accelergy40, bitmod28, bitfusion).

  profiles.py  load and validate profiles      energy.py  counts x table (bit-width formulas)
  scaling.py   Stillmaker & Baas node scaling   area.py    component areas
  fpga.py      FINN LUT/DSP/BRAM estimates, DSP packing, fits-the-device, clock-limited MAC/s
Leakage is not modelled (no sourced leakage figures in the profiles).
"""

from __future__ import annotations

from dataclasses import replace

from hwsim.cost.area import area_breakdown_mm2
from hwsim.cost.energy import action_pj, kulisch_bits, price_counts, sram_pj_per_bit
from hwsim.cost.profiles import Profile, load_profile, profile_names
from hwsim.cost.scaling import area_scale, energy_scale


def recost(stats, profile: str | Profile | None = None):
    """A copy of `stats` with energy_pj, energy/area breakdowns and per-op energy priced."""
    prof = (
        profile
        if isinstance(profile, Profile)
        else load_profile(profile or stats.arch.technology.profile)
    )
    breakdown: dict[str, float] = {}
    unpriced: set[str] = set()
    per_op = []
    # each op's counts are priced with its own unit's PE (the arch as seen by that unit)
    arch = stats.arch
    if arch.compute_units:
        views = {u.name: arch.unit_view(u) for u in arch.compute_units}
    else:
        views = {"pe_array": arch}  # one array: the arch itself
    vector_view = next(iter(views.values()))
    priced: dict = {}  # ops of one shape share their counts: price each once
    for row, counts in zip(stats.op_rows, stats.op_counts, strict=True):
        repeat = row.repeat
        key = (id(counts), row.unit)
        if key not in priced:
            priced[key] = price_counts(counts, views.get(row.unit, vector_view), prof)
        parts, missing = priced[key]
        unpriced |= missing
        per_op.append(sum(parts.values()))
        for k, v in parts.items():
            breakdown[k] = breakdown.get(k, 0.0) + v * repeat
    rows = [row.but(energy_pj=e) for row, e in zip(stats.op_rows, per_op, strict=True)]
    area = area_breakdown_mm2(stats.arch, prof, stats.unit_counts_per_mac)
    energy_breakdown = dict(sorted(breakdown.items()))
    if unpriced:
        energy_breakdown["unpriced_actions"] = ", ".join(sorted(unpriced))
    fpga = None
    if stats.arch.fpga is not None:
        from hwsim.cost.fpga import fpga_resources

        max_k = max((r.K for r in stats.op_rows if r.kind != "vector"), default=1)
        fpga = fpga_resources(stats.arch, max_k)
    return replace(
        stats,
        fpga=fpga,
        op_rows=rows,
        energy_pj=float(sum(breakdown.values())),
        energy_breakdown_pj=energy_breakdown,
        area_mm2=float(sum(area.values())),
        area_breakdown_mm2=area,
        profile=prof.name,
    )


__all__ = [
    "Profile",
    "action_pj",
    "area_scale",
    "energy_scale",
    "kulisch_bits",
    "load_profile",
    "profile_names",
    "recost",
    "sram_pj_per_bit",
]
