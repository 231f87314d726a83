"""Accumulator models: what a PE's adder does to a running sum, bit for bit.

`Accumulator(kind=...)` is a frozen spec; `accumulate_gemm(a, w, acc)` sums a[i, k]*w[j, k]
over k through it (numba), `accumulate_gemm_reference` does the same with Python ints and
Fractions, and `accumulate(products, acc)` sums precomputed products along the last axis.

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
from fractions import Fraction

import numpy as np

from hwsim.errors import HwsimError
from hwsim.pe import _kernels_mac as K

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
        """Kernel order code: 1 = sequential, n = pairwise trees of n products."""
        return 1 if self.order == "sequential" else max(self.tree_width, 2)

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


def _saturate(acc: Accumulator) -> bool:
    return acc.overflow == "saturate"


# --- vectorised --------------------------------------------------------------------------


def accumulate_gemm(a: np.ndarray, w: np.ndarray, acc: Accumulator):
    """Sum a[i, k] * w[j, k] over k through `acc`; returns (out [M, N], overflow events [M, N]).

    Integer kinds take int64 arrays (products must fit in int64), float kinds float64
    arrays whose products are exact in float64 (callers check, see `exact_product_check`).
    """
    if acc.kind == "int":
        return K.int_gemm(_i64(a), _i64(w), acc.width, _saturate(acc), acc.tree)
    if acc.kind == "float":
        s = acc.spec
        a, w = _f64(a), _f64(w)
        fp32_seq = s.name in ("fp32", "float32") and acc.tree == 1 and not _saturate(acc)
        finite = np.isfinite(a).all() and np.isfinite(w).all()
        if fp32_seq and finite and _products_fit_fp32(a, w):
            return K.fp32_seq_gemm(a, w)
        return K.float_gemm(a, w, s.man_bits, s.emin, s.max_finite, _saturate(acc), acc.tree)
    if acc.kind == "trunc_align":
        return K.trunc_align_gemm(_f64(a), _f64(w), acc.chunk, acc.mantissa_bits, acc.promote_every)
    return _kulisch_gemm(a, w, acc)


def accumulate(products: np.ndarray, acc: Accumulator):
    """Sum precomputed products along the last axis; returns (sums, overflow events)."""
    p = np.asarray(products)
    flat = p.reshape(-1, p.shape[-1])
    ones = np.ones((1, p.shape[-1]), dtype=np.int64 if p.dtype.kind in "iub" else np.float64)
    out, ovf = accumulate_gemm(flat, ones, acc)
    return out[:, 0].reshape(p.shape[:-1]), ovf[:, 0].reshape(p.shape[:-1])


def round_to_float(x, fmt, saturate: bool = False) -> np.ndarray:
    """RNE of float64 values to a float format (subnormals kept); elementwise."""
    s = float_spec(fmt)
    x = _f64(x)
    return K.round_array(x.ravel(), s.man_bits, s.emin, s.max_finite, saturate).reshape(x.shape)


def _i64(x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind == "f" and not np.all(x == np.round(x)):
        raise HwsimError("integer accumulator: expected integer operands")
    return np.ascontiguousarray(x, dtype=np.int64)


def _f64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def significand_bits(x: np.ndarray) -> int:
    """Most significant bits (leading to last set bit) of any finite nonzero value in x."""
    x = np.abs(_f64(x))
    x = x[np.isfinite(x) & (x != 0)]
    if x.size == 0:
        return 0
    frac, _ = np.frexp(x)
    mant = np.ldexp(frac, 53).astype(np.int64)  # exact: 53-bit integer significand
    tz = np.log2((mant & -mant).astype(np.float64)).astype(np.int64)
    return int(np.max(53 - tz))


def exponent_range(x: np.ndarray) -> tuple[int, int]:
    """(min, max) of floor(log2|v|) over finite nonzero values (0, 0 if none)."""
    x = np.abs(_f64(x))
    x = x[np.isfinite(x) & (x != 0)]
    if x.size == 0:
        return 0, 0
    e = np.frexp(x)[1] - 1
    return int(e.min()), int(e.max())


def exact_product_check(a: np.ndarray, w: np.ndarray, who: str) -> None:
    """Raise unless every product a*w is exact in float64 (<= 53 bits, in normal range)."""
    if significand_bits(a) + significand_bits(w) > 53:
        raise HwsimError(
            f"{who}: operand significands too wide for exact products "
            f"({significand_bits(a)} + {significand_bits(w)} > 53 bits)"
        )
    (alo, ahi), (wlo, whi) = exponent_range(a), exponent_range(w)
    if alo + wlo < -1000 or ahi + whi > 1000:
        raise HwsimError(f"{who}: operand exponents out of range for exact products")


def _products_fit_fp32(a, w) -> bool:
    if significand_bits(a) + significand_bits(w) > 24:
        return False
    (alo, ahi), (wlo, whi) = exponent_range(a), exponent_range(w)
    return alo + wlo >= -126 and ahi + whi + 1 <= 127


def _lsb_exponent(x: np.ndarray) -> int:
    """Exponent of the lowest set bit over all finite nonzero values."""
    x = np.abs(_f64(x))
    x = x[np.isfinite(x) & (x != 0)]
    if x.size == 0:
        return 0
    frac, e = np.frexp(x)
    mant = np.ldexp(frac, 53).astype(np.int64)
    tz = np.log2((mant & -mant).astype(np.float64)).astype(np.int64)
    return int(np.min(e - 53 + tz))


def _kulisch_gemm(a, w, acc: Accumulator):
    a, w = np.asarray(a), np.asarray(w)
    if a.dtype.kind in "iub" and w.dtype.kind in "iub":
        ai, wi, shift, as_float = a.astype(np.int64), w.astype(np.int64), 0, False
    else:
        a, w = _f64(a), _f64(w)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(w))):
            raise HwsimError("kulisch accumulator: expected finite operands")
        la, lw = _lsb_exponent(a), _lsb_exponent(w)
        ai, wi = np.ldexp(a, -la), np.ldexp(w, -lw)  # exact integers (as float64)
        shift, as_float = la + lw, True
        if max(np.abs(ai).max(initial=0), np.abs(wi).max(initial=0)) >= 2.0**62:
            return _kulisch_python(ai, wi, shift, acc)
        ai, wi = ai.astype(np.int64), wi.astype(np.int64)
    K_ = a.shape[1]
    amax = int(np.abs(ai).max(initial=0))
    wmax = int(np.abs(wi).max(initial=0))
    if K_ * amax * wmax >= 2**61:  # int64 partial sums could overflow: use Python ints
        return _kulisch_python(ai, wi, shift, acc, as_float)
    s, _ = K.int_gemm(ai, wi, 62, False, 1)  # exact: every partial sum < 2**61
    if not as_float:
        return s, np.zeros(s.shape, np.int64)
    sp = acc.spec
    return K.round_int_to_float(s, shift, sp.man_bits, sp.emin, sp.max_finite, False)


def _kulisch_python(ai, wi, shift, acc, as_float=True):
    A = [[int(v) for v in row] for row in ai]
    W = [[int(v) for v in row] for row in wi]
    exact = [[sum(x * y for x, y in zip(r, c)) for c in W] for r in A]
    if not as_float:
        return np.array(exact, dtype=object), np.zeros((len(A), len(W)), np.int64)
    sp = acc.spec
    out = np.empty((len(A), len(W)))
    ovf = np.zeros((len(A), len(W)), np.int64)
    for i, row in enumerate(exact):
        for j, v in enumerate(row):
            out[i, j], ovf[i, j] = round_fraction(Fraction(v) * Fraction(2) ** shift, sp, False)
    return out, ovf


# --- scalar reference (Python ints and Fractions) ---------------------------------------


def round_fraction(x: Fraction, spec: FloatSpec, saturate: bool) -> tuple[float, int]:
    """Reference RNE of an exact rational to a float format; (value, overflowed)."""
    if x == 0:
        return 0.0, 0
    sign = -1 if x < 0 else 1
    ax = abs(x)
    e = ax.numerator.bit_length() - ax.denominator.bit_length()
    if Fraction(2) ** e > ax:
        e -= 1
    q = max(e, spec.emin) - spec.man_bits
    r = ax / Fraction(2) ** q
    n = math.floor(r)
    d = r - n
    if d > Fraction(1, 2) or (d == Fraction(1, 2) and n % 2 == 1):
        n += 1
    if n == 0:
        return math.copysign(0.0, sign), 0
    val = Fraction(n) * Fraction(2) ** q
    if val > Fraction(spec.max_finite):
        return (sign * spec.max_finite if saturate else sign * math.inf), 1
    return float(sign * val), 0


def _ref_int_add(x: int, y: int, acc: Accumulator) -> tuple[int, int]:
    lo, hi = -(2 ** (acc.width - 1)), 2 ** (acc.width - 1) - 1
    z = x + y
    if lo <= z <= hi:
        return z, 0
    if acc.overflow == "saturate":
        return (hi if z > hi else lo), 1
    return (z - lo) % 2**acc.width + lo, 1


def _ref_float_add(x: float, y: float, acc: Accumulator) -> tuple[float, int]:
    if not (math.isfinite(x) and math.isfinite(y)):
        return x + y, 0
    return round_fraction(Fraction(x) + Fraction(y), acc.spec, _saturate(acc))


def _ref_trunc(x: Fraction, q: int) -> Fraction:
    unit = Fraction(2) ** q
    n = abs(x) / unit
    return (1 if x >= 0 else -1) * math.floor(n) * unit


def _ref_rz_fp32(x: Fraction) -> tuple[Fraction, int]:
    if x == 0:
        return x, 0
    ax = abs(x)
    e = ax.numerator.bit_length() - ax.denominator.bit_length()
    if Fraction(2) ** e > ax:
        e -= 1
    r = _ref_trunc(x, max(e, -126) - 23)
    if abs(r) > Fraction(float_spec("fp32").max_finite):
        return Fraction(0), 1  # never reached by finite fp8/fp16 inputs; counted
    return r, 0


def _ref_trunc_align(products: list[float], acc: Accumulator) -> tuple[float, int]:
    fp32 = float_spec("fp32")
    total, partial, since, events = 0.0, Fraction(0), 0, 0
    for k0 in range(0, len(products), acc.chunk):
        chunk = [Fraction(p) for p in products[k0 : k0 + acc.chunk]]
        terms = [t for t in [partial, *chunk] if t != 0]
        if terms:
            emax = max(math.floor(math.log2(abs(t))) for t in terms)
            # math.log2 of a Fraction is inexact near powers of two: fix the exponent up
            while Fraction(2) ** emax > max(abs(t) for t in terms):
                emax -= 1
            while Fraction(2) ** (emax + 1) <= max(abs(t) for t in terms):
                emax += 1
            q = emax - acc.mantissa_bits
            s = sum((_ref_trunc(t, q) for t in [partial, *chunk]), Fraction(0))
            partial, o = _ref_rz_fp32(s)
            events += o
            since += len(chunk)
            if acc.promote_every and since >= acc.promote_every:
                total, o = round_fraction(Fraction(total) + partial, fp32, False)
                events += o
                partial, since = Fraction(0), 0
    if acc.promote_every:
        total, o = round_fraction(Fraction(total) + partial, fp32, False)
        return total, events + o
    return float(partial), events


def accumulate_reference(products: list, acc: Accumulator):
    """Reference sum of exact products (Python ints or floats) in order; (value, events)."""
    products = list(products)
    if acc.kind == "kulisch":
        exact = sum((Fraction(p) for p in products), Fraction(0))
        if all(isinstance(p, int) for p in products):
            return int(exact), 0
        return round_fraction(exact, acc.spec, False)
    if acc.kind == "trunc_align":
        return _ref_trunc_align([float(p) for p in products], acc)
    if acc.kind == "int":
        add = _ref_int_add
        fit = lambda p: _ref_int_add(0, int(p), acc)  # noqa: E731 - a product entering acc
        zero = 0
    else:
        add = _ref_float_add
        fit = lambda p: _ref_float_add(0.0, float(p), acc)  # noqa: E731
        zero = 0.0
    total, events = zero, 0
    n = acc.tree
    if n == 1:
        for p in products:
            if acc.kind == "int":
                p, o = fit(p)
                events += o
            total, o = add(total, p, acc)
            events += o
        return total, events
    for k0 in range(0, len(products), n):
        level = []
        for p in products[k0 : k0 + n]:
            v, o = fit(p)
            level.append(v)
            events += o
        while len(level) > 1:
            nxt = []
            for t in range(0, len(level) - 1, 2):
                v, o = add(level[t], level[t + 1], acc)
                nxt.append(v)
                events += o
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        total, o = add(total, level[0], acc)
        events += o
    return total, events


def accumulate_gemm_reference(a, w, acc: Accumulator):
    """Pure-Python twin of accumulate_gemm (products with Python ints / floats)."""
    a, w = np.asarray(a), np.asarray(w)
    integer = a.dtype.kind in "iub" and w.dtype.kind in "iub"
    conv = int if integer else Fraction
    M, N = a.shape[0], w.shape[0]
    out = np.empty((M, N), dtype=np.int64 if integer and acc.kind == "int" else object)
    ovf = np.zeros((M, N), np.int64)
    for i in range(M):
        for j in range(N):
            prods = [conv(x) * conv(y) for x, y in zip(a[i].tolist(), w[j].tolist())]
            out[i, j], ovf[i, j] = accumulate_reference(prods, acc)
    return out, ovf
