"""Numba kernel of BitMoD's float group accumulator where no accumulation can leave the exact
float64 range: the e6m15 (or any `man_bits`) rounding by Veltkamp splitting.

hwsim.pe.bitmod_fast proves, per activation row and group, that every accumulator input
x = acc + s is exact in float64, lies on the target's subnormal grid or above, and cannot
overflow. Under that proof RNE(x) to `man_bits` fraction bits is Veltkamp's split
hi = (x * C) + (x - x * C) with C = 2**(52 - man_bits) + 1: a rounding to nearest, ties to even,
on man_bits + 1 significant bits (Boldo, "Pitfalls of a full floating-point proof", IJCAR
2006; tests check every tie pattern). Three dependent float operations and no branch, so
independent activation rows fill the vector lanes. Everything else (the lane products and
their adder-tree sum in lane order, the fp32 group register with its saturation) is the
operation hwsim.pe._kernels_serial.bitmod_float_gemm performs, in the same order. No
fastmath: LLVM must not simplify the split away.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim.pe._kernels_serial import FP32_MAX, _decode_terms, acc_add_rne

ROW_BLOCK = 32  # activation rows in flight per weight row: independent rounding chains


@njit(cache=True, parallel=True)
def bitmod_split_gemm(a_t, codes, fid, coef_tab, scode, gs, dp, man_bits):
    """Same (out [M, N] fp32, overflow events [M, N]) as bitmod_float_gemm on rows whose
    accumulations are proven in range (the caller's proof; the group accumulator then never
    saturates). a_t [K, M]: the lane-aligned activations times 2**-frac_bits, transposed so
    that a lane reads ROW_BLOCK consecutive rows, M a multiple of ROW_BLOCK (zero rows pad).
    Parallel over weight rows: each output is computed by one thread, so results do not
    depend on the thread count."""
    K, M = a_t.shape
    N = codes.shape[0]
    T = coef_tab.shape[2]
    split = float(2 ** (52 - man_bits) + 1)
    flat_tab = coef_tab.reshape(-1)
    out = np.zeros((M, N), np.float32)
    ovf = np.zeros((M, N), np.int64)
    cpg = gs // dp
    for n in prange(N):
        coef = np.empty((K // dp, T, dp), np.float64)
        _decode_terms(coef, codes[n], fid[n], flat_tab, coef_tab.shape[1], gs)
        acc = np.empty(ROW_BLOCK, np.float64)
        s = np.empty(ROW_BLOCK, np.float64)
        tot = np.zeros(ROW_BLOCK, np.float64)
        ev = np.zeros(ROW_BLOCK, np.int64)
        for m0 in range(0, M, ROW_BLOCK):
            tot[:] = 0.0
            ev[:] = 0
            for g in range(K // gs):
                acc[:] = 0.0
                for c in range(g * cpg, (g + 1) * cpg):
                    if dp == 4:
                        _chunk4(a_t, coef, c, m0, acc, split)
                    else:
                        _chunk(a_t, coef, c, m0, acc, s, split)
                sg = scode[n, g]  # acc * sg is exact: significand + scale bits <= 53
                for j in range(ROW_BLOCK):
                    tot[j], o = acc_add_rne(tot[j], acc[j] * sg, 23, -126, FP32_MAX)
                    ev[j] += o
            for j in range(ROW_BLOCK):
                out[m0 + j, n] = np.float32(tot[j])
                ovf[m0 + j, n] = ev[j]
    return out, ovf


@njit(cache=True, inline="always")
def _chunk4(a_t, coef, c, m0, acc, split):
    """Every term cycle of chunk c (4 lanes) for ROW_BLOCK rows: the adder tree in lane order
    ((p0 + p1) + p2) + p3, then acc = RNE(acc + s) by the split (exact sum, no branch)."""
    k0 = c * 4
    r0 = a_t[k0, m0 : m0 + ROW_BLOCK]
    r1 = a_t[k0 + 1, m0 : m0 + ROW_BLOCK]
    r2 = a_t[k0 + 2, m0 : m0 + ROW_BLOCK]
    r3 = a_t[k0 + 3, m0 : m0 + ROW_BLOCK]
    for t in range(coef.shape[1]):
        w0, w1, w2, w3 = coef[c, t, 0], coef[c, t, 1], coef[c, t, 2], coef[c, t, 3]
        for j in range(ROW_BLOCK):
            x = acc[j] + (((r0[j] * w0 + r1[j] * w1) + r2[j] * w2) + r3[j] * w3)
            hi = x * split
            acc[j] = hi + (x - hi)


@njit(cache=True, inline="always")
def _chunk(a_t, coef, c, m0, acc, s, split):
    """_chunk4 for any number of lanes (s: the adder tree's sums, scratch)."""
    dp = coef.shape[2]
    k0 = c * dp
    for t in range(coef.shape[1]):
        s[:] = 0.0
        for lane in range(dp):
            w = coef[c, t, lane]
            row = a_t[k0 + lane]
            for j in range(ROW_BLOCK):
                s[j] += row[m0 + j] * w
        for j in range(ROW_BLOCK):
            x = acc[j] + s[j]
            hi = x * split
            acc[j] = hi + (x - hi)
