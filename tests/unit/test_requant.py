"""HAWQ-V3 dyadic requantization: (M, c) derivation and exact integer rescaling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim.dtypes.requant import (
    REQUANT_ROUNDINGS,
    dyadic,
    dyadic_scalar,
    dyadic_value,
    requantize,
    requantize_float64,
    requantize_scalar,
)
from hwsim.errors import HwsimError


def test_dyadic_known_values():
    assert dyadic_scalar(0.5) == (2**30, 31)
    assert dyadic_scalar(1.0) == (2**30, 30)
    assert dyadic_scalar(0.75) == (3 * 2**29, 31)
    # 1 - 2^-40: m * 2^31 = 2^31 - 2^-9 rounds to 2^31 -> carry -> (2^30, 30) == 1.0
    assert dyadic_scalar(1.0 - 2.0**-40) == (2**30, 30)
    # exactly half an ulp of the 31-bit mantissa rounds up (half up)
    M, c = dyadic_scalar((2**30 + 0.5) / 2**31)
    assert (M, c) == (2**30 + 1, 31)


def test_dyadic_approximates_within_half_ulp(rng):
    s = np.exp(rng.uniform(-20, 5, 2000))
    M, c = dyadic(s)
    assert M.dtype == np.int64 and c.dtype == np.int64
    assert np.all((M >= 2**30) & (M < 2**31))
    approx = dyadic_value(M, c)
    # the mantissa is rounded to 31 bits: relative error <= 2^-31
    assert np.all(np.abs(approx - s) <= s * 2.0**-31)
    for si, Mi, ci in zip(s[:200], M[:200], c[:200]):
        assert dyadic_scalar(si) == (Mi, ci)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_dyadic_rejects_bad_scales(bad):
    with pytest.raises(HwsimError, match="dyadic: scale must be a finite number > 0"):
        dyadic(bad)
    with pytest.raises(HwsimError, match="every scale must be a finite number > 0"):
        dyadic(np.array([1.0, bad]))


def test_rounding_modes_on_ties():
    # z * M / 2^c = z / 2 with M = 2^30, c = 31: every odd z is a tie
    z = np.array([-5, -3, -1, 1, 3, 5, -4, 4], dtype=np.int32)
    M, c = 2**30, 31
    expect = {
        "rne": [-2, -2, 0, 0, 2, 2, -2, 2],
        "half_up": [-2, -1, 0, 1, 2, 3, -2, 2],
        "half_away": [-3, -2, -1, 1, 2, 3, -2, 2],
        "floor": [-3, -2, -1, 0, 1, 2, -2, 2],
        "toward_zero": [-2, -1, 0, 0, 1, 2, -2, 2],
    }
    for mode, want in expect.items():
        got = requantize(z, M, c, rounding=mode)
        assert got.tolist() == want, mode
        assert [requantize_scalar(int(v), M, c, rounding=mode) for v in z] == want


def test_clamp_and_zero_point():
    z = np.array([10_000, -10_000, 0, 200], dtype=np.int32)
    M, c = dyadic_scalar(1.0)
    assert requantize(z, M, c).tolist() == [127, -128, 0, 127]
    assert requantize(z, M, c, signed=False).tolist() == [255, 0, 0, 200]
    assert requantize(z, M, c, signed=False, zero_point=10).tolist() == [255, 0, 10, 210]
    assert requantize(z, M, c, out_bits=16).tolist() == [10_000, -10_000, 0, 200]


def test_per_channel_broadcast(rng):
    acc = rng.integers(-(2**20), 2**20, size=(6, 5), dtype=np.int32)
    scales = np.exp(rng.uniform(-12, -6, size=(1, 5)))
    M, c = dyadic(scales)
    got = requantize(acc, M, c, out_bits=8)
    for (i, j), z in np.ndenumerate(acc):
        assert got[i, j] == requantize_scalar(int(z), int(M[0, j]), int(c[0, j]))


@settings(max_examples=300, deadline=None)
@given(
    z=st.integers(-(2**31), 2**31 - 1),
    M=st.integers(2**30, 2**31 - 1),
    c=st.integers(-3, 80),
    rounding=st.sampled_from(REQUANT_ROUNDINGS),
    out_bits=st.integers(1, 32),
    signed=st.booleans(),
    zp=st.integers(-100, 100),
)
def test_vectorised_equals_reference(z, M, c, rounding, out_bits, signed, zp):
    got = requantize(np.array([z], np.int64), M, c, rounding, out_bits, signed, zp)
    assert got[0] == requantize_scalar(z, M, c, rounding, out_bits, signed, zp)


def test_extremes_equal_reference():
    zs = np.array([-(2**31), 2**31 - 1, -1, 0, 1, 2**30, -(2**30) - 1], dtype=np.int64)
    for M in (2**30, 2**31 - 1, 1_518_500_250):
        for c in (1, 2, 30, 31, 32, 61, 62, 63, 64, 100):
            for mode in REQUANT_ROUNDINGS:
                got = requantize(zs, M, c, rounding=mode, out_bits=32)
                want = [requantize_scalar(int(z), M, c, mode, 32) for z in zs]
                assert got.tolist() == want, (M, c, mode)


def _near_tie_case():
    """z, M with z*M = q*2^31 + 2^30 + 1 (just above a tie), q even, |z*M| >= 2^53."""
    for M in range(2**31 - 1, 2**31 - 200, -2):
        z = ((2**30 + 1) * pow(M, -1, 2**31)) % 2**31
        q = (z * M) >> 31
        if q % 2 == 0 and z * M >= 2**53 and q + 1 < 2**31 - 1:
            return z, M
    raise AssertionError("no case found")


def test_float64_form_wrong_beyond_2_53_exact_form_right():
    z, M = _near_tie_case()
    c = 31
    exact_q = (z * M) >> 31
    # exact: remainder 2^30 + 1 > half -> rounds up
    want = exact_q + 1
    got = requantize(np.array([z]), M, c, rounding="rne", out_bits=32)
    assert got[0] == want == requantize_scalar(z, M, c, "rne", 32)
    # float64 loses the +1 (ulp of z*M is 2^9 here) and sees an exact tie -> rounds to even
    f64 = requantize_float64(np.array([z]), M, c, out_bits=32)
    assert abs(z * M) >= 2**53
    assert f64[0] == exact_q != want


def test_float64_form_agrees_below_2_53(rng):
    z = rng.integers(-(2**21), 2**21, 5000)
    M, c = dyadic_scalar(0.0123456)
    assert np.all(np.abs(z * M) < 2**53)
    assert np.array_equal(requantize_float64(z, M, c), requantize(z, M, c, rounding="rne"))


def test_bad_arguments():
    with pytest.raises(HwsimError, match="rounding must be one of"):
        requantize(np.array([1]), 2**30, 31, rounding="nearest")
    with pytest.raises(HwsimError, match="out_bits must be an integer in 1..32"):
        requantize(np.array([1]), 2**30, 31, out_bits=0)
    with pytest.raises(HwsimError, match="acc must be an integer array"):
        requantize(np.array([1.5]), 2**30, 31)
    with pytest.raises(HwsimError, match=r"\|acc\| must be <= 2\^31"):
        requantize(np.array([2**40]), 2**30, 31)
    with pytest.raises(HwsimError, match=r"M must lie in \[0, 2\^31\)"):
        requantize(np.array([1]), 2**31, 31)


def test_end_to_end_scale_product():
    # s_in * s_w / s_out, the usual requantization scale
    s = 0.02 * 0.003 / 0.05
    M, c = dyadic(s)
    acc = np.arange(-50_000, 50_000, 7, dtype=np.int32)
    got = requantize(acc, M, c, rounding="half_away")
    ideal = np.clip(np.sign(acc) * np.floor(np.abs(acc) * s + 0.5), -128, 127)
    # M/2^c differs from s by <= 2^-31 relative: results agree away from ties
    near_tie = np.abs(np.abs(acc * s) % 1 - 0.5) < 1e-6
    assert np.array_equal(got[~near_tie], ideal[~near_tie])
    assert math.isclose(dyadic_value(M, c), s, rel_tol=2**-30)
