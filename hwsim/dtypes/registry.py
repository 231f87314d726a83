"""Name -> format resolution: fixed names plus parametric spellings (`fp_e3m2`, `int4`, ...).

Formats register themselves here when their module is imported; `format` and `format_names`
import every built-in format module first (BUILTIN_MODULES). `format(name)` is the only way
user input becomes a format.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import cache

from hwsim.dtypes.base import Format
from hwsim.errors import HwsimError, closest

BUILTIN_MODULES = ("block", "codebook", "codebook_tables", "fixed", "integer", "minifloat", "pow2")
_NAMED: dict[str, Callable[[], Format]] = {}
# short spellings that name a registered format (the scale-format vocabulary's fp16 / bf16)
ALIASES = {"fp16": "float16", "bf16": "bfloat16"}
_PATTERNS: list[tuple[re.Pattern, Callable[[re.Match], Format], tuple[str, ...]]] = []


def register_format(name: str, factory: Callable[[], Format]) -> None:
    """Register a fixed name (e.g. 'float8_e4m3fn') built by `factory()`."""
    if name in _NAMED:
        raise RuntimeError(f"format {name!r} registered twice")
    _NAMED[name] = factory


def register_pattern(
    pattern: str, build: Callable[[re.Match], Format], listed: tuple[str, ...] = ()
) -> None:
    """Register a parametric spelling; `listed` are the instances `format_names()` shows."""
    _PATTERNS.append((re.compile(pattern), build, tuple(listed)))


def format(name: str) -> Format:  # noqa: A001 - the public API's name (hwsim.format)
    """The format called `name` (any registered, aliased or parametric spelling)."""
    if isinstance(name, Format):
        return name
    if not isinstance(name, str):
        raise HwsimError(f"format: expected a format name (str), got {type(name).__name__}")
    _import_builtins()
    return _lookup(name)


def same_format(a, b) -> bool:
    """Whether two names (or Formats) are the same format: `fp16` is `float16`."""
    return format(a) == format(b)


@cache
def _lookup(name: str) -> Format:
    key = name.strip()
    key = ALIASES.get(key, key)
    if key in _NAMED:
        return _NAMED[key]()
    for pattern, build, _ in _PATTERNS:
        m = pattern.fullmatch(key)
        if m:
            return build(m)
    raise HwsimError(
        f"unknown format {name!r}; closest registered names: {closest(key, format_names())}"
    )


def format_names() -> list[str]:
    """Every listable format name: fixed names and the listed parametric instances."""
    _import_builtins()
    names = list(_NAMED)
    for _, _, listed in _PATTERNS:
        names.extend(listed)
    return sorted(dict.fromkeys(names))


@cache
def _import_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(f"hwsim.dtypes.{module}")
