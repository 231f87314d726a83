"""hwsim: a hardware co-design simulator for quantized accelerators.

Public API (a contract: these names and signatures stay stable):
    hwsim.format(name) / hwsim.formats()           number formats
    hwsim.QuantSpec, hwsim.quantize, hwsim.dequantize, hwsim.QTensor
    hwsim.pe.run(kind, a, w, **params)              bit-accurate PE kernels
    hwsim.load_arch(path_or_name), hwsim.load_workload(path_name_or_card)
                                                    shipped names: hwsim.shipped
    hwsim.simulate(arch, workload, quant=None, mode="event") -> Stats
    hwsim.explore(sweep) -> results
    hwsim.evaluate(arch, model, quant=None) -> summary   a real model on the simulated PEs
    hwsim.search(arch, workload, candidates, budgets, sensitivity) -> SearchResult
                                                    per-layer precision under budgets (ILP)
Names resolve lazily so `import hwsim` stays fast (numba kernels compile on first use).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "format": ("hwsim.dtypes", "format"),
    "formats": ("hwsim.dtypes", "format_names"),
    "Format": ("hwsim.dtypes", "Format"),
    "Rounding": ("hwsim.dtypes", "Rounding"),
    "QuantSpec": ("hwsim.dtypes", "QuantSpec"),
    "QTensor": ("hwsim.dtypes", "QTensor"),
    "quantize": ("hwsim.dtypes", "quantize"),
    "dequantize": ("hwsim.dtypes", "dequantize"),
    "HwsimError": ("hwsim.errors", "HwsimError"),
    "Op": ("hwsim.workload", "Op"),
    "Workload": ("hwsim.workload", "Workload"),
    "load_workload": ("hwsim.workload", "load_workload"),
    "load_arch": ("hwsim.spec", "load_arch"),
    "simulate": ("hwsim.sim", "simulate"),
    "explore": ("hwsim.dse", "explore"),
    "evaluate": ("hwsim.eval", "evaluate"),
    "search": ("hwsim.layersearch", "search"),
}

__all__ = sorted([*_LAZY, "pe", "__version__"])


def __getattr__(name: str):
    if name == "pe":
        return importlib.import_module("hwsim.pe")
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hwsim' has no attribute {name!r}")


def __dir__():
    return __all__
