"""Sweeps: spec validation, grid/random/NSGA-II, the result store (resume, invalid points),
executor independence, Pareto fronts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hwsim
from hwsim.dse import (
    explore,
    front_of,
    load_sweep,
    pareto_mask,
    pareto_mask_reference,
)
from hwsim.dse.store import ResultStore, open_existing
from hwsim.errors import HwsimError

ROOT = Path(__file__).resolve().parents[2]
ARCH = str(ROOT / "hwsim" / "data" / "arch" / "scalesim.yaml")
TOPOLOGY = "Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 128, 64, 256,\n"


@pytest.fixture
def topo(tmp_path) -> str:
    p = tmp_path / "topo.csv"
    p.write_text(TOPOLOGY)
    return str(p)


def sweep_doc(topo: str, **changes) -> dict:
    doc = {
        "version": 1,
        "name": "t",
        "arch": ARCH,
        "workloads": [topo],
        "mode": "analytic",
        "parameters": {
            "pe_array.rows": [8, 16, 32],
            "pe_array.cols": [8, 32],
            "memory[filter_sram].size_bytes": [4096, 65536],
        },
        "objectives": ["cycles", "energy_pj", "area_mm2"],
    }
    doc.update(changes)
    return doc


def test_grid_sweep_matches_direct_simulation(tmp_path, topo):
    r = explore(sweep_doc(topo), store=tmp_path / "s.sqlite")
    assert len(r.points) == 12 and r.evaluated == 12
    assert (r.points["status"] == "ok").all()
    row = r.points.iloc[7]  # product order: rows 16, cols 32, filter 65536
    assert (row["pe_array.rows"], row["pe_array.cols"]) == (16, 32)
    assert row["memory[filter_sram].size_bytes"] == 65536
    arch = hwsim.load_arch(ARCH)
    from dataclasses import replace

    mem = list(arch.memory)
    mem[1] = replace(mem[1], size_bytes=65536)
    arch = replace(arch, pe_array=replace(arch.pe_array, rows=16, cols=32), memory=tuple(mem))
    st = hwsim.simulate(arch, hwsim.load_workload(topo), mode="analytic")
    assert row["cycles"] == st.cycles
    assert row["energy_pj"] == pytest.approx(st.energy_pj, rel=1e-12)
    assert row["area_mm2"] == pytest.approx(st.area_mm2, rel=1e-12)


def test_invalid_points_are_recorded_with_their_reason(tmp_path, topo):
    params = {"pe_array.rows": [0, 16], "pe_array.rowz": [1], "dram.bytes_per_cycle": [10]}
    r = explore(sweep_doc(topo, parameters=params), store=tmp_path / "s.sqlite")
    assert len(r.points) == 2 and (r.points["status"] == "invalid").all()
    for reason in r.points["reason"]:
        assert "\n" not in reason
        assert "arch.pe_array.rowz: unknown field" in reason
    params = {"pe_array.rows": [0, 16], "memory[nope].banks": [1, 2]}
    r = explore(sweep_doc(topo, parameters=params), store=tmp_path / "s2.sqlite")
    assert list(r.points["status"]) == ["invalid"] * 4
    assert "no list item named 'nope'" in r.points["reason"][0]
    r = explore(sweep_doc(topo, parameters={"pe_array.rows": [0, 16]}), store=tmp_path / "s3")
    assert list(r.points["status"]) == ["invalid", "ok"]
    assert "arch.pe_array.rows: expected an integer > 0, got 0" in r.points["reason"][0]
    assert len(r.front) == 1


def test_store_resumes_without_repeating(tmp_path, topo):
    store = tmp_path / "s.sqlite"
    first = explore(sweep_doc(topo), store=store)
    again = explore(sweep_doc(topo), store=store)
    assert again.evaluated == 0
    assert again.points.equals(first.points)
    with ResultStore(store) as db:
        db._db.execute("DELETE FROM points WHERE seq IN (3, 5)")
        db._db.commit()
    third = explore(sweep_doc(topo), store=store)
    assert third.evaluated == 2 and third.points.equals(first.points)


def test_results_identical_whatever_the_workers(tmp_path, topo):
    one = explore(sweep_doc(topo), store=tmp_path / "a.sqlite", workers=1)
    two = explore(sweep_doc(topo), store=tmp_path / "b.sqlite", workers=2)
    assert two.points.equals(one.points) and two.front.equals(one.front)


def test_random_search_is_seeded_distinct_and_inside_the_grid(tmp_path, topo):
    doc = sweep_doc(topo, search={"method": "random", "samples": 5, "seed": 3})
    a = explore(doc, store=tmp_path / "a.sqlite")
    b = explore(doc, store=tmp_path / "b.sqlite")
    assert a.points.equals(b.points) and len(a.points) == 5
    assert a.points["key"].is_unique
    grid = explore(sweep_doc(topo), store=tmp_path / "g.sqlite").points
    assert set(a.points["key"]) <= set(grid["key"])
    c = explore(sweep_doc(topo, search={"method": "random", "samples": 50}), store=tmp_path / "c")
    assert len(c.points) == 12  # capped at the grid size


def test_nsga2_is_deterministic_and_resumable(tmp_path, topo):
    pytest.importorskip("optuna")
    doc = sweep_doc(topo, search={"method": "nsga2", "samples": 12, "seed": 7, "population": 4})
    a = explore(doc, store=tmp_path / "a.sqlite")
    b = explore(doc, store=tmp_path / "b.sqlite", workers=2)
    assert len(a.points) == 12 and a.points.equals(b.points)
    again = explore(doc, store=tmp_path / "a.sqlite")
    assert again.evaluated == 0 and again.points.equals(a.points)
    assert not a.front.empty


def test_sqnr_objective_comes_from_the_recipe(tmp_path, topo):
    recipes = ROOT / "hwsim" / "data" / "recipes"
    doc = sweep_doc(
        topo,
        quant=[str(recipes / "w8a8-int.yaml"), str(recipes / "fp8-e4m3.yaml")],
        parameters={"pe_array.rows": [16]},
        objectives=["cycles", "sqnr_db"],
    )
    r = explore(doc, store=tmp_path / "s.sqlite")
    assert list(r.points["quant"]) == ["w8a8-int", "fp8-e4m3"]
    ok = r.points[r.points["status"] == "ok"]
    assert list(ok["quant"]) == ["w8a8-int"]  # the int_mac PE refuses float8 formats
    assert 20 < ok["sqnr_db"].iloc[0] < 40
    assert "not an integer format" in r.points["reason"][1]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"version": 2}, r"version: expected 1, got 2"),
        ({"arch": "nope.yaml"}, r"arch: no file or shipped arch named 'nope.yaml'"),
        ({"colour": 1}, r"colour: unknown key"),
        ({"workloads": []}, r"workloads: expected a non-empty list"),
        ({"mode": "fast"}, r"mode: expected one of event, analytic, scalesim"),
        ({"search": {"method": "anneal"}}, r"search.method: expected one of grid, random, nsga2"),
        ({"search": {"method": "random", "samples": 0}}, r"search.samples: expected an integer"),
        ({"objectives": ["speed"]}, r"objectives: unknown objective 'speed'"),
        ({"objectives": ["sqnr_db"]}, r"sqnr_db needs at least one quant recipe"),
        ({"parameters": {"pe_array.rows": 16}}, r"parameters.pe_array.rows: expected a non-empty"),
        ({"quant": ["no-such-recipe"]}, r"quant: no file or shipped recipe named 'no-such-recipe'"),
    ],
)
def test_bad_sweep_files_are_one_line_errors(topo, change, message):
    with pytest.raises(HwsimError, match=message):
        load_sweep(sweep_doc(topo, **change))


def test_sweep_file_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("version: 1\narch: [unclosed\n")
    with pytest.raises(HwsimError, match=r"bad.yaml: not valid YAML"):
        load_sweep(p)
    with pytest.raises(
        HwsimError, match=r"sweep: no file or shipped sweep named '.*missing\.yaml'"
    ):
        load_sweep(tmp_path / "missing.yaml")


def test_open_existing_refuses_non_stores(tmp_path):
    p = tmp_path / "x.sqlite"
    p.write_text("hello")
    with pytest.raises(HwsimError, match="not a result store"):
        open_existing(p)
    with pytest.raises(HwsimError, match="not found"):
        open_existing(tmp_path / "none.sqlite")


def test_pareto_vectorised_equals_reference(rng):
    for n, k in [(1, 2), (7, 2), (40, 3), (60, 4)]:
        # small integers: many ties and duplicates
        v = rng.integers(0, 5, size=(n, k)).astype(float)
        v[rng.random((n, k)) < 0.05] = np.nan
        signs = rng.choice([-1, 1], size=k)
        assert list(pareto_mask(v, signs)) == pareto_mask_reference(v.tolist(), signs.tolist())


def test_pareto_hand_example():
    v = [[1, 5], [2, 2], [5, 1], [3, 3], [2, 2], [6, 6]]
    assert list(pareto_mask(v, [1, 1])) == [True, True, True, False, True, False]
    # maximising the second: [6, 6] has the largest, [1, 5] the smallest first
    assert list(pareto_mask(v, [1, -1])) == [True, False, False, False, False, True]
    assert list(pareto_mask([[1, 10], [2, 20]], [1, -1])) == [True, True]
    assert list(pareto_mask([[1, 20], [2, 10]], [1, -1])) == [True, False]


def test_front_of_ignores_invalid_points(tmp_path, topo):
    r = explore(sweep_doc(topo, parameters={"pe_array.rows": [0, 8, 32]}), store=tmp_path / "s")
    front = front_of(r.points, ["cycles", "area_mm2"])
    assert set(front["status"]) == {"ok"} and len(front) == 2


def test_params_column_round_trips(tmp_path, topo):
    r = explore(sweep_doc(topo), store=tmp_path / "s.sqlite")
    with ResultStore(tmp_path / "s.sqlite") as db:
        stored = db.table()
    assert json.loads(stored["params"][0])["pe_array.rows"] == 8
    assert list(stored["key"]) == list(r.points["key"])


def test_apply_params_leaves_the_base_document_alone():
    from hwsim.dse.evaluate import apply_params, base_doc

    doc = base_doc(ARCH)
    before = json.dumps(doc, sort_keys=True)
    out = apply_params(doc, {"pe_array.rows": 4, "memory[1].size_bytes": 8, "dram.new": 1}, "t")
    assert json.dumps(doc, sort_keys=True) == before
    assert out["pe_array"]["rows"] == 4 and out["memory"][1]["size_bytes"] == 8
    assert out["memory"][0] is doc["memory"][0]  # untouched parts are shared
    assert out["dram"].lines["new"] == doc["dram"].line and "new" not in doc["dram"].lines


def test_profile_reprices_without_changing_cycles(tmp_path, topo):
    params = {"pe_array.rows": [16]}
    own = explore(sweep_doc(topo, parameters=params), store=tmp_path / "a.sqlite")
    other = explore(
        sweep_doc(topo, parameters=params, profile="accelergy40"), store=tmp_path / "a.sqlite"
    )
    assert other.evaluated == 1  # another profile is another configuration
    assert other.points["key"][0] != own.points["key"][0]
    assert other.points["cycles"][0] == own.points["cycles"][0]
    assert other.points["energy_pj"][0] != own.points["energy_pj"][0]
    with pytest.raises(HwsimError, match=r"profile: expected one of .*got 'nope'"):
        load_sweep(sweep_doc(topo, profile="nope"))
