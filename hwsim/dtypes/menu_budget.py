"""A bit budget for per-group menus: least total squared error at mean element bits <= budget.

Without a budget each group keeps its least-error format, so a menu [int2, int4] gives int4
to every group (the wider format always errs less). With `QuantSpec.bits_per_weight` the
choice is a multiple-choice knapsack: one format per group, minimise the summed squared error
subject to mean element bits (codes only; group scales are counted apart, as Precision's
scale_bits) <= the budget. Every group pays the same bits for a format, so with two formats
the knapsack is a sort: the m groups the wider format helps most take it, m the most the
budget allows (ties to the lower group index). With more formats it is solved as an integer
program by HiGHS through hwsim.layersearch.solver (groups as its layers, menu formats as its
candidates, the budget as its `size` bits-per-weight row), the solver HAWQ-V3-style layer
searches use, at a zero relative MIP gap (HiGHS's absolute gap, 1e-6, is of the objective
scaled to the largest group's error = 1). When the
least-error choice already fits, it is the answer unchanged (ties to the lowest menu index),
so a budget at the widest format's bits reproduces the unbudgeted choice exactly.

Recipe example (BitMoD-style int2/int4 groups of 128 at 3 bits per weight on average):

    version: 1
    default:
      weights: {format: [int2, int4], granularity: group, group_size: 128,
                bits_per_weight: 3.0}
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from hwsim.errors import HwsimError


def menu_bits(menu: tuple) -> np.ndarray:
    """Element bits of each menu format."""
    from hwsim.dtypes.registry import format as get_format

    return np.array([int(get_format(name).bits) for name in menu], dtype=np.int64)


def choose_budgeted(sse: np.ndarray, bits: np.ndarray, budget: float) -> np.ndarray:
    """Per row, the candidate index (uint8) of least total sse with mean bits <= budget.

    sse: (n_candidates, n_rows) squared error of each candidate per row; bits: (n_candidates,).
    An infinite error rules a candidate out for that row."""
    free = np.argmin(sse, axis=0)
    if bits[free].mean() <= budget:
        return free.astype(np.uint8)
    if len(bits) == 2:
        return _two_formats(sse, bits, budget, free)
    return _milp(sse, bits, budget)


def _two_formats(sse, bits, budget: float, free: np.ndarray) -> np.ndarray:
    """Exact for two formats of unequal bits (equal bits always fit): the budget admits m
    wide groups, and the best m are those of largest error drop (a cardinality knapsack)."""
    lo, hi = (0, 1) if bits[0] < bits[1] else (1, 0)
    n = sse.shape[1]
    m = int((Fraction(budget) * n - int(bits[lo]) * n) // int(bits[hi] - bits[lo]))
    with np.errstate(invalid="ignore"):
        gain = sse[lo] - sse[hi]
    gain = np.where(np.isnan(gain), -np.inf, gain)  # both infinite: the narrow one
    order = np.argsort(-gain, kind="stable")[:m]  # ties: the lower group index first
    ids = np.full(n, lo, dtype=np.uint8)
    ids[order[gain[order] > 0]] = hi
    return ids


def _milp(sse, bits, budget: float) -> np.ndarray:
    from hwsim.layersearch.budget import Budget
    from hwsim.layersearch.costs import CostTable
    from hwsim.layersearch.solver import solve

    n_cand, n_rows = sse.shape
    norm = float(np.max(sse[np.isfinite(sse)], initial=0.0)) or 1.0  # objective of order 1
    layers = [str(i) for i in range(n_rows)]
    names = [str(k) for k in range(n_cand)]
    zero = {"cycles": 0, "energy_pj": 0.0, "dram_bytes": 0, "bops": 0}
    cost = {
        layer: {
            names[k]: {**zero, "weight_bits": float(bits[k])}
            for k in range(n_cand)
            if np.isfinite(sse[k, i])
        }
        for i, layer in enumerate(layers)
    }
    sens = {
        layer: {names[k]: float(sse[k, i]) / norm for k in range(n_cand) if np.isfinite(sse[k, i])}
        for i, layer in enumerate(layers)
    }
    # the budget as whole bits over whole groups (`weights` = 1), so every total is exact
    cap = int(Fraction(budget) * n_rows)
    table = CostTable(layers, names, cost, {**zero, "weight_bits": 0.0}, 1, 1.0)
    try:
        sol = solve(table, sens, [Budget(f"size <= {cap}", "size", float(cap))])
    except HwsimError as e:
        raise HwsimError(f"QuantSpec.bits_per_weight: {e}") from None
    ids = np.array([int(sol.assignment[layer]) for layer in layers], dtype=np.uint8)
    if int(bits[ids].sum()) > cap:  # solve re-checks its rows; this is the spec's own
        raise HwsimError("QuantSpec.bits_per_weight: the solver's choice exceeds the budget")
    return ids


__all__ = ["choose_budgeted", "menu_bits"]
