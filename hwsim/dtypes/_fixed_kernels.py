"""Numba inner loop shared by the fixed-point and integer formats.

One element at a time, exactly as the Xilinx `ap_fixed_base(double)` constructor does it:
the double is read as (-1)^s * M * 2^e from its raw bits (M = 2^52 | mantissa, e = exponent
field - 1075, so subnormals, inf and NaN are read the way the header reads them), t = x * 2^F
is split into floor(t) and the exact fraction, the rounding increment is added, then the
overflow mode is applied to the unbounded result. Everything is integer arithmetic on the
parts, so huge inputs (t far beyond 2^64) stay exact. The pure-Python reference is
`hwsim.dtypes.fixed.fixed_encode_scalar`; the tests hold the two equal.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from hwsim.dtypes.fixed_rules import (  # noqa: F401 - the rule numbers, re-read here by name
    CEIL,
    RND,
    RND_CONV,
    RND_INF,
    RND_MIN_INF,
    RND_ZERO,
    SAT,
    SAT_SYM,
    SAT_ZERO,
    STOCHASTIC,
    TRN,
    TRN_ZERO,
    WRAP,
    WRAP_SM,
)

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_MANT = np.uint64((1 << 52) - 1)
_HIDDEN = np.uint64(1 << 52)
_ABS = np.uint64((1 << 63) - 1)
_TWO62 = 2.0**62
_TINY = 2.0**-1022  # smallest normal double: subnormals take the exact path (header quirk)
_TINY_T = 2.0**-1000  # x * 2^F above this is exact (no underflow)


@njit(cache=True)
def _bit(v, j):
    """Bit j of the uint64 v (0 for j outside 0..63)."""
    if j < 0 or j > 63:
        return _U0
    return (v >> np.uint64(j)) & _U1


@njit(cache=True)
def _increment(qmode, neg, qb, r, lsb, stoch_up):
    if qmode == TRN:
        return False
    if qmode == TRN_ZERO:
        return neg and (qb or r)
    if qmode == RND:
        return qb
    if qmode == RND_ZERO:
        return qb and (neg or r)
    if qmode == RND_MIN_INF:
        return qb and r
    if qmode == RND_INF:
        return qb and ((not neg) or r)
    if qmode == RND_CONV:
        return qb and (lsb or r)
    if qmode == CEIL:
        return qb or r
    return stoch_up


@njit(cache=True)
def _encode_one(bits, F, W, signed, qmode, omode, u, mask, hi_mag, lo_mag):
    if (bits & _ABS) == _U0:
        return _U0  # +0 and -0
    neg = (bits >> np.uint64(63)) != _U0
    ef = np.int64((bits >> np.uint64(52)) & np.uint64(0x7FF))
    m = (bits & _MANT) | _HIDDEN
    s = ef - 1075 + F  # |t| = m * 2^s
    huge = False  # floor(|t|) >= 2^64 (only when s >= 0)
    f_nz = False  # fraction of |t| non-zero
    f_half = False  # fraction of |t| exactly 1/2
    f_gt = False  # fraction of |t| above 1/2
    stoch_up = False
    if s >= 0:
        if s >= 64:
            huge = True
            a = _U0
        else:
            a = m << np.uint64(s)
            if s > 11 and (m >> np.uint64(64 - s)) != _U0:
                huge = True
    else:
        k = -s
        if k > 53:
            a = _U0
            rem = m
        else:
            a = m >> np.uint64(k)
            rem = m & ((_U1 << np.uint64(k)) - _U1)
            half = _U1 << np.uint64(k - 1)
            f_half = rem == half
            f_gt = rem > half
        f_nz = rem != _U0
        if qmode == STOCHASTIC:
            # u < frac(t) exactly; u is a multiple of 2^-53 so 1 - u is exact
            remf = float(rem)
            up_neg = f_nz and remf < math.ldexp(1.0 - u, k)
            stoch_up = up_neg if neg else math.ldexp(u, k) < remf
    # qb / r / lsb of t - floor(t) in two's complement terms
    if neg:
        qb = f_nz and not f_gt
        r = f_nz and not f_half
        lsb = ((a + (_U1 if f_nz else _U0)) & _U1) != _U0
    else:
        qb = f_gt or f_half
        r = f_nz and not f_half
        lsb = (a & _U1) != _U0
    inc = _increment(qmode, neg, qb, r, lsb, stoch_up)
    inc_u = _U1 if inc else _U0
    if neg:
        qmag = a + (_U1 if f_nz else _U0) - inc_u  # q = -qmag
        q_neg = huge or qmag != _U0
        code = (~qmag + _U1) & mask
    else:
        qmag = a + inc_u
        q_neg = False
        code = qmag & mask
    lim = hi_mag if (omode == SAT_SYM and signed) else lo_mag
    over = (not neg) and (huge or qmag > hi_mag)
    under = q_neg and (huge or qmag > lim)
    if not (over or under) or omode == WRAP:
        return code
    ld = _U0  # bit W of floor(t), for AP_WRAP_SM
    if omode == WRAP_SM:
        if not neg:
            ld = _bit(m, W - s)
        elif f_nz:
            ld = _U1 - _bit(m, W - s)  # bit W of -(a + 1) = not bit W of a
        elif s >= 0:
            ld = _U0 if s > W else _U1 - _bit(m - _U1, W - s)  # a - 1 = (m - 1) << s | ones
        else:
            ld = _U1 - _bit(a - _U1, W)
    return _overflow(code, over, omode, W, signed, mask, hi_mag, lo_mag, ld)


@njit(cache=True)
def _overflow(code, over, omode, W, signed, mask, hi_mag, lo_mag, ld):
    """The code of an out-of-range result under `omode` (code = result modulo 2^W)."""
    if omode == WRAP:
        return code
    if omode == SAT_ZERO:
        return _U0
    if omode == SAT:
        return hi_mag if over else ((~lo_mag + _U1) & mask)
    if omode == SAT_SYM:
        if over:
            return hi_mag
        if signed:
            return ((_U1 << np.uint64(W - 1)) | _U1) & mask
        return _U0
    # WRAP_SM (signed only): invert when bit W of floor(t) differs from the wrapped sign bit
    ro = (code >> np.uint64(W - 1)) & _U1
    if ld != ro:
        code = (~code) & mask
    return code


@njit(cache=True)
def _encode_ordinary(t, W, signed, qmode, omode, u, mask, hi_mag, lo_mag, hi_i, lo_i):
    """Fast path for t = x * 2^F computed exactly in float64 with |t| < 2^62."""
    # work on |t|: |t| - floor(|t|) is exact, t - floor(t) is not for -1 < t < -0.5
    neg = t < 0.0
    a = abs(t)
    fl = math.floor(a)
    fa = a - fl
    f_nz = fa != 0.0
    r = f_nz and fa != 0.5
    if neg:
        qb = f_nz and fa <= 0.5
        ni = -np.int64(fl) - (1 if f_nz else 0)
        stoch_up = f_nz and fa < 1.0 - u  # u < 1 - fa; 1 - u is exact
    else:
        qb = fa >= 0.5
        ni = np.int64(fl)
        stoch_up = u < fa
    inc = _increment(qmode, neg, qb, r, (ni & 1) != 0, stoch_up)
    q = ni + (1 if inc else 0)
    code = np.uint64(q) & mask
    over = q > hi_i
    under = q < lo_i
    if not (over or under):
        return code
    ld = (_U1 if ni < 0 else _U0) if W >= 63 else np.uint64((ni >> W) & 1)  # bit W of floor
    return _overflow(code, over, omode, W, signed, mask, hi_mag, lo_mag, ld)


@njit(cache=True)
def encode_fixed(bits, F, W, signed, qmode, omode, u, mask, hi_mag, lo_mag, out):
    """Codes (uint64) of the float64 raw bits `bits`; `u` holds stochastic draws (or is empty)."""
    stoch = u.shape[0] > 0
    # ordinary inputs (normal doubles with |x * 2^F| < 2^62) take the float fast path
    scale = math.ldexp(1.0, F) if -1000 <= F <= 1000 else 0.0
    cap = np.uint64(1 << 62)
    hi_i = np.int64(min(hi_mag, cap))
    lim = hi_mag if (omode == SAT_SYM and signed) else lo_mag
    lo_i = -np.int64(min(lim, cap))
    xs = bits.view(np.float64)
    for i in range(bits.shape[0]):
        ui = u[i] if stoch else 0.0
        x = xs[i]
        t = x * scale
        at = abs(t)
        if abs(x) >= _TINY and _TINY_T <= at < _TWO62:
            out[i] = _encode_ordinary(
                t, W, signed, qmode, omode, ui, mask, hi_mag, lo_mag, hi_i, lo_i
            )
        else:
            out[i] = _encode_one(bits[i], F, W, signed, qmode, omode, ui, mask, hi_mag, lo_mag)
