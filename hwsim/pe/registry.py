"""The PE registry: `@register_pe("name")` on a class, `run(kind, a, w, **params)` to use one.

A PE class is constructed with its parameters (`PEClass(**params)`, unknown parameters are a
one-line error) and offers, checked when it registers:
  run(a, w) -> PEResult            exact out = a @ w.T, counts, data-dependent cycles
  check(a_format, w_format)        raises HwsimError when it cannot take these formats
  expected(a_format, w_format, group_size=None, scale_bits=None) -> PEEstimate
                                   shapes-only cycles and counts per MAC, for workloads
                                   without tensors (the simulator's default path); the weight
                                   group size and scale bits matter to PEs that dequantize
                                   per group (BitMoD) and are ignored by the others
`pe/` never imports `sim/`: the simulator sees only PEResult / PEEstimate.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import HwsimError, closest
from hwsim.pe.counts import ActionCounts

_PES: dict[str, type] = {}
PE_METHODS = ("run", "check", "expected")  # the contract every registered PE kind meets


@dataclass
class PEResult:
    """What one PE kernel call computed and what it cost."""

    out: np.ndarray  # exact output, a @ w.T
    counts: ActionCounts  # actions with widths
    cycles: int  # cycles of one PE lane stream over the whole call (see each PE's doc)
    tile_cycles: np.ndarray | None = None  # per output tile, where data-dependent
    overflows: int = 0  # accumulator overflow events (wrapped or saturated)
    info: dict = field(default_factory=dict)  # PE-specific statistics (term histograms, ...)


@dataclass(frozen=True)
class PEEstimate:
    """Shapes-only cost of `macs` multiply-accumulates on one PE (expected values)."""

    cycles_per_mac: float  # cycles one PE spends per MAC (1 for a bit-parallel MAC)
    counts_per_mac: dict[str, float]  # expected action counts per MAC
    # cycles once per output tile after its last MAC: a later pipeline stage draining
    # (BitMoD's dequantization unit); PEResult.tile_cycles include it
    drain_cycles: float = 0.0

    def tile_cycles(self, macs: int) -> float:
        """Expected latency of one output accumulating `macs` MACs on one PE."""
        return self.cycles_per_mac * macs + self.drain_cycles


def register_pe(name: str):
    """Class decorator: make a PE kind available under `name`."""

    def wrap(cls):
        if name in _PES:
            raise RuntimeError(f"PE kind {name!r} registered twice")
        missing = [m for m in PE_METHODS if not callable(getattr(cls, m, None))]
        if missing:
            raise RuntimeError(f"PE kind {name!r} lacks {', '.join(missing)}")
        cls.kind = name
        _PES[name] = cls
        return cls

    return wrap


def pe_kinds() -> list[str]:
    _load_all()
    return sorted(_PES)


def _pe_class(kind) -> type:
    """The registered class of PE `kind` (a name), or a one-line error."""
    _load_all()
    if not isinstance(kind, str):
        raise HwsimError(
            f"PE kind: expected a name (str), got {type(kind).__name__}; "
            f"one of {', '.join(sorted(_PES))}"
        )
    if kind not in _PES:
        raise HwsimError(f"unknown PE kind {kind!r}; closest: {closest(kind, _PES)}")
    return _PES[kind]


def pe_parameters(kind: str) -> tuple[str, ...]:
    """Names of the constructor parameters of PE `kind`."""
    return tuple(inspect.signature(_pe_class(kind)).parameters)


def get_pe(kind: str, **params):
    """An instance of PE `kind` with `params`, validated."""
    cls = _pe_class(kind)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise HwsimError(
            f"PE {kind!r}: unknown parameter(s) {', '.join(unknown)}; "
            f"expected some of {', '.join(accepted) or '(none)'}"
        )
    return cls(**params)


def check_flag(value, where: str) -> bool:
    """`value` as a bool; a one-line error for anything else ("no" would read as True)."""
    if not isinstance(value, bool | np.bool_):
        raise HwsimError(f"{where}: expected True or False, got {value!r}")
    return bool(value)


# How a PE builds its integer (and significand) multipliers: a choice of hardware, priced by
# hwsim.cost (radix-4 Booth vs array); products, counts and cycles are the same either way
MULTIPLIERS = ("array", "booth")


def check_multiplier(value, where: str) -> str:
    """`value` as a multiplier choice (MULTIPLIERS); a one-line error for anything else."""
    if not isinstance(value, str) or value not in MULTIPLIERS:
        raise HwsimError(f"{where}: expected array or booth, got {value!r}")
    return value


def run(kind: str, a, w, **params) -> PEResult:
    """Compute a @ w.T on PE `kind`: exact outputs, action counts and cycles."""
    return get_pe(kind, **params).run(a, w)


def _load_all() -> None:
    # Importing the package registers every PE module (decorators run at import).
    import hwsim.pe  # noqa: F401
