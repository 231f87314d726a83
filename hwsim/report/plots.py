"""PNG plots of a run (energy and area breakdown, per-op cycles and utilisation, roofline) and
of a sweep (Pareto front). matplotlib's Agg backend: no display needed, deterministic files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    # no timestamps in the PNG, so the same run gives the same bytes
    fig.savefig(path, dpi=100, metadata={"Software": None})
    _pyplot().close(fig)


def plot_breakdown(summary: dict, path: Path) -> None:
    """Energy by component/memory level and area by component, as horizontal bars."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (title, data, unit) in zip(
        axes,
        (
            ("Energy by component", summary["energy_breakdown_pj"], "energy (uJ)"),
            ("Area by component", summary.get("area_breakdown_mm2", {}), "area (mm^2)"),
        ),
    ):
        names = list(data)
        values = np.array([float(data[n]) for n in names])
        if unit.startswith("energy"):
            values = values * 1e-6
        ax.barh(names, values, color="#4c72b0")
        ax.set_title(title)
        ax.set_xlabel(unit)
        ax.invert_yaxis()
    fig.tight_layout()
    _save(fig, path)


def plot_ops(ops: pd.DataFrame, path: Path, top: int = 40) -> None:
    """Cycles (x repeat) and utilisation of the costliest ops, in workload order."""
    plt = _pyplot()
    keep = ops.nlargest(min(top, len(ops)), "cycles_total", keep="first").sort_index()
    x = np.arange(len(keep))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(x, keep["cycles_total"], color="#4c72b0", label="cycles x repeat")
    ax.set_ylabel("cycles x repeat")
    ax.set_xticks(x, [str(n)[-28:] for n in keep["op"]], rotation=75, fontsize=6)
    ax2 = ax.twinx()
    ax2.plot(x, keep["utilisation_ratio"] * 100, "o-", color="#dd8452", label="utilisation")
    ax2.set_ylabel("utilisation (%)")
    ax2.set_ylim(0, 105)
    ax.set_title(f"Per-op cycles and utilisation ({len(keep)} costliest of {len(ops)} ops)")
    fig.tight_layout()
    _save(fig, path)


def plot_roofline(
    ops: pd.DataFrame, peak_macs_per_cycle: float, dram_bytes_per_cycle: float, path: Path
) -> None:
    """Achieved MACs/cycle against MACs per DRAM byte, under the array and DRAM roofs."""
    plt = _pyplot()
    mat = ops[(ops["macs"] > 0) & (ops["cycles"] > 0)]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    oi = mat["macs_per_dram_byte"].to_numpy(dtype=float)
    finite = oi[oi > 0]
    lo = max(1e-2, finite.min() / 4) if finite.size else 1e-2
    hi = max(finite.max() * 4 if finite.size else 1.0, 4 * peak_macs_per_cycle)
    xs = np.geomspace(lo, hi, 200)
    ax.plot(xs, np.minimum(peak_macs_per_cycle, xs * dram_bytes_per_cycle), "k-", label="roof")
    perf = (mat["macs"] / mat["cycles"]).to_numpy(dtype=float)
    # ops that never touch DRAM sit at the right edge
    ax.scatter(np.where(oi > 0, oi, hi), perf, s=14, alpha=0.7, label="ops")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (MACs / DRAM byte)")
    ax.set_ylabel("achieved MACs / cycle")
    ax.set_title("Roofline")
    ax.legend(loc="lower right")
    fig.tight_layout()
    _save(fig, path)


def plot_pareto(points: pd.DataFrame, front: pd.DataFrame, x: str, y: str, path: Path) -> None:
    """All valid points and the Pareto front on two objectives."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.scatter(points[x], points[y], s=10, alpha=0.4, color="#999999", label="design points")
    f = front.sort_values(x, kind="stable")
    ax.plot(f[x], f[y], "o-", color="#c44e52", label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if (points[x] > 0).all() and points[x].max() / max(points[x].min(), 1e-300) > 100:
        ax.set_xscale("log")
    if (points[y] > 0).all() and points[y].max() / max(points[y].min(), 1e-300) > 100:
        ax.set_yscale("log")
    ax.legend()
    ax.set_title(f"Pareto front: {y} vs {x}")
    fig.tight_layout()
    _save(fig, path)
