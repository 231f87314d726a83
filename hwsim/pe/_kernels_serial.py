"""Numba inner loops of the bit-serial and shift-and-add PEs (outer logic lives in the PEs).

Every kernel here has a pure-Python reference in its PE module; tests hold them equal bit for
bit. No fastmath: each float operation is the IEEE operation it names.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from hwsim.pe._kernels_mac import round_float

FP32_MAX = float(np.finfo(np.float32).max)


@intrinsic
def _bits_of(typingctx, x):
    """The IEEE bit pattern of a float64, as an int64 (a register move, no memory)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, b):
    """The float64 whose IEEE bit pattern is the int64 b."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


@njit(cache=True, inline="always")
def _rne_fast(x, y, man_bits, emin):
    """x (+) y rounded (RNE) to `man_bits` fraction bits when the float64 sum is a normal
    number of the target format: (rounded, s, err, slow). s = RN53(x + y) and err = x + y - s
    exactly (TwoSum); err decides a tie that s sits on exactly. `slow` flags what this bit
    manipulation cannot round (zero, a result below the target's normal range, inf/NaN, or
    man_bits >= 52); its caller then takes round_float(s, err, ...). Branch-free, so that
    several independent accumulations compile to vector code."""
    s = x + y
    bb = s - x
    err = (x - (s - bb)) + (y - bb)
    b = _bits_of(s)
    e = ((b >> 52) & 0x7FF) - 1023
    drop = 52 - man_bits
    sign = b & np.int64(-9223372036854775808)
    mag = b ^ sign
    unit = np.int64(1) << drop
    low = mag & (unit - 1)
    half = unit >> 1
    tie = low == half
    odd = ((mag >> drop) & 1) == 1
    beyond = (err > 0.0) == (sign == 0)  # the exact value lies past the midpoint
    up = (low > half) | (tie & (err == 0.0) & odd) | (tie & (err != 0.0) & beyond)
    mag = mag - low + (unit if up else 0)
    slow = (s == 0.0) | (e < emin) | (e > 1022) | (man_bits >= 52)
    return _float_of(sign | mag), s, err, slow


@njit(cache=True, inline="always")
def _rne_finish(rounded, s, err, slow, man_bits, emin, max_finite):
    """Complete _rne_fast: the slow cases and saturation; (value, overflowed)."""
    if slow:
        return round_float(s, err, man_bits, emin, max_finite, True)
    if abs(rounded) > max_finite:
        return math.copysign(max_finite, s), 1
    return rounded, 0


@njit(cache=True, inline="always")
def _add4_rne(acc0, acc1, acc2, acc3, s0, s1, s2, s3, man_bits, emin, mx):
    """Four independent accumulator additions with one RNE rounding each, side by side:
    the fast path unless one needs the slow finish (subnormal, tie, overflow)."""
    r0, x0, e0, slow0 = _rne_fast(acc0, s0, man_bits, emin)
    r1, x1, e1, slow1 = _rne_fast(acc1, s1, man_bits, emin)
    r2, x2, e2, slow2 = _rne_fast(acc2, s2, man_bits, emin)
    r3, x3, e3, slow3 = _rne_fast(acc3, s3, man_bits, emin)
    big = max(max(abs(r0), abs(r1)), max(abs(r2), abs(r3))) > mx
    if not (slow0 | slow1 | slow2 | slow3 | big):
        return r0, r1, r2, r3, 0, 0, 0, 0
    acc0, o0 = _rne_finish(r0, x0, e0, slow0, man_bits, emin, mx)
    acc1, o1 = _rne_finish(r1, x1, e1, slow1, man_bits, emin, mx)
    acc2, o2 = _rne_finish(r2, x2, e2, slow2, man_bits, emin, mx)
    acc3, o3 = _rne_finish(r3, x3, e3, slow3, man_bits, emin, mx)
    return acc0, acc1, acc2, acc3, o0, o1, o2, o3


@njit(cache=True)
def acc_add_rne(x, y, man_bits, emin, max_finite):
    """x (+) y rounded once (RNE) to a float format with `man_bits` fraction bits, saturating;
    (value, overflowed). Same results as hwsim.pe._kernels_mac.float_add(..., True): the
    common case (a normal result) rounds the float64 bit pattern directly, with the TwoSum
    error deciding exact ties; zero, subnormal or out-of-range results take round_float.
    """
    r, s, err, slow = _rne_fast(x, y, man_bits, emin)
    return _rne_finish(r, s, err, slow, man_bits, emin, max_finite)


@njit(cache=True, parallel=True)
def bitmod_float_gemm(a_sc, codes, fid, coef_tab, cycles, scode, gs, dp, man_bits, emin, mx):
    """BitMoD term-serial GEMM with a float group accumulator, parallel over weight rows.

    a_sc [M, K] float64: lane-aligned activations times 2**-frac_bits (exact dyadics);
    codes [N, K]: weight codes; fid [N, G] int64: format of each group; coef_tab [F, codes, T]
    float64: sign * 2**shift of each code's t-th term (compacted when skipping zero terms);
    cycles [N, K // dp] int64: term cycles per chunk of dp lanes; scode [N, G] int64: integer
    group scales. Per chunk and cycle t the dp lane products are summed exactly (adder tree)
    and added into the group accumulator with one RNE rounding (saturating; a zero sum leaves
    the accumulator as it is). A group's sum times its integer scale is exact and is added
    into an fp32 register with one RNE rounding (saturating at the fp32 maximum).
    Returns (fp32 sums before the second-level scale [M, N], overflow events [M, N]).

    Each weight row's terms are decoded once, into a contiguous [chunk, cycle, lane] table,
    and reused for every activation row; rows go four at a time so that four independent
    rounding chains fill the CPU's vector lanes and pipeline. Fewer than four rows (decode
    steps) take four weight rows at a time instead.
    """
    M, K = a_sc.shape
    N = codes.shape[0]
    T = coef_tab.shape[2]
    flat_tab = coef_tab.reshape(-1)  # [(format, code, term)], C order
    out = np.zeros((M, N), np.float32)
    ovf = np.zeros((M, N), np.int64)
    if M >= 4:
        for n in prange(N):
            coef = np.empty((K // dp, T, dp), np.float64)
            decode_terms(coef, codes[n], fid[n], flat_tab, coef_tab.shape[1], gs)
            for m0 in range(0, M, 4):
                _four_rows(a_sc, coef, cycles[n], scode[n], n, m0, gs, man_bits, emin, mx, out, ovf)
        return out, ovf
    for b in prange((N + 3) // 4):
        cols = np.minimum(np.arange(4 * b, 4 * b + 4), N - 1)  # past N: repeat the last one
        coef = np.empty((4, K // dp, T, dp), np.float64)
        cyc = np.empty((4, K // dp), np.int64)
        for j in range(4):
            decode_terms(coef[j], codes[cols[j]], fid[cols[j]], flat_tab, coef_tab.shape[1], gs)
            cyc[j] = cycles[cols[j]]
        for m in range(M):
            _four_cols(a_sc[m], coef, cyc, scode, cols, m, gs, man_bits, emin, mx, out, ovf)
    return out, ovf


@njit(cache=True)
def decode_terms(coef, codes_n, fid_n, flat_tab, n_codes, gs):
    """One weight row's terms as coef[chunk, cycle, lane] = sign * 2**shift."""
    C, T, dp = coef.shape
    cpg = gs // dp
    for g in range(C // cpg):
        base = fid_n[g] * n_codes
        for c in range(g * cpg, (g + 1) * cpg):
            for lane in range(dp):
                row = (base + np.int64(codes_n[c * dp + lane])) * T
                for t in range(T):
                    coef[c, t, lane] = flat_tab[row + t]


@njit(cache=True)
def _four_cols(a, coef, cyc, scode, cols, m, gs, man_bits, emin, mx, out, ovf):
    """Activation row a (row m) against weight rows cols[0..3]: coef [4, C, T, dp], cyc [4, C].
    A chunk runs the longest of the four columns' cycles; past a column's own cycles all its
    lanes hold empty terms, whose zero sums leave its accumulator as it is."""
    K = a.shape[0]
    dp = coef.shape[3]
    tot0 = tot1 = tot2 = tot3 = 0.0
    ev0 = ev1 = ev2 = ev3 = 0
    cpg = gs // dp
    for g in range(K // gs):
        acc0 = acc1 = acc2 = acc3 = 0.0
        for c in range(g * cpg, (g + 1) * cpg):
            k0 = c * dp
            cycles = max(max(cyc[0, c], cyc[1, c]), max(cyc[2, c], cyc[3, c]))
            for t in range(cycles):
                s0 = s1 = s2 = s3 = 0.0
                for lane in range(dp):
                    x = a[k0 + lane]
                    s0 += x * coef[0, c, t, lane]
                    s1 += x * coef[1, c, t, lane]
                    s2 += x * coef[2, c, t, lane]
                    s3 += x * coef[3, c, t, lane]
                acc0, acc1, acc2, acc3, o0, o1, o2, o3 = _add4_rne(
                    acc0, acc1, acc2, acc3, s0, s1, s2, s3, man_bits, emin, mx
                )
                ev0, ev1, ev2, ev3 = ev0 + o0, ev1 + o1, ev2 + o2, ev3 + o3
        tot0, o0 = acc_add_rne(tot0, acc0 * scode[cols[0], g], 23, -126, FP32_MAX)
        tot1, o1 = acc_add_rne(tot1, acc1 * scode[cols[1], g], 23, -126, FP32_MAX)
        tot2, o2 = acc_add_rne(tot2, acc2 * scode[cols[2], g], 23, -126, FP32_MAX)
        tot3, o3 = acc_add_rne(tot3, acc3 * scode[cols[3], g], 23, -126, FP32_MAX)
        ev0, ev1, ev2, ev3 = ev0 + o0, ev1 + o1, ev2 + o2, ev3 + o3  # fp32 register saturated
    for j, tot, ev in ((3, tot3, ev3), (2, tot2, ev2), (1, tot1, ev1), (0, tot0, ev0)):
        out[m, cols[j]] = np.float32(tot)  # a repeated column writes the same value again
        ovf[m, cols[j]] = ev


@njit(cache=True)
def _four_rows(a_sc, coef, cyc, sc, n, m0, gs, man_bits, emin, mx, out, ovf):
    """Rows m0 .. m0 + 3 of output column n (rows past M repeat the last row, unwritten)."""
    M, K = a_sc.shape
    dp = coef.shape[2]
    last = M - 1
    a0, a1 = a_sc[m0], a_sc[min(m0 + 1, last)]
    a2, a3 = a_sc[min(m0 + 2, last)], a_sc[min(m0 + 3, last)]
    tot0 = tot1 = tot2 = tot3 = 0.0  # fp32 registers (float64 holding fp32 values)
    ev0 = ev1 = ev2 = ev3 = 0
    cpg = gs // dp
    for g in range(K // gs):
        acc0 = acc1 = acc2 = acc3 = 0.0
        for c in range(g * cpg, (g + 1) * cpg):
            k0 = c * dp
            for t in range(cyc[c]):
                s0 = s1 = s2 = s3 = 0.0
                for lane in range(dp):
                    w = coef[c, t, lane]
                    s0 += a0[k0 + lane] * w
                    s1 += a1[k0 + lane] * w
                    s2 += a2[k0 + lane] * w
                    s3 += a3[k0 + lane] * w
                # acc (+) 0 rounds to acc itself (acc is on the grid), so zero sums need no
                # branch; the four roundings are independent and go side by side
                acc0, acc1, acc2, acc3, o0, o1, o2, o3 = _add4_rne(
                    acc0, acc1, acc2, acc3, s0, s1, s2, s3, man_bits, emin, mx
                )
                ev0, ev1, ev2, ev3 = ev0 + o0, ev1 + o1, ev2 + o2, ev3 + o3
        s = sc[g]  # acc * s is exact: significand + scale bits <= 53
        tot0, o0 = acc_add_rne(tot0, acc0 * s, 23, -126, FP32_MAX)
        tot1, o1 = acc_add_rne(tot1, acc1 * s, 23, -126, FP32_MAX)
        tot2, o2 = acc_add_rne(tot2, acc2 * s, 23, -126, FP32_MAX)
        tot3, o3 = acc_add_rne(tot3, acc3 * s, 23, -126, FP32_MAX)
        ev0, ev1, ev2, ev3 = ev0 + o0, ev1 + o1, ev2 + o2, ev3 + o3  # fp32 register saturated
    for r, tot, ev in ((3, tot3, ev3), (2, tot2, ev2), (1, tot1, ev1), (0, tot0, ev0)):
        if m0 + r <= last:
            out[m0 + r, n] = np.float32(tot)
            ovf[m0 + r, n] = ev


@njit(cache=True)
def fp32_group_dequant(partials, scales):
    """Sequential fp32 accumulation of fp32(partials[g]) * fp32(scales[g]) over groups.

    partials [M, N, G] float64 (exactly representable in fp32 by the caller's check),
    scales [N, G] float32. acc = fp32(acc + fp32(p * s)), group by group.
    """
    M, N, G = partials.shape
    out = np.zeros((M, N), np.float32)
    for m in range(M):
        for n in range(N):
            acc = np.float32(0.0)
            for g in range(G):
                d = np.float32(np.float32(partials[m, n, g]) * scales[n, g])
                acc = np.float32(acc + d)
            out[m, n] = acc
    return out


@njit(cache=True)
def fp32_seq_dot_groups(a, w, gs):
    """Per-group sequential fp32 sums of exact products: out [M, N, G] float32.

    a [M, K], w [N, K] float64 with every product a*w exact in fp32 (caller checks).
    """
    M, K = a.shape
    N = w.shape[0]
    G = K // gs
    out = np.zeros((M, N, G), np.float32)
    for m in range(M):
        for n in range(N):
            for g in range(G):
                acc = np.float32(0.0)
                for k in range(g * gs, (g + 1) * gs):
                    acc = np.float32(acc + np.float32(a[m, k] * w[n, k]))
                out[m, n, g] = acc
    return out


@njit(cache=True)
def int_gemm_exact(a, w):
    """Exact int64 a @ w.T (caller proves |sum| < 2**63)."""
    M, K = a.shape
    N = w.shape[0]
    out = np.zeros((M, N), np.int64)
    for m in range(M):
        for n in range(N):
            s = 0
            for k in range(K):
                s += a[m, k] * w[n, k]
            out[m, n] = s
    return out


@njit(cache=True)
def int_group_partials(a, w, gs):
    """Exact int64 group sums sum_{k in g} a[m, k] * w[n, k]: [M, N, G] (caller bounds them)."""
    M, K = a.shape
    N = w.shape[0]
    G = K // gs
    out = np.zeros((M, N, G), np.int64)
    for m in range(M):
        for n in range(N):
            for g in range(G):
                s = 0
                for k in range(g * gs, (g + 1) * gs):
                    s += a[m, k] * w[n, k]
                out[m, n, g] = s
    return out


@njit(cache=True)
def bitmod_weight_pass(codes, fid, scode, ints_tab, nnz_tab, gs, dp, skip, T, want_w_eff=True):
    """One pass over the weights: effective integer weights (code value * group scale code,
    float64, exact below 2**53; an empty [0, 0] array unless want_w_eff), term cycles per
    chunk of dp lanes (max non-zero terms over the lanes when skipping, else T), and the
    histogram of non-zero terms per weight. One thread: a pass this light gains nothing from
    two on a shared machine, where a parallel region waits for its slowest thread."""
    N, K = codes.shape
    w_eff = np.empty((N, K) if want_w_eff else (0, 0), np.float64)
    cycles = np.empty((N, K // dp), np.int64)
    hist = np.zeros(T + 1, np.int64)
    for n in range(N):
        for c in range(K // dp):
            most = 0
            for lane in range(dp):
                k = c * dp + lane
                f = fid[n, k // gs]
                code = codes[n, k]
                z = nnz_tab[f, code]
                hist[z] += 1
                if z > most:
                    most = z
                if want_w_eff:
                    w_eff[n, k] = ints_tab[f, code] * scode[n, k // gs]
            cycles[n, c] = most if skip else T
    return w_eff, cycles, hist
