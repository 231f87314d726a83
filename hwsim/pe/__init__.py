"""Bit-accurate processing-element kernels (one module per PE kind)."""

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
from hwsim.pe import (
    fixed_point,  # noqa: E402,F401
    float_mac,  # noqa: E402,F401
    hawq,  # noqa: E402,F401
    int_mac,  # noqa: E402,F401
)
