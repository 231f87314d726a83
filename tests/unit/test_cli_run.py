"""`hwsim run`: report files, SCALE-Sim COMPUTE_REPORT.csv, --json, atomic writes, errors."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

import hwsim
from hwsim.cli import main
from hwsim.errors import HwsimError
from hwsim.report import plots, writer
from hwsim.report.tables import OPS_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / "hwsim" / "data" / "arch" / "scalesim.cfg"  # 32 x 32, os
TOPOLOGY = "Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 32, 32, 32,\nfc3, 7, 300, 1000,\n"


@pytest.fixture
def topology(tmp_path) -> Path:
    p = tmp_path / "topo.csv"
    p.write_text(TOPOLOGY)
    return p


def _scalesim_os(M, N, K, R=32, C=32):
    """SCALE-Sim v2 os by hand: Sr=M, Sc=N, T=K; every fold takes R + C + T - 2 cycles."""
    folds = math.ceil(M / R) * math.ceil(N / C)
    per_fold = R + C + K - 2
    total = folds * per_fold - 1
    overall = 100.0 * M * N * K / (total * R * C)
    mapping = 100.0 * M * N / (R * C * folds)
    compute = 100.0 * M * N * K / (R * C * per_fold * folds)
    return total, overall, mapping, compute


def test_scalesim_files_give_compute_report_in_scalesims_columns(tmp_path, topology, capsys):
    out = tmp_path / "run"
    argv = ["run", str(CFG), str(topology), "--mode", "scalesim", "-o", str(out)]
    assert main([*argv, "--scalesim-version", "2.0.2"]) == 0
    lines = (out / "COMPUTE_REPORT.csv").read_text().splitlines()
    assert lines[0] == (
        "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,"
    )
    assert len(lines) == 4
    for lid, (line, shape) in enumerate(
        zip(lines[1:], [(64, 100, 50), (32, 32, 32), (7, 300, 1000)])
    ):
        cells = [c.strip() for c in line.split(",")]
        assert cells[-1] == ""  # SCALE-Sim's trailing comma
        total, overall, mapping, compute = _scalesim_os(*shape)
        assert int(cells[0]) == lid
        assert int(cells[1]) == total
        assert int(cells[2]) == 0
        assert float(cells[3]) == pytest.approx(overall, rel=1e-12)
        assert float(cells[4]) == pytest.approx(mapping, rel=1e-12)
        assert float(cells[5]) == pytest.approx(compute, rel=1e-12)
    assert _scalesim_os(64, 100, 50)[0] == 895  # 8 folds x 112 cycles - 1
    for name in ("summary.json", "summary.md", "ops.csv", *writer.PLOTS):
        assert (out / name).is_file(), name


def test_json_summary_matches_python_api(tmp_path, topology, capsys):
    out = tmp_path / "run"
    assert (
        main(["run", str(CFG), str(topology), "--mode", "analytic", "-o", str(out), "--json"]) == 0
    )
    printed = json.loads(capsys.readouterr().out)
    st = hwsim.simulate(hwsim.load_arch(CFG), hwsim.load_workload(str(topology)), mode="analytic")
    assert printed["cycles"] == st.cycles
    assert printed["energy_pj"] == pytest.approx(st.energy_pj, rel=1e-12)
    assert printed["area_mm2"] == pytest.approx(st.area_mm2, rel=1e-12)
    assert printed == json.loads((out / "summary.json").read_text())
    assert "COMPUTE_REPORT.csv" not in {p.name for p in out.iterdir()}  # scalesim mode only


def test_ops_csv_has_stable_columns_and_totals(tmp_path, topology):
    out = tmp_path / "run"
    main(["run", str(CFG), str(topology), "--mode", "event", "-o", str(out)])
    ops = pd.read_csv(out / "ops.csv")
    assert tuple(ops.columns) == OPS_COLUMNS
    summary = json.loads((out / "summary.json").read_text())
    assert int(ops["cycles_total"].sum()) == summary["cycles"]
    assert ops["energy_pj_total"].sum() == pytest.approx(summary["energy_pj"], rel=1e-9)
    assert list(ops["macs"]) == [64 * 100 * 50, 32**3, 7 * 300 * 1000]
    md = (out / "summary.md").read_text()
    assert md.startswith("# scalesim_32x32_os on topo (event)")
    assert "| cycles |" in md and "![roofline.png](roofline.png)" in md


def test_same_run_writes_same_bytes(tmp_path, topology):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        main(["run", str(CFG), str(topology), "--mode", "scalesim", "-o", str(d)])
    for f in sorted(p.name for p in a.iterdir()):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_quant_recipe_sets_precision_and_reports_sqnr(tmp_path, monkeypatch):
    wl = "llama-2-7b:decode:16"
    recipes = ROOT / "hwsim" / "data" / "recipes"
    s8 = _json_run(
        tmp_path / "a",
        ROOT / "hwsim/data/arch/tpu_int8.yaml",
        wl,
        "--quant",
        recipes / "w8a8-int.yaml",
    )
    assert s8["quant"] == "w8a8-int" and 20 < s8["output_sqnr_db"] < 40
    fp16 = ROOT / "hwsim" / "data" / "arch" / "fp16.yaml"
    plain = _json_run(tmp_path / "b", fp16, wl)
    monkeypatch.chdir(tmp_path)  # a bare name is a shipped recipe, from any directory
    fp8 = _json_run(tmp_path / "c", fp16, wl, "--quant", "fp8-e4m3")
    assert plain["quant"] is None and plain["output_sqnr_db"] is None
    assert fp8["quant"] == "fp8-e4m3"
    assert fp8["dram_bytes"] < plain["dram_bytes"]  # 8-bit weights and activations move less


def _json_run(out, arch, wl, *extra):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        argv = ["run", str(arch), wl, "--mode", "analytic", "-o", str(out), "--json"]
        assert main([*argv, *map(str, extra)]) == 0
    return json.loads(buf.getvalue())


def test_failed_write_leaves_no_half_report(tmp_path, topology, monkeypatch):
    out = tmp_path / "run"
    main(["run", str(CFG), str(topology), "--mode", "analytic", "-o", str(out)])
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "plot_roofline", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        main(["run", str(CFG), str(topology), "--mode", "event", "-o", str(out)])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old report intact
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        main(["run", str(CFG), str(topology), "-o", str(fresh)])
    assert not fresh.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "topo.csv"]  # no temp dirs


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--mode", "fast"], r"--mode: expected one of event, analytic, scalesim, got 'fast'"),
        (["--format", "xlsx"], r"--format: expected one of csv, parquet, got 'xlsx'"),
        (
            ["--quant", "no-such-recipe"],
            r"recipe: no file or shipped recipe named 'no-such-recipe'; shipped: ",
        ),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, topology, capsys, argv, message):
    out = tmp_path / "run"
    assert main(["run", str(CFG), str(topology), "-o", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hwsim: error: ")
    assert re.search(message, err)
    assert not out.exists()


def test_missing_arch_is_a_one_line_error(tmp_path, topology, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), str(topology)]) == 2
    assert "arch: no file or shipped arch named '" in capsys.readouterr().err


def test_output_path_that_is_a_file_is_refused(tmp_path, topology):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(HwsimError, match="exists and is not a directory"):
        writer.write_run(
            hwsim.simulate(
                hwsim.load_arch(CFG), hwsim.load_workload(str(topology)), mode="analytic"
            ),
            target,
        )


def test_parquet_output_round_trips(tmp_path, topology):
    pytest.importorskip("pyarrow")
    out = tmp_path / "run"
    main(
        [
            "run",
            str(CFG),
            str(topology),
            "--mode",
            "analytic",
            "-o",
            str(out),
            "--format",
            "parquet",
        ]
    )
    summary, ops = writer.read_run(out)
    assert tuple(ops.columns) == OPS_COLUMNS and int(ops["cycles_total"].sum()) == summary["cycles"]


@pytest.mark.parametrize("command", ["run", "report", "compare"])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert "Example: hwsim " + command in capsys.readouterr().out
