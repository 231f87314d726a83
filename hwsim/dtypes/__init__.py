"""Number formats as data, their codecs, and quantizers.

Importing this package registers every format module with the registry.
"""

from hwsim.dtypes import block, codebook, fixed, integer, minifloat, pow2  # noqa: F401 (register)
from hwsim.dtypes.base import CODE_CLASSES, Format, Rounding
from hwsim.dtypes.qtensor import QTensor, QuantSpec
from hwsim.dtypes.registry import format, format_names, register_format, register_pattern

__all__ = [
    "CODE_CLASSES",
    "Format",
    "QTensor",
    "QuantSpec",
    "Rounding",
    "format",
    "format_names",
    "register_format",
    "register_pattern",
]
