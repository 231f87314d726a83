"""`hwsim search` on the command line: outputs, the round trip through run and sweep, resuming
from the store, and the one-line bad-input contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from hwsim.cli import main
from hwsim.layersearch.layers import select_layers, unfold_layers
from hwsim.workload import load_workload
from tests.unit.cli_contract import run_bad

ARCH = "bitfusion"
BUDGET = "latency <= 0.6*int8"


@pytest.fixture
def sens_file(tmp_path):
    """A seeded stand-in sensitivity table for MiniLM (CSV layer,candidate,value)."""
    rng = np.random.default_rng(7)
    layers = select_layers(unfold_layers(load_workload("minilm")))
    rows = [
        {"layer": x, "candidate": c, "value": 0.0 if c == "int8" else float(rng.random())}
        for x in layers
        for c in ("int8", "int4", "int2")
    ]
    path = tmp_path / "sens.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _search(out, sens, *extra):
    argv = ["search", ARCH, "minilm", "--candidates", "int8,int4,int2", "--budget", BUDGET,
            "--sensitivity", str(sens), "-o", str(out), *extra]  # fmt: skip
    return main([str(a) for a in argv])


def test_search_writes_a_recipe_that_run_and_sweep_take_as_is(tmp_path, sens_file, capsys):
    out = tmp_path / "s"
    assert _search(out, sens_file, "--sweep", "5") == 0
    printed, err = capsys.readouterr()
    assert "3 candidates simulated now" in err and "re-simulated" in printed
    names = {"recipe.yaml", "workload.yaml", "assignment.csv", "frontier.csv", "frontier.png",
             "search.json", "search.sqlite", ".hwsim-manifest.json"}  # fmt: skip
    assert names <= {p.name for p in out.iterdir()}
    summary = json.loads((out / "search.json").read_text())
    (budget,) = summary["budgets"]
    assert budget["met"] and budget["predicted"] == budget["measured"]
    assignment = pd.read_csv(out / "assignment.csv")
    assert len(assignment) == summary["layers"] == 37
    assert len(pd.read_csv(out / "frontier.csv")) == 5

    # hwsim run takes the recipe and the unfolded workload as they are: the same cycles
    assert (
        main(
            [
                "run",
                ARCH,
                str(out / "workload.yaml"),
                "--quant",
                str(out / "recipe.yaml"),
                "--mode",
                "analytic",
                "--json",
                "--no-plots",
                "-o",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    run = json.loads(capsys.readouterr()[0])
    assert run["cycles"] == summary["predicted"]["cycles"]

    # and so does a sweep, as its quant axis
    sweep = {"version": 1, "name": "s", "arch": ARCH, "workloads": [str(out / "workload.yaml")],
             "quant": [str(out / "recipe.yaml")], "mode": "analytic", "parameters": {},
             "search": {"method": "grid"}, "objectives": ["cycles", "energy_pj"]}  # fmt: skip
    (tmp_path / "sw.yaml").write_text(yaml.safe_dump(sweep))
    args = ["sweep", str(tmp_path / "sw.yaml"), "-o", str(tmp_path / "sw"), "--no-plots"]
    assert main(args) == 0
    capsys.readouterr()
    points = pd.read_csv(tmp_path / "sw" / "points.csv")
    assert points["cycles"].tolist() == [summary["predicted"]["cycles"]]


def test_a_rerun_resumes_from_the_store(tmp_path, sens_file, capsys):
    out = tmp_path / "s"
    assert _search(out, sens_file) == 0
    first = (out / "recipe.yaml").read_text()
    capsys.readouterr()
    assert _search(out, sens_file) == 0
    assert "0 candidates simulated now" in capsys.readouterr()[1]
    assert (out / "recipe.yaml").read_text() == first


def test_workers_pool_gives_the_same_answer(tmp_path, sens_file, capsys):
    assert _search(tmp_path / "a", sens_file) == 0
    assert _search(tmp_path / "b", sens_file, "--workers", "2") == 0
    capsys.readouterr()
    assert (tmp_path / "a" / "recipe.yaml").read_text() == (
        tmp_path / "b" / "recipe.yaml"
    ).read_text()


def test_a_candidate_some_layers_cannot_run_is_dropped_there(tmp_path, capsys):
    """COMET's arch with the MLP routed to its FP16 unit: int4 runs only the attention side."""
    from hwsim.shipped import resolve

    doc = yaml.safe_load(resolve("arch", "comet_w4a4kv4").read_text())
    doc["routes"].insert(0, {"match": "*.intermediate.*", "unit": "fp16_attention"})
    arch = tmp_path / "mixed.yaml"
    arch.write_text(yaml.safe_dump(doc))
    cands = tmp_path / "c.yaml"
    cands.write_text(yaml.safe_dump({"version": 1, "candidates": {
        "int4": {"weights": {"format": "int4", "granularity": "channel"},
                 "activations": {"format": "int4", "granularity": "channel"}},
        "fp16": {"weights": {"format": "float16"}, "activations": {"format": "float16"},
                 "unit": "fp16_attention"}}}))  # fmt: skip
    layers = select_layers(unfold_layers(load_workload("minilm")))
    sens = tmp_path / "s.json"
    sens.write_text(json.dumps({x: {"int4": 1.0, "fp16": 0.0} for x in layers}))
    argv = [
        "search",
        str(arch),
        "minilm",
        "--candidates",
        str(cands),
        "--budget",
        "latency <= 1.0*fp16",
        "--sensitivity",
        str(sens),
        "-o",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 0
    err = capsys.readouterr()[1]
    assert "candidate int4: dropped for 6 layer(s) the arch cannot run it on" in err
    rows = pd.read_csv(tmp_path / "o" / "assignment.csv").set_index("layer")
    mlp = rows[rows.index.str.contains("intermediate")]
    assert (mlp["candidate"] == "fp16").all() and (mlp["unit"] == "fp16_attention").all()
    assert set(rows.loc[rows["candidate"] == "fp16", "unit"]) == {"fp16_attention"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "latency <= 0.01*int8"], "infeasible; the smallest achievable latency is"),
        (["--budget", "latency =< 3"], "--budget: expected METRIC <= NUMBER"),
        (["--layers", "decoder.*"], "--layers 'decoder.*': matches no gemm or conv op"),
        (["--candidates", "int8,float8_e4m3fn"], "candidate float8_e4m3fn: the arch cannot run"),
        (["--candidates", "int8,int5x"], "candidate int5x: expected a shipped recipe"),
        (["--sweep", "1"], "--sweep: expected an integer >= 2"),
        (["--sweep", "3"], "--sweep: expected a --budget to sweep"),
        (["--budget", "luts <= device"], "not an FPGA target"),
        (["--samples", "0"], "--samples: expected an integer >= 1, got 0"),
        (["--max-tokens", "-3"], "--max-tokens: expected an integer >= 1, got -3"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, sens_file, capsys, extra, message):
    out = tmp_path / "nested" / "o"
    argv = ["search", ARCH, "minilm", "--candidates", "int8,int4,int2", "--sensitivity",
            sens_file, "-o", out, *extra]  # fmt: skip
    line = run_bad(argv, capsys)
    assert message in line
    assert not (tmp_path / "nested").exists()


def test_bad_sensitivity_file_and_foreign_directory(tmp_path, sens_file, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("layer,cand,value\nx,int8,1\n")
    argv = ["search", ARCH, "minilm", "--candidates", "int8", "--sensitivity", bad]
    assert "columns: expected layer, candidate, value; missing candidate" in run_bad(argv, capsys)
    assert "expected hessian, measured or a table file" in run_bad(
        ["search", ARCH, "minilm", "--candidates", "int8", "--sensitivity", "nope"], capsys
    )
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    argv = ["search", ARCH, "minilm", "--candidates", "int8", "--sensitivity", sens_file,
            "-o", mine]  # fmt: skip
    assert "expected an empty directory or one hwsim wrote" in run_bad(argv, capsys)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
