"""The datapath of one MAC, derived from the number formats and the PE kind (no prices here).

`mac_datapath(kind, params, a, w, ...)` lists the hardware components one multiply-accumulate
exercises, each a `Component(category, part, widths, per_mac)`; hwsim.cost.asic prices them in
pJ and um^2, hwsim.cost.fpga in LUTs, FFs and DSPs. `per_mac` is how many of that part one
MAC uses, which is also how many instances one multiplier lane of a PE holds. The formats
come in as `Operand`s (`operand(name, bits)`), so a caller with per-op formats (a bind plan)
passes them directly; nothing here reads an arch's global precision.

Parts and what they are:
  int_mult (A, W)   an A x W bit array multiplier
  booth_mult (A, W) an A x W bit radix-4 Booth multiplier: ceil((B + 1) / 2) partial
                    products of the recoded operand B (hwsim.cost.asic prices it)
  adder (B,)        a B-bit carry-propagate adder (also an exponent adder, a rounder)
  xor (B,)          B XOR gates (sign of a product, conditional negation of a shifted operand)
  shifter (B, S)    a B-bit barrel shifter with S 2:1 multiplexer stages (2^S positions)
  lut (I, V)        a 2^I-entry table of V-bit values, read once (codebook decode)
  reg (B,)          a B-bit register written once
Parts of a floating-point unit carry `float_unit=True`: hwsim.cost.asic calibrates them
against the profile's published IEEE fp16/fp32 figures.

Per MAC, by category:
  multiplier   int x int: int_mult(A, W), or booth_mult(A, W) when the PE's `multiplier`
               parameter is "booth" (also for a float unit's significands; a dequant
               multiplier stays an array). float (or float x int): the significand multiplier
               int_mult(Ma+1, Mw+1) with hidden bits, exponent adder(max(Ea, Ew) + 1), sign
               xor(1). Power-of-two weight: float activations -> exponent adder + sign xor;
               integer activations -> shifter over the exponent range + conditional negate.
               K-hot weight: K such shifters and K-1 adders. Codebook weight: multiplier of
               the decoded value (its width `sig_bits`).
  decode       lut(index bits, decoded bits) for codebook weights; ANT/OliVe weight decoders.
  accumulator  the dp-lane adder tree ((dp-1)/dp adders of the product width + log2 dp), then
               int: adder(acc bits); kulisch: alignment shifter into, and an adder of, the
               exact span of the two formats (2^Ea + Ma + 2^Ew + Mw bits, generalising
               kulisch_bits, plus `guard_bits` for long sums); float: alignment shifter,
               significand adder, leading-zero normaliser, rounder and exponent adder of the
               accumulator format.
  dequant      per weight group (1 / group_size per MAC): a multiply of the partial sum by the
               group scale and an add into the output register.
  registers    the accumulator register (once per dp-wide step) and the activation's
               pipeline register (once per MAC).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import HwsimError

CATEGORIES = ("multiplier", "decode", "accumulator", "dequant", "registers")
# PE kinds with a datapath model; other kinds (bit-serial, term-serial) keep their action-count
# pricing, which already lists their AND / shift / add work per term
MODELLED_KINDS = ("int_mac", "float_mac", "fixed_point", "denseshift", "mixed_dtype")


@dataclass(frozen=True)
class Operand:
    """What a datapath needs of one operand's number format."""

    kind: str  # int | float | pow2 | codebook
    bits: int  # stored bits per element
    sig_bits: int  # bits into a multiplier: int width, float M + 1, codebook decoded width
    exp_bits: int = 0  # float exponent field; pow2 exponent-code bits
    index_bits: int = 0  # codebook code bits
    name: str = ""


@dataclass(frozen=True)
class Component:
    category: str  # one of CATEGORIES
    part: str  # int_mult | adder | xor | shifter | lut | reg
    widths: tuple[int, ...]
    per_mac: float
    float_unit: bool = False

    @property
    def label(self) -> str:
        return f"{self.part}.{'x'.join(str(w) for w in self.widths)}"


def int_operand(bits: int) -> Operand:
    return Operand("int", int(bits), int(bits), name=f"int{int(bits)}")


def operand(name: str | None, bits: float | None = None) -> Operand:
    """The Operand of format `name` (hwsim.format); None: an integer of `bits` bits."""
    if name is None:
        return int_operand(math.ceil(bits if bits is not None else 8))
    from hwsim.dtypes import format as get_format
    from hwsim.dtypes.codebook import CodebookFormat
    from hwsim.dtypes.fixed import FixedFormat
    from hwsim.dtypes.integer import IntFormat
    from hwsim.dtypes.minifloat import FloatFormat
    from hwsim.dtypes.pow2 import _ShiftFormat

    fmt = get_format(name)
    if isinstance(fmt, IntFormat | FixedFormat):
        return Operand("int", fmt.bits, fmt.bits, name=name)
    if isinstance(fmt, FloatFormat):
        return Operand("float", fmt.bits, fmt.man_bits + 1, fmt.exp_bits, name=name)
    if isinstance(fmt, _ShiftFormat):
        return Operand("pow2", fmt.bits, 0, fmt.exp_bits, name=name)
    if isinstance(fmt, CodebookFormat):
        # decoded to an integer two bits wider than the code, as hwsim.pe.mixed_dtype multiplies
        return Operand("codebook", fmt.bits, fmt.bits + 2, index_bits=fmt.bits, name=name)
    raise HwsimError(
        f"format {name!r}: no datapath model covers {type(fmt).__name__}; expected an integer, "
        "fixed-point, minifloat, power-of-two or codebook format"
    )


def pe_operands(
    kind: str, params: dict, a_format, w_format, a_bits: float, w_bits: float
) -> tuple[Operand, Operand]:
    """The operands PE `kind` multiplies; a format left None takes the PE's own default
    (float_mac: FP16 activations and, without a weight decoder, FP16 weights; denseshift: FP16
    activations), else an integer of the given width."""
    a_default = "float16" if kind in ("float_mac", "denseshift") else None
    w_float = kind == "float_mac" and not params.get("weight_decoder")
    return (
        operand(a_format or a_default, a_bits),
        operand(w_format or ("float16" if w_float else None), math.floor(w_bits)),
    )


def _float_view(x: Operand) -> tuple[int, int]:
    """(exponent bits, significand bits incl. hidden) of an operand entering a float unit."""
    return (x.exp_bits, x.sig_bits) if x.kind == "float" else (0, x.sig_bits)


def multiplier(
    a: Operand, w: Operand, weights: str = "fixed", k_hot: int = 2, mult: str = "array"
) -> tuple[list, int]:
    """Components of the product a * w, and the product's width in bits; `mult` (array |
    booth) is how its integer or significand multiplier is built."""
    out: list[Component] = []
    part = "booth_mult" if mult == "booth" else "int_mult"
    if weights in ("pow2", "khot") or w.kind == "pow2":
        terms = k_hot if weights == "khot" else 1
        if a.kind == "float":  # a * +-2^p: add p to the exponent, flip the sign
            out.append(Component("multiplier", "adder", (max(a.exp_bits, w.exp_bits) + 1,), terms))
            out.append(Component("multiplier", "xor", (1,), terms))
            if terms > 1:
                out.append(Component("multiplier", "adder", (a.sig_bits + 1,), terms - 1))
            return out, a.bits
        # integer a << p over the weight's exponent range (its bits of shift for fixed weights)
        stages = w.exp_bits if w.kind == "pow2" else max(1, math.ceil(math.log2(w.bits)))
        width = a.bits + (1 << stages) - 1
        out.append(Component("multiplier", "shifter", (width, stages), terms))
        out.append(Component("multiplier", "xor", (width,), terms))
        if terms > 1:
            out.append(Component("multiplier", "adder", (width,), terms - 1))
        return out, width
    if a.kind in ("int", "codebook") and w.kind in ("int", "codebook"):
        out.append(Component("multiplier", part, (a.sig_bits, w.sig_bits), 1))
        return out, a.sig_bits + w.sig_bits
    (ea, sa), (ew, sw) = _float_view(a), _float_view(w)
    out.append(Component("multiplier", part, (sa, sw), 1, True))
    out.append(Component("multiplier", "adder", (max(ea, ew) + 1,), 1, True))
    out.append(Component("multiplier", "xor", (1,), 1, True))
    return out, sa + sw + 1


def exact_span_bits(a: Operand, w: Operand) -> int:
    """Fixed-point span holding every product of a and w exactly (Kulisch)."""

    def reach(x: Operand) -> int:  # binary positions one operand's values cover
        if x.kind == "float":
            return (1 << x.exp_bits) + x.sig_bits - 1
        if x.kind == "pow2":
            return (1 << x.exp_bits) + 1
        return x.sig_bits

    return reach(a) + reach(w)


def float_adder(exp_bits: int, man_bits: int, per_mac: float, category: str) -> list:
    """Align, add, normalise (leading-zero count + shift), round, exponent update."""
    width = man_bits + 3  # significand, guard, round/sticky
    stages = math.ceil(math.log2(width))
    return [
        Component(category, "shifter", (width, stages), per_mac, True),
        Component(category, "adder", (width,), per_mac, True),
        Component(category, "shifter", (width, stages), per_mac, True),
        Component(category, "adder", (man_bits + 1,), per_mac, True),
        Component(category, "adder", (exp_bits + 1,), per_mac, True),
    ]


@dataclass(frozen=True)
class Accumulate:
    """How products are summed: int (acc bits), kulisch (exact span) or float (E, M)."""

    kind: str
    bits: int = 32
    exp_bits: int = 8
    man_bits: int = 23


def accumulator(
    acc: Accumulate, prod_bits: int, span_bits: int, dp: int, products_float: bool
) -> tuple[list, int]:
    """Components of the adder tree and accumulator, and the accumulator register's width."""
    out: list[Component] = []
    if dp > 1:
        width = prod_bits + math.ceil(math.log2(dp))
        out.append(Component("accumulator", "adder", (width,), (dp - 1) / dp))
    share = 1 / dp
    # float products into an integer register would lose their exponent: a float accumulator
    kind = "float" if acc.kind == "int" and products_float else acc.kind
    if kind == "float":
        out += float_adder(acc.exp_bits, acc.man_bits, share, "accumulator")
        return out, 1 + acc.exp_bits + acc.man_bits
    if kind == "kulisch":
        stages = max(1, math.ceil(math.log2(max(2, span_bits - prod_bits + 1))))
        out.append(Component("accumulator", "shifter", (span_bits, stages), share))
        out.append(Component("accumulator", "adder", (span_bits,), share))
        return out, span_bits
    out.append(Component("accumulator", "adder", (acc.bits,), share))
    return out, acc.bits


def mac_datapath(
    kind: str,
    params: dict,
    a: Operand,
    w: Operand,
    dp: int = 1,
    group_size: int | None = None,
    scale_bits: int = 0,
    guard_bits: int = 0,
) -> tuple[Component, ...]:
    """Components of one MAC of PE `kind` (with its parameters) on operands a and w;
    `guard_bits` widen a Kulisch accumulator for sums of up to 2^guard_bits products."""
    if kind not in MODELLED_KINDS:
        raise HwsimError(
            f"PE kind {kind!r}: no datapath model; expected one of {', '.join(MODELLED_KINDS)}"
        )
    weights, k_hot = ("pow2" if kind == "denseshift" else "fixed"), 2
    if kind == "fixed_point":
        weights, k_hot = params.get("weights", "fixed"), int(params.get("k_hot", 2))
    parts: list[Component] = []
    if w.kind == "codebook" or (kind == "float_mac" and params.get("weight_decoder")):
        parts.append(Component("decode", "lut", (w.index_bits or w.bits, w.sig_bits), 1))
    mult, prod_bits = multiplier(a, w, weights, k_hot, params.get("multiplier", "array"))
    parts += mult
    acc = _accumulate(kind, params)
    products_float = a.kind == "float" or w.kind == "float"
    span = exact_span_bits(a, w) + guard_bits
    acc_parts, acc_bits = accumulator(acc, prod_bits, span, dp, products_float)
    parts += acc_parts
    if group_size and scale_bits:
        per = 1 / group_size
        parts.append(Component("dequant", "int_mult", (min(acc_bits, 24), scale_bits), per))
        parts.append(Component("dequant", "adder", (acc_bits,), per))
    parts.append(Component("registers", "reg", (acc_bits,), 1 / dp))
    parts.append(Component("registers", "reg", (a.bits,), 1))
    return tuple(parts)


def _accumulate(kind: str, params: dict) -> Accumulate:
    """The accumulator a PE kind's parameters name (hwsim.pe defaults otherwise)."""
    if kind == "int_mac":
        return Accumulate("int", int(params.get("acc_bits", 32)))
    if kind == "fixed_point":
        from hwsim.pe.fixed_point import fixed_type

        return Accumulate("int", fixed_type(params.get("acc_format", "ap_fixed<32,16>")).width)
    if kind == "float_mac":
        acc = params.get("acc", "float")
        if acc == "kulisch":
            return Accumulate("kulisch")
        if acc == "trunc_align":
            return Accumulate("int", int(params.get("mantissa_bits", 14)) + 1)
        from hwsim.pe.accumulator_spec import float_spec

        f = float_spec(params.get("acc_format", "fp32"))
        return Accumulate("float", 1 + f.exp_bits + f.man_bits, f.exp_bits, f.man_bits)
    if kind == "denseshift":
        return Accumulate("float", 32, 8, 23)  # fp32 group register (hwsim.pe.shift_add)
    return Accumulate("int", 32)  # mixed_dtype: integer group sums


def category_totals(parts, values) -> dict[str, float]:
    """Sum `values` (one per part) into CATEGORIES, in order, zeros dropped."""
    out = dict.fromkeys(CATEGORIES, 0.0)
    for part, v in zip(parts, values, strict=True):
        out[part.category] += v
    return {k: v for k, v in out.items() if v}
