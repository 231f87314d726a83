"""Synthetic tensors: seeded, on request only, with the calibrated statistics."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.workload.io import expected_shapes
from hwsim.workload.synthetic import (
    SyntheticStats,
    kurtosis,
    materialize,
    outlier_probability,
    role,
)

CARD = hwsim.load_workload("smollm2-135m:prefill:32")


def test_cards_carry_no_tensors_until_asked(rng):
    assert all(op.weights is None for op in CARD.ops)
    wl = materialize(CARD, rng, ops=["*q_proj", "*down_proj", "attn_av"])
    got = {op.name for op in wl.ops if op.weights is not None}
    assert got == {
        "model.layers.*.self_attn.q_proj",
        "model.layers.*.mlp.down_proj",
        "model.layers.*.self_attn.attn_av",
    }
    for op in wl.ops:
        if op.weights is not None:
            want = expected_shapes(op)
            assert op.inputs.shape == want["inputs"] and op.weights.shape == want["weights"]
            assert op.inputs.dtype == np.float32 == op.weights.dtype


def test_same_seed_same_bytes_whatever_else_is_chosen():
    a = materialize(CARD, np.random.default_rng(7), ops=["*q_proj"])
    b = materialize(CARD, np.random.default_rng(7), ops=["*q_proj", "*k_proj", "lm_head"])
    c = materialize(CARD, np.random.default_rng(8), ops=["*q_proj"])
    name = "model.layers.*.self_attn.q_proj"
    assert a.op(name).weights.tobytes() == b.op(name).weights.tobytes()
    assert a.op(name).inputs.tobytes() == b.op(name).inputs.tobytes()
    assert a.op(name).weights.tobytes() != c.op(name).weights.tobytes()


def test_outlier_probability_gives_the_asked_kurtosis_exactly():
    for k, m in ((100.0, 40.0), (1585.0, 175.0), (10.0, 8.0)):
        p = outlier_probability(k, m)
        s2, s4 = 1 + p * (m * m - 1), 3 + p * (m**4 - 3)
        assert s4 / s2**2 == pytest.approx(k, rel=1e-9)
    assert outlier_probability(3.0, 40.0) == 0.0


def test_weight_statistics(rng):
    wl = materialize(CARD, rng, ops=["*up_proj", "*down_proj"])
    up = wl.op("model.layers.*.mlp.up_proj").weights
    down = wl.op("model.layers.*.mlp.down_proj").weights
    assert abs(kurtosis(up) - 3) < 0.1  # near-Gaussian
    assert 60 < kurtosis(down) < 160  # heavy-tailed around the calibrated 100
    assert up.std() * np.sqrt(576) == pytest.approx(1.5, rel=0.02)
    assert role(wl.op("model.layers.*.mlp.down_proj")) == "ffn_down"


def test_activation_outlier_channels(rng):
    stats = SyntheticStats(outlier_fraction=0.01)
    wl = materialize(CARD, rng, ops=["*gate_proj"], stats=stats)
    x = wl.op("model.layers.*.mlp.gate_proj").inputs.astype(np.float64)
    rms = np.sqrt((x**2).mean(0))
    ratio = rms / np.median(rms)
    big = ratio > 15
    assert big.sum() == round(576 * 0.01)  # 6 outlier channels
    assert ratio[big].min() > 15 and ratio[big].max() < 450


def test_attention_probabilities_are_rows_of_a_softmax(rng):
    wl = materialize(CARD, rng, ops=["attn_av", "attn_qk"])
    p = wl.op("model.layers.*.self_attn.attn_av").inputs
    assert p.shape == (9, 32, 32) and (p >= 0).all()
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
    assert wl.op("model.layers.*.self_attn.attn_qk").weights.shape == (9, 32, 64)


def test_conv_inputs_are_relu_outputs(rng):
    wl = materialize(hwsim.load_workload("resnet-18:infer:64"), rng, ops=["layer1.0.conv1"])
    x = wl.op("layer1.0.conv1").inputs
    assert x.min() == 0 and 0.4 < (x == 0).mean() < 0.6


def test_refuses_huge_materialisation_and_bad_arguments(rng):
    big = hwsim.load_workload("llama-2-70b:prefill:2048")
    with pytest.raises(HwsimError, match=r"needs [\d,]+ elements \(> max_elements="):
        materialize(big, rng)
    with pytest.raises(HwsimError, match=r"ops: \['nothing'\] match no matrix op"):
        materialize(CARD, rng, ops="nothing")
    with pytest.raises(HwsimError, match="rng: expected a numpy.random.Generator"):
        materialize(CARD, 3)
