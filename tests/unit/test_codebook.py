"""Codebook formats: shipped tables, tie rules, scalar reference == vectorised, errors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import hwsim
from hwsim.dtypes.codebook import TIE_RULES, CodebookFormat
from hwsim.dtypes.codebook_tables import SHIPPED
from hwsim.errors import HwsimError

NAMES = sorted(SHIPPED)
MODES = ["rne", "ties_away", "toward_zero", "down", "up", "stochastic"]


def probe_points(fmt: CodebookFormat) -> np.ndarray:
    """Every value, every midpoint and its +-1 ulp neighbours, and out-of-range inputs."""
    v = fmt.values_sorted
    mids = (v[:-1] + v[1:]) / 2
    pts = [v, mids, np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf)]
    pts += [np.nextafter(v, np.inf), np.nextafter(v, -np.inf)]
    span = fmt.max_abs
    pts.append(np.array([0.0, -0.0, np.inf, -np.inf, 3 * span, -3 * span, 1e300, -1e300]))
    return np.concatenate(pts)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", MODES)
def test_scalar_reference_equals_vectorised(name, mode):
    fmt = hwsim.format(name)
    x = probe_points(fmt)
    rng = np.random.default_rng(7)
    codes = fmt.encode(x, rounding=mode, rng=rng)
    draws = np.random.default_rng(7).random(x.shape) if mode == "stochastic" else [None] * len(x)
    ref = [fmt.encode_scalar(xi, rounding=mode, u=ui) for xi, ui in zip(x, draws)]
    np.testing.assert_array_equal(codes, np.array(ref, dtype=fmt.code_dtype))
    assert codes.dtype == fmt.code_dtype


@pytest.mark.parametrize("name", NAMES)
def test_decode_scalar_equals_vectorised_and_roundtrip(name):
    fmt = hwsim.format(name)
    codes = fmt.codes()
    vals = fmt.decode(codes)
    assert vals.dtype == np.float64
    assert [fmt.decode_scalar(c) for c in codes] == list(vals)
    # every encodable value encodes back to its canonical code
    np.testing.assert_array_equal(fmt.encode(fmt.values_sorted), fmt.codes_sorted)
    np.testing.assert_array_equal(fmt.decode(fmt.codes_sorted), fmt.values_sorted)


@pytest.mark.parametrize("name", NAMES)
def test_nearest_is_nearest(name, rng):
    fmt = hwsim.format(name)
    x = rng.uniform(-1.5 * fmt.max_abs, 1.5 * fmt.max_abs, 20_000)
    got = fmt.round(x)
    dist = np.abs(x[:, None] - fmt.values_sorted[None, :]).min(axis=1)
    np.testing.assert_array_equal(np.abs(got - x), dist)


def test_registry_round_trip():
    names = hwsim.formats()
    for name in NAMES:
        assert name in names
        assert hwsim.format(name) == SHIPPED[name]
        assert hwsim.format(name).name == name


# --- shipped tables ------------------------------------------------------------------
# The literal lists of BitMoD's own code (awq/quantize/auto_dtype.py), sorted ascending.
BITMOD_LISTS = {
    "bitmod_fp3": [-4, -2, -1, 0, 1, 2, 4],
    "bitmod_fp3_er_pos": [-4, -2, -1, 0, 1, 2, 3, 4],
    "bitmod_fp3_er_neg": [-4, -3, -2, -1, 0, 1, 2, 4],
    "bitmod_fp3_ea_pos": [-4, -2, -1, 0, 1, 2, 4, 6],
    "bitmod_fp3_ea_neg": [-6, -4, -2, -1, 0, 1, 2, 4],
    "bitmod_fp4": [-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12],
    "bitmod_fp4_er_pos": [-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 10, 12],
    "bitmod_fp4_er_neg": [-12, -10, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12],
    "bitmod_fp4_ea_pos": [-12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12, 16],
    "bitmod_fp4_ea_neg": [-16, -12, -8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8, 12],
}


@pytest.mark.parametrize("name", sorted(BITMOD_LISTS))
def test_bitmod_values_and_special_slot(name):
    fmt = hwsim.format(name)
    assert list(fmt.values_sorted) == BITMOD_LISTS[name]
    z = 2 ** (fmt.bits - 1)
    if name in ("bitmod_fp3", "bitmod_fp4"):
        assert fmt.special_code is None and fmt.decode_scalar(z) == 0.0
    else:
        assert fmt.special_code == z
        extra = {"er_pos": (3, 10), "er_neg": (-3, -10), "ea_pos": (6, 16), "ea_neg": (-6, -16)}
        extra = extra[name.split("_", 2)[2]][fmt.bits - 3]
        assert fmt.special_value == extra
        assert fmt.encode_scalar(extra) == z  # the special value is emitted through "-0"


@pytest.mark.parametrize("variant", ["", "_er_pos", "_er_neg", "_ea_pos", "_ea_neg"])
def test_bitmod_fp4_is_e2m1_times_two_outside_the_special_slot(variant):
    fmt = hwsim.format("bitmod_fp4" + variant)
    codes = np.array([c for c in range(16) if c != 8], dtype=np.uint8)
    e2m1 = codes.view(ml_dtypes.float4_e2m1fn).astype(np.float64)
    np.testing.assert_array_equal(fmt.decode(codes), 2 * e2m1)


def _bitmod_reference(x: np.ndarray, allow: list[float]) -> np.ndarray:
    """BitMoD's quantizer rule: mid[i-1] < x <= mid[i] -> allow[i] (ascending list)."""
    mid = [(allow[i] + allow[i + 1]) / 2 for i in range(len(allow) - 1)]
    out = np.zeros_like(x)
    for i, a in enumerate(allow):
        lo = x > mid[i - 1] if i > 0 else np.ones(x.shape, bool)
        hi = x <= mid[i] if i < len(mid) else np.ones(x.shape, bool)
        out += np.where(lo & hi, a, 0)
    return out


@pytest.mark.parametrize("name", sorted(BITMOD_LISTS))
def test_bitmod_matches_its_quantizer_rule_on_ties(name, rng):
    fmt = hwsim.format(name)
    x = np.concatenate([probe_points(fmt), rng.uniform(-20, 20, 5000)])
    np.testing.assert_array_equal(fmt.round(x), _bitmod_reference(x, BITMOD_LISTS[name]))
    assert fmt.round(np.array([-2.5]))[0] == (-3 if "fp4" in name or "er_neg" in name else -2)
    if "fp4" in name or "er_neg" in name:  # -2.5 is a tie there: the smaller value wins
        assert fmt.round(np.array([-2.5, 2.5])).tolist() == [-3, 2]


def _ant_flint_magnitudes(value_bit: int) -> list[float]:
    """ANT's flint_value() generator (unsigned part), re-derived: 0, then exponent groups."""
    vals = [0.0]
    for i in range(value_bit):  # negative exponents, exp field of i+2 bits
        mant = value_bit - (i + 2)
        vals += [2.0 ** -(i + 1) * (1 + j / 2**mant) for j in range(int(2**mant))]
    mant = value_bit - 2
    vals += [1 + j / 2**mant for j in range(2**mant)]
    for i in range(1, value_bit - 1):
        mant = value_bit - (i + 2)
        vals += [2.0**i * (1 + j / 2**mant) for j in range(2**mant)]
    vals.append(2.0 ** (value_bit - 1))
    return sorted(vals)


def test_ant_tables():
    flint = np.array(_ant_flint_magnitudes(3)) * 4
    assert list(flint) == [0, 1, 2, 3, 4, 6, 8, 16]
    assert list(hwsim.format("ant_flint4").values_sorted) == sorted({*flint, *-flint})
    assert list(hwsim.format("ant_pot4").values_sorted) == sorted(
        {0, *(2**i for i in range(7)), *(-(2**i) for i in range(7))}
    )
    assert list(hwsim.format("ant_int4").values_sorted) == list(range(-8, 8))
    # ANT's 4-bit signed float has a 3-bit exponent and no mantissa: the pot value set
    np.testing.assert_array_equal(
        hwsim.format("ant_float4").values_sorted, hwsim.format("ant_pot4").values_sorted
    )
    # two's complement codes of ant_int4 agree with ml_dtypes' int4 storage type
    codes = np.arange(16, dtype=np.uint8)
    want = ((codes.astype(np.int16) + 8) % 16 - 8).astype(ml_dtypes.int4).astype(np.float64)
    np.testing.assert_array_equal(hwsim.format("ant_int4").decode(codes), want)


def test_ant_and_olive_ties_go_up():
    got = hwsim.format("ant_flint4").round(np.array([12.0, -12.0, 5.0]))
    assert got.tolist() == [16, -8, 6]
    assert hwsim.format("olive_int4").round(np.array([2.0, -2.0, 26.0])).tolist() == [4, 0, 28]


def test_olive_tables_share_one_unit():
    assert list(hwsim.format("olive_int4").values_sorted) == [4 * k for k in range(-7, 8)]
    assert hwsim.format("olive_flint4").max_abs == 32
    ab = hwsim.format("olive_abfloat4")
    mags = [48, 64, 96, 128, 192, 256, 384]
    assert list(ab.values_sorted) == sorted([*mags, *(-m for m in mags)])
    # E2M1 layout with bias: code = sign<<3 | e<<1 | m, value 2^(e+5) * (1 + m/2)
    for code in range(16):
        s, e, m = code >> 3, (code >> 1) & 3, code & 1
        want = 0.0 if (e, m) == (0, 0) else (-1) ** s * 2.0 ** (e + 5) * (1 + m / 2)
        assert ab.decode_scalar(code) == want
    # reserved codes and the identifier are never emitted
    x = np.linspace(-500, 500, 100_001)
    assert not np.isin(ab.encode(x), [0, 8]).any()
    for name in ("olive_int4", "olive_flint4"):
        fmt = hwsim.format(name)
        assert fmt.special_code == 8 and fmt.special_value == 0.0
        assert not (fmt.encode(x) == 8).any()


# bitsandbytes' NF4 table and its dQuantizeNF4 decision thresholds (float32 literals)
NF4 = [
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
]  # fmt: skip
BNB_THRESHOLDS = np.array([
    -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544,
    -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767,
    0.1202552504837513, 0.2035212516784668, 0.2920137718319893, 0.3893125355243683,
    0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
], dtype=np.float32)  # fmt: skip


def test_nf4_table_and_bitsandbytes_rule(rng):
    fmt = hwsim.format("nf4")
    assert list(fmt.decode(fmt.codes())) == NF4
    assert all(float(np.float32(v)) == v for v in NF4)  # float32 values, held exactly
    mids = ((fmt.values_sorted[:-1] + fmt.values_sorted[1:]) / 2).astype(np.float32)
    x = np.concatenate(
        [rng.uniform(-1.2, 1.2, 50_000).astype(np.float32), mids, BNB_THRESHOLDS,
         np.nextafter(BNB_THRESHOLDS, np.float32(2)), np.nextafter(BNB_THRESHOLDS, np.float32(-2))]
    )  # fmt: skip
    bnb = np.searchsorted(BNB_THRESHOLDS, x, side="left")  # code = #thresholds with x > t
    got = fmt.encode(x)
    exact_mid = (np.array(NF4[:-1]) + np.array(NF4[1:])) / 2
    # bnb's float32 thresholds sit a hair off the true midpoints; they differ only there
    differ = got != bnb
    assert set(x[differ].tolist()) <= set(BNB_THRESHOLDS[exact_mid < BNB_THRESHOLDS].tolist())
    assert fmt.encode_scalar(exact_mid[3]) == 3  # an exact tie goes to the smaller value


# --- tie rules and rounding modes --------------------------------------------------------
def test_every_tie_rule_on_a_custom_codebook():
    table = (0.0, 1.0, 3.0, 5.0, 0.0, -1.0, -3.0, -5.0)
    want = {  # inputs 2, -2, 4, -4, 0.5, -0.5
        "lower": [1, -3, 3, -5, 0, -1],
        "upper": [3, -1, 5, -3, 1, 0],
        "away": [3, -3, 5, -5, 1, -1],
        "toward_zero": [1, -1, 3, -3, 0, 0],
        "even_code": [3, -3, 3, -3, 0, 0],  # codes 1|2, 6|5, 2|3, 7|6, 0|1, 5|0
    }
    assert set(want) == set(TIE_RULES)
    x = np.array([2.0, -2.0, 4.0, -4.0, 0.5, -0.5])
    for rule, expected in want.items():
        fmt = CodebookFormat("t", table, tie=rule)
        assert fmt.round(x).tolist() == expected, rule
        assert [fmt.decode_scalar(fmt.encode_scalar(v)) for v in x] == expected, rule
        assert fmt.round(x, rounding="ties_away").tolist() == want["away"]


def test_directed_and_stochastic_rounding():
    fmt = hwsim.format("bitmod_fp3")
    x = np.array([1.5, -1.5, 3.0, -3.0, 9.0, -9.0])
    assert fmt.round(x, rounding="down").tolist() == [1, -2, 2, -4, 4, -4]
    assert fmt.round(x, rounding="up").tolist() == [2, -1, 4, -2, 4, -4]
    assert fmt.round(x, rounding="toward_zero").tolist() == [1, -1, 2, -2, 4, -4]
    xs = np.full(40_000, 1.25)
    a = fmt.round(xs, rounding="stochastic", rng=np.random.default_rng(1))
    b = fmt.round(xs, rounding="stochastic", rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) == {1.0, 2.0}
    assert abs(a.mean() - 1.25) < 0.02  # 40k draws: 4 sigma is about 0.009


# --- errors ------------------------------------------------------------------------------
def test_user_errors():
    fmt = hwsim.format("nf4")
    with pytest.raises(HwsimError, match="nf4: saturate=False is not available"):
        fmt.encode([0.5], saturate=False)
    with pytest.raises(HwsimError, match="nf4: NaN input"):
        fmt.encode([0.5, np.nan])
    with pytest.raises(HwsimError, match="nf4: NaN input"):
        fmt.encode_scalar(float("nan"))
    with pytest.raises(HwsimError, match=r"nf4.decode: codes must lie in \[0, 16\)"):
        fmt.decode(np.array([3, 16]))
    with pytest.raises(HwsimError, match="nf4.decode: expected integer codes"):
        fmt.decode(np.array([0.5]))
    with pytest.raises(HwsimError, match="rounding: expected one of"):
        fmt.encode([0.5], rounding="nearest")
    with pytest.raises(HwsimError, match="needs rng=numpy.random.Generator"):
        fmt.encode([0.5], rounding="stochastic")
    with pytest.raises(HwsimError, match=r"t.table: expected 2\*\*bits values"):
        CodebookFormat("t", (0.0, 1.0, 2.0))
    with pytest.raises(HwsimError, match="t.table: expected finite values"):
        CodebookFormat("t", (0.0, np.nan))
    with pytest.raises(HwsimError, match="t.tie: expected one of lower"):
        CodebookFormat("t", (0.0, 1.0), tie="nearest")
    with pytest.raises(HwsimError, match=r"t.reserved: expected a code in \[0, 2\)"):
        CodebookFormat("t", (0.0, 1.0), reserved=(2,))
    with pytest.raises(HwsimError, match="unknown format 'bitmod_fp5'"):
        hwsim.format("bitmod_fp5")
