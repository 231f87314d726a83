"""quantize / dequantize: layouts, scale formats, zero points, clipping, oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import hwsim
from hwsim.dtypes.metrics import mse
from hwsim.dtypes.qtensor import QuantSpec
from hwsim.dtypes.quantize import (
    MSE_CLIP_RATIOS,
    _fast_path,
    quantize_groups,
)
from hwsim.dtypes.scales import e8m0_exponent, format_facts, round_to_float, symmetric_qmax
from hwsim.errors import HwsimError


def _expand(qt, a):
    """A scale-layout array repeated out to the tensor's shape (group size from the spec)."""
    a = np.asarray(a)
    if qt.spec.granularity in ("group", "block"):
        axis = qt.spec.axis % qt.codes.ndim
        idx = np.arange(qt.codes.shape[axis]) // qt.spec.group_size
        a = np.take(a, idx, axis=axis)
    return np.broadcast_to(a, qt.codes.shape)


# --- layouts ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "gran, g, axis, scale_shape",
    [
        ("tensor", None, -1, (1, 1, 1)),
        ("channel", None, -1, (2, 3, 1)),
        ("channel", None, 0, (1, 3, 8)),
        ("group", 4, -1, (2, 3, 2)),
        ("group", 3, 1, (2, 1, 8)),
        ("block", 2, 0, (1, 3, 8)),
    ],
)
def test_layout_shapes_and_error_bound(gran, g, axis, scale_shape, rng):
    x = rng.normal(size=(2, 3, 8)).astype(np.float32)
    qt = hwsim.quantize(x, QuantSpec("int8", gran, g, axis=axis))
    assert qt.codes.shape == x.shape and qt.codes.dtype == np.uint8
    assert qt.scales.shape == scale_shape and qt.zero_points is None
    xh = hwsim.dequantize(qt)
    assert xh.dtype == np.float64 and xh.shape == x.shape
    s = _expand(qt, qt.scales)
    assert np.all(np.abs(xh - x) <= s / 2)
    # the absmax of every group maps to +-127 exactly
    assert np.max(np.abs(hwsim.format("int8").decode(qt.codes))) == 127


def test_group_padding(rng):
    x = rng.normal(size=(3, 10))
    with pytest.raises(HwsimError, match=r"group_size: 4 does not divide axis -1 of length 10"):
        hwsim.quantize(x, QuantSpec("int4", "group", 4))
    qt = hwsim.quantize(x, QuantSpec("int4", "group", 4, pad="zero"))
    assert qt.codes.shape == (3, 10) and qt.scales.shape == (3, 3)
    # the last, short group's scale comes from its two real elements
    assert np.array_equal(qt.scales[:, 2], np.float32(np.max(np.abs(x[:, 8:]), axis=1) / 7))
    assert np.all(np.abs(hwsim.dequantize(qt) - x) <= _expand(qt, qt.scales) / 2)


def test_scalar_dequantization_formula(rng):
    x = rng.normal(size=(4, 12))
    qt = hwsim.quantize(x, QuantSpec("int4", "group", 6, symmetric=False))
    f = hwsim.format("int4")
    s, z = _expand(qt, qt.scales), _expand(qt, qt.zero_points)
    for idx in np.ndindex(x.shape):
        want = s[idx] * (f.decode_scalar(int(qt.codes[idx])) - z[idx])
        assert hwsim.dequantize(qt)[idx] == want


# --- the quantizer against a scalar reference ---------------------------------------------
def _reference_group(row, fmt, symmetric: bool):
    """Pure-Python quantization of one group with an fp32 scale (absmax, RNE)."""
    lo, hi, is_int = format_facts(fmt)
    if symmetric:
        amax = max(abs(float(v)) for v in row)
        scale = float(np.float32(amax / symmetric_qmax(fmt))) if amax > 0 else 1.0
        zp = 0.0
    else:
        rlo, rhi = min(min(map(float, row)), 0.0), max(max(map(float, row)), 0.0)
        scale = float(np.float32((rhi - rlo) / (hi - lo))) if rhi > rlo else 1.0
        zp = lo - rlo / scale
        zp = min(max(float(round(zp)), lo), hi) if is_int else zp
    # symmetric: no zero point is added (adding 0.0 would turn -0.0 into +0.0)
    q = [float(v) / scale + zp if not symmetric else float(v) / scale for v in row]
    codes = [fmt.encode_scalar(min(max(v, lo), hi), "rne", True) for v in q]
    return codes, scale, zp


SMALL = ["int4", "uint4", "int8", "int3_sym", "float8_e4m3fn", "float6_e3m2fn", "float4_e2m1fn",
         "bitmod_fp4_er_pos", "nf4"]  # fmt: skip


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("symmetric", [True, False])
def test_vectorised_equals_scalar_reference(name, symmetric, rng):
    fmt = hwsim.format(name)
    x = rng.normal(size=(6, 16)) * rng.uniform(0.01, 100, size=(6, 1))
    # tie-rich rows: values on the format's midpoints times a power-of-two scale
    v = np.unique(fmt.values()[np.isfinite(fmt.values())])
    mids = (v[:-1] + v[1:]) / 2
    x[4] = rng.choice(np.concatenate([mids, v]), 16) * 0.25
    x[4, 0] = symmetric_qmax(fmt) * 0.25
    x[5] = 0.0
    if fmt.min_value >= 0 and symmetric:
        x = np.abs(x)
    qt = hwsim.quantize(x, QuantSpec(name, "channel", symmetric=symmetric))
    for i in range(6):
        codes, scale, zp = _reference_group(x[i], fmt, symmetric)
        assert qt.codes[i].tolist() == codes, i
        assert qt.scales[i, 0] == scale
        if not symmetric:
            assert qt.zero_points[i, 0] == zp


@pytest.mark.parametrize("name", ["int4", "int8", "uint8", "int4_sym", "int12", "int2"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_kernel_equals_generic_path(name, dtype, rng):
    fmt = hwsim.format(name)
    spec = QuantSpec(name, "group", 16)
    G = rng.normal(size=(40, 16)) * np.exp2(rng.integers(-20, 20, (40, 1)))
    qmax = symmetric_qmax(fmt)
    G[:10] = (rng.integers(-20, 20, (10, 16)) + 0.5) / 4  # ties
    G[:10, 0] = qmax / 4
    G[10] = 0.0
    G[11] = 1e-44  # the scale underflows float32 to 2^-149
    G[12, :3] = [-1e38, 3e38, -3.4e38]
    G = G.astype(dtype)
    fast = _fast_path(G, fmt, spec)
    assert fast is not None
    slow = quantize_groups(G, fmt, spec, None, fast=False)
    assert np.array_equal(fast[0], slow[0]) and fast[0].dtype == slow[0].dtype
    assert np.array_equal(fast[1], slow[1])
    # G[11]'s scale underflows float32 (raised to 2^-149) where qmax is large enough
    underflows = int(np.float32(float(np.abs(G[11]).max()) / qmax) == 0)
    assert fast[2] == slow[4] == {"scale_saturated": underflows}
    # non-finite input: the kernel declines and the generic path decides
    G[5, 5] = np.inf
    assert _fast_path(G, fmt, spec) is None
    G[5, 5] = np.nan
    with pytest.raises(HwsimError, match="NaN"):
        quantize_groups(G, fmt, spec, None)


# --- symmetric vs asymmetric, torch oracle --------------------------------------------------
def test_asymmetric_uses_full_range_and_keeps_zero(rng):
    x = rng.uniform(0, 10, size=(4, 64))
    x[:, 0] = 0.0
    sym = hwsim.quantize(x, QuantSpec("int8", "channel"))
    asym = hwsim.quantize(x, QuantSpec("int8", "channel", symmetric=False))
    assert np.all(asym.zero_points == -128)
    assert np.all(hwsim.dequantize(asym)[:, 0] == 0)
    err = {k: mse(x, hwsim.dequantize(q)) for k, q in (("s", sym), ("a", asym))}
    assert err["a"] < err["s"] / 3
    xz = rng.normal(size=(2, 32)) + 3
    zp = hwsim.quantize(xz, QuantSpec("int8", "channel", symmetric=False)).zero_points
    assert np.all(zp == np.round(zp)) and np.all((zp >= -128) & (zp <= 127))


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
@pytest.mark.parametrize("dtype, name", [("quint8", "uint8"), ("qint8", "int8")])
def test_int8_per_channel_affine_matches_torch(dtype, name, rng):
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(16, 96)) * rng.uniform(0.1, 5, (16, 1)) + rng.normal(size=(16, 1))
    x = x.astype(np.float32)
    qt = hwsim.quantize(x, QuantSpec(name, "channel", symmetric=False))
    lo, hi, _ = format_facts(hwsim.format(name))
    # torch's observer computes the same scales and zero points (its arithmetic is float32)
    obs = torch.ao.quantization.PerChannelMinMaxObserver(
        ch_axis=0, dtype=getattr(torch, dtype), qscheme=torch.per_channel_affine
    )
    obs(torch.from_numpy(x))
    t_scale, t_zp = obs.calculate_qparams()
    np.testing.assert_allclose(qt.scales[:, 0], t_scale.numpy(), rtol=2**-22)
    scales = torch.from_numpy(qt.scales[:, 0])
    zps = torch.from_numpy(qt.zero_points[:, 0].astype(np.int64))
    codes = torch.quantize_per_channel(torch.from_numpy(x), scales, zps, 0, getattr(torch, dtype))
    ours = hwsim.format(name).decode(qt.codes)
    theirs = codes.int_repr().numpy().astype(np.float64)
    # torch rounds x * fl32(1/scale) in float32; hwsim rounds x / scale once: they may
    # differ only where x / scale lies within float32 noise of a tie
    q = x / qt.scales + qt.zero_points
    near_tie = np.abs(np.abs(q - np.floor(q)) - 0.5) < 1e-4
    assert np.array_equal(ours[~near_tie], theirs[~near_tie])
    assert np.count_nonzero(ours != theirs) <= np.count_nonzero(near_tie)
    fq = torch.fake_quantize_per_channel_affine(
        torch.from_numpy(x), scales.float(), zps.int(), 0, int(lo), int(hi)
    )
    xh = hwsim.dequantize(qt)
    np.testing.assert_allclose(xh[~near_tie], fq.numpy()[~near_tie], rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")
def test_pow2_scales_match_torch_exactly_on_ties(rng):
    torch = pytest.importorskip("torch")
    # power-of-two scales make x / scale exact in float32 too: every tie must agree (RNE)
    k = rng.integers(-300, 300, size=(8, 64))
    x = ((k + 0.5) / 16).astype(np.float32)
    qt = hwsim.quantize(x, QuantSpec("int8", "channel", scale_format="pow2", symmetric=False))
    assert np.all(np.log2(qt.scales) == np.round(np.log2(qt.scales)))
    scales = torch.from_numpy(qt.scales[:, 0])
    zps = torch.from_numpy(qt.zero_points[:, 0].astype(np.int64))
    t = torch.quantize_per_channel(torch.from_numpy(x), scales, zps, 0, torch.qint8)
    assert np.array_equal(hwsim.format("int8").decode(qt.codes), t.int_repr().numpy())


# --- scale formats --------------------------------------------------------------------------
def test_round_to_float_matches_numpy_and_ml_dtypes(rng):
    s = np.exp(rng.uniform(-30, 30, 20000))
    assert np.array_equal(round_to_float(s, 23, -126, 3.4e38), s.astype(np.float32))
    small = s[s < 60000]
    assert np.array_equal(round_to_float(small, 10, -14, 65504.0), small.astype(np.float16))
    ml_dtypes = pytest.importorskip("ml_dtypes")
    s32 = s.astype(np.float32).astype(np.float64)  # ml_dtypes casts via float32
    want = s32.astype(np.float32).astype(ml_dtypes.bfloat16).astype(np.float64)
    assert np.array_equal(round_to_float(s32, 7, -126, float.fromhex("0x1.fep127")), want)
    # ties round to even, overflow saturates
    assert round_to_float(np.array([1 + 2.0**-11]), 10, -14, 65504.0)[0] == 1.0
    assert round_to_float(np.array([1e6]), 10, -14, 65504.0)[0] == 65504.0


@pytest.mark.parametrize("sf, check", [
    ("fp16", lambda s: np.array_equal(s, s.astype(np.float16))),
    ("bf16", lambda s: np.all(np.frexp(s)[0] * 2**8 % 1 == 0)),
    ("pow2", lambda s: np.all(np.frexp(s)[0] == 0.5)),
])  # fmt: skip
def test_scale_formats(sf, check, rng):
    x = rng.normal(size=(8, 64)) * rng.uniform(0.001, 1000, (8, 1))
    qt = hwsim.quantize(x, QuantSpec("int8", "group", 16, scale_format=sf))
    assert check(qt.scales)
    assert np.all(
        np.abs(hwsim.dequantize(qt) - x)
        <= _expand(qt, qt.scales) / 2 * (1 + 1e-12)
        + (np.abs(x) - 127 * _expand(qt, qt.scales)).clip(0)
    )
    if sf == "pow2":  # the smallest power of two that does not clip
        raw = np.max(np.abs(x).reshape(8, 4, 16), axis=2) / 127
        assert np.all((qt.scales >= raw) & (qt.scales < 2 * raw))
        assert np.array_equal(np.ldexp(1.0, qt.scale_codes), qt.scales)


def test_int_scale_codes_with_second_level_scale(rng):
    x = rng.normal(size=(4, 256)) * rng.uniform(0.01, 10, (4, 1))
    qt = hwsim.quantize(x, QuantSpec("int4", "group", 32, scale_format="int8"))
    s2 = qt.meta["scale2"]
    assert s2 == float(np.float32(s2))
    raw = np.max(np.abs(x).reshape(4, 8, 32), axis=2) / 7
    assert s2 == float(np.float32(raw.max() / 255))
    assert np.array_equal(qt.scale_codes, np.clip(np.rint(raw / s2), 1, 255).astype(np.uint8))
    assert np.array_equal(qt.scales, qt.scale_codes * s2)
    with pytest.raises(HwsimError, match="scale_format: expected fp32, fp16, bf16, e8m0, pow2"):
        hwsim.quantize(x, QuantSpec("int4", "group", 32, scale_format="int17"))


def test_e8m0_rules_known_values():
    f = hwsim.format("float4_e2m1fn")  # emax 2
    amax = np.array([6.0, 7.0, 4.0, 6.5, 0.0, 1e-300, 1e300])
    assert e8m0_exponent(amax, f, "floor").tolist() == [0, 0, 0, 0, -127, -127, 127]
    assert e8m0_exponent(amax, f, "ceil").tolist() == [1, 1, 0, 1, -127, -127, 127]
    # 7 = 0.875 * 2^3: 3.5 rounds to 4 (even) -> carries; 6.5: 3.25 -> 3
    assert e8m0_exponent(amax, f, "even").tolist() == [0, 1, 0, 0, -127, -127, 127]
    assert e8m0_exponent(amax, f, "rceil").tolist() == [0, 1, 0, 1, -127, -127, 127]


MX_ELEMENTS = {"fp8_e4m3": "float8_e4m3fn", "fp8_e5m2": "float8_e5m2", "fp6_e2m3": "float6_e2m3fn",
               "fp6_e3m2": "float6_e3m2fn", "fp4": "float4_e2m1fn", "int8": "int8_sym"}  # fmt: skip


def _tie_rich_blocks(rng, n_blocks=64):
    x = rng.choice([-1, 1], (n_blocks, 32)) * np.exp2(rng.uniform(-12, 12, (n_blocks, 1)))
    x = x * rng.choice([0.5, 0.625, 0.75, 0.875, 1.0, 0.9375, 0.96875, 0.53125], (n_blocks, 32))
    x[::3] = rng.normal(size=(len(x[::3]), 32)) * 10.0 ** rng.integers(-5, 5, (len(x[::3]), 1))
    x[1, :] = 0.0
    return x.astype(np.float32)


@pytest.mark.parametrize("rule", ["floor", "ceil", "even", "rceil"])
@pytest.mark.parametrize("mx", list(MX_ELEMENTS))
def test_block_e8m0_equals_mx_format(mx, rule, rng):
    x = _tie_rich_blocks(rng)
    spec = QuantSpec(MX_ELEMENTS[mx], "block", 32, scale_format="e8m0", scale_rule=rule)
    qt = hwsim.quantize(x, spec)
    block = hwsim.format(f"mx{mx}" + ("" if rule == "floor" else f"_{rule}"))
    assert np.array_equal(hwsim.dequantize(qt), block.round(x))
    scale_codes, element_codes = block.encode_blocks(x)
    assert np.array_equal(qt.codes.reshape(element_codes.shape), element_codes)
    # MXINT8 implies 2^-6 on its int8 elements: its exponents are 6 higher (both clip the
    # all-zero block to code 0)
    shift = np.where(scale_codes.ravel() > 0, 6 if mx == "int8" else 0, 0)
    assert np.array_equal(qt.scale_codes.ravel() + shift, scale_codes.ravel())


def test_e8m0_nan_block_like_mx(rng):
    x = rng.normal(size=(2, 64)).astype(np.float32)
    x[0, 40] = np.nan
    spec = QuantSpec("float8_e4m3fn", "block", 32, scale_format="e8m0")
    qt = hwsim.quantize(x, spec)
    assert qt.scale_codes.tolist() == [[qt.scale_codes[0, 0], 255], qt.scale_codes[1].tolist()]
    xh = hwsim.dequantize(qt)
    assert np.all(np.isnan(xh[0, 32:])) and np.all(np.isfinite(xh[0, :32]))
    assert np.array_equal(xh, hwsim.format("mxfp8_e4m3").round(x), equal_nan=True)
    with pytest.raises(HwsimError, match="e8m0 \\(MX\\) scales are symmetric only"):
        hwsim.quantize(x[1], QuantSpec("int8", "block", 32, scale_format="e8m0", symmetric=False))


# --- clipping and rounding -----------------------------------------------------------------
def test_mse_clipping_never_worse_than_absmax(rng):
    x = rng.standard_t(2, size=(16, 128))
    base = QuantSpec("int4", "group", 32)
    a = hwsim.quantize(x, base)
    m = hwsim.quantize(x, QuantSpec("int4", "group", 32, clipping="mse"))
    err = {k: np.sum((hwsim.dequantize(q) - x).reshape(64, 32) ** 2, axis=1) for k, q in
           (("a", a), ("m", m))}  # fmt: skip
    assert np.all(err["m"] <= err["a"])
    assert err["m"].sum() < 0.9 * err["a"].sum()
    assert set(np.unique(m.meta["clip_ratios"])) <= set(MSE_CLIP_RATIOS)
    again = hwsim.quantize(x, QuantSpec("int4", "group", 32, clipping="mse"))
    assert np.array_equal(again.codes, m.codes) and np.array_equal(again.scales, m.scales)


def test_percentile_clipping(rng):
    x = rng.normal(size=(4, 1000))
    x[:, 0] = 100.0
    full = hwsim.quantize(x, QuantSpec("int8", "channel", clipping="percentile", percentile=100))
    assert np.array_equal(full.scales, hwsim.quantize(x, QuantSpec("int8", "channel")).scales)
    p99 = hwsim.quantize(x, QuantSpec("int8", "channel", clipping="percentile", percentile=99.0))
    want = np.float32(np.percentile(np.abs(x), 99.0, axis=1) / 127)
    assert np.array_equal(p99.scales[:, 0], want)
    assert np.all(hwsim.format("int8").decode(p99.codes[:, 0]) == 127)  # clipped
    asym = QuantSpec("int8", "channel", clipping="percentile", percentile=99.0, symmetric=False)
    assert hwsim.quantize(x, asym).zero_points.shape == (4, 1)
    with pytest.raises(HwsimError, match=r"percentile: expected a number in \(0, 100\]"):
        hwsim.quantize(x, QuantSpec("int8", clipping="percentile", percentile=0))


def test_rounding_is_passed_to_the_format(rng):
    x = rng.normal(size=(4, 64))
    tz = hwsim.quantize(x, QuantSpec("int4", "channel", rounding="toward_zero"))
    q = x / tz.scales
    assert np.array_equal(hwsim.format("int4").decode(tz.codes), np.clip(np.trunc(q), -8, 7))
    spec = QuantSpec("int4", "channel", rounding="stochastic")
    with pytest.raises(HwsimError, match="stochastic' needs rng"):
        hwsim.quantize(x, spec)
    a = hwsim.quantize(x, spec, rng=np.random.default_rng(5))
    b = hwsim.quantize(x, spec, rng=np.random.default_rng(5))
    assert np.array_equal(a.codes, b.codes)
    v = hwsim.format("int4").decode(a.codes)
    assert np.all((v == np.floor(q)) | (v == np.ceil(q)) | (np.abs(q) > 7))


# --- properties ----------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float32, (3, 8), elements=st.floats(-1e6, 1e6, width=32)),
    name=st.sampled_from(["int8", "int4", "float8_e4m3fn", "float4_e2m1fn", "bitmod_fp4"]),
    gran=st.sampled_from(["tensor", "channel", "group"]),
)
def test_round_trip_is_idempotent(x, name, gran):
    spec = QuantSpec(name, gran, 4 if gran == "group" else None)
    qt = hwsim.quantize(x, spec)
    xh = hwsim.dequantize(qt)
    assert np.all(np.isfinite(xh))
    again = hwsim.quantize(xh, spec)
    assert np.array_equal(again.codes, qt.codes) or np.array_equal(hwsim.dequantize(again), xh)
    # symmetric quantization is odd: -x gives the negated values
    if name != "int8" and name != "int4":
        assert np.array_equal(hwsim.dequantize(hwsim.quantize(-x, spec)), -xh)


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float64, (2, 16), elements=st.floats(-1e3, 1e3)))
def test_int8_error_bound_property(x):
    qt = hwsim.quantize(x, QuantSpec("int8", "channel", symmetric=False))
    # a scale in float32's subnormal range has few significant bits: no half-step bound there
    assume(np.all(qt.scales >= 2.0**-126))
    assert np.all(np.abs(hwsim.dequantize(qt) - x) <= _expand(qt, qt.scales) * (0.5 + 1e-9))


# --- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("args, kw, match", [
    (("int8", "row"), {}, "QuantSpec.granularity: expected one of tensor, channel"),
    (("int8", "group"), {}, "QuantSpec.group_size: granularity 'group' needs an integer"),
    (("int8", "clipping"), {}, "QuantSpec.granularity: expected one of"),
    (("int8",), {"clipping": "max"}, "QuantSpec.clipping: expected one of absmax, mse"),
    (("int8",), {"scale_format": "fp8"}, "QuantSpec.scale_format: expected fp32"),
    (("int8",), {"scale_format": "e8m0", "scale_rule": "up"}, "QuantSpec.scale_rule"),
    (("int8",), {"scale_rule": "up"}, "QuantSpec.scale_rule: expected one of floor"),
    (("olive_int4",), {"clipping": "percentile", "percentile": 101}, "QuantSpec.percentile"),
    (("int8",), {"rounding": "nearest"}, "rounding: expected one of"),
    (("int9x",), {}, "QuantSpec.format: unknown format 'int9x'"),
    (("int8", "group", 4), {"pad": "wrap"}, "QuantSpec.pad: expected error or zero"),
    (("int8",), {"symmetric": False, "scale_format": "e8m0"}, "e8m0 .MX. scales are symmetric"),
])  # fmt: skip
def test_bad_specs_are_refused_when_built(args, kw, match):
    with pytest.raises(HwsimError, match=match):
        QuantSpec(*args, **kw)


def test_axis_is_checked_against_the_tensor(rng):
    spec = QuantSpec("int8", "channel", axis=3)
    with pytest.raises(HwsimError, match=r"QuantSpec.axis: expected an integer in \[-2, 1\]"):
        hwsim.quantize(rng.normal(size=(2, 8)), spec)


def test_bad_arguments():
    with pytest.raises(HwsimError, match="quantize: expected a QuantSpec"):
        hwsim.quantize(np.ones(4), "int8")
    with pytest.raises(HwsimError, match="quantize: expected a real-valued array"):
        hwsim.quantize(np.array(["a"]), QuantSpec("int8"))
    with pytest.raises(HwsimError, match="dequantize: expected a QTensor"):
        hwsim.dequantize(np.ones(4))


def test_non_finite_inputs_follow_the_format(rng):
    x = rng.normal(size=16)
    x[3], x[5] = np.nan, np.inf
    qt = hwsim.quantize(x, QuantSpec("float8_e4m3fn"))
    xh = hwsim.dequantize(qt)
    assert np.isnan(xh[3]) and xh[5] == 448 * qt.scales[0]  # saturating quantizer
    fin = np.isfinite(x)
    assert qt.scales[0] == np.float32(np.max(np.abs(x[fin])) / 448)
    with pytest.raises(HwsimError, match="NaN"):
        hwsim.quantize(x, QuantSpec("int8"))
    assert math.isfinite(hwsim.quantize(np.zeros(4), QuantSpec("int8")).scales[0])


@pytest.mark.parametrize("spec", [
    QuantSpec("int8"), QuantSpec("int8", "channel"), QuantSpec("float8_e4m3fn", clipping="mse"),
    QuantSpec(("int4", "int8")), QuantSpec("int8", "group", 4, axis=0, pad="zero"),
])  # fmt: skip
def test_empty_tensors(spec):
    qt = hwsim.quantize(np.zeros((0, 4), np.float32), spec)
    assert qt.codes.shape == (0, 4) and hwsim.dequantize(qt).shape == (0, 4)


def _small_formats() -> list[str]:
    names = [n for n in hwsim.formats() if not n.startswith(("mx", "bfp"))]
    return [
        n for n in names if hwsim.format(n).bits <= 8 and n not in ("olive_int4", "olive_flint4")
    ]


@pytest.mark.parametrize("name", _small_formats())
def test_every_small_format_every_value_and_midpoint(name):
    """Each format of <= 8 bits: a group holding every value and every midpoint (scaled by a
    power of two, so that x / scale is exact and every tie is a real tie) quantizes exactly as
    the scalar reference does; asymmetric too."""
    fmt = hwsim.format(name)
    v = np.unique(fmt.values()[np.isfinite(fmt.values())])
    qmax = symmetric_qmax(fmt)
    row = np.concatenate([[qmax], v, (v[:-1] + v[1:]) / 2])
    row = np.clip(row, -qmax, qmax) * 0.125
    for symmetric in (True, False):
        qt = hwsim.quantize(row[None, :], QuantSpec(name, "channel", symmetric=symmetric))
        codes, scale, zp = _reference_group(row, fmt, symmetric)
        assert qt.codes[0].tolist() == codes
        assert qt.scales[0, 0] == scale


@pytest.mark.parametrize("name", ["mxfp4", "mxfp8_e4m3_rceil", "mxint8", "bfp6_b16"])
@pytest.mark.parametrize("axis", [-1, 0])
def test_block_format_named_in_spec_equals_its_own_round(rng, name, axis):
    fmt = hwsim.format(name)
    x = rng.standard_t(3, size=(3, 4 * fmt.block)) * 10.0 ** rng.integers(-3, 3, size=(3, 1))
    xx = x if axis == -1 else x.T.copy()
    qt = hwsim.quantize(xx, QuantSpec(format=name, axis=axis))
    assert qt.spec.granularity == "block" and qt.spec.scale_format == "e8m0"
    assert qt.codes.shape == xx.shape
    want = fmt.round(x) if axis == -1 else fmt.round(x).T
    assert np.array_equal(hwsim.dequantize(qt), want)


def test_block_format_refuses_other_granularities():
    with pytest.raises(HwsimError, match=r"mxfp4 brings its own blocks of 32 .* got 'channel'"):
        hwsim.quantize(np.ones((2, 64)), QuantSpec(format="mxfp4", granularity="channel"))


@pytest.mark.parametrize(
    "spec",
    [
        QuantSpec("int8", "tensor"),
        QuantSpec("int4", "channel", axis=2, symmetric=False),
        QuantSpec("fp_e2m1", "group", 16, scale_format="int8"),
        QuantSpec(("int4", "fp_e2m1"), "group", 16, scale_format="int8", clipping="mse"),
        QuantSpec(("int4", "fp_e2m1"), "group", 16, menu_select="tensor"),
        QuantSpec("mxfp4", "block", 32, scale_format="e8m0"),
        QuantSpec("olive_int4", "group", 16, clipping="mse"),
        QuantSpec("int4", "group", 24, pad="zero"),
    ],
    ids=lambda s: f"{s.granularity}-{s.format}",
)
def test_an_instance_of_a_batch_is_the_batch_quantized_as_one_tensor(rng, spec):
    from hwsim.dtypes import dequantize, quantize
    from hwsim.dtypes.qtensor import instance

    x = rng.standard_normal((3, 5, 64)) * np.array([1.0, 4.0, 0.25])[:, None, None]
    x[1, 2, 7] = 40.0  # an outlier in one instance moves the per-tensor scale of all
    qt = quantize(x, spec)
    whole = dequantize(qt)
    for b in range(3):
        part = instance(qt, b)
        assert part.shape == (5, 64)
        assert np.array_equal(dequantize(part), whole[b])
    if spec.granularity == "tensor":  # not the instance's own scale
        assert not np.array_equal(dequantize(quantize(x[0], spec)), whole[0])
