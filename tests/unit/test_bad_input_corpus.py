"""A table-driven corpus of bad user files: numbers at the edges of every numeric field of
arch, workload and recipe files, broken YAML structure, and bad tensor files.

Each case writes one bad file under tmp_path and runs the CLI. The promise: exactly one stderr
line `hwsim: error: FILE: FIELD: expected ..., got ...`, exit code 2, no traceback, and nothing
written (no report folder, no file beside the inputs). The numeric cases are generated from the
schema dataclasses, so a numeric field added to a schema without a range fails
`test_corpus_covers_every_numeric_field`.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwsim.cli import main
from hwsim.dtypes.qtensor import QuantSpec
from hwsim.spec import schema
from hwsim.spec.loader import load_arch
from hwsim.spec.yamlcheck import INT_MAX, RANGES
from hwsim.workload.cards import TransformerConfig
from hwsim.workload.op import ConvShape, Op

REPO = Path(__file__).resolve().parents[2]
CARD = "resnet-18:infer:32"
BAD = "@@BAD@@"


# --- the good documents every case starts from ------------------------------------------


def _arch_base() -> dict:
    """tpu_int8 with every optional numeric field present (fpga, overrides, group scales)."""
    doc = yaml.safe_load((REPO / "hwsim" / "data" / "arch" / "tpu_int8.yaml").read_text())
    doc["dram"]["energy_pj_per_bit"] = 15.0
    doc["vector_unit"]["cycles_per_element"] = {"softmax": 4}
    doc["precision"].update(group_size=128, scale_bits=8)
    fpga = yaml.safe_load((REPO / "hwsim" / "data" / "arch" / "fpga_zcu104.yaml").read_text())[
        "fpga"
    ]
    doc["fpga"] = {**fpga, "max_clock_mhz": 300.0}
    doc["overrides"] = [
        {"workload": "*:decode:*", "rows": 64, "cols": 16, "weight_bits": 8, "group_size": 64}
    ]
    return doc


ARCH_BASE = _arch_base()
WORKLOAD_BASE = {
    "version": 1,
    "name": "corpus",
    "ops": [
        {"name": "fc", "kind": "gemm", "M": 2, "N": 3, "K": 4, "batch": 1, "repeat": 1},
        {"name": "act", "kind": "vector", "elements": 6, "vector_kind": "act", "repeat": 1},
        {
            "name": "conv", "kind": "conv", "M": 16, "N": 8, "K": 27,
            "conv": {
                "in_channels": 3, "out_channels": 8, "kernel": [3, 3], "stride": [1, 1],
                "padding": [1, 1], "in_hw": [4, 4], "out_hw": [4, 4], "groups": 1,
            },
        },
    ],
}  # fmt: skip
CARD_BASE = {
    "version": 1,
    "name": "tiny-llama",
    "phase": "prefill",
    "length": 8,
    "batch": 1,
    "card": {
        "family": "llama", "d_model": 64, "ffn": 128, "layers": 2, "heads": 4, "kv_heads": 2,
        "vocab": 32, "patch": 0, "classes": 0, "head_dim": 16,
    },
}  # fmt: skip
RECIPE_BASE = yaml.safe_load(
    (REPO / "hwsim" / "data" / "recipes" / "w4a16-int-g128.yaml").read_text()
)


def _doc_with(base: dict, path: tuple, raw: str) -> str:
    """`base` dumped as YAML with the value at `path` replaced by the YAML text `raw`."""
    doc = copy.deepcopy(base)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = BAD
    text = yaml.safe_dump(doc, sort_keys=False)
    assert text.count(f"'{BAD}'") == 1
    return text.replace(f"'{BAD}'", raw)


def _field(path: tuple) -> str:
    """('memory', 0, 'size_bytes') -> 'memory[0].size_bytes' (how messages name fields)."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


# --- numbers at the edges ---------------------------------------------------------------

# where each schema dataclass lives in an arch file
ARCH_SECTIONS = {
    schema.Arch: (),
    schema.PEArray: ("pe_array",),
    schema.MemoryLevel: ("memory", 0),
    schema.DRAM: ("dram",),
    schema.VectorUnit: ("vector_unit",),
    schema.Technology: ("technology",),
    schema.Precision: ("precision",),
    schema.FPGADevice: ("fpga",),
    schema.Override: ("overrides", 0),
}
NUMERIC_TYPES = {"int": "int", "int | None": "int", "float": "num", "float | None": "num"}
# fields the loaders allow to be 0; FLOOR: the least value (a floor above 0 keeps counts finite)
ZERO_OK = {"latency_cycles", "scale_bits", "dsps", "bram_36k", "uram", "max_clock_mhz"}
ZERO_OK |= {"vocab", "patch", "classes", "head_dim", "padding"}
FLOOR = {"clock_mhz": 1e-3, "bytes_per_cycle": 1e-3}


def numeric_fields(cls) -> list[tuple[str, str]]:
    """(name, "int" | "num") of every numeric field of a dataclass."""
    return [(f.name, NUMERIC_TYPES[f.type]) for f in fields(cls) if f.type in NUMERIC_TYPES]


def _upper(key: str, kind: str):
    return RANGES.get(key, {}).get("le", INT_MAX)


def _shown(v) -> str:
    if isinstance(v, int) and v >= 10**15:
        return f"{v:.3g}"
    return repr(v)


def edge_values(key: str, kind: str, zero_ok: bool) -> list[tuple[str, str, str]]:
    """(id, YAML text, how the message shows it) of every bad value for one field."""
    hi = _upper(key, kind)
    above = hi + 1 if isinstance(hi, int) else hi * 2
    out = [
        ("inf", ".inf", "inf"),
        ("-inf", "-.inf", "-inf"),
        ("nan", ".nan", "nan"),
        ("1e52 as an integer", str(10**52), "1e+52"),
        ("1e300", "1.0e+300", "1e+300"),
        ("negative", "-1", "-1"),
        ("above the range", repr(above), _shown(above)),
        ("a string", "'12'", "'12'"),
        ("a boolean", "true", "True"),
        ("a list", "[1]", "[1]"),
        ("a mapping", "{a: 1}", "{'a': 1}"),
    ]
    if not zero_ok:
        out.append(("zero", "0", "0"))
    if kind == "int":
        out += [("non-integer", "32.9", "32.9"), ("1e-300", "1.0e-300", "1e-300")]
        out.append(("integral float", "2.0", "2.0"))
    elif key in FLOOR:
        out.append(("1e-300", "1.0e-300", "1e-300"))
    return out


def _arch_numeric_cases():
    for cls, where in ARCH_SECTIONS.items():
        for key, kind in numeric_fields(cls):
            if key == "version":
                continue  # must be exactly 1: tests/unit/test_spec.py
            for vid, raw, got in edge_values(key, kind, key in ZERO_OK):
                path = (*where, key)
                yield (f"arch {_field(path)} {vid}", "arch", path, raw, f"arch.{_field(path)}", got)
    path = ("vector_unit", "cycles_per_element", "softmax")
    for vid, raw, got in edge_values("cycles_per_element", "int", False):
        yield (f"arch {_field(path)} {vid}", "arch", path, raw, f"arch.{_field(path)}", got)


def _workload_numeric_cases():
    ops = {key: kind for key, kind in numeric_fields(Op)}
    for key, kind in ops.items():
        i = 1 if key == "elements" else 0  # elements: the vector op, the rest: the gemm op
        path = ("ops", i, key)
        for vid, raw, got in edge_values(key, kind, False):
            yield (f"workload {_field(path)} {vid}", "workload", path, raw, _field(path), got)
    for key, kind in [(f.name, "int") for f in fields(ConvShape)]:
        pair = isinstance(WORKLOAD_BASE["ops"][2]["conv"][key], list)
        path = ("ops", 2, "conv", key, 0) if pair else ("ops", 2, "conv", key)
        field = _field(("ops", 2, "conv", key))
        for vid, raw, got in edge_values(key, kind, key in ZERO_OK):
            yield (f"workload {field} {vid}", "workload", path, raw, field, got)
    for key, kind in numeric_fields(TransformerConfig):
        path = ("card", key)
        for vid, raw, got in edge_values(key, kind, key in ZERO_OK):
            yield (f"card {_field(path)} {vid}", "card", path, raw, _field(path), got)
    for key in ("length", "batch"):
        for vid, raw, got in edge_values(key, "int", False):
            yield (f"card {key} {vid}", "card", (key,), raw, key, got)


def _recipe_numeric_cases():
    for where in (("default", "weights"), ("default", "activations"), ("rules", 0, "weights")):
        for key, kind in numeric_fields(QuantSpec):
            zero_ok = key == "axis"
            path = (*where, key)
            for vid, raw, got in edge_values(key, kind, zero_ok):
                if key == "axis" and vid == "negative":
                    raw, got = "-4", "-4"  # -1 is the last axis: fine
                yield (f"recipe {_field(path)} {vid}", "recipe", path, raw, _field(path), got)


NUMERIC_CASES = [*_arch_numeric_cases(), *_workload_numeric_cases(), *_recipe_numeric_cases()]
BASES = {"arch": ARCH_BASE, "workload": WORKLOAD_BASE, "card": CARD_BASE, "recipe": RECIPE_BASE}
NAMES = {"arch": "a.yaml", "workload": "w.yaml", "card": "w.yaml", "recipe": "r.yaml"}


def _argv(kind: str, path: Path, out: Path) -> list:
    if kind == "arch":
        return ["run", path, CARD, "--mode", "analytic", "-o", out]
    if kind == "recipe":
        return [
            "run",
            REPO / "hwsim" / "data" / "arch" / "tpu_int8.yaml",
            CARD,
            "--quant",
            path,
            "-o",
            out,
        ]
    return [
        "run",
        REPO / "hwsim" / "data" / "arch" / "tpu_int8.yaml",
        path,
        "--mode",
        "analytic",
        "-o",
        out,
    ]


def run_bad(tmp_path: Path, capsys, argv: list) -> str:
    """Run the CLI; check exit 2, one `hwsim: error:` line, no traceback, nothing written."""
    before = sorted(tmp_path.rglob("*"))
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2, (rc, out, err)
    assert len(lines) == 1, err
    assert lines[0].startswith("hwsim: error: ") and "Traceback" not in err, err
    assert sorted(tmp_path.rglob("*")) == before, "the failed command left files behind"
    return lines[0]


def expect(msg: str, file: Path, field: str, got: str | None = None) -> None:
    """msg is `hwsim: error: FILE: FIELD: expected ..., got GOT ...`."""
    pattern = rf"hwsim: error: {re.escape(str(file))}: {re.escape(field)}: expected "
    assert re.match(pattern, msg), (pattern, msg)
    if got is not None:
        assert re.search(rf", got {re.escape(got)}( \(line \d+\))?($| \()", msg), (got, msg)


@pytest.mark.parametrize(
    "kind,path,raw,field,got", [c[1:] for c in NUMERIC_CASES], ids=[c[0] for c in NUMERIC_CASES]
)
def test_numbers_at_the_edges(tmp_path, capsys, kind, path, raw, field, got):
    file = tmp_path / NAMES[kind]
    file.write_text(_doc_with(BASES[kind], path, raw))
    msg = run_bad(tmp_path, capsys, _argv(kind, file, tmp_path / "out"))
    expect(msg, file, field, got)


def test_corpus_covers_every_numeric_field():
    """Every numeric schema field has cases and a range (a new field must choose one)."""
    covered = {step for c in NUMERIC_CASES for step in c[2] if isinstance(step, str)}
    wanted = {k for cls in ARCH_SECTIONS for k, _ in numeric_fields(cls)} - {"version"}
    wanted |= {k for cls in (Op, TransformerConfig, QuantSpec) for k, _ in numeric_fields(cls)}
    wanted |= {f.name for f in fields(ConvShape)} | {"cycles_per_element", "length", "batch"}
    assert wanted <= covered, wanted - covered
    assert len(NUMERIC_CASES) >= 500
    # an op's own counts are bounded by INT_MAX each and by 2**53 MACs per op
    op_counts = {k for k, _ in numeric_fields(Op)}
    unbounded = {k for k in wanted - op_counts if k not in RANGES}
    assert not unbounded, f"no range in hwsim.spec.yamlcheck.RANGES for {sorted(unbounded)}"


# the values at the edge of each range load (the bounds are inclusive)
@pytest.mark.parametrize(
    "path",
    [
        (*where, key)
        for cls, where in ARCH_SECTIONS.items()
        for key, _ in numeric_fields(cls)
        if key != "version"
    ],  # fmt: skip
    ids=_field,
)
def test_arch_values_at_the_edges_load(tmp_path, path):
    key = path[-1]
    lo = 0 if key in ZERO_OK else FLOOR.get(key, 1)
    for value in (lo, RANGES[key]["le"]):
        doc = copy.deepcopy(ARCH_BASE)
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[key] = value
        file = tmp_path / "a.yaml"
        file.write_text(yaml.safe_dump(doc, sort_keys=False))
        arch = load_arch(file)
        assert arch.source == str(file)


# --- YAML structure ---------------------------------------------------------------------


def _nest_flow(depth: int) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


def _nest_block(depth: int) -> str:
    return "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "b: 1\n"


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
)
YAML_PROBLEMS = [
    ("complex sequence key", "version: 1\n? [a, b]\n: 1\n", "a field name as key, got a sequence"),
    ("complex mapping key", "version: 1\n? {a: 1}\n: 1\n", "a field name as key, got a mapping"),
    ("nested complex key", "version: 1\nx:\n  ? [a]\n  : 1\n", "a field name as key, got a seq"),
    ("nesting 65 deep (flow)", _nest_flow(65), "at most 64 levels of nesting"),
    ("nesting 65 deep (block)", _nest_block(65), "at most 64 levels of nesting"),
    ("billion laughs", LAUGHS, "at most 1000000 nodes once aliases are expanded"),
    ("recursive alias", "version: 1\nx: &x [1, *x]\n", "no alias inside its own anchor"),
    ("recursive mapping", "version: 1\nx: &x {y: *x}\n", "no alias inside its own anchor"),
    (
        "python tag",
        "version: 1\nx: !!python/object/apply:os.system [ls]\n",
        "plain YAML values, got the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    ("unknown tag", "version: 1\nx: !foo 3\n", "plain YAML values, got the tag '!foo'"),
    ("duplicate key", "version: 1\nversion: 1\n", None),
    ("unclosed flow", "version: 1\nx: [1, 2\n", None),
    ("tab indent", "version: 1\nx:\n\t- 1\n", None),
]
FILE_KINDS = ("arch", "workload", "recipe")


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize(
    "text,fragment", [c[1:] for c in YAML_PROBLEMS], ids=[c[0] for c in YAML_PROBLEMS]
)
def test_yaml_structure(tmp_path, capsys, kind, text, fragment):
    file = tmp_path / NAMES[kind]
    file.write_text(text)
    msg = run_bad(tmp_path, capsys, _argv(kind, file, tmp_path / "out"))
    assert re.match(rf"hwsim: error: {re.escape(str(file))}: not valid YAML: .+ \(line \d+\)$", msg)
    if fragment:
        assert f"expected {fragment}" in msg, msg


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("shape", ["flow", "block"])
def test_20000_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, kind, shape):
    """A real process (a RecursionError may take the interpreter's stack with it)."""
    file = tmp_path / NAMES[kind]
    file.write_text(_nest_flow(20_000) if shape == "flow" else _nest_block(20_000))
    argv = [str(a) for a in _argv(kind, file, tmp_path / "out")]
    p = subprocess.run(
        [sys.executable, "-m", "hwsim", *argv], capture_output=True, text=True, cwd=REPO
    )
    assert p.returncode == 2, p.stderr[-2000:]
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert p.stderr.startswith(f"hwsim: error: {file}: not valid YAML: expected at most 64 ")
    assert sorted(tmp_path.iterdir()) == [file]


TOP_LEVELS = [
    ("empty file", "", "nothing"),
    ("null", "~\n", "nothing"),
    ("a list", "- 1\n- 2\n", "a list"),
    ("a string", "just words\n", "the string 'just words'"),
    ("a number", "42\n", "the number 42"),
    ("a boolean", "true\n", "a boolean"),
    ("binary", "!!binary aGk=\n", "a bytes"),
]
TOP_FIELD = {"arch": "arch", "workload": "top level", "recipe": "top level"}


@pytest.mark.parametrize("kind", FILE_KINDS)
@pytest.mark.parametrize("text,got", [c[1:] for c in TOP_LEVELS], ids=[c[0] for c in TOP_LEVELS])
def test_top_level_that_is_not_a_mapping(tmp_path, capsys, kind, text, got):
    file = tmp_path / NAMES[kind]
    file.write_text(text)
    msg = run_bad(tmp_path, capsys, _argv(kind, file, tmp_path / "out"))
    expect(msg, file, TOP_FIELD[kind])
    assert msg.endswith(f", got {got}"), msg


# (file kind, path, a value of the wrong shape, field named, what the message says it got)
WRONG_SHAPES = [
    ("arch", ("pe_array",), "[1, 2]", "arch.pe_array", "[1, 2]"),
    ("arch", ("pe_array", "pe"), "[int_mac]", "arch.pe_array.pe", "['int_mac']"),
    ("arch", ("pe_array", "pe", "params"), "[1]", "arch.pe_array.pe.params", "[1]"),
    ("arch", ("memory",), "{a: 1}", "arch.memory", "a mapping"),
    ("arch", ("memory",), "[]", "arch.memory", "an empty list"),
    ("arch", ("memory", 0), "[1]", "arch.memory[0]", "[1]"),
    ("arch", ("dram",), "[1]", "arch.dram", "[1]"),
    ("arch", ("vector_unit",), "fast", "arch.vector_unit", "'fast'"),
    ("arch", ("vector_unit", "cycles_per_element"), "[4]", "arch.vector_unit.cycles_per_element",
     "[4]"),
    ("arch", ("vector_unit", "cycles_per_element"), "{sofmax: 4}",
     "arch.vector_unit.cycles_per_element.sofmax", None),
    ("arch", ("technology",), "[45]", "arch.technology", "[45]"),
    ("arch", ("precision",), "[int8]", "arch.precision", "['int8']"),
    ("arch", ("fpga",), "[1]", "arch.fpga", "[1]"),
    ("arch", ("overrides",), "{workload: x}", "arch.overrides", "a mapping"),
    ("arch", ("overrides", 0), "[1]", "arch.overrides[0]", "[1]"),
    ("arch", ("clock_mhz",), "2024-01-01", "arch.clock_mhz", "datetime.date(2024, 1, 1)"),
    ("workload", ("ops",), "{fc: 1}", "ops", "a mapping"),
    ("workload", ("ops",), "[]", "ops", "an empty list"),
    ("workload", ("ops", 0), "[fc, gemm]", "ops[0]", "a list"),
    ("workload", ("ops", 2, "conv"), "[[in_channels, 3]]", "ops[2].conv", "a list"),
    ("workload", ("ops", 2, "conv", "kernel"), "3", "ops[2].conv.kernel", "3"),
    ("workload", ("ops", 2, "conv", "kernel"), "[3, 3, 3]", "ops[2].conv.kernel", "[3, 3, 3]"),
    ("workload", ("ops", 2, "conv", "kernel"), "{h: 3}", "ops[2].conv.kernel", "{'h': 3}"),
    ("workload", ("ops", 2, "conv", "groups"), "2", "ops[2].conv.groups", "2"),
    ("workload", ("ops", 0, "name"), "[fc]", "ops[0].name", "a list"),
    ("workload", ("ops", 0, "module"), "{a: 1}", "ops[0].module", "a mapping"),
    ("workload", ("ops", 0, "weight_is_activation"), "'yes'", "ops[0].weight_is_activation",
     "the string 'yes'"),
    ("workload", ("metadata",), "[1]", "metadata", "a list"),
    ("workload", ("metadata",), "{when: 2024-01-01}", "metadata.when", "a date"),
    ("workload", ("metadata",), "{x: .inf}", "metadata.x", "inf"),
    ("workload", ("metadata",), "{x: [1, .nan]}", "metadata.x[1]", "nan"),
    ("workload", ("metadata",), "{1: a}", "metadata", "the number 1"),
    ("workload", ("name",), "[a]", "name", "a list"),
    ("workload", ("version",), "true", "version", "True"),
    ("workload", ("version",), "1.0", "version", "1.0"),
    ("card", ("card",), "[llama]", "card", "a list"),
    ("card", ("card", "d_model"), "[64]", "card.d_model", "[64]"),
    ("card", ("card", "d_model"), "'64'", "card.d_model", "'64'"),
    ("card", ("card", "head_dim"), "{a: 16}", "card.head_dim", "{'a': 16}"),
    ("card", ("phase",), "[prefill]", "phase", "a list"),
    ("recipe", ("default",), "[1]", "default", "a list"),
    ("recipe", ("default", "weights"), "[int4]", "default.weights", "a list"),
    ("recipe", ("rules",), "{match: x}", "rules", "a mapping"),
    ("recipe", ("rules", 0), "[lm_head]", "rules[0]", None),
    ("recipe", ("version",), "true", "version", "True"),
]  # fmt: skip


@pytest.mark.parametrize(
    "kind,path,raw,field,got", WRONG_SHAPES, ids=[f"{c[0]} {c[3]} {c[2]}" for c in WRONG_SHAPES]
)
def test_wrong_shapes_and_types(tmp_path, capsys, kind, path, raw, field, got):
    file = tmp_path / NAMES[kind]
    file.write_text(_doc_with(BASES[kind], path, raw))
    msg = run_bad(tmp_path, capsys, _argv(kind, file, tmp_path / "out"))
    expect(msg, file, field)
    if got is not None:
        assert f", got {got}" in msg, msg


def test_card_string_with_its_own_length(tmp_path, capsys):
    file = tmp_path / "w.yaml"
    file.write_text("version: 1\ncard: llama-2-7b:decode:256\nlength: 512\n")
    msg = run_bad(tmp_path, capsys, _argv("workload", file, tmp_path / "out"))
    expect(msg, file, "length", "512")


# --- tensor files -----------------------------------------------------------------------

TENSOR_WL = {
    "version": 1,
    "name": "t",
    "tensors": "t.npz",
    "ops": [
        {"name": "fc", "kind": "gemm", "M": 2, "N": 3, "K": 4},
        {"name": "act", "kind": "vector", "elements": 6, "vector_kind": "act"},
    ],
}
A = np.arange(8, dtype=np.float32).reshape(2, 4)
W = np.arange(12, dtype=np.float32).reshape(3, 4)


def _save(path: Path, arrays: dict) -> None:
    if path.suffix == ".npz":
        np.savez(path, **arrays)
    else:
        from safetensors.numpy import save_file

        save_file(arrays, str(path))


def _workload(tmp_path: Path, tensors) -> Path:
    file = tmp_path / "w.yaml"
    file.write_text(yaml.safe_dump({**TENSOR_WL, "tensors": tensors}, sort_keys=False))
    return file


def test_npz_needs_no_safetensors(tmp_path, capsys, monkeypatch):
    """Without the models extra an .npz workload runs, and a .safetensors one says what to
    install."""
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    _save(tmp_path / "t.npz", {"fc/inputs": A, "fc/weights": W})
    file = _workload(tmp_path, "t.npz")
    assert main(["workload", "show", str(file)]) == 0
    capsys.readouterr()
    (tmp_path / "t.safetensors").write_bytes(b"\0" * 16)
    file = _workload(tmp_path, "t.safetensors")
    msg = run_bad(tmp_path, capsys, _argv("workload", file, tmp_path / "out"))
    expect(msg, tmp_path / "t.safetensors", "tensors")
    assert "pip install 'hwsim[models]'" in msg


# (id, tensors: value, arrays to save as t.npz (None: none), file named, field, fragment)
NAN_W = W.copy()
NAN_W[1, 2] = np.nan
TENSOR_CASES = [
    ("parent folder", "../t.npz", None, "w.yaml", "tensors", "inside the workload's folder"),
    ("parent inside", "sub/../../t.npz", None, "w.yaml", "tensors", "inside the workload's"),
    ("absolute", "/tmp/t.npz", None, "w.yaml", "tensors", "inside the workload's folder"),
    ("not a string", "5", None, "w.yaml", "tensors", "got 5"),
    ("a list", "[t.npz]", None, "w.yaml", "tensors", "got ['t.npz']"),
    ("empty name", "''", None, "w.yaml", "tensors", "got ''"),
    ("other extension", "t.txt", None, "w.yaml", "tensors", "got 't.txt'"),
    ("no extension", "t", None, "w.yaml", "tensors", "got 't'"),
    ("missing", "nope.npz", None, "nope.npz", "tensors", "got no such file"),
    ("empty npz", "t.npz", {}, "t.npz", "tensors", "arrays, got none"),
    ("weights only", "t.npz", {"fc/weights": W}, "t.npz", "fc/inputs", "in pairs), got none"),
    ("inputs only", "t.npz", {"fc/inputs": A}, "t.npz", "fc/weights", "in pairs), got none"),
    ("vector op", "t.npz", {"act/inputs": A}, "t.npz", "act/inputs", "got a vector op"),
    ("unknown op", "t.npz", {"fc2/weights": W}, "t.npz", "fc2/weights", "no such op/part"),
    ("unknown part", "t.npz", {"fc/bias": W}, "t.npz", "fc/bias", "no such op/part"),
    ("no slash", "t.npz", {"fc": W}, "t.npz", "fc", "no such op/part"),
    ("transposed", "t.npz", {"fc/inputs": A, "fc/weights": W.T}, "t.npz", "fc/weights",
     "got (4, 3)"),
    ("extra axis", "t.npz", {"fc/inputs": A[None], "fc/weights": W}, "t.npz", "fc/inputs",
     "got (1, 2, 4)"),
    ("scalar", "t.npz", {"fc/inputs": np.float32(1), "fc/weights": W}, "t.npz", "fc/inputs",
     "got ()"),
    ("nan", "t.npz", {"fc/inputs": A, "fc/weights": NAN_W}, "t.npz", "fc/weights",
     "got nan at index (1, 2)"),
    ("inf", "t.npz", {"fc/inputs": np.full((2, 4), -np.inf, np.float32), "fc/weights": W},
     "t.npz", "fc/inputs", "finite values within float32 range"),
    ("beyond float32", "t.npz", {"fc/inputs": A.astype(np.float64) * 1e300, "fc/weights": W},
     "t.npz", "fc/inputs", "finite values within float32 range"),
    ("bool", "t.npz", {"fc/inputs": A > 1, "fc/weights": W}, "t.npz", "fc/inputs", "dtype bool"),
    ("complex", "t.npz", {"fc/inputs": A + 1j, "fc/weights": W}, "t.npz", "fc/inputs",
     "dtype complex"),
    ("strings", "t.npz", {"fc/inputs": np.full((2, 4), "x"), "fc/weights": W}, "t.npz",
     "fc/inputs", "dtype <U1"),
]  # fmt: skip


@pytest.mark.parametrize(
    "tensors,arrays,named,field,fragment",
    [c[1:] for c in TENSOR_CASES],
    ids=[c[0] for c in TENSOR_CASES],
)
def test_bad_tensor_files(tmp_path, capsys, tensors, arrays, named, field, fragment):
    if arrays is not None:
        _save(tmp_path / "t.npz", arrays)
    file = tmp_path / "w.yaml"
    file.write_text(_doc_with(TENSOR_WL, ("tensors",), tensors))
    msg = run_bad(tmp_path, capsys, _argv("workload", file, tmp_path / "out"))
    expect(msg, tmp_path / named, field)
    assert fragment in msg, msg


def test_absolute_tensor_path_of_a_real_file_is_refused(tmp_path, capsys):
    _save(tmp_path / "t.npz", {"fc/inputs": A, "fc/weights": W})
    file = _workload(tmp_path, str(tmp_path / "t.npz"))
    msg = run_bad(tmp_path, capsys, _argv("workload", file, tmp_path / "out"))
    expect(msg, file, "tensors", repr(str(tmp_path / "t.npz")))


UNREADABLE = [
    (ext, c) for ext in ("npz", "safetensors") for c in ("garbage", "truncated", "folder", "empty")
]
UNREADABLE += [("npz", "pickled objects"), ("npz", "a lone .npy")]  # npz-only ways to go wrong


@pytest.mark.parametrize("ext,content", UNREADABLE, ids=[f"{e} {c}" for e, c in UNREADABLE])
def test_unreadable_tensor_files(tmp_path, capsys, ext, content):
    tpath = tmp_path / f"t.{ext}"
    if content == "garbage":
        tpath.write_bytes(b"not a tensor archive at all")
    elif content == "truncated":
        _save(tpath, {"fc/inputs": A, "fc/weights": W})
        tpath.write_bytes(tpath.read_bytes()[:40])
    elif content == "folder":
        tpath.mkdir()
    elif content == "pickled objects":
        np.savez(tpath, **{"fc/inputs": np.array([None, 1], dtype=object)})
    elif content == "a lone .npy":
        with tpath.open("wb") as f:
            np.save(f, A)
    else:
        _save(tpath, {})
    file = _workload(tmp_path, tpath.name)
    msg = run_bad(tmp_path, capsys, _argv("workload", file, tmp_path / "out"))
    expect(msg, tpath, "tensors")


def test_good_tensor_file_is_used(tmp_path, capsys):
    """The good side of the same files: both parts of an op, inside a sub-folder, load."""
    (tmp_path / "sub").mkdir()
    _save(tmp_path / "sub" / "t.npz", {"fc/inputs": A, "fc/weights": W.astype(np.float64)})
    from hwsim.workload import load_workload

    wl = load_workload(_workload(tmp_path, "sub/t.npz"))
    assert np.array_equal(wl.op("fc").inputs, A) and wl.op("fc").weights.shape == (3, 4)


# --- the good side ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((REPO / "hwsim" / "data" / "arch").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_archs_load(path):
    assert load_arch(path).name


@pytest.mark.parametrize(
    "path", sorted((REPO / "hwsim" / "data" / "workloads").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_workloads_load(path):
    from hwsim.workload import load_workload

    assert load_workload(path).ops


@pytest.mark.parametrize(
    "path", sorted((REPO / "hwsim" / "data" / "recipes").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_recipes_load(path):
    from hwsim.workload import load_recipe

    assert load_recipe(path).name


@pytest.mark.parametrize("kind", ["arch", "workload", "card", "recipe"])
def test_corpus_bases_are_good(tmp_path, kind):
    """Every case changes one value of a good file: the unchanged file loads."""
    from hwsim.workload import load_recipe, load_workload

    file = tmp_path / NAMES[kind]
    file.write_text(yaml.safe_dump(BASES[kind], sort_keys=False))
    loader = {"arch": load_arch, "recipe": load_recipe}.get(kind, load_workload)
    assert loader(file)


def test_yaml_merge_and_anchors_still_work(tmp_path):
    """Anchors, aliases and merge keys within the limits are YAML users rely on."""
    from hwsim.yamlsafe import load

    doc = load("base: &b {x: 1, y: 2}\nuse: {<<: *b, y: 3}\nlist: &l [1, 2]\nagain: *l\n")
    assert doc["use"] == {"x": 1, "y": 3} and doc["again"] == [1, 2]
    assert load(_nest_flow(63))["x"] is not None  # 64 levels: the mapping and 63 lists
