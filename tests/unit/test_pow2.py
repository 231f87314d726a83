"""pow2_e{E} and denseshift{B}: value tables, tie rules, the zero crossing, saturation,
sign/exponent helpers, and scalar == vectorised exhaustively in every rounding mode."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.pow2 import DenseShiftFormat, Pow2Format
from hwsim.errors import HwsimError

ROUNDINGS = ("rne", "ties_away", "toward_zero", "down", "up", "stochastic")


def test_value_tables():
    np.testing.assert_array_equal(
        hwsim.format("pow2_e2").values(), [0, 0.25, 0.5, 1, -0.0, -0.25, -0.5, -1]
    )
    pot = hwsim.format("pow2_e3")  # ANT's 4-bit pot {0, +-2^0..+-2^6} scaled by 2^-6
    powers = 2.0 ** np.arange(7)
    np.testing.assert_array_equal(
        np.unique(pot.values() * 64), np.concatenate([-powers[::-1], [0], powers])
    )
    ds = hwsim.format("denseshift3")  # 3 bits -> 8 non-zero levels
    np.testing.assert_array_equal(ds.values(), [0.125, 0.25, 0.5, 1, -0.125, -0.25, -0.5, -1])
    assert np.count_nonzero(ds.values()) == 8
    np.testing.assert_array_equal(hwsim.format("denseshift1").values(), [1, -1])
    assert (pot.p_min, pot.p_max, ds.p_min, ds.bits, pot.bits) == (-6, 0, -3, 3, 4)
    assert (ds.max_value, ds.min_value) == (1.0, -1.0)
    for f in (pot, ds):
        assert hwsim.format(f.name) == f


@pytest.mark.parametrize(
    "name, match",
    [
        ("pow2_e0", r"pow2_e0: exponent bits must be an integer in 1\.\.8, got 0"),
        ("pow2_e9", r"pow2_e9: exponent bits must be an integer in 1\.\.8"),
        ("denseshift0", r"denseshift0: width must be an integer in 1\.\.9, got 0"),
        ("denseshift10", r"denseshift10: width must be an integer in 1\.\.9"),
    ],
)
def test_invalid_names(name, match):
    with pytest.raises(HwsimError, match=match):
        hwsim.format(name)


def test_bad_arguments():
    f = hwsim.format("denseshift3")
    with pytest.raises(HwsimError, match=r"denseshift3: saturate=False is not available"):
        f.encode([0.5], saturate=False)
    with pytest.raises(HwsimError, match=r"pow2_e3: cannot encode NaN"):
        hwsim.format("pow2_e3").encode([0.5, np.nan])
    with pytest.raises(HwsimError, match=r"pow2_e3: cannot encode NaN"):
        hwsim.format("pow2_e3").encode_scalar(float("nan"))
    with pytest.raises(HwsimError, match=r"rounding: expected one of"):
        f.encode([0.5], rounding="even")


def test_ties_saturation_and_zero():
    f = hwsim.format("pow2_e2")  # 0, 1/4, 1/2, 1
    x = np.array([0.375, -0.375, 0.125, -0.125, 0.75, 3.0, -np.inf, -0.0, 1e-300])
    np.testing.assert_array_equal(f.round(x), [0.5, -0.5, 0, 0, 0.5, 1, -1, 0, 0])  # even codes
    np.testing.assert_array_equal(
        f.round(x, rounding="ties_away"), [0.5, -0.5, 0.25, -0.25, 1, 1, -1, 0, 0]
    )
    assert f.encode(np.array([-0.0, -1e-300]))[0] == 0  # zero is always code 0
    np.testing.assert_array_equal(f.round([0.3, -0.3], rounding="down"), [0.25, -0.5])
    np.testing.assert_array_equal(f.round([0.3, -0.3], rounding="up"), [0.5, -0.25])
    np.testing.assert_array_equal(f.round([0.3, -0.3], rounding="toward_zero"), [0.25, -0.25])


def test_denseshift_zero_crossing():
    f = hwsim.format("denseshift3")  # +-{1/8 .. 1}
    x = np.array([0.0, -0.0, 0.01, -0.01, 0.0625, -0.0625])
    np.testing.assert_array_equal(f.round(x), [0.125, 0.125, 0.125, -0.125, 0.125, -0.125])
    np.testing.assert_array_equal(f.round(x, rounding="toward_zero"), f.round(x))
    np.testing.assert_array_equal(f.round(x, rounding="down"), [-0.125] * 6)
    np.testing.assert_array_equal(f.round(x, rounding="up"), [0.125] * 6)
    # stochastic: +1/8 with probability (x + 1/8) / (1/4)
    y = np.full(100_000, 0.0625)
    r = f.round(y, rounding="stochastic", rng=np.random.default_rng(2))
    assert abs((r > 0).mean() - 0.75) < 0.01


def test_sign_and_exponent_helpers():
    for f in (Pow2Format(3), Pow2Format(1), DenseShiftFormat(4), DenseShiftFormat(1)):
        c = f.codes()
        s, p = f.sign(c), f.exponent(c)
        assert s.dtype == np.int8 and p.dtype == np.int64
        np.testing.assert_array_equal(s * np.ldexp(1.0, p), f.decode(c))
        assert set(np.unique(p)) <= set(range(f.p_min, 1))
        np.testing.assert_array_equal(f.is_zero(c), f.decode(c) == 0)


def grid(f) -> np.ndarray:
    """Every value, every midpoint of neighbours and both float64 neighbours of each, and
    values beyond the range."""
    v = np.unique(f.values())
    mids = (v[:-1] + v[1:]) / 2
    pts = np.concatenate([v, mids])
    extra = [2.0, -2.0, 1.5, -1.5, np.inf, -np.inf, 0.0, -0.0, 1e-300, -1e-300, 5e-324]
    return np.concatenate([pts, np.nextafter(pts, -np.inf), np.nextafter(pts, np.inf), extra])


FORMATS = [Pow2Format(e) for e in range(1, 8)] + [DenseShiftFormat(b) for b in range(1, 9)]


@pytest.mark.parametrize("f", FORMATS, ids=str)
def test_scalar_equals_vectorised_exhaustive(f):
    x = grid(f)
    for rounding in ROUNDINGS:
        rng = np.random.default_rng(4) if rounding == "stochastic" else None
        got = f.encode(x, rounding=rounding, rng=rng)
        draws = np.random.default_rng(4).random(x.shape) if rng else [None] * x.size
        want = [f.encode_scalar(v, rounding=rounding, u=d) for v, d in zip(x, draws)]
        np.testing.assert_array_equal(got, np.array(want, dtype=f.code_dtype), err_msg=rounding)
    c = f.codes()
    np.testing.assert_array_equal(f.decode(c), [f.decode_scalar(k) for k in c])
    # every producible code round-trips
    keep = ~(f.is_zero(c) & (f.sign(c) == 0) & (c != 0))
    np.testing.assert_array_equal(f.encode(f.decode(c[keep])), c[keep])


def test_stochastic_unbiased_inside_the_range():
    f = hwsim.format("pow2_e3")
    for x0 in (0.3, -0.3, 0.01, -0.7):
        r = f.round(np.full(100_000, x0), rounding="stochastic", rng=np.random.default_rng(8))
        assert abs(r.mean() - x0) < 0.01 * max(abs(x0), 0.1)
