"""BitMoD term-serial PE: numba == scalar reference bit for bit, exact mode == exact maths,
data-dependent cycles and counts consistent with the terms."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.pe.bitmod import BitMoDPE, bitmod_reference
from hwsim.pe.bitmod_lanes import align_lanes, align_scalar
from hwsim.pe.terms import nonzero_terms_per_code, term_plan

FP4 = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
FP3 = tuple(f"bitmod_fp3_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))


def quant(w, fmt=FP4, g=32):
    return hwsim.quantize(
        w, hwsim.QuantSpec(format=fmt, granularity="group", group_size=g, scale_format="int8")
    )


def acts(rng, M, K):
    """FP16 activations over a wide exponent range, with zeros and subnormals."""
    a = rng.standard_normal((M, K)) * 2.0 ** rng.integers(-26, 12, (M, K))
    a[rng.random((M, K)) < 0.1] = 0.0
    return np.clip(a, -65504, 65504).astype(np.float16)


CONFIGS = [
    {},
    {"skip_zero_terms": True},
    {"group_acc": "exact"},
    {"group_acc": "exact", "align_guard_bits": None},
    {"align_guard_bits": 0, "skip_zero_terms": True},
    {"dp": 8},
    {"dp": 2, "acc_format": "e5m10"},
    {"acc_format": "fp32", "skip_zero_terms": True},
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
@pytest.mark.parametrize("fmt", [FP4, FP3, "int8", "int6"])
def test_equals_scalar_reference(rng, cfg, fmt):
    M, N, K = 2, 3, 64
    a = acts(rng, M, K)
    qt = quant(rng.standard_normal((N, K)), fmt)
    pe = BitMoDPE(**cfg)
    res = pe.run(a, qt)
    ref, ovf = bitmod_reference(a, qt, pe)
    np.testing.assert_array_equal(res.out, ref)
    assert res.overflows == ovf


def test_adversarial_extremes_and_overflow(rng):
    K = 32
    a = np.full((4, K), 65504.0, np.float16)
    a[1, ::2] = -65504.0  # alternating signs
    a[2] = np.float16(2.0**-24)  # smallest subnormal everywhere
    a[3, :] = 0.0
    w = np.ones((2, K))
    w[1, ::3] = -1.0
    qt = quant(w, FP4)
    for cfg in ({}, {"acc_format": "e5m10"}, {"skip_zero_terms": True, "acc_format": "e4m3"}):
        pe = BitMoDPE(**cfg)
        res = pe.run(a, qt)
        ref, ovf = bitmod_reference(a, qt, pe)
        np.testing.assert_array_equal(res.out, ref)
        assert res.overflows == ovf
    assert BitMoDPE(acc_format="e5m10").run(a, qt).overflows > 0  # 65504 * 12 saturates
    assert BitMoDPE().run(a, qt).overflows == 0  # e6m15 holds it


def test_exact_mode_equals_independent_exact_sum(rng):
    M, N, K = 3, 4, 128
    a = acts(rng, M, K)
    qt = quant(rng.standard_normal((N, K)), FP4)
    res = BitMoDPE(group_acc="exact", align_guard_bits=None).run(a, qt)
    vals = np.zeros((N, K))
    for i, name in enumerate(FP4):
        f = hwsim.format(name)
        mask = np.repeat(qt.format_ids, 32, axis=1) == i
        vals[mask] = f.decode(qt.codes[mask])
    sc = np.repeat(qt.scale_codes, 32, axis=1).astype(int)
    s2 = float(np.float32(qt.meta["scale2"]))
    for m in range(M):
        for n in range(N):
            exact = sum(
                Fraction(float(a[m, k])) * int(vals[n, k]) * int(sc[n, k]) for k in range(K)
            )
            assert res.out[m, n] == float(exact) * s2
    # and it approximates the float product of dequantized operands
    x = a.astype(np.float64) @ hwsim.dequantize(qt).T
    np.testing.assert_allclose(res.out, x, rtol=1e-6, atol=1e-300)


def test_exact_mode_python_fallback_for_huge_dynamic_range():
    K = 2048
    a = np.full((2, K), np.float16(2.0**-24))
    a[0, :8] = 65504.0  # 8 * 2**40 lsb units * |w| 16 * scale 255: beyond 2**53
    w = np.full((3, K), 12.0)
    w[:, 0] = 16.0
    qt = quant(w, FP4, g=128)
    pe = BitMoDPE(group_acc="exact", align_guard_bits=None)
    res = pe.run(a, qt)
    assert res.info["exact_fallback_rows"] == 1
    ref, _ = bitmod_reference(a, qt, pe)
    np.testing.assert_array_equal(res.out, ref)


def test_alignment_vectorised_equals_scalar(rng):
    a = acts(rng, 5, 64)
    for guard in (None, 0, 3, 8):
        al, _ = align_lanes(a, 4, guard)
        for m in range(5):
            for c in range(16):
                chunk = [float(x) for x in a[m, 4 * c : 4 * c + 4]]
                ref = align_scalar(chunk, guard)
                assert [Fraction(x) for x in al[m, 4 * c : 4 * c + 4]] == ref


def test_alignment_of_every_fp16_value_equals_scalar(rng):
    # every finite FP16 value (subnormals and both zeros included) once, in random chunks
    bits = np.arange(2**16, dtype=np.uint16)
    vals = bits.view(np.float16)
    vals = rng.permutation(vals[np.isfinite(vals)])
    a = np.concatenate([vals, np.zeros(-vals.size % 64, np.float16)]).reshape(-1, 64)
    a[-1, -8:] = 0.0  # all-zero chunks too
    for guard in (0, 3, 16):  # 16: the largest the PE takes
        al, lsb = align_lanes(a, 4, guard)
        assert np.array_equal(np.signbit(al), np.signbit(a))  # zeros keep their sign
        for m in range(a.shape[0]):
            for c in range(16):
                chunk = [float(x) for x in a[m, 4 * c : 4 * c + 4]]
                assert [Fraction(x) for x in al[m, 4 * c : 4 * c + 4]] == align_scalar(chunk, guard)
                nz = [x for x in chunk if x != 0]
                e = max((max(math.frexp(x)[1] - 1, -14) - 10 for x in nz), default=None)
                assert lsb[m, c] == (10_000 if e is None else e - guard)


def test_cycles_static_and_skipping(rng):
    M, N, K, g = 2, 5, 256, 128
    w = rng.standard_normal((N, K))
    w[0] = 0.0  # an all-zero row: no terms at all
    qt = quant(w, FP4, g=g)
    a = acts(rng, M, K)
    static = BitMoDPE().run(a, qt)
    # 64 chunks x 2 terms; dequant (8 cycles) overlaps the next group, the last one drains
    assert np.all(static.tile_cycles == K // 4 * 2 + 8)
    assert static.cycles == M * N * (K // 4 * 2 + 8)
    skip = BitMoDPE(skip_zero_terms=True).run(a, qt)
    ids = np.repeat(qt.format_ids, g, axis=1)
    nnz = np.zeros((N, K), int)
    for i, name in enumerate(FP4):
        per_code = nonzero_terms_per_code(term_plan(name))
        nnz[ids == i] = per_code[qt.codes[ids == i]]
    chunk = nnz.reshape(N, -1, 4).max(axis=2)
    groups = chunk.reshape(N, 2, -1).sum(axis=2)
    expect = np.maximum(groups[:, 0] + 8, groups.sum(axis=1)) + 8
    np.testing.assert_array_equal(skip.tile_cycles, np.broadcast_to(expect, (M, N)))
    assert skip.tile_cycles[0, 0] == 16  # zero row: only the two dequantizations
    assert skip.counts["term"] == M * nnz.sum() == static.counts["term"]
    assert skip.info["term_hist"].sum() == M * N * K
    assert skip.info["terms_per_weight"] == pytest.approx(nnz.mean())
    np.testing.assert_array_equal(skip.out, static.out)  # skipping only drops zero terms


def test_counts_consistent_with_shapes(rng):
    M, N, K = 3, 4, 64
    res = BitMoDPE().run(acts(rng, M, K), quant(rng.standard_normal((N, K)), "int8"))
    c = res.counts
    assert c["lut.8"] == c["align.15"] == M * N * K
    assert c["dequant.8"] == c["fadd.32"] == M * N * (K // 32)
    assert c["fmul.32"] == M * N
    assert c["fadd.22"] == M * N * (K // 4) * 4  # 4 Booth terms per chunk
    assert c["and.15"] == c["shift.15"] == c["term"]


def test_registry_and_expected():
    assert "bitmod" in hwsim.pe.pe_kinds()
    est = BitMoDPE().expected("float16", FP4)
    assert est.cycles_per_mac == pytest.approx(0.5)
    assert BitMoDPE().expected("float16", "int8").cycles_per_mac == pytest.approx(1.0)
    assert BitMoDPE().expected(None, "int6").cycles_per_mac == pytest.approx(0.75)
    skip = BitMoDPE(skip_zero_terms=True).expected("float16", "bitmod_fp4")
    assert skip.cycles_per_mac < 0.5


def test_run_through_registry(rng):
    a = acts(rng, 2, 32)
    qt = quant(rng.standard_normal((3, 32)), FP4)
    res = hwsim.pe.run("bitmod", a, qt, skip_zero_terms=True)
    np.testing.assert_array_equal(res.out, BitMoDPE(skip_zero_terms=True).run(a, qt).out)


def test_errors(rng):
    qt = quant(rng.standard_normal((3, 32)), FP4)
    a = acts(rng, 2, 32)
    with pytest.raises(HwsimError, match="bitmod.dp"):
        BitMoDPE(dp=0)
    with pytest.raises(HwsimError, match="group_acc"):
        BitMoDPE(group_acc="kulisch")
    with pytest.raises(HwsimError, match="align_guard_bits"):
        BitMoDPE(align_guard_bits=-1)
    with pytest.raises(HwsimError, match="K mismatch"):
        BitMoDPE().run(a[:, :16], qt)
    with pytest.raises(HwsimError, match="not a multiple of dp"):
        BitMoDPE(dp=64).run(a, qt)
    with pytest.raises(HwsimError, match="finite in FP16"):
        BitMoDPE().run(np.full((2, 32), 1e6), qt)
    with pytest.raises(HwsimError, match="must be a float array"):
        BitMoDPE().run(qt, qt)
    spec = hwsim.QuantSpec(format=FP4, granularity="group", group_size=32)
    fp32_scales = hwsim.quantize(rng.standard_normal((3, 32)), spec)
    with pytest.raises(HwsimError, match="integer group scales"):
        BitMoDPE().run(a, fp32_scales)
    with pytest.raises(HwsimError, match="activations must be float16"):
        BitMoDPE().check("int8", "bitmod_fp4")
    with pytest.raises(HwsimError, match="unknown PE parameter|unknown parameter"):
        hwsim.pe.run("bitmod", a, qt, lanes=4)


@pytest.mark.parametrize("fmt", ["e6m15", "e5m10", "e4m3", "fp32"])
def test_fast_float_add_equals_general_rounding(rng, fmt):
    from numba import njit

    from hwsim.pe._kernels_mac import float_add
    from hwsim.pe._kernels_serial import acc_add_rne
    from hwsim.pe.accumulator_spec import float_spec
    from hwsim.pe.accumulators import round_to_float

    @njit
    def mismatches(xs, ys, man, emin, mx):
        bad = 0
        for i in range(xs.size):
            a, o1 = float_add(xs[i], ys[i], man, emin, mx, True)
            b, o2 = acc_add_rne(xs[i], ys[i], man, emin, mx)
            bad += not (a == b and o1 == o2 and np.signbit(a) == np.signbit(b))
        return bad

    s = float_spec(fmt)
    n = 30000
    xs = round_to_float(rng.standard_normal(n) * 2.0 ** rng.integers(-40, 40, n), fmt, True)
    e = np.frexp(np.abs(xs))[1] - 1
    half = np.ldexp(1.0, e - s.man_bits - 1) * rng.choice([-1, 1], n)
    ys = rng.standard_normal(n) * 2.0 ** rng.integers(-50, 45, n)
    ys[::3] = half[::3]  # exact ties
    ys[1::3] = half[1::3] * (1 + 2.0**-45 * rng.choice([-1, 1], n)[1::3])  # ties broken by err
    ys[2::9] = -xs[2::9]  # exact cancellation
    assert mismatches(xs, ys, s.man_bits, s.emin, s.max_finite) == 0


@pytest.mark.parametrize(("fmt", "bits"), [("int8", 8), ("int6", 6), (FP4, 4), (FP3, 3)])
def test_static_latency_is_bitmod_simulator_formula(rng, fmt, bits):
    # BitMoD's simulator: pe_latency = ceil(floor(bits) / 2) cycles per weight (dp weights)
    from hwsim.pe.terms import cycles_per_weight

    K = 128
    res = BitMoDPE().run(acts(rng, 1, K), quant(rng.standard_normal((2, K)), fmt, g=K))
    assert np.all(res.tile_cycles == K // 4 * cycles_per_weight(bits) + 8)


@pytest.mark.parametrize("M", [1, 5, 7])
@pytest.mark.parametrize("cfg", [{}, {"skip_zero_terms": True, "acc_format": "e4m3"}])
def test_float_kernel_any_row_count_bit_identical(rng, M, cfg):
    # the kernel takes rows four at a time; the last block is partial here
    N, K = 3, 64
    a = acts(rng, M, K)
    a[-1] = 0.0  # an all-zero row: its outputs are +0.0, as the reference's exact zero
    qt = quant(rng.standard_normal((N, K)), FP4)
    pe = BitMoDPE(**cfg)
    res = pe.run(a, qt)
    ref, ovf = bitmod_reference(a, qt, pe)
    np.testing.assert_array_equal(res.out.view(np.uint64), ref.view(np.uint64))
    assert res.overflows == ovf
    again = pe.run(a, qt)  # parallel over weight rows, yet the same bytes every call
    assert again.out.tobytes() == res.out.tobytes()


@pytest.mark.parametrize(("fmt", "cfg"), [("int8", {}), (FP4, {"skip_zero_terms": True})])
def test_float_kernel_row_block_independent_of_neighbours(rng, fmt, cfg):
    # row m's outputs do not depend on which rows share its block of four, nor on the path
    # (four activation rows per weight row, or one row against four weight rows when M < 4)
    M, N, K = 9, 7, 128
    a = acts(rng, M, K)
    qt = quant(rng.standard_normal((N, K)), fmt)
    pe = BitMoDPE(**cfg)
    whole = pe.run(a, qt)
    for m in range(M):
        one = pe.run(a[m : m + 1], qt)
        np.testing.assert_array_equal(one.out[0], whole.out[m])


@pytest.mark.parametrize(
    ("fmt", "g", "scale", "dp"),
    [
        (FP4, 128, "int8", 4),  # BitMoD: 64 term cycles per group hide the 8-cycle dequant
        ("int8", 32, "int8", 4),
        (FP3, 16, "int8", 4),  # 8 term cycles = 8 dequant cycles
        (FP4, 8, "int8", 4),  # 4 term cycles < 8: the dequantization unit sets the pace
        ("int6", 16, "int4", 8),
    ],
)
def test_expected_agrees_with_run_on_cycles(rng, fmt, g, scale, dp):
    # static terms (no zero-term skipping): shapes-only and traced timing of a tile agree,
    # the dequantization unit included (drained once per output tile)
    M, N, K = 2, 3, 128
    spec = hwsim.QuantSpec(format=fmt, granularity="group", group_size=g, scale_format=scale)
    qt = hwsim.quantize(rng.standard_normal((N, K)), spec)
    pe = BitMoDPE(dp=dp)
    res = pe.run(acts(rng, M, K), qt)
    est = pe.expected("float16", fmt, scale_bits=int(scale[3:]), group_size=g)
    assert np.all(res.tile_cycles == est.tile_cycles(K))
    assert res.cycles == M * N * est.tile_cycles(K)
    assert est.drain_cycles > 0


def test_expected_defaults_are_bitmods_groups_and_scales():
    est = BitMoDPE().expected("float16", FP4)
    assert est.drain_cycles == 8  # int8 scales, hidden under 64 term cycles per group
    assert est.tile_cycles(4096) == 4096 // 4 * 2 + 8
    with pytest.raises(HwsimError, match="scale_bits must be an integer > 0"):
        BitMoDPE().expected("float16", FP4, scale_bits=0)
    with pytest.raises(HwsimError, match="not a multiple of dp"):
        BitMoDPE().expected("float16", FP4, group_size=6)


def test_float_kernel_few_rows_saturate_like_reference():
    # M < 4 runs one activation row against four weight rows; overflow events still count
    K = 64
    a = np.full((2, K), 65504.0, np.float16)
    a[1, ::2] = -65504.0
    w = np.ones((5, K))
    w[1, ::3] = -1.0
    qt = quant(w, FP4)
    pe = BitMoDPE(acc_format="e5m10", skip_zero_terms=True)
    res = pe.run(a, qt)
    ref, ovf = bitmod_reference(a, qt, pe)
    np.testing.assert_array_equal(res.out, ref)
    assert res.overflows == ovf > 0


@pytest.mark.parametrize("fmt", ["bitmod_fp4_er_pos", "bitmod_fp3_ea_neg", "bitmod_fp4", "int6"])
@pytest.mark.parametrize("skip", [False, True])
def test_expected_counts_equal_run_when_every_code_is_equally_common(rng, fmt, skip):
    # every code equally often: run()'s counts per MAC are the shapes-only expectation (the
    # per-output fp32 multiply aside; with zero-term skipping a chunk's cycles are its
    # busiest lane's, so only the per-term and per-group counts are expected exactly)
    from dataclasses import replace

    n_codes = 2 ** hwsim.format(fmt).bits
    K = max(128, n_codes)
    spec = hwsim.QuantSpec(fmt, "group", 128, scale_format="int8")
    qt = hwsim.quantize(rng.standard_normal((4, K)), spec)
    qt = replace(qt, codes=np.tile(np.arange(n_codes, dtype=qt.codes.dtype), (4, K // n_codes)))
    pe = BitMoDPE(skip_zero_terms=skip)
    macs = 3 * 4 * K
    got = {k: v / macs for k, v in pe.run(acts(rng, 3, K), qt).counts.items() if k != "fmul.32"}
    want = pe.expected("float16", fmt).counts_per_mac
    if skip:
        keys = [k for k in want if k.split(".")[0] in ("term", "and", "shift", "dequant")]
        got, want = {k: got[k] for k in keys}, {k: want[k] for k in keys}
    assert got == pytest.approx(want)
