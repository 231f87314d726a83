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

Also here: `align_chunks`, the activations' per-chunk exponent match that every BitMoD run
starts with (hwsim.pe.bitmod_lanes.align_lanes).
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
# weight-row pairs per parallel task: each block of activation rows (K x ROW_BLOCK doubles)
# is read from L2 once for 8 pairs, not from L3 once per pair (which bounds 2 threads)
PAIR_BLOCK = 8


@njit(cache=True, parallel=True)
def bitmod_split_gemm(a_blk, codes, fid, coef_tab, scode, gs, dp, man_bits):
    """Same (out [M, N] fp32, overflow events [M, N]) as bitmod_float_gemm on rows whose
    accumulations are proven in range (the caller's proof; the group accumulator then never
    saturates). a_blk [M / ROW_BLOCK, K, ROW_BLOCK]: the lane-aligned activations times
    2**-frac_bits, a block of ROW_BLOCK rows transposed so that a lane reads them as one
    contiguous run (zero rows pad the last block). Weight rows go two at a time (each
    activation load serves both), PAIR_BLOCK pairs per task, parallel over the tasks: each
    output is computed by one thread, so results do not depend on the threads."""
    n_blk, K, _ = a_blk.shape
    N = codes.shape[0]
    T = coef_tab.shape[2]
    split = float(2 ** (52 - man_bits) + 1)
    flat_tab = coef_tab.reshape(-1)
    out = np.zeros((n_blk * ROW_BLOCK, N), np.float32)
    ovf = np.zeros((n_blk * ROW_BLOCK, N), np.int64)
    cpg = gs // dp
    n_pairs = (N + 1) // 2  # an odd N: the last row twice, same values
    for task in prange(-(-n_pairs // PAIR_BLOCK)):
        p_lo = task * PAIR_BLOCK
        p_hi = min(n_pairs, p_lo + PAIR_BLOCK)
        coef = np.empty((2 * PAIR_BLOCK, K // dp, T, dp), np.float64)
        for p in range(p_lo, p_hi):
            for i in range(2):
                n = min(2 * p + i, N - 1)
                decode_terms(coef[2 * (p - p_lo) + i], codes[n], fid[n], flat_tab,
                             coef_tab.shape[1], gs)  # fmt: skip
        acc0 = np.empty(ROW_BLOCK, np.float64)
        acc1 = np.empty(ROW_BLOCK, np.float64)
        s = np.empty(ROW_BLOCK, np.float64)
        tot0 = np.empty(ROW_BLOCK, np.float64)
        tot1 = np.empty(ROW_BLOCK, np.float64)
        ev0 = np.empty(ROW_BLOCK, np.int64)
        ev1 = np.empty(ROW_BLOCK, np.int64)
        for mb in range(n_blk):
            ab = a_blk[mb]  # one view per block (a view per chunk costs more than the chunk)
            for p in range(p_lo, p_hi):
                n0, n1 = 2 * p, min(2 * p + 1, N - 1)
                c0, c1 = coef[2 * (p - p_lo)], coef[2 * (p - p_lo) + 1]
                tot0[:] = 0.0
                tot1[:] = 0.0
                ev0[:] = 0
                ev1[:] = 0
                for g in range(K // gs):
                    acc0[:] = 0.0
                    acc1[:] = 0.0
                    for c in range(g * cpg, (g + 1) * cpg):
                        if dp != 4:
                            _chunk(ab, c0, c, acc0, s, split)
                            _chunk(ab, c1, c, acc1, s, split)
                        elif T == 2:  # BitMoD's FP4 and FP3 terms: both cycles in one pass
                            _two_cycles(ab, c0, c1, c, acc0, acc1, split)
                        else:
                            for t in range(T):
                                _cycle(ab, c0, c1, c, t, acc0, acc1, split)
                    _group_end(acc0, scode[n0, g], tot0, ev0, s)
                    _group_end(acc1, scode[n1, g], tot1, ev1, s)
                for j in range(ROW_BLOCK):
                    m = mb * ROW_BLOCK + j
                    out[m, n0], ovf[m, n0] = np.float32(tot0[j]), ev0[j]
                    out[m, n1], ovf[m, n1] = np.float32(tot1[j]), ev1[j]
    return out, ovf


@njit(cache=True, inline="always")
def _term(acc, a0, a1, a2, a3, w0, w1, w2, w3, split):
    """RNE(acc + the adder tree's sum): the exact sum by fused multiply-adds, then the split
    (an exact sum, then three operations, no branch)."""
    x = acc + fma(a3, w3, fma(a2, w2, fma(a1, w1, a0 * w0)))
    h = x * split
    return h + (x - h)


@njit(cache=True, inline="always")
def _cycle(ab, c0, c1, c, t, acc0, acc1, split):
    """Term cycle t of 4-lane chunk c for both weight rows."""
    k0 = c * 4
    w0, w1, w2, w3 = c0[c, t, 0], c0[c, t, 1], c0[c, t, 2], c0[c, t, 3]
    v0, v1, v2, v3 = c1[c, t, 0], c1[c, t, 1], c1[c, t, 2], c1[c, t, 3]
    for j in range(ROW_BLOCK):
        a0, a1, a2, a3 = ab[k0, j], ab[k0 + 1, j], ab[k0 + 2, j], ab[k0 + 3, j]
        acc0[j] = _term(acc0[j], a0, a1, a2, a3, w0, w1, w2, w3, split)
        acc1[j] = _term(acc1[j], a0, a1, a2, a3, v0, v1, v2, v3, split)


@njit(cache=True, inline="always")
def _two_cycles(ab, c0, c1, c, acc0, acc1, split):
    """_cycle for t = 0 and 1 in one pass over the rows (the accumulators stay in registers
    between the two roundings, and the activations are loaded once)."""
    k0 = c * 4
    w0, w1, w2, w3 = c0[c, 0, 0], c0[c, 0, 1], c0[c, 0, 2], c0[c, 0, 3]
    v0, v1, v2, v3 = c1[c, 0, 0], c1[c, 0, 1], c1[c, 0, 2], c1[c, 0, 3]
    u0, u1, u2, u3 = c0[c, 1, 0], c0[c, 1, 1], c0[c, 1, 2], c0[c, 1, 3]
    z0, z1, z2, z3 = c1[c, 1, 0], c1[c, 1, 1], c1[c, 1, 2], c1[c, 1, 3]
    for j in range(ROW_BLOCK):
        a0, a1, a2, a3 = ab[k0, j], ab[k0 + 1, j], ab[k0 + 2, j], ab[k0 + 3, j]
        x = _term(acc0[j], a0, a1, a2, a3, w0, w1, w2, w3, split)
        y = _term(acc1[j], a0, a1, a2, a3, v0, v1, v2, v3, split)
        acc0[j] = _term(x, a0, a1, a2, a3, u0, u1, u2, u3, split)
        acc1[j] = _term(y, a0, a1, a2, a3, z0, z1, z2, z3, split)


@njit(cache=True, inline="always")
def _group_end(acc, sg, tot, ev, fresh):
    """A group's sum times its integer scale (exact: significand + scale bits <= 53) into
    the fp32 register, one RNE rounding, saturating and counted. Where tot + v is exact in
    float64 (TwoSum's error is zero) and within fp32's range, that rounding is the float32
    conversion: a vector pass (results in the scratch row `fresh`, NaN where it does not
    apply); the other rows take acc_add_rne."""
    for j in range(ROW_BLOCK):
        v = acc[j] * sg
        x = tot[j] + v
        bb = x - tot[j]
        err = (tot[j] - (x - bb)) + (v - bb)
        r = np.float64(np.float32(x))
        fresh[j] = r if err == 0.0 and abs(r) <= FP32_MAX else np.nan
    for j in range(ROW_BLOCK):
        if fresh[j] == fresh[j]:
            tot[j] = fresh[j]
        else:
            tot[j], o = acc_add_rne(tot[j], acc[j] * sg, 23, -126, FP32_MAX)
            ev[j] += o


@njit(cache=True)
def _chunk(ab, coef, c, acc, s, split):
    """Every term cycle of chunk c for ROW_BLOCK rows and one weight row, any number of lanes:
    _cycle with the adder tree's sums in s."""
    dp = coef.shape[2]
    k0 = c * dp
    for t in range(coef.shape[1]):
        s[:] = 0.0
        for lane in range(dp):
            w = coef[c, t, lane]
            for j in range(ROW_BLOCK):
                s[j] += ab[k0 + lane, j] * w
        for j in range(ROW_BLOCK):
            x = acc[j] + s[j]
            hi = x * split
            acc[j] = hi + (x - hi)


_POW2 = np.ldexp(1.0, np.arange(-128, 129))  # 2**n at _POW2[n + 128]: no ldexp per chunk


@njit(cache=True)
def align_chunks(bits, a, dp, guard, far_below, out, lsb):
    """hwsim.pe.bitmod_lanes.align_lanes with guard bits: per chunk of dp lanes of FP16 row
    bits [M, K] (values a, float64), the largest lane exponent E (the FP16 exponent field,
    subnormals as 1, minus 25); out = each value truncated toward zero to a multiple of
    2**(E - guard) (zeros keep their sign), lsb[m, c] = E - guard (-far_below: an all-zero
    chunk, no constraint). E - guard lies in [-24 - guard, 15 - guard]: exact powers of two."""
    M, K = a.shape
    up = np.empty(K // dp)
    down = np.empty(K // dp)
    for m in range(M):
        for c in range(K // dp):
            e_max = far_below
            for lane in range(c * dp, (c + 1) * dp):
                b = np.int64(bits[m, lane])
                if b & 0x7FFF:
                    e_max = max(e_max, max((b >> 10) & 0x1F, 1) - 25)
            zero = e_max == far_below  # every lane +-0: scaled by 0, they stay +-0
            lsb[m, c] = -far_below if zero else e_max - guard
            up[c] = 0.0 if zero else _POW2[guard - e_max + 128]
            down[c] = 1.0 if zero else _POW2[e_max - guard + 128]
        for k in range(K):
            x = a[m, k]
            out[m, k] = np.copysign(np.floor(np.abs(x) * up[k // dp]) * down[k // dp], x)
