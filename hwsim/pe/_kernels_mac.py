"""Numba inner loops of the MAC PEs (accumulators, INT/FP MAC); fixed point: _kernels_fixed.

Only loops live here; every kernel has a pure-Python twin in hwsim.pe.accumulators or in the
PE module, and the tests hold them equal. All kernels take a [M, K] and w [N, K] and
compute the accumulation of a[i, k] * w[j, k] over k, in the order given by `tree`:
tree <= 1 is sequential (acc = acc (+) p_k); tree = n > 1 sums each run of n consecutive
products with a pairwise tree (level by level: (b0 (+) b1), (b2 (+) b3), ...; an odd last
element passes up unchanged) and then adds the tree's result into the accumulator. Every
(+) is the accumulator's rounding/overflowing addition.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# numba's math.ldexp costs ~20 ns; multiplying by an exact power of two from a table is
# the same operation (exact while the result is a normal float64, which callers ensure).
_POW2 = np.ldexp(1.0, np.arange(-1022, 1024))


@njit(cache=True)
def scale2(x, e):
    """x * 2**e (ldexp) through the power-of-two table when 2**e is a normal float64."""
    if -1022 <= e <= 1023:
        return x * _POW2[e + 1022]
    return math.ldexp(x, e)


# --- integer -----------------------------------------------------------------------------


@njit(cache=True)
def int_fit(z, lo, hi, span, saturate):
    """z brought into [lo, hi] by wrapping (mod span) or saturating; (value, overflowed)."""
    if lo <= z <= hi:
        return z, 0
    if saturate:
        return (hi if z > hi else lo), 1
    return ((z - lo) % span) + lo, 1


@njit(cache=True)
def int_gemm(a, w, width, saturate, tree):
    """Integer accumulation of int64 products in a `width`-bit (<= 62) accumulator.

    Returns (out [M, N] int64, overflow events [M, N] int64). A product that does not fit
    the accumulator is itself wrapped/saturated and counted.
    """
    M, K = a.shape
    N = w.shape[0]
    lo = -(1 << (width - 1))
    hi = (1 << (width - 1)) - 1
    span = 1 << width
    out = np.empty((M, N), np.int64)
    ovf = np.zeros((M, N), np.int64)
    buf = np.empty(max(tree, 1), np.int64)
    for i in range(M):
        for j in range(N):
            acc = 0
            events = 0
            if tree <= 1:
                for k in range(K):
                    p, o = int_fit(a[i, k] * w[j, k], lo, hi, span, saturate)
                    acc, o2 = int_fit(acc + p, lo, hi, span, saturate)
                    events += o + o2
            else:
                for k0 in range(0, K, tree):
                    c = min(tree, K - k0)
                    for t in range(c):
                        p, o = int_fit(a[i, k0 + t] * w[j, k0 + t], lo, hi, span, saturate)
                        buf[t] = p
                        events += o
                    while c > 1:
                        half = c // 2
                        for t in range(half):
                            v, o = int_fit(buf[2 * t] + buf[2 * t + 1], lo, hi, span, saturate)
                            buf[t] = v
                            events += o
                        if c % 2 == 1:
                            buf[half] = buf[c - 1]
                        c = half + c % 2
                    acc, o2 = int_fit(acc + buf[0], lo, hi, span, saturate)
                    events += o2
            out[i, j] = acc
            ovf[i, j] = events
    return out, ovf


# --- floating point ----------------------------------------------------------------------


@njit(cache=True)
def round_float(s, err, man_bits, emin, max_finite, saturate):
    """RNE of the exact value x = s + err to a float format; (value, overflowed).

    s = RN53(x) and err = x - s exactly (TwoSum). The target grid (man_bits fraction bits,
    min normal exponent emin, subnormals below) is a subset of the float64 grid, so
    RN_target(x) = RN_target(s) unless s sits exactly on a target midpoint, where the sign
    of err breaks the tie. Zero keeps the sign of x.
    """
    if s == 0.0 or not math.isfinite(s):
        return s, 0
    e = math.frexp(s)[1] - 1
    if e < emin:
        e = emin
    q = e - man_bits
    r = scale2(s, -q)  # exact: a power-of-two scaling
    n = np.rint(r)  # RNE to an integer: the rounding of s
    if err != 0.0 and r - np.floor(r) == 0.5:
        # s is a target midpoint but x = s + err is not: err decides
        n = np.floor(r) + (1.0 if err > 0.0 else 0.0)
    if n == 0.0:
        return math.copysign(0.0, s), 0
    res = scale2(n, q)
    if abs(res) > max_finite:
        if saturate:
            return math.copysign(max_finite, s), 1
        return math.copysign(math.inf, s), 1
    return res, 0


@njit(cache=True)
def float_add(x, y, man_bits, emin, max_finite, saturate):
    """x (+) y: exact sum (TwoSum) rounded once to the format; (value, overflowed)."""
    s = x + y
    if not math.isfinite(s):
        return s, 0
    bb = s - x
    err = (x - (s - bb)) + (y - bb)
    return round_float(s, err, man_bits, emin, max_finite, saturate)


@njit(cache=True)
def float_gemm(a, w, man_bits, emin, max_finite, saturate, tree):
    """Float accumulation with RNE after every addition of exact float64 products.

    Products a*w are exact in float64 (callers guarantee <= 53 significand bits and no
    under/overflow). The first product of a sequential sum is rounded into the format by
    the addition 0 (+) p. Returns (out [M, N] float64, overflow events [M, N] int64).
    """
    M, K = a.shape
    N = w.shape[0]
    out = np.empty((M, N), np.float64)
    ovf = np.zeros((M, N), np.int64)
    buf = np.empty(max(tree, 1), np.float64)
    for i in range(M):
        for j in range(N):
            acc = 0.0
            events = 0
            if tree <= 1:
                for k in range(K):
                    acc, o = float_add(acc, a[i, k] * w[j, k], man_bits, emin, max_finite, saturate)
                    events += o
            else:
                for k0 in range(0, K, tree):
                    c = min(tree, K - k0)
                    for t in range(c):
                        # a tree leaf enters the format like any operand of its adder
                        v, o = round_float(
                            a[i, k0 + t] * w[j, k0 + t], 0.0, man_bits, emin, max_finite, saturate
                        )
                        buf[t] = v
                        events += o
                    while c > 1:
                        half = c // 2
                        for t in range(half):
                            v, o = float_add(
                                buf[2 * t], buf[2 * t + 1], man_bits, emin, max_finite, saturate
                            )
                            buf[t] = v
                            events += o
                        if c % 2 == 1:
                            buf[half] = buf[c - 1]
                        c = half + c % 2
                    acc, o = float_add(acc, buf[0], man_bits, emin, max_finite, saturate)
                    events += o
            out[i, j] = acc
            ovf[i, j] = events
    return out, ovf


@njit(cache=True)
def fp32_seq_gemm(a, w):
    """Fast twin of float_gemm for an fp32 sequential accumulator when every product is an
    fp32 number: float32(float64(acc) + p) is the correctly rounded fp32 sum because
    53 >= 2*24 + 2 (double rounding is innocuous, Figueroa 1995). Overflow -> inf, counted
    (an fp32 register that became inf stays inf or NaN, so events = outputs that are
    non-finite while every product is finite). Four outputs advance together so their
    independent dependency chains overlap.
    """
    M, K = a.shape
    N = w.shape[0]
    out = np.empty((M, N), np.float64)
    ovf = np.zeros((M, N), np.int64)
    for i in range(M):
        j = 0
        while j < N:
            c0 = np.float32(0.0)
            c1 = np.float32(0.0)
            c2 = np.float32(0.0)
            c3 = np.float32(0.0)
            j1 = min(j + 1, N - 1)
            j2 = min(j + 2, N - 1)
            j3 = min(j + 3, N - 1)
            for k in range(K):
                x = a[i, k]
                c0 = np.float32(np.float64(c0) + x * w[j, k])
                c1 = np.float32(np.float64(c1) + x * w[j1, k])
                c2 = np.float32(np.float64(c2) + x * w[j2, k])
                c3 = np.float32(np.float64(c3) + x * w[j3, k])
            cs = (c0, c1, c2, c3)
            for t in range(4):
                if j + t < N:
                    out[i, j + t] = cs[t]
                    ovf[i, j + t] = 0 if math.isfinite(cs[t]) else 1
            j += 4
    return out, ovf


@njit(cache=True)
def trunc_toward_zero(x, q):
    """x truncated toward zero to a multiple of 2**q (exact in float64)."""
    return scale2(float(math.trunc(scale2(x, -q))), q)


@njit(cache=True)
def trunc_align_gemm(a, w, chunk, mantissa_bits, promote_every):
    """GPU tensor-core model: per chunk of `chunk` products plus the running partial sum,
    align every term to the largest exponent E, truncate each toward zero to a multiple of
    2**(E - mantissa_bits), add exactly (no normalisation inside the chunk) and truncate the
    chunk result to fp32 (RZ). Every `promote_every` products (0 = never) the partial sum is
    added into an fp32 register with RNE and restarts from 0; at the end the partial sum is
    added in the same way. Exactness: each truncated term is an integer multiple of
    2**(E-p) below 2**(E+1), so a chunk sum has < p + 2 + log2(chunk + 1) <= 53 bits.
    """
    M, K = a.shape
    N = w.shape[0]
    out = np.empty((M, N), np.float64)
    ovf = np.zeros((M, N), np.int64)
    fmax = 3.4028234663852886e38
    for i in range(M):
        for j in range(N):
            total = 0.0
            partial = 0.0
            events = 0
            since = 0
            for k0 in range(0, K, chunk):
                c = min(chunk, K - k0)
                emax = -100000
                if partial != 0.0:
                    emax = math.frexp(partial)[1] - 1
                for t in range(c):
                    p = a[i, k0 + t] * w[j, k0 + t]
                    if p != 0.0:
                        e = math.frexp(p)[1] - 1
                        if e > emax:
                            emax = e
                if emax == -100000:
                    continue
                q = emax - mantissa_bits
                s = trunc_toward_zero(partial, q)
                for t in range(c):
                    s += trunc_toward_zero(a[i, k0 + t] * w[j, k0 + t], q)
                partial, o = round_toward_zero_fp32(s)
                events += o
                since += c
                if promote_every > 0 and since >= promote_every:
                    total, o = float_add(total, partial, 23, -126, fmax, False)
                    events += o
                    partial = 0.0
                    since = 0
            if promote_every > 0:
                total, o = float_add(total, partial, 23, -126, fmax, False)
                events += o
            else:
                total = partial
            out[i, j] = total
            ovf[i, j] = events
    return out, ovf


@njit(cache=True)
def round_toward_zero_fp32(x):
    """x truncated to fp32 (RZ, subnormals kept); overflow -> inf, counted."""
    if x == 0.0 or not math.isfinite(x):
        return x, 0
    e = math.frexp(x)[1] - 1
    if e < -126:
        e = -126
    r = trunc_toward_zero(x, e - 23)
    if abs(r) > 3.4028234663852886e38:
        return math.copysign(math.inf, x), 1
    return r, 0


# --- exact (Kulisch) -------------------------------------------------------------------


@njit(cache=True)
def round_int_to_float(s, exp2, man_bits, emin, max_finite, saturate):
    """RNE of the exact value s * 2**exp2 (s an int64) to a float format, elementwise."""
    out = np.empty(s.shape, np.float64)
    ovf = np.zeros(s.shape, np.int64)
    flat_s = s.ravel()
    flat_o = out.ravel()
    flat_v = ovf.ravel()
    for t in range(flat_s.size):
        v = flat_s[t]
        hi = float(v)  # RNE int64 -> float64
        # |v| < 2**62, so hi fits an int64 and the residue is exact
        err = float(v - np.int64(hi))
        r, o = round_float(
            scale2(hi, exp2), scale2(err, exp2), man_bits, emin, max_finite, saturate
        )
        flat_o[t] = r
        flat_v[t] = o
    return out, ovf


@njit(cache=True)
def round_array(x, man_bits, emin, max_finite, saturate):
    """RNE of each float64 value to a float format."""
    out = np.empty_like(x)
    for t in range(x.size):
        out[t] = round_float(x[t], 0.0, man_bits, emin, max_finite, saturate)[0]
    return out
