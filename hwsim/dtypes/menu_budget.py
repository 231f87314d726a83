"""A bit budget for per-group menus: least total squared error at mean element bits <= budget.

Without a budget each group keeps its least-error format, so a menu [int2, int4] gives int4
to every group (the wider format always errs less). With `QuantSpec.bits_per_weight` the
choice is a multiple-choice knapsack: one format per group, minimise the summed squared error
subject to mean element bits (codes only; group scales are counted apart, as Precision's
scale_bits) <= the budget. It is solved exactly as an integer program by HiGHS through
hwsim.search.solver (groups as its layers, menu formats as its candidates, the budget as its
`size` bits-per-weight row), the same solver HAWQ-V3-style layer searches use. When the
least-error choice already fits, it is the answer unchanged (ties to the lowest menu index),
so a budget at the widest format's bits reproduces the unbudgeted choice exactly.

Recipe example (BitMoD-style int2/int4 groups of 128 at 3 bits per weight on average):

    version: 1
    default:
      weights: {format: [int2, int4], granularity: group, group_size: 128,
                bits_per_weight: 3.0}
"""

from __future__ import annotations

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
    from hwsim.search.budget import Budget
    from hwsim.search.costs import CostTable
    from hwsim.search.solver import solve

    free = np.argmin(sse, axis=0)
    if bits[free].mean() <= budget:
        return free.astype(np.uint8)
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
    table = CostTable(layers, names, cost, {**zero, "weight_bits": 0.0}, n_rows, 1.0)
    try:
        sol = solve(table, sens, [Budget(f"size <= {budget:.12g}", "size", float(budget))])
    except HwsimError as e:
        raise HwsimError(f"QuantSpec.bits_per_weight: {e}") from None
    ids = np.array([int(sol.assignment[layer]) for layer in layers], dtype=np.uint8)
    if bits[ids].sum() > budget * n_rows:  # solve re-checks its rows; this is the spec's own
        raise HwsimError("QuantSpec.bits_per_weight: the solver's choice exceeds the budget")
    return ids


__all__ = ["choose_budgeted", "menu_bits"]
