"""`hwsim compare A B`: two run directories side by side, with B/A ratios."""

from __future__ import annotations

import math

import pandas as pd

from hwsim.report.writer import read_run

TOTALS = ("cycles", "latency_s", "energy_pj", "area_mm2", "macs", "utilisation", "dram_bytes")
# figures of newer runs only (None, ratio NaN, where a run directory predates them)
TOTALS += ("mac_slot_utilisation", "peak_macs_per_cycle")


def compare_runs(a_dir, b_dir) -> pd.DataFrame:
    """Rows: metric, a, b, ratio (b / a; NaN where a is 0). Totals, then cycles by cause,
    then energy and area by component (a component missing from one run counts 0 there), then
    FPGA resources when either run targets an FPGA."""
    a, _ = read_run(a_dir)
    b, _ = read_run(b_dir)
    rows = [(m, a.get(m), b.get(m)) for m in TOTALS]
    groups = (
        ("breakdown_cycles", "cycles:"),
        ("energy_breakdown_pj", "energy_pj:"),
        ("area_breakdown_mm2", "area_mm2:"),  # older run directories may lack it
    )
    for group, prefix in groups:
        ga, gb = a.get(group) or {}, b.get(group) or {}
        names = list(dict.fromkeys([*ga, *gb]))
        rows += [(prefix + n, ga.get(n, 0), gb.get(n, 0)) for n in names]
    fa, fb = a.get("fpga") or {}, b.get("fpga") or {}
    if fa or fb:  # FPGA resources (None on the side that is no FPGA run)
        rows += [(f"fpga:{r}", fa.get(r), fb.get(r)) for r in ("luts", "ffs", "dsps", "bram_36k")]
    out = pd.DataFrame(rows, columns=["metric", "a", "b"], dtype=object)  # ints stay ints
    out["ratio"] = [_ratio(x, y) for x, y in zip(out["a"], out["b"])]
    return out


def _ratio(a, b) -> float:
    if a is None or b is None or a == 0:
        return math.nan
    return float(b) / float(a)


def compare_text(table: pd.DataFrame, a_name, b_name) -> str:
    """An aligned table for the terminal, with A and B named on top."""
    lines = [f"A: {a_name}", f"B: {b_name}", ""]
    shown = table.copy()
    shown["a"] = [_fmt(v) for v in shown["a"]]
    shown["b"] = [_fmt(v) for v in shown["b"]]
    shown["ratio"] = ["-" if math.isnan(r) else f"{r:.4f}" for r in shown["ratio"]]
    shown.columns = ["metric", "A", "B", "B/A"]
    return "\n".join(lines) + shown.to_string(index=False)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
