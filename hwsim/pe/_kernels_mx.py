"""Numba loop of the MX dot-product PE (hwsim.pe.mx_mac): block values added into fp32.

Only the loop lives here; its pure-Python twin (Fractions) is hwsim.pe.mx_mac.mx_gemm_scalar,
and the tests hold them equal. `add_rne32(acc, v)` is one IEEE binary32 addition, round to
nearest even, of an fp32 accumulator and a float64 block value v that need not be an fp32
number: float64 TwoSum gives the exact sum s + err; RN32(s) is RN32(s + err) except when s
is exactly halfway between two fp32 numbers (fp32 midpoints are float64 numbers, so rounding
to float64 never crosses one, it can only land on it), where the sign of err decides.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

FP32_MAX = float(np.finfo(np.float32).max)
FP32_OVERFLOW_TIE = 2.0**128 - 2.0**103  # halfway between FP32_MAX and 2^128


@njit(cache=True)
def add_rne32(acc, v):
    """(RN32(acc + v) as float64, 1 if a finite sum overflowed to +-inf else 0)."""
    s = acc + v
    if not math.isfinite(s):
        return s, 0
    bp = s - acc
    err = (acc - (s - bp)) + (v - bp)  # TwoSum: acc + v == s + err exactly
    r = np.float64(np.float32(s))
    if err != 0.0 and r != s:
        if math.isinf(r):
            # exactly on the overflow tie: RNE goes to inf, below it to FP32_MAX
            if abs(s) == FP32_OVERFLOW_TIE and (err < 0.0) == (s > 0.0):
                r = FP32_MAX if s > 0.0 else -FP32_MAX
        else:
            y = 2.0 * s - r  # the other fp32 neighbour, when s is their midpoint
            if np.float64(np.float32(y)) == y and (y + r) * 0.5 == s:
                r = max(r, y) if err > 0.0 else min(r, y)
    return r, 1 if math.isinf(r) else 0


@njit(cache=True, parallel=True)
def mx_accumulate(acc, events, sums, ea, ew, nan_a, nan_w):
    """acc[m, n] = RN32(acc[m, n] + sums[m, n] * 2^(ea[m] + ew[n])) for one block, in place;
    a NaN block (nan_a[m] or nan_w[n]) makes the output NaN. `events` counts overflows.
    Each output is owned by one thread (parallel over m): results do not depend on threads."""
    M, N = sums.shape
    for m in prange(M):
        for n in range(N):
            if nan_a[m] or nan_w[n]:
                acc[m, n] = np.nan
                continue
            v = math.ldexp(sums[m, n], ea[m] + ew[n])
            r, o = add_rne32(acc[m, n], v)
            acc[m, n] = r
            events[m, n] += o
