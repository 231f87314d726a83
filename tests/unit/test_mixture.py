"""Per-group datatype selection (BitMoD mixture, ANT per-tensor type) against brute force."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.mixture import menu_formats
from hwsim.dtypes.qtensor import QuantSpec
from hwsim.errors import HwsimError

BITMOD_FP4 = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
BITMOD_FP3 = tuple(f"bitmod_fp3_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
ANT = ("ant_int4", "ant_flint4", "ant_pot4", "ant_float4")


def _fp32(v: float) -> float:
    return float(np.float32(v))


def brute_force_group(row: np.ndarray, names) -> tuple[int, list[float]]:
    """Each format alone through its scalar reference: (chosen index, values of the choice)."""
    best = None
    for k, name in enumerate(names):
        f = hwsim.format(name)
        amax = float(np.max(np.abs(row)))
        scale = _fp32(amax / f.max_abs) if amax > 0 else 1.0
        vals = [scale * f.decode_scalar(f.encode_scalar(v / scale)) for v in row]
        sse = sum((a - b) ** 2 for a, b in zip(vals, row))
        if best is None or sse < best[0]:  # strict: the lowest index wins ties
            best = (sse, k, vals)
    return best[1], best[2]


@pytest.mark.parametrize("menu", [BITMOD_FP4, BITMOD_FP3])
def test_bitmod_choice_equals_brute_force(menu, rng):
    # skewed groups so that every variant wins somewhere
    x = rng.normal(size=(6, 256)) + rng.choice([-1.5, 0, 1.5], size=(6, 1))
    x[0, :128] = np.abs(x[0, :128])
    x[1, 128:] = -np.abs(x[1, 128:])
    qt = hwsim.quantize(x, QuantSpec(menu, "group", 128))
    assert qt.format_ids.shape == qt.scales.shape == (6, 2)
    xh = hwsim.dequantize(qt)
    for i in range(6):
        for g in range(2):
            row = x[i, g * 128 : (g + 1) * 128]
            k, vals = brute_force_group(row, menu)
            assert qt.format_ids[i, g] == k
            assert np.array_equal(xh[i, g * 128 : (g + 1) * 128], vals)
    assert len(np.unique(qt.format_ids)) > 1


def test_dequantize_uses_each_groups_format(rng):
    x = rng.normal(size=(4, 64))
    qt = hwsim.quantize(x, QuantSpec(BITMOD_FP4, "group", 32))
    names = menu_formats(qt)
    xh = hwsim.dequantize(qt)
    for i in range(4):
        for g in range(2):
            f = hwsim.format(names[i, g])
            c = qt.codes[i, g * 32 : (g + 1) * 32]
            assert np.array_equal(xh[i, g * 32 : (g + 1) * 32], qt.scales[i, g] * f.decode(c))


def test_ties_go_to_lowest_index():
    x = np.zeros((2, 8))
    x[1] = [1, 2, 3, 4, -1, -2, -3, -4]
    qt = hwsim.quantize(x, QuantSpec(("bitmod_fp3", "bitmod_fp3"), "group", 8))
    assert qt.format_ids.tolist() == [[0], [0]]
    # an all-zero group is exact in every format: index 0
    qt = hwsim.quantize(x, QuantSpec(BITMOD_FP3[::-1], "group", 8))
    assert qt.format_ids[0, 0] == 0


def test_ant_per_tensor_type(rng):
    x = rng.laplace(size=(8, 32))
    spec = QuantSpec(ANT, "channel", menu_select="tensor")
    qt = hwsim.quantize(x, spec)
    assert len(np.unique(qt.format_ids)) == 1
    totals = []
    for name in ANT:
        one = hwsim.quantize(x, QuantSpec(name, "channel"))
        totals.append(np.sum((hwsim.dequantize(one) - x) ** 2))
    k = int(np.argmin(totals))
    assert qt.format_ids[0, 0] == k
    assert np.array_equal(
        hwsim.dequantize(qt), hwsim.dequantize(hwsim.quantize(x, QuantSpec(ANT[k], "channel")))
    )


def test_int8_group_scales_share_one_second_level_scale(rng):
    x = rng.normal(size=(4, 512)) * rng.uniform(0.1, 10, size=(4, 1))
    qt = hwsim.quantize(x, QuantSpec(BITMOD_FP4, "group", 128, scale_format="int8"))
    s2 = qt.meta["scale2"]
    assert s2 == float(np.float32(s2))
    assert qt.scale_codes.dtype == np.uint8 and qt.scale_codes.max() == 255
    assert np.array_equal(qt.scales, qt.scale_codes * s2)
    names = menu_formats(qt)
    for i in range(4):
        for g in range(4):
            f = hwsim.format(names[i, g])
            row = x[i, g * 128 : (g + 1) * 128]
            assert np.array_equal(
                qt.codes[i, g * 128 : (g + 1) * 128],
                f.encode(np.clip(row / qt.scales[i, g], f.min_value, f.max_value)),
            )


def test_bad_menu_select(rng):
    with pytest.raises(HwsimError, match="QuantSpec.menu_select: expected one of group, tensor"):
        hwsim.quantize(rng.normal(size=8), QuantSpec(BITMOD_FP3, menu_select="row"))
    with pytest.raises(HwsimError, match="unknown format 'bitmod_fp5'"):
        hwsim.quantize(rng.normal(size=8), QuantSpec(("bitmod_fp3", "bitmod_fp5")))
