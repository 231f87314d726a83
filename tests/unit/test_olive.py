"""OliVe outlier-victim pairs: pairing rules, identifier codes, quantize/dequantize."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.olive import (
    identifier_code,
    olive_decode_pairs,
    olive_dequantize,
    olive_encode_pair_scalar,
    olive_encode_pairs,
    olive_quantize,
)
from hwsim.dtypes.qtensor import QuantSpec
from hwsim.errors import HwsimError

INT4 = hwsim.format("olive_int4")  # normal values 4 * {0..7} (normal max 28), code 8 = "-0"
FLINT4 = hwsim.format("olive_flint4")
ABF = hwsim.format("olive_abfloat4")  # outliers +-{48, 64, 96, 128, 192, 256, 384}


@pytest.mark.parametrize(
    "pair, codes, values",
    [
        ((8.0, -12.0), (2, 11), (8.0, -12.0)),  # both normal
        ((100.0, 5.0), (3, 8), (96.0, 0.0)),  # even outlier, odd victim
        ((5.0, -200.0), (8, 13), (0.0, -192.0)),  # odd outlier, even victim
        ((300.0, -500.0), (6, 8), (256.0, 0.0)),  # both outliers: the even one is kept
        ((-500.0, 300.0), (15, 8), (-384.0, 0.0)),  # ... whatever the magnitudes
        ((28.0, 29.0), (7, 7), (28.0, 28.0)),  # past the normal max, nearer 28 than 48
        ((28.0, 37.99), (7, 7), (28.0, 28.0)),  # just below the threshold (28 + 48) / 2
        ((28.0, 38.0), (8, 1), (0.0, 48.0)),  # at the threshold: ties go to the outlier
        ((-0.1, 1.0), (0, 0), (0.0, 0.0)),  # -0.1 rounds to +0, never to the identifier
    ],
)
def test_hand_made_pairs(pair, codes, values):
    assert identifier_code(INT4) == 8
    assert olive_encode_pair_scalar(*pair, INT4, ABF) == codes
    got, outl, vict = olive_encode_pairs(np.array([pair]), INT4, ABF)
    assert tuple(got[0].tolist()) == codes
    assert tuple(olive_decode_pairs(got, INT4, ABF)[0].tolist()) == values
    assert outl.sum() == vict.sum() == (1 if 8 in codes else 0)


@pytest.mark.parametrize("normal", [INT4, FLINT4])
def test_vectorised_equals_scalar(normal, rng):
    # random values plus every midpoint of both types (ties) and the thresholds
    mids = np.concatenate([(v[:-1] + v[1:]) / 2 for v in (normal.values_sorted, ABF.values_sorted)])
    pool = np.concatenate([mids, -mids, [normal.max_abs, -normal.max_abs, 0.0, 1e6, -1e6]])
    q = np.concatenate([rng.choice(pool, 600), rng.uniform(-450, 450, 600)]).reshape(-1, 2)
    got, outl, vict = olive_encode_pairs(q, normal, ABF)
    want = [olive_encode_pair_scalar(a, b, normal, ABF) for a, b in q]
    assert got.tolist() == [list(w) for w in want]
    # decoding from the codes alone finds exactly the outliers and victims
    vals = olive_decode_pairs(got, normal, ABF)
    assert np.array_equal(got == identifier_code(normal), vict)
    assert np.all(vals[vict] == 0)
    assert np.array_equal(vals[outl], ABF.decode(got[outl]))
    assert np.all(np.abs(vals[outl]) >= 48) and np.all(np.abs(vals[~outl]) <= normal.max_abs)


def test_stochastic_rounding_matches_scalar_with_same_draws():
    q = np.random.default_rng(1).uniform(-300, 300, (50, 2))
    got, _, _ = olive_encode_pairs(q, INT4, ABF, "stochastic", np.random.default_rng(7))
    u = np.random.default_rng(7).random(q.shape)
    want = [
        olive_encode_pair_scalar(a, b, INT4, ABF, "stochastic", tuple(uu))
        for (a, b), uu in zip(q, u)
    ]
    assert got.tolist() == [list(w) for w in want]


def test_quantize_routes_and_round_trips(rng):
    x = rng.standard_t(2, size=(8, 64))
    spec = QuantSpec("olive_int4", "channel", clipping="percentile", percentile=95.0)
    qt = hwsim.quantize(x, spec)
    assert qt.meta["scheme"] == "olive"
    assert qt.codes.shape == x.shape and qt.scales.shape == (8, 1)
    assert qt.meta["n_outliers"] == qt.meta["n_victims"] == int(qt.meta["outlier_mask"].sum()) > 0
    xh = hwsim.dequantize(qt)
    assert np.array_equal(xh, olive_dequantize(qt))
    normal = ~(qt.meta["outlier_mask"] | qt.meta["victim_mask"])
    # normal elements are within half a step (4 units) of the value, in real units, or,
    # between the normal max 28 and the outlier threshold 38, saturate to 28
    scale = np.broadcast_to(qt.scales, x.shape)
    bound = np.maximum(2 * scale, np.abs(x) - 28 * scale)
    assert np.all(np.abs(xh - x)[normal] <= bound[normal] * (1 + 1e-12))
    assert np.all(np.abs(x)[normal] < 38 * scale[normal])
    assert np.all(xh[qt.meta["victim_mask"]] == 0)
    # victims sit next to their outlier in the same pair
    pairs_o = qt.meta["outlier_mask"].reshape(8, 32, 2).sum(-1)
    pairs_v = qt.meta["victim_mask"].reshape(8, 32, 2).sum(-1)
    assert np.array_equal(pairs_o, pairs_v) and pairs_o.max() == 1


def test_mse_clipping_not_worse_than_absmax(rng):
    x = rng.standard_t(3, size=(4, 128))
    errs = {}
    for clipping in ("absmax", "mse"):
        qt = olive_quantize(x, QuantSpec("olive_flint4", "group", 32, clipping=clipping))
        errs[clipping] = np.sum((olive_dequantize(qt) - x).reshape(16, 32) ** 2, axis=1)
    assert np.all(errs["mse"] <= errs["absmax"] * (1 + 1e-12))
    assert errs["mse"].sum() < errs["absmax"].sum()


def test_odd_length_needs_padding(rng):
    x = rng.normal(size=(3, 7)) * 10
    x[:, -1] = 1000  # the lone last element is an outlier: its pad slot is the victim
    with pytest.raises(HwsimError, match="OliVe pairs need an even length along axis -1"):
        olive_quantize(x, QuantSpec("olive_int4", "channel", clipping="percentile"))
    spec = QuantSpec("olive_int4", "channel", clipping="percentile", percentile=50.0, pad="zero")
    qt = olive_quantize(x, spec)
    assert qt.codes.shape == x.shape
    assert np.all(qt.meta["pad_codes"] == 8)
    xh = olive_dequantize(qt)
    assert np.all(np.abs(xh[:, -1]) >= 48 * qt.scales[:, 0])


def test_bad_specs(rng):
    x = rng.normal(size=(4, 8))
    with pytest.raises(HwsimError, match="OliVe quantization is symmetric only"):
        olive_quantize(x, QuantSpec("olive_int4", symmetric=False))
    with pytest.raises(HwsimError, match="expected an even group size, got 3"):
        olive_quantize(x, QuantSpec("olive_int4", "group", 3, pad="zero"))
    with pytest.raises(HwsimError, match="QuantSpec.axis"):
        olive_quantize(x, QuantSpec("olive_int4", "channel", axis=2))
