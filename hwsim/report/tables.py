"""Tables of a finished run: the ops table with units, the summary, Markdown and text renderings.

Column names are a contract (ops.csv is read by scripts): units are in the names, figures per
op are for one instance and the `*_total` columns multiply by `repeat`. New columns are
appended at the end.

utilisation_ratio is the fraction of PE-cycles doing work (MACs x cycles_per_mac / (PEs x
cycles)); mac_slot_utilisation_ratio the precision-blind MACs / (PEs x dot_product_width x
cycles); peak_macs_per_cycle the op's precision-aware compute roof, PEs / cycles_per_mac
(0 for vector ops), on the PEs of the op's unit. The last columns state the configuration
each op ran with (hwsim.sim.rows: unit, its rows x cols and dataflow, the weight and activation
formats, group size and scale format). See hwsim.sim.stats.
"""

from __future__ import annotations

import pandas as pd

from hwsim.sim.rows import CONFIG_COLUMNS

# (ops.csv column, source column in Stats.ops or a derived name); order is stable
OPS_COLUMNS = (
    "op",
    "kind",
    "M",
    "N",
    "K",
    "batch",
    "repeat",
    "macs",
    "cycles",
    "cycles_total",
    "compute_cycles",
    "fill_drain_cycles",
    "stall_cycles",
    "vector_cycles",
    "dram_cycles",
    "dram_bytes",
    "dram_read_weights_bytes",
    "dram_read_inputs_bytes",
    "dram_write_outputs_bytes",
    "energy_pj",
    "energy_pj_total",
    "utilisation_ratio",
    "macs_per_dram_byte",
    "loop_order",
    "tiles",
    "weight_fetches",
    "input_fetches",
    "mac_slot_utilisation_ratio",
    "cycles_per_mac",
    "peak_macs_per_cycle",
    *CONFIG_COLUMNS,  # unit, rows, cols, dataflow, formats, group size, scale format
)

UTILISATION_NOTE = (
    "Utilisation is the fraction of PE-cycles doing work: MACs x cycles_per_mac / "
    "(PEs x cycles), with each op's cycles per MAC the one its timing used (data-dependent "
    "ones included), so a bit-serial PE busy every cycle reads 100%. MAC-slot utilisation "
    "is MACs / (PEs x dot_product_width x cycles), the share of one-MAC-per-lane-per-cycle "
    "slots, which a PE needing several cycles per MAC can never fill. The compute roof is the "
    "precision-aware peak, PEs / cycles_per_mac: per op, and MAC-weighted for the workload."
)


SCHEDULE_NOTE = (
    "Units run ops one after another in program order (a layer-sequential schedule); "
    "concurrency between units is not modelled."
)


def ops_table(stats) -> pd.DataFrame:
    """One row per op with OPS_COLUMNS (per instance, plus repeat-multiplied totals)."""
    src = stats.ops
    df = pd.DataFrame({c: src[c] for c in src.columns if c in OPS_COLUMNS})
    macs = src["M"] * src["N"] * src["K"] * src["batch"]
    df["macs"] = macs.where(src["kind"] != "vector", 0).astype("int64")
    df["cycles_total"] = (src["cycles"] * src["repeat"]).astype("int64")
    df["energy_pj_total"] = src["energy_pj"] * src["repeat"]
    df["utilisation_ratio"] = src["utilisation"]
    df["mac_slot_utilisation_ratio"] = src["mac_slot_utilisation"]
    df["cycles_per_mac"] = src["cycles_per_mac"]
    cpm = src["cycles_per_mac"].where(src["cycles_per_mac"] > 0)
    df["peak_macs_per_cycle"] = (src["rows"] * src["cols"] / cpm).fillna(0.0)  # the op's unit
    dram = src["dram_bytes"].where(src["dram_bytes"] > 0)
    df["macs_per_dram_byte"] = (df["macs"] / dram).fillna(0.0)
    return df[list(OPS_COLUMNS)].reset_index(drop=True)


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """(label with unit, formatted value) pairs a person reads first."""
    rows = [
        ("arch", summary["arch"]),
        ("workload", summary["workload"]),
        ("mode", summary["mode"]),
    ]
    if summary.get("quant"):
        rows.append(("quant recipe", summary["quant"]))
    rows += [
        ("cycles", f"{summary['cycles']:,}"),
        ("latency (ms)", f"{summary['latency_s'] * 1e3:,.3f}"),
        ("energy (mJ)", f"{summary['energy_pj'] * 1e-9:,.4f}"),
        ("area (mm^2)", f"{summary['area_mm2']:,.4f}"),
        ("MACs", f"{summary['macs']:,}"),
        ("utilisation (%)", f"{summary['utilisation'] * 100:.2f}"),
    ]
    if summary.get("mac_slot_utilisation") is not None:
        rows.append(("MAC-slot utilisation (%)", f"{summary['mac_slot_utilisation'] * 100:.2f}"))
    if summary.get("peak_macs_per_cycle") is not None:
        rows.append(("compute roof (MACs/cycle)", f"{summary['peak_macs_per_cycle']:,.6g}"))
    rows += [
        ("DRAM traffic (MiB)", f"{summary['dram_bytes'] / 2**20:,.2f}"),
    ]
    if summary.get("profile"):
        rows.append(("cost profile", summary["profile"]))
    if summary.get("node_nm") is not None:
        rows.append(("node (nm)", str(summary["node_nm"])))
    if summary.get("overrides_applied"):
        rows.append(("overrides applied", ", ".join(summary["overrides_applied"])))
    if summary.get("output_sqnr_db") is not None:
        source = summary.get("sqnr_source")
        label = f" ({source})" if source else ""
        rows.append(("output SQNR (dB)", f"{summary['output_sqnr_db']:.2f}{label}"))
    for name in summary.get("metrics", {}).get("fp32", {}):  # hwsim eval's three columns
        cells = " / ".join(
            f"{summary['metrics'][c][name]:.6g}" for c in ("fp32", "fake", "hardware")
        )
        rows.append((f"{name} (fp32 / fake-quant / hardware)", cells))
    if summary.get("leakage_pj") is not None:
        rows.append(("leakage energy (mJ)", f"{summary['leakage_pj'] * 1e-9:,.4f}"))
    fpga = summary.get("fpga")
    if fpga:
        for r, label in (
            ("luts", "LUTs"),
            ("ffs", "FFs"),
            ("dsps", "DSPs"),
            ("bram_36k", "BRAM36"),
        ):
            share = 100.0 * fpga["share"][r]
            rows.append((f"FPGA {label} (% of device)", f"{fpga[r]:,} ({share:.1f})"))
        over = ", ".join(fpga["over"])
        rows.append((f"fits {fpga['part']}", "yes" if fpga["fits"] else f"no: {over} over"))
    return rows


def text_table(rows: list[tuple[str, str]]) -> str:
    """Two aligned columns for the terminal."""
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table."""

    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:,.4g}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(summary: dict, ops: pd.DataFrame, plots: list[str]) -> str:
    """summary.md: totals, cycle and energy breakdowns, the ten costliest ops, plots."""
    parts = [f"# {summary['arch']} on {summary['workload']} ({summary['mode']})", ""]
    parts += [markdown_table(["quantity", "value"], [list(r) for r in summary_rows(summary)])]
    parts += ["", UTILISATION_NOTE]
    if summary.get("units"):
        parts += ["", "## Compute units", ""]
        parts += [
            markdown_table(
                ["unit", "PE kind", "PE params", "rows x cols", "dot product", "dataflow", "ops"],
                [
                    [
                        u["name"],
                        u["pe_kind"],
                        ", ".join(f"{k}={v}" for k, v in u["pe_params"].items()) or "-",
                        f"{u['rows']} x {u['cols']}" + (" systolic" if u["systolic"] else ""),
                        u["dot_product_width"],
                        u["dataflow"],
                        u["ops"],
                    ]
                    for u in summary["units"]
                ],
            )
        ]
        idle = [u["name"] for u in summary["units"] if not u["ops"]]
        if idle:
            parts += ["", f"Units that ran no op of this workload: {', '.join(idle)}"]
        parts += ["", SCHEDULE_NOTE]
    cyc = summary["breakdown_cycles"]
    total = sum(cyc.values()) or 1
    parts += ["", "## Cycles by cause", ""]
    parts += [
        markdown_table(
            ["cause", "cycles", "share (%)"],
            [[k, int(v), 100.0 * v / total] for k, v in cyc.items()],
        )
    ]
    energy = summary["energy_breakdown_pj"]
    etotal = sum(energy.values()) or 1.0
    parts += ["", "## Energy by component", ""]
    parts += [
        markdown_table(
            ["component", "energy (pJ)", "share (%)"],
            [[k, float(v), 100.0 * v / etotal] for k, v in energy.items()],
        )
    ]
    if summary.get("unpriced_actions"):
        parts += ["", f"Unpriced actions (no energy entry): {summary['unpriced_actions']}"]
    parts += area_and_fpga_sections(summary)
    top = ops.sort_values("cycles_total", ascending=False, kind="stable").head(10)
    parts += ["", "## Ten costliest ops (cycles x repeat)", ""]
    cols = ["op", "kind", "M", "N", "K", "repeat", "cycles_total", "utilisation_ratio"]
    cols += ["mac_slot_utilisation_ratio", "unit", "weight_format", "activation_format"]
    parts += [markdown_table(cols, top[cols].values.tolist())]
    if "mapping" in top.columns:
        parts += ["", "## Their bounds and loop nests", ""]
        parts += [
            markdown_table(
                ["op", "bound", "mapping"], top[["op", "bound", "mapping"]].values.tolist()
            )
        ]
    if plots:
        parts += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(parts) + "\n"


def area_and_fpga_sections(summary: dict) -> list[str]:
    """summary.md's area by component (the PE split by datapath category) and, for FPGA
    targets, resources against the device with whether the design fits."""
    parts: list[str] = []
    area = summary.get("area_breakdown_mm2") or {}
    if area:
        atotal = sum(area.values()) or 1.0
        rows = [[k, float(v), 100.0 * v / atotal] for k, v in area.items()]
        parts += ["", "## Area by component", ""]
        parts += [markdown_table(["component", "area (mm^2)", "share (%)"], rows)]
    fpga = summary.get("fpga")
    if fpga:
        verdict = "fits" if fpga["fits"] else "does not fit: " + ", ".join(fpga["over"]) + " over"
        parts += ["", f"## FPGA resources ({fpga['part']}: {verdict})", ""]
        rows = [
            [r, int(fpga[r]), int(fpga["device"][r]), 100.0 * fpga["share"][r]]
            for r in ("luts", "ffs", "dsps", "bram_36k")
        ]
        parts += [markdown_table(["resource", "design", "device", "share (%)"], rows)]
    return parts
