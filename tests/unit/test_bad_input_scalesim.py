"""SCALE-Sim .cfg and topology .csv files against user mistakes, through `hwsim run`.

Each bad file must give exactly one stderr line `hwsim: error: FILE: field: expected ...`,
exit code 2, no traceback, and nothing written on disk. The good-but-unusual files at the end
(any header, a BOM, `%` in a name, SCALE-Sim 3 keys) must load.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_contract import run_bad

REPO = Path(__file__).resolve().parents[2]
CFG_TEXT = (REPO / "hwsim" / "data" / "arch" / "scalesim.cfg").read_text()
TOPO = REPO / "hwsim" / "data" / "scalesim" / "resnet18.csv"
PRESETS = r"a\.cfg: \[architecture_presets\] "
CONV_HEAD = TOPO.read_text().splitlines()[0]
GEMM_HEAD = "Layer, M, N, K,"


def g(*rows: str) -> str:
    """A GEMM topology with these rows."""
    return "\n".join([GEMM_HEAD, *rows]) + "\n"


def c(*rows: str) -> str:
    """A conv topology (resnet18.csv's header) with these rows."""
    return "\n".join([CONV_HEAD, *rows]) + "\n"


def cfg_with(key: str, value: str) -> str:
    """The shipped cfg with [architecture_presets] `key` set to `value` (or added)."""
    lines, done = [], False
    for line in CFG_TEXT.splitlines():
        if line.split(":")[0].strip() == key:
            line, done = f"{key}: {value}", True
        lines.append(line)
    text = "\n".join(lines) + "\n"
    return text if done else text.replace("MemoryBanks: 1", f"MemoryBanks: 1\n{key}: {value}")


def cfg_without(key: str) -> str:
    return "\n".join(x for x in CFG_TEXT.splitlines() if x.split(":")[0].strip() != key) + "\n"


def integer(key: str, high: int, got: str) -> str:
    return PRESETS + rf"{key}: expected an integer in 1\.\.{high}, got {re.escape(repr(got))}"


SIDE, KB, BW = 65536, 1 << 30, 1 << 30
# (case id, cfg text, message regex)
CFG_CASES = [
    ("empty", "", r"a\.cfg: \[architecture_presets\]: expected this section, got none"),
    ("comments only", "# nothing\n; here\n", r"\[architecture_presets\]: expected this section"),
    ("other sections only", "[general]\nrun_name = x\n", r"expected this section, got none"),
    ("not INI", "not ini at all\n", r"a\.cfg: line 1: expected a \[section\] header first"),
    ("key before section", "ArrayHeight: 3\n" + CFG_TEXT, r"line 1: expected a \[section\]"),
    ("bare word", CFG_TEXT + "[x]\njunk\n", r"a\.cfg: line \d+: expected `key: value` or"),
    ("duplicate key", cfg_with("MemoryBanks", "1\nMemoryBanks: 2"), r"MemoryBanks: expected once"),
    ("duplicate section", CFG_TEXT + "[general]\n", r"\[general\]: expected once, got twice"),
    ("typo of a key", cfg_with("MemoryBank", "4"), PRESETS + "memorybank: unknown key; expected"),
    ("typo ArrayHieght", cfg_with("ArrayHieght", "8"), PRESETS + "arrayhieght: unknown key"),
    *[
        (f"missing {k}", cfg_without(k), PRESETS + f"{k}: expected an integer, got no such key")
        for k in ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB")
    ],
    *[
        (f"ArrayHeight {v}", cfg_with("ArrayHeight", v), integer("ArrayHeight", SIDE, v))
        for v in (
            "32.9",
            "-32",
            "0",
            "inf",
            ".inf",
            "nan",
            "1e3",
            "1e52",
            "big",
            "",
            "32%",
            "0x20",
            "32 32",
            "99999999999999999999",
            "65537",
            "+",
            "3_2",
        )
    ],
    (
        "ArrayWidth interpolation",
        cfg_with("ArrayWidth", "%(x)s"),
        integer("ArrayWidth", SIDE, "%(x)s"),
    ),
    ("ArrayWidth 8.0", cfg_with("ArrayWidth", "8.0"), integer("ArrayWidth", SIDE, "8.0")),
    ("IfmapSramSzkB 64.5", cfg_with("IfmapSramSzkB", "64.5"), integer("IfmapSramSzkB", KB, "64.5")),
    ("FilterSramSzkB -1", cfg_with("FilterSramSzkB", "-1"), integer("FilterSramSzkB", KB, "-1")),
    ("OfmapSramSzkB 0", cfg_with("OfmapSramSzkB", "0"), integer("OfmapSramSzkB", KB, "0")),
    (
        "OfmapSramSzkB huge",
        cfg_with("OfmapSramSzkB", "2000000000"),
        integer("OfmapSramSzkB", KB, "2000000000"),
    ),
    ("Bandwidth 0", cfg_with("Bandwidth", "0"), integer("Bandwidth", BW, "0")),
    ("Bandwidth 10.5", cfg_with("Bandwidth", "10.5"), integer("Bandwidth", BW, "10.5")),
    ("Bandwidth inf", cfg_with("Bandwidth", "inf"), integer("Bandwidth", BW, "inf")),
    ("Bandwidth list", cfg_with("Bandwidth", "10, x"), integer("Bandwidth", BW, "x")),
    ("Bandwidth %", cfg_with("Bandwidth", "10%"), integer("Bandwidth", BW, "10%")),
    ("MemoryBanks 0", cfg_with("MemoryBanks", "0"), integer("MemoryBanks", 65536, "0")),
    ("MemoryBanks 1.5", cfg_with("MemoryBanks", "1.5"), integer("MemoryBanks", 65536, "1.5")),
    (
        "Dataflow xx",
        cfg_with("Dataflow", "xx"),
        PRESETS + "Dataflow: expected os, ws or is, got 'xx'",
    ),
    (
        "Dataflow empty",
        cfg_with("Dataflow", ""),
        PRESETS + "Dataflow: expected os, ws or is, got ''",
    ),
    ("Dataflow %", cfg_with("Dataflow", "o%s"), PRESETS + "Dataflow: expected os, ws or is"),
    (
        "IfmapOffset -5",
        cfg_with("IfmapOffset", "-5"),
        PRESETS + r"IfmapOffset: expected an integer in 0\.\.",
    ),
    (
        "FilterOffset abc",
        cfg_with("FilterOffset", "abc"),
        PRESETS + "FilterOffset: expected an integer",
    ),
    (
        "OfmapOffset 1.5",
        cfg_with("OfmapOffset", "1.5"),
        PRESETS + "OfmapOffset: expected an integer",
    ),
    (
        "InterfaceBandwidth",
        CFG_TEXT.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"),
        r"a\.cfg: \[run_presets\] InterfaceBandwidth: expected CALC or USER, got 'FAST'",
    ),
    (
        "UseRamulatorTrace",
        CFG_TEXT + "UseRamulatorTrace: maybe\n",
        r"a\.cfg: \[run_presets\] UseRamulatorTrace: expected True or False, got 'maybe'",
    ),
    (
        "multi-line run_name",
        CFG_TEXT.replace("run_name = scalesim_32x32_os", "run_name = a\n  b"),
        r"a\.cfg: \[general\] run_name: expected one line of text, got 'a\\nb'",
    ),
    (
        "multi-line number",
        cfg_with("ArrayHeight", "32\n  7"),
        integer("ArrayHeight", SIDE, "32\n7"),
    ),
]


@pytest.mark.parametrize("name,text,match", CFG_CASES, ids=[c[0] for c in CFG_CASES])
def test_bad_scalesim_cfg(tmp_path, capsys, name, text, match):
    path = tmp_path / "a.cfg"
    path.write_text(text)
    out = tmp_path / "out"
    msg = run_bad(["run", path, TOPO, "--mode", "scalesim", "-o", out], capsys)
    assert re.search(match, msg), msg
    assert re.match(r"hwsim: error: \S*a\.cfg: .*expected ", msg), msg
    assert len(msg) < 300, msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.cfg"]


LONG = "9" * 200_000  # far past the csv module's 131072-character field limit
# (case id, topology text, message regex)
CSV_CASES = [
    ("empty", "", r"t\.csv: topology: expected a header line and layer rows, got nothing"),
    ("blank lines", "\n \n,,\n", r"t\.csv: topology: expected a header line"),
    ("header only", CONV_HEAD + "\n", r"t\.csv: topology: expected layer rows after the header"),
    ("BOM header only", "\ufeff" + GEMM_HEAD + "\n", r"expected layer rows after the header"),
    ("no header", "fc1, 4, 5, 6,\nfc2, 1, 2, 3,\n", r"t\.csv: line 1: expected a header line"),
    ("no header conv", "c, 9, 9, 3, 3, 1, 1, 1,\n", r"line 1: expected a header line .*layer row"),
    ("gemm row short", g("fc, 1, 2,"), r"line 2: expected 4 fields \(gemm rows\), got 3"),
    ("gemm row long", g("fc, 1, 2, 3, 4, 5,"), r"line 2: expected 4 fields .*got 6"),
    ("conv row short", c("conv1, 3, 3,"), r"line 2: expected 8 fields \(conv rows\)"),
    ("conv row 7", c("c, 9, 9, 3, 3, 1, 1,"), r"line 2: expected 8 fields .*got 7"),
    ("conv row 10", c("c, 9, 9, 3, 3, 1, 1, 1, 1:1, 4,"), r"got 10"),
    (
        "unknown header 3",
        "a, b, c\nfc, 1, 2\n",
        r"line 2: expected 4 cells \(Layer, M, N, K\) or 8",
    ),
    ("unknown header 6", "x\nfc, 1, 2, 3, 4, 5,\n", r"line 2: expected 4 cells .* got 6"),
    ("mixed forms", "x\nfc, 1, 2, 3,\nc, 9, 9, 3, 3, 1, 1, 1,\n", r"line 3: expected 4 fields"),
    ("tab separated", "x\nfc\t1\t2\t3\n", r"line 2: expected 4 cells .* got 1"),
    ("semicolons", "x\nfc; 1; 2; 3;\n", r"line 2: expected 4 cells .* got 1"),
    *[
        (
            f"M {v}",
            g(f"fc, {v}, 2, 3,"),
            rf"line 2: M: expected an integer > 0, got {re.escape(repr(v))}",
        )
        for v in ("32.9", "-5", "0", "inf", "nan", "1e3", "3%", "0x10", "x", "9999999999999999")
    ],
    ("N empty", g("fc, 1, , 3,"), r"line 2: N: expected an integer > 0, got ''"),
    ("K negative", g("fc, 1, 2, -3,"), r"line 2: K: expected an integer > 0, got '-3'"),
    (
        "giant cell",
        g(f"fc, {LONG}, 2, 3,"),
        r"line 2: M: expected an integer > 0, got '9{40}\.\.\.'",
    ),
    ("name empty", g(", 1, 2, 3,"), r"line 2: Layer: expected a layer name, got an empty"),
    (
        "IFMAP 32.9",
        c("c, 32.9, 9, 3, 3, 1, 1, 1,"),
        r"line 2: IFMAP Height: expected an integer > 0",
    ),
    ("filter 0", c("c, 9, 9, 0, 3, 1, 1, 1,"), r"line 2: Filter Height: expected an integer > 0"),
    ("channels -1", c("c, 9, 9, 3, 3, -1, 1, 1,"), r"line 2: Channels: expected an integer > 0"),
    ("filters nan", c("c, 9, 9, 3, 3, 1, nan, 1,"), r"line 2: Num Filter: expected an integer"),
    (
        "stride 0",
        c("c, 9, 9, 3, 3, 1, 1, 0,"),
        r"line 2: Strides: expected an integer > 0, got '0'",
    ),
    ("stride 2.5", c("c, 9, 9, 3, 3, 1, 1, 2.5,"), r"line 2: Strides: expected an integer > 0"),
    (
        "filter too big",
        c("c, 2, 2, 3, 3, 1, 1, 1,"),
        r"line 2: Filter Height/Width: expected at most the IFMAP 2x2, got 3x3",
    ),
    ("sparse 2:4", g("fc, 1, 2, 3, 2:4,"), r"line 2: sparsity ratio: expected a dense ratio"),
    ("sparse junk", g("fc, 1, 2, 3, x,"), r"line 2: sparsity ratio: expected N:M with 0 < N <= M"),
    ("sparse 0:4", c("c, 9, 9, 3, 3, 1, 1, 1, 0:4,"), r"sparsity ratio: expected N:M"),
    ("sparse 5:4", g("fc, 1, 2, 3, 5:4,"), r"sparsity ratio: expected N:M"),
    (
        "absurd size",
        g("a, 999999999999999, 999999999999999, 999999999999999,"),
        r"t\.csv: line 2: 1e\+45 MACs \(M\*N\*K\*batch\*repeat\); expected at most 2\*\*53",
    ),
    ("second row bad", g("fc, 1, 2, 3,", "", "fc2, 1, 2, 3.5,"), r"line 4: K: expected"),
]


@pytest.mark.parametrize("name,text,match", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_bad_topology_csv(tmp_path, capsys, name, text, match):
    path = tmp_path / "t.csv"
    path.write_text(text)
    out = tmp_path / "out"
    msg = run_bad(
        [
            "run",
            REPO / "hwsim" / "data" / "arch" / "scalesim.cfg",
            path,
            "--mode",
            "scalesim",
            "-o",
            out,
        ],
        capsys,
    )
    assert re.search(match, msg), msg
    assert re.match(r"hwsim: error: \S*t\.csv: .*expected ", msg), msg
    assert len(msg) < 300, msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_topology_csv(tmp_path, capsys, kind):
    path = tmp_path / "t.csv"
    if kind == "directory":
        path.mkdir()
    msg = run_bad(
        ["run", REPO / "hwsim" / "data" / "arch" / "scalesim.cfg", path, "-o", tmp_path / "out"],
        capsys,
    )
    if kind == "missing":  # a path that does not exist may name a shipped workload
        assert re.search(r"workload: no file or shipped workload named '.*t\.csv'", msg), msg
    else:
        assert re.search(r"t\.csv: topology file: expected a readable file, got ", msg), msg
    assert not (tmp_path / "out").exists()


def load(tmp_path, name: str, text: str):
    import hwsim

    (tmp_path / name).write_text(text)
    loader = hwsim.load_arch if name.endswith(".cfg") else hwsim.load_workload
    return loader(tmp_path / name)


@pytest.mark.parametrize(
    "header",
    ["Layer Name, M, N, K,", "layer,m,n,k", "Layer, M, N, K, Sparsity,", "anything at all", "#"],
)
def test_any_header_is_skipped_as_scalesim_does(tmp_path, header):
    wl = load(tmp_path, "t.csv", f"\ufeff{header}\nfc1, 4, 5, 6\nfc2, 1, 2, 3, 1:1,\n")
    assert [(o.name, o.M, o.N, o.K) for o in wl.ops] == [("fc1", 4, 5, 6), ("fc2", 1, 2, 3)]


def test_conv_rows_under_any_header_and_scalesims_depthwise_convention(tmp_path):
    text = "Layer Name, H, W, R, S, C, M, Stride,\nc, 9, 9, 3, 3, 4, 2, 2, 1:1,\n"
    text += "DP1, 9, 9, 3, 3, 4, 1, 1,\n"
    conv, dw = load(tmp_path, "t.csv", text).ops
    assert (conv.M, conv.N, conv.K, conv.batch) == (16, 2, 36, 1)
    assert (dw.M, dw.N, dw.K, dw.batch) == (49, 1, 9, 4)  # 4 one-channel layers, as SCALE-Sim


def test_long_layer_name_is_accepted(tmp_path):
    (op,) = load(tmp_path, "t.csv", g(f"{'n' * 200_000}, 1, 2, 3,")).ops
    assert len(op.name) == 200_000


def test_unusual_but_valid_cfg_values(tmp_path):
    text = (
        "\ufeff"
        + CFG_TEXT.replace("run_name = scalesim_32x32_os", "run_name = 100%_util")
        .replace("ArrayHeight:    32", "ArrayHeight: +16 ; SCALE-Sim's int() takes a sign")
        .replace("Bandwidth : 10", "Bandwidth : 12, 10, 10")
        .replace("Dataflow : os", "Dataflow : WS")
        + "[layout]\nIfmapCustomLayout: False\n[sparsity]\nSparsitySupport : false\n"
    )
    arch = load(tmp_path, "a.cfg", text)
    assert (arch.name, arch.pe_array.rows, arch.dataflow) == ("100%_util", 16, "ws")
    assert arch.dram.bytes_per_cycle == 12.0


def test_windows_line_ends_and_no_trailing_commas(tmp_path):
    wl = load(tmp_path, "t.csv", "Layer,M,N,K\r\nfc1,4,5,6\r\n\r\nfc2,1,2,3\r\n")
    assert [(o.M, o.N, o.K) for o in wl.ops] == [(4, 5, 6), (1, 2, 3)]
    arch = load(tmp_path, "a.cfg", CFG_TEXT.replace("\n", "\r\n"))
    assert (arch.pe_array.rows, arch.pe_array.cols) == (32, 32)
