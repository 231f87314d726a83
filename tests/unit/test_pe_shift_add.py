"""MixPE and DenseShift: equal to their scalar references bit for bit, exact where exact,
counts consistent with the weights' set bits."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.codebook import CodebookFormat
from hwsim.errors import HwsimError
from hwsim.pe.shift_add import DenseShiftPE, MixPE, pow2_exponents, shift_add_reference

# DenseShift 3-bit: sign + 2-bit exponent, eight non-zero levels +-{1, 2, 4, 8} (zero-free)
DS3 = CodebookFormat("denseshift3_test", (1.0, 2.0, 4.0, 8.0, -1.0, -2.0, -4.0, -8.0))


def q(x, fmt, **kw):
    return hwsim.quantize(x, hwsim.QuantSpec(format=fmt, **kw))


def w4(rng, N, K, symmetric=False, g=16, fmt="uint4"):
    spec = {"granularity": "group", "group_size": g, "symmetric": symmetric, "scale_format": "fp16"}
    if symmetric:
        fmt = "int4"
    return q(rng.standard_normal((N, K)), fmt, **spec)


def activations(rng, M, K):
    a = rng.standard_normal((M, K)) * 2.0 ** rng.integers(-12, 10, (M, K))
    return np.clip(a, -60000, 60000)


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("act", ["int8", "int8_row", "fp16", "int_array"])
def test_mixpe_equals_reference(rng, symmetric, act):
    M, N, K = 3, 5, 64
    w = w4(rng, N, K, symmetric)
    x = activations(rng, M, K)
    a = {
        "int8": lambda: q(x, "int8"),
        "int8_row": lambda: q(x, "int8", granularity="channel"),
        "fp16": lambda: x,
        "int_array": lambda: rng.integers(-128, 128, (M, K)),
    }[act]()
    res = MixPE().run(a, w)
    np.testing.assert_array_equal(res.out, shift_add_reference(a, w, "mixpe"))
    assert res.tile_cycles is None


def test_mixpe_adversarial(rng):
    K = 32
    w = w4(rng, 3, K)
    for a in (
        np.full((2, K), 127),
        np.tile([127, -128], (2, K // 2)),
        np.full((2, K), 65504.0),
        np.full((2, K), 2.0**-24),
        np.zeros((2, K)),
    ):
        np.testing.assert_array_equal(MixPE().run(a, w).out, shift_add_reference(a, w, "mixpe"))


def test_mixpe_integer_group_sums_exact(rng):
    # with power-of-two scales everything downstream of the exact group sums is exact too
    M, N, K, g = 2, 3, 64, 16
    a = rng.integers(-128, 128, (M, K))
    w = q(rng.standard_normal((N, K)), "uint4", granularity="group", group_size=g,
          symmetric=False, scale_format="pow2")  # fmt: skip
    res = MixPE().run(a, w)
    vals = hwsim.format("uint4").decode(w.codes)
    zp = np.repeat(w.zero_points, g, axis=1)
    s = np.repeat(w.scales, g, axis=1)
    exact = [[sum(int(a[m, k]) * (vals[n, k] - zp[n, k]) * s[n, k] for k in range(K))
              for n in range(N)] for m in range(M)]  # fmt: skip
    np.testing.assert_allclose(res.out, exact, rtol=2.0**-23)


def test_mixpe_counts_and_cycles(rng):
    M, N, K, g = 2, 3, 32, 16
    w = w4(rng, N, K, symmetric=True, g=g)
    a = q(rng.standard_normal((M, K)), "int8")
    res = MixPE().run(a, w)
    mags = np.abs(hwsim.format("int4").decode(w.codes)).astype(int)
    set_bits = sum(bin(v).count("1") for v in mags.ravel())
    assert res.counts["shift.8"] == res.counts["add.12"] == M * set_bits
    assert res.counts["fadd.32"] == M * N * (K // g)
    assert "mul.4x16" not in res.counts  # symmetric: no zero-point correction
    assert res.counts["add.16"] == M * N * K + M * K
    assert res.cycles == M * N * K // 2  # W4A8: 2 MACs per cycle
    assert MixPE().run(a, w4(rng, N, K)).counts["mul.4x16"] == M * N * (K // g)
    assert MixPE().expected("int8", "int4").cycles_per_mac == pytest.approx(0.5)
    assert MixPE().expected("float16", "int4").cycles_per_mac == pytest.approx(0.5)
    assert MixPE().expected("int4", "int4").cycles_per_mac == pytest.approx(0.25)


def ds_weights(rng, N, K, g=None):
    codes = rng.integers(0, 8, (N, K)).astype(np.uint8)
    spec = hwsim.QuantSpec(format=DS3, granularity="group" if g else "channel", group_size=g)
    G = K // g if g else 1
    scales = 2.0 ** rng.uniform(-8, 0, (N, G))
    return hwsim.QTensor(codes, scales, None, spec)


@pytest.mark.parametrize("g", [None, 16])
def test_denseshift_float_and_int_equal_reference(rng, g):
    M, N, K = 3, 4, 64
    w = ds_weights(rng, N, K, g)
    x = activations(rng, M, K)
    for a in (x, q(x, "int8", granularity="channel"), rng.integers(-128, 128, (M, K))):
        res = DenseShiftPE().run(a, w)
        np.testing.assert_array_equal(res.out, shift_add_reference(a, w, "denseshift"))
        assert res.cycles == M * N * K


def test_denseshift_int_exact_and_counts(rng):
    M, N, K = 2, 3, 32
    w = ds_weights(rng, N, K)
    a = rng.integers(-128, 128, (M, K))
    res = DenseShiftPE().run(a, w)
    vals = DS3.decode(w.codes)
    exact = (a @ vals.T) * w.scales[:, 0]  # power-of-two weights: integer sums exact
    np.testing.assert_allclose(res.out, exact, rtol=2.0**-23)
    assert res.counts["shift.8"] == M * N * K
    fl = DenseShiftPE().run(a.astype(np.float64), w)
    assert fl.counts["add.2"] == M * N * K  # exponent add over p in 0..3
    assert fl.counts["fadd.32"] == M * N * K + M * N


def test_errors(rng):
    with pytest.raises(HwsimError, match="zero or non-finite"):
        pow2_exponents(np.array([0.0, 1.0]), "ant_pot4")
    with pytest.raises(HwsimError, match=r"not \+-2\*\*p"):
        pow2_exponents(np.array([3.0]), "x")
    with pytest.raises(HwsimError, match="zero or non-finite"):
        DenseShiftPE().check(None, "ant_pot4")
    w = w4(rng, 2, 32)
    with pytest.raises(HwsimError, match="K mismatch"):
        MixPE().run(rng.integers(-8, 8, (2, 16)), w)
    with pytest.raises(HwsimError, match="weights must be an integer format"):
        MixPE().run(np.zeros((2, 32)), q(rng.standard_normal((2, 32)), "nf4"))
    with pytest.raises(HwsimError, match="activations must be integer or float16"):
        MixPE().check("float8_e4m3fn", "int4")
    tiny = CodebookFormat("ds_tiny_test", (2.0**-120, 2.0**-121, -(2.0**-120), -(2.0**-121)))
    spec = hwsim.QuantSpec(format=tiny, granularity="channel")
    w_tiny = hwsim.QTensor(np.zeros((1, 16), np.uint8), np.ones((1, 1)), None, spec)
    with pytest.raises(HwsimError, match="leaves the fp32 range"):
        DenseShiftPE().run(np.full((1, 16), 2.0**-24), w_tiny)
    assert {"mixpe", "denseshift"} <= set(hwsim.pe.pe_kinds())


@pytest.mark.parametrize("fmt", ["denseshift3", "denseshift4"])
def test_denseshift_with_quantized_weights(rng, fmt):
    M, N, K = 3, 4, 64
    w = q(rng.standard_normal((N, K)), fmt, granularity="channel")
    assert np.all(hwsim.format(fmt).decode(w.codes) != 0)  # zero-free
    x = activations(rng, M, K)
    for a in (x, q(x, "int8", granularity="channel")):
        res = DenseShiftPE().run(a, w)
        np.testing.assert_array_equal(res.out, shift_add_reference(a, w, "denseshift"))
    approx = x @ hwsim.dequantize(w).T
    np.testing.assert_allclose(DenseShiftPE().run(x, w).out, approx, rtol=1e-2, atol=1e-2)
    assert DenseShiftPE().expected("float16", fmt).cycles_per_mac == 1.0
    with pytest.raises(HwsimError, match="zero or non-finite"):
        DenseShiftPE().check(None, "pow2_e3")
