"""Area = sum of component areas (mm^2), scaled from the profile's node to the arch's.

PE arrays  per compute unit (components named "pe..." for a one-array arch, "pe:<unit>..."
           with several), at the unit's run-wide precision:
           per_cycle profiles: pe_um2[key] x PEs ("pe" / "pe:<unit>").
           per_action profiles, a PE kind with a datapath model (hwsim.cost.datapath): its
           components' areas (hwsim.cost.asic) x lanes x PEs, by category ("pe:<category>" /
           "pe:<unit>:<category>").
           Other per_action PE kinds: per PE, one multiplier per lane for each mul.AxW the PE
           uses (mult_um2_per_bit2 * A * W * lanes) plus one adder per add.B
           (add_um2_per_bit * B).
buffers    size_bytes x 8 x sram_um2_per_bit
vector     lanes x (16x16 multiplier + 16-bit adder)
"""

from __future__ import annotations

from hwsim.cost.asic import datapath_um2
from hwsim.cost.energy import pe_cycle_key
from hwsim.cost.profiles import Profile
from hwsim.cost.scaling import area_scale
from hwsim.pe.counts import split_key
from hwsim.spec.schema import Arch


def area_breakdown_mm2(
    arch: Arch, profile: Profile, unit_counts_per_mac: dict, unit_parts: dict | None = None
) -> dict[str, float]:
    """Area of each component in mm^2; `unit_counts_per_mac`: unit name -> its PE's counts
    per MAC (Stats.unit_counts_per_mac); `unit_parts`: unit name -> its datapath (units of a
    per_action profile whose PE kind has one)."""
    s = area_scale(profile.node_nm, arch.technology.node_nm) / 1e6
    out = {}
    for unit in arch.units:
        view = arch.unit_view(unit) if arch.compute_units else arch
        name = f"pe:{unit.name}" if arch.compute_units else "pe"
        parts = (unit_parts or {}).get(unit.name)
        arr = view.pe_array
        if profile.pe_pricing != "per_cycle" and parts is not None:
            for category, um2 in datapath_um2(parts, profile, arr.dot_product_width).items():
                out[f"{name}:{category}"] = um2 * arr.pes * s
        else:
            out[name] = _pe_array_um2(view, profile, unit_counts_per_mac.get(unit.name, {})) * s
    for level in arch.memory:
        out[f"sram:{level.name}"] = level.size_bytes * 8 * profile["sram_um2_per_bit"] * s
    lane = profile["mult_um2_per_bit2"] * 256 + profile["add_um2_per_bit"] * 16
    out["vector"] = arch.vector_unit.lanes * lane * s
    return out


def _pe_array_um2(arch: Arch, profile: Profile, counts_per_mac: dict) -> float:
    """Unscaled area of a one-array arch's PE array (um^2 at the profile's node)."""
    arr = arch.pe_array
    if profile.pe_pricing == "per_cycle" and profile.pe_um2:
        return profile.pe_um2[pe_cycle_key(arch, profile)] * arr.pes
    per_pe = 0.0
    for key in counts_per_mac:
        action, widths = split_key(key)
        if action == "mul" and len(widths) == 2:
            per_pe += profile["mult_um2_per_bit2"] * widths[0] * widths[1] * arr.dot_product_width
        elif action == "add" and len(widths) == 1:
            per_pe += profile["add_um2_per_bit"] * widths[0]
    return per_pe * arr.pes
