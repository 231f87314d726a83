"""The sweep's per-point shortcuts give exactly what the plain path gives: the section-memo
arch, SQNR hints, the Pareto sweep, forked workers."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hwsim.dse import explore, pareto_mask, pareto_mask_reference
from hwsim.dse.archmemo import point_arch
from hwsim.dse.evaluate import Task, apply_params, base_doc, evaluate, known_sqnr
from hwsim.dse.executor import _context, run_tasks
from hwsim.errors import HwsimError
from hwsim.spec.loader import arch_from_mapping

ROOT = Path(__file__).resolve().parents[2]
ARCH = str(ROOT / "hwsim" / "data" / "arch" / "scalesim.yaml")
W8A8 = str(ROOT / "hwsim" / "data" / "recipes" / "w8a8-int.yaml")


def exact(params: dict):
    return arch_from_mapping(apply_params(base_doc(ARCH), params, ARCH), ARCH)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pe_array.rows": 8},
        {"pe_array.rows": 8, "pe_array.cols": 24, "memory[filter_sram].size_bytes": 4096},
        {"memory[1].banks": 2, "dram.bytes_per_cycle": 4, "clock_mhz": 500},
        {"precision.weight_bits": 4, "pe_array.cols": 16, "dataflow": "ws"},
        {"technology.node_nm": 7, "vector_unit.lanes": 8},
    ],
)
def test_section_memo_arch_equals_the_loader(params):
    try:
        want = exact(params)
    except HwsimError:
        assert point_arch(ARCH, params) is None
        return
    assert point_arch(ARCH, params) == want


@pytest.mark.parametrize(
    "params",
    [
        {"pe_array.rows": 0},
        {"pe_array.rows": True},  # a bool is not an integer, though True == 1
        {"pe_array.rows": 8, "memory[nope].banks": 1},
        {"pe_array.rowz": 1},
        {"colour": 1},
        {"pe_array.rows": [8]},  # not a scalar: the exact path decides
    ],
)
def test_section_memo_leaves_invalid_points_to_the_exact_path(params):
    assert point_arch(ARCH, params) is None


def test_bool_and_int_values_are_memoised_apart():
    assert point_arch(ARCH, {"pe_array.rows": 1}) is not None
    assert point_arch(ARCH, {"pe_array.rows": True}) is None
    assert point_arch(ARCH, {"pe_array.rows": 1.0}) is None  # rows: an integer


def test_invalid_reasons_name_the_point(tmp_path):
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 64, 100, 50,\n")
    base = {"workload": str(topo), "quant": None}
    bad_field = Task(0, "k0", ARCH, "analytic", tuple({**base, "pe_array.rows": 0}.items()))
    row = evaluate(bad_field)
    assert row["status"] == "invalid"
    assert row["reason"].startswith(f"{ARCH} [pe_array.rows=0]: arch.pe_array.rows: expected")
    # valid arch, fails in the simulator (a 1-byte filter buffer): worded with the label too
    tiny = {**base, "memory[filter_sram].size_bytes": 1}
    row = evaluate(Task(1, "k1", ARCH, "analytic", tuple(tiny.items())))
    assert row["status"] == "invalid"
    assert f"{ARCH} [memory[filter_sram].size_bytes=1]" in row["reason"]


def test_sqnr_hints_change_nothing(tmp_path):
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 64, 100, 50,\n")
    choices = [{"workload": str(topo), "quant": q, "pe_array.rows": r}
               for q, r in itertools.product([None, W8A8], [8, 16])]  # fmt: skip
    tasks = [Task(i, f"k{i}", ARCH, "analytic", tuple(c.items())) for i, c in enumerate(choices)]
    hinted = known_sqnr(tasks)
    assert [t.sqnr_db is not None for t in hinted] == [False, False, True, True]
    assert [evaluate(t) for t in hinted] == [evaluate(t) for t in tasks]
    broken = replace(tasks[2], choice=(("workload", str(topo)), ("quant", str(topo))))
    assert known_sqnr([broken]) == [broken]  # a failing recipe is left to the worker


def test_pareto_sweep_equals_reference_on_larger_sets(rng):
    for n, k in [(0, 2), (300, 2), (300, 3), (200, 4), (120, 5)]:
        v = rng.integers(0, 6, size=(n, k)).astype(float)
        v[rng.random((n, k)) < 0.03] = np.nan
        v[rng.random((n, k)) < 0.03] = np.inf
        signs = rng.choice([-1, 1], size=k)
        assert list(pareto_mask(v, signs)) == pareto_mask_reference(v.tolist(), signs.tolist())


def test_workers_are_forked_only_from_a_single_threaded_process():
    import threading

    from hwsim.dse.executor import _numba_threads_started

    if threading.active_count() == 1 and not _numba_threads_started():
        assert _context().get_start_method() == "fork"
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert _context().get_start_method() == "spawn"
    finally:
        stop.set()
        t.join()
    import hwsim

    hwsim.format("float8_e4m3fn").decode(np.arange(256, dtype=np.uint8))  # may start numba's pool
    if _numba_threads_started():  # a numba parallel pool copied by fork could hang
        assert _context().get_start_method() == "spawn"


def test_one_and_two_workers_agree_with_invalid_points_and_hints(tmp_path):
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 128, 64, 256,\n")
    doc = {
        "version": 1,
        "name": "fast",
        "arch": ARCH,
        "workloads": [str(topo)],
        "quant": [None, W8A8],
        "mode": "analytic",
        "parameters": {
            "pe_array.rows": [0, 8, 16, 32, 48],
            "pe_array.cols": [8, 16, 32, 64],
            "memory[filter_sram].size_bytes": [1, 4096, 65536],
        },  # fmt: skip
        "objectives": ["cycles", "energy_pj", "sqnr_db"],
    }
    one = explore(doc, store=tmp_path / "a.sqlite", workers=1)
    two = explore(doc, store=tmp_path / "b.sqlite", workers=2)
    assert len(one.points) == 120 and two.points.equals(one.points)
    assert two.front.equals(one.front)
    assert set(one.points["status"]) == {"ok", "invalid"}
    rows: list[dict] = []
    tasks = [Task(i, f"k{i}", ARCH, "analytic", (("workload", str(topo)), ("quant", None)))
             for i in range(70)]  # fmt: skip
    run_tasks(tasks, rows.extend, workers=1)
    assert [r["seq"] for r in rows] == list(range(70))


def test_clearing_the_caches_changes_no_row(tmp_path):
    from hwsim.dse.evaluate import clear_caches

    topo = tmp_path / "topo.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 64, 100, 50,\n")
    choice = {"workload": str(topo), "quant": W8A8, "pe_array.rows": 8, "dram.bytes_per_cycle": 4}
    task = Task(0, "k", ARCH, "analytic", tuple(choice.items()))
    before = evaluate(task)
    clear_caches()
    assert evaluate(task) == before and before["status"] == "ok"
