"""Numba inner loops of the minifloat codec (the vectorised half of `minifloat.py`).

Encoding works on the bit pattern of each IEEE binary32 or binary64 input, read as a signed
integer (so float32 arrays need no float64 copy): the significand S and the exponent of its
last bit give the exact input value S * 2**lsb_e; rounding then is integer shifting with an
exact remainder, so there is one rounding and no float arithmetic on the value. Decoding
builds each value with ldexp from its integer significand, which is exact for every format
`FloatFormat` accepts. The scalar reference in `minifloat.py` shares none of this code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Rounding mode numbers, in the order of hwsim.dtypes.base.Rounding.
RNE, TIES_AWAY, TOWARD_ZERO, DOWN, UP, STOCHASTIC = range(6)
# Special-value conventions, in the order of minifloat.CONVENTIONS.
IEEE, FN, FNUZ, FINITE, FNU = range(5)


@njit(cache=True, inline="always")
def _overflow(neg, mode, saturate, max_code, sign_bit, ovf_pos, ovf_neg):
    # IEEE 754 7.4: modes that round this sign toward zero overflow to the largest finite.
    toward_zero = mode == TOWARD_ZERO or (mode == DOWN and not neg) or (mode == UP and neg)
    if saturate or toward_zero:
        return max_code | sign_bit if neg else max_code
    return ovf_neg if neg else ovf_pos


@njit(cache=True, inline="always")
def _encode_one(
    w, u, sm, se, sbias, man_bits, emin, emax, pow2, max_code, sign_bit, mode, sat, p, fast, ovf
):
    """Code of one input given as its float bit pattern `w` (int64, sign-extended).

    p = (nan_pos, nan_neg, inf_pos, inf_neg, ovf_pos, ovf_neg, zero_neg);
    fast = (normal, rebias, finite, k): deterministic modes round inputs whose bits lie in
    [normal, finite) (normal finite floats) by shifting bits; rebias = (source bias - bias)
    << man_bits; k - source exponent field is the shift at the subnormal quantum.
    normal = finite = 0 turns this path off. ovf = (code, -code) on overflow in this mode.
    """
    neg = w < 0
    a = w & ((np.int64(1) << (sm + se)) - 1)  # |x| as bits
    if mode != STOCHASTIC and fast[0] <= a < fast[2]:  # normal, finite input
        # Round the bit pattern at the format's quantum, written with selects rather than
        # branches (inputs mix ranges at random). In the format's normal binades the code
        # is the input's bits shifted and rebiased (a carry moves into the exponent by
        # itself); below them a subnormal's code is the significand rounded at the
        # subnormal quantum (a shift past 62 rounds like 62: significands are < 2**53).
        # Past the largest binade the code exceeds max_code, which is overflow.
        # Masks (all ones or zero) instead of data-dependent branches.
        neg_mask = w >> 63
        normal_shift = sm - man_bits
        sub_shift = fast[3] - (a >> sm)
        sub_mask = -np.int64(sub_shift > normal_shift)
        shift = (min(sub_shift, 62) & sub_mask) | (normal_shift & ~sub_mask)
        significand = (a & ((np.int64(1) << sm) - 1)) | (np.int64(1) << sm)
        base = (significand & sub_mask) | (a & ~sub_mask)
        rebias = fast[1] & ~sub_mask
        ones = (np.int64(1) << shift) - 1
        if mode == RNE:
            add = (ones >> 1) + (((base >> shift) - rebias) & 1)  # a tie goes to even
        elif mode == TIES_AWAY:
            add = (ones >> 1) + 1
        elif mode == UP:
            add = ones & ~neg_mask
        elif mode == DOWN:
            add = ones & neg_mask
        else:
            add = np.int64(0)
        code = ((base + add) >> shift) - rebias
        zero_mask = -np.int64(code == 0)
        over_mask = -np.int64(code > max_code)
        result = ((code | (sign_bit & neg_mask)) & ~zero_mask) | (p[6] & neg_mask & zero_mask)
        overflow = (ovf[1] & neg_mask) | (ovf[0] & ~neg_mask)
        return (result & ~over_mask) | (overflow & over_mask)
    exp_all = (np.int64(1) << se) - 1
    be = (w >> sm) & exp_all
    frac = w & ((np.int64(1) << sm) - 1)
    if be == exp_all:  # NaN or infinity
        if frac != 0:
            return p[1] if neg else p[0]
        return p[3] if neg else p[2]
    if be == 0:
        if frac == 0:  # zero
            if pow2:
                return p[0]
            return p[6] if neg else np.int64(0)
        sig = frac
        lsb_e = 1 - sbias - sm
        e_x = lsb_e - 1
        t = sig
        while t != 0:
            t >>= 1
            e_x += 1
    else:
        sig = frac | (np.int64(1) << sm)
        lsb_e = be - sbias - sm
        e_x = be - sbias
    if pow2:
        if neg:
            return p[0]
        if e_x < emin:  # below the smallest code; there is no zero to round to
            return np.int64(0)
    if e_x > emax:
        return _overflow(neg, mode, sat, max_code, sign_bit, p[4], p[5])
    e_q = max(e_x, emin)  # exponent of the binade (subnormals share emin's quantum)
    shift = e_q - man_bits - lsb_e  # bits of the significand below the format's quantum
    if shift <= 0:
        n = sig << (-shift)
        rem = np.int64(0)
        cmp = -1
    elif shift < 54:
        n = sig >> shift
        rem = sig & ((np.int64(1) << shift) - 1)
        half = np.int64(1) << (shift - 1)
        cmp = 1 if rem > half else (0 if rem == half else -1)
    else:  # the whole significand lies below half a quantum
        n = np.int64(0)
        rem = sig
        cmp = -1
    lo = ((e_q - emin) << man_bits) + n
    if pow2:
        lo -= np.int64(1) << man_bits  # no subnormals: exponent field 0 is a normal binade
    if rem == 0:
        up = False
    elif mode in (RNE, TIES_AWAY):
        if pow2:  # ties up; in the lowest binade anything above it goes up (ml_dtypes, torch)
            up = cmp >= 0 if e_x > emin else True
        elif mode == RNE:
            up = cmp > 0 or (cmp == 0 and (lo & 1) == 1)
        else:
            up = cmp >= 0
    elif mode == TOWARD_ZERO:
        up = False
    elif mode == DOWN:
        up = neg
    elif mode == UP:
        up = not neg
    else:  # stochastic: up exactly when u < rem / 2**shift, compared without rounding
        up = math.ldexp(u, shift) < rem
    code = lo + 1 if up else lo
    if code > max_code:
        return _overflow(neg, mode, sat, max_code, sign_bit, p[4], p[5])
    if code == 0 and not pow2:
        return p[6] if neg else code
    return code | sign_bit if neg else code


@njit(cache=True, parallel=True)
def encode_kernel(
    src, out, draws, sm, se, sbias, man_bits, emin, emax, pow2, max_code, sign_bit, mode, sat, p,
    fast,
):  # fmt: skip
    """out[i] = code of the float whose bits are src[i] (int32 or int64 view of the input)."""
    ovf = (
        _overflow(False, mode, sat, max_code, sign_bit, p[4], p[5]),
        _overflow(True, mode, sat, max_code, sign_bit, p[4], p[5]),
    )
    for i in prange(src.size):
        u = draws[i] if mode == STOCHASTIC else 0.0
        out[i] = _encode_one(
            np.int64(src[i]), u, sm, se, sbias, man_bits, emin, emax, pow2, max_code,
            sign_bit, mode, sat, p, fast, ovf,
        )  # fmt: skip


def fast_path_bounds(sm, se, sbias, man_bits, emin, bias, pow2):
    """`fast` for encode_kernel, for a source with `sm` mantissa bits, `se` exponent bits."""
    if pow2 or man_bits >= sm:
        return tuple(np.int64(0) for _ in range(4))
    fields = (1 << sm, (sbias - bias) << man_bits, (2**se - 1) << sm, emin - man_bits + sbias + sm)
    return tuple(np.int64(f) for f in fields)


@njit(cache=True, parallel=True)
def decode_kernel(codes, out, bits, exp_bits, man_bits, bias, emin, conv, signed):
    """out[i] = float64 value of codes[i]."""
    mag_mask = (np.int64(1) << (bits - 1 if signed else bits)) - 1
    man_mask = (np.int64(1) << man_bits) - 1
    exp_all = (np.int64(1) << exp_bits) - 1
    for i in prange(codes.size):
        c = np.int64(codes[i])
        neg = signed and ((c >> (bits - 1)) & 1) == 1
        mag = c & mag_mask
        ef = mag >> man_bits
        m = mag & man_mask
        sign = -1.0 if neg else 1.0
        if (
            (conv == IEEE and ef == exp_all and m != 0)
            or ((conv in (FN, FNU)) and mag == mag_mask)
            or (conv == FNUZ and neg and mag == 0)
        ):
            out[i] = math.copysign(np.nan, sign)
        elif conv == IEEE and ef == exp_all:
            out[i] = sign * np.inf
        elif ef == 0 and conv != FNU:
            out[i] = sign * math.ldexp(float(m), emin - man_bits)
        else:
            out[i] = sign * math.ldexp(float(m + (np.int64(1) << man_bits)), ef - bias - man_bits)
