"""Block formats (MX, BFP): against an ml_dtypes reference, scalar == vectorised, errors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import hwsim
from hwsim.dtypes.block import MX_ELEMENTS, MX_NAMES, SCALE_RULES
from hwsim.errors import HwsimError

ML = {
    "fp8_e4m3": ml_dtypes.float8_e4m3fn,
    "fp8_e5m2": ml_dtypes.float8_e5m2,
    "fp6_e2m3": ml_dtypes.float6_e2m3fn,
    "fp6_e3m2": ml_dtypes.float6_e3m2fn,
    "fp4": ml_dtypes.float4_e2m1fn,
}
EMAX = {"fp8_e4m3": 8, "fp8_e5m2": 15, "fp6_e2m3": 2, "fp6_e3m2": 4, "fp4": 2, "int8": 0}
MBITS = {"fp8_e4m3": 3, "fp8_e5m2": 2, "fp6_e2m3": 3, "fp6_e3m2": 2, "fp4": 1, "int8": 6}
CASES = [(e, r) for e in MX_ELEMENTS for r in SCALE_RULES]


def mx_name(elem: str, rule: str) -> str:
    return f"mx{elem}" + ("" if rule == "floor" else f"_{rule}")


def elem_max(elem: str) -> float:
    return 127 / 64 if elem == "int8" else float(ml_dtypes.finfo(ML[elem]).max)


# --- the reference: float32 bit tricks (torchao style) + ml_dtypes clip-then-cast ----------
def ref_scale_exponent(amax: np.ndarray, elem: str, rule: str) -> np.ndarray:
    bits = amax.astype(np.float32).view(np.int32).astype(np.int64)
    if rule == "rceil":
        d = amax.astype(np.float32) * np.float32(1.0 / elem_max(elem))
        db = d.view(np.int32).astype(np.int64)
        be, mant = (db >> 23) & 0xFF, db & 0x7FFFFF
        code = be + np.where(be == 0, mant > 0x400000, mant != 0)
        return np.minimum(code, 254) - 127
    if rule == "even":  # add half an element ulp, keep the exponent field
        bits = (bits + (1 << (23 - MBITS[elem] - 1))) & 0x7F800000
    pow2 = ((bits >> 23) & 0xFF) - 127
    if rule == "ceil":
        pow2 = pow2 + ((amax.astype(np.float32).view(np.int32) & 0x7FFFFF) > 0)
    return np.clip(pow2 - EMAX[elem], -127, 127)


def ref_encode(x: np.ndarray, elem: str, rule: str) -> np.ndarray:
    """(n_blocks, 33) codes of float32 blocks x (n_blocks, 32)."""
    x = x.astype(np.float32)
    finite = np.isfinite(x).all(axis=1)
    amax = np.where(finite, np.abs(np.where(np.isfinite(x), x, 0)).max(axis=1), 0)
    k = ref_scale_exponent(amax.astype(np.float32), elem, rule)
    x = np.where(finite[:, None], x, 0)  # non-finite blocks: codes are overwritten below
    v = np.ldexp(x, -k[:, None]).astype(np.float32)  # exact power-of-two scaling in float32
    mx = elem_max(elem)
    if elem == "int8":
        q = np.clip(np.rint(v * 64), -127, 127)
        codes = q.astype(np.int8).view(np.uint8)
    else:
        codes = np.clip(v, -mx, mx).astype(ML[elem]).view(np.uint8)
    codes = np.where(finite[:, None], codes, 0)
    scale = np.where(finite, k + 127, 255).astype(np.uint8)
    return np.concatenate([scale[:, None], codes.astype(np.uint8)], axis=1)


def ref_decode(codes: np.ndarray, elem: str) -> np.ndarray:
    e = codes[:, 1:]
    if elem == "int8":
        vals = e.view(np.int8).astype(np.float64) / 64
    else:
        vals = e.view(ML[elem]).astype(np.float64)
    scale = codes[:, :1].view(ml_dtypes.float8_e8m0fnu).astype(np.float64)
    return (vals * scale).reshape(-1)


# --- data ------------------------------------------------------------------------------------
def element_grid(elem: str) -> np.ndarray:
    """Every finite element value, every midpoint, and midpoint +-1 float32 ulp."""
    if elem == "int8":
        v = np.arange(-127, 128) / 64
    else:
        bits = {"fp4": 4, "fp6_e2m3": 6, "fp6_e3m2": 6}.get(elem, 8)
        v = np.arange(2**bits, dtype=np.uint8).view(ML[elem]).astype(np.float64)
        v = np.unique(v[np.isfinite(v)])
    mids = ((v[:-1] + v[1:]) / 2).astype(np.float32)
    return np.concatenate(
        [v, mids, np.nextafter(mids, np.float32(np.inf)), np.nextafter(mids, np.float32(-np.inf))]
    ).astype(np.float32)


def tie_blocks(elem: str, rng: np.random.Generator) -> np.ndarray:
    """Blocks of element values / midpoints / +-ulp at random scales; slot 0 fixes amax."""
    grid = element_grid(elem)
    mx = elem_max(elem)
    n = -(-len(grid) // 31)
    vals = np.resize(rng.permutation(grid), (n, 31))
    k = rng.integers(-120, 100, size=(n, 1))
    head = np.where(rng.random((n, 1)) < 0.5, mx, 2.0 ** EMAX[elem])
    blocks = np.concatenate([head, vals], axis=1) * np.ldexp(1.0, k)
    return blocks.astype(np.float32)


def random_blocks(rng: np.random.Generator, n: int) -> np.ndarray:
    mag = np.exp(rng.uniform(-80, 80, size=(n, 1)) + rng.normal(0, 2, size=(n, 32)))
    return (mag * rng.choice([-1, 1], size=(n, 32))).astype(np.float32)


def special_blocks() -> np.ndarray:
    rows = np.ones((9, 32), dtype=np.float32)
    rows[0] = 0.0  # zero block
    rows[1] = -0.0  # negative zeros keep their sign in float elements
    rows[2, 5] = 1e30  # one huge outlier: the rest flush toward zero
    rows[3, 7] = np.float32(3.4e38)  # the largest float32
    rows[4] = np.float32(1e-40)  # subnormal float32 block
    rows[4, ::2] *= -1
    rows[5, 3] = np.nan  # NaN -> the whole block NaN
    rows[6, 0] = np.inf
    rows[7, 31] = -np.inf
    rows[8] = np.linspace(-1, 1, 32)
    return rows


def all_data(elem: str, rng: np.random.Generator) -> np.ndarray:
    data = [tie_blocks(elem, rng), random_blocks(rng, 500), special_blocks()]
    x = np.concatenate(data)
    if elem == "int8":  # the reference's bit tricks only model normal float32 amax here
        x = x[~(np.abs(x).max(axis=1) < 2.0**-126)]
    return x


# --- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("elem", "rule"), CASES)
def test_mx_matches_ml_dtypes_reference(elem, rule, rng):
    fmt = hwsim.format(mx_name(elem, rule))
    x = all_data(elem, rng)
    codes = fmt.encode(x.reshape(1, -1))
    assert codes.shape == (1, len(x), 33) and codes.dtype == np.uint8
    want = ref_encode(x, elem, rule)
    np.testing.assert_array_equal(codes[0], want)
    got = fmt.decode(codes)
    np.testing.assert_array_equal(got.reshape(-1), ref_decode(want, elem))
    assert got.shape == (1, x.size)


@pytest.mark.parametrize(("elem", "rule"), CASES)
def test_scalar_reference_equals_vectorised(elem, rule, rng):
    fmt = hwsim.format(mx_name(elem, rule))
    x = np.concatenate([tie_blocks(elem, rng)[:24], random_blocks(rng, 16), special_blocks()])
    if elem == "fp8_e4m3" and rule == "floor":  # float64 inputs too: no float32 detour
        x = np.concatenate([x, rng.normal(size=(8, 32)) * 1e-3])
    codes = fmt.encode(x)[:, 0]  # one block per row
    ref = np.array([fmt.encode_scalar(row) for row in x], dtype=np.uint8)
    np.testing.assert_array_equal(codes, ref)
    vals = fmt.decode(codes[:, None])
    for row_codes, row_vals in zip(codes, vals):
        np.testing.assert_array_equal(np.array(fmt.decode_scalar(row_codes)), row_vals)


@pytest.mark.parametrize("elem", list(MX_ELEMENTS))
def test_block_semantics(elem):
    fmt = hwsim.format(mx_name(elem, "floor"))
    s, e = fmt.encode_blocks(special_blocks())
    assert s.dtype == np.uint8 and s.shape == (9, 1) and e.shape == (9, 1, 32)
    vals = fmt.decode_blocks(s, e)
    assert vals.shape == (9, 32)
    s, e = s[:, 0], e[:, 0]
    assert s[0] == s[1] == 0 and not e[0].any()  # zero block: scale 2^-127, +0 elements
    assert list(s[5:8]) == [255] * 3 and not e[5:8].any()
    assert np.isnan(vals[5:8]).all() and not np.isnan(vals[[0, 1, 2, 3, 4, 8]]).any()
    assert (vals[0] == 0).all() and (vals[1] == 0).all()
    if elem != "int8":
        assert np.signbit(vals[1]).all()  # -0.0 survives in float elements
    # the outlier block keeps the outlier nearly exactly; its neighbours are flushed to 0
    assert vals[2, 5] == pytest.approx(1e30, rel=0.26) and (vals[2, np.arange(32) != 5] == 0).all()
    assert fmt.round(special_blocks()).shape == (9, 32)


def test_saturation_and_scale_rules_differ_as_documented():
    # amax = 7 -> floor: X = 1, 7 saturates to 6; ceil/even/rceil: X = 2, 7/2 -> 4
    x = np.zeros(32, dtype=np.float32)
    x[0] = 7.0
    assert hwsim.format("mxfp4").round(x)[0] == 6.0
    for rule in ("ceil", "even", "rceil"):
        assert hwsim.format(f"mxfp4_{rule}").round(x)[0] == 8.0
    x[0] = 6.5  # even rounds 6.5 = 1.625 * 4 at one mantissa bit to 1.5: stays at X = 1
    assert hwsim.format("mxfp4_even").encode(x)[0, 0] == 127
    x[0] = 7.0  # 1.75 * 4 rounds half-even to 2.0 * 4: the exponent bumps
    assert hwsim.format("mxfp4_even").encode(x)[0, 0] == 128
    x[0] = 6.0  # rceil: 6 / 6 = 1 -> X = 1 exactly; ceil: ceil(log2 6) - 2 = 1
    assert hwsim.format("mxfp4_rceil").encode(x)[0, 0] == 127
    assert hwsim.format("mxfp4_ceil").encode(x)[0, 0] == 128


def test_rceil_uses_float32_arithmetic_like_nvidia():
    # one float32 ulp above MXINT8's largest element: fl32(amax * fl32(64/127)) rounds to 1.0,
    # so the fp32 recipe keeps X = 1 and saturates (exact arithmetic would give X = 2)
    x = np.zeros(32, dtype=np.float32)
    x[0] = np.nextafter(np.float32(127 / 64), np.float32(2))
    codes = hwsim.format("mxint8_rceil").encode(x)[0]
    assert codes[0] == 127 and codes[1] == 127
    x[0] = np.nextafter(x[0], np.float32(2))  # two ulps above: the product exceeds 1
    assert hwsim.format("mxint8_rceil").encode(x)[0, 0] == 128


def test_shapes_leading_axes_and_float64(rng):
    fmt = hwsim.format("mxfp6_e3m2")
    x = rng.normal(size=(3, 2, 64))
    codes = fmt.encode(x)
    assert codes.shape == (3, 2, 2, 33)
    assert fmt.decode(codes).shape == (3, 2, 64)
    assert fmt.round(x).shape == x.shape
    # float32 input and its float64 copy give the same codes
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(fmt.encode(x32), fmt.encode(x32.astype(np.float64)))
    s, e = fmt.encode_blocks(x)
    np.testing.assert_array_equal(fmt.decode_blocks(s, e), fmt.decode(codes))


def test_facts_and_registry():
    names = hwsim.formats()
    assert set(MX_NAMES) <= set(names) and "bfp8_b16" in names
    for name in MX_NAMES:
        assert hwsim.format(name).name == name
    assert hwsim.format("mxfp4_floor") == hwsim.format("mxfp4")
    f4 = hwsim.format("mxfp4")
    assert (f4.bits, f4.bits_per_element, f4.block, f4.max_value) == (4, 4.25, 32, 6.0)
    want = np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn).astype(np.float64)
    np.testing.assert_array_equal(f4.values(), want)
    i8 = hwsim.format("mxint8")
    assert i8.bits_per_element == 8.25 and i8.max_value == 127 / 64 and i8.min_value == -2.0
    assert hwsim.format("mxfp8_e5m2").max_value == 57344.0
    assert hwsim.format("bfp4_b16").bits_per_element == 4.5
    e8m0 = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(
        f4.scale_values(e8m0), e8m0.view(ml_dtypes.float8_e8m0fnu).astype(np.float64)
    )
    np.testing.assert_array_equal(
        f4.scale_values(e8m0), hwsim.format("float8_e8m0fnu").decode(e8m0)
    )


def test_classify_element_codes():
    f8 = hwsim.format("mxfp8_e4m3")
    got = f8.classify(np.array([0, 1, 8, 0x7F, 0xFF], dtype=np.uint8)).tolist()
    assert got == ["zero", "subnormal", "normal", "nan", "nan"]
    assert hwsim.format("mxint8").classify(np.array([0, 1, 128])).tolist() == [
        "zero",
        "normal",
        "normal",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("elem", "rule"), CASES)
def test_scalar_reference_equals_vectorised_on_the_whole_grid(elem, rule):
    fmt = hwsim.format(mx_name(elem, rule))
    x = tie_blocks(elem, np.random.default_rng(3))
    np.testing.assert_array_equal(
        fmt.encode(x)[:, 0], np.array([fmt.encode_scalar(row) for row in x], dtype=np.uint8)
    )


def test_bfp(rng):
    x = random_blocks(rng, 64).reshape(4, -1)
    # bfp8_b32 is MXINT8 exactly
    np.testing.assert_array_equal(
        hwsim.format("bfp8_b32").encode(x), hwsim.format("mxint8").encode(x)
    )
    for bits, block in ((4, 16), (2, 8), (12, 4)):
        fmt = hwsim.format(f"bfp{bits}_b{block}")
        xb = x.reshape(-1, block)
        e = ((np.abs(xb).max(axis=1).view(np.int32) >> 23) & 0xFF) - 127  # floor(log2 amax)
        e = np.clip(e, -127, 127)[:, None]
        lim = 2 ** (bits - 1) - 1
        q = np.clip(np.rint(np.ldexp(xb.astype(np.float64), bits - 2 - e)), -lim, lim)
        codes = fmt.encode(xb)
        assert codes.dtype == (np.uint8 if bits <= 8 else np.uint16)
        np.testing.assert_array_equal(codes[:, 0, 0], e[:, 0] + 127)
        np.testing.assert_array_equal(codes[:, 0, 1:], q.astype(np.int64) & (2**bits - 1))
        np.testing.assert_array_equal(fmt.round(xb), np.ldexp(q, e - (bits - 2)))
        ref = np.array([fmt.encode_scalar(row) for row in xb[:20]])
        np.testing.assert_array_equal(codes[:20, 0], ref)


def test_user_errors():
    f4 = hwsim.format("mxfp4")
    with pytest.raises(
        HwsimError, match="mxfp4: the last axis has length 33, expected a multiple of the block"
    ):
        f4.encode(np.zeros(33))
    with pytest.raises(HwsimError, match="mxfp4: expected an array with a last axis"):
        f4.encode(1.0)
    with pytest.raises(HwsimError, match="mxfp4: element casts round to nearest even"):
        f4.encode(np.zeros(32), rounding="toward_zero")
    with pytest.raises(HwsimError, match="mxfp4: elements always saturate"):
        f4.encode(np.zeros(32), saturate=False)
    with pytest.raises(
        HwsimError, match=r"mxfp4.decode: expected codes shaped \(..., n_blocks, 33\)"
    ):
        f4.decode(np.zeros((2, 32), dtype=np.uint8))
    with pytest.raises(HwsimError, match=r"mxfp4.decode: element codes must lie in \[0, 16\)"):
        f4.decode(np.full((1, 33), 16, dtype=np.uint8))
    with pytest.raises(HwsimError, match="mxfp4.decode_blocks: expected scale codes"):
        f4.decode_blocks(np.zeros(2, dtype=np.uint8), np.zeros((3, 32), dtype=np.uint8))
    with pytest.raises(HwsimError, match="mxfp4: a block has 32 values, got 31"):
        f4.encode_scalar([0.0] * 31)
    with pytest.raises(HwsimError, match="bfp1_b16: mantissa bits must be 2..16, got 1"):
        hwsim.format("bfp1_b16")
    with pytest.raises(HwsimError, match="bfp8_b0: block size must be 1..65536, got 0"):
        hwsim.format("bfp8_b0")
    with pytest.raises(HwsimError, match="unknown format 'mxfp5'"):
        hwsim.format("mxfp5")
