"""What the simulator needs from a PE kind: cycles per array step and counts per MAC.

The PE registry's `expected(a_format, w_format)` gives `cycles_per_mac`, the cycles one PE
spends per multiply-accumulate with all its lanes busy. One array step is one dp-wide dot
product (dp = dot_product_width), so a step takes cycles_per_mac * dp cycles, kept as an exact
fraction: a bit-parallel MAC (1 cycle/MAC, dp 1) -> 1; BitMoD's 4-lane term-serial PE at 2
terms per weight (0.5 cycles/MAC) -> 2, the paper simulator's pe_latency =
ceil(floor(bits) / 2); MixPE at W4A8 (2 MACs per cycle) -> 1/2. A fold streaming T steps
takes ceil(T * step_cycles) cycles.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from hwsim.errors import HwsimError
from hwsim.pe.registry import get_pe
from hwsim.spec.schema import Arch


@dataclass(frozen=True)
class PEModel:
    """Shapes-only timing and counts of the arch's PE at given formats."""

    step_cycles: Fraction  # cycles of one dp-wide step of one PE (exact, may be < 1)
    counts_per_mac: dict  # expected action counts per MAC (floats)


def pe_model(arch: Arch, a_format: str | None, w_format: str | None) -> PEModel:
    """Ask the arch's PE kind for its expected cost at these formats (and, for a PE whose
    expected() takes them, the arch's weight group size and scale bits)."""
    arr = arch.pe_array
    prec = arch.precision
    groups = (prec.group_size, prec.scale_bits) if prec.group_size and prec.scale_bits else None
    key = (
        arr.pe_kind, arr.pe_params, arr.dot_product_width, a_format, w_format, groups, arch.source
    )  # fmt: skip
    try:
        hash(key)
    except TypeError:  # list-valued PE parameters: no caching
        return _pe_model.__wrapped__(*key)
    return _pe_model(*key)


@lru_cache(maxsize=256)
def _pe_model(kind, params, dp, a_format, w_format, groups, source) -> PEModel:
    pe = get_pe(kind, **dict(params))
    check = getattr(pe, "check", None)
    if check is not None:
        try:
            check(a_format, w_format)
        except HwsimError as e:
            raise HwsimError(f"arch.pe_array.pe: {e} ({source})") from None
    kw = {}
    if groups and "group_size" in inspect.signature(pe.expected).parameters:
        kw = {"group_size": groups[0], "scale_bits": groups[1]}
    try:
        est = pe.expected(a_format, w_format, **kw)
    except HwsimError as e:
        raise HwsimError(f"arch.precision: {e} ({source})") from None
    if not est.cycles_per_mac > 0:
        raise HwsimError(f"PE {kind!r}: expected cycles_per_mac > 0, got {est.cycles_per_mac}")
    # expected values are ratios of small integers (terms / lanes); recover them exactly
    step = Fraction(est.cycles_per_mac).limit_denominator(1 << 16) * dp
    return PEModel(step, dict(est.counts_per_mac))
