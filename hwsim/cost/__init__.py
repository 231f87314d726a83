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


def datapath(view, w_format: str = "", a_format: str = "", group_size=None, scale_bits=None):
    """The datapath of one unit's PE (`view`: the arch as that unit's one-array arch) at the
    formats an op runs at; a format left "" and a group size or scale bits left None take the
    unit's precision (group size 0: no group scales). None for a PE kind without a datapath
    model. A menu ("a|b") is priced at its widest format."""
    arr, prec = view.pe_array, view.precision
    if arr.pe_kind not in MODELLED_KINDS:
        return None
    if scale_bits is None:
        scale_bits = prec.scale_bits
    key = (arr.pe_kind, arr.pe_params, arr.dot_product_width, prec, w_format or "",
           a_format or "", group_size, scale_bits)  # fmt: skip
    try:
        try:
            hash(key)
        except TypeError:  # list-valued PE parameters: no caching
            return _datapath.__wrapped__(*key)
        return _datapath(*key)
    except HwsimError as e:
        raise HwsimError(f"{view.source}: arch.precision: {e}") from None


def arch_datapath(arch):
    """The datapath of a one-array arch's PE at its (run-wide) precision, or None."""
    return datapath(arch)


@lru_cache(maxsize=256)
def _datapath(kind, pe_params, dp, prec, w_format, a_format, group_size, scale_bits):
    params = dict(pe_params)
    a, w = pe_operands(
        kind, params, _widest(a_format) or prec.activation_format,
        _widest(w_format) or prec.weight_format, prec.activation_bits, prec.weight_bits,
    )  # fmt: skip
    group = prec.group_size if group_size is None else group_size
    return mac_datapath(kind, params, a, w, dp, group, scale_bits if group else 0)


def _widest(menu: str) -> str | None:
    if not menu:
        return None
    from hwsim.dtypes import format as get_format

    names = menu.split("|")
    return max(names, key=lambda n: get_format(n).bits) if len(names) > 1 else names[0]


def leakage_w(arch, area_mm2: dict, profile: Profile) -> float:
    """Static power (W) of the priced area; a per_cycle PE figure already holds its own."""
    node = arch.technology.node_nm
    watts = 0.0
    for name, mm2 in area_mm2.items():
        pe = name == "pe" or name.startswith("pe:")
        if pe and profile.pe_pricing == "per_cycle":
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
    # each op is priced with its own unit's PE (the arch as seen by that unit) at its formats
    if arch.compute_units:
        views = {u.name: arch.unit_view(u) for u in arch.compute_units}
    else:
        views = {"pe_array": arch}  # one array: the arch itself
    vector_view = next(iter(views.values()))
    # a per_cycle profile prices a PE by its own figure: datapaths price per_action PEs (and
    # give an FPGA its resources)
    per_action = prof.pe_pricing == "per_action"
    unit_parts = {n: datapath(v) for n, v in views.items()} if per_action else {}
    area = area_breakdown_mm2(arch, prof, stats.unit_counts_per_mac, unit_parts)
    leak_pj_per_cycle = leakage_w(arch, area, prof) / (arch.clock_mhz * 1e6) * 1e12
    breakdown: dict[str, float] = {}
    unpriced: set[str] = set()
    per_op = []
    priced: dict = {}  # ops of one shape and format share their counts: price each once
    per_mac: dict = {}  # (unit, formats) -> the PE's pJ per MAC by category (None: counts)
    scale = energy_scale(prof.node_nm, arch.technology.node_nm)
    for row, counts in zip(stats.op_rows, stats.op_counts, strict=True):
        view = views.get(row.unit)
        fmt = (row.unit, row.weight_format, row.activation_format, row.group_size,
               row.scale_format)  # fmt: skip
        key = (id(counts), fmt)
        if key not in priced:
            if fmt not in per_mac:
                parts = _op_datapath(view, row) if view is not None and per_action else None
                per_mac[fmt] = None if parts is None else datapath_pj(parts, prof, scale)
            parts_pj, missing = price_counts(counts, view or vector_view, prof, per_mac[fmt])
            priced[key] = (parts_pj, missing, sum(parts_pj.values()))
        parts_pj, missing, dynamic = priced[key]
        leak = leak_pj_per_cycle * row.cycles
        unpriced |= missing
        per_op.append(dynamic + leak)
        for k, v in parts_pj.items():
            breakdown[k] = breakdown.get(k, 0.0) + v * row.repeat
        breakdown["leakage"] = breakdown.get("leakage", 0.0) + leak * row.repeat
    rows = [row.but(energy_pj=e) for row, e in zip(stats.op_rows, per_op, strict=True)]
    energy_breakdown = dict(sorted(breakdown.items()))
    if unpriced:
        energy_breakdown["unpriced_actions"] = ", ".join(sorted(unpriced))
    fpga = None
    if arch.fpga is not None:  # an FPGA target has one array
        from hwsim.cost.fpga import fpga_resources

        parts = datapath(vector_view)
        if parts is None:
            raise HwsimError(
                f"{arch.source}: arch.pe_array.pe.kind: {vector_view.pe_array.pe_kind!r} has no "
                f"datapath model for FPGA resources; expected one of {', '.join(MODELLED_KINDS)}"
            )
        fpga = fpga_resources(vector_view, parts)
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


def _op_datapath(view, row):
    """The datapath of the op in `row` on its unit (`view`), at the formats it ran at."""
    from hwsim.sim.precision import scale_bits

    w_format = row.weight_format
    if not w_format and row.kind in ("attn_qk", "attn_av"):  # K / V at the activation format
        w_format = row.activation_format
    sb = scale_bits(row.scale_format) if row.scale_format else None
    return datapath(view, w_format, row.activation_format, row.group_size, sb)


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
