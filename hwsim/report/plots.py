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
    """Cycles (x repeat) and utilisation of the costliest ops, in workload order: PE-cycles
    doing work and, where the table has it, the precision-blind MAC-slot share."""
    plt = _pyplot()
    keep = ops.nlargest(min(top, len(ops)), "cycles_total", keep="first").sort_index()
    x = np.arange(len(keep))
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(x, keep["cycles_total"], color="#4c72b0", label="cycles x repeat")
    ax.set_ylabel("cycles x repeat")
    ax.set_xticks(x, [str(n)[-28:] for n in keep["op"]], rotation=75, fontsize=6)
    ax2 = ax.twinx()
    shown = keep["utilisation_ratio"] * 100
    ax2.plot(x, shown, "o-", color="#dd8452", label="utilisation (PE-cycles doing work)")
    top_pct = float(shown.max()) if len(shown) else 0.0
    if "mac_slot_utilisation_ratio" in keep:
        slots = keep["mac_slot_utilisation_ratio"] * 100
        ax2.plot(x, slots, "x:", color="#55a868", label="MAC-slot utilisation")
        top_pct = max(top_pct, float(slots.max()) if len(slots) else 0.0)
        ax2.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, ncols=2)
    ax2.set_ylabel("utilisation (%)")
    ax2.set_ylim(0, max(105.0, top_pct * 1.05))  # MAC slots exceed 100% on multi-MAC PEs
    ax.set_title(
        f"Per-op cycles and utilisation ({len(keep)} costliest of {len(ops)} ops)", loc="left"
    )
    fig.tight_layout()
    _save(fig, path)


def has_per_op_roofs(ops: pd.DataFrame) -> bool:
    """True when the GEMM ops' precision-aware peaks differ (ops ran at different cycles per
    MAC, e.g. data-dependent term counts), so one roof line would misstate some of them."""
    if "peak_macs_per_cycle" not in ops:
        return False
    own = ops.loc[ops["macs"] > 0, "peak_macs_per_cycle"].to_numpy(dtype=float)
    return own.size > 0 and not np.allclose(own, own[0], rtol=1e-9, atol=0.0)


def plot_roofline(
    ops: pd.DataFrame,
    peak_macs_per_cycle: float,
    dram_bytes_per_cycle: float,
    path: Path,
    mac_slots_per_cycle: float | None = None,
) -> None:
    """Achieved MACs/cycle against MACs per DRAM byte, under the compute and DRAM roofs.

    The compute roof is precision-aware: `peak_macs_per_cycle` is the workload's MAC-weighted
    PEs / cycles_per_mac. Where ops run at different cycles per MAC (the table's
    peak_macs_per_cycle column differs), each op's own roof is marked above it with a dash
    and the title says so; `mac_slots_per_cycle` (PEs x dot_product_width), when it differs
    from the peak, is drawn dashed for reference.
    """
    plt = _pyplot()
    mat = ops[(ops["macs"] > 0) & (ops["cycles"] > 0)]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    oi = mat["macs_per_dram_byte"].to_numpy(dtype=float)
    finite = oi[oi > 0]
    tallest = max(peak_macs_per_cycle, mac_slots_per_cycle or 0.0)
    lo = max(1e-2, finite.min() / 4) if finite.size else 1e-2
    hi = max(finite.max() * 4 if finite.size else 1.0, 4 * tallest)
    xs = np.geomspace(lo, hi, 200)
    per_op = has_per_op_roofs(mat)
    own = mat["peak_macs_per_cycle"].to_numpy(dtype=float) if per_op else None
    which = "MAC-weighted workload peak" if per_op else "precision-aware peak"
    ax.plot(
        xs,
        np.minimum(peak_macs_per_cycle, xs * dram_bytes_per_cycle),
        "k-",
        label=f"roof ({which} {peak_macs_per_cycle:,.4g} MACs/cycle)",
    )
    if mac_slots_per_cycle and not np.isclose(mac_slots_per_cycle, peak_macs_per_cycle):
        ax.axhline(
            mac_slots_per_cycle,
            color="#999999",
            linestyle="--",
            linewidth=0.8,
            label=f"MAC slots, precision-blind ({mac_slots_per_cycle:,.4g})",
        )
    perf = (mat["macs"] / mat["cycles"]).to_numpy(dtype=float)
    # ops that never touch DRAM sit at the right edge
    x_at = np.where(oi > 0, oi, hi)
    ax.scatter(x_at, perf, s=14, alpha=0.7, label="ops")
    if per_op:
        roof_at = np.where(oi > 0, np.minimum(own, oi * dram_bytes_per_cycle), own)
        ax.scatter(x_at, roof_at, marker="_", s=60, color="#c44e52", label="each op's own roof")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (MACs / DRAM byte)")
    ax.set_ylabel("achieved MACs / cycle")
    title = "per-op compute roofs" if per_op else "precision-aware compute roof"
    ax.set_title(f"Roofline ({title})")
    ax.legend(loc="lower right", fontsize=7)
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
