"""Quant recipes: rule resolution, shipped recipe files, per-op QTensors and SQNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import hwsim
from hwsim.dtypes import dequantize
from hwsim.errors import HwsimError
from hwsim.workload.recipe import apply_recipe, load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "recipes"
CARD = hwsim.load_workload("smollm2-135m:decode:64")


def test_rules_first_match_wins_and_fall_back_to_default():
    r = load_recipe(RECIPES / "bitmod-w4g128.yaml")
    w, a = r.specs_for(CARD.op("model.layers.*.mlp.down_proj"))
    assert w.menu[0].startswith("bitmod_fp4") and w.group_size == 128 and a.format == "float16"
    w, a = r.specs_for(CARD.op("lm_head"))
    assert (w.format, w.granularity, w.group_size, a.format) == ("int8", "group", 128, "float16")
    w, _ = r.specs_for(CARD.op("model.layers.*.self_attn.attn_qk"))
    assert w.format == "float16"


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_recipes_load_and_run(path, rng):
    qw = apply_recipe(CARD, path, rng, ops=["*.v_proj", "*attn_av"])
    assert set(qw.ops) == {"model.layers.*.self_attn.v_proj", "model.layers.*.self_attn.attn_av"}
    for q in qw.ops.values():
        assert q.output_sqnr_db > 10 and np.isfinite(q.output_sqnr_db)
        if q.weights is not None:
            w_hat = dequantize(q.weights)
            assert w_hat.shape == q.op.weights.shape
            err = np.abs(w_hat - q.op.weights).max()
            assert err < np.abs(q.op.weights).max()


def test_sqnr_orders_the_formats(rng):
    def median_w_sqnr(doc):
        qw = apply_recipe(CARD, doc, np.random.default_rng(3), ops=["*q_proj", "*up_proj"])
        return qw.table().weight_sqnr_db.median()

    w8 = median_w_sqnr(RECIPES / "w8a8-int.yaml")
    w4 = median_w_sqnr(RECIPES / "w4a16-int-g128.yaml")
    fp8 = median_w_sqnr(RECIPES / "fp8-e4m3.yaml")
    assert w8 > fp8 > w4 > 15  # ~6 dB per bit: INT8 > FP8 (3 mantissa bits) > INT4


def test_float_operands_stay_exact(rng):
    doc = {"version": 1, "default": {"weights": {"format": "int8"}, "activations": None}}
    qw = apply_recipe(CARD, doc, rng, ops="lm_head")
    q = qw.ops["lm_head"]
    assert q.inputs is None and q.input_sqnr_db is None and q.weights.codes.dtype == np.uint8
    df = qw.table()
    assert list(df.columns) == [
        "op", "kind", "weight_format", "act_format", "weight_sqnr_db", "input_sqnr_db",
        "output_sqnr_db",
    ]  # fmt: skip
    assert df.act_format.tolist() == ["float"]


def test_same_rng_same_codes():
    a = apply_recipe(CARD, RECIPES / "mxfp4.yaml", np.random.default_rng(5), ops="*o_proj")
    b = apply_recipe(CARD, RECIPES / "mxfp4.yaml", np.random.default_rng(5), ops="*o_proj")
    name = "model.layers.*.self_attn.o_proj"
    assert a.ops[name].weights.codes.tobytes() == b.ops[name].weights.codes.tobytes()


@pytest.mark.parametrize(
    "doc, match",
    [
        ({"default": {}}, r"<recipe>: version: expected 1, got None"),
        ({"version": 1, "defaults": {}}, r"defaults: unknown key"),
        ({"version": 1, "default": {"weight": {}}}, r"default\.weight: unknown key"),
        (
            {"version": 1, "default": {"weights": {"format": "int8", "groupsize": 4}}},
            r"default\.weights\.groupsize: unknown key; expected one of",
        ),
        (
            {"version": 1, "default": {"weights": {"format": "nosuch4"}}},
            r"default\.weights\.format: .*nosuch4",
        ),
        ({"version": 1, "rules": [{"weights": None}]}, r"rules\[0\]: expected a mapping with"),
        ({"version": 1, "rules": [{"kind": "mlp"}]}, r"rules\[0\]\.kind: expected one of gemm"),
    ],
)
def test_bad_recipes(doc, match):
    with pytest.raises(HwsimError, match=match):
        load_recipe(doc)


def test_bad_recipe_file_names_the_file(tmp_path, rng):
    (tmp_path / "r.yaml").write_text("version: 2\n")
    with pytest.raises(HwsimError, match=r"r\.yaml: version: expected 1, got 2"):
        load_recipe(tmp_path / "r.yaml")
    doc = {"version": 1, "default": {"weights": {"format": "int4", "granularity": "group",
                                                  "group_size": 100}}}  # fmt: skip
    with pytest.raises(HwsimError, match=r"recipe <recipe>, op lm_head: .*group_size"):
        apply_recipe(CARD, doc, rng, ops="lm_head")
    with pytest.raises(HwsimError, match="rng: expected a numpy.random.Generator"):
        apply_recipe(CARD, doc, None)
