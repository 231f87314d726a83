"""Shipped archs, workloads, recipes and sweeps are package data, found by name from anywhere."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml

import hwsim
from hwsim.cli import main
from hwsim.dse.spec import load_sweep
from hwsim.errors import HwsimError
from hwsim.shipped import DATA, KINDS, files, names, resolve
from hwsim.workload import load_recipe

ROOT = Path(__file__).resolve().parents[2]
CARD = "llama-2-7b:decode:16"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory with nothing of the repository in it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_json(capsys, out: str, *argv) -> dict:
    capsys.readouterr()
    assert main(["run", *map(str, argv), "--json", "-o", out]) == 0
    return json.loads(capsys.readouterr().out)


def one_line_error(capsys, argv) -> str:
    capsys.readouterr()
    assert main(list(map(str, argv))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hwsim: error: "), err
    return err


def test_run_takes_shipped_names_from_any_directory(elsewhere, capsys):
    s = run_json(capsys, "a", "bitmod", "llama-2-7b:prefill:256", "--mode", "analytic")
    direct = hwsim.simulate(
        DATA / "arch" / "bitmod.yaml", "llama-2-7b:prefill:256", mode="analytic"
    )
    assert s["arch"] == "bitmod" and s["cycles"] == direct.cycles
    q = run_json(capsys, "b", "bitmod", "minilm", "--quant", "bitmod-w4g128", "--mode", "analytic")
    assert q["quant"] == "bitmod-w4g128" and q["workload"] == "minilm-l6"
    # the repository's spelling before the files became package data names the same files
    old = (
        "arch/bitmod.yaml",
        "workloads/minilm.yaml",
        "--quant",
        "workloads/recipes/bitmod-w4g128.yaml",
    )
    assert run_json(capsys, "c", *old, "--mode", "analytic")["cycles"] == q["cycles"]
    topo = run_json(capsys, "d", "scalesim.cfg", "resnet18", "--mode", "scalesim")
    assert topo["cycles"] > 0 and (elsewhere / "d" / "COMPUTE_REPORT.csv").is_file()


def test_sweep_file_names_shipped_archs_workloads_and_recipes(elsewhere, capsys):
    doc = {
        "version": 1,
        "name": "names",
        "arch": "tpu_int8",
        "workloads": [CARD, "minilm"],
        "quant": [None, "w8a8-int"],
        "mode": "analytic",
        "parameters": {"pe_array.rows": [16, 32]},
        "objectives": ["cycles", "energy_pj", "sqnr_db"],
    }
    (elsewhere / "s.yaml").write_text(yaml.safe_dump(doc))
    assert main(["sweep", "s.yaml", "-o", "sw", "--no-progress"]) == 0
    points = pd.read_csv(elsewhere / "sw" / "points.csv")
    assert len(points) == 8 and (points["status"] == "ok").all()
    assert load_sweep("bitmod-array").arch == files("arch")["bitmod"]


def test_sweep_references_resolve_next_to_the_sweep_file_first(elsewhere):
    sub = elsewhere / "sub"
    sub.mkdir()
    mine = yaml.safe_load(files("arch")["tpu_int8"].read_text()) | {"name": "mine"}
    (sub / "tpu_int8.yaml").write_text(yaml.safe_dump(mine))
    (sub / "w8a8-int.yaml").write_text(files("recipe")["w8a8-int"].read_text())
    doc = {"version": 1, "arch": "tpu_int8.yaml", "workloads": [CARD], "quant": ["w8a8-int.yaml"]}
    (sub / "s.yaml").write_text(yaml.safe_dump(doc))
    sw = load_sweep(sub / "s.yaml")
    assert sw.arch == sub / "tpu_int8.yaml" and hwsim.load_arch(sw.arch).name == "mine"
    assert dict(sw.axes)["quant"] == (str(sub / "w8a8-int.yaml"),)
    doc["arch"] = "tpu_int8"  # no such file beside it: the shipped arch
    (sub / "s.yaml").write_text(yaml.safe_dump(doc))
    assert load_sweep(sub / "s.yaml").arch == files("arch")["tpu_int8"]


def test_an_existing_path_beats_a_shipped_name(elsewhere):
    (elsewhere / "arch").mkdir()
    mine = yaml.safe_load(files("arch")["bitmod"].read_text()) | {"name": "mine"}
    (elsewhere / "arch" / "bitmod.yaml").write_text(yaml.safe_dump(mine))
    assert hwsim.load_arch("arch/bitmod.yaml").name == "mine"
    assert hwsim.load_arch("bitmod.yaml").name == "bitmod"
    assert resolve("arch", "bitmod") == resolve("arch", "bitmod.yaml") == DATA / "arch/bitmod.yaml"
    with pytest.raises(HwsimError, match=r"arch: no file or shipped arch named 'other/bitmod"):
        resolve("arch", "other/bitmod.yaml")  # a shipped name's folder is its old one only


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "bitmodd", CARD], r"arch: no file or shipped arch named 'bitmodd'; shipped: ant,"),
        (["run", "bitmod", "minilmm"], r"workload: no file or shipped workload named 'minilmm' "),
        (["run", "bitmod", CARD, "--quant", "w9"], r"recipe: no file .* 'w9'; shipped: bitmod-w3g"),
        (["sweep", "bitmod-aray"], r"sweep: no file or shipped sweep named 'bitmod-aray'; shipped"),
    ],
)
def test_a_wrong_name_is_one_line_listing_the_shipped_names(elsewhere, capsys, argv, message):
    err = one_line_error(capsys, argv)
    kind = message.partition(":")[0]
    assert ", ".join(names(kind)) in err
    assert re.search(message, err), err


def test_library_errors_name_their_own_terms_not_cli_flags(elsewhere):
    with pytest.raises(HwsimError, match=r"^recipe: no file or shipped recipe named 'w9'") as e:
        load_recipe("w9")
    assert "--" not in str(e.value)
    doc = {"version": 1, "arch": "tpu_int8", "workloads": [CARD], "quant": ["w8a8-itn"]}
    (elsewhere / "s.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(HwsimError, match=r"s\.yaml: quant: no file or shipped recipe named 'w8a8"):
        load_sweep(elsewhere / "s.yaml")


def test_every_shipped_file_has_one_name_and_ships_in_the_wheel():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["*"]
    on_disk = sorted(p for p in DATA.rglob("*") if p.is_file())
    named = sorted(p for kind in KINDS for p in files(kind).values())
    assert named == on_disk  # no file is shadowed by another of the same name, none is orphaned
    assert all(any(p.match(pat) for pat in patterns) for p in on_disk)
