"""BitMoD float-mode GEMM: the proven-in-range rows through the split kernel, the rest through
the general kernel; bit for bit the output of hwsim.pe._kernels_serial.bitmod_float_gemm.

The group accumulator rounds every cycle (acc = RNE(acc + s), s the adder tree's sum), so its
result is no plain dot product and BLAS cannot compute it. What can be proven ahead, from the
activations alone, vectorised per (row m, group g), is that each of those roundings is the
easy case: with L the exponent of the smallest lane LSB of the group (chunk exponent - guard
- frac_bits + the smallest term shift) and B = sum over the group of |a| * (largest sum of
|terms| of a weight), every s and every acc is a multiple of 2**L, and by induction
|acc_t| <= (1 + u)**t * B <= 2 B (u = 2**-(man_bits + 1), t u <= 1/2). So when

    L >= emin - man_bits    every value lies on the format's grid below its normal range,
    2 B < 2**(L + 53)       every acc + s is exact in float64,
    4 B <= max_finite       no rounding saturates,

each rounding is RNE of an exact float64 to man_bits + 1 bits (Veltkamp's split, in
hwsim.pe._kernels_bitmod). Rows that fail for any group (exponent spreads of ~50 binades in
one group, or sums near the format's maximum) take the general kernel.
"""

from __future__ import annotations

import numpy as np

from hwsim.lazy import lazy_module

KB = lazy_module("hwsim.pe._kernels_bitmod")
KS = lazy_module("hwsim.pe._kernels_serial")

_MIN_ROWS = 8  # fewer rows (decode steps) fill no vector lanes: the general kernel


def provable_rows(a_sc, lsb, frac_bits, coef_tab, gs, dp, acc) -> np.ndarray:
    """bool [M]: rows whose every group meets the three conditions of the module doc."""
    M, K = a_sc.shape
    G, T = K // gs, coef_tab.shape[2]
    steps = (gs // dp) * T
    mag = np.abs(coef_tab)
    nz = mag[mag > 0]
    mant, ex = np.frexp(nz)
    if (
        not nz.size
        or np.any(mant != 0.5)  # a term is a signed power of two
        or steps * 2.0 ** -(acc.man_bits + 1) > 0.5
        or acc.man_bits > 50
    ):
        return np.zeros(M, bool)
    shift_min = int(ex.min()) - 1
    wmax = float(mag.sum(axis=2).max())
    # lsb: [M, C] chunk LSB exponents (an all-zero chunk: a large one), or [M, 1] without
    # lane alignment (the row's smallest)
    low = np.broadcast_to(lsb, (M, K // dp)).reshape(M, G, gs // dp).min(axis=2)
    low = low - frac_bits + shift_min  # L of the module doc, per (row, group)
    bound = np.abs(a_sc).reshape(M, G, gs).sum(axis=2) * wmax  # B of the module doc
    capped = np.minimum(low, 960)  # all-zero groups: no constraint, and no overflow of ldexp
    ok = (
        (low >= acc.emin - acc.man_bits)
        & (low > -960)
        & (2 * bound < np.ldexp(1.0, capped + 53))
        & (4 * bound <= acc.max_finite)
    )
    return ok.all(axis=1)


def float_gemm(a_sc, lsb, frac_bits, codes, fid, coef_tab, cycles, scode, gs, dp, acc):
    """(fp32 sums before the second-level scale [M, N], overflow events [M, N]): the output
    of bitmod_float_gemm on the same arguments, each row through the kernel that may take
    it."""
    M = a_sc.shape[0]
    fast = provable_rows(a_sc, lsb, frac_bits, coef_tab, gs, dp, acc)
    if M < _MIN_ROWS or fast.sum() < _MIN_ROWS:
        fast[:] = False
    args = (codes, fid, coef_tab)
    if not fast.any():
        return KS.bitmod_float_gemm(
            a_sc, *args, cycles, scode, gs, dp, acc.man_bits, acc.emin, acc.max_finite
        )
    rows = a_sc[fast]
    rb, K = KB.ROW_BLOCK, a_sc.shape[1]
    n_blk = -(-rows.shape[0] // rb)  # zero rows pad the last block
    a_blk = np.zeros((n_blk * rb, K))
    a_blk[: rows.shape[0]] = rows
    a_blk = np.ascontiguousarray(a_blk.reshape(n_blk, rb, K).transpose(0, 2, 1))
    out, ovf = KB.bitmod_split_gemm(a_blk, *args, scode, gs, dp, acc.man_bits)
    out, ovf = out[: rows.shape[0]], ovf[: rows.shape[0]]
    if fast.all():
        return out, ovf
    slow = ~fast
    o2, v2 = KS.bitmod_float_gemm(
        np.ascontiguousarray(a_sc[slow]), *args, cycles, scode, gs, dp,
        acc.man_bits, acc.emin, acc.max_finite,
    )  # fmt: skip
    full = np.empty((M, out.shape[1]), np.float32)
    events = np.empty((M, out.shape[1]), np.int64)
    full[fast], events[fast] = out, ovf
    full[slow], events[slow] = o2, v2
    return full, events
