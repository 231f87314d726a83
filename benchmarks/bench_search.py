"""Per-layer precision search on SmolLM2-135M: 211 layers (30 blocks of 7 linears, lm_head)
x 4 candidates on BitFusion's bit-serial array, analytic mode.

Times (best of --repeats): the cost table (4 whole-model simulations, one per candidate,
inline), the exact ILP alone (HiGHS, two budgets: latency <= 0.77 x W8A8 and size <= 4.5
bits/weight), and a 16-point frontier. The sensitivity table is a seeded stand-in (its values
change what is chosen, not the problem's size). Before any figure is printed the chosen
recipe is re-simulated: its cycles must equal the prediction and meet the budgets.

    python benchmarks/bench_search.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of  # noqa: E402

ARCH, MODEL = "bitfusion", "smollm2-135m"
BUDGETS = ["latency <= 0.77*w8a8", "size <= 4.5"]


def candidates() -> list[dict]:
    def c(name, w, a):
        return {"name": name, "weights": {"format": w, "granularity": "channel"},
                "activations": {"format": a, "granularity": "channel"}}  # fmt: skip

    return [c("w8a8", "int8", "int8"), c("w4a8", "int4", "int8"), c("w4a4", "int4", "int4"),
            c("w2a8", "int2", "int8")]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from hwsim.layersearch.api import search
    from hwsim.layersearch.budget import parse_budget
    from hwsim.layersearch.layers import select_layers, unfold_layers
    from hwsim.layersearch.solver import frontier, solve
    from hwsim.workload import load_workload

    layers = select_layers(unfold_layers(load_workload(MODEL)))
    rng = np.random.default_rng(20261202)
    sens = {x: {"w8a8": 0.0, "w4a8": float(rng.random()), "w4a4": float(3 * rng.random()),
                "w2a8": float(10 * rng.random())} for x in layers}  # fmt: skip
    cands = candidates()
    result = search(ARCH, MODEL, cands, BUDGETS, sens)  # warm-up: imports, plans, HiGHS
    sol = result.solution
    assert result.measured["cycles"] == result.table.total(sol.assignment, "cycles")
    for b in result.budgets:
        assert result.measured[b.metric] <= sol.bounds[b.text], b.text
    budgets = [parse_budget(b) for b in BUDGETS]
    t_costs = best_of(lambda: search(ARCH, MODEL, cands, BUDGETS, sens), args.repeats)
    t_ilp = best_of(lambda: solve(result.table, sens, budgets), args.repeats)
    t_front = best_of(lambda: frontier(result.table, sens, budgets, 16), 1)

    counts: dict = {}
    for c in sol.assignment.values():
        counts[c] = counts.get(c, 0) + 1
    print(f"# bench_search: {MODEL} on {ARCH}, {len(layers)} layers x {len(cands)} candidates "
          f"({platform.machine()}, {platform.python_version()})")  # fmt: skip
    print(f"chosen: {dict(sorted(counts.items()))}, summed sensitivity {sol.objective:.4g}")
    for b in result.budgets:
        print(f"  {b.text}: bound {sol.bounds[b.text]:.6g}, re-simulated "
              f"{result.measured[b.metric]:.6g} {b.unit}")  # fmt: skip
    print(f"whole search (costs + ILP + re-simulation): {t_costs:.3f} s")
    print(f"ILP alone (HiGHS, {len(layers) * len(cands)} binaries, 2 budgets): {t_ilp:.3f} s")
    print(f"16-point frontier: {t_front:.3f} s")


if __name__ == "__main__":
    main()
