"""Numba inner loops of the FPGA fixed-point PE (hwsim.pe.fixed_point): ap_fixed and DSP48.

Only loops live here; their pure-Python twins are in hwsim.pe.fixed_point, and the tests
hold them equal. Values are integers v meaning v * 2**-F; `fixed_quantize` drops fraction
bits with an ap_fixed quantization mode, `fixed_overflow` brings a value into a width with
an ap_fixed overflow mode, and the GEMMs accumulate a[i, k] * w[j, k] over k (a [M, K],
w [N, K]) the way HLS synthesises `acc += a * w`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Quantization modes (Vitis HLS UG1399, ap_fixed: floor first, then add the mode's increment)
Q_TRN, Q_TRN_ZERO, Q_RND, Q_RND_ZERO, Q_RND_MIN_INF, Q_RND_INF, Q_RND_CONV = range(7)
# Overflow modes
O_WRAP, O_SAT, O_SAT_ZERO, O_SAT_SYM = range(4)


@njit(cache=True)
def fixed_quantize(v, d, qmode):
    """Integer v (value v * 2**-F) dropped by d >= 0 fraction bits with ap_fixed mode qmode."""
    if d <= 0:
        return v << (-d)
    fl = v >> d
    rem = v - (fl << d)
    qb = (rem >> (d - 1)) & 1
    r = (rem & ((1 << (d - 1)) - 1)) != 0
    s = v < 0
    lsb = fl & 1
    if qmode == Q_TRN:
        up = False
    elif qmode == Q_TRN_ZERO:
        up = s and (qb == 1 or r)
    elif qmode == Q_RND:
        up = qb == 1
    elif qmode == Q_RND_ZERO:
        up = qb == 1 and (s or r)
    elif qmode == Q_RND_MIN_INF:
        up = qb == 1 and r
    elif qmode == Q_RND_INF:
        up = qb == 1 and ((not s) or r)
    else:
        up = qb == 1 and (lsb == 1 or r)
    return fl + 1 if up else fl


@njit(cache=True)
def fixed_overflow(v, width, signed, omode):
    """Integer v brought into a width-bit (un)signed range; (value, overflowed)."""
    if signed:
        lo = -(1 << (width - 1))
        hi = (1 << (width - 1)) - 1
    else:
        lo = 0
        hi = (1 << width) - 1
    if omode == O_SAT_SYM and signed and v == lo:
        return -hi, 0
    if lo <= v <= hi:
        return v, 0
    if omode == O_WRAP:
        return ((v - lo) % (1 << width)) + lo, 1
    if omode == O_SAT:
        return (hi if v > hi else lo), 1
    if omode == O_SAT_ZERO:
        return 0, 1
    # O_SAT_SYM: symmetric range [-hi, hi]
    return (hi if v > hi else (-hi if signed else lo)), 1


@njit(cache=True)
def fixed_gemm(a, w, prod_frac, acc_frac, acc_width, acc_signed, qmode, omode):
    """HLS `acc += a*w` with acc an ap_fixed: a, w integer mantissas whose product has
    prod_frac fraction bits; every addition is exact at max(acc_frac, prod_frac) bits, then
    quantized to acc_frac bits (qmode) and brought into acc_width bits (omode).
    """
    M, K = a.shape
    N = w.shape[0]
    f = max(acc_frac, prod_frac)
    out = np.empty((M, N), np.int64)
    ovf = np.zeros((M, N), np.int64)
    for i in range(M):
        for j in range(N):
            acc = 0
            events = 0
            for k in range(K):
                z = (acc << (f - acc_frac)) + ((a[i, k] * w[j, k]) << (f - prod_frac))
                z = fixed_quantize(z, f - acc_frac, qmode)
                acc, o = fixed_overflow(z, acc_width, acc_signed, omode)
                events += o
            out[i, j] = acc
            ovf[i, j] = events
    return out, ovf


@njit(cache=True)
def dsp_packed_gemm(a, w, chain, prod_frac, acc_frac, acc_width, acc_signed, qmode, omode):
    """Two INT8 multiplies per DSP48E2 (Xilinx WP486): P = a * (w1 * 2**18 + w2).

    For activation row i and weight rows (2m, 2m+1) the 27-bit pre-adder forms
    w1 * 2**18 + w2 (w2 = 0 past the last row), the 27x18 multiplier forms a * packed and the
    48-bit P register accumulates `chain` consecutive products. At the end of a chain the two
    fields are unpacked: lo = sign-extended P[17:0], hi = (P - lo) >> 18 (the sign correction
    for the borrow a negative low field takes from the high one), and each field sum is added
    into its ap_fixed accumulator (qmode/omode as fixed_gemm). Returns (out [M, N],
    accumulator overflow events [M, N], chains whose true low-field sum left [-2**17, 2**17)
    and so corrupted both fields, as the hardware would [M, ceil(N/2)]).
    """
    M, K = a.shape
    N = w.shape[0]
    pairs = (N + 1) // 2
    f = max(acc_frac, prod_frac)
    out = np.zeros((M, N), np.int64)
    ovf = np.zeros((M, N), np.int64)
    bad = np.zeros((M, pairs), np.int64)
    mask48 = (1 << 48) - 1
    for i in range(M):
        for m in range(pairs):
            j1 = 2 * m
            j2 = 2 * m + 1
            acc1 = 0
            acc2 = 0
            for k0 in range(0, K, chain):
                p = 0
                true_lo = 0
                for k in range(k0, min(K, k0 + chain)):
                    w2 = w[j2, k] if j2 < N else 0
                    packed = (w[j1, k] << 18) + w2
                    p = (p + a[i, k] * packed) & mask48  # 48-bit P register
                    true_lo += a[i, k] * w2
                if p >= (1 << 47):
                    p -= 1 << 48
                lo = p & ((1 << 18) - 1)
                if lo >= (1 << 17):
                    lo -= 1 << 18
                hi = (p - lo) >> 18
                if true_lo < -(1 << 17) or true_lo >= (1 << 17):
                    bad[i, m] += 1
                z = (acc1 << (f - acc_frac)) + (hi << (f - prod_frac))
                acc1, o = fixed_overflow(
                    fixed_quantize(z, f - acc_frac, qmode), acc_width, acc_signed, omode
                )
                ovf[i, j1] += o
                if j2 < N:
                    z = (acc2 << (f - acc_frac)) + (lo << (f - prod_frac))
                    acc2, o = fixed_overflow(
                        fixed_quantize(z, f - acc_frac, qmode), acc_width, acc_signed, omode
                    )
                    ovf[i, j2] += o
            out[i, j1] = acc1
            if j2 < N:
                out[i, j2] = acc2
    return out, ovf, bad
