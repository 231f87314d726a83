"""YAML with line numbers, and a checker that collects every field error of one file.

`LineLoader` (a SafeLoader) builds mappings and sequences that remember the 1-based line of
themselves and of each key/item; `Checker.get` validates one field and records
`path: expected ..., got ... (file line N)`.
"""

from __future__ import annotations

import yaml

from hwsim.errors import closest
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


class Checker:
    """Collects every validation error of one file."""

    def __init__(self, file: str):
        self.file = file
        self.errors: list[str] = []

    def fail(self, path: str, line: int, what: str) -> None:
        self.errors.append(f"{path}: {what} ({self.file} line {line})")

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
        if not ok(v, kind, bound):
            self.fail(p, line, f"expected {describe(kind, bound)}, got {v!r}")
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
    if not good:
        return False
    if "gt" in bound and not v > bound["gt"]:
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
        noun += f" > {bound['gt']}"
    if "ge" in bound:
        noun += f" >= {bound['ge']}"
    return noun
