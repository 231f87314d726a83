"""Lazy package namespaces: a package's public names resolve on first use.

So importing one light submodule (the command line's `commands` modules) does not import the
package's heavy ones (pandas, numba, matplotlib): every `hwsim` call pays only for what it runs.
"""

from __future__ import annotations

import importlib
import sys
import types


def lazy_names(package: str, table: dict[str, str]) -> None:
    """Make the names in `table` (name -> module defining it) attributes of `package`, each
    imported when first read; `__all__` lists them. A name that is also a submodule's
    (`hwsim.dse.explore`) keeps meaning the name, as an eager `from hwsim.dse.explore import
    explore` made it: loading the submodule does not replace it."""

    class LazyPackage(types.ModuleType):
        def __getattr__(self, name: str):
            if name not in table:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(table[name]), name)
            types.ModuleType.__setattr__(self, name, value)
            return value

        def __setattr__(self, name: str, value) -> None:
            if name in table and getattr(value, "__name__", None) == f"{package}.{name}":
                return  # the import system binding the same-named submodule
            types.ModuleType.__setattr__(self, name, value)

        def __dir__(self):
            return sorted(set(table) | set(self.__dict__))

    module = sys.modules[package]
    module.__all__ = sorted({*table, *getattr(module, "__all__", ())})
    module.__class__ = LazyPackage


class LazyModule(types.ModuleType):
    """A module imported when one of its attributes is first read: numba kernel modules, which
    cost a numba import that a shapes-only run never needs."""

    def __init__(self, name: str):
        super().__init__(name)

    def __getattr__(self, attr: str):
        module = importlib.import_module(self.__name__)
        return getattr(module, attr)


def lazy_module(name: str) -> types.ModuleType:
    """`name`, imported on first attribute access (the module itself once it is loaded)."""
    return sys.modules.get(name) or LazyModule(name)
