"""Numba kernels are compiled once per machine, not once per process (`cache=True`)."""

from __future__ import annotations

import importlib
import inspect

import pytest
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher


@pytest.mark.parametrize(
    "module",
    [
        "hwsim.dtypes._block_kernels",
        "hwsim.dtypes._quantize_kernels",
        "hwsim.pe._kernels_fixed",
        "hwsim.pe._kernels_mac",
        "hwsim.pe._kernels_serial",
        "hwsim.pe._kernels_bitmod",
    ],
)
def test_kernel_modules_cache_their_compilations(module):
    mod = importlib.import_module(module)
    kernels = [
        obj
        for _, obj in inspect.getmembers(mod, lambda o: isinstance(o, CPUDispatcher))
        if obj.py_func.__module__ == module
    ]
    assert kernels
    for k in kernels:
        assert not isinstance(k._cache, NullCache), k.py_func.__name__
