"""Numba inner loops of the MX / BFP block formats (hwsim.dtypes.block).

Only loops live here; their pure-Python twins are `scale_exponent_scalar` and
`BlockFormat.encode_scalar` in hwsim.dtypes.block, and the tests hold them equal.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

SCALE_NAN = 0xFF  # the E8M0 scale code of a block holding NaN or inf


@njit(cache=True)
def scale_exponent(amax, rule, emax, sig, inv_max32):
    """Shared exponent k of a block with largest magnitude amax; rule: the index of the
    scale rule in hwsim.dtypes.block.SCALE_RULES. Twin of block.scale_exponent_scalar."""
    if amax == 0.0:
        return -127
    if rule == 3:  # rceil, in float32
        d = np.float32(np.float32(amax) * inv_max32)
        if d == 0.0:
            return -127
        if math.isinf(d):
            return 127
        m, e = math.frexp(np.float64(d))
        k = e - 1 if m == 0.5 else e
        return max(-127, min(127, k))
    m, e = math.frexp(amax)
    if rule == 0:
        k = e - 1
    elif rule == 1:
        k = e - 1 if m == 0.5 else e
    else:
        k = e if np.rint(m * 2.0**sig) == 2.0**sig else e - 1
    return max(-127, min(127, k - emax))


@njit(cache=True)
def encode_kernel(x, out, block, rule, emax, sig, inv_max32, is_int, exp_bits, man_bits,
                   bias, max_value, max_bits, max_int, mask):  # fmt: skip
    """Fused MX/BFP encode of a flat array (length a multiple of block) into `out` rows of
    [scale_code, e_0 .. e_{B-1}]. Float elements are rounded on the float64 bit pattern:
    keep man_bits of the 52-bit mantissa, round half to even on the dropped bits (a carry
    into the exponent field is the next binade), subnormals count units of the smallest one.
    """
    buf = np.empty(block, dtype=np.float64)
    ibuf = buf.view(np.int64)
    shift = 52 - man_bits
    half = np.int64(1) << (shift - 1)
    low = (np.int64(1) << shift) - 1
    min_normal_bits = np.int64(1023 + 1 - bias) << 52  # the bits of 2^(1 - bias)
    sub_scale = 2.0 ** (man_bits + bias - 1)
    int_scale = 2.0**man_bits
    for b in range(x.shape[0] // block):
        base = b * block
        amax = 0.0
        finite = True
        for i in range(block):
            v = np.float64(x[base + i])
            if not math.isfinite(v):
                finite = False
            elif abs(v) > amax:
                amax = abs(v)
        row = b * (block + 1)
        if not finite:
            out[row] = SCALE_NAN
            for i in range(block):
                out[row + 1 + i] = 0
            continue
        k = scale_exponent(amax, rule, emax, sig, inv_max32)
        out[row] = k + 127
        inv_x = 2.0 ** (-k)
        for i in range(block):
            buf[i] = np.float64(x[base + i]) * inv_x  # exact: a power-of-two scaling
        for i in range(block):
            if is_int:
                t = min(max(buf[i] * int_scale, -max_int), max_int)
                out[row + 1 + i] = np.int64(np.rint(t)) & mask
                continue
            bits = ibuf[i]
            sign = (bits >> 63) & 1
            a = min(bits & 0x7FFFFFFFFFFFFFFF, max_bits)  # saturate on the magnitude
            if a < min_normal_bits:
                mag = np.int64(np.rint(abs(buf[i]) * sub_scale))
            else:
                mant = a & 0xFFFFFFFFFFFFF
                mag = (((a >> 52) - 1023 + bias) << man_bits) | (mant >> shift)
                rem = mant & low
                if rem > half or (rem == half and (mag & 1) == 1):
                    mag += 1
            out[row + 1 + i] = (sign << (exp_bits + man_bits)) | mag
