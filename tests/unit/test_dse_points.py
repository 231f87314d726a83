"""What a sweep point is and how points are judged: keys that cover tensor files, a failing
point recorded with its reason, one Pareto front per workload with what it left off, one
meaning for precision.weight_bits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.dse import explore, front_of
from hwsim.dse.evaluate import point_config
from hwsim.dse.explore import dropped_text, front_dropped
from hwsim.dse.spec import point_key
from hwsim.workload import Op, Workload
from hwsim.workload.io import save_yaml

ROOT = Path(__file__).resolve().parents[2]
ARCH = str(ROOT / "hwsim" / "data" / "arch" / "scalesim.yaml")
MIXPE = str(ROOT / "hwsim" / "data" / "arch" / "mixpe_w4a8.yaml")
SMALL = "Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 128, 64, 256,\n"
LARGE = "Layer, M, N, K,\nfc1, 512, 1024, 2048,\n"


def doc(workloads, parameters, **extra) -> dict:
    return {
        "version": 1,
        "name": "t",
        "arch": ARCH,
        "workloads": workloads,
        "mode": "analytic",
        "parameters": parameters,
        "objectives": ["cycles", "area_mm2"],
        **extra,
    }


def tensor_workload(tmp_path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    op = Op("fc", "gemm", M=8, N=16, K=32,
            inputs=rng.standard_normal((8, 32)).astype(np.float32),
            weights=rng.standard_normal((16, 32)).astype(np.float32))  # fmt: skip
    return save_yaml(Workload("t", (op,)), tmp_path / "w.yaml", tensors="npz")


def key_of(workload: Path) -> str:
    return point_key(point_config(ARCH, "analytic", {"workload": str(workload), "quant": None}))


def test_a_point_key_covers_the_workloads_tensor_file(tmp_path):
    path = tensor_workload(tmp_path, seed=0)
    first = key_of(path)
    assert key_of(path) == first  # same files, same key
    yaml_text = path.read_text()
    npz = tmp_path / "w.npz"
    stat = npz.stat()
    tensor_workload(tmp_path, seed=1)  # same YAML, other tensors
    assert path.read_text() == yaml_text
    os.utime(npz, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # surely a new mtime
    assert key_of(path) != first
    # a workload without tensors keeps the key it always had (YAML text only)
    plain = tmp_path / "plain.csv"
    plain.write_text(SMALL)
    config = point_config(ARCH, "analytic", {"workload": str(plain), "quant": None})
    assert config["workload"] == f".csv:{SMALL}"


def test_edited_tensors_are_simulated_again_not_reused(tmp_path):
    path = tensor_workload(tmp_path, seed=0)
    sweep = doc([str(path)], {"pe_array.rows": [8, 16]})
    store = tmp_path / "s.sqlite"
    assert explore(sweep, store=store).evaluated == 2
    assert explore(sweep, store=store).evaluated == 0
    npz = tmp_path / "w.npz"
    stat = npz.stat()
    tensor_workload(tmp_path, seed=5)
    os.utime(npz, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert explore(sweep, store=store).evaluated == 2


def test_a_point_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import hwsim.sim

    real = hwsim.sim.simulate

    def simulate(arch, *args, **kwargs):
        if arch.pe_array.rows == 16:
            raise ZeroDivisionError("float division by zero")
        return real(arch, *args, **kwargs)

    monkeypatch.setattr(hwsim.sim, "simulate", simulate)
    topo = tmp_path / "topo.csv"
    topo.write_text(SMALL)
    r = explore(doc([str(topo)], {"pe_array.rows": [8, 16, 32]}), store=tmp_path / "s")
    assert list(r.points["status"]) == ["ok", "invalid", "ok"]
    assert r.points["reason"][1] == "ZeroDivisionError: float division by zero"


def test_one_front_per_workload_and_what_it_left_off(tmp_path):
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_text(SMALL)
    large.write_text(LARGE)
    params = {"pe_array.rows": [0, 8, 32], "pe_array.cols": [8, 32]}
    r = explore(doc([str(small), str(large)], params), store=tmp_path / "s.sqlite")
    assert set(r.front["workload"]) == {str(small), str(large)}  # the large one is not crowded out
    for w in (small, large):
        alone = r.points[r.points["workload"] == str(w)]
        want = front_of(alone.drop(columns="workload"), ["cycles", "area_mm2"])
        got = r.front[r.front["workload"] == str(w)]
        assert list(got["key"]) == list(want["key"])
    assert r.dropped == {"invalid": 4}  # rows 0, for both workloads and both col counts
    assert dropped_text(r.dropped) == "left off the Pareto fronts: 4 invalid points"


def test_points_without_an_objective_are_counted_not_hidden():
    points = pd.DataFrame(
        {
            "workload": ["a"] * 4,
            "status": ["ok", "ok", "ok", "invalid"],
            "cycles": [10.0, 20.0, 5.0, None],
            "sqnr_db": [30.0, 40.0, None, None],
        }
    )
    objectives = ["cycles", "sqnr_db"]
    assert list(front_of(points, objectives)["cycles"]) == [10.0, 20.0]
    dropped = front_dropped(points, objectives)
    assert dropped == {"invalid": 1, "no sqnr_db": 1}
    assert dropped_text(dropped) == (
        "left off the Pareto fronts: 1 invalid point, 1 point without sqnr_db (no quant recipe)"
    )


def test_the_cli_says_per_workload_fronts_and_what_was_dropped(tmp_path, capsys):
    import yaml

    from hwsim.cli import main

    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    small.write_text(SMALL)
    large.write_text(LARGE)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc([str(small), str(large)], {"pe_array.rows": [0, 8]})))
    assert main(["sweep", str(path), "-o", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert f"Pareto front (1 points) for workload {small}:" in out
    assert f"Pareto front (1 points) for workload {large}:" in out
    assert "left off the Pareto fronts: 2 invalid points" in err
    with hwsim.dse.ResultStore(tmp_path / "out" / "results.sqlite") as db:
        assert json.loads(db.meta()["front_dropped"]) == {"invalid": 2}
    summary = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert summary["front_points_per_workload"] == {str(small): 1, str(large): 1}
    assert summary["left_off_fronts"] == {"invalid": 2}
    assert (summary["points"], summary["valid"], summary["invalid"]) == (4, 2, 2)


def test_weight_format_moves_weight_bits_as_a_recipe_does(tmp_path):
    from hwsim.workload import load_recipe

    recipe = tmp_path / "w8.yaml"
    recipe.write_text(
        "version: 1\nname: w8\ndefault:\n  weights: {format: int8, granularity: channel}\n"
        "  activations: {format: int8, granularity: channel}\n"
    )
    card = "resnet-18:infer:224"
    # per-channel weights: no group scales, as the recipe says
    params = {"precision.weight_format": ["int8"], "precision.group_size": [None],
              "precision.scale_bits": [0]}  # fmt: skip
    sweep = doc([card], params, arch=MIXPE)
    point = explore(sweep, store=tmp_path / "s").points.iloc[0]
    st = hwsim.simulate(
        hwsim.load_arch(MIXPE), hwsim.load_workload(card), quant=load_recipe(recipe),
        mode="analytic",
    )  # fmt: skip
    assert point["status"] == "ok"
    assert (point["cycles"], point["dram_bytes"]) == (st.cycles, st.dram_bytes)
    assert point["area_mm2"] == pytest.approx(st.area_mm2, rel=1e-12)


def test_weight_bits_must_agree_with_the_weight_format(tmp_path):
    card = "resnet-18:infer:224"
    params = {"precision.weight_bits": [4, 8]}
    r = explore(doc([card], params, arch=MIXPE), store=tmp_path / "a")
    assert list(r.points["status"]) == ["ok", "invalid"]
    assert r.points["reason"][1] == (
        f"{MIXPE} [precision.weight_bits=8]: precision.weight_bits: expected 4 (the bits of "
        "precision.weight_format 'int4'), got 8; sweep precision.weight_format to change the "
        "weight width"
    )
    # both swept: the pairs that agree are points, the others say why not
    params = {"precision.weight_format": ["int4", "int8"], "precision.weight_bits": [4, 8]}
    r = explore(doc([card], params, arch=MIXPE), store=tmp_path / "b")
    assert list(r.points["status"]) == ["ok", "invalid", "invalid", "ok"]
    assert "expected 8 (the bits of precision.weight_format 'int8'), got 4" in r.points["reason"][2]
    # a format-agnostic PE (ANT: no weight_format) keeps weight_bits as the width
    ant = str(ROOT / "hwsim" / "data" / "arch" / "ant.yaml")
    r = explore(doc([card], {"precision.weight_bits": [4, 8]}, arch=ant), store=tmp_path / "c")
    assert list(r.points["status"]) == ["ok", "ok"]
    assert r.points["dram_bytes"][0] < r.points["dram_bytes"][1]
