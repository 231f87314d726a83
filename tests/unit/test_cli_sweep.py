"""`hwsim sweep`: outputs, one-line errors, a real SIGKILL mid-sweep then resume, a worker
that dies, the Ray backend (when installed)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hwsim.cli import main
from hwsim.dse import explore
from hwsim.dse.evaluate import Task
from hwsim.dse.executor import evaluate_chunk, run_tasks

ROOT = Path(__file__).resolve().parents[2]
ARCH = str(ROOT / "hwsim" / "data" / "arch" / "scalesim.yaml")


def write_sweep(tmp_path: Path, rows, cols, sizes, **extra) -> Path:
    topo = tmp_path / "topo.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 128, 64, 256,\n")
    doc = {
        "version": 1,
        "name": "cli",
        "arch": ARCH,
        "workloads": ["topo.csv"],  # relative to the sweep file
        "mode": "analytic",
        "parameters": {
            "pe_array.rows": rows,
            "pe_array.cols": cols,
            "memory[filter_sram].size_bytes": sizes,
        },
        "objectives": ["cycles", "area_mm2"],
        **extra,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_sweep_writes_points_front_and_plot(tmp_path, capsys):
    path = write_sweep(tmp_path, [0, 8, 32], [8, 32], [4096])
    out = tmp_path / "out"
    assert main(["sweep", str(path), "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("Pareto front (")
    assert "6 points (6 simulated now, 0 from the store), 4 valid, 2 invalid" in printed.err
    points = pd.read_csv(out / "points.csv")
    front = pd.read_csv(out / "pareto.csv")
    assert len(points) == 6 and set(front["key"]) <= set(points["key"])
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["sweep", str(path), "-o", str(out)]) == 0
    assert "(0 simulated now, 6 from the store)" in capsys.readouterr().err


def test_bad_sweep_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\narch: nope.yaml\nworkloads: [x:y:1]\n")
    assert main(["sweep", str(path), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "arch: no file or shipped arch named 'nope.yaml'" in err
    good = str(write_sweep(tmp_path, [8], [8], [4096]))
    out = tmp_path / "never"
    assert main(["sweep", good, "-o", str(out), "--workers", "0"]) == 2
    assert "--workers: expected an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["sweep", good, "-o", str(out), "--backend", "dask"]) == 2
    assert "--backend: expected one of local, ray, got 'dask'" in capsys.readouterr().err
    assert not out.exists()  # nothing written for a bad command line


def test_sigkill_mid_sweep_then_resume_finishes_the_rest(tmp_path):
    rows = list(range(4, 68, 4))  # 16 x 5 x 5 = 400 points
    path = write_sweep(tmp_path, rows, [8, 16, 24, 32, 40], [2048, 4096, 8192, 16384, 65536])
    out = tmp_path / "out"
    store = out / "results.sqlite"
    cmd = [sys.executable, "-m", "hwsim", "sweep", str(path), "-o", str(out), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(store) as db:
                    done = db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
            except sqlite3.OperationalError:
                done = 0  # schema not created yet
            if done >= 10:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    assert 10 <= stored < 400
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"400 points ({400 - stored} simulated now, {stored} from the store)" in res.stderr
    clean = explore(path, store=tmp_path / "clean.sqlite")
    resumed = pd.read_csv(out / "points.csv")
    assert list(resumed["key"]) == list(clean.points["key"])
    assert list(resumed["cycles"]) == list(clean.points["cycles"])


# `hwsim sweep` with every finished point announced on stdout ("done", one write per point,
# from whichever process evaluated it: forked workers inherit the patch)
DRIVER = """
import os, sys
import hwsim.dse.executor as executor
real = executor.evaluate
def evaluate(task):
    row = real(task)
    os.write(1, b"done\\n")
    return row
executor.evaluate = evaluate
from hwsim.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def _start_and_signal(tmp_path, workers: int, sig: int):
    """Start a 1000-point sweep, send `sig` to its process group once 10 points are done;
    (points finished, points stored, return code, stderr)."""
    rows = list(range(4, 164, 4))  # 40 x 5 x 5 = 1000 points
    path = write_sweep(tmp_path, rows, [8, 16, 24, 32, 40], [2048, 4096, 8192, 16384, 65536])
    out = tmp_path / "out"
    argv = ["sweep", str(path), "-o", str(out), "--no-progress", "--workers", str(workers)]
    err_path = tmp_path / "stderr.txt"
    with err_path.open("wb") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *argv],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=err_file,
            start_new_session=True,
        )
    finished = 0
    while finished < 10:
        line = proc.stdout.readline()
        assert line, err_path.read_text()
        finished += line == b"done\n"
    assert proc.poll() is None, "the sweep finished before it could be signalled"
    # to the whole process group: a terminal's Ctrl-C, or `kill -9 -PGID` (workers too)
    os.killpg(proc.pid, sig)
    finished += proc.stdout.read().count(b"done\n")  # to EOF, through readline's buffer
    proc.stdout.close()
    proc.wait(timeout=300)
    err = err_path.read_text()
    with sqlite3.connect(out / "results.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
    return finished, stored, proc.returncode, err


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_loses_at_most_the_points_in_flight(tmp_path, workers):
    from hwsim.dse.executor import POOL_CHUNK

    finished, stored, rc, _ = _start_and_signal(tmp_path, workers, signal.SIGKILL)
    assert rc == -signal.SIGKILL
    in_flight = 1 if workers == 1 else 2 * workers * POOL_CHUNK
    assert 10 - in_flight <= stored <= finished
    assert finished - stored <= in_flight


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_loses_no_finished_point(tmp_path, workers):
    finished, stored, rc, err = _start_and_signal(tmp_path, workers, signal.SIGINT)
    assert rc == 130
    assert (
        err
        == "hwsim: stopping after the points in flight (Ctrl-C again: now)\nhwsim: interrupted\n"
    )
    assert 10 <= stored == finished < 1000


def die_on_seq_3(tasks: list[Task]) -> list[dict]:
    """A chunk function whose worker dies on point 3 (module level: spawn pickles it)."""
    if any(t.seq == 3 for t in tasks):
        os._exit(17)
    return evaluate_chunk(tasks)


def _tasks(tmp_path) -> list[Task]:
    from hwsim.dse.explore import _grid, _task
    from hwsim.dse.spec import load_sweep

    sw = load_sweep(write_sweep(tmp_path, [8, 16, 32], [8, 32], [4096]))
    return [_task(sw, seq, c) for seq, c in enumerate(_grid(sw))]


def test_a_dying_worker_is_retried_then_recorded(tmp_path):
    tasks = _tasks(tmp_path)
    rows: list[dict] = []
    run_tasks(tasks, rows.extend, workers=2, chunk_fn=die_on_seq_3)
    by_seq = {r["seq"]: r for r in rows}
    assert sorted(by_seq) == list(range(6)) and len(rows) == 6
    assert by_seq[3]["status"] == "invalid"
    assert by_seq[3]["reason"] == "worker process died evaluating this point (3 attempts)"
    good = {r["seq"]: r for r in evaluate_chunk(tasks)}
    for seq in (0, 1, 2, 4, 5):
        assert by_seq[seq] == good[seq]


@pytest.mark.slow  # starting a local Ray takes ~15 s here
def test_ray_backend_gives_the_same_results(tmp_path):
    pytest.importorskip("ray")
    path = write_sweep(tmp_path, [8, 16, 32], [8, 32], [4096, 65536])
    local = explore(path, store=tmp_path / "a.sqlite", workers=2)
    ray_run = explore(path, store=tmp_path / "b.sqlite", workers=2, backend="ray")
    assert ray_run.points.equals(local.points)


@pytest.mark.parametrize("command", ["sweep"])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "Example: hwsim sweep" in capsys.readouterr().out
