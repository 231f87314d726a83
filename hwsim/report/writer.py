"""A run's report directory: written into hwsim's own files only (hwsim.report.outdir), so
a failure or a kill never leaves a half-written file, and nothing hwsim did not write is
ever deleted or overwritten.
"""

from __future__ import annotations

import json
from pathlib import Path

from hwsim.errors import HwsimError, read_text, shown
from hwsim.report.outdir import OutputDir, read_manifest
from hwsim.report.scalesim import REPORTS as SCALESIM_REPORTS
from hwsim.report.tables import ops_table, summary_markdown

FORMATS = ("csv", "parquet")
PLOTS = ("energy_breakdown.png", "op_cycles.png", "roofline.png")
# every file a report directory may hold (an older hwsim wrote them without a manifest)
REPORT_FILES = frozenset(
    {"summary.json", "summary.md", "ops.csv", "ops.parquet", *SCALESIM_REPORTS, *PLOTS}
)


def run_summary(stats, extra: dict | None = None) -> dict:
    """Stats.summary() (with the precision-aware peak_macs_per_cycle and the precision-blind
    mac_slots_per_cycle) plus the area breakdown (PE split by datapath category where it is
    modelled), leakage energy, FPGA resources (None for ASICs), array figures and `extra`."""
    s = stats.summary()
    s["area_breakdown_mm2"] = dict(stats.area_breakdown_mm2)
    s["leakage_pj"] = float(stats.energy_breakdown_pj.get("leakage", 0.0))
    s["fpga"] = stats.fpga.as_dict() if stats.fpga is not None else None
    s["dram_bytes_per_cycle"] = float(stats.arch.dram.bytes_per_cycle)
    s["clock_mhz"] = float(stats.arch.clock_mhz)
    s.update(extra or {})
    return s


def report_dir(out_dir) -> OutputDir:
    """`out_dir` claimed for a report: HwsimError if it holds files hwsim did not write."""
    return OutputDir(out_dir, "report directory", REPORT_FILES)


def write_run(
    stats,
    out_dir,
    fmt: str = "csv",
    extra: dict | None = None,
    plots: bool = True,
    files: dict | None = None,
    preface: str = "",
) -> dict:
    """Write summary.json, ops.csv|parquet, summary.md, PNG plots (`plots=False`: none) and
    `files` ({name: text}, e.g. SCALE-Sim's reports) to `out_dir`: a new directory, an empty
    one or one hwsim wrote (its own files are replaced, anything else there is left alone).
    `preface`: markdown put before summary.md's own (hwsim eval's tables). Returns the
    summary dict."""
    if fmt not in FORMATS:
        raise HwsimError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise HwsimError(
                "--format parquet: needs pyarrow (pip install 'hwsim[parquet]')"
            ) from None
    out = report_dir(out_dir)
    summary = run_summary(stats, extra)
    ops = ops_table(stats)
    writers: dict = {}
    if fmt == "csv":
        writers["ops.csv"] = lambda p: ops.to_csv(
            p, index=False, float_format="%.10g", lineterminator="\n"
        )
    else:
        writers["ops.parquet"] = lambda p: ops.to_parquet(p, index=False)
    if plots:  # a previous run's plots, hwsim's, are removed when these are not written
        from hwsim.report import plots as plot_mod  # matplotlib: only when plotting

        writers[PLOTS[0]] = lambda p: plot_mod.plot_breakdown(summary, p)
        writers[PLOTS[1]] = lambda p: plot_mod.plot_ops(ops, p)
        writers[PLOTS[2]] = lambda p: plot_mod.plot_roofline(
            ops,
            summary["peak_macs_per_cycle"],
            summary["dram_bytes_per_cycle"],
            p,
            mac_slots_per_cycle=summary["mac_slots_per_cycle"],
        )
    for name, text in (files or {}).items():
        writers[name] = lambda p, text=text: p.write_text(text)
    shown_plots = list(PLOTS) if plots else []
    md = preface + summary_markdown(summary, ops, shown_plots)
    writers["summary.md"] = lambda p: p.write_text(md)
    text = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    writers["summary.json"] = lambda p: p.write_text(text)
    out.create()
    try:
        out.write(writers)
    finally:
        out.discard()  # the directories it made, when nothing could be written there
    return summary


def read_run(run_dir) -> tuple[dict, object]:
    """(summary dict, ops DataFrame) of a directory written by write_run."""
    import pandas as pd

    d = Path(run_dir)
    path = d / "summary.json"
    manifest = read_manifest(d)
    if manifest is not None and not manifest.get("complete"):
        raise HwsimError(
            f"{shown(d)}: a report interrupted while being written; run `hwsim run` again"
        )
    if not path.is_file():
        raise HwsimError(f"{d}: not a run directory (no summary.json); expected `hwsim run` output")
    try:
        summary = json.loads(read_text(path, "run summary"))
    except json.JSONDecodeError as e:
        raise HwsimError(f"{path}: not valid JSON (line {e.lineno})") from None
    _check_summary(path, summary)
    try:
        if (d / "ops.csv").is_file():
            ops = pd.read_csv(d / "ops.csv", keep_default_na=False, na_values=[""])
        elif (d / "ops.parquet").is_file():
            ops = pd.read_parquet(d / "ops.parquet")
        else:
            raise HwsimError(f"{d}: no ops.csv or ops.parquet")
    except (ValueError, OSError, pd.errors.ParserError) as e:  # EmptyDataError is a ValueError
        if isinstance(e, HwsimError):
            raise
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise HwsimError(
            f"{d}: ops table unreadable ({reason}); expected `hwsim run` output"
        ) from None
    return summary, ops


# the summary.json keys every reader of a run directory relies on, with their JSON types
_SUMMARY_KEYS = {
    **dict.fromkeys(("arch", "workload", "mode"), (str,)),
    **dict.fromkeys(
        ("cycles", "latency_s", "energy_pj", "area_mm2", "macs", "utilisation", "dram_bytes"),
        (int, float),
    ),
    **dict.fromkeys(("breakdown_cycles", "energy_breakdown_pj"), (dict,)),
}


def _check_summary(path: Path, summary) -> None:
    if not isinstance(summary, dict):
        raise HwsimError(f"{path}: expected a JSON object written by `hwsim run`")
    for key, types in _SUMMARY_KEYS.items():
        if key not in summary:
            raise HwsimError(f"{path}: {key}: missing; expected `hwsim run` output")
        value = summary[key]
        if not isinstance(value, types) or isinstance(value, bool):
            kind = {str: "a string", dict: "a mapping"}.get(types[0], "a number")
            raise HwsimError(f"{path}: {key}: expected {kind}, got {value!r}")
