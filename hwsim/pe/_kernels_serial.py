"""Numba inner loops of the bit-serial and shift-and-add PEs (outer logic lives in the PEs).

Every kernel here has a pure-Python reference in its PE module; tests hold them equal bit for
bit. No fastmath: each float operation is the IEEE operation it names.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from hwsim.pe._kernels_mac import round_float

FP32_MAX = float(np.finfo(np.float32).max)


@njit(cache=True)
def float_add_rne(x, y, man_bits, emin, max_finite, buf, bits):
    """x (+) y rounded once (RNE) to a float format with `man_bits` fraction bits, saturating;
    (value, overflowed). Same results as hwsim.pe._kernels_mac.float_add(..., True): the
    common case (a normal result) rounds the float64 bit pattern directly, with the TwoSum
    error deciding exact ties; subnormal or out-of-range results take round_float.

    buf / bits: a float64 array of one element and its int64 view (bit casts in numba).
    """
    s = x + y
    bb = s - x
    err = (x - (s - bb)) + (y - bb)
    if s == 0.0:
        return round_float(s, err, man_bits, emin, max_finite, True)
    buf[0] = s
    b = bits[0]
    e = ((b >> 52) & 0x7FF) - 1023
    if e < emin or e > 1023 - 1 or man_bits >= 52:
        return round_float(s, err, man_bits, emin, max_finite, True)
    drop = 52 - man_bits
    sign = b & np.int64(-9223372036854775808)
    mag = b ^ sign
    unit = np.int64(1) << drop
    low = mag & (unit - 1)
    half = unit >> 1
    up = low > half
    if low == half and err != 0.0:
        up = (err > 0.0) == (sign == 0)  # the exact value lies beyond the midpoint
    elif low == half:
        up = ((mag >> drop) & 1) == 1  # an exact tie: to even
    mag = mag - low + (unit if up else 0)
    bits[0] = sign | mag
    res = buf[0]
    if abs(res) > max_finite:
        return math.copysign(max_finite, s), 1
    return res, 0


@njit(cache=True)
def bitmod_float_gemm(a_al, signs, shifts, cycles, scode, gs, dp, man_bits, emin, max_finite):
    """BitMoD term-serial GEMM with a float group accumulator.

    a_al [M, K] float64: lane-aligned activations (exact dyadics); signs/shifts [N, K, T]
    int8: terms per weight (compacted when skipping zero terms); cycles [N, K // dp] int64:
    term cycles per chunk of dp lanes; scode [N, G] int64: integer group scales.
    Per chunk and cycle t the dp lane products sign * a * 2**shift are summed exactly (adder
    tree) and added into the group accumulator with one RNE rounding (float_add, saturating).
    A group's sum times its integer scale is exact and is added into an fp32 register with
    one RNE rounding (saturating at the fp32 maximum).
    Returns (fp32 sums before the second-level scale [M, N], overflow events [M, N]).
    """
    M, K = a_al.shape
    N = signs.shape[0]
    G = K // gs
    chunks_per_group = gs // dp
    out = np.zeros((M, N), np.float32)
    ovf = np.zeros((M, N), np.int64)
    p2 = np.empty(64, np.float64)
    for i in range(64):
        p2[i] = 2.0**i
    buf = np.zeros(1, np.float64)
    bits = buf.view(np.int64)
    for m in range(M):
        for n in range(N):
            total = 0.0  # an fp32 register (float64 holding fp32 values)
            events = 0
            for g in range(G):
                acc = 0.0
                for c in range(g * chunks_per_group, (g + 1) * chunks_per_group):
                    k0 = c * dp
                    for t in range(cycles[n, c]):
                        s = 0.0
                        for lane in range(dp):  # branch-free: a zero term has sign 0
                            sg = signs[n, k0 + lane, t]
                            s += sg * a_al[m, k0 + lane] * p2[shifts[n, k0 + lane, t]]
                        acc, o = float_add_rne(acc, s, man_bits, emin, max_finite, buf, bits)
                        events += o
                d = acc * scode[n, g]  # exact: significand + scale bits <= 53
                total, _ = float_add_rne(total, d, 23, -126, FP32_MAX, buf, bits)
            out[m, n] = np.float32(total)
            ovf[m, n] = events
    return out, ovf


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
def fp32_seq_dot(a, w):
    """Sequential fp32 sums of exact products (a*w exact in fp32): out [M, N] float32."""
    M, K = a.shape
    N = w.shape[0]
    out = np.zeros((M, N), np.float32)
    for m in range(M):
        for n in range(N):
            acc = np.float32(0.0)
            for k in range(K):
                acc = np.float32(acc + np.float32(a[m, k] * w[n, k]))
            out[m, n] = acc
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
def bitmod_weight_pass(codes, fid, scode, ints_tab, nnz_tab, gs, dp, skip, T):
    """One pass over the weights: effective integer weights (code value * group scale code,
    float64, exact below 2**53), term cycles per chunk of dp lanes (max non-zero terms over
    the lanes when skipping, else T), and the histogram of non-zero terms per weight."""
    N, K = codes.shape
    w_eff = np.empty((N, K), np.float64)
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
                w_eff[n, k] = ints_tab[f, code] * scode[n, k // gs]
            cycles[n, c] = most if skip else T
    return w_eff, cycles, hist
