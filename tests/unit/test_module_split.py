"""Modules split by responsibility keep every public name where it was, as the same object."""

from __future__ import annotations

import importlib
import inspect

import pytest
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher

# old home -> (new home, names that moved there)
MOVED = {
    "hwsim.dtypes.minifloat": ("hwsim.dtypes.minifloat_scalar", ["FloatScalarReference"]),
    "hwsim.dtypes.codebook": ("hwsim.dtypes.codebook_tables", ["SHIPPED"]),
    "hwsim.dtypes.block": ("hwsim.dtypes._block_kernels", ["SCALE_NAN"]),
    "hwsim.dtypes.quantize": (
        "hwsim.dtypes.scales",
        [
            "e8m0_exponent",
            "format_facts",
            "round_scales",
            "round_to_float",
            "significand_bits",
            "symmetric_qmax",
        ],
    ),
    "hwsim.pe._kernels_mac": (
        "hwsim.pe._kernels_fixed",
        ["O_SAT", "O_WRAP", "Q_RND_CONV", "Q_TRN", "dsp_packed_gemm", "fixed_gemm"],
    ),
    "hwsim.pe.accumulators": (
        "hwsim.pe.accumulator_spec",
        ["KINDS", "ORDERS", "Accumulator", "FloatSpec", "float_spec"],
    ),
}
MOVED_REFERENCE = ["accumulate_gemm_reference", "accumulate_reference", "round_fraction"]


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_are_reexported_from_their_old_module(old):
    new, names = MOVED[old]
    old_mod, new_mod = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(old_mod, name) is getattr(new_mod, name), name


def test_accumulator_reference_reexported():
    from hwsim.pe import accumulator_reference, accumulators

    for name in MOVED_REFERENCE:
        assert getattr(accumulators, name) is getattr(accumulator_reference, name), name


def test_float_format_scalar_codec_comes_from_the_mixin():
    from hwsim.dtypes.minifloat import FloatFormat
    from hwsim.dtypes.minifloat_scalar import FloatScalarReference

    for name in ("encode_scalar", "decode_scalar", "classify_scalar"):
        assert getattr(FloatFormat, name) is getattr(FloatScalarReference, name)
    f = FloatFormat(4, 3, 7, "fn")
    assert f.decode_scalar(f.encode_scalar(448.0)) == 448.0


@pytest.mark.parametrize(
    "module",
    [
        "hwsim.dtypes._block_kernels",
        "hwsim.dtypes._quantize_kernels",
        "hwsim.pe._kernels_fixed",
        "hwsim.pe._kernels_mac",
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
