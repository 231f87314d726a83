"""Budgets of a search: `METRIC <= VALUE`, VALUE absolute or relative to a uniform candidate.

    latency <= 0.77*int8       77% of the whole model's latency with every layer at int8
    size <= 4.5                bits per weight (stored weights, group scales included)
    energy <= 2.5e9            pJ;  cycles, dram (bytes), weight_bytes, bops likewise
    luts <= device             FPGA: the part's LUTs (dsps alike); `0.8*device` for 80%

Every metric is linear in the one-hot choice of the layers' candidates (hwsim.layersearch.costs):
scale x (constant + sum over layers of the chosen candidate's cost).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hwsim.errors import HwsimError

# metric -> (the CostTable metric it is built on, what it is measured in)
METRICS = {
    "latency": ("cycles", "s"),
    "cycles": ("cycles", "cycles"),
    "energy": ("energy_pj", "pJ"),
    "dram": ("dram_bytes", "bytes"),
    "weight_bytes": ("weight_bits", "bytes"),
    "size": ("weight_bits", "bits/weight"),
    "bops": ("bops", "bit operations"),
    "luts": ("luts", "LUTs"),
    "dsps": ("dsps", "DSPs"),
}
_NUM = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_EXPR = re.compile(
    rf"^\s*([a-z_]+)\s*<=\s*(?:({_NUM})\s*\*\s*([A-Za-z0-9_.+-]+)|([A-Za-z0-9_.+-]+)\s*\*\s*"
    rf"({_NUM})|({_NUM})|([A-Za-z_][A-Za-z0-9_.+-]*))\s*$"
)


@dataclass(frozen=True)
class Budget:
    """`metric <= factor x reference` (reference None: factor is the absolute bound)."""

    text: str
    metric: str
    factor: float
    reference: str | None = None  # a candidate name, or "device"

    @property
    def base(self) -> str:
        return METRICS[self.metric][0]

    @property
    def unit(self) -> str:
        return METRICS[self.metric][1]


def parse_budget(text: str) -> Budget:
    """A Budget from `METRIC <= VALUE`; one-line HwsimError otherwise."""
    m = _EXPR.match(text) if isinstance(text, str) else None
    if m is None or m.group(1) not in METRICS:
        what = f"metric {m.group(1)!r}" if m else repr(text)
        raise HwsimError(
            f"--budget: expected METRIC <= NUMBER, NUMBER*CANDIDATE or NUMBER*device with METRIC "
            f"one of {', '.join(METRICS)}, got {what}"
        )
    metric = m.group(1)
    if m.group(2) is not None:
        factor, ref = float(m.group(2)), m.group(3)
    elif m.group(4) is not None:
        factor, ref = float(m.group(5)), m.group(4)
    elif m.group(6) is not None:
        factor, ref = float(m.group(6)), None
    else:
        factor, ref = 1.0, m.group(7)
    if ref == "device" and metric not in ("luts", "dsps"):
        raise HwsimError(f"--budget {text!r}: `device` bounds luts or dsps only")
    return Budget(text.strip(), metric, factor, ref)


def scale(metric: str, table) -> float:
    """What one unit of the CostTable metric is worth in `metric`'s unit."""
    if metric == "latency":
        return 1.0 / (table.clock_mhz * 1e6)
    if metric == "weight_bytes":
        return 1.0 / 8
    if metric == "size":
        return 1.0 / table.weights if table.weights else 0.0
    return 1.0


def value(metric: str, table, assignment: dict) -> float:
    """The whole model's `metric` (in its unit) under a layer -> candidate assignment."""
    return scale(metric, table) * table.total(assignment, METRICS[metric][0])


def bound(budget: Budget, table) -> float:
    """The budget's absolute bound, in its metric's unit."""
    ref = budget.reference
    if ref is None:
        return budget.factor
    if ref == "device":
        if budget.base not in table.device:
            raise HwsimError(
                f"--budget {budget.text!r}: the arch is not an FPGA target (no device to bound)"
            )
        return budget.factor * table.device[budget.base]
    if ref not in table.candidates:
        raise HwsimError(
            f"--budget {budget.text!r}: {ref!r} is not a candidate; expected one of "
            f"{', '.join(table.candidates)} or a number"
        )
    missing = [layer for layer in table.layers if ref not in table.cost[layer]]
    if missing:
        raise HwsimError(
            f"--budget {budget.text!r}: candidate {ref} cannot run layer "
            f"{missing[0]}, so uniform {ref} is no reference"
        )
    return budget.factor * value(budget.metric, table, dict.fromkeys(table.layers, ref))
