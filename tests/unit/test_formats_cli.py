"""`hwsim formats` and `hwsim formats show NAME`."""

from __future__ import annotations

import csv
import io

import pytest

import hwsim
from hwsim.cli import main
from hwsim.dtypes import format_names
from hwsim.dtypes.commands import bit_pattern
from hwsim.dtypes.minifloat import FloatFormat


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_list_has_every_registered_format(capsys):
    rc, out, _ = run(capsys, "formats")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].split() == ["name", "bits", "kind", "max", "min_positive"]
    listed = [line.split()[0] for line in lines[1:]]
    assert listed == format_names()
    row = next(line.split() for line in lines if line.startswith("float8_e4m3fn "))
    assert row == ["float8_e4m3fn", "8", "float:fn", "448.0", "0.001953125"]


def test_list_csv(capsys):
    rc, out, _ = run(capsys, "formats", "--csv")
    rows = rows_of(out)
    assert rc == 0 and rows[0] == ["name", "bits", "kind", "max", "min_positive"]
    by_name = {r[0]: r for r in rows[1:]}
    assert len(by_name) == len(format_names())
    assert by_name["float8_e8m0fnu"][1:] == ["8", "float:fnu", repr(2.0**127), repr(2.0**-127)]
    assert by_name["fp_e2m1"][1:] == ["4", "float:finite", "6.0", "0.5"]


def test_show_fp4_table(capsys):
    rc, out, _ = run(capsys, "formats", "show", "float4_e2m1fn")
    lines = out.splitlines()
    assert rc == 0 and lines[0].startswith("# float4_e2m1fn: 4 bits, float:finite, max 6.0")
    assert lines[1].split() == ["code", "hex", "bits", "value", "class"]
    table = [line.split() for line in lines[2:]]
    assert len(table) == 16
    assert table[0] == ["0", "0x0", "0.00.0", "0.0", "zero"]
    assert table[1] == ["1", "0x1", "0.00.1", "0.5", "subnormal"]
    assert table[7] == ["7", "0x7", "0.11.1", "6.0", "normal"]
    assert table[8] == ["8", "0x8", "1.00.0", "-0.0", "zero"]
    assert [r[3] for r in table[:8]] == ["0.0", "0.5", "1.0", "1.5", "2.0", "3.0", "4.0", "6.0"]


@pytest.mark.parametrize(
    "name, code, row",
    [
        ("float8_e4m3fn", 0x7E, ["126", "0x7e", "0.1111.110", "448.0", "normal"]),
        ("float8_e4m3fn", 0x7F, ["127", "0x7f", "0.1111.111", "nan", "nan"]),
        ("float8_e4m3fn", 0x01, ["1", "0x01", "0.0000.001", "0.001953125", "subnormal"]),
        ("float8_e5m2", 0xFC, ["252", "0xfc", "1.11111.00", "-inf", "inf"]),
        ("float8_e4m3fnuz", 0x80, ["128", "0x80", "1.0000.000", "nan", "nan"]),
        ("float8_e8m0fnu", 127, ["127", "0x7f", "01111111", "1.0", "normal"]),
        ("bfloat16", 0x3F80, ["16256", "0x3f80", "0.01111111.0000000", "1.0", "normal"]),
    ],
)
def test_show_rows_csv(capsys, name, code, row):
    rc, out, _ = run(capsys, "formats", "show", name, "--csv")
    rows = rows_of(out)
    assert rc == 0 and rows[0] == ["code", "hex", "bits", "value", "class"]
    assert len(rows) == 1 + 2 ** hwsim.format(name).bits
    assert rows[1 + code] == row


def test_show_works_for_other_format_kinds(capsys):
    others = [n for n in format_names() if not isinstance(hwsim.format(n), FloatFormat)]
    small = [n for n in others if hwsim.format(n).bits <= 8]
    assert any(n.startswith("mx") for n in small)  # block formats list element codes
    for name in small:
        rc, out, _ = run(capsys, "formats", "show", name, "--csv")
        assert rc == 0 and len(rows_of(out)) == 1 + 2 ** hwsim.format(name).bits


def test_show_refuses_wide_formats(capsys):
    rc, out, err = run(capsys, "formats", "show", "minifloat_e8m23b127_ieee")
    assert rc == 2 and out == ""
    assert err.strip() == (
        "hwsim: error: formats show minifloat_e8m23b127_ieee: 32-bit codes are too many to "
        "list; expected a format of at most 16 bits"
    )


def test_show_unknown_name_is_one_line(capsys):
    rc, _, err = run(capsys, "formats", "show", "float8_e4m3fm")
    assert rc == 2 and err.count("\n") == 1
    assert "unknown format 'float8_e4m3fm'" in err and "float8_e4m3fn" in err


@pytest.mark.parametrize(
    "argv, example",
    [
        (["formats", "--help"], "hwsim formats show float4_e2m1fn"),
        (["formats", "show", "--help"], "hwsim formats show float8_e4m3fn"),
    ],
)
def test_help_has_examples(capsys, argv, example):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert example in capsys.readouterr().out


def test_bit_pattern_grouping():
    assert bit_pattern(0b10110, 5, (1, 2, 2)) == "1.01.10"
    assert bit_pattern(5, 8, None) == "00000101"
    assert bit_pattern(5, 8, (1, 4)) == "00000101"  # widths that do not add up are ignored
