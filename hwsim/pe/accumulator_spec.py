"""Accumulator specs: what a PE's adder does to a running sum, as frozen data.

`Accumulator(kind=...)` says how partial sums are kept; `float_spec(fmt)` gives the facts of
a float format that rounding needs (`FloatSpec`). The implementations that sum through an
accumulator are hwsim.pe.accumulators (numba) and hwsim.pe.accumulator_reference (Python
ints and Fractions).

Kinds
- int:   `width`-bit two's complement, `overflow` = wrap | saturate applied after every
         addition (and to a product that does not fit). Overflow events are counted.
- float: any float format (`format`: fp32, fp16, bf16, e{E}m{M} such as BitMoD's e6m15, or a
         registered FloatFormat); products are exact, every addition is rounded once (RNE) to
         the format, subnormals kept; overflow -> inf (IEEE) or saturate, counted.
- kulisch: exact fixed-point sum (Kulisch 1971), then one RNE rounding to `format` for float
         operands (integer operands: the exact integer). Kernels use int64 where a bound proves
         it exact, Python ints otherwise.
- trunc_align: GPU tensor-core model (Fasi et al., PeerJ CS 2021; Khattak & Mikaitis,
         arXiv:2512.07004, 2025): per `chunk` products plus the running partial, terms are
         aligned to the largest exponent and truncated to `mantissa_bits` fraction bits, added
         exactly without normalisation, the chunk result truncated to fp32; every
         `promote_every` products (0 = never) the partial is added into an fp32 register with
         RNE (the DeepSeek-V3 fix: promotion every 128 elements with ~14-bit accumulation).

Order (`int`, `float`): `sequential` (acc = acc (+) p_k), or `pairwise` with `tree_width` n:
each run of n products is summed by a pairwise tree (level by level, odd element passes up),
its result added into the accumulator (a dot-product unit of width n feeding an accumulator).
Kulisch is order-free; trunc_align has its own fixed order (chunks).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hwsim.errors import HwsimError

KINDS = ("int", "float", "kulisch", "trunc_align")
ORDERS = ("sequential", "pairwise")


@dataclass(frozen=True)
class FloatSpec:
    """The facts of a float format that rounding needs."""

    name: str
    exp_bits: int
    man_bits: int  # fraction bits (without the implicit bit)
    emin: int  # exponent of the smallest normal
    max_finite: float

    @property
    def significand_bits(self) -> int:
        return self.man_bits + 1


_IEEE = {
    "fp32": (8, 23),
    "float32": (8, 23),
    "fp16": (5, 10),
    "float16": (5, 10),
    "bf16": (8, 7),
    "bfloat16": (8, 7),
    "fp64": (11, 52),
    "float64": (11, 52),
}


def _ieee(name: str, e: int, m: int) -> FloatSpec:
    bias = 2 ** (e - 1) - 1
    emax = 2**e - 2 - bias
    return FloatSpec(name, e, m, 1 - bias, math.ldexp(2.0 - 2.0**-m, emax))


def float_spec(fmt) -> FloatSpec:
    """FloatSpec of an accumulator format: fp32/fp16/bf16/fp64, `e{E}m{M}` (IEEE-style bias,
    top exponent reserved), or any registered float format (FloatFormat attributes)."""
    if isinstance(fmt, FloatSpec):
        return fmt
    name = str(getattr(fmt, "name", fmt)).strip()
    if name in _IEEE:
        return _ieee(name, *_IEEE[name])
    m = re.fullmatch(r"(?:fp_?)?e(\d+)m(\d+)", name)
    if m:
        e, man = int(m[1]), int(m[2])
        if not (2 <= e <= 11 and 0 <= man <= 52):
            raise HwsimError(f"accumulator format {name!r}: expected 2<=E<=11 and M<=52")
        return _ieee(name, e, man)
    from hwsim.dtypes import format as get_format

    f = get_format(fmt)
    try:
        e, man, bias = int(f.exp_bits), int(f.man_bits), int(f.bias)
    except AttributeError:
        raise HwsimError(f"accumulator format {name!r}: expected a floating-point format") from None
    return FloatSpec(f.name, e, man, 1 - bias, float(f.max_value))


@dataclass(frozen=True)
class Accumulator:
    """How partial sums are kept (see module doc)."""

    kind: str = "int"  # int | float | kulisch | trunc_align
    width: int = 32  # int: accumulator bits
    overflow: str = ""  # int: wrap (default) | saturate; float: inf (default) | saturate
    format: str = "fp32"  # float: accumulator format; kulisch: output format of float sums
    order: str = "sequential"  # sequential | pairwise
    tree_width: int = 2  # pairwise: products per adder tree
    mantissa_bits: int = 14  # trunc_align: fraction bits kept after alignment
    chunk: int = 16  # trunc_align: products aligned together
    promote_every: int = 128  # trunc_align: products between fp32 promotions (0 = never)

    def __post_init__(self):
        if not self.overflow:
            object.__setattr__(self, "overflow", "wrap" if self.kind == "int" else "inf")
        if self.kind not in KINDS:
            raise HwsimError(
                f"accumulator.kind: expected one of {', '.join(KINDS)}, got {self.kind!r}"
            )
        if self.order not in ORDERS:
            raise HwsimError(
                f"accumulator.order: expected sequential or pairwise, got {self.order!r}"
            )
        if self.kind == "int":
            if not (isinstance(self.width, int) and 2 <= self.width <= 62):
                raise HwsimError(
                    f"accumulator.width: expected an integer in [2, 62], got {self.width!r}"
                )
            if self.overflow not in ("wrap", "saturate"):
                raise HwsimError(
                    f"accumulator.overflow: expected wrap or saturate for an "
                    f"int accumulator, got {self.overflow!r}"
                )
        if self.kind == "float":
            if self.overflow not in ("inf", "saturate"):
                raise HwsimError(
                    f"accumulator.overflow: expected inf or saturate for a "
                    f"float accumulator, got {self.overflow!r}"
                )
            if self.spec.man_bits > 25:
                raise HwsimError(
                    f"accumulator.format: at most 25 fraction bits are modelled "
                    f"exactly, got {self.spec.name} ({self.spec.man_bits})"
                )
        if self.kind == "kulisch":
            self.spec  # noqa: B018 - validates the output format
        if not (isinstance(self.tree_width, int) and self.tree_width >= 1):
            raise HwsimError(
                f"accumulator.tree_width: expected an integer >= 1, got {self.tree_width!r}"
            )
        if self.kind == "trunc_align":
            if not (isinstance(self.chunk, int) and 1 <= self.chunk <= 4096):
                raise HwsimError(
                    f"accumulator.chunk: expected an integer in [1, 4096], got {self.chunk!r}"
                )
            # chunk sum exact in float64: p + 2 + log2(chunk + 1) <= 53
            limit = 51 - math.ceil(math.log2(self.chunk + 1))
            if not (isinstance(self.mantissa_bits, int) and 1 <= self.mantissa_bits <= limit):
                raise HwsimError(
                    f"accumulator.mantissa_bits: expected an integer in "
                    f"[1, {limit}], got {self.mantissa_bits!r}"
                )
            if not (isinstance(self.promote_every, int) and self.promote_every >= 0):
                raise HwsimError(
                    f"accumulator.promote_every: expected an integer >= 0, "
                    f"got {self.promote_every!r}"
                )

    @property
    def spec(self) -> FloatSpec:
        """Float format of a float accumulator (output format for kulisch / trunc_align)."""
        return float_spec("fp32" if self.kind == "trunc_align" else self.format)

    @property
    def tree(self) -> int:
        """Kernel order code: 1 = sequential, n = pairwise trees of n products (a tree of one
        product adds it straight into the accumulator: sequential)."""
        return 1 if self.order == "sequential" else self.tree_width

    @property
    def is_integer(self) -> bool:
        return self.kind == "int"

    @property
    def bits(self) -> int:
        """Register width for action keys (add.{bits}); kulisch: the 64-bit exact word used
        by the kernels is not the hardware width, callers name the span they need."""
        if self.kind == "int":
            return self.width
        return self.spec.exp_bits + self.spec.man_bits + 1


def saturates(acc: Accumulator) -> bool:
    """True when overflow saturates (int: at the width's extremes; float: at +-max finite)."""
    return acc.overflow == "saturate"
