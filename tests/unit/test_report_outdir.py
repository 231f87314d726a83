"""Report directories shared with the user: hwsim replaces its own files, never anyone
else's, survives interruptions without losing the directory, and cleans its leftovers."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hwsim.cli import main
from hwsim.errors import HwsimError
from hwsim.report import read_run
from hwsim.report.outdir import MANIFEST, TMP_PREFIX, OutputDir

ROOT = Path(__file__).resolve().parents[2]
ARCH = str(ROOT / "hwsim" / "data" / "arch" / "scalesim.yaml")
TOPO = "Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 128, 64, 256,\n"
FILES = {"summary.json", "summary.md", "ops.csv", "energy_breakdown.png", "op_cycles.png",
         "roofline.png", MANIFEST}  # fmt: skip


@pytest.fixture
def topo(tmp_path) -> str:
    p = tmp_path / "topo.csv"
    p.write_text(TOPO)
    return str(p)


def run(topo: str, out, *extra) -> int:
    return main(["run", ARCH, topo, "--mode", "analytic", "-o", str(out), *extra])


def test_user_files_beside_a_report_survive_a_rerun(tmp_path, topo, capsys):
    out = tmp_path / "out"
    assert run(topo, out) == 0
    assert {p.name for p in out.iterdir()} == FILES
    (out / "thesis.tex").write_text("my thesis\n")
    (out / "figs").mkdir()
    (out / "summary.json").write_text("{}")  # a stale hwsim file: replaced
    assert run(topo, out) == 0
    assert (out / "thesis.tex").read_text() == "my thesis\n" and (out / "figs").is_dir()
    assert read_run(out)[0]["workload"] == "topo"
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] and set(manifest["files"]) == FILES - {MANIFEST}


def test_a_files_hwsim_no_longer_writes_are_dropped_only_if_it_wrote_them(tmp_path, topo):
    pytest.importorskip("pyarrow")
    out = tmp_path / "out"
    assert run(topo, out) == 0
    (out / "mine.csv").write_text("x\n")
    assert run(topo, out, "--format", "parquet") == 0
    names = {p.name for p in out.iterdir()}
    assert "ops.parquet" in names and "ops.csv" not in names and "mine.csv" in names


def test_dot_is_a_report_directory_when_empty_or_hwsims(tmp_path, topo, monkeypatch, capsys):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    assert run(topo, ".") == 0
    assert run(topo, ".") == 0  # now hwsim's own
    assert {p.name for p in here.iterdir()} == FILES
    capsys.readouterr()


def test_a_report_directory_an_older_hwsim_wrote_is_taken_over(tmp_path, topo):
    old = tmp_path / "old"
    old.mkdir()
    for name in ("summary.json", "ops.csv", "COMPUTE_REPORT.csv", "roofline.png"):
        (old / name).write_text("old\n")
    assert run(topo, old) == 0
    assert {p.name for p in old.iterdir()} == FILES  # its COMPUTE_REPORT.csv (hwsim's) gone


def test_leftovers_of_an_interrupted_write_are_removed_and_only_those(tmp_path, topo):
    out = tmp_path / "out"
    assert run(topo, out) == 0
    (out / f"{TMP_PREFIX}dead0001-ops.csv").write_text("half\n")
    (out / ".tmp-mine").write_text("the user's\n")
    assert run(topo, out) == 0
    names = {p.name for p in out.iterdir()}
    assert names == FILES | {".tmp-mine"}


def test_a_kill_mid_replace_keeps_the_directory_and_says_so(tmp_path, topo, monkeypatch):
    """Ctrl-C after two files are in place: the directory is there, holding whole files and no
    temporary, read_run refuses the mix (the manifest says it is incomplete), a rerun heals."""
    out = tmp_path / "out"
    assert run(topo, out) == 0
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # manifest, two files, then the kill
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert run(topo, out) == 130
    monkeypatch.undo()
    assert out.is_dir() and (out / "summary.json").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert json.loads((out / MANIFEST).read_text())["complete"] is False
    with pytest.raises(HwsimError, match="interrupted while being written"):
        read_run(out)
    assert run(topo, out) == 0
    assert {p.name for p in out.iterdir()} == FILES
    assert read_run(out)[0]["mode"] == "analytic"


def test_a_failed_write_leaves_the_old_report_whole(tmp_path, topo, monkeypatch, capsys):
    import errno

    out = tmp_path / "out"
    assert run(topo, out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("matplotlib.figure.Figure.savefig", full)
    capsys.readouterr()
    assert run(topo, out) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_manifest_never_names_files_outside_its_directory(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (tmp_path / "precious.txt").write_text("keep\n")
    (d / MANIFEST).write_text(
        json.dumps({"written_by": "hwsim", "complete": True, "files": ["../precious.txt"]})
    )
    (d / "x.txt").write_text("user\n")
    with pytest.raises(HwsimError, match="expected an empty directory or one hwsim wrote"):
        OutputDir(d, "report directory", {"summary.json"})
    assert (tmp_path / "precious.txt").read_text() == "keep\n"


def test_an_older_releases_leftovers_are_cleaned_and_only_those(tmp_path, topo):
    """The old writer renamed whole directories (`.out.tmp-XXXXXXXX`, `.out.old-XXXXXXXX`);
    a kill between its renames left them, and the report itself missing."""
    for leftover in (".out.tmp-ab12cd_3", ".out.old-zz99yy88"):
        d = tmp_path / leftover
        d.mkdir()
        (d / "summary.json").write_text("{}")
        (d / "ops.csv").write_text("x\n")
    mine = tmp_path / ".out.old-mine0000"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's\n")  # not a report: kept
    out = tmp_path / "out"
    assert run(topo, out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.old-mine0000", "out", "topo.csv"]
    sweep_dir = tmp_path / "sw"
    sweep_dir.mkdir()
    (sweep_dir / "points.csv").write_text("seq\n")
    (sweep_dir / ".points.csv.k3j_x9a1.csv").write_text("half\n")  # the old sweep writer's
    from hwsim.dse.commands import SWEEP_FILES

    OutputDir(sweep_dir, "sweep directory", SWEEP_FILES).create()
    assert [p.name for p in sweep_dir.iterdir()] == ["points.csv"]


def test_a_report_without_plots_drops_the_old_plots_hwsim_wrote(tmp_path, topo):
    import hwsim
    from hwsim.report import write_run

    out = tmp_path / "out"
    assert run(topo, out) == 0
    (out / "my_plot.png").write_bytes(b"\x89PNG mine")
    stats = hwsim.simulate(hwsim.load_arch(ARCH), hwsim.load_workload(topo), mode="analytic")
    write_run(stats, out, plots=False)
    names = {p.name for p in out.iterdir()}
    assert names == {"summary.json", "summary.md", "ops.csv", MANIFEST, "my_plot.png"}
    assert "## Plots" not in (out / "summary.md").read_text()
