"""The MX dot-product PE (hwsim.pe.mx_mac): kernel = scalar reference, and an outside oracle."""

from __future__ import annotations

import itertools
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from hwsim.dtypes import QuantSpec, quantize
from hwsim.dtypes.qtensor import QTensor
from hwsim.errors import HwsimError
from hwsim.pe import get_pe, run
from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import float_spec
from hwsim.pe.mx_mac import mx_gemm_scalar

MXFP4 = QuantSpec("float4_e2m1fn", "block", 32, scale_format="e8m0", pad="zero")


def mx_tensor(codes, scale_codes, block: int, fmt: str = "float4_e2m1fn") -> QTensor:
    """An MX QTensor with the given element and E8M0 scale codes, as hardware stores it."""
    sc = np.asarray(scale_codes, dtype=np.uint8)
    scales = np.where(sc == 0xFF, np.nan, np.ldexp(1.0, sc.astype(np.int64) - 127))
    spec = QuantSpec(fmt, "block", block, scale_format="e8m0", pad="zero")
    return QTensor(np.asarray(codes, dtype=np.uint8), scales, None, spec, scale_codes=sc)


def test_kernel_equals_reference_exhaustively_over_fp4_codes(rng):
    # every (a0, a1) x (w0, w1) code pair in 2-element blocks: all 16^4 products and sums;
    # two blocks per row with scale codes over the whole E8M0 range (NaN included), so the
    # fp32 accumulation rounds, ties, overflows and meets NaN blocks
    pairs = np.array(list(itertools.product(range(16), repeat=2)), dtype=np.uint8)
    codes = np.concatenate([pairs, pairs[rng.permutation(len(pairs))]], axis=1)  # K = 4
    sa = rng.integers(0, 256, size=(len(pairs), 2))
    sw = rng.integers(0, 256, size=(len(pairs), 2))
    sa[:200], sw[:200] = rng.integers(110, 145, size=(200, 2)), rng.integers(110, 145, (200, 2))
    a, w = mx_tensor(codes, sa, 2), mx_tensor(codes, sw, 2)
    got = run("mx_mac", a, w)
    want, overflows = mx_gemm_scalar(a, w)
    assert np.array_equal(got.out, want, equal_nan=True)
    assert got.overflows == overflows > 0
    assert np.isnan(got.out).any() and np.isfinite(got.out).sum() > 30_000


@pytest.mark.parametrize(
    ("acc", "v"),
    [
        (1.0, 2.0**-24),  # exactly halfway: ties to even, stays 1
        (1.0, 2.0**-24 + 2.0**-60),  # float64 lands on the midpoint, the exact sum is above
        (1.0, 2.0**-24 - 2.0**-60),  # ... and below
        (1.0 + 2.0**-23, 2.0**-24),  # halfway, odd significand: rounds up
        (float(np.finfo(np.float32).max), 2.0**103),  # the overflow tie: inf
        (float(np.finfo(np.float32).max), 2.0**103 - 2.0**40),  # just below it: FP32_MAX
        (2.0**-149, 2.0**-150 + 2.0**-210),  # subnormal: float64 lands halfway, sum above
    ],
)
def test_fp32_addition_is_one_correct_rounding(acc, v):
    from hwsim.pe._kernels_mx import add_rne32

    want, overflow = round_fraction(Fraction(acc) + Fraction(v), float_spec("fp32"), False)
    got, events = add_rne32(acc, v)
    assert got == want and events == overflow


def test_matches_ml_dtypes_decode_and_float64_block_sums(rng):
    # outside oracle: elements and scales decoded by ml_dtypes, each block's sum in float64
    # (exact for FP4), the fp32 accumulation by numpy's own float32 addition in block order;
    # blocks span 2^-40..2^40 so that the fp32 accumulation rounds
    M, N, K = 6, 9, 320
    mag = np.ldexp(1.0, rng.integers(-40, 41, size=K // 32)).repeat(32)
    a = quantize(rng.standard_normal((M, K)) * mag, MXFP4)
    w = quantize(rng.standard_normal((N, K)), MXFP4)
    got = run("mx_mac", a, w).out

    def decode(q):
        vals = q.codes.view(ml_dtypes.float4_e2m1fn).astype(np.float64)
        scales = q.scale_codes.astype(np.uint8).view(ml_dtypes.float8_e8m0fnu)
        return vals.reshape(len(vals), -1, 32), scales.astype(np.float64)

    (va, xa), (vw, xw) = decode(a), decode(w)
    want = np.zeros((M, N), dtype=np.float32)
    for m, n in itertools.product(range(M), range(N)):
        acc = np.float32(0.0)
        for b in range(K // 32):
            block = float(va[m, b] @ vw[n, b]) * xa[m, b] * xw[n, b]
            assert float(np.float32(block)) == block  # representable: one rounding below
            acc = np.float32(acc + np.float32(block))
        want[m, n] = acc
    assert np.array_equal(got, want.astype(np.float64))
    assert not np.array_equal(got, (va.reshape(M, K) * xa.repeat(32, 1)) @ (
        vw.reshape(N, K) * xw.repeat(32, 1)).T)  # fmt: skip  # fp32 rounding did happen


def test_k_not_a_multiple_of_the_block_reads_as_zero_padded(rng):
    x, y = rng.standard_normal((3, 70)), rng.standard_normal((4, 70))
    short = run("mx_mac", quantize(x, MXFP4), quantize(y, MXFP4))
    pad = np.zeros((3, 96)), np.zeros((4, 96))
    pad[0][:, :70], pad[1][:, :70] = x, y
    full = run("mx_mac", quantize(pad[0], MXFP4), quantize(pad[1], MXFP4))
    assert np.array_equal(short.out, full.out) and short.cycles == full.cycles == 3 * 4 * 3


def test_expected_matches_run_counts_and_cycles(rng):
    pe = get_pe("mx_mac", dp=16)
    a = quantize(rng.standard_normal((2, 64)), MXFP4)
    w = quantize(rng.standard_normal((3, 64)), MXFP4)
    res = pe.run(a, w)
    est = pe.expected("float4_e2m1fn", "float4_e2m1fn", group_size=32)
    macs = 2 * 3 * 64
    assert res.cycles == macs * est.cycles_per_mac == 2 * 3 * 2 * 2
    assert {k: v / macs for k, v in res.counts.items()} == est.counts_per_mac
    assert est.counts_per_mac == {"mul.2x2": 1.0, "add.14": 1.0, "add.9": 1 / 32, "fadd.32": 1 / 32}


def test_fp8_e4m3_blocks_and_refused_e5m2(rng):
    e4m3 = QuantSpec("float8_e4m3fn", "block", 32, scale_format="e8m0")
    a = quantize(rng.standard_normal((2, 64)), e4m3)
    w = quantize(rng.standard_normal((3, 64)), e4m3)
    assert np.array_equal(run("mx_mac", a, w).out, mx_gemm_scalar(a, w)[0])
    with pytest.raises(HwsimError, match=r"mx_mac: a block of 32 float8_e5m2 x float8_e5m2 "
                       r"products needs a \d+-bit sum; expected at most 63 bits"):  # fmt: skip
        get_pe("mx_mac").expected("float8_e5m2", "float8_e5m2", group_size=32)


@pytest.mark.parametrize(
    ("operands", "message"),
    [
        (lambda a: (np.ones((2, 32)), a), r"mx_mac: a: expected an MX QTensor .* got ndarray"),
        (
            lambda a: (a, quantize(np.ones((2, 32)), QuantSpec("int8", "channel"))),
            r"mx_mac: w: expected granularity block with scale_format e8m0, got channel / fp32",
        ),
        (
            lambda a: (
                a,
                quantize(
                    np.ones((2, 64)), QuantSpec("float4_e2m1fn", "block", 16, scale_format="e8m0")
                ),
            ),
            r"mx_mac: K mismatch",
        ),
    ],
)
def test_bad_operands_are_one_line(rng, operands, message):
    a = quantize(rng.standard_normal((2, 32)), MXFP4)
    with pytest.raises(HwsimError, match=message):
        run("mx_mac", *operands(a))


def test_check_refuses_formats_that_are_not_mx_elements():
    with pytest.raises(HwsimError, match=r"mx_mac: w: expected an MX element format .* got int4"):
        get_pe("mx_mac").check("float4_e2m1fn", "int4")
    with pytest.raises(HwsimError, match=r"mx_mac.dp: expected an integer in \[1, 256\]"):
        get_pe("mx_mac", dp=0)
