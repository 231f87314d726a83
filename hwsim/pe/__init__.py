"""Bit-accurate processing-element kernels (one module per PE kind).

Bit-serial / shift-and-add / mixed-datatype PEs (E2) and their action keys:
  bitmod        term, and.L, shift.L, add.B, fadd.22 (group float accumulator), align.L,
                lut.w, dequant.N (bit-serial group-scale unit), fadd.32, fmul.32
                (see hwsim.pe.bitmod for what each counts)
`fadd.{bits}` / `fmul.{bits}` are floating-point adds / multiplies of that total width,
`add` / `mul` integer ones.
"""

from hwsim.pe.counts import ActionCounts, action_key, split_key
from hwsim.pe.registry import PEEstimate, PEResult, get_pe, pe_kinds, register_pe, run

__all__ = [
    "ActionCounts",
    "PEEstimate",
    "PEResult",
    "action_key",
    "get_pe",
    "pe_kinds",
    "register_pe",
    "run",
    "split_key",
]

# PE modules register themselves on import (E1: MAC family)
# E2: bit-serial, shift-and-add, mixed-datatype
from hwsim.pe import (
    bit_serial,  # noqa: E402,F401
    bitmod,  # noqa: E402,F401
    fixed_point,  # noqa: E402,F401
    float_mac,  # noqa: E402,F401
    hawq,  # noqa: E402,F401
    int_mac,  # noqa: E402,F401
    mixed_dtype,  # noqa: E402,F401
    shift_add,  # noqa: E402,F401
)
