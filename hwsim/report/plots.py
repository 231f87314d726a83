"""PNG plots of a run (energy and area breakdown, per-op cycles and utilisation, roofline) and
of a sweep (Pareto front), deterministic files that cost little: matplotlib's object API on
the Agg canvas (no pyplot, no display, imported on first use), fixed margins instead of
tight_layout (which draws each figure twice), 80 dpi.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DPI = 80
TITLE_Y = 1.0  # a fixed title height: placing it automatically costs a layout pass per axes


def new_figure(width: float, height: float, **margins):
    """A Figure on an Agg canvas with the given subplots_adjust margins (figure fractions)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    if margins:
        fig.subplots_adjust(**margins)
    return fig


def save_figure(fig, path) -> None:
    # no timestamps in the PNG, so the same run gives the same bytes
    fig.savefig(path, dpi=DPI, metadata={"Software": None})


def _log_scale(ax, which: str) -> None:
    """Log scale on axis `which` ("x"/"y"), called once the data is drawn: ticks at 10^k (and
    2, 5 x 10^k over at most 2.5 decades) labelled in plain text (2e5, 0.5); the default
    mathtext labels cost a TeX-like parse each."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    getattr(ax, f"set_{which}scale")("log")
    lo, hi = getattr(ax, f"get_{which}lim")()
    subs = (1.0, 2.0, 5.0) if hi / lo <= 10**2.5 else (1.0,)
    axis = getattr(ax, f"{which}axis")
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _: _short_number(v)))


def _short_number(v: float) -> str:
    if 1e-2 <= abs(v) < 1e4:
        return f"{v:g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _label_margin(labels, width: float, fontsize: float = 10.0) -> float:
    """Figure fraction that horizontal tick labels of this many characters need on the left."""
    chars = max((len(str(s)) for s in labels), default=1)
    return min(0.45, (0.3 + chars * fontsize * 0.6 / 72) / width)


def plot_breakdown(summary: dict, path: Path) -> None:
    """Energy by component/memory level and area by component, as horizontal bars."""
    panels = (
        ("Energy by component", summary["energy_breakdown_pj"], "energy (uJ)", 1e-6),
        ("Area by component", summary.get("area_breakdown_mm2", {}), "area (mm^2)", 1.0),
    )
    fig = new_figure(10, 3.6)
    for i, (title, data, unit, factor) in enumerate(panels):
        left = _label_margin(data, 10.0)  # each panel is half the figure wide
        ax = fig.add_axes((0.5 * i + left, 0.15, 0.48 - left, 0.75))
        names = list(data)
        ax.barh(names, [float(data[n]) * factor for n in names], color="#4c72b0")
        ax.set_title(title, y=TITLE_Y)
        ax.set_xlabel(unit)
        ax.invert_yaxis()
    save_figure(fig, path)


def plot_ops(ops: pd.DataFrame, path: Path, top: int = 40) -> None:
    """Cycles (x repeat) and utilisation of the costliest ops, in workload order: PE-cycles
    doing work and, where the table has it, the precision-blind MAC-slot share."""
    keep = ops.nlargest(min(top, len(ops)), "cycles_total", keep="first").sort_index()
    x = np.arange(len(keep))
    fig = new_figure(10, 4, left=0.08, right=0.92, bottom=0.36, top=0.86)
    ax = fig.subplots()
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
        f"Per-op cycles and utilisation ({len(keep)} costliest of {len(ops)} ops)",
        loc="left",
        y=TITLE_Y,
        pad=16,  # above the y axis's "1e8" multiplier
    )
    save_figure(fig, path)


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
    mat = ops[(ops["macs"] > 0) & (ops["cycles"] > 0)]
    fig = new_figure(6, 4.2, left=0.13, right=0.97, bottom=0.12, top=0.92)
    ax = fig.subplots()
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
    _log_scale(ax, "x")
    _log_scale(ax, "y")
    ax.set_xlabel("operational intensity (MACs / DRAM byte)")
    ax.set_ylabel("achieved MACs / cycle")
    title = "per-op compute roofs" if per_op else "precision-aware compute roof"
    ax.set_title(f"Roofline ({title})", y=TITLE_Y)
    ax.legend(loc="lower right", fontsize=7)
    save_figure(fig, path)


def plot_pareto(points: pd.DataFrame, front: pd.DataFrame, x: str, y: str, path: Path) -> None:
    """All valid points and the Pareto front on two objectives."""
    fig = new_figure(6, 4.2, left=0.14, right=0.97, bottom=0.12, top=0.88)
    ax = fig.subplots()
    ax.scatter(points[x], points[y], s=10, alpha=0.4, color="#999999", label="design points")
    f = front.sort_values(x, kind="stable")
    ax.plot(f[x], f[y], "o-", color="#c44e52", label="Pareto front")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if (points[x] > 0).all() and points[x].max() / max(points[x].min(), 1e-300) > 100:
        _log_scale(ax, "x")
    if (points[y] > 0).all() and points[y].max() / max(points[y].min(), 1e-300) > 100:
        _log_scale(ax, "y")
    ax.legend()
    ax.set_title(f"Pareto front: {y} vs {x}", y=TITLE_Y, pad=16)  # room for a "1e8" multiplier
    save_figure(fig, path)
