"""The exact per-layer choice: a one-hot integer linear program solved by HiGHS.

HAWQ-V3 (Yao et al., ICML 2021, arXiv 2011.10680) picks each layer's bit-width with an ILP:
minimise the summed sensitivity subject to a budget on model size, BOPs or latency. Here x[l, c]
is 1 when layer l takes candidate c, sum_c x[l, c] = 1 per layer, and each budget is the linear
row scale x (constant + sum x[l, c] cost[l, c]) <= bound (hwsim.layersearch.budget), solved with
scipy.optimize.milp (HiGHS) at a zero MIP gap, so the optimum is exact. Every answer is
checked against its budgets again in exact arithmetic on the cost table; a solver tolerance
that let a row slip re-solves with that row tightened by the slip.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError
from hwsim.layersearch.budget import Budget, bound, scale, value
from hwsim.layersearch.costs import CONSTANT

_TIGHTEN_TRIES = 4


@dataclass(frozen=True)
class Solution:
    assignment: dict  # layer -> candidate name
    objective: float  # summed sensitivity
    values: dict  # budget text -> the whole model's value of its metric
    bounds: dict  # budget text -> its absolute bound


def check_sensitivity(table, sens: dict) -> None:
    """Every layer of the cost table needs a finite value for every candidate it can run."""
    for layer in table.layers:
        row = sens.get(layer)
        if row is None:
            raise HwsimError(
                f"sensitivity: no values for layer {layer} (the table has "
                f"{len(sens)} layers, e.g. {next(iter(sens), '-')!r})"
            )
        for c in table.allowed(layer):
            v = row.get(c)
            if not isinstance(v, int | float) or not math.isfinite(v):
                raise HwsimError(
                    f"sensitivity: layer {layer}, candidate {c}: expected a finite "
                    f"number, got {v!r}"
                )


def smallest(table, metric: str) -> float:
    """The least whole-model `metric` any assignment reaches (each layer at its cheapest)."""
    if metric in ("luts", "dsps"):
        return table.constant[metric]
    base = {
        "latency": "cycles",
        "size": "weight_bits",
        "weight_bytes": "weight_bits",
        "energy": "energy_pj",
        "dram": "dram_bytes",
    }.get(metric, metric)
    cheapest = {
        layer: min(table.allowed(layer), key=lambda c, lay=layer: table.cost[lay][c][base])
        for layer in table.layers
    }
    return value(metric, table, cheapest)


def solve(table, sens: dict, budgets: list[Budget]) -> Solution:
    """The assignment of least summed sensitivity meeting every budget (HwsimError, one line
    with the smallest achievable value, when none does)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_array

    check_sensitivity(table, sens)
    bounds = {b.text: bound(b, table) for b in budgets}
    for b in budgets:
        low = smallest(table, b.metric)
        if low > bounds[b.text]:
            raise HwsimError(
                f"--budget {b.text!r}: infeasible; the smallest achievable {b.metric} is "
                f"{low:.6g} {b.unit} (bound {bounds[b.text]:.6g})"
            )
    index = [(layer, c) for layer in table.layers for c in table.allowed(layer)]
    n, nl = len(index), len(table.layers)
    row_of = {layer: i for i, layer in enumerate(table.layers)}
    c_obj = np.array([float(sens[layer][c]) for layer, c in index])
    one_hot = csr_array(
        (np.ones(n), ([row_of[layer] for layer, _ in index], np.arange(n))), shape=(nl, n)
    )
    linear = [b for b in budgets if b.metric not in CONSTANT]
    tighten = dict.fromkeys((b.text for b in linear), 0.0)
    for _ in range(_TIGHTEN_TRIES):
        cons = [LinearConstraint(one_hot, 1, 1)]
        for b in linear:
            s = scale(b.metric, table)
            coef = np.array([s * table.cost[layer][c][b.base] for layer, c in index])
            rhs = bounds[b.text] - s * table.constant[b.base] - tighten[b.text]
            norm = max(abs(rhs), float(np.abs(coef).max()), 1e-300)  # rows of order 1
            cons.append(LinearConstraint(coef[None, :] / norm, -np.inf, rhs / norm))
        with _quiet_stdout():
            res = milp(
                c_obj,
                constraints=cons,
                integrality=np.ones(n),
                bounds=Bounds(0, 1),
                options={"mip_rel_gap": 0.0, "presolve": True},
            )
        if res.status == 2 or res.x is None:  # each budget alone is feasible: together not
            lows = ", ".join(
                f"{b.metric} >= {smallest(table, b.metric):.6g} {b.unit}" for b in budgets
            )
            raise HwsimError(
                f"--budget: {' and '.join(repr(b.text) for b in budgets)} are "
                f"infeasible together (each alone needs {lows})"
            )
        if res.status != 0:
            raise HwsimError(f"search: the MILP solver stopped: {res.message}")
        picked = {index[i][0]: index[i][1] for i in np.flatnonzero(res.x > 0.5)}
        values = {b.text: value(b.metric, table, picked) for b in budgets}
        slips = {
            b.text: values[b.text] - bounds[b.text]
            for b in linear
            if values[b.text] > bounds[b.text]
        }
        if not slips:
            obj = math.fsum(float(sens[layer][c]) for layer, c in picked.items())
            return Solution(picked, obj, values, bounds)
        for text, slip in slips.items():
            tighten[text] += slip * (1 + 1e-9) + 1e-300
    raise HwsimError("search: the MILP solver's answers keep missing a budget by its tolerance")


@contextlib.contextmanager
def _quiet_stdout():
    """HiGHS 1.12 prints a stray debug line on file descriptor 1 while it repairs a presolved
    incumbent (ERGO-Code/HiGHS issue 2783), whatever its output options: keep it out of
    hwsim's stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def check_sweep(points: int, budgets: list[Budget]) -> None:
    """A sweep needs >= 2 points and a first budget whose metric the choice moves."""
    if not isinstance(points, int) or points < 2:
        raise HwsimError(f"--sweep: expected an integer >= 2, got {points}")
    if not budgets:
        raise HwsimError("--sweep: expected a --budget to sweep (the first one given)")
    if budgets[0].metric in CONSTANT:
        raise HwsimError(f"--sweep: {budgets[0].metric} is a constant of the arch; sweep another "
                         "budget (list it first)")  # fmt: skip


def frontier(table, sens: dict, budgets: list[Budget], points: int) -> list[Solution]:
    """Solutions along the first budget's metric, from its smallest achievable value up to
    the value the unconstrained optimum needs (the other budgets held): `points` of them,
    their summed sensitivity never rising as the bound grows (an exact optimum each)."""
    if points < 2:
        raise HwsimError(f"--sweep: expected an integer >= 2, got {points}")
    if not budgets:
        raise HwsimError("--sweep: expected a --budget to sweep (the first one given)")
    first, rest = budgets[0], budgets[1:]
    if first.metric in CONSTANT:
        raise HwsimError(
            f"--sweep: {first.metric} is a constant of the arch; sweep another "
            "budget (list it first)"
        )
    lo = smallest(table, first.metric)
    free = solve(table, sens, rest) if rest else solve(table, sens, [])
    hi = value(first.metric, table, free.assignment)
    out = []
    for x in np.linspace(lo, max(lo, hi), points):
        b = Budget(f"{first.metric} <= {x:.12g}", first.metric, float(x))
        try:
            out.append(solve(table, sens, [b, *rest]))
        except HwsimError:
            continue  # the other budgets rule this bound out
    return out
