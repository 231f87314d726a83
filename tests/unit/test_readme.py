"""Every command in README.md runs: its ```sh blocks (pip installs and the test-suite command
itself skipped) and its ```python blocks."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def readme_commands() -> list[str]:
    """The shell commands of README.md's ```sh blocks, `&&` chains split, comments dropped,
    installs (already done here) and the whole-suite pytest run (this test is part of it) left
    out."""
    out = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            for cmd in (c.strip() for c in line.split("&&")):
                if cmd.startswith("pip install") or cmd.startswith("python -m pytest"):
                    continue
                out.append(cmd)
    return out


def test_readme_has_the_main_command():
    assert "hwsim run bitmod llama-2-7b:prefill:256 --mode analytic" in readme_commands()


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command, tmp_path):
    argv = shlex.split(command)
    assert argv[0] == "hwsim", f"README command {command!r}: expected an hwsim command"
    # shipped archs, workloads, recipes and sweeps are found by name from any directory
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "hwsim", *argv[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip()
    if argv[1] == "run":
        reports = list((tmp_path / "reports").iterdir())
        assert len(reports) == 1 and (reports[0] / "summary.json").is_file()


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_readme_python_block_runs(index, monkeypatch):
    """Runs the block statement by statement; `expr  # -> value` must give that value."""
    import ast

    import numpy as np

    monkeypatch.chdir(ROOT)
    source = _blocks("python")[index]
    lines = source.splitlines()
    namespace: dict = {}
    for stmt in ast.parse(source).body:
        where = f"README.md python block {index} line {stmt.lineno}"
        _, _, expected = lines[stmt.end_lineno - 1].partition("# ->")
        if expected.strip() and isinstance(stmt, ast.Expr):
            got = eval(compile(ast.Expression(stmt.value), where, "eval"), namespace)
            want = ast.literal_eval(expected.strip())
            assert np.array_equal(np.asarray(got), np.asarray(want)), (where, got, want)
        else:
            exec(compile(ast.Module([stmt], []), where, "exec"), namespace)
