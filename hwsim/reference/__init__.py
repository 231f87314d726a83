"""hwsim.reference: hwsim's numerics checked against torch (CPU / CUDA) and Triton kernels.

    compare(observed, expected, dtype) -> Comparison     bit-exact, max ULP, max rel. error
    environment() / banner(env)                          GPU, driver, CUDA, torch, triton
    fit_trunc_align(a, w, observed) -> FitResult         GPU accumulator model fit
    torch_ops: cast_fp8, int_mm, scaled_mm, gemm16       (torch imported on first use)
    triton_kernels: group_gemm, bitplane_gemm            (Triton on CUDA, CPU fallbacks)
    run_battery(device, seed, size, only) -> BatteryResult   what `hwsim verify` runs
Names resolve lazily: importing this package imports neither torch nor triton.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Comparison": "hwsim.reference.compare",
    "compare": "hwsim.reference.compare",
    "ulp_distance": "hwsim.reference.compare",
    "environment": "hwsim.reference.compare",
    "banner": "hwsim.reference.compare",
    "FitResult": "hwsim.reference.fit",
    "fit_trunc_align": "hwsim.reference.fit",
    "trunc_align_model": "hwsim.reference.fit",
    "cast_fp8": "hwsim.reference.torch_ops",
    "int_mm": "hwsim.reference.torch_ops",
    "scaled_mm": "hwsim.reference.torch_ops",
    "gemm16": "hwsim.reference.torch_ops",
    "GroupWeights": "hwsim.reference.triton_kernels",
    "group_gemm": "hwsim.reference.triton_kernels",
    "bitplane_gemm": "hwsim.reference.triton_kernels",
    "weights_from_qtensor": "hwsim.reference.triton_kernels",
    "BatteryResult": "hwsim.reference.battery",
    "run_battery": "hwsim.reference.battery",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hwsim.reference' has no attribute {name!r}")


def __dir__():
    return __all__
