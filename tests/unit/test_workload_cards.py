"""Model cards: MAC totals against the published counts, GQA, decode shapes, names, errors."""

from __future__ import annotations

import fnmatch

import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.workload.cards import MODELS, TransformerConfig, build_card, load_card, parse_card


def _macs(wl, kinds):
    return sum(op.total_macs for op in wl.ops if op.kind in kinds)


@pytest.mark.parametrize(
    "card, want",
    [
        ("resnet-18:infer:224", 1.814e9),
        ("resnet-50:infer:224", 4.089e9),
        ("vit-b-16:prefill:224", 17.6e9),
    ],
)
def test_vision_mac_totals_match_reference(card, want):
    wl = hwsim.load_workload(card)
    assert abs(wl.macs - want) / want < 0.003


def test_bert_base_at_128_linear_and_attention_macs():
    wl = load_card("bert-base:prefill:128")
    encoder_linear = sum(
        op.total_macs for op in wl.ops if op.kind == "gemm" and op.name.startswith("encoder.")
    )
    assert round(encoder_linear / 1e9, 2) == 10.87
    assert round(_macs(wl, ("attn_qk", "attn_av")) / 1e9, 2) == 0.30


def test_llama2_7b_decode_token_linear_macs():
    wl = load_card("llama-2-7b:decode:256")
    layers = sum(op.total_macs for op in wl.ops if op.kind == "gemm" and op.name != "lm_head")
    assert layers == 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    assert round(layers / 1e9, 2) == 6.48  # the published 6.48 G excludes lm_head
    assert wl.op("lm_head").M == 1 and wl.op("lm_head").N == 32000


def test_minilm_card_matches_traced_mac_count():
    wl = load_card("minilm-l6:prefill:12")
    assert _macs(wl, ("gemm",)) == 127_549_440
    assert sum(op.repeat for op in wl.ops if op.kind == "gemm") == 37


def test_gqa_kv_projections_and_attention_batch():
    wl = load_card("llama-2-70b:prefill:2048:2")
    k = wl.op("model.layers.*.self_attn.k_proj")
    q = wl.op("model.layers.*.self_attn.q_proj")
    assert (q.M, q.N, q.K, q.repeat) == (4096, 8192, 8192, 80)
    assert (k.N, k.K) == (8 * 128, 8192)
    qk = wl.op("model.layers.*.self_attn.attn_qk")
    assert (qk.batch, qk.M, qk.N, qk.K) == (2 * 64, 2048, 2048, 128)
    assert qk.weight_is_activation
    assert all(op.inputs is None and op.weights is None for op in wl.ops)


def test_decode_attention_reads_the_whole_context():
    wl = load_card("mistral-7b:decode:1000:4")
    qk = wl.op("model.layers.*.self_attn.attn_qk")
    av = wl.op("model.layers.*.self_attn.attn_av")
    assert (qk.batch, qk.M, qk.N, qk.K) == (4 * 32, 1, 1000, 128)
    assert (av.M, av.N, av.K) == (1, 128, 1000)
    assert wl.op("model.layers.*.self_attn.v_proj").N == 8 * 128
    assert wl.op("model.layers.*.mlp.down_proj").M == 4
    assert wl.phase == "decode"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_card_builds_with_unique_names_and_module_patterns(name):
    cfg = MODELS[name]
    decoder = isinstance(cfg, TransformerConfig) and cfg.family in ("llama", "opt", "phi")
    wl = load_card(f"{name}:prefill:224")
    names = [op.name for op in wl.ops]
    assert len(set(names)) == len(names)
    assert wl.macs > 0 and wl.bytes() > 0
    if decoder:
        assert cfg.vocab == wl.op("lm_head").N
        assert load_card(f"{name}:decode:128").macs < wl.macs


def test_folded_names_match_real_module_names():
    wl = load_card("resnet-50:infer:224")
    op = wl.op("layer3.[1-5].conv2")
    assert op.repeat == 5 and op.conv.kernel == (3, 3) and op.conv.stride == (1, 1)
    assert fnmatch.fnmatchcase("layer3.4.conv2", op.name)
    assert not fnmatch.fnmatchcase("layer3.0.conv2", op.name)
    first = wl.op("layer3.0.conv2")
    assert first.conv.stride == (2, 2) and first.conv.out_hw == (14, 14)
    assert wl.op("layer3.0.downsample.0").N == 1024
    assert fnmatch.fnmatchcase("model.layers.17.mlp.up_proj", "model.layers.*.mlp.up_proj")


def test_conv_lowering_shapes():
    wl = load_card("resnet-18:infer:224:2")
    c1 = wl.op("conv1")
    assert (c1.M, c1.N, c1.K) == (2 * 112 * 112, 64, 3 * 7 * 7)
    assert c1.conv.in_hw == (224, 224) and c1.conv.padding == (3, 3)
    assert c1.input_elements == 2 * 3 * 224 * 224
    assert wl.op("fc").M == 2


def test_bytes_count_each_operand_once():
    wl = load_card("llama-2-7b:decode:256")
    q = wl.op("model.layers.*.self_attn.q_proj")
    assert q.bytes(16, 16) == 2 * (4096 + 4096 * 4096 + 4096)
    assert q.bytes(16, 4) == 2 * 4096 * 2 + 4096 * 4096 // 2
    qk = wl.op("model.layers.*.self_attn.attn_qk")
    assert qk.bytes(16, 4) == qk.bytes(16, 16)  # K is an activation: never weight bits
    assert wl.bytes() == sum(op.bytes() * op.repeat for op in wl.ops)


def test_parse_card_defaults_batch_to_one():
    assert parse_card("Llama-2-7B:Prefill:256") == ("llama-2-7b", "prefill", 256, 1)
    assert parse_card("opt-1.3b:decode:64:8") == ("opt-1.3b", "decode", 64, 8)


@pytest.mark.parametrize(
    "card, match",
    [
        ("llama-2-8b:prefill:256", r"unknown model 'llama-2-8b'; closest: .*llama-2-7b"),
        ("llama-2-7b:prefill:0", r"length expected an integer > 0, got '0'"),
        ("llama-2-7b:prefill:256:x", r"batch expected an integer > 0"),
        ("llama-2-7b:train:256", r"phase expected one of prefill, decode"),
        ("bert-base:decode:128", r"phase expected one of prefill, infer \(not a decoder\)"),
        ("vit-b-16:prefill:200", r"multiple of 16"),
        ("resnet-18:infer:100", r"multiple of 32"),
        ("llama-2-7b", r"no file or shipped workload named .llama-2-7b. \(or a model card"),
    ],
)
def test_bad_cards_raise_one_line_errors(card, match):
    with pytest.raises(HwsimError, match=match) as e:
        hwsim.load_workload(card)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(heads=32, kv_heads=5), r"card.kv_heads: expected a divisor of heads=32, got 5"),
        (dict(heads=30, kv_heads=30), r"card.heads: expected a divisor of d_model=4096"),
        (dict(heads=32, kv_heads=8, vocab=0), r"card.vocab: expected an integer > 0"),
        (dict(heads=32, kv_heads=8, ffn=-1), r"card.ffn: expected an integer > 0, got -1"),
    ],
)
def test_inconsistent_custom_cards_are_rejected(kw, match):
    args = dict(family="llama", d_model=4096, ffn=11008, layers=32, vocab=32000) | kw
    with pytest.raises(HwsimError, match=match):
        TransformerConfig(**args)


def test_custom_config_builds_like_the_named_card():
    cfg = TransformerConfig("llama", 4096, 11008, 32, 32, 32, 32000)
    assert build_card(cfg, "prefill", 256).macs == load_card("llama-2-7b:prefill:256").macs
