"""Minifloat formats: scalar reference == numba codec, and both == ml_dtypes / apytypes / numpy."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

import hwsim
from hwsim.dtypes import format_names
from hwsim.dtypes.base import Rounding
from hwsim.dtypes.minifloat import FloatFormat
from hwsim.errors import HwsimError

ML_NAMES = [  # every ml_dtypes float type
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz",
    "float8_e4m3", "float8_e3m4", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn",
    "float8_e8m0fnu", "bfloat16",
]  # fmt: skip
EXTRA_SMALL = [  # custom biases and every convention at odd sizes
    "fp_e4m3b8", "fp_e2m1b-1", "fp_e3m2b0", "minifloat_e3m2b3_ieee", "minifloat_e2m1b1_ieee",
    "minifloat_e3m0b3_fn", "minifloat_e2m2b2_fnuz", "minifloat_e4m0b7_fnu", "minifloat_e5m0b15_fnu",
]  # fmt: skip
SMALL = sorted(
    {n for n in format_names() if isinstance(hwsim.format(n), FloatFormat)} | set(EXTRA_SMALL),
    key=str,
)
SMALL = [n for n in SMALL if hwsim.format(n).bits <= 8]
MODES = [r.value for r in Rounding]


def probe_points(f: FloatFormat) -> np.ndarray:
    """float32: every value, every midpoint (also past max and below the smallest), each +-1 ulp,
    both signs, +-0, +-inf, NaN of both signs."""
    v = f.values()
    mags = np.unique(np.abs(v[np.isfinite(v)]))
    step_past_max = math.ldexp(1.0, f.emax - f.man_bits)
    grid = np.concatenate([[mags[0] / 4, mags[0] / 2], mags, [f.max_value + step_past_max]])
    pts = np.concatenate([grid, (grid[:-1] + grid[1:]) / 2])
    with np.errstate(over="ignore"):
        pts32 = pts.astype(np.float32)
    pts32 = pts32[pts32.astype(np.float64) == pts]  # keep those float32 holds exactly
    big, zero = np.float32(np.inf), np.float32(0)
    near = np.concatenate([pts32, np.nextafter(pts32, big), np.nextafter(pts32, zero)])
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], dtype=np.float32)
    return np.concatenate([near, -near, specials])


def log_uniform(f: FloatFormat, n: int, rng: np.random.Generator) -> np.ndarray:
    lo = max(math.log2(f.min_positive) - 4, -149)
    hi = min(math.log2(f.max_value) + 2, 127.99)
    x = np.exp2(rng.uniform(lo, hi, n)) * rng.choice([-1.0, 1.0], n)
    return x.astype(np.float32)


def ml_cast(x: np.ndarray, name: str) -> np.ndarray:
    f = hwsim.format(name)
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(getattr(ml_dtypes, name)).view(f.code_dtype)


def assert_codes_equal(ours, ref, x):
    bad = np.nonzero(ours != ref)[0]
    assert bad.size == 0, (
        f"{bad.size} differ, e.g. x={x[bad[:4]]} ours={ours[bad[:4]]} ref={ref[bad[:4]]}"
    )


# --- scalar reference == vectorised -----------------------------------------------------------


@pytest.mark.parametrize("name", SMALL)
def test_scalar_equals_vectorised_every_mode(name, rng):
    f = hwsim.format(name)
    x = probe_points(f)
    sats = [None] if f.saturates_by_default else [False, True]
    for mode in MODES:
        for sat in sats:
            seed = int(rng.integers(2**32))
            got = f.encode(x, mode, sat, rng=np.random.default_rng(seed))
            draws = np.random.default_rng(seed).random(x.shape)
            u = draws if mode == "stochastic" else [None] * x.size
            want = [f.encode_scalar(v, mode, sat, u=w) for v, w in zip(x, u)]
            assert_codes_equal(got, np.array(want, dtype=got.dtype), x)


@pytest.mark.parametrize("name", SMALL)
def test_decode_and_classify_scalar_equal_vectorised(name):
    f = hwsim.format(name)
    codes = f.codes()
    got = f.decode(codes)
    want = np.array([f.decode_scalar(c) for c in codes])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.array_equal(got[ok].view(np.uint64), want[ok].view(np.uint64))  # -0 included
    assert list(f.classify(codes)) == [f.classify_scalar(c) for c in codes]


@pytest.mark.parametrize(
    "name", ["float8_e4m3fn", "float4_e2m1fn", "float8_e5m2fnuz", "bfloat16", "fp_e1m2", "fp_e7m0"]
)
def test_bit_rounding_path_equals_general_path(name, rng):
    # encode rounds normal inputs by shifting bits; the general path (stochastic rounding,
    # subnormal inputs) must agree with it wherever both apply.
    f = hwsim.format(name)
    x32 = np.concatenate([probe_points(f), log_uniform(f, 20_000, rng)])
    for x in (x32, x32.astype(np.float64) * (1 + rng.uniform(-1e-9, 1e-9, x32.size))):
        for mode in [m for m in MODES if m != "stochastic"]:
            for sat in (False, True):
                fast = f._encode(x, mode, sat, None, bit_path=True)
                assert_codes_equal(fast, f._encode(x, mode, sat, None, bit_path=False), x)


def test_float64_inputs_are_rounded_once():
    f = hwsim.format("float8_e4m3fn")
    x = 1.0625 + 2.0**-30  # just above the 1 / 1.125 midpoint; float32 would make it a tie
    assert f.decode(f.encode(np.float64(x))) == 1.125
    assert f.decode_scalar(f.encode_scalar(x)) == 1.125
    assert f.decode(f.encode(np.float32(x))) == 1.0


# --- against outside oracles ----------------------------------------------------------------


@pytest.mark.parametrize("name", ML_NAMES)
def test_matches_ml_dtypes_cast(name, rng):
    f = hwsim.format(name)
    mode = "ties_away" if name == "float8_e8m0fnu" else "rne"  # ml_dtypes' e8m0 ties go up
    x = np.concatenate([probe_points(f), log_uniform(f, 1_000_000, rng)])
    assert_codes_equal(f.encode(x, mode), ml_cast(x, name), x)
    assert_codes_equal(f.encode(x, mode, saturate=False), ml_cast(x, name), x)
    clipped = np.clip(x, -f.max_value, f.max_value)
    assert_codes_equal(f.encode(x, mode, saturate=True), ml_cast(clipped, name), x)


@pytest.mark.parametrize("name", ML_NAMES)
def test_decode_matches_ml_dtypes(name):
    f = hwsim.format(name)
    codes = f.codes()
    ours = f.decode(codes)
    with np.errstate(invalid="ignore"):  # ml_dtypes warns on NaN codes
        ref = codes.view(getattr(ml_dtypes, name)).astype(np.float64)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert np.array_equal(ours[ok].view(np.uint64), ref[ok].view(np.uint64))
    info = ml_dtypes.finfo(getattr(ml_dtypes, name))
    assert f.max_value == float(info.max)
    assert f.min_normal == float(info.smallest_normal)


def test_float16_matches_numpy(rng):
    f = hwsim.format("float16")
    x = np.concatenate([probe_points(f), log_uniform(f, 1_000_000, rng)])
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    assert_codes_equal(f.encode(x)[~nan], ref[~nan], x[~nan])
    assert set(f.encode(x[nan]).tolist()) == {0x7E00, 0xFE00}  # quiet NaN, sign kept


APY_MODES = {
    "rne": "TIES_EVEN", "ties_away": "TIES_AWAY", "toward_zero": "TO_ZERO",
    "down": "TO_NEG", "up": "TO_POS",
}  # fmt: skip


@pytest.mark.parametrize(
    "name", ["float8_e4m3", "float8_e5m2", "float8_e3m4", "float16", "minifloat_e3m2b3_ieee"]
)
def test_ieee_formats_match_apytypes_from_float64(name, rng):
    apy = pytest.importorskip("apytypes")
    f = hwsim.format(name)
    p = probe_points(f).astype(np.float64)
    p = p[np.isfinite(p)]
    x = np.concatenate(
        [p, np.nextafter(p, np.inf), np.nextafter(p, -np.inf), log_uniform(f, 50_000, rng) * 1.0]
    )
    x = np.concatenate([x, x + x * rng.uniform(-(2**-20), 2**-20, x.size)])  # float64-only bits
    src = apy.APyFloatArray.from_float(x, 11, 52, 1023)
    for mode, apy_mode in APY_MODES.items():
        ref = src.cast(f.exp_bits, f.man_bits, f.bias, getattr(apy.QuantizationMode, apy_mode))
        ref = np.asarray(ref.to_bits()).astype(f.code_dtype).ravel()
        assert_codes_equal(f.encode(x, mode), ref, x)


# --- documented facts ------------------------------------------------------------------------

FACTS = {  # name: (max, min normal, min subnormal): OCP OFP8 rev 1.0, OCP MX v1.0
    "float8_e4m3fn": (448, 2**-6, 2**-9),
    "float8_e5m2": (57344, 2**-14, 2**-16),
    "float8_e4m3fnuz": (240, 2**-7, 2**-10),
    "float8_e5m2fnuz": (57344, 2**-15, 2**-17),
    "float6_e2m3fn": (7.5, 1, 0.125),
    "float6_e3m2fn": (28, 0.25, 0.0625),
    "float4_e2m1fn": (6, 1, 0.5),
    "float8_e8m0fnu": (2.0**127, 2.0**-127, None),
}


@pytest.mark.parametrize("name", FACTS)
def test_reference_table(name):
    f = hwsim.format(name)
    assert (f.max_value, f.min_normal, f.min_subnormal) == FACTS[name]
    assert hwsim.format(f.name) == f


def test_measured_casts_and_specials():
    e4m3 = hwsim.format("float8_e4m3fn")
    assert e4m3.round(np.float32([464, 465, -464])).tolist()[0] == 448
    assert np.isnan(e4m3.round(np.float32(465)))
    assert e4m3.encode([np.inf, -np.inf]).tolist() == [0x7F, 0xFF]
    assert e4m3.encode([np.inf, -np.inf, 1e9], saturate=True).tolist() == [0x7E, 0xFE, 0x7E]
    fp4 = hwsim.format("float4_e2m1fn")
    assert fp4.round([5.0, 2.5, 7.0, np.inf, -np.inf]).tolist() == [4, 2, 6, 6, -6]
    for sat in (None, False, True):  # no inf, no NaN: always saturates
        assert fp4.round([7.0, 1e9, -np.inf], saturate=sat).tolist() == [6, 6, -6]
    assert fp4.encode(np.float32([np.nan, -np.nan])).tolist() == [0x8, 0x0]  # as ml_dtypes
    fnuz = hwsim.format("float8_e4m3fnuz")
    assert fnuz.encode([-0.0, -1e-9, np.nan, 1e9]).tolist() == [0, 0, 0x80, 0x80]
    e5m2 = hwsim.format("float8_e5m2")
    assert e5m2.encode([61439.0, 61440.0, np.nan]).tolist() == [0x7B, 0x7C, 0x7E]


def test_directed_modes_and_overflow():
    f = hwsim.format("float8_e4m3fn")
    x = np.array([1.1, -1.1])
    assert f.round(x, "down").tolist() == [1.0, -1.125]
    assert f.round(x, "up").tolist() == [1.125, -1.0]
    assert f.round(x, "toward_zero").tolist() == [1.0, -1.0]
    assert f.round([500.0, -500.0], "toward_zero").tolist() == [448, -448]  # IEEE 754 7.4
    assert np.isnan(f.round(500.0, "up")) and f.round(-500.0, "up") == -448
    assert f.round([1.0625, -1.0625], "ties_away").tolist() == [1.125, -1.125]


def test_stochastic_rounding_is_unbiased_and_reproducible(rng):
    f = hwsim.format("float8_e4m3fn")
    x = np.full(200_000, 1.1)  # 80% of the way from 1.0 to 1.125
    a = f.encode(x, "stochastic", rng=np.random.default_rng(7))
    b = f.encode(x, "stochastic", rng=np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert abs(f.decode(a).mean() - 1.1) < 1e-3
    assert set(f.decode(a).tolist()) == {1.0, 1.125}


def test_names_and_listing():
    names = format_names()
    fp = [n for n in names if n.startswith("fp_e")]
    assert len(fp) == 27 and "fp_e1m1" in fp and "fp_e7m0" in fp and "fp_e1m6" in fp
    for n in [*ML_NAMES, "float16", *fp, *EXTRA_SMALL]:
        f = hwsim.format(n)
        assert hwsim.format(f.name) == f
    assert np.array_equal(hwsim.format("fp_e2m1").values(), hwsim.format("float4_e2m1fn").values())
    assert hwsim.format("fp_e4m3").max_value == 480  # OCP-style: all codes finite
    assert hwsim.format("fp_e4m3b8").max_value == 240
    assert hwsim.format("bfloat16").bits == 16 and hwsim.format("float8_e8m0fnu").bits == 8


def test_input_kinds():
    f = hwsim.format("float8_e4m3fn")
    want = f.encode(np.array([1.0, -2.0, 3.0]))
    for x in ([1, -2, 3], np.array([1, -2, 3], np.int8), np.float16([1, -2, 3])):
        assert np.array_equal(f.encode(x), want)
    assert np.array_equal(f.encode(np.array([1, -2, 3], dtype=ml_dtypes.bfloat16)), want)
    assert f.encode(2.0).shape == () and f.encode(np.ones((2, 3))).shape == (2, 3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: hwsim.format("fp_e0m3"), r"fp_e0m3: exponent bits: expected >= 1, got 0"),
        (lambda: hwsim.format("fp_e5m4"), r"fp_e5m4: expected 3 \.\. 8 bits in all"),
        (lambda: hwsim.format("fp_e1m0"), r"fp_e1m0: expected 3 \.\. 8 bits in all"),
        (lambda: hwsim.format("fp_e4m3b2000"), r"FloatFormat.bias: 2000 puts values outside"),
        (lambda: hwsim.format("float8_e4m3fnx"), r"unknown format 'float8_e4m3fnx'"),
        (lambda: FloatFormat(4, 3, 7, "weird"), r"FloatFormat.convention: expected one of"),
        (lambda: FloatFormat(4, 0, 7, "ieee"), r"man_bits: the ieee convention needs >= 1"),
        (lambda: FloatFormat(8, 1, 127, "fnu"), r"man_bits: fnu formats have 0, got 1"),
        (lambda: FloatFormat(4, 3.0, 7), r"FloatFormat.man_bits: expected an integer, got 3.0"),
        (lambda: FloatFormat(10, 30, 511), r"expected at most 32 bits in all, got 41"),
        (lambda: hwsim.format("float4_e2m1fn").encode(1.0, "nearest"), r"rounding: expected"),
        (lambda: hwsim.format("float4_e2m1fn").encode(1.0, "stochastic"), r"needs rng="),
        (lambda: hwsim.format("float4_e2m1fn").encode(1.0, saturate="yes"), r"saturate: expected"),
        (lambda: hwsim.format("float4_e2m1fn").encode(1j), r"x: expected real numbers"),
        (lambda: hwsim.format("float4_e2m1fn").encode(np.int64(2**60)), r"above 2\*\*53"),
        (lambda: hwsim.format("float4_e2m1fn").decode([16]), r"codes must lie in \[0, 2\*\*4\)"),
        (
            lambda: hwsim.format("float4_e2m1fn").decode([1.0]),
            r"expected integer codes, got dtype float64",
        ),
        (lambda: hwsim.format("float4_e2m1fn").decode_scalar(-1), r"expected a code in 0 \.\. 15"),
        (
            lambda: hwsim.format("float4_e2m1fn").encode_scalar(1.0, "stochastic"),
            r"needs the draw u",
        ),
    ],
)
def test_errors(call, match):
    with pytest.raises(HwsimError, match=match):
        call()


# --- exhaustive (slow): every float32 ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in ML_NAMES if n != "bfloat16"])
def test_every_float32_matches_ml_dtypes(name):
    f = hwsim.format(name)
    chunk = 2**24
    for start in range(0, 2**32, chunk):
        x = np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32).view(np.float32)
        ref = ml_cast(x, name)
        assert_codes_equal(f.encode(x), ref, x)
        outside = np.abs(x) > f.max_value  # elsewhere clipping leaves x as it is
        ref[outside] = ml_cast(np.clip(x[outside], -f.max_value, f.max_value), name)
        assert_codes_equal(f.encode(x, saturate=True), ref, x)
