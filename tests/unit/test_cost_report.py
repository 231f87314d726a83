"""Format-aware cost in the reports: summary.json/md fields, `hwsim compare`, --require-fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from hwsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
ZCU104 = ROOT / "hwsim" / "data" / "arch" / "fpga_zcu104.yaml"
WORKLOAD = "resnet-18:prefill:224"


def too_big(tmp_path) -> Path:
    doc = yaml.safe_load(ZCU104.read_text())
    doc["pe_array"].update(rows=48, cols=48)  # 2,304 packed DSPs on a 1,728-DSP part
    p = tmp_path / "big.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_fpga_resources_reach_summary_json_and_md(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(ZCU104), WORKLOAD, "--mode", "analytic", "-o", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    f = s["fpga"]
    assert f["part"] == "xczu7ev-ffvc1156-2-e" and f["fits"] and f["over"] == []
    assert f["dsps"] == 768 and f["device"]["dsps"] == 1728
    assert f["share"]["luts"] == pytest.approx(f["luts"] / 230400)
    assert s["leakage_pj"] == s["energy_breakdown_pj"]["leakage"] > 0
    pe = {k for k in s["area_breakdown_mm2"] if k.startswith("pe:")}
    assert pe == {"pe:multiplier", "pe:accumulator", "pe:registers"}
    md = (out / "summary.md").read_text()
    assert "## FPGA resources (xczu7ev-ffvc1156-2-e: fits)" in md
    assert "| dsps | 768 | 1,728 |" in md and "| pe:multiplier |" in md
    assert "fits xczu7ev-ffvc1156-2-e" in capsys.readouterr().out


def test_a_design_that_does_not_fit_is_reported_then_refused_with_require_fit(tmp_path, capsys):
    arch = too_big(tmp_path)
    out = tmp_path / "run"
    assert main(["run", str(arch), WORKLOAD, "--mode", "analytic", "-o", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert not s["fpga"]["fits"] and s["fpga"]["over"] == ["dsps"]
    assert "does not fit: dsps over" in (out / "summary.md").read_text()
    strict = tmp_path / "strict"
    rc = main(
        ["run", str(arch), WORKLOAD, "--mode", "analytic", "-o", str(strict), "--require-fit"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and not strict.exists()
    assert err[-1] == (
        "hwsim: error: --require-fit: fpga_zcu104 does not fit xczu7ev-ffvc1156-2-e: "
        "dsps 2,304 > 1,728"
    )


def test_compare_shows_pe_split_leakage_and_fpga_resources(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", str(ZCU104), WORKLOAD, "--mode", "analytic", "-o", str(a)]) == 0
    assert main(["run", str(too_big(tmp_path)), WORKLOAD, "--mode", "analytic", "-o", str(b)]) == 0
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--json"]) == 0
    rows = {r["metric"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["fpga:dsps"]["a"] == 768 and rows["fpga:dsps"]["b"] == 2304
    assert rows["fpga:dsps"]["ratio"] == pytest.approx(3.0)
    assert rows["energy_pj:leakage"]["a"] > 0
    assert rows["area_mm2:pe:multiplier"]["ratio"] == pytest.approx(3.0)


def test_a_format_no_datapath_model_covers_is_one_line(tmp_path, capsys):
    doc = yaml.safe_load((ROOT / "hwsim" / "data" / "arch" / "tpu_int8.yaml").read_text())
    doc["pe_array"]["pe"] = {"kind": "mixed_dtype", "params": {}}
    doc["precision"].update(weight_format="mxfp4", weight_bits=4)
    arch = tmp_path / "mx.yaml"
    arch.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    rc = main(["run", str(arch), "llama-2-7b:decode:16", "--mode", "analytic", "-o", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and not out.exists()
    assert err[0] == (
        f"hwsim: error: {arch}: arch.precision: format 'mxfp4': no datapath model covers "
        "BlockFormat; expected an integer, fixed-point, minifloat, power-of-two or codebook format"
    )
