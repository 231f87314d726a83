"""`hwsim formats`: list the registered number formats, or print one format's value table.

Works for every registered format through the `Format` contract alone (name, bits, encode,
decode, classify, max_value); optional attributes are used when a format has them: `kind`,
`min_positive`, and `field_widths` (sign/exponent/mantissa widths, to group bit patterns).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from typing import TYPE_CHECKING

from hwsim.errors import HwsimError

if TYPE_CHECKING:
    from hwsim.dtypes.base import Format

SHOW_MAX_BITS = 16  # 65536 rows; wider formats are refused by `show`

LIST_EPILOG = """examples:
  hwsim formats                          every registered format, one line each
  hwsim formats --csv > formats.csv      the same as CSV
  hwsim formats show float4_e2m1fn       all 16 codes of OCP FP4 with values and classes
"""
SHOW_EPILOG = """examples:
  hwsim formats show float8_e4m3fn
  hwsim formats show fp_e3m2 --csv > fp6.csv
"""


def register(subparsers) -> None:
    """Add `formats` (and `formats show NAME`) to the hwsim command line."""
    raw = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "formats",
        help="list number formats; 'formats show NAME' prints one format's value table",
        description="List every registered number format: name, bits, kind, largest finite "
        "value and smallest positive value.",
        epilog=LIST_EPILOG,
        formatter_class=raw,
    )
    p.add_argument("--csv", action="store_true", help="write CSV instead of an aligned table")
    p.set_defaults(func=_list)
    sub = p.add_subparsers(dest="formats_action", metavar="ACTION")
    show = sub.add_parser(
        "show",
        help=f"every code of one format (formats of at most {SHOW_MAX_BITS} bits)",
        description="Print every code of a format: code, bit pattern, value, class "
        "(zero, subnormal, normal, inf, nan).",
        epilog=SHOW_EPILOG,
        formatter_class=raw,
    )
    show.add_argument("name", help="a registered format name, e.g. float8_e4m3fn or fp_e2m3")
    show.add_argument("--csv", action="store_true", help="write CSV instead of an aligned table")
    show.set_defaults(func=_show)


# --- facts shown for any Format ------------------------------------------------------------


def kind_of(fmt: Format) -> str:
    kind = getattr(fmt, "kind", None)
    return str(kind) if kind else type(fmt).__module__.rsplit(".", 1)[-1]


def max_of(fmt: Format) -> float | None:
    try:
        return float(fmt.max_value)
    except HwsimError:  # too many codes to enumerate and no closed form
        return None


def min_positive_of(fmt: Format) -> float | None:
    value = getattr(fmt, "min_positive", None)
    if value is not None:
        return float(value)
    if fmt.bits > SHOW_MAX_BITS:
        return None
    import numpy as np

    v = fmt.values()
    positive = v[np.isfinite(v) & (v > 0)]
    return float(positive.min()) if positive.size else None


def bit_pattern(code: int, bits: int, widths: tuple[int, ...] | None) -> str:
    """`code` in binary, fields separated by '.' when `widths` describe them."""
    text = format_bits(code, bits)
    if not widths or sum(widths) != bits:
        return text
    parts, start = [], 0
    for w in widths:
        parts.append(text[start : start + w])
        start += w
    return ".".join(parts)


def format_bits(code: int, bits: int) -> str:
    return bin(int(code))[2:].zfill(bits)


def _number(v: float | None) -> str:
    return "-" if v is None else repr(float(v))


# --- commands ---------------------------------------------------------------------------------


def list_rows() -> list[list[str]]:
    from hwsim.dtypes.registry import format, format_names

    rows = []
    for name in format_names():
        fmt = format(name)
        rows.append(
            [name, str(fmt.bits), kind_of(fmt), _number(max_of(fmt)), _number(min_positive_of(fmt))]
        )
    return rows


def show_rows(fmt: Format) -> list[list[str]]:
    if fmt.bits > SHOW_MAX_BITS:
        raise HwsimError(
            f"formats show {fmt.name}: {fmt.bits}-bit codes are too many to list; "
            f"expected a format of at most {SHOW_MAX_BITS} bits"
        )
    codes = fmt.codes()
    values = fmt.values()  # block formats: element values at scale 1
    classes = fmt.classify(codes)
    widths = getattr(fmt, "field_widths", None)
    hex_digits = (fmt.bits + 3) // 4
    return [
        [
            str(int(c)),
            f"0x{int(c):0{hex_digits}x}",
            bit_pattern(int(c), fmt.bits, widths),
            repr(float(v)),
            str(k),
        ]
        for c, v, k in zip(codes, values, classes)
    ]


def _write(header: list[str], rows: list[list[str]], as_csv: bool, out) -> None:
    if as_csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        out.write(buf.getvalue())
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    out.write("\n".join(lines) + "\n")


def _list(args) -> int:
    _write(["name", "bits", "kind", "max", "min_positive"], list_rows(), args.csv, sys.stdout)
    return 0


def _show(args) -> int:
    from hwsim.dtypes.registry import format

    fmt = format(args.name)
    rows = show_rows(fmt)
    if not args.csv:
        print(
            f"# {fmt.name}: {fmt.bits} bits, {kind_of(fmt)}, max {_number(max_of(fmt))}, "
            f"min positive {_number(min_positive_of(fmt))}"
        )
    _write(["code", "hex", "bits", "value", "class"], rows, args.csv, sys.stdout)
    return 0
