"""Cost of the format-aware cost model: what it adds to an analytic LLaMA-2-7B prefill run.

    python benchmarks/bench_cost.py

For `hwsim run bitmod llama-2-7b:prefill:256 --mode analytic` (per-cycle PE figures) and the
same workload on tpu_int8 (per-action profile: the PE priced from its datapath), times in the
same process: the whole simulate() call (which prices with the new model), the new recost
(datapath, per-category PE lines, leakage, FPGA when present), and the old pricing (action
counts x table per op, no datapath, no leakage) on the same Stats. Prints the share the new
pricing adds over the old, relative to the whole run (median of 7 rounds). Target: < 5%.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of  # noqa: E402

import hwsim  # noqa: E402
from hwsim.cost import load_profile, recost  # noqa: E402
from hwsim.cost.area import area_breakdown_mm2  # noqa: E402
from hwsim.cost.energy import price_counts  # noqa: E402

WORKLOAD = "llama-2-7b:prefill:256"
ARCHS = ("bitmod", "tpu_int8")


def old_recost(stats):
    """recost as it was before the datapath model (main at 32cc8f4, after the bind stage):
    action counts x table per op and unit, the same rows, breakdown and area, no datapath
    lines, no leakage."""
    prof = load_profile(stats.arch.technology.profile)
    arch = stats.arch
    if arch.compute_units:
        views = {u.name: arch.unit_view(u) for u in arch.compute_units}
    else:
        views = {"pe_array": arch}
    vector_view = next(iter(views.values()))
    breakdown: dict[str, float] = {}
    per_op, priced = [], {}
    for row, counts in zip(stats.op_rows, stats.op_counts, strict=True):
        key = (id(counts), row.unit)
        if key not in priced:
            priced[key] = price_counts(counts, views.get(row.unit, vector_view), prof)
        parts, _ = priced[key]
        per_op.append(sum(parts.values()))
        for k, v in parts.items():
            breakdown[k] = breakdown.get(k, 0.0) + v * row.repeat
    rows = [row.but(energy_pj=e) for row, e in zip(stats.op_rows, per_op, strict=True)]
    area = area_breakdown_mm2(arch, prof, stats.unit_counts_per_mac)
    return replace(
        stats,
        op_rows=rows,
        energy_pj=float(sum(breakdown.values())),
        energy_breakdown_pj=dict(sorted(breakdown.items())),
        area_mm2=float(sum(area.values())),
        area_breakdown_mm2=area,
    )


def main() -> None:
    wl = hwsim.load_workload(WORKLOAD)
    print("| arch | simulate ms | new recost ms | old recost ms | added share of run |")
    print("|---|---|---|---|---|")
    for name in ARCHS:
        print(row(name, hwsim.load_arch(name), wl))


def row(name, arch, wl, rounds: int = 7) -> str:
    """Median over `rounds` of best-of timings (the machine is shared: one round is noisy)."""
    stats = hwsim.simulate(arch, wl, mode="analytic")  # warm caches
    runs, news, olds, added = [], [], [], []
    for _ in range(rounds):
        run_s = best_of(lambda: hwsim.simulate(arch, wl, mode="analytic"), 20)
        new_s = best_of(lambda: recost(stats), 200)
        old_s = best_of(lambda: old_recost(stats), 200)
        runs.append(run_s), news.append(new_s), olds.append(old_s)
        added.append((new_s - old_s) / (run_s - new_s + old_s))
    med = statistics.median
    return (
        f"| {name} | {med(runs) * 1e3:.2f} | {med(news) * 1e3:.3f} | {med(olds) * 1e3:.3f} "
        f"| {med(added):+.2%} |"
    )


if __name__ == "__main__":
    main()
