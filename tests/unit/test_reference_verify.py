"""`hwsim verify`: table and --json in the API contract's shape, skips without torch,
files under -o, one-line errors."""

from __future__ import annotations

import json
import sys

import pytest

from hwsim.cli import main
from hwsim.reference.battery import Check, run_battery, table


def test_verify_json_shape(capsys):
    rc = main(["verify", "--json", "--quick", "--only", "bitplane"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert isinstance(doc["device"], str) and doc["checks"]
    for c in doc["checks"]:
        assert {"name", "passed", "skipped"} <= set(c)
        assert "bitplane" in c["name"]
        assert c["skipped"] or c["passed"] is True
    ran = [c for c in doc["checks"] if not c["skipped"]]
    assert ran and all(c["max_ulp"] == 0 and c["bit_exact"] for c in ran)


def test_verify_table_and_files(capsys, tmp_path):
    rc = main(["verify", "--quick", "--only", "group_gemm", "-o", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "reference checks on" in out and "PASS" in out and "group_gemm int4 g128" in out
    assert (tmp_path / "r" / "verify.json").exists() and (tmp_path / "r" / "banner.txt").exists()
    assert json.loads((tmp_path / "r" / "verify.json").read_text())["checks"]


def test_verify_without_torch_says_what_it_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    res = run_battery(size="quick", only="cast float8_e5m2")
    torch_checks = [c for c in res.checks if "ml_dtypes" not in c.name]
    assert torch_checks and all(c.skipped for c in torch_checks)
    assert all("torch is not installed" in c.reason for c in torch_checks)
    assert all(c.passed for c in res.checks if "ml_dtypes" in c.name)  # no torch needed
    assert res.device.endswith("no torch)")
    res = run_battery(size="quick", only="trunc_align")  # numpy-only checks still run
    assert [c.passed for c in res.checks] == [True]


def test_failing_check_is_reported_and_exit_status(monkeypatch, capsys):
    from hwsim.reference import battery

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(battery, "_CHECKS", [*battery._CHECKS, (("broken",), broken)])
    rc = main(["verify", "--quick", "--only", "broken"])
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL" in out and "raised RuntimeError: boom" in out


def test_fp8_table_written(tmp_path):
    pytest.importorskip("torch")
    assert main(["verify", "--quick", "--only", "scaled_mm accumulation", "-o", str(tmp_path)]) == 0
    text = (tmp_path / "fp8_scaled_mm.md").read_text()
    assert "| scaled_mm accumulation fast_accum=False K=64 | True |" in text


def test_import_does_not_pull_torch():
    import subprocess

    code = (
        "import sys, hwsim.reference as R; R.compare; R.group_gemm; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_verify_errors(capsys):
    assert main(["verify", "--quick", "--only", "no-such-check"]) == 2
    assert "verify --only: no check name contains 'no-such-check'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["verify", "--device", "tpu"])
    from hwsim.reference.torch_ops import cuda_available

    if not cuda_available():
        assert main(["verify", "--quick", "--device", "cuda"]) == 2
        assert "'cuda' requested but torch sees no CUDA GPU" in capsys.readouterr().err


def test_table_counts():
    from hwsim.reference.battery import BatteryResult

    res = BatteryResult(
        "cpu", {}, [Check("a", True), Check("b", False, reason="x"), Check("c", None, True, "y")]
    )
    text = table(res)
    assert "1 passed, 1 failed, 1 skipped on cpu" in text and not res.ok
