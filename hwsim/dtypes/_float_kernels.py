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
def _bit_round(w, sm, se, man_bits, max_code, sign_bit, zero_neg, fast, m, ovf):
    """Code of a normal finite input `w` (bits, int64, sign-extended), deterministic modes.

    The bit pattern is rounded at the format's quantum with masks (all ones or zero), no
    branches, so the loop vectorises and inputs of mixed ranges cost the same. In the
    format's normal binades the code is the input's bits shifted and rebiased (a carry
    moves into the exponent by itself); below them a subnormal's code is the significand
    rounded at the subnormal quantum (a shift past 62 rounds like 62: significands are
    < 2**53). Past the largest binade the code exceeds max_code: overflow.
    fast = (normal, rebias, finite, k): see fast_path_bounds; m = mode masks (see
    mode_masks); ovf = (+code, -code) on overflow.
    """
    neg_mask = w >> 63
    a = w & ((np.int64(1) << (sm + se)) - 1)
    normal_shift = sm - man_bits
    sub_shift = fast[3] - (a >> sm)
    sub_mask = -np.int64(sub_shift > normal_shift)
    shift = (min(sub_shift, 62) & sub_mask) | (normal_shift & ~sub_mask)
    significand = (a & ((np.int64(1) << sm) - 1)) | (np.int64(1) << sm)
    base = (significand & sub_mask) | (a & ~sub_mask)
    rebias = fast[1] & ~sub_mask
    ones = (np.int64(1) << shift) - 1
    parity = ((base >> shift) - rebias) & 1  # of the code below: a tie goes to the even one
    add = (
        ((ones >> 1) & m[0])  # nearest
        + (parity & m[1])  # ties to even
        + (1 & m[2])  # ties away
        + (ones & ((~neg_mask & m[3]) | (neg_mask & m[4])))  # up / down
    )
    code = ((base + add) >> shift) - rebias
    zero_mask = -np.int64(code == 0)
    over_mask = -np.int64(code > max_code)
    result = ((code | (sign_bit & neg_mask)) & ~zero_mask) | (zero_neg & neg_mask & zero_mask)
    overflow = (ovf[1] & neg_mask) | (ovf[0] & ~neg_mask)
    return (result & ~over_mask) | (overflow & over_mask)


def mode_masks(mode):
    """(nearest, ties-to-even, ties-away, up, down) as all-ones / zero int64 masks."""
    flags = (mode in (RNE, TIES_AWAY), mode == RNE, mode == TIES_AWAY, mode == UP, mode == DOWN)
    return tuple(np.int64(-1 if f else 0) for f in flags)


@njit(cache=True, inline="always")
def _encode_general(
    w, u, sm, se, sbias, man_bits, emin, emax, pow2, max_code, sign_bit, mode, sat, p
):
    """Code of any input `w` (bits, int64, sign-extended), any mode; u = stochastic draw.

    p = (nan_pos, nan_neg, inf_pos, inf_neg, ovf_pos, ovf_neg, zero_neg).
    """
    neg = w < 0
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
    elif mode == RNE:  # for pow2 formats lo is the exponent code: a tie goes to the even one
        up = cmp > 0 or (cmp == 0 and (lo & 1) == 1)
    elif mode == TIES_AWAY:
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
    fast, m,
):  # fmt: skip
    """out[i] = code of the float whose bits are src[i] (int32 or int64 view of the input).

    Deterministic modes take the branch-free bit path for normal finite inputs (first
    loop); the rest (zeros, subnormal inputs, inf, NaN, stochastic rounding, fnu formats)
    take the general path (second loop).
    """
    ovf = (
        _overflow(False, mode, sat, max_code, sign_bit, p[4], p[5]),
        _overflow(True, mode, sat, max_code, sign_bit, p[4], p[5]),
    )
    bit_path = mode != STOCHASTIC and fast[2] != 0
    abs_mask = (np.int64(1) << (sm + se)) - 1
    if bit_path:
        for i in prange(src.size):
            out[i] = _bit_round(
                np.int64(src[i]), sm, se, man_bits, max_code, sign_bit, p[6], fast, m, ovf
            )
    for i in prange(src.size):
        w = np.int64(src[i])
        a = w & abs_mask
        if not (bit_path and fast[0] <= a < fast[2]):
            u = draws[i] if mode == STOCHASTIC else 0.0
            out[i] = _encode_general(
                w, u, sm, se, sbias, man_bits, emin, emax, pow2, max_code, sign_bit, mode,
                sat, p,
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
