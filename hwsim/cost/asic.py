"""ASIC prices of datapath components (hwsim.cost.datapath): pJ per use and um^2 per instance.

Bit-width models on the profile's coefficients (its node; callers scale to the arch's):
  int_mult (A, W)  mult_pj_per_bit2 * A * W        mult_um2_per_bit2 * A * W
  booth_mult (A, W)  the same coefficients x booth_bits2(A, W): a radix-4 Booth multiplier
                   counted in full-adder bits (below) over the 1 + and2_per_adder_bit
                   full-adder bits of one array-multiplier cell (an AND gate and a full
                   adder), so both multipliers share Horowitz's anchor per cell
  adder (B,)       add_pj_per_bit * B               add_um2_per_bit * B
  xor (B,)         an adder bit x xor2_per_adder_bit per gate
  shifter (B, S)   B * S 2:1 multiplexers, each an adder bit x mux2_per_adder_bit
  lut (I, V)       a (2^I - 1)-multiplexer tree per value bit
  reg (B,)         reg_pj_per_bit * B                reg_um2_per_bit_40nm * B (node-scaled)
Radix-4 Booth (Weste & Harris, CMOS VLSI Design, 4th ed., sec. 11.9.3): the recoded operand
B gives P = ceil((B + 1) / 2) partial products (an unsigned B-bit operand needs the extra
digit; two's complement would need ceil(B / 2)), each row the other operand's A bits plus one
(the x2 multiple) through a Booth selector (an AOI22 2:1 select and an XOR for the negate:
mux2 + xor2), one encoder per row (two XORs and an AND), and the P rows of A + 2 bits (sign-
extension prevention) summed by (P - 1) x (A + 2) full adders. The recoded operand is the one
giving the smaller multiplier. Energy is taken to follow the same cell count (an assumption:
switching activity per cell is not modelled). Booth costs more than an array multiplier up to
8 x 8 bits here (1.08x at 8 x 8, 1.45x at 4 x 4) and less from 16 x 16 (0.92x; 0.84x at 32 x 32),
as the fewer rows start to outweigh the selectors. Booth is opt-in, per PE (so per compute
unit): the PE parameter `multiplier: booth` (int_mac, fixed_point, float_mac, mixed_dtype).
A per_cycle profile prices a PE by its synthesised figure instead; an entry keyed
`KIND:multiplier=booth` gives a Booth PE its own.
Floating-point units: the component sum of an IEEE fp16 and fp32 multiplier (significand
multiplier, exponent adder, sign, 1-bit normalising shift, rounder) and adder (align, add,
normalise, round, exponent) falls short of the published unit (subnormals, exceptions and
rounding modes are not itemised); every float-unit part is scaled by the geometric mean over
fp16 and fp32 of published / component sum: energies against the profile's fp*_pj entries,
areas against Horowitz's 45 nm unit areas scaled to the profile's node. Constants:
hwsim/cost/data/tables/asic.yaml, each with its source.

Leakage: static power per um^2 at 40 nm from Aladdin's TSMC 40g library (logic: adder and
multiplier; storage: register bits, used for SRAM arrays too), carried to other nodes as
energy_scale / area_scale (leakage power per device taken to scale like switching energy per
device; an assumption, no per-node leakage table is shipped).
"""

from __future__ import annotations

import math
from functools import cache

from hwsim.cost.datapath import Component, Operand, category_totals, float_adder, multiplier
from hwsim.cost.profiles import Profile
from hwsim.cost.scaling import area_scale, energy_scale
from hwsim.cost.tables import constants


class _Coefficients:
    """The part of a Profile the part prices read (hashable inputs for the cache)."""

    def __init__(self, node_nm: int, entries: dict):
        self.node_nm, self.entries = node_nm, entries

    def __getitem__(self, key: str) -> float:
        return self.entries[key]


def _cells() -> dict[str, float]:
    return constants("asic", "cells")


def booth_bits2(a: int, w: int) -> float:
    """Size of an a x w radix-4 Booth multiplier in array-multiplier bit^2 (module doc)."""
    cells = _cells()
    sel = cells["mux2_per_adder_bit"] + cells["xor2_per_adder_bit"]
    enc = 2 * cells["xor2_per_adder_bit"] + cells["and2_per_adder_bit"]

    def recoding(b: int, other: int) -> float:  # operand b Booth-recoded
        rows = math.ceil((b + 1) / 2)
        return rows * ((other + 1) * sel + enc) + (rows - 1) * (other + 2)

    return min(recoding(w, a), recoding(a, w)) / (1 + cells["and2_per_adder_bit"])


def part_pj(c: Component, profile: Profile) -> float:
    """Energy of one use of part `c` (no float calibration), at the profile's node."""
    cells, add = _cells(), profile["add_pj_per_bit"]
    w = c.widths
    if c.part == "int_mult":
        return profile["mult_pj_per_bit2"] * w[0] * w[1]
    if c.part == "booth_mult":
        return profile["mult_pj_per_bit2"] * booth_bits2(w[0], w[1])
    if c.part == "reg":
        return profile["reg_pj_per_bit"] * w[0]
    return add * _adder_bits(c, cells)


def part_um2(c: Component, profile: Profile) -> float:
    """Area of one instance of part `c` (no float calibration), at the profile's node."""
    cells, w = _cells(), c.widths
    if c.part == "int_mult":
        return profile["mult_um2_per_bit2"] * w[0] * w[1]
    if c.part == "booth_mult":
        return profile["mult_um2_per_bit2"] * booth_bits2(w[0], w[1])
    if c.part == "reg":
        return cells["reg_um2_per_bit_40nm"] * area_scale(40, profile.node_nm) * w[0]
    return profile["add_um2_per_bit"] * _adder_bits(c, cells)


def _adder_bits(c: Component, cells: dict) -> float:
    """Size of an adder-like part in full-adder bits."""
    w = c.widths
    if c.part == "adder":
        return w[0]
    if c.part == "xor":
        return w[0] * cells["xor2_per_adder_bit"]
    if c.part == "shifter":
        return w[0] * w[1] * cells["mux2_per_adder_bit"]
    if c.part == "lut":
        return ((1 << w[0]) - 1) * w[1] * cells["mux2_per_adder_bit"]
    raise ValueError(f"unknown datapath part {c.part!r}")


def _ieee_mult(e: int, m: int) -> tuple[Component, ...]:
    f = Operand("float", 1 + e + m, m + 1, e)
    parts, _ = multiplier(f, f)
    return (
        *parts,
        Component("multiplier", "shifter", (2 * (m + 1), 1), 1, True),
        Component("multiplier", "adder", (m + 1,), 1, True),
    )


_BY_PROFILE: dict[int, tuple[Profile, dict]] = {}  # id -> (the profile, kept alive; factors)


def float_factors(profile: Profile) -> dict[str, float]:
    """Calibration of float-unit parts: {'pj', 'um2'} x published / component sum."""
    hit = _BY_PROFILE.get(id(profile))
    if hit is None or hit[0] is not profile:
        factors = _float_factors(profile.node_nm, tuple(sorted(profile.entries.items())))
        hit = _BY_PROFILE[id(profile)] = (profile, factors)
    return hit[1]


@cache
def _float_factors(node_nm: int, entries: tuple) -> dict[str, float]:
    profile = _Coefficients(node_nm, dict(entries))
    ieee = constants("asic", "ieee_area_45nm")
    a45 = area_scale(45, profile.node_nm)
    units = []
    for bits, e, m in ((16, 5, 10), (32, 8, 23)):
        units.append(
            (_ieee_mult(e, m), profile[f"fp{bits}_mult_pj"], ieee[f"fp{bits}_mult_um2"] * a45)
        )
        units.append(
            (
                tuple(float_adder(e, m, 1, "accumulator")),
                profile[f"fp{bits}_add_pj"],
                ieee[f"fp{bits}_add_um2"] * a45,
            )
        )
    pj = [math.log(pub / sum(part_pj(c, profile) for c in parts)) for parts, pub, _ in units]
    um2 = [math.log(pub / sum(part_um2(c, profile) for c in parts)) for parts, _, pub in units]
    return {"pj": math.exp(sum(pj) / len(pj)), "um2": math.exp(sum(um2) / len(um2))}


_PJ: dict[tuple, tuple] = {}  # (id parts, id profile, ...) -> (parts, profile, result)


def datapath_pj(parts, profile: Profile, scale: float = 1.0) -> dict[str, float]:
    """Energy per MAC by category (pJ), `scale` carrying it to the arch's node. Memoised on
    the identity of `parts` and `profile` (both kept alive with the result): recost asks for
    the same datapath once per op shape."""
    key = (id(parts), id(profile), scale)
    hit = _PJ.get(key)
    if hit is None or hit[0] is not parts or hit[1] is not profile:
        hit = _PJ[key] = (parts, profile, _datapath_pj(parts, profile, scale))
    return hit[2]


def _datapath_pj(parts, profile: Profile, scale: float) -> dict[str, float]:
    k = float_factors(profile)["pj"]
    values = [c.per_mac * part_pj(c, profile) * (k if c.float_unit else 1.0) * scale for c in parts]
    return category_totals(parts, values)


def datapath_um2(parts, profile: Profile, lanes: int = 1, scale: float = 1.0) -> dict[str, float]:
    """Area of one PE of `lanes` multiplier lanes by category (um^2), memoised as datapath_pj."""
    key = (id(parts), id(profile), lanes, scale, "um2")
    hit = _PJ.get(key)
    if hit is None or hit[0] is not parts or hit[1] is not profile:
        hit = _PJ[key] = (parts, profile, _datapath_um2(parts, profile, lanes, scale))
    return hit[2]


def _datapath_um2(parts, profile: Profile, lanes: int, scale: float) -> dict[str, float]:
    k = float_factors(profile)["um2"]
    values = [
        c.per_mac * lanes * part_um2(c, profile) * (k if c.float_unit else 1.0) * scale
        for c in parts
    ]
    return category_totals(parts, values)


def leakage_nw_per_um2(node_nm: float, storage: bool = False) -> float:
    """Static power density at `node_nm` (module doc)."""
    leak = constants("asic", "leakage")
    base = leak["storage_nw_per_um2_40nm" if storage else "logic_nw_per_um2_40nm"]
    return base * energy_scale(40, node_nm) / area_scale(40, node_nm)
