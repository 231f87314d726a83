"""Number formats as data, their codecs, and quantizers.

Importing this package registers every format module with the registry.
"""

from hwsim.dtypes import (  # noqa: F401 (register)
    block,
    codebook,
    codebook_tables,
    fixed,
    integer,
    minifloat,
    pow2,
)
from hwsim.dtypes.base import CODE_CLASSES, Format, Rounding
from hwsim.dtypes.metrics import max_abs_error, mse, sqnr_db
from hwsim.dtypes.olive import olive_quantize
from hwsim.dtypes.qtensor import GroupLayout, QTensor, QuantSpec
from hwsim.dtypes.quantize import dequantize, quantize
from hwsim.dtypes.registry import (
    format,
    format_names,
    register_format,
    register_pattern,
    same_format,
)
from hwsim.dtypes.requant import dyadic, requantize

__all__ = [
    "CODE_CLASSES",
    "Format",
    "GroupLayout",
    "QTensor",
    "QuantSpec",
    "Rounding",
    "dequantize",
    "dyadic",
    "format",
    "format_names",
    "max_abs_error",
    "mse",
    "olive_quantize",
    "quantize",
    "register_format",
    "register_pattern",
    "requantize",
    "same_format",
    "sqnr_db",
]
