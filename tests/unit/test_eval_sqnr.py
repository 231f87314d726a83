"""`hwsim run`'s SQNR: per-op on a workload's traced tensors, else the labelled proxy GEMM."""

from __future__ import annotations

import json

import numpy as np

from hwsim.dse.quant import PROXY_SOURCE
from hwsim.report.run import run_point
from hwsim.workload import Op, Workload, save_yaml
from hwsim.workload.accuracy import TRACED_SOURCE, traced_sqnr

RECIPE = "w8a8-int"


def _traced(rng) -> Workload:
    ops = tuple(
        Op(f"fc{i}", "gemm", M=8, N=16, K=64, inputs=rng.standard_normal((8, 64)) * (i + 1),
           weights=rng.standard_normal((16, 64)) ** (2 * i + 1))
        for i in range(2)
    )  # fmt: skip
    return Workload("t", ops)


def test_traced_sqnr_is_per_op_and_their_mean(rng):
    got = traced_sqnr(_traced(rng), RECIPE, rng)
    assert got["sqnr_source"] == TRACED_SOURCE
    per_op = got["op_sqnr_db"]
    assert list(per_op) == ["fc0", "fc1"] and per_op["fc0"] != per_op["fc1"]
    assert all(25 < v < 60 for v in per_op.values())
    assert got["output_sqnr_db"] == np.mean(list(per_op.values()))
    shapes = Workload("s", (Op("fc", "gemm", M=8, N=16, K=64),))
    assert traced_sqnr(shapes, RECIPE, rng) is None


def test_run_labels_its_sqnr_source(rng, tmp_path):
    arch = "tpu_int8"
    path = save_yaml(_traced(rng), tmp_path / "t.yaml", tensors="npz")
    traced, _ = run_point(arch, str(path), RECIPE, "analytic", tmp_path / "a")
    proxy, _ = run_point(arch, "minilm-l6:prefill:16", RECIPE, "analytic", tmp_path / "b")
    assert traced["sqnr_source"] == TRACED_SOURCE and set(traced["op_sqnr_db"]) == {"fc0", "fc1"}
    assert proxy["sqnr_source"] == PROXY_SOURCE == "proxy: synthetic 64x256x1024 GEMM"
    assert "op_sqnr_db" not in proxy
    on_disk = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert on_disk["sqnr_source"] == PROXY_SOURCE
