"""Number formats as data, their codecs, and quantizers.

The format modules register themselves with `hwsim.dtypes.registry` when imported; the
registry imports them all before it first resolves a name. Names here resolve on first use
(hwsim.lazy), so the command line loads `commands` without numba.
"""

from hwsim.lazy import lazy_names

lazy_names(
    __name__,
    {
        "CODE_CLASSES": "hwsim.dtypes.base",
        "Format": "hwsim.dtypes.base",
        "GroupLayout": "hwsim.dtypes.qtensor",
        "QTensor": "hwsim.dtypes.qtensor",
        "QuantSpec": "hwsim.dtypes.qtensor",
        "Rounding": "hwsim.dtypes.base",
        "dequantize": "hwsim.dtypes.quantize",
        "dyadic": "hwsim.dtypes.requant",
        "format": "hwsim.dtypes.registry",
        "format_names": "hwsim.dtypes.registry",
        "max_abs_error": "hwsim.dtypes.metrics",
        "mse": "hwsim.dtypes.metrics",
        "olive_quantize": "hwsim.dtypes.olive",
        "quantize": "hwsim.dtypes.quantize",
        "register_format": "hwsim.dtypes.registry",
        "register_pattern": "hwsim.dtypes.registry",
        "requantize": "hwsim.dtypes.requant",
        "same_format": "hwsim.dtypes.registry",
        "sqnr_db": "hwsim.dtypes.metrics",
    },
)
