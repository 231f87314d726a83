"""quantize / dequantize: layouts, scale formats, zero points, clipping, oracles."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.metrics import mse
from hwsim.dtypes.qtensor import QuantSpec
from hwsim.dtypes.quantize import (
    format_facts,
    symmetric_qmax,
)
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
    codes = [fmt.encode_scalar(min(max(float(v) / scale + zp, lo), hi), "rne", True) for v in row]
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
