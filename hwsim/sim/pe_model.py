"""What the simulator needs from a PE kind: cycles per array step and counts per MAC.

The PE's `expected(a_format, w_format, group_size, scale_bits)` gives `cycles_per_mac`, the
cycles one PE spends per multiply-accumulate with all its lanes busy. One array step is one
dp-wide dot product (dp = dot_product_width), so a step takes cycles_per_mac * dp cycles, kept
as an exact fraction: a bit-parallel MAC (1 cycle/MAC, dp 1) -> 1; BitMoD's 4-lane term-serial
PE at 2 terms per weight (0.5 cycles/MAC) -> 2, the paper simulator's pe_latency =
ceil(floor(bits) / 2); MixPE at W4A8 (2 MACs per cycle) -> 1/2. A fold streaming T steps
takes ceil(T * step_cycles) cycles.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hwsim.errors import HwsimError
from hwsim.spec.schema import Precision


@dataclass(frozen=True)
class PEModel:
    """Shapes-only timing and counts of a unit's PE at given formats."""

    step_cycles: Fraction  # cycles of one dp-wide step of one PE (exact, may be < 1)
    counts_per_mac: dict  # expected action counts per MAC (floats)


# (PE kind, parameters, dot product width, a_format, w_format, group size, scale bits) ->
# PEModel: what fixes the answer, so sweep points over array shapes share it
_CACHE: dict = {}


def pe_model(unit, prec: Precision, a_format, w_format) -> PEModel:
    """The expected cost of `unit`'s PE (a hwsim.sim.plan.Unit) at these formats, with the
    weight group size and scale bits of `prec` (when both are set).

    Raises HwsimError (worded by the PE) when the PE cannot take the formats."""
    groups = (prec.group_size, prec.scale_bits) if prec.group_size and prec.scale_bits else None
    arr = unit.array
    key = (arr.pe_kind, arr.pe_params, arr.dot_product_width, a_format, w_format, groups)
    try:
        return _CACHE[key]
    except KeyError:
        pass
    except TypeError:  # list-valued PE parameters: no caching
        return _expected(unit, a_format, w_format, groups)
    if len(_CACHE) > 4096:  # a long sweep over array shapes: start afresh
        _CACHE.clear()
    model = _CACHE[key] = _expected(unit, a_format, w_format, groups)
    return model


def _expected(unit, a_format, w_format, groups) -> PEModel:
    pe = unit.pe
    pe.check(a_format, w_format)
    group_size, scale_bits = groups or (None, None)
    est = pe.expected(a_format, w_format, group_size=group_size, scale_bits=scale_bits)
    if not est.cycles_per_mac > 0:
        raise HwsimError(
            f"PE {unit.array.pe_kind!r}: expected cycles_per_mac > 0, got {est.cycles_per_mac}"
        )
    # expected values are ratios of small integers (terms / lanes); recover them exactly
    step = Fraction(est.cycles_per_mac).limit_denominator(1 << 16) * unit.array.dot_product_width
    return PEModel(step, dict(est.counts_per_mac))
