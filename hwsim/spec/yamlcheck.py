"""YAML with line numbers, the one numeric field checker, and a checker that collects every
field error of one file.

`LineLoader` (a SafeLoader) builds mappings and sequences that remember the 1-based line of
themselves and of each key/item; `Checker.get` validates one field and records
`path: expected ..., got ... (line N)`. `number` is the same check for loaders that stop at
the first error (workload files, cards, recipes): every numeric field of every user file is
bounded by `RANGES` below, so no infinity, NaN or int64 overflow gets past a loader.
"""

from __future__ import annotations

import math

import yaml

from hwsim.errors import HwsimError, closest
from hwsim.yamlsafe import UniqueKeyLoader


class Map(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line = 0
    lines: dict


class Seq(list):
    """A YAML sequence that remembers the line of itself and of each item."""

    line = 0
    lines: list


class LineLoader(UniqueKeyLoader):
    def construct_mapping(self, node, deep=False):
        out = Map(super().construct_mapping(node, deep=True))
        out.line = node.start_mark.line + 1
        out.lines = {
            self.construct_object(k, deep=True): v.start_mark.line + 1 for k, v in node.value
        }
        return out

    def construct_sequence(self, node, deep=False):
        out = Seq(super().construct_sequence(node, deep=True))
        out.line = node.start_mark.line + 1
        out.lines = [item.start_mark.line + 1 for item in node.value]
        return out


LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, LineLoader.construct_mapping
)
LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, LineLoader.construct_sequence
)


# Sane ranges by field name, for every file kind (the same name means the same thing in arch,
# workload and recipe files). Every number must also be finite, and every integer at most
# INT_MAX: cycle and byte counts are int64 downstream and stay exact in float64 below 2**53.
# `ge` here replaces a caller's `gt`: a floor above zero keeps cycle counts finite.
INT_MAX = 2**53
RANGES: dict[str, dict] = {
    # arch: pe_array, memory, dram, vector_unit, technology, precision, fpga
    "clock_mhz": {"ge": 1e-3, "le": 1e6},  # 1 kHz .. 1 THz
    "max_clock_mhz": {"le": 1e6},
    "rows": {"le": 2**20},
    "cols": {"le": 2**20},
    "dot_product_width": {"le": 2**16},
    "size_bytes": {"le": 2**48},  # 256 TiB: beyond any on-chip buffer, area stays finite
    "banks": {"le": 2**20},
    "word_bits": {"le": 2**24},
    "read_bytes_per_cycle": {"le": 2**40},
    "write_bytes_per_cycle": {"le": 2**40},
    "bytes_per_cycle": {"ge": 1e-3, "le": 2**40},  # 2**53 bytes at 1e-3 B/cycle fit int64
    "latency_cycles": {"le": 2**32},
    "energy_pj_per_bit": {"le": 1e4},
    "lanes": {"le": 2**20},
    "cycles_per_element": {"le": 2**20},
    "node_nm": {"le": 1000},
    "weight_bits": {"le": 64},
    "activation_bits": {"le": 64},
    "scale_bits": {"le": 64},
    "group_size": {"le": 2**32},
    "bits_per_weight": {"le": 64},  # a menu budget: no format is wider
    "luts": {"le": 2**40},
    "dsps": {"le": 2**32},
    "bram_36k": {"le": 2**32},
    "uram": {"le": 2**32},
    # workload ops, conv shapes and transformer cards (products are bounded per op, 2**53)
    "in_channels": {"le": 2**32},
    "out_channels": {"le": 2**32},
    "groups": {"le": 2**32},
    "kernel": {"le": 2**32},
    "stride": {"le": 2**32},
    "padding": {"le": 2**32},
    "in_hw": {"le": 2**32},
    "out_hw": {"le": 2**32},
    "d_model": {"le": 2**32},
    "ffn": {"le": 2**32},
    "layers": {"le": 2**32},
    "heads": {"le": 2**32},
    "kv_heads": {"le": 2**32},
    "vocab": {"le": 2**32},
    "patch": {"le": 2**32},
    "classes": {"le": 2**32},
    "head_dim": {"le": 2**32},
    "length": {"le": 2**32},
    # recipes (QuantSpec): tensors have at most 3 axes
    "axis": {"ge": -3, "le": 2},
    "percentile": {"le": 100},
}


def limits(key: str, bound: dict) -> dict:
    """The caller's bounds with the field's RANGES entry applied over them."""
    table = RANGES.get(key, {})
    out = {**bound, **table}
    if "ge" in table:
        out.pop("gt", None)
    return out


def problem(v, kind: str, bound: dict) -> str | None:
    """None if v is good, else `expected ..., got ...` naming the bound it breaks."""
    if ok(v, kind, bound):
        return None
    noun = describe(kind, bound)
    if kind in ("int", "num") and isinstance(v, int | float) and not isinstance(v, bool):
        if isinstance(v, float) and not math.isfinite(v):
            noun = noun.replace("a number", "a finite number")
        elif not (kind == "int" and isinstance(v, float)):
            hi = min(bound.get("le", INT_MAX), INT_MAX)
            if v > hi:
                noun = f"{noun.split(' >')[0]} <= {shown(hi)}"
            elif v < -INT_MAX:
                noun = f"{noun.split(' >')[0]} >= -2**53"
    return f"expected {noun}, got {shown(v)}"


def number(prefix: str, key: str, v, kind: str = "int", **bound):
    """v if it is a good `kind` ("int" or "num") for field `key`, else an HwsimError
    `{prefix}{key}: expected ..., got ...` (prefix names the file and the enclosing field)."""
    what = problem(v, kind, limits(key, bound))
    if what:
        raise HwsimError(f"{prefix}{key}: {what}")
    return v


def finite(v) -> bool:
    """True for a finite float or an integer no larger than INT_MAX in magnitude."""
    return math.isfinite(v) if isinstance(v, float) else abs(v) <= INT_MAX


def kind_of(v) -> str:
    """What a YAML value is, in words (for `expected a mapping, got a list`)."""
    if v is None:
        return "nothing"
    for types, noun in (
        (bool, "a boolean"),
        (dict, "a mapping"),
        (list, "a list"),
        (str, f"the string {shown(v)}"),
        (int | float, f"the number {shown(v)}"),
    ):
        if isinstance(v, types):
            return noun
    return f"a {type(v).__name__}"


def shown(v) -> str:
    """A value as a message shows it: short for huge integers, 2**k for big powers of two."""
    if isinstance(v, int) and not isinstance(v, bool):
        if v >= 2**16 and v & (v - 1) == 0:
            return f"2**{v.bit_length() - 1}"
        return f"{v:.3g}" if abs(v) >= 10**15 else str(v)
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class Checker:
    """Collects every validation error of one file."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[str] = []

    def fail(self, path: str, line: int, what: str) -> None:
        self.errors.append(f"{path}: {what} (line {line})")

    def raise_errors(self) -> None:
        """One HwsimError naming the file, the first error and the count of the others."""
        if not self.errors:
            return
        first, rest = self.errors[0], self.errors[1:]
        more = f" (and {len(rest)} more: " + "; ".join(rest) + ")" if rest else ""
        raise HwsimError(f"{self.file}: {first}{more}")

    def section(self, m: Map, key: str, path: str, required=True) -> Map | None:
        if key not in m:
            if required:
                self.fail(f"{path}.{key}", m.line, "missing required section")
            return None
        v = m[key]
        if not isinstance(v, Map):
            self.fail(f"{path}.{key}", m.lines[key], f"expected a mapping, got {v!r}")
            return None
        return v

    def known(self, m: Map, path: str, fields) -> None:
        for key in m:
            if key not in fields:
                hint = closest(str(key), fields)
                self.fail(f"{path}.{key}", m.lines[key], f"unknown field; expected one of {hint}")

    def get(self, m: Map, key: str, path: str, kind: str, default=..., **bound):
        """m[key] checked as kind (int, num, str, bool, strs); default=... means required."""
        p = f"{path}.{key}"
        if key not in m or m[key] is None:
            if default is ...:
                self.fail(p, m.line, f"missing required field ({describe(kind, bound)})")
            return None if default is ... else default
        v, line = m[key], m.lines[key]
        what = problem(v, kind, limits(key, bound))
        if what:
            self.fail(p, line, what)
            return None
        return tuple(v) if kind == "strs" else v

    def line_of(self, m: Map, key: str) -> int:
        return m.lines.get(key, m.line)


def ok(v, kind, bound) -> bool:
    if kind == "int":
        good = isinstance(v, int) and not isinstance(v, bool)
    elif kind == "num":
        good = isinstance(v, int | float) and not isinstance(v, bool)
    elif kind == "str":
        return isinstance(v, str) and bool(v.strip())
    elif kind == "bool":
        return isinstance(v, bool)
    elif kind == "strs":
        return isinstance(v, list) and all(isinstance(s, str) for s in v) and len(v) > 0
    elif kind == "map":
        return isinstance(v, dict)
    else:
        raise ValueError(kind)
    if not good or not finite(v):
        return False
    if "gt" in bound and not v > bound["gt"]:
        return False
    if "le" in bound and not v <= bound["le"]:
        return False
    return not ("ge" in bound and not v >= bound["ge"])


def describe(kind, bound) -> str:
    noun = {
        "int": "an integer",
        "num": "a number",
        "str": "a non-empty string",
        "bool": "true or false",
        "strs": "a non-empty list of strings",
        "map": "a mapping",
    }[kind]
    if "gt" in bound:
        noun += f" > {shown(bound['gt'])}"
    if "ge" in bound:
        noun += f" >= {shown(bound['ge'])}"
    return noun
