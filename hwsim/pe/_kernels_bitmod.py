"""Numba kernel of BitMoD's float group accumulator where no accumulation can leave the exact
float64 range: the e6m15 (or any `man_bits`) rounding by Veltkamp splitting.

hwsim.pe.bitmod_fast proves, per activation row and group, that every accumulator input
x = acc + s is exact in float64, lies on the target's subnormal grid or above, and cannot
overflow. Under that proof RNE(x) to `man_bits` fraction bits is Veltkamp's split
hi = (x * C) + (x - x * C) with C = 2**(52 - man_bits) + 1: a rounding to nearest, ties to even,
on man_bits + 1 significant bits (Boldo, "Pitfalls of a full floating-point proof", IJCAR
2006; tests check every tie pattern). Three dependent float operations and no branch, so
independent activation rows fill the vector lanes. The same proof makes every lane product
(an activation times a signed power of two) and every partial sum of the adder tree exact,
so the tree is summed by fused multiply-adds (one instruction per lane instead of two; any
order gives the same exact sum). Everything else (the fp32 group register with its
saturation) is the operation hwsim.pe._kernels_serial.bitmod_float_gemm performs, in the
same order. No fastmath: LLVM must not simplify the split away.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from hwsim.pe._kernels_serial import FP32_MAX, acc_add_rne, decode_terms


@intrinsic
def fma(typingctx, x, y, z):
    """x * y + z with one rounding (LLVM's llvm.fma)."""
    sig = types.float64(types.float64, types.float64, types.float64)
    return sig, lambda context, builder, signature, args: builder.fma(*args)


ROW_BLOCK = 32  # activation rows in flight per weight row: independent rounding chains


@njit(cache=True, parallel=True)
def bitmod_split_gemm(a_t, codes, fid, coef_tab, scode, gs, dp, man_bits):
    """Same (out [M, N] fp32, overflow events [M, N]) as bitmod_float_gemm on rows whose
    accumulations are proven in range (the caller's proof; the group accumulator then never
    saturates). a_t [K, M]: the lane-aligned activations times 2**-frac_bits, transposed so
    that a lane reads ROW_BLOCK consecutive rows, M a multiple of ROW_BLOCK (zero rows pad).
    Weight rows go two at a time (each activation load serves both), parallel over the
    pairs: each output is computed by one thread, so results do not depend on the threads."""
    K, M = a_t.shape
    N = codes.shape[0]
    T = coef_tab.shape[2]
    split = float(2 ** (52 - man_bits) + 1)
    flat_tab = coef_tab.reshape(-1)
    out = np.zeros((M, N), np.float32)
    ovf = np.zeros((M, N), np.int64)
    cpg = gs // dp
    for b in prange((N + 1) // 2):
        n0, n1 = 2 * b, min(2 * b + 1, N - 1)  # an odd N: the last row twice, same values
        c0 = np.empty((K // dp, T, dp), np.float64)
        c1 = np.empty((K // dp, T, dp), np.float64)
        decode_terms(c0, codes[n0], fid[n0], flat_tab, coef_tab.shape[1], gs)
        decode_terms(c1, codes[n1], fid[n1], flat_tab, coef_tab.shape[1], gs)
        acc0 = np.empty(ROW_BLOCK, np.float64)
        acc1 = np.empty(ROW_BLOCK, np.float64)
        s = np.empty(ROW_BLOCK, np.float64)
        tot0 = np.empty(ROW_BLOCK, np.float64)
        tot1 = np.empty(ROW_BLOCK, np.float64)
        ev0 = np.empty(ROW_BLOCK, np.int64)
        ev1 = np.empty(ROW_BLOCK, np.int64)
        for m0 in range(0, M, ROW_BLOCK):
            tot0[:] = 0.0
            tot1[:] = 0.0
            ev0[:] = 0
            ev1[:] = 0
            for g in range(K // gs):
                acc0[:] = 0.0
                acc1[:] = 0.0
                for c in range(g * cpg, (g + 1) * cpg):
                    if dp != 4:
                        _chunk(a_t, c0, c, m0, acc0, s, split)
                        _chunk(a_t, c1, c, m0, acc1, s, split)
                        continue
                    # 4 lanes (BitMoD's): the adder tree's exact sum s by fused multiply-adds
                    # for both weight rows, then acc = RNE(acc + s) by the split (an exact
                    # sum, then three operations, no branch)
                    k0 = c * 4
                    r0 = a_t[k0, m0 : m0 + ROW_BLOCK]
                    r1 = a_t[k0 + 1, m0 : m0 + ROW_BLOCK]
                    r2 = a_t[k0 + 2, m0 : m0 + ROW_BLOCK]
                    r3 = a_t[k0 + 3, m0 : m0 + ROW_BLOCK]
                    for t in range(T):
                        w0, w1, w2, w3 = c0[c, t, 0], c0[c, t, 1], c0[c, t, 2], c0[c, t, 3]
                        v0, v1, v2, v3 = c1[c, t, 0], c1[c, t, 1], c1[c, t, 2], c1[c, t, 3]
                        for j in range(ROW_BLOCK):
                            x = acc0[j] + fma(r3[j], w3, fma(r2[j], w2, fma(r1[j], w1, r0[j] * w0)))
                            y = acc1[j] + fma(r3[j], v3, fma(r2[j], v2, fma(r1[j], v1, r0[j] * v0)))
                            hx = x * split
                            hy = y * split
                            acc0[j] = hx + (x - hx)
                            acc1[j] = hy + (y - hy)
                _group_end(acc0, scode[n0, g], tot0, ev0)
                _group_end(acc1, scode[n1, g], tot1, ev1)
            for j in range(ROW_BLOCK):
                out[m0 + j, n0], ovf[m0 + j, n0] = np.float32(tot0[j]), ev0[j]
                out[m0 + j, n1], ovf[m0 + j, n1] = np.float32(tot1[j]), ev1[j]
    return out, ovf


@njit(cache=True, inline="always")
def _group_end(acc, sg, tot, ev):
    """A group's sum times its integer scale (exact: significand + scale bits <= 53) into
    the fp32 register, one RNE rounding, saturating and counted."""
    for j in range(ROW_BLOCK):
        tot[j], o = acc_add_rne(tot[j], acc[j] * sg, 23, -126, FP32_MAX)
        ev[j] += o


@njit(cache=True)
def _chunk(a_t, coef, c, m0, acc, s, split):
    """Every term cycle of chunk c for ROW_BLOCK rows and one weight row, any number of lanes:
    the 4-lane loop of bitmod_split_gemm with the adder tree's sums in s."""
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
