"""hawq: integer-only layer equals a Python-int reference (GEMM, bias, dyadic requant)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim.dtypes import QTensor, QuantSpec
from hwsim.dtypes.requant import dyadic_scalar, requantize_scalar
from hwsim.errors import HwsimError


def _reference(a, w, sa, sw, s_out, bias_codes, rounding="rne", zp=0, acc_bits=32):
    """Python ints: wrap-around dot product, bias, exact requantization."""
    M, N = len(a), len(w)
    out = np.zeros((M, N), np.int64)
    span, lo = 2**acc_bits, -(2 ** (acc_bits - 1))
    for i in range(M):
        for j in range(N):
            z = sum(int(x) * int(y) for x, y in zip(a[i], w[j]))
            z = (z + int(bias_codes[j]) - lo) % span + lo
            Mq, c = dyadic_scalar(float(sa) * float(sw[j]) / s_out)
            out[i, j] = requantize_scalar(z, Mq, c, rounding=rounding, zero_point=zp)
    return out


@pytest.mark.parametrize("rounding", ["rne", "half_up", "floor", "toward_zero"])
def test_equals_python_reference(rounding, rng):
    a = rng.integers(-128, 128, (5, 96))
    w = rng.integers(-128, 128, (6, 96))
    sw = rng.uniform(0.001, 0.01, 6)
    bias = rng.normal(0, 1, 6)
    res = hwsim.pe.run(
        "hawq",
        a,
        w,
        a_scale=0.02,
        w_scale=sw,
        out_scale=0.4,
        bias=bias,
        rounding=rounding,
        out_zero_point=3,
    )
    codes = res.info["bias_codes"]
    assert np.array_equal(codes, np.rint(bias / (0.02 * sw)).astype(np.int64))
    want = _reference(a, w, 0.02, sw, 0.4, codes, rounding=rounding, zp=3)
    assert np.array_equal(res.out, want)
    assert res.out.min() >= -128 and res.out.max() <= 127


def test_ties_and_saturation_adversarial():
    # scale 1/2 exactly: every odd accumulator is a tie
    a = np.array([[1, 2, 3], [-1, -2, -3], [127, 127, 127]])
    w = np.array([[1, 0, 0], [0, 1, 1], [127, 127, 127]])
    rne = hwsim.pe.run("hawq", a, w, a_scale=1.0, w_scale=0.5, out_scale=1.0)
    up = hwsim.pe.run("hawq", a, w, a_scale=1.0, w_scale=0.5, out_scale=1.0, rounding="half_up")
    assert rne.out[0].tolist() == [0, 2, 127] and up.out[0].tolist() == [1, 3, 127]
    assert rne.out[1].tolist() == [0, -2, -128]
    assert rne.out[2, 2] == 127  # saturated to int8


def test_qtensor_scales_and_integer_bias(rng):
    fmt = "ap_fixed<8,8>"
    f = hwsim.format(fmt)
    av = rng.integers(-128, 128, (4, 32)).astype(float)
    wv = rng.integers(-128, 128, (3, 32)).astype(float)
    sw = np.array([[0.01], [0.02], [0.03]])
    a = QTensor(f.encode(av), np.array([[0.05]]), None, QuantSpec(fmt))
    w = QTensor(f.encode(wv), sw, None, QuantSpec(fmt, granularity="channel"))
    bias = np.array([100, -(2**20), 7], dtype=np.int32)
    res = hwsim.pe.run("hawq", a, w, out_scale=0.3, bias=bias)
    want = _reference(av.astype(int), wv.astype(int), 0.05, sw[:, 0], 0.3, bias)
    assert np.array_equal(res.out, want)
    counts = res.counts.as_dict()
    assert counts["mul.8x8"] == 4 * 3 * 32 and counts["mul.32x31"] == 12
    assert counts["add.32"] == 4 * 3 * 32 + 12


def test_bias_add_wraps_and_is_counted():
    a = np.full((1, 2), 127)
    w = np.full((1, 2), 127)
    bias = np.array([2**31 - 1], dtype=np.int64)
    res = hwsim.pe.run("hawq", a, w, a_scale=1.0, w_scale=1.0, out_scale=2.0**24, bias=bias)
    assert res.overflows == 1 and res.info["bias_overflows"] == 1
    z = int(res.info["acc"][0, 0])
    assert z == (2 * 127 * 127 + 2**31 - 1 + 2**31) % 2**32 - 2**31
    with pytest.raises(HwsimError, match="hawq \\(bias add\\)"):
        hwsim.pe.run("hawq", a, w, a_scale=1.0, w_scale=1.0, bias=bias, on_overflow="raise")


def test_dyadic_multiplier_close_to_scale(rng):
    sw = rng.uniform(1e-4, 1e-2, 8)
    pe = hwsim.pe.get_pe("hawq", a_scale=0.03, w_scale=sw, out_scale=0.07)
    Mq, c, _ = pe.multipliers(np.zeros((1, 1), int), np.zeros((8, 1), int), 8)
    for m, cc, s in zip(Mq.tolist(), c.tolist(), sw.tolist()):
        assert abs(Fraction(m, 2**cc) - Fraction(0.03 * s / 0.07)) <= Fraction(1, 2**cc)


def test_errors(rng):
    a = rng.integers(-8, 8, (2, 4))
    with pytest.raises(HwsimError, match="needs a_scale"):
        hwsim.pe.run("hawq", a, a, w_scale=1.0)
    with pytest.raises(HwsimError, match="w_scale must be a scalar or one per weight row"):
        hwsim.pe.run("hawq", a, a, a_scale=1.0, w_scale=[1.0, 2.0, 3.0])
    with pytest.raises(HwsimError, match=r"hawq.bias: expected shape \(2,\)"):
        hwsim.pe.run("hawq", a, a, a_scale=1.0, w_scale=1.0, bias=np.zeros(3))
    with pytest.raises(HwsimError, match="hawq.out_scale"):
        hwsim.pe.get_pe("hawq", out_scale=0.0)
    with pytest.raises(HwsimError, match="requantize: rounding"):
        hwsim.pe.run("hawq", a, a, a_scale=1.0, w_scale=1.0, rounding="stochastic")
