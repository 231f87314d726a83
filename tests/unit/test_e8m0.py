"""float8_e8m0fnu (OCP MX v1.0 E8M0) casts against ml_dtypes and gfloat, exhaustively where the
oracles used to disagree: the lowest binade (2**-127, 2**-126) and every float32 near each of the
255 values, their midpoints (ties) and their geometric midpoints."""

from __future__ import annotations

import gfloat
import ml_dtypes
import numpy as np
import pytest
from gfloat.formats import format_info_ocp_e8m0

import hwsim

F = hwsim.format("float8_e8m0fnu")
TINY = 2.0**-127
GFLOAT_MODES = {
    "rne": gfloat.RoundMode.TiesToEven,
    "ties_away": gfloat.RoundMode.TiesToAway,
    "toward_zero": gfloat.RoundMode.TowardZero,
    "down": gfloat.RoundMode.TowardNegative,
    "up": gfloat.RoundMode.TowardPositive,
}


def ml_codes(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(ml_dtypes.float8_e8m0fnu).view(np.uint8)


def gfloat_codes(x: np.ndarray, mode: str, saturate: bool) -> np.ndarray:
    """gfloat's cast; only for inputs >= 2**-127 (below it gfloat returns values E8M0 lacks)."""
    assert np.all(x >= TINY)
    r = gfloat.round_ndarray(
        format_info_ocp_e8m0, x.astype(np.float64), GFLOAT_MODES[mode], saturate
    )
    return gfloat.encode_ndarray(format_info_ocp_e8m0, r).astype(np.uint8)


def assert_codes_equal(ours, ref, x):
    bad = np.nonzero(ours != ref)[0]
    assert bad.size == 0, (
        f"{bad.size} differ, e.g. x={x[bad[:4]]} ours={ours[bad[:4]]} ref={ref[bad[:4]]}"
    )


def float32_range(lo: float, hi: float) -> np.ndarray:
    """Every float32 in [lo, hi] (both float32, positive)."""
    a, b = np.float32(lo).view(np.int32), np.float32(hi).view(np.int32)
    return np.arange(a, b + 1, dtype=np.int32).view(np.float32)


def neighbourhoods(ulps: int) -> np.ndarray:
    """Every positive finite float32 within `ulps` of 2**k, 1.5 * 2**k and 2**(k + 0.5)."""
    k = np.arange(-127, 128)
    centres = np.concatenate([2.0**k, 1.5 * 2.0**k, 2.0 ** (k + 0.5)]).astype(np.float32)
    bits = centres.view(np.int32)[:, None] + np.arange(-ulps, ulps + 1, dtype=np.int32)
    x = np.unique(bits.ravel().view(np.float32))
    return x[np.isfinite(x) & (x > 0)]


def test_rules():
    assert F.round([1.5, 3.0, 0.75, 1.4999, 6.0]).tolist() == [2, 2, 0.5, 1, 8]  # ties to even
    assert F.round([1.5, 3.0, 0.75, 1.4999, 6.0], "ties_away").tolist() == [2, 4, 1, 1, 8]
    assert F.encode([0.0, -0.0, -1.0, np.nan, np.inf, 2.0**128]).tolist() == [255] * 6
    assert F.encode([np.inf, 2.0**128], saturate=True).tolist() == [254, 254]
    assert F.encode([1.5 * 2.0**127]).tolist() == [254]  # a tie, 254 is even
    assert F.encode([1.5 * 2.0**127], "ties_away").tolist() == [255]  # up past the top: NaN
    # the lowest binade is rounded like every other (ml_dtypes 0.5 sent all of it up)
    x = [TINY / 8, TINY, TINY * 1.01, TINY * 1.4999, TINY * 1.5, TINY * 1.9]
    assert F.encode(x).tolist() == [0, 0, 0, 0, 0, 1]
    assert F.encode(x, "ties_away").tolist() == [0, 0, 0, 0, 1, 1]
    for mode in ("toward_zero", "down", "up"):  # no zero: nothing lies below 2**-127
        assert F.encode([TINY / 8, 2.0**-149], mode).tolist() == [0, 0]
    assert F.encode([1.01, 1.99], "toward_zero").tolist() == [127, 127]
    assert F.encode([1.01, 1.99], "up").tolist() == [128, 128]
    assert F.classify(np.array([0, 127, 255], dtype=np.uint8)).tolist() == [
        "normal", "normal", "nan",
    ]  # fmt: skip


def test_lowest_binade_every_float32():
    x = float32_range(TINY, 2.0**-126)
    assert x.size == 2**22 + 1
    assert_codes_equal(F.encode(x, "ties_away"), ml_codes(x), x)
    for mode in GFLOAT_MODES:
        assert_codes_equal(F.encode(x, mode), gfloat_codes(x, mode, False), x)
    below = float32_range(2.0**-149, np.nextafter(np.float32(TINY), np.float32(0)))
    assert_codes_equal(F.encode(below, "ties_away"), ml_codes(below), below)
    for mode in GFLOAT_MODES:
        assert not F.encode(below, mode).any(), mode  # all 2**-127


@pytest.mark.parametrize("saturate", [False, True])
def test_every_value_tie_and_geometric_midpoint_neighbourhood(saturate):
    x = neighbourhoods(ulps=1000)
    clipped = np.minimum(x, np.float32(F.max_value)) if saturate else x
    assert_codes_equal(F.encode(x, "ties_away", saturate), ml_codes(clipped), x)
    above, below = x[x >= TINY], x[x < TINY]
    for mode in GFLOAT_MODES:
        want = gfloat_codes(above, mode, saturate)
        assert_codes_equal(F.encode(above, mode, saturate), want, above)
        assert not F.encode(below, mode, saturate).any(), mode


def test_scalar_reference_in_the_neighbourhoods():
    x = neighbourhoods(ulps=3)
    x = np.concatenate([x, float32_range(TINY * 1.4999, TINY * 1.5001)])
    for mode in GFLOAT_MODES:
        want = np.array([F.encode_scalar(v, mode) for v in x], dtype=np.uint8)
        assert_codes_equal(F.encode(x, mode), want, x)


@pytest.mark.slow
def test_every_float32_matches_ml_dtypes():
    step = 2**24
    for start in range(0, 2**32, step):
        x = np.arange(start, start + step, dtype=np.uint32).view(np.float32)
        assert_codes_equal(F.encode(x, "ties_away"), ml_codes(x), x)
