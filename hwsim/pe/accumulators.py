"""Accumulator models: what a PE's adder does to a running sum, bit for bit.

`Accumulator(kind=...)` is a frozen spec; `accumulate_gemm(a, w, acc)` sums a[i, k]*w[j, k]
over k through it (numba), `accumulate_gemm_reference` (hwsim.pe.accumulator_reference) does
the same with Python ints and Fractions, and `accumulate(products, acc)` sums precomputed
products along the last axis.

The kinds and orders are documented with the spec, hwsim.pe.accumulator_spec; the pure-Python
twins live in hwsim.pe.accumulator_reference.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np

from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import Accumulator, float_spec, saturates

# numba kernels load on first use: a shapes-only run never compiles or imports them
K = lazy_module("hwsim.pe._kernels_mac")

_FP32 = float_spec("fp32")

# --- vectorised --------------------------------------------------------------------------


def accumulate_gemm(a: np.ndarray, w: np.ndarray, acc: Accumulator):
    """Sum a[i, k] * w[j, k] over k through `acc`; returns (out [M, N], overflow events [M, N]).

    Integer kinds take int64 arrays (products must fit in int64), float kinds float64
    arrays whose products are exact in float64 (callers check, see `exact_product_check`).
    """
    if acc.kind == "int":
        return K.int_gemm(_i64(a), _i64(w), acc.width, saturates(acc), acc.tree)
    if acc.kind == "float":
        s = acc.spec
        a, w = _f64(a), _f64(w)
        # fp32 arithmetic whatever its spelling (fp32, float32, e8m23): by value, not by name
        fp32_seq = replace(s, name="fp32") == _FP32 and acc.tree == 1 and not saturates(acc)
        finite = np.isfinite(a).all() and np.isfinite(w).all()
        if fp32_seq and finite and _products_fit_fp32(a, w):
            return K.fp32_seq_gemm(a, w)
        return K.float_gemm(a, w, s.man_bits, s.emin, s.max_finite, saturates(acc), acc.tree)
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
