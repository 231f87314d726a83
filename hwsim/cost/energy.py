"""Energy = sum over action counts x a profile's table (pJ). The simulator never does this.

Pricing rules (per_action profiles; coefficients scaled from the profile's node to the arch's):
  mul.AxW                    mult_pj_per_bit2 * A * W     (array multiplier ~ product of widths)
  add.B, shift.B, and.B,
  acc_norm.B, dequant.B      add_pj_per_bit * B           (priced as a B-bit adder: an upper
                                                            bound for AND/shift stages)
  reg_write.B, lut.B         reg_pj_per_bit * B
  dsp.AxW                    as mul.AxW (one DSP multiply)
  align.B                    as add.B (an alignment shifter)
  fadd.16 / fadd.32          fp16_add_pj / fp32_add_pj; other widths fp32_add_pj * B / 32
  fmul.16 / fmul.32          fp16_mult_pj / fp32_mult_pj; other widths fp32_mult_pj * (B/32)^2
  term                       informational (its AND/shift work is counted separately): 0
  other PE keys              left unpriced and listed in energy_breakdown_pj["unpriced_actions"]
A PE kind with a datapath model (hwsim.cost.datapath) is priced instead from its components,
pJ per MAC by category (multiplier, decode, accumulator, dequant, registers) x `pe:macs`.
per_cycle profiles price `pe:active_cycles` at a synthesised per-PE figure instead, the
pe_pj_per_cycle entry that matches what the PE is (never what the arch is called):
  an entry key is `KIND[:NAME=VALUE...]`, KIND a PE kind or `*` for any; each NAME=VALUE
  must equal the PE's: a PE parameter (`weight_decoder=olive`), `dp` (the array's
  dot_product_width), `a` (activation bits) or `w` (weight bits, rounded down), e.g.
  `bitmod:dp=4` or `*:a=8:w=8` (the widths are the run's, after a recipe's defaults: name
  them only for hardware whose cost follows them); of the matching entries the most specific
  wins (a named kind counts as one qualifier), and two equally specific matches are an error.
SRAM: bits read or written x E64(bank) / 64 with E64 = sram_pj_per_64b_at_8kb *
(bank_bytes / 8 KiB) ** sram_size_exponent (Horowitz fit; banking shrinks each access).
DRAM: bits moved x pJ/bit (the arch's dram.energy_pj_per_bit, else the profile's by type;
never node-scaled). Vector unit: one fp16 multiply and one fp16 add per element.
A minifloat (E, M) product accumulates exactly in a Kulisch register of kulisch_bits(E, M).
"""

from __future__ import annotations

import math

from hwsim.cost.profiles import Profile
from hwsim.cost.scaling import energy_scale
from hwsim.errors import HwsimError
from hwsim.pe.counts import split_key
from hwsim.spec.schema import Arch, MemoryLevel

_ADDER_LIKE = ("add", "shift", "and", "acc_norm", "dequant", "align")
_INFORMATIONAL = ("term",)
_REGISTER_LIKE = ("reg_write", "lut")


def kulisch_bits(exp_bits: int, man_bits: int) -> int:
    """Width of an exact accumulator for products of two (E, M) minifloats: 2 (2^E + M)."""
    return 2 * (2**exp_bits + man_bits)


def mult_pj(a_bits: int, w_bits: int, profile: Profile, scale: float = 1.0) -> float:
    """Energy of one a_bits x w_bits integer multiply."""
    return profile["mult_pj_per_bit2"] * a_bits * w_bits * scale


def add_pj(bits: int, profile: Profile, scale: float = 1.0) -> float:
    """Energy of one bits-wide add."""
    return profile["add_pj_per_bit"] * bits * scale


def action_pj(key: str, profile: Profile, scale: float = 1.0) -> float | None:
    """Energy of one PE action `key` (hwsim.pe counts key), or None when unpriced."""
    action, widths = split_key(key)
    if action in _INFORMATIONAL:
        return 0.0
    if action in ("mul", "dsp") and len(widths) == 2:
        return mult_pj(widths[0], widths[1], profile, scale)
    if action == "fadd" and len(widths) == 1:
        table = {16: profile["fp16_add_pj"], 32: profile["fp32_add_pj"]}
        return table.get(widths[0], profile["fp32_add_pj"] * widths[0] / 32) * scale
    if action == "fmul" and len(widths) == 1:
        table = {16: profile["fp16_mult_pj"], 32: profile["fp32_mult_pj"]}
        return table.get(widths[0], profile["fp32_mult_pj"] * (widths[0] / 32) ** 2) * scale
    if action in _ADDER_LIKE and len(widths) == 1:
        return add_pj(widths[0], profile, scale)
    if action in _REGISTER_LIKE and len(widths) == 1:
        return profile["reg_pj_per_bit"] * widths[0] * scale
    return None


def sram_pj_per_bit(level: MemoryLevel, profile: Profile, scale: float = 1.0) -> float:
    """Energy per bit accessed in `level` (bank-size fit)."""
    bank_bytes = level.size_bytes / level.banks
    e64 = profile["sram_pj_per_64b_at_8kb"] * (bank_bytes / 8192) ** profile["sram_size_exponent"]
    return e64 / 64 * scale


def dram_pj_per_bit(arch: Arch, profile: Profile) -> float:
    if arch.dram.energy_pj_per_bit is not None:
        return arch.dram.energy_pj_per_bit
    try:
        return profile.dram_pj_per_bit[arch.dram.type]
    except KeyError:
        known = ", ".join(sorted(profile.dram_pj_per_bit))
        raise HwsimError(
            f"arch.dram.type: profile {profile.name!r} has no energy for {arch.dram.type!r}; "
            f"expected one of {known} or set dram.energy_pj_per_bit ({arch.source})"
        ) from None


def pe_facts(
    params: dict, dot_product_width: int, activation_bits: int, weight_bits: float
) -> dict[str, str]:
    """What a per-cycle PE figure is selected by besides the PE kind: its parameters, the
    array's dot-product width and the bit widths it runs at (values as strings)."""
    facts = {"dp": dot_product_width, **params, "a": activation_bits, "w": math.floor(weight_bits)}
    return {k: str(v) for k, v in facts.items()}


def select_pe_entry(profile: Profile, kind: str, facts: dict[str, str], where: str) -> str:
    """The pe_pj_per_cycle (and pe_um2) key that prices PE `kind` with `facts` (module doc);
    `where` ends the error message (the arch file)."""
    scored = []
    for key, (want_kind, quals) in profile.pe_selectors.items():
        if want_kind in ("*", kind) and all(facts.get(n) == v for n, v in quals.items()):
            scored.append((len(quals) + (want_kind != "*"), key))
    best = max((s for s, _ in scored), default=None)
    keys = [key for s, key in scored if s == best]
    if len(keys) == 1:
        return keys[0]
    pe = ":".join([kind, *(f"{k}={v}" for k, v in facts.items())])
    if keys:
        raise HwsimError(
            f"arch.technology.profile: {profile.name!r} has equally specific per-cycle PE "
            f"entries {' and '.join(map(repr, keys))} for {pe} ({where})"
        )
    raise HwsimError(
        f"arch.technology.profile: {profile.name!r} prices PEs per cycle but has no entry for "
        f"{pe}; expected one of {', '.join(profile.pe_pj_per_cycle)} ({where})"
    )


def pe_cycle_key(arch: Arch, profile: Profile) -> str:
    """select_pe_entry for the arch's PE array at its precision."""
    arr, prec = arch.pe_array, arch.precision
    facts = pe_facts(
        dict(arr.pe_params), arr.dot_product_width, prec.activation_bits, prec.weight_bits
    )
    return select_pe_entry(profile, arr.pe_kind, facts, arch.source)


def price_counts(
    counts: dict, arch: Arch, profile: Profile, pe_per_mac: dict | None = None
) -> tuple[dict, set]:
    """Energy in pJ per component of one set of counts, and the action keys left unpriced.
    `pe_per_mac` (pJ per MAC by datapath category, hwsim.cost.asic) prices the PE of a
    per_action profile as `pe:<category>` lines from `pe:macs`, in place of its action keys."""
    scale = energy_scale(profile.node_nm, arch.technology.node_nm)
    levels = {level.name: level for level in arch.memory}
    out: dict[str, float] = {}
    unpriced: set[str] = set()

    def add(component: str, pj: float) -> None:
        out[component] = out.get(component, 0.0) + pj

    per_cycle = profile.pe_pricing == "per_cycle"
    for key, n in counts.items():
        component, _, rest = key.partition(":")
        if component == "pe":
            if rest == "active_cycles":
                if per_cycle:
                    add("pe", n * profile.pe_pj_per_cycle[pe_cycle_key(arch, profile)] * scale)
            elif rest == "macs" and pe_per_mac is not None and not per_cycle:
                for category, pj in pe_per_mac.items():
                    add(f"pe:{category}", n * pj)
            elif rest != "macs" and not per_cycle and pe_per_mac is None:
                pj = action_pj(rest, profile, scale)
                if pj is None:
                    unpriced.add(rest)
                else:
                    add("pe", n * pj)
        elif component == "sram":
            name, _, action = rest.partition(":")
            action = action.rpartition(":")[2]  # sram:<level>:<operand>:<action>
            if action in ("read_bits", "write_bits"):
                add(f"sram:{name}", n * sram_pj_per_bit(levels[name], profile, scale))
        elif component == "dram" and rest.endswith("_bits"):
            add("dram", n * dram_pj_per_bit(arch, profile))
        elif component == "vector" and rest != "cycles":
            add("vector", n * (profile["fp16_mult_pj"] + profile["fp16_add_pj"]) * scale)
    return out, unpriced
