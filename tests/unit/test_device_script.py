"""reports/gpu/run_on_device.sh, the one-call GPU battery, runs end to end on a CPU: the
GPU checks skip, and every file it promises the device tool is written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "env.txt", "verify.json", "verify.txt", "banner.txt", "fp8_scaled_mm.md",
    "pytest_gpu.txt", "bench_reference.md",
}  # fmt: skip


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_device_script_writes_its_files(tmp_path):
    pytest.importorskip("torch")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "BENCH_ARGS": "--m 1 --repeats 1 --shapes qkvo",
    }
    out = subprocess.run(
        ["sh", "reports/gpu/run_on_device.sh", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert {p.name for p in tmp_path.iterdir()} == FILES  # the device tool brings back 8 at most
    assert "group_gemm int4 M=1 qkvo" in (tmp_path / "bench_reference.md").read_text()
    gpu_tests = (tmp_path / "pytest_gpu.txt").read_text()
    assert re.search(r"\d+ (passed|skipped)", gpu_tests) and "failed" not in gpu_tests
    assert "python" in (tmp_path / "env.txt").read_text()
