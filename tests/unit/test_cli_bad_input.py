"""Every `hwsim` subcommand and file loader against user mistakes.

Each mistake must give exactly one stderr line `hwsim: error: ...` naming the file and the
field and saying what was expected, exit code 2, no traceback, and nothing written on disk.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from cli_contract import run_bad

from hwsim.cli import main

REPO = Path(__file__).resolve().parents[2]
ARCH = REPO / "hwsim" / "data" / "arch" / "tpu_int8.yaml"
TOPO = REPO / "hwsim" / "data" / "scalesim" / "resnet18.csv"
WORKLOAD = REPO / "hwsim" / "data" / "workloads" / "minilm.yaml"
RECIPE = REPO / "hwsim" / "data" / "recipes" / "w8a8-int.yaml"
SWEEP = REPO / "hwsim" / "data" / "sweeps" / "bitmod-array.yaml"
CARD = "resnet-18:infer:224"


def edited(src: Path, edit) -> str:
    """`src` parsed, changed by edit(doc) in place, dumped back to YAML."""
    doc = yaml.safe_load(src.read_text())
    edit(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def sweep_doc(edit) -> str:
    doc = yaml.safe_load(SWEEP.read_text())
    doc["arch"] = str(REPO / "hwsim" / "data" / "arch" / "bitmod.yaml")
    edit(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def put(d: dict, key, value):
    d[key] = value


# (case id, file name, file text or None (no file), argv with FILE for its path, message regex)
ARCH_CASES = [
    ("missing", "nope.yaml", None, r"no file or shipped arch named '.*nope\.yaml'"),
    (
        "empty",
        "a.yaml",
        "",
        r"a\.yaml: arch: expected a mapping at the top of the file, got nothing",
    ),
    ("yaml syntax", "a.yaml", "version: 1\nname: [a\n", r"a\.yaml: not valid YAML"),
    ("top-level list", "a.yaml", "- 1\n- 2\n", r"a\.yaml: arch: expected a mapping .*got a list"),
    ("no version", "a.yaml", edited(ARCH, lambda d: d.pop("version")), r"arch\.version: missing"),
    ("bad version", "a.yaml", edited(ARCH, lambda d: put(d, "version", 9)), r"version: expected 1"),
    (
        "unknown key",
        "a.yaml",
        edited(ARCH, lambda d: put(d, "clok_mhz", 3)),
        r"a\.yaml: arch\.clok_mhz: unknown field; expected one of clock_mhz \(line",
    ),
    (
        "wrong type",
        "a.yaml",
        edited(ARCH, lambda d: put(d, "clock_mhz", "fast")),
        r"arch\.clock_mhz: expected a number >= 0\.001, got 'fast'",
    ),
    (
        "negative",
        "a.yaml",
        edited(ARCH, lambda d: put(d["pe_array"], "rows", -4)),
        r"a\.yaml: arch\.pe_array\.rows: expected an integer > 0, got -4 \(line \d+\)",
    ),
    (
        "bool for int",
        "a.yaml",
        edited(ARCH, lambda d: put(d["pe_array"], "rows", True)),
        r"arch\.pe_array\.rows: expected an integer > 0, got True",
    ),
    (
        "unknown PE kind",
        "a.yaml",
        edited(ARCH, lambda d: put(d["pe_array"]["pe"], "kind", "int_mc")),
        r"arch\.pe_array\.pe\.kind: unknown PE kind 'int_mc'; closest: int_mac",
    ),
    (
        "unknown PE parameter",
        "a.yaml",
        edited(ARCH, lambda d: put(d["pe_array"]["pe"], "params", {"bogus": 1})),
        r"arch\.pe_array\.pe\.kind: PE 'int_mac': unknown parameter\(s\) bogus",
    ),
    (
        "unknown dataflow",
        "a.yaml",
        edited(ARCH, lambda d: put(d, "dataflow", "xs")),
        r"arch\.dataflow: unknown dataflow 'xs'; expected one of ws, os, is",
    ),
    (
        "unknown format",
        "a.yaml",
        edited(ARCH, lambda d: put(d["precision"], "weight_format", "int99x")),
        r"arch\.precision\.weight_format: unknown format 'int99x'",
    ),
    (
        "unknown profile",
        "a.yaml",
        edited(ARCH, lambda d: put(d["technology"], "profile", "nope")),
        r"arch\.technology\.profile: unknown cost profile 'nope'",
    ),
    (
        "memory not a list",
        "a.yaml",
        edited(ARCH, lambda d: put(d, "memory", 5)),
        r"arch\.memory: expected a non-empty list",
    ),
    (
        "unknown operand",
        "a.yaml",
        edited(ARCH, lambda d: put(d["memory"][0], "operands", ["wieghts"])),
        r"arch\.memory\[0\]\.operands: expected operands from weights, inputs, outputs",
    ),
    (
        "negative DRAM bandwidth",
        "a.yaml",
        edited(ARCH, lambda d: put(d["dram"], "bytes_per_cycle", -1)),
        r"arch\.dram\.bytes_per_cycle: expected a number >= 0\.001, got -1",
    ),
]


@pytest.mark.parametrize("name,fname,text,match", ARCH_CASES, ids=[c[0] for c in ARCH_CASES])
def test_bad_arch_yaml(tmp_path, capsys, name, fname, text, match):
    path = tmp_path / fname
    if text is not None:
        path.write_text(text)
    out = tmp_path / "out"
    msg = run_bad(["run", path, CARD, "-o", out], capsys)
    assert re.search(match, msg), msg
    assert not out.exists()


def test_arch_is_a_directory(tmp_path, capsys):
    msg = run_bad(["run", tmp_path, CARD], capsys)
    assert str(tmp_path) in msg and "arch file" in msg


# SCALE-Sim .cfg and topology files: tests/unit/test_bad_input_scalesim.py


def test_missing_topology_csv(tmp_path, capsys):
    msg = run_bad(["run", ARCH, tmp_path / "no.csv"], capsys)
    assert re.search(r"workload: no file or shipped workload named '.*no\.csv'", msg)


WL_CASES = [
    ("missing", None, r"no file or shipped workload named '.*w\.yaml'"),
    ("empty", "", r"w\.yaml: top level: expected a mapping with version: and ops:, got nothing"),
    ("yaml syntax", "ops: [\n", r"w\.yaml: not valid YAML"),
    ("top-level list", "- a\n", r"w\.yaml: top level: expected a mapping .*got a list"),
    ("no version", edited(WORKLOAD, lambda d: d.pop("version")), r"w\.yaml: version: expected 1"),
    (
        "unknown top-level key",
        edited(WORKLOAD, lambda d: put(d, "opz", 1)),
        r"w\.yaml: opz: unknown key; expected one of version, name, phase",
    ),
    (
        "unknown op key",
        edited(WORKLOAD, lambda d: put(d["ops"][1], "Mm", 1)),
        r"w\.yaml: ops\[1\]\.Mm: unknown key",
    ),
    (
        "wrong type",
        edited(WORKLOAD, lambda d: put(d["ops"][1], "M", "big")),
        r"w\.yaml: ops\[1\]\.M: expected an integer >= 0, got 'big'",
    ),
    (
        "negative",
        edited(WORKLOAD, lambda d: put(d["ops"][1], "M", -3)),
        r"w\.yaml: ops\[1\]\.M: expected an integer >= 0, got -3",
    ),
    (
        "unknown op kind",
        edited(WORKLOAD, lambda d: put(d["ops"][1], "kind", "gemmm")),
        r"w\.yaml: ops\[1\]\.kind: expected one of gemm, conv",
    ),
    ("ops not a list", edited(WORKLOAD, lambda d: put(d, "ops", 3)), r"w\.yaml: ops: expected"),
    ("op not a mapping", edited(WORKLOAD, lambda d: put(d, "ops", [3])), r"ops\[0\]: expected a"),
    (
        "unknown phase",
        edited(WORKLOAD, lambda d: put(d, "phase", "lunch")),
        r"w\.yaml: phase: expected one of prefill, decode",
    ),
    ("metadata", edited(WORKLOAD, lambda d: put(d, "metadata", 5)), r"w\.yaml: metadata: expect"),
    (
        "absurd size",
        edited(WORKLOAD, lambda d: d["ops"][1].update(M=10**6, N=10**6, K=10**6)),
        r"w\.yaml: ops\[1\]: 6e\+18 MACs \(M\*N\*K\*batch\*repeat\); expected at most 2\*\*53",
    ),
    ("unknown card", "version: 1\ncard: llama-9:prefill:3\n", r"unknown model 'llama-9'"),
    (
        "tensor file missing",
        edited(WORKLOAD, lambda d: put(d, "tensors", "nope.npz")),
        r"nope\.npz: tensors: expected the tensor file the workload names, got no such file",
    ),
    (
        "tensor file extension",
        edited(WORKLOAD, lambda d: put(d, "tensors", "x.txt")),
        r"w\.yaml: tensors: expected a \.npz or \.safetensors file name, got 'x\.txt'",
    ),
]


@pytest.mark.parametrize("name,text,match", WL_CASES, ids=[c[0] for c in WL_CASES])
def test_bad_workload_yaml(tmp_path, capsys, name, text, match):
    path = tmp_path / "w.yaml"
    if text is not None:
        path.write_text(text)
    for argv in (["run", ARCH, path, "-o", tmp_path / "out"], ["workload", "show", path]):
        msg = run_bad(argv, capsys)
        assert re.search(match, msg), msg
    assert not (tmp_path / "out").exists()


GEMM = "encoder.layer.*.attention.self.query"


def _tensor_yaml(tmp_path: Path, tensor_name: str) -> Path:
    path = tmp_path / "w.yaml"
    path.write_text(edited(WORKLOAD, lambda d: put(d, "tensors", tensor_name)))
    return path


@pytest.mark.parametrize(
    "name,arrays,match",
    [
        ("wrong shape", {f"{GEMM}/weights": np.zeros((3, 3), np.float32)}, r"got \(3, 3\)"),
        ("unknown op", {"nope/weights": np.zeros((3, 3), np.float32)}, r"nope/weights: expected"),
        ("unknown part", {f"{GEMM}/bias": np.zeros(3, np.float32)}, r"/bias: expected '<op>/in"),
    ],
    ids=["wrong shape", "unknown op", "unknown part"],
)
@pytest.mark.parametrize("ext", ["npz", "safetensors"])
def test_tensor_file_that_does_not_match_its_yaml(tmp_path, capsys, name, arrays, match, ext):
    tpath = tmp_path / f"t.{ext}"
    if ext == "npz":
        np.savez(tpath, **arrays)
    else:
        from safetensors.numpy import save_file

        save_file(arrays, str(tpath))
    msg = run_bad(["workload", "show", _tensor_yaml(tmp_path, tpath.name)], capsys)
    assert f"t.{ext}: " in msg
    assert re.search(match, msg), msg


@pytest.mark.parametrize("ext", ["npz", "safetensors"])
def test_corrupt_tensor_file(tmp_path, capsys, ext):
    (tmp_path / f"t.{ext}").write_bytes(b"not a tensor archive")
    msg = run_bad(["workload", "show", _tensor_yaml(tmp_path, f"t.{ext}")], capsys)
    assert re.search(rf"t\.{ext}: tensors: expected an? \.{ext}", msg), msg


def test_npz_with_pickled_objects_is_refused(tmp_path, capsys):
    np.savez(tmp_path / "t.npz", **{f"{GEMM}/weights": np.array([None, 1], dtype=object)})
    msg = run_bad(["workload", "show", _tensor_yaml(tmp_path, "t.npz")], capsys)
    assert "t.npz: tensors: expected an .npz archive of float arrays" in msg


CARD_CASES = [
    ("llama-9:prefill:256", r"unknown model 'llama-9'; closest: llama"),
    ("llama-2-7b:lunch:256", r"phase expected one of prefill, decode"),
    ("llama-2-7b:prefill:-5", r"length expected an integer > 0, got '-5'"),
    ("llama-2-7b:prefill:abc", r"length expected an integer > 0, got 'abc'"),
    ("llama-2-7b:prefill:\u00b2", r"length expected an integer > 0, got '\u00b2'"),
    ("llama-2-7b:prefill:\u0661\u0662", r"length expected an integer > 0, got '\u0661\u0662'"),
    ("llama-2-7b:prefill:256:0", r"batch expected an integer > 0, got '0'"),
    ("llama-2-7b:prefill:99999999999", r"prefill:99999999999:1: op .* expected at most 2\*\*53"),
    ("llama-2-7b", r"no file or shipped workload named 'llama-2-7b' \(or a model card"),
]


@pytest.mark.parametrize("card,match", CARD_CASES, ids=[c[0] for c in CARD_CASES])
def test_bad_card(capsys, card, match):
    msg = run_bad(["workload", "show", card], capsys)
    assert re.search(match, msg), msg


def _recipe(edit) -> str:
    return edited(RECIPE, edit)


def _wspec(key, value):
    return lambda d: put(d["default"]["weights"], key, value)


RECIPE_CASES = [
    ("missing", None, r"recipe: no file or shipped recipe named '.*r\.yaml'; shipped: "),
    ("empty", "", r"r\.yaml: top level: expected a mapping with version: 1, got nothing"),
    ("yaml syntax", "a: [", r"r\.yaml: not valid YAML"),
    ("top-level list", "- 1", r"r\.yaml: top level: expected a mapping .*got a list"),
    ("no version", _recipe(lambda d: d.pop("version")), r"r\.yaml: version: expected 1"),
    ("unknown key", _recipe(lambda d: put(d, "defualt", {})), r"r\.yaml: defualt: unknown key"),
    ("default not a mapping", _recipe(lambda d: put(d, "default", 5)), r"r\.yaml: default: exp"),
    ("rules not a list", _recipe(lambda d: put(d, "rules", 5)), r"r\.yaml: rules: expected a li"),
    ("rule keys", _recipe(lambda d: put(d, "rules", [{"mtch": "x"}])), r"rules\[0\]: expected"),
    (
        "rule kind",
        _recipe(lambda d: put(d, "rules", [{"kind": "gemmm", "weights": {"format": "int8"}}])),
        r"r\.yaml: rules\[0\]\.kind: expected one of gemm",
    ),
    ("spec key typo", _recipe(_wspec("granulrity", "group")), r"weights\.granulrity: unknown"),
    ("unknown format", _recipe(_wspec("format", "int99x")), r"weights\.format: unknown format"),
    (
        "unknown granularity",
        _recipe(_wspec("granularity", "blob")),
        r"r\.yaml: default\.weights\.granularity: expected one of tensor, channel",
    ),
    (
        "negative group size",
        _recipe(lambda d: d["default"]["weights"].update(granularity="group", group_size=-4)),
        r"r\.yaml: default\.weights\.group_size: expected an integer > 0, got -4",
    ),
    ("rounding", _recipe(_wspec("rounding", "nearest")), r"r\.yaml: default\.weights: "),
    ("clipping", _recipe(_wspec("clipping", "magic")), r"r\.yaml: default\.weights\.clipping: e"),
    ("symmetric", _recipe(_wspec("symmetric", "yes")), r"weights\.symmetric: expected true or f"),
    ("axis", _recipe(_wspec("axis", "x")), r"r\.yaml: default\.weights\.axis: expected an int"),
    ("pad", _recipe(_wspec("pad", "maybe")), r"r\.yaml: default\.weights\.pad: expected error"),
    ("menu_select", _recipe(_wspec("menu_select", "x")), r"weights\.menu_select: expected one of"),
    ("scale_format", _recipe(_wspec("scale_format", "fp99")), r"r\.yaml: default\.weights\.sca"),
    (
        "rule match not a pattern",
        _recipe(lambda d: put(d, "rules", [{"match": 5, "weights": {"format": "int8"}}])),
        r"r\.yaml: rules\[0\]\.match: expected an op-name pattern, got 5",
    ),
]


@pytest.mark.parametrize("name,text,match", RECIPE_CASES, ids=[c[0] for c in RECIPE_CASES])
def test_bad_recipe(tmp_path, capsys, name, text, match):
    path = tmp_path / "r.yaml"
    if text is not None:
        path.write_text(text)
    out = tmp_path / "out"
    msg = run_bad(["run", ARCH, CARD, "--quant", path, "-o", out], capsys)
    assert re.search(match, msg), msg
    assert not out.exists()


def test_shipped_recipes_still_load():
    from hwsim.workload.recipe import load_recipe

    for path in sorted((REPO / "hwsim" / "data" / "recipes").glob("*.yaml")):
        assert load_recipe(path).name


SWEEP_CASES = [
    ("empty", "", r"s\.yaml: expected a mapping at the top of the sweep file"),
    ("yaml syntax", "a: [", r"s\.yaml: not valid YAML"),
    ("top-level list", "- 1", r"s\.yaml: expected a mapping at the top"),
    ("no version", sweep_doc(lambda d: d.pop("version")), r"s\.yaml: version: expected 1"),
    ("unknown key", sweep_doc(lambda d: put(d, "objectivs", [])), r"s\.yaml: objectivs: unknown"),
    (
        "arch missing",
        sweep_doc(lambda d: put(d, "arch", "no.yaml")),
        r"s\.yaml: arch: no file or shipped arch named 'no",
    ),
    (
        "search method",
        sweep_doc(lambda d: put(d, "search", {"method": "magic"})),
        r"s\.yaml: search\.method: expected one of grid, random, nsga2, got 'magic'",
    ),
    (
        "objective",
        sweep_doc(lambda d: put(d, "objectives", ["speed"])),
        r"s\.yaml: objectives: unknown objective 'speed'",
    ),
    (
        "objective not a name",
        sweep_doc(lambda d: put(d, "objectives", [[1]])),
        r"s\.yaml: objectives: unknown objective \[1\]; expected any of cycles",
    ),
    ("parameters", sweep_doc(lambda d: put(d, "parameters", [1])), r"s\.yaml: parameters: exp"),
    (
        "empty values",
        sweep_doc(lambda d: put(d, "parameters", {"pe_array.rows": []})),
        r"s\.yaml: parameters\.pe_array\.rows: expected a non-empty list",
    ),
    ("workloads", sweep_doc(lambda d: put(d, "workloads", 5)), r"s\.yaml: workloads: expected"),
    ("mode", sweep_doc(lambda d: put(d, "mode", "fast")), r"s\.yaml: mode: expected one of ev"),
]


@pytest.mark.parametrize("name,text,match", SWEEP_CASES, ids=[c[0] for c in SWEEP_CASES])
def test_bad_sweep_file(tmp_path, capsys, name, text, match):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = tmp_path / "store"
    msg = run_bad(["sweep", path, "-o", out, "--no-progress"], capsys)
    assert re.search(match, msg), msg
    assert not out.exists()


@pytest.mark.parametrize(
    "argv,match",
    [
        (["sweep", "{tmp}/none.yaml"], r"sweep: no file or shipped sweep named '.*none\.yaml'"),
        (["sweep", "{tmp}"], r"sweep file '.*': cannot read \(Is a directory\)"),
        (["sweep", SWEEP, "--workers", "-1"], r"--workers: expected an integer >= 1, got -1"),
        (["sweep", SWEEP, "--backend", "mpi"], r"--backend: expected one of local, ray"),
        (["sweep", SWEEP, "-o", "{tmp}/afile"], r"'.*afile': exists and is not a directory"),
        (["run", ARCH, CARD, "--mode", "fastest"], r"--mode: expected one of event, analytic"),
        (["run", ARCH, CARD, "--format", "xls"], r"--format: expected one of csv, parquet"),
        (["run", ARCH, CARD, "-o", "{tmp}/afile"], r"'.*afile': exists and is not a directory"),
        (["run", ARCH, CARD, "-o", "{tmp}/afile/sub"], r"report directory '.*afile.*': cannot"),
        (
            ["run", ARCH, CARD, "--quant", "w8a8-itn"],
            r"recipe: no file or shipped recipe named 'w8a8-itn'; shipped: .*w8a8-int",
        ),
        (["report", "{tmp}/nothing", "-o", "{tmp}/r.html"], r"report source '.*nothing': exp"),
        (["report", "{tmp}/afile", "-o", "{tmp}/r.html"], r"afile.*expected"),
        (["compare", "{tmp}/x", "{tmp}/y"], r"x: not a run directory \(no summary\.json\)"),
        (["compare", "{tmp}/badrun", "{tmp}/badrun"], r"summary\.json: not valid JSON"),
        (["formats", "show", "int99x"], r"unknown format 'int99x'; closest registered names"),
        (["formats", "show", "int32"], r"32-bit codes are too many to list"),
        (["trace", "gpt-9", "-o", "{tmp}/t.yaml"], r"no file or shipped workload named 'gpt-9'"),
        (["trace", CARD, "-o", "{tmp}/t.txt"], r"-o .*t\.txt: expected a \.yaml path"),
        (["trace", CARD, "-o", "{tmp}/d.yaml"], r"output .*d\.yaml: is a directory"),
        (["trace", CARD, "-o", "{tmp}/afile/t.yaml"], r"output .*t\.yaml: cannot create its fo"),
        (
            ["workload", "show", "{tmp}/none.yaml"],
            r"no file or shipped workload named '.*none\.yaml'",
        ),
        (["workload", "export", CARD, "-o", "{tmp}/x.txt"], r"-o .*x\.txt: expected a \.yaml"),
        (["workload", "export", CARD, "-o", "{tmp}/d.yaml"], r"output .*d\.yaml: is a directory"),
        (["workload", "export", CARD, "-o", "{tmp}/afile/x.csv"], r"x\.csv: cannot create"),
        (["verify", "--quick", "--only", "nosuchcheck"], r"no check name contains 'nosuchcheck'"),
        (["verify", "--quick", "--seed", "-1"], r"verify --seed: expected an integer >= 0"),
    ],
)
def test_bad_command_arguments_and_outputs(tmp_path, capsys, argv, match):
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "d.yaml").mkdir()
    (tmp_path / "badrun").mkdir()
    (tmp_path / "badrun" / "summary.json").write_text("{nope")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    msg = run_bad([str(a).replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert re.search(match, msg), msg
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main([str(a) for a in ("run", ARCH, TOPO, "--mode", "analytic", "-o", out)]) == 0
    return out


def _broken_run(tmp_path: Path, run_dir: Path, summary: str | None, ops: str | None) -> Path:
    bad = tmp_path / "bad"
    bad.mkdir()
    summary_text = (run_dir / "summary.json").read_text() if summary is None else summary
    (bad / "summary.json").write_text(summary_text)
    (bad / "ops.csv").write_text((run_dir / "ops.csv").read_text() if ops is None else ops)
    return bad


def _summary_without(run_dir: Path, key: str, value=None) -> str:
    doc = json.loads((run_dir / "summary.json").read_text())
    if value is None:
        doc.pop(key)
    else:
        doc[key] = value
    return json.dumps(doc)


@pytest.mark.parametrize(
    "summary,ops,match",
    [
        ("[1]", None, r"bad/summary\.json: expected a JSON object written by `hwsim run`"),
        (lambda r: _summary_without(r, "cycles"), None, r"summary\.json: cycles: missing"),
        (lambda r: _summary_without(r, "cycles", "x"), None, r"cycles: expected a number, got"),
        (lambda r: _summary_without(r, "arch", 3), None, r"arch: expected a string, got 3"),
        (
            lambda r: _summary_without(r, "breakdown_cycles", [1]),
            None,
            r"breakdown_cycles: expected a mapping",
        ),
        (None, "", r"bad: ops table unreadable \(No columns to parse from file\)"),
    ],
    ids=["not an object", "missing key", "wrong number", "wrong string", "wrong map", "no ops"],
)
def test_broken_run_directory(tmp_path, capsys, run_dir, summary, ops, match):
    """`compare` and `report` of a run directory whose files were damaged or hand-edited."""
    text = summary(run_dir) if callable(summary) else summary
    bad = _broken_run(tmp_path, run_dir, text, ops)
    for argv in (["compare", run_dir, bad], ["report", bad, "-o", tmp_path / "r.html"]):
        msg = run_bad(argv, capsys)
        assert re.search(match, msg), msg
    assert not (tmp_path / "r.html").exists()


def test_report_output_that_cannot_be_written(tmp_path, capsys, run_dir):
    (tmp_path / "afile").write_text("x")
    msg = run_bad(["report", run_dir, "-o", tmp_path], capsys)
    assert re.search(r"-o .*: is a directory; expected an \.html file path", msg), msg
    msg = run_bad(["report", run_dir, "-o", tmp_path / "afile" / "r.html"], capsys)
    assert re.search(r"-o .*r\.html: cannot create its folder", msg), msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("dtype", ["<U1", "complex128"])
def test_tensor_file_of_non_real_numbers(tmp_path, capsys, dtype):
    arr = np.ones((384, 384), dtype=dtype)
    np.savez(tmp_path / "t.npz", **{f"{GEMM}/weights": arr})
    msg = run_bad(["workload", "show", _tensor_yaml(tmp_path, "t.npz")], capsys)
    assert f"weights: expected real float numbers, got dtype {np.dtype(dtype)}" in msg


def _sqlite(path: Path, schema: str) -> bytes:
    import sqlite3

    db = sqlite3.connect(path)
    db.executescript(schema)
    db.commit()
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "schema,match",
    [
        ("CREATE TABLE t (x);", r"not a result store \(it has table 't'\)"),
        ("CREATE TABLE points (x);", r"not a result store \(its points table has other columns\)"),
        ("CREATE TABLE meta (name TEXT);", r"not a result store \(no points table\)"),
    ],
    ids=["foreign table", "foreign points", "no points"],
)
def test_sqlite_file_that_is_not_a_result_store(tmp_path, capsys, schema, match):
    """Refused by `report`, and `sweep` never adds its tables to someone else's database."""
    store = tmp_path / "s" / "results.sqlite"
    store.parent.mkdir()
    before = _sqlite(store, schema)
    msg = run_bad(["report", store, "-o", tmp_path / "r.html"], capsys)
    assert re.search(match, msg), msg
    if "meta" not in schema:  # meta alone: a store with no points yet, which sweep may fill
        msg = run_bad(["sweep", SWEEP, "-o", store.parent, "--no-progress"], capsys)
        assert re.search(match, msg), msg
    assert store.read_bytes() == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["results.sqlite", "s"]


@pytest.mark.parametrize(
    "argv,what",
    [
        (["run", "{f}.yaml", CARD], "arch file"),
        (["run", "{f}.cfg", TOPO], "SCALE-Sim config"),
        (["run", ARCH, "{f}.yaml"], "workload file"),
        (["run", ARCH, "{f}.csv"], "topology file"),
        (["run", ARCH, CARD, "--quant", "{f}.yaml"], "recipe"),
        (["sweep", "{f}.yaml", "-o", "{f}-store"], "sweep file"),
    ],
    ids=["arch", "cfg", "workload", "topology", "recipe", "sweep"],
)
def test_file_that_is_not_utf8(tmp_path, capsys, argv, what):
    stem = tmp_path / "bin"
    for ext in (".yaml", ".cfg", ".csv"):
        prefix = b"[architecture_presets]\n" if ext == ".cfg" else b"version: 1\n"
        stem.with_suffix(ext).write_bytes(prefix + b"\xff\xfe: 3\n")
    before = sorted(tmp_path.iterdir())
    msg = run_bad([str(a).replace("{f}", str(stem)) for a in argv], capsys)
    assert re.search(rf"bin\.\w+: {what}: expected UTF-8 text, got byte 0xff at offset", msg), msg
    assert sorted(tmp_path.iterdir()) == before


def test_run_summary_that_is_not_utf8(tmp_path, capsys, run_dir):
    bad = _broken_run(tmp_path, run_dir, None, None)
    (bad / "summary.json").write_bytes(b'{"arch": "\xff"}')
    msg = run_bad(["compare", run_dir, bad], capsys)
    assert "summary.json: run summary: expected UTF-8 text, got byte 0xff at offset 10" in msg


DUPLICATE = r"d\.yaml: not valid YAML:? \(?duplicate key 'name'(, line \d+\)| \(line \d+\))"


@pytest.mark.parametrize(
    "src,argv,match",
    [
        (ARCH, ["run", "{f}", CARD], r"d\.yaml: not valid YAML: duplicate key 'name' \(line 8\)"),
        (WORKLOAD, ["workload", "show", "{f}"], DUPLICATE),
        (RECIPE, ["run", ARCH, CARD, "--quant", "{f}"], DUPLICATE),
        (SWEEP, ["sweep", "{f}", "-o", "{f}.store"], DUPLICATE),
    ],
    ids=["arch", "workload", "recipe", "sweep"],
)
def test_duplicate_yaml_key(tmp_path, capsys, src, argv, match):
    """PyYAML would keep the last of two equal keys silently; hwsim refuses the file."""
    lines = src.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"(clock_mhz|phase|name):", line))
    lines.insert(first + 1, lines[first])
    path = tmp_path / "d.yaml"
    path.write_text("\n".join(lines) + "\n")
    msg = run_bad([str(a).replace("{f}", str(path)) for a in argv], capsys)
    assert re.search(match, msg), msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.yaml"]


def test_yaml_merge_keys_may_be_overridden():
    from hwsim.yamlsafe import load

    assert load("b: &b {x: 1, y: 1}\nd:\n  <<: *b\n  x: 2\n")["d"] == {"x": 2, "y": 1}


def test_every_shipped_file_loads_with_the_strict_loaders():
    import hwsim
    from hwsim.dse.spec import load_sweep
    from hwsim.workload.recipe import load_recipe

    assert all(
        hwsim.load_arch(p).name for p in sorted((REPO / "hwsim" / "data" / "arch").glob("*.yaml"))
    )
    wls = sorted((REPO / "hwsim" / "data" / "workloads").glob("*.yaml"))
    assert all(hwsim.load_workload(str(p)).macs > 0 for p in wls)
    assert all(load_recipe(p) for p in sorted((REPO / "hwsim" / "data" / "recipes").glob("*.yaml")))
    assert all(load_sweep(p) for p in sorted((REPO / "hwsim" / "data" / "sweeps").glob("*.yaml")))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], None),  # no command: help, exit 0 (not a mistake)
        (["bogus"], r"hwsim: argument COMMAND: invalid choice: 'bogus'.*'hwsim --help'"),
        (["run"], r"hwsim run: the following arguments are required: ARCH, WORKLOAD"),
        (["verify", "--seed", "x"], r"hwsim verify: argument --seed: invalid int value: 'x'"),
        (["formats", "show"], r"hwsim formats show: .*required: name.*'hwsim formats show --help'"),
        (["run", ARCH, CARD, "--no-such-flag"], r"unrecognized arguments: --no-such-flag"),
    ],
)
def test_usage_mistakes_are_one_line(capsys, argv, message):
    if message is None:
        assert main([]) == 0
        assert "usage: hwsim" in capsys.readouterr().out
        return
    with pytest.raises(SystemExit) as exc:  # argparse exits from inside parse_args
        main([str(a) for a in argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hwsim: error: "), err
    assert re.search(message, err), err
