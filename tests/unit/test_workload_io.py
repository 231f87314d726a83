"""Workload files: YAML round trips with tensors, SCALE-Sim CSV, and errors naming file/field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.workload import Op, Workload
from hwsim.workload.io import save_yaml
from hwsim.workload.scalesim_topology import load_scalesim_csv, save_scalesim_csv


def _sig(wl):
    return [
        (o.name, o.kind, o.M, o.N, o.K, o.batch, o.repeat, o.elements, o.vector_kind, o.conv,
         o.weight_is_activation)
        for o in wl.ops
    ]  # fmt: skip


@pytest.mark.parametrize("card", ["llama-3-8b:decode:512:2", "resnet-50:infer:224"])
def test_yaml_round_trip_of_cards(tmp_path, card):
    wl = hwsim.load_workload(card)
    path = save_yaml(wl, tmp_path / "w.yaml")
    back = hwsim.load_workload(path)
    assert _sig(back) == _sig(wl) and back.phase == wl.phase and back.name == wl.name
    assert back.macs == wl.macs and back.metadata["model"] == wl.metadata["model"]
    assert path.read_text().startswith("version: 1\n")


def _with_tensors(rng):
    ops = (
        Op("fc1", "gemm", M=3, N=5, K=4),
        Op("heads", "attn_qk", M=3, N=3, K=2, batch=2, weight_is_activation=True),
        Op("act", "vector", elements=15, vector_kind="act"),
    )
    a = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    q = rng.standard_normal((2, 3, 2)).astype(np.float32)
    ops = (replace(ops[0], inputs=a, weights=w), replace(ops[1], inputs=q, weights=q), ops[2])
    return Workload("t", ops, "prefill", {"note": "x"})


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_yaml_round_trip_with_tensors_is_exact(tmp_path, rng, fmt):
    wl = _with_tensors(rng)
    path = save_yaml(wl, tmp_path / "t.yaml", tensors=fmt)
    assert (tmp_path / f"t.{fmt}").exists()
    back = hwsim.load_workload(str(path))
    for a, b in zip(wl.ops, back.ops):
        for part in ("inputs", "weights"):
            x, y = getattr(a, part), getattr(b, part)
            assert (x is None and y is None) or np.array_equal(x, y)
    assert back.op("heads").weights.shape == (2, 3, 2)


def test_tensor_file_not_matching_its_yaml(tmp_path, rng):
    wl = _with_tensors(rng)
    save_yaml(wl, tmp_path / "t.yaml", tensors="npz")
    np.savez(tmp_path / "t.npz", **{"fc1/weights": np.zeros((4, 4), np.float32)})
    with pytest.raises(
        HwsimError, match=r"t\.npz: fc1/weights: expected shape \(5, 4\) .*got \(4, 4\)"
    ):
        hwsim.load_workload(tmp_path / "t.yaml")
    np.savez(tmp_path / "t.npz", **{"fc9/weights": np.zeros((5, 4), np.float32)})
    with pytest.raises(HwsimError, match=r"t\.npz: fc9/weights: expected .* of an op of t\.yaml"):
        hwsim.load_workload(tmp_path / "t.yaml")
    (tmp_path / "t.npz").unlink()
    with pytest.raises(
        HwsimError, match=r"t\.npz: tensors: expected the tensor file .*got no such file"
    ):
        hwsim.load_workload(tmp_path / "t.yaml")


V1 = "version: 1\nops:\n - "
CARD = "version: 1\ncard: {family: llama, d_model: 64, ffn: 128, layers: 2, heads: 4, vocab: 10, "
G = "{name: a, kind: gemm, M: 1, N: 1, K: 1"


@pytest.mark.parametrize(
    "text, match",
    [
        ("ops: []", r"w\.yaml: version: expected 1, got None"),
        ("version: 1\nops: []", r"w\.yaml: ops: expected a non-empty list"),
        (V1 + "{name: a, kind: gem, M: 1}", r"ops\[0\]\.kind: expected"),
        # M given once: a repeated key is itself refused (duplicate key)
        (V1 + G.replace("1", "-4", 1) + "}", r"ops\[0\]\.M: expected an integer >= 0, got -4"),
        (V1 + G.replace("1", "0", 1) + "}", r"ops\[0\]\.M: expected an integer > 0 for a gemm op"),
        (V1 + G + ", size: 3}", r"ops\[0\]\.size: unknown key"),
        (V1 + "{name: a, kind: vector, elements: 4, vector_kind: foo}", r"vector_kind: expected"),
        (V1 + G + "}\n - " + G + "}", r"w\.yaml: ops: expected unique op names, got 'a' twice"),
        ("version: 1\nphase: train\nops: []", r"phase: expected one of prefill, decode"),
        (CARD + "kv_heads: 3}", r"w\.yaml: card\.kv_heads: expected a divisor of heads=4"),
        ("version: 1\ncard: {family: llama, d_model: 64}", r"w\.yaml: card\.ffn: missing"),
        ("version: 1\n  bad: [", r"w\.yaml: not valid YAML"),
    ],
)
def test_bad_yaml_names_file_and_field(tmp_path, text, match):
    (tmp_path / "w.yaml").write_text(text)
    with pytest.raises(HwsimError, match=match) as e:
        hwsim.load_workload(tmp_path / "w.yaml")
    assert "\n" not in str(e.value)


def test_yaml_card_keys(tmp_path):
    (tmp_path / "a.yaml").write_text("version: 1\ncard: opt-1.3b:decode:256\n")
    assert (
        hwsim.load_workload(tmp_path / "a.yaml").macs
        == hwsim.load_workload("opt-1.3b:decode:256").macs
    )
    (tmp_path / "b.yaml").write_text(
        "version: 1\nname: tiny\nphase: decode\nlength: 64\nbatch: 2\n"
        "card: {family: llama, d_model: 64, ffn: 128, layers: 2, heads: 4, kv_heads: 2, vocab: 9}\n"
    )
    wl = hwsim.load_workload(tmp_path / "b.yaml")
    assert wl.name == "tiny" and wl.op("model.layers.*.self_attn.k_proj").N == 32
    assert wl.op("model.layers.*.self_attn.attn_qk").N == 64


def test_missing_file_is_a_one_line_error(tmp_path):
    with pytest.raises(
        HwsimError, match=r"workload: no file or shipped workload named '.*nope\.yaml'"
    ):
        hwsim.load_workload(tmp_path / "nope.yaml")


GEMM_CSV = "Layer, M, N, K,\nfc1, 128, 256, 64,\nfc2, 128, 64, 256,\n"
CONV_CSV = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\nConv1, 230, 230, 7, 7, 3, 64, 2,\nConv2, 58, 58, 3, 3, 64, 64, 1,\n"
)


def test_scalesim_gemm_and_conv_import(tmp_path):
    (tmp_path / "g.csv").write_text(GEMM_CSV)
    g = hwsim.load_workload(tmp_path / "g.csv")
    assert [(o.name, o.M, o.N, o.K) for o in g.ops] == [
        ("fc1", 128, 256, 64),
        ("fc2", 128, 64, 256),
    ]
    (tmp_path / "c.csv").write_text(CONV_CSV)
    c = load_scalesim_csv(tmp_path / "c.csv")
    assert (c.ops[0].M, c.ops[0].N, c.ops[0].K) == (112 * 112, 64, 147)
    assert (c.ops[1].M, c.ops[1].K) == (56 * 56, 576)


@pytest.mark.parametrize("form", ["gemm", "conv"])
def test_scalesim_export_round_trip_keeps_macs(tmp_path, form):
    wl = hwsim.load_workload("resnet-18:infer:224")
    path = save_scalesim_csv(wl, tmp_path / "r.csv", form=form)
    back = load_scalesim_csv(path)
    assert back.macs == wl.macs
    assert len(back.ops) == sum(o.repeat * o.batch for o in wl.ops if o.kind != "vector")


def test_scalesim_expands_heads_and_repeats(tmp_path):
    wl = hwsim.load_workload("minilm-l6:prefill:12")
    back = load_scalesim_csv(save_scalesim_csv(wl, tmp_path / "m.csv", form="conv"))
    assert back.macs == wl.macs
    assert "encoder.layer.*.attention.self.attn_qk#71" in {o.name for o in back.ops}


@pytest.mark.parametrize(
    "text, match",
    [
        ("Layer, M, N\nfc, 1, 2\n", r"line 2: expected 4 cells \(Layer, M, N, K\) or 8"),
        ("Layer, M, N, K,\nfc, 1, 2,\n", r"line 2: expected 4 fields \(gemm rows\), got 3"),
        ("Layer, M, N, K,\nfc, 1, x, 3,\n", r"line 2: N: expected an integer > 0, got 'x'"),
        ("Layer, M, N, K,\nfc, 1, 0, 3,\n", r"line 2: N: expected an integer > 0, got '0'"),
        ("Layer, M, N, K,\n", r"expected layer rows after the header, got none"),
    ],
)
def test_bad_scalesim_csv(tmp_path, text, match):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(HwsimError, match=match):
        hwsim.load_workload(tmp_path / "t.csv")


WORKLOADS = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "workloads"


@pytest.mark.parametrize("path", sorted(WORKLOADS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_workload_files_load(path):
    wl = hwsim.load_workload(path)
    assert wl.macs > 0 and len(wl.ops) > 0


def test_shipped_traces_match_their_cards():
    minilm = hwsim.load_workload(WORKLOADS / "minilm.yaml")
    assert minilm.macs == hwsim.load_workload("minilm-l6:prefill:12").macs
    smol = hwsim.load_workload(WORKLOADS / "smollm2-135m.yaml")
    tokens = smol.metadata["tokens"]
    card = hwsim.load_workload(f"smollm2-135m:prefill:{tokens}")
    assert smol.macs == card.macs
    assert hwsim.load_workload(WORKLOADS / "efficientnet-lite0.yaml").macs == 385_187_552


def test_shipped_traces_match_their_cards_op_for_op():
    def ops(wl):
        return [(o.name, o.kind, o.M, o.N, o.K, o.batch, o.repeat, o.elements, o.vector_kind)
                for o in wl.ops]  # fmt: skip

    minilm = hwsim.load_workload(WORKLOADS / "minilm.yaml")
    assert ops(minilm) == ops(hwsim.load_workload("minilm-l6:prefill:12"))
    smol = hwsim.load_workload(WORKLOADS / "smollm2-135m.yaml")
    card = hwsim.load_workload(f"smollm2-135m:prefill:{smol.metadata['tokens']}")
    assert ops(smol) == ops(card) and len(smol.select("vector")) == 8


def test_shipped_minilm_trace_costs_what_its_card_costs():
    arch = hwsim.load_arch(WORKLOADS.parent / "arch" / "bitmod.yaml")
    traced = hwsim.simulate(arch, WORKLOADS / "minilm.yaml", mode="analytic")
    card = hwsim.simulate(arch, "minilm-l6:prefill:12", mode="analytic")
    assert (traced.cycles, traced.energy_pj) == (card.cycles, card.energy_pj)
    vec = traced.ops[traced.ops.kind == "vector"]
    assert len(vec) == 6 and (vec.energy_pj > 0).all()  # the vector unit prices them


def test_save_yaml_creates_folders_and_leaves_no_temporaries(tmp_path):
    wl = hwsim.load_workload("resnet-18:infer:32")
    out = save_yaml(wl, tmp_path / "new" / "deeper" / "r18.yaml")
    assert out.is_file() and sorted(p.name for p in out.parent.iterdir()) == ["r18.yaml"]
    assert hwsim.load_workload(str(out)).macs == wl.macs
