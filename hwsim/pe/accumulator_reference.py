"""Reference accumulators: the pure-Python twins of hwsim.pe.accumulators (ints, Fractions).

`accumulate_reference(products, acc)` sums exact products in order through an `Accumulator`
(hwsim.pe.accumulator_spec says what each kind does) one addition at a time;
`accumulate_gemm_reference(a, w, acc)` is the same for a GEMM, and `round_fraction` is the
RNE of an exact rational to a float format. Slow and obviously correct: the tests hold the
numba kernels equal to these.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hwsim.pe.accumulator_spec import Accumulator, FloatSpec, float_spec, saturates


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
    return round_fraction(Fraction(x) + Fraction(y), acc.spec, saturates(acc))


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
