"""Bad output locations and bad sweeps, table-driven: each case is one line on stderr
(`hwsim: error: ...` matching its regex), exit 2, no traceback, and the working folder exactly
as it was (no new file, no removed or changed one, no hidden leftover).

Families: outputs (`-o` that is empty, a file, a user's folder, read-only, full, size-limited;
file names with newlines; damaged result stores) and sweeps (names outside reports/, seeds,
populations and sample counts out of range, sweeps whose every point is invalid). Two real
subprocesses end the file: a size limit (`ulimit -f`) and a reader that leaves (`| head`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from hwsim.cli import main

REPO = Path(__file__).resolve().parents[2]
ARCH = REPO / "hwsim" / "data" / "arch" / "scalesim.yaml"
BITMOD = REPO / "hwsim" / "data" / "arch" / "bitmod.yaml"
TOPO = "Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 128, 64, 256,\n"
READ_ONLY = Path("/sys/hwsim-test-output")  # sysfs refuses new entries, even to root
REPORT = ("summary.json", "summary.md", "ops.csv", "energy_breakdown.png")


@dataclass(frozen=True)
class Case:
    id: str
    inputs: Callable[[Path], list]  # makes the case's files under the folder; returns argv
    message: str  # regex the one line must match
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def tree(root: Path) -> dict[str, str]:
    """Every entry under root (hidden ones too): relative path -> content hash or 'dir'."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def topo(t: Path) -> Path:
    p = t / "topo.csv"
    p.write_text(TOPO)
    return p


def run(*extra):
    """`hwsim run` of a small topology (analytic: fast) with `extra` arguments."""
    return lambda t: ["run", ARCH, topo(t), "--mode", "analytic", *extra]


def run_into(make_out: Callable[[Path], object]):
    return lambda t: ["run", ARCH, topo(t), "--mode", "analytic", "-o", make_out(t)]


def user_dir(name: str, *files: str):
    """A folder of the user's holding `files` (a trailing / makes a subfolder)."""

    def make(t: Path) -> Path:
        d = t / name
        d.mkdir(parents=True, exist_ok=True)
        for f in files:
            if f.endswith("/"):
                (d / f).mkdir()
            else:
                (d / f).write_text(f"the user's {f}\n")
        return d

    return make


def old_report(t: Path) -> Path:
    """A report directory an older hwsim wrote (no manifest)."""
    d = t / "old"
    d.mkdir()
    for f in REPORT:
        (d / f).write_text(f"old {f}\n")
    return d


def a_file(t: Path) -> Path:
    p = t / "taken"
    p.write_text("a file\n")
    return p


def sweep_file(t: Path, **changes) -> Path:
    """A small sweep (scalesim arch, two-layer topology); a change of None drops the key."""
    topo(t)
    doc = {
        "version": 1,
        "name": "s",
        "arch": str(ARCH),
        "workloads": ["topo.csv"],
        "mode": "analytic",
        "parameters": {"pe_array.rows": [8, 16]},
        "objectives": ["cycles", "area_mm2"],
    }
    for k, v in changes.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    p = t / "sweep.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def sweep(out: str | None = "out", **changes):
    def make(t: Path) -> list:
        argv = ["sweep", sweep_file(t, **changes), "--no-progress"]
        return argv + (["-o", t / out] if out is not None else [])

    return make


def sweep_into(make_out: Callable[[Path], object], **changes):
    return lambda t: ["sweep", sweep_file(t, **changes), "-o", make_out(t)]


def damaged_store(t: Path) -> Path:
    """A real result store whose pages after the first are garbage."""
    from hwsim.dse.store import ResultStore

    d = t / "sw"
    d.mkdir()
    path = d / "results.sqlite"
    with ResultStore(path) as db:
        rows = [
            {
                "key": f"k{i:05d}",
                "seq": i,
                "params": "{" + "x" * 200 + "}",
                "status": "ok",
                "reason": "",
            }  # fmt: skip
            for i in range(200)
        ]
        db.add(rows)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    garbage = hashlib.sha256(b"garbage").digest() * (len(data) // 32 + 1)
    data[page:] = garbage[: len(data) - page]
    path.write_bytes(bytes(data))
    return path


def failing(target: str, code: int) -> Callable[[pytest.MonkeyPatch], None]:
    """Patch `target` (module.attr) to raise OSError(code), as a full, read-only or
    size-limited file system does."""

    def patch(mp: pytest.MonkeyPatch) -> None:
        def fail(*args, **kwargs):
            raise OSError(code, os.strerror(code))

        mp.setattr(target, fail)

    return patch


ENOSPC = re.escape(os.strerror(errno.ENOSPC))
EROFS = re.escape(os.strerror(errno.EROFS))
EFBIG = re.escape(os.strerror(errno.EFBIG))
EDQUOT = re.escape(os.strerror(errno.EDQUOT))
REFUSED = r"expected an empty directory or one hwsim wrote, got one holding "
ALL_INVALID = (
    r"sweep\.yaml: (every one of its \d+ points is invalid, all for this reason"
    r"|its only point is invalid): "
)
SOME_INVALID = r"every one of its 2 points is invalid; the commonest reason \(1 of 2\): "

OUTPUT_CASES = [
    # -o that names no directory, or something else than one
    Case("run -o empty", run("-o", ""), r"report directory: expected a directory path, got ''"),
    Case("run -o blank", run("-o", " "), r"report directory: expected a directory path"),
    Case("run -o file", run_into(a_file), r"report directory '.*taken': exists and is not a dir"),
    Case(
        "run -o under a file",
        run_into(lambda t: a_file(t) / "sub"),
        r"report directory '.*taken/sub': cannot create \(Not a directory\)",
    ),
    Case(
        "run -o under a file, deeper",
        run_into(lambda t: a_file(t) / "a" / "b"),
        r"report directory '.*taken/a': cannot create \(Not a directory\)",
    ),
    # a folder of the user's is never written into
    Case("run -o user thesis", run_into(user_dir("d", "thesis.tex")), REFUSED + r"'thesis\.tex'"),
    Case("run -o user subfolder", run_into(user_dir("d", "data/")), REFUSED + r"'data'"),
    Case(
        "run -o report plus user file",
        run_into(user_dir("d", "summary.json", "notes.txt")),
        REFUSED + r"'notes\.txt'",
    ),
    Case("run -o user hidden file", run_into(user_dir("d", ".git")), REFUSED + r"'\.git'"),
    Case(
        "run -o a folder named like a report file",
        run_into(user_dir("d", "summary.json/")),
        REFUSED + r"'summary\.json'",
    ),
    Case(
        "run -o hwsim report with a folder in its place",
        lambda t: run_into(_report_with_folder)(t),
        r"expected 'ops\.csv' to be a file hwsim wrote, got a folder",
    ),
    Case(
        "run -o . with user files",
        lambda t: _in_user_dir(t, run("-o", ".")),
        r"report directory '\.': " + REFUSED + r"'thesis\.tex'",
    ),
    Case(
        "run -o foreign manifest",
        run_into(lambda t: user_dir("d", "thesis.tex")(t) and _foreign_manifest(t / "d")),
        REFUSED,
    ),
    Case(
        "run default dir is a user's",
        lambda t: (user_dir("reports/scalesim_topo_analytic", "x.txt")(t), run()(t))[1],
        REFUSED + r"'x\.txt'",
    ),
    # read-only, full, over quota, size-limited
    Case("run -o read-only", run_into(lambda t: READ_ONLY), r"cannot create \(Operation not perm"),
    Case(
        "run -o read-only fs (mkdir)",
        run_into(lambda t: t / "new" / "dir"),
        r"report directory '.*new': cannot create \(" + EROFS,
        failing("pathlib.Path.mkdir", errno.EROFS),
    ),
    Case(
        "run full disk (ops.csv)",
        run_into(lambda t: t / "out"),
        r"report directory '.*out': cannot write ops\.csv \(" + ENOSPC,
        failing("pandas.DataFrame.to_csv", errno.ENOSPC),
    ),
    Case(
        "run full disk (plots)",
        run_into(lambda t: t / "out"),
        r"cannot write energy_breakdown\.png \(" + ENOSPC,
        failing("matplotlib.figure.Figure.savefig", errno.ENOSPC),
    ),
    Case(
        "run full disk (summary)",
        run_into(lambda t: t / "out"),
        r"cannot write summary\.md \(" + ENOSPC,
        failing("pathlib.Path.write_text", errno.ENOSPC),
    ),
    Case(
        "run full disk, deep new dir",
        run_into(lambda t: t / "a" / "b" / "c"),
        r"report directory '.*a/b/c': cannot write ops\.csv \(" + ENOSPC,
        failing("pandas.DataFrame.to_csv", errno.ENOSPC),
    ),
    Case(
        "run full disk over an old report",
        run_into(old_report),
        r"report directory '.*old': cannot write ops\.csv \(" + ENOSPC,
        failing("pandas.DataFrame.to_csv", errno.ENOSPC),
    ),
    Case(
        "run full disk (plots) over an old report",
        run_into(old_report),
        r"cannot write energy_breakdown\.png \(" + ENOSPC,
        failing("matplotlib.figure.Figure.savefig", errno.ENOSPC),
    ),
    Case(
        "run over quota",
        run_into(lambda t: t / "out"),
        r"cannot write energy_breakdown\.png \(" + EDQUOT,
        failing("matplotlib.figure.Figure.savefig", errno.EDQUOT),
    ),
    Case(
        "run size limit (ops.csv)",
        run_into(lambda t: t / "out"),
        r"cannot write ops\.csv \(" + EFBIG,
        failing("pandas.DataFrame.to_csv", errno.EFBIG),
    ),
    Case(
        "run size limit (plots)",
        run_into(old_report),
        r"cannot write energy_breakdown\.png \(" + EFBIG,
        failing("matplotlib.figure.Figure.savefig", errno.EFBIG),
    ),
    Case(
        "run read-only rename",
        run_into(lambda t: t / "out"),
        r"report directory '.*out': cannot write \(" + EROFS,
        failing("os.replace", errno.EROFS),
    ),
    Case(
        "run read-only rename over an old report",
        run_into(old_report),
        r"report directory '.*old': cannot write \(" + EROFS,
        failing("os.replace", errno.EROFS),
    ),
    Case(
        "run parquet full disk",
        run("-o", "out", "--format", "parquet"),
        r"cannot write ops\.parquet \(" + ENOSPC,
        failing("pandas.DataFrame.to_parquet", errno.ENOSPC),
    ),
    # names with newlines stay on one line
    Case(
        "run -o newline name, user's",
        run_into(user_dir("a\nb", "thesis.tex")),
        r"report directory '.*a\\nb': " + REFUSED,
    ),
    Case(
        "run arch newline name",
        lambda t: ["run", t / "x\ny.yaml", topo(t), "--mode", "analytic"],
        r"x\\ny\.yaml",
    ),
    Case(
        "run workload newline name",
        lambda t: ["run", ARCH, t / "w\nl.yaml", "--mode", "analytic"],
        r"w\\nl\.yaml",
    ),
    Case(
        "run -o tab name, user's",
        run_into(user_dir("a\tb", "thesis.tex")),
        r"report directory '.*a\\tb': " + REFUSED,
    ),
    Case(
        "compare newline name",
        lambda t: ["compare", t / "r\nun", t / "b"],
        r"r\\nun",
    ),
    Case(
        "report newline name",
        lambda t: ["report", t / "st\nore.sqlite", "-o", t / "r.html"],
        r"st\\nore\.sqlite",
    ),
    # sweep outputs
    Case(
        "sweep -o empty",
        lambda t: [*sweep(None)(t), "-o", ""],
        r"sweep directory: expected a directory path, got ''",
    ),
    Case("sweep -o file", sweep_into(a_file), r"sweep directory '.*taken': exists and is not a"),
    Case(
        "sweep -o under a file",
        sweep_into(lambda t: a_file(t) / "s"),
        r"sweep directory '.*taken/s': cannot create \(Not a directory\)",
    ),
    Case("sweep -o user thesis", sweep_into(user_dir("d", "thesis.tex")), REFUSED + "'thesis"),
    Case(
        "sweep -o user points.csv and more",
        sweep_into(user_dir("d", "points.csv", "plan.md")),
        REFUSED + r"'plan\.md'",
    ),
    Case("sweep -o read-only", sweep_into(lambda t: READ_ONLY), r"cannot create \(Operation no"),
    Case(
        "sweep full disk (points.csv)",
        sweep(),
        r"sweep directory '.*out': cannot write points\.csv \(" + ENOSPC,
        failing("pandas.DataFrame.to_csv", errno.ENOSPC),
    ),
    Case(
        "sweep full disk (plot)",
        sweep(),
        r"cannot write pareto\.png \(" + ENOSPC,
        failing("matplotlib.figure.Figure.savefig", errno.ENOSPC),
    ),
    Case(
        "sweep size limit",
        sweep(),
        r"cannot write points\.csv \(" + EFBIG,
        failing("pandas.DataFrame.to_csv", errno.EFBIG),
    ),
    Case(
        "sweep read-only rename",
        sweep(),
        r"sweep directory '.*out': cannot write \(" + EROFS,
        failing("os.replace", errno.EROFS),
    ),
    Case(
        "sweep default dir is a user's",
        lambda t: (user_dir("reports/sweeps/s", "mine.txt")(t), sweep(out=None)(t))[1],
        REFUSED + r"'mine\.txt'",
    ),
    Case(
        "sweep file newline name",
        lambda t: ["sweep", t / "s\nw.yaml", "-o", t / "out"],
        r"no file or shipped sweep named .*s\\nw\.yaml",
    ),
    Case(
        "sweep -o newline name, user's",
        sweep_into(user_dir("o\nut", "thesis.tex")),
        r"sweep directory '.*o\\nut': " + REFUSED,
    ),
    # damaged result stores
    Case(
        "sweep into a damaged store",
        lambda t: ["sweep", sweep_file(t), "-o", damaged_store(t).parent],
        r"result store '.*results\.sqlite': unreadable \(.*malformed",
    ),
    Case(
        "report of a damaged store",
        lambda t: ["report", damaged_store(t), "-o", t / "r.html"],
        r"result store '.*results\.sqlite': unreadable \(.*malformed",
    ),
    Case(
        "sweep into a store that is text",
        lambda t: ["sweep", sweep_file(t), "-o", user_dir("sw", "results.sqlite")(t)],
        r"result store '.*results\.sqlite': cannot open \(file is not a database\)",
    ),
    Case(
        "sweep into a truncated store",
        lambda t: ["sweep", sweep_file(t), "-o", _truncated_store(t)],
        r"result store '.*results\.sqlite': (cannot open|unreadable)",
    ),
]


def _in_user_dir(t: Path, make_argv) -> list:
    """argv made in `t`, run from a folder of the user's (the cwd)."""
    argv = make_argv(t)
    os.chdir(user_dir("here", "thesis.tex")(t))
    return argv


def _report_with_folder(t: Path) -> Path:
    """A report directory with a manifest, whose ops.csv the user replaced by a folder."""
    d = old_report(t)
    (d / ".hwsim-manifest.json").write_text(
        '{"written_by": "hwsim", "complete": true, "files": ["ops.csv", "summary.json"]}\n'
    )
    (d / "ops.csv").unlink()
    (d / "ops.csv").mkdir()
    return d


def _foreign_manifest(d: Path) -> Path:
    (d / ".hwsim-manifest.json").write_text('{"files": ["thesis.tex"]}\n')
    return d


def _truncated_store(t: Path) -> Path:
    path = damaged_store(t)
    path.write_bytes(path.read_bytes()[:100])
    return path.parent


SWEEP_CASES = [
    # a name is one plain path part: reports/sweeps/<name> stays inside reports/
    Case("name ../../x", sweep(None, name="../../x"), r"sweep\.yaml: name: expected a plain name"),
    Case("name absolute", sweep(None, name="/tmp/x"), r"name: expected a plain name.*'/tmp/x'"),
    Case("name a/b", sweep(None, name="a/b"), r"name: expected a plain name.*'a/b'"),
    Case("name ..", sweep(None, name=".."), r"name: expected a plain name.*'\.\.'"),
    Case("name .", sweep(None, name="."), r"name: expected a plain name.*'\.'"),
    Case("name empty", sweep(None, name=""), r"name: expected a plain name.*''"),
    Case("name hidden", sweep(None, name=".x"), r"name: expected a plain name.*'\.x'"),
    Case("name option-like", sweep(None, name="-rf"), r"name: expected a plain name.*'-rf'"),
    Case("name backslash", sweep(None, name="a\\b"), r"name: expected a plain name"),
    Case("name newline", sweep(None, name="a\nb"), r"name: expected a plain name.*'a\\nb'"),
    Case("name list", sweep(None, name=["a"]), r"name: expected a plain name.*\['a'\]"),
    Case("name mapping", sweep(None, name={"a": 1}), r"name: expected a plain name"),
    # seeds, populations and sample counts in range
    Case("seed negative", sweep(search={"method": "random", "seed": -1}), r"search\.seed: exp"),
    Case(
        "seed 2**32",
        sweep(search={"method": "random", "seed": 2**32}),
        r"search\.seed: expected an integer in 0\.\.4294967295, got 4294967296",
    ),
    Case("seed huge", sweep(search={"method": "nsga2", "seed": 10**30}), r"search\.seed: exp"),
    Case("seed float", sweep(search={"method": "random", "seed": 1.5}), r"search\.seed: exp"),
    Case("seed bool", sweep(search={"method": "random", "seed": True}), r"search\.seed: exp"),
    Case("seed text", sweep(search={"method": "random", "seed": "7"}), r"search\.seed: .*'7'"),
    Case(
        "population 1",
        sweep(search={"method": "nsga2", "population": 1}),
        r"search\.population: expected an integer in 2\.\.1000000, got 1",
    ),
    Case("population 0", sweep(search={"method": "nsga2", "population": 0}), r"population: exp"),
    Case(
        "population huge",
        sweep(search={"method": "nsga2", "population": 10**9}),
        r"search\.population: expected an integer in 2\.\.",
    ),
    Case(
        "samples absurd (random)",
        sweep(search={"method": "random", "samples": 10**12}),
        r"search\.samples: expected an integer in 1\.\.1000000, got 1000000000000",
    ),
    Case(
        "samples absurd (nsga2)",
        sweep(search={"method": "nsga2", "samples": 10**7}),
        r"search\.samples: expected an integer in 1\.\.1000000",
    ),
    Case("samples negative", sweep(search={"method": "random", "samples": -5}), r"samples: exp"),
    Case("samples float", sweep(search={"method": "random", "samples": 2.5}), r"samples: exp"),
    Case(
        "samples inf",
        lambda t: ["sweep", _text_sweep(t, "search: {method: random, samples: .inf}\n")],
        r"search\.samples: expected an integer in 1\.\.1000000, got inf",
    ),
    Case(
        "grid too big",
        sweep(
            parameters={f"memory[{i}].size_bytes": list(range(1, 101)) for i in range(3)}
            | {"pe_array.rows": list(range(1, 11))}
        ),  # fmt: skip
        r"parameters: expected a grid of at most 1000000 points, got 10000000 \(use search",
    ),
    # sweeps whose every point is invalid: one line with the reason they share
    Case(
        "parameter typo (last field)",
        sweep(parameters={"pe_array.rowz": [8, 16]}),
        ALL_INVALID + r".*arch\.pe_array\.rowz: unknown field",
    ),
    Case(
        "parameter typo (section)",
        sweep(parameters={"pe_aray.rows": [8, 16]}),
        ALL_INVALID + r".*parameter pe_aray\.rows: no field 'pe_aray' in the arch",
    ),
    Case(
        "parameter list item missing",
        sweep(parameters={"memory[nope].banks": [1, 2]}),
        ALL_INVALID + r".*no list item named 'nope'",
    ),
    Case(
        "parameter index out of range",
        sweep(parameters={"memory[99].size_bytes": [4096]}),
        ALL_INVALID + r".*index 99 out of range",
    ),
    Case(
        "parameter bad path",
        sweep(parameters={"pe_array..rows": [8]}),
        ALL_INVALID + r".*expected a path like memory\[0\]\.size_bytes",
    ),
    Case(
        "every value out of range",
        sweep(parameters={"pe_array.rows": [0, -1]}),
        SOME_INVALID + r".*pe_array\.rows",
    ),
    Case(
        "missing workload file",
        sweep(workloads=["nope.yaml"]),
        r"workloads: no file or shipped workload named 'nope\.yaml'",
    ),
    Case(
        "missing workload file, newline name",
        sweep(workloads=["no\npe.yaml"]),
        r"workloads: no file or shipped workload named 'no\\npe\.yaml'",
    ),
    Case(
        "unknown card",
        sweep(workloads=["lama-2-7b:prefill:16"]),
        ALL_INVALID + r".*lama-2-7b",
    ),
    Case(
        "weight_bits against the format",
        lambda t: [
            "sweep",
            sweep_file(
                t,
                arch=str(BITMOD),
                workloads=["llama-2-7b:decode:1"],
                parameters={"precision.weight_bits": [8, 16]},
            ),
            "-o",
            t / "out",
        ],  # fmt: skip
        SOME_INVALID + r".*precision\.weight_bits:"
        r" expected 4 \(the bits of precision\.weight_format 'bitmod_fp4'\), got",
    ),
    # the rest of the file, still one line each
    Case(
        "sweep file missing",
        lambda t: ["sweep", t / "none.yaml"],
        r"sweep: no file or shipped sweep named .*none\.yaml",
    ),
    Case("sweep file a folder", lambda t: ["sweep", t], r"sweep file .*: cannot read"),
    Case("no version", sweep(version=None), r"version: expected 1, got None"),
    Case("unknown key", sweep(colour=1), r"colour: unknown key"),
    Case("unknown search key", sweep(search={"sampels": 3}), r"search\.sampels: unknown key"),
    Case("no arch", sweep(arch=None), r"arch: expected a file path, got None"),
    Case(
        "arch missing", sweep(arch="nope.yaml"), r"arch: no file or shipped arch named 'nope\.yaml'"
    ),
    Case("no workloads", sweep(workloads=None), r"workloads: expected a non-empty list"),
    Case("objectives empty", sweep(objectives=[]), r"objectives: expected a non-empty list"),
    Case("objective typo", sweep(objectives=["cycle"]), r"objectives: unknown objective 'cycle'"),
    Case("mode typo", sweep(mode="fast"), r"mode: expected one of"),
    Case("profile typo", sweep(profile="nope45"), r"profile: expected one of"),
    Case(
        "quant missing",
        sweep(quant=["no-recipe"]),
        r"quant: no file or shipped recipe named 'no-recipe'",
    ),
    Case("--workers 0", lambda t: [*sweep()(t), "--workers", "0"], r"--workers: expected an int"),
    Case("--backend typo", lambda t: [*sweep()(t), "--backend", "dask"], r"--backend: expected"),
]


def _text_sweep(t: Path, extra: str) -> Path:
    topo(t)
    p = t / "sweep.yaml"
    p.write_text(
        f"version: 1\nname: s\narch: {ARCH}\nworkloads: [topo.csv]\n"
        "parameters: {pe_array.rows: [8, 16]}\n" + extra
    )
    return p


CASES = OUTPUT_CASES + SWEEP_CASES


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_output_or_sweep_is_one_line(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [str(a) for a in case.inputs(tmp_path)]
    before = tree(tmp_path)
    if case.patch:
        case.patch(monkeypatch)
    rc = main(argv)
    monkeypatch.undo()  # the tree is read with the real file functions
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert rc == 2, (rc, out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("hwsim: error: ") and "Traceback" not in err
    assert re.search(case.message, lines[0]), lines[0]
    assert tree(tmp_path) == before  # nothing new, nothing removed, nothing changed
    assert not READ_ONLY.exists()


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))  # the plots are larger
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG


def test_a_size_limited_output_is_one_line_and_leaves_nothing(tmp_path):
    """`ulimit -f 16`: a real size limit (RLIMIT_FSIZE), in a subprocess."""
    argv = ["run", str(ARCH), str(topo(tmp_path)), "--mode", "analytic", "-o", "out"]
    before = tree(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "hwsim", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert re.search(r"report directory 'out': cannot write \S+ \(" + EFBIG, lines[0]), lines[0]
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    "argv",
    [["formats"], ["workload", "show", "resnet-18:infer:224"]],
    ids=["formats", "workload show"],
)
def test_a_reader_that_leaves_stops_hwsim_quietly(argv):
    """`hwsim ... | head -0`: the pipe closes early; no BrokenPipeError, no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hwsim", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    proc.stdout.close()  # the reader is gone before hwsim writes its first line
    err = proc.stderr.read().decode()
    proc.stderr.close()
    rc = proc.wait(timeout=300)
    assert err == "" and rc in (0, 141), (rc, err)


def test_a_store_whose_disk_fills_is_one_line_and_left_as_it_was(tmp_path, monkeypatch):
    """SQLite's own full disk (SQLITE_FULL) while a point is stored: the store this command
    made is removed, and the message says it could not write."""
    import sqlite3

    from hwsim.dse import store

    def add(self, rows):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.ResultStore, "add", store._readable(add))
    monkeypatch.chdir(tmp_path)
    argv = ["sweep", str(sweep_file(tmp_path)), "-o", "out", "--no-progress"]
    before = tree(tmp_path)
    from contextlib import redirect_stderr
    from io import StringIO

    err = StringIO()
    with redirect_stderr(err):
        assert main(argv) == 2
    assert err.getvalue() == (
        "hwsim: error: result store 'out/results.sqlite': cannot write (database or disk is full)\n"
    )
    assert tree(tmp_path) == before
