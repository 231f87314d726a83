"""Writing a run's report directory atomically: everything goes to a temporary sibling
directory, which replaces the target by rename only once complete, so a failure (or a kill)
never leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from hwsim.errors import HwsimError, read_text
from hwsim.report import plots
from hwsim.report.tables import ops_table, summary_markdown

FORMATS = ("csv", "parquet")
PLOTS = ("energy_breakdown.png", "op_cycles.png", "roofline.png")


@contextlib.contextmanager
def atomic_dir(target: Path):
    """Yield a fresh temporary directory; on success it becomes `target` (replacing it)."""
    target = Path(target)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HwsimError(
            f"output directory {str(parent)!r}: cannot create ({e.strerror})"
        ) from None
    if target.exists() and not target.is_dir():
        raise HwsimError(f"output directory {str(target)!r}: exists and is not a directory")
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report is for reading
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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


def write_run(
    stats, out_dir, fmt: str = "csv", extra: dict | None = None, files: dict | None = None
) -> dict:
    """Write summary.json, ops.csv|parquet, summary.md, PNG plots and `files` ({name: text},
    e.g. SCALE-Sim's reports) to `out_dir`, atomically. Returns the summary dict."""
    if fmt not in FORMATS:
        raise HwsimError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise HwsimError(
                "--format parquet: needs pyarrow (pip install 'hwsim[parquet]')"
            ) from None
    summary = run_summary(stats, extra)
    ops = ops_table(stats)
    with atomic_dir(Path(out_dir)) as tmp:
        if fmt == "csv":
            ops.to_csv(tmp / "ops.csv", index=False, float_format="%.10g", lineterminator="\n")
        else:
            ops.to_parquet(tmp / "ops.parquet", index=False)
        plots.plot_breakdown(summary, tmp / PLOTS[0])
        plots.plot_ops(ops, tmp / PLOTS[1])
        plots.plot_roofline(
            ops,
            summary["peak_macs_per_cycle"],
            summary["dram_bytes_per_cycle"],
            tmp / PLOTS[2],
            mac_slots_per_cycle=summary["mac_slots_per_cycle"],
        )
        for name, text in (files or {}).items():
            (tmp / name).write_text(text)
        (tmp / "summary.md").write_text(summary_markdown(summary, ops, list(PLOTS)))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def read_run(run_dir) -> tuple[dict, object]:
    """(summary dict, ops DataFrame) of a directory written by write_run."""
    import pandas as pd

    d = Path(run_dir)
    path = d / "summary.json"
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
