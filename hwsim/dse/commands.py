"""`hwsim sweep SWEEP.yaml`: run a sweep into its result store, then write and print the
Pareto front of each workload (pareto.csv, pareto.png), every point (points.csv) and the
sweep's numbers (sweep.json: fronts per workload, points left off them and why) next to
the store. The sweep directory is shared like a report directory (hwsim.report.outdir): a
user's folder is refused, hwsim's own files are replaced. A sweep whose every point is invalid
is an error (exit 2, the store it made removed)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.shipped import epilog as shipped_epilog


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="explore a design space (grid, random, NSGA-II) into a resumable result store",
        description="Run every point of SWEEP.yaml that the result store lacks (an interrupted "
        "sweep resumes where it stopped), then write points.csv, pareto.csv, pareto.png (unless "
        "--no-plots) and sweep.json next to the store and print the Pareto front of each "
        "workload. Ctrl-C stops after the points in flight, keeping every finished one.",
        epilog="Example: hwsim sweep bitmod-array --workers 2\n\n" + shipped_epilog(("sweep",)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sweep", metavar="SWEEP.yaml", help="sweep file (see hwsim.dse.spec) or shipped name"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--backend", default="local", help="local (default) | ray")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument(
        "-o", "--output", metavar="DIR", help="sweep directory (default reports/sweeps/NAME)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-plots", action="store_true", help="skip pareto.png")
    p.set_defaults(func=_sweep)


# every file a sweep directory may hold (an older hwsim wrote them without a manifest)
STORE = "results.sqlite"
SWEEP_FILES = frozenset(
    {STORE, f"{STORE}-wal", f"{STORE}-shm", "points.csv", "pareto.csv", "pareto.png"}
    | {"sweep.json"}
)


def _sweep(args) -> int:
    from hwsim.dse.explore import dropped_text, explore
    from hwsim.dse.spec import load_sweep
    from hwsim.report.outdir import OutputDir

    sw = load_sweep(args.sweep)
    out = OutputDir(
        args.output if args.output is not None else Path("reports/sweeps") / sw.name,
        "sweep directory",
        SWEEP_FILES,
    )
    store = out.path / STORE
    new = not store.exists()
    out.create()
    try:
        result = explore(
            sw,
            store=store,
            workers=args.workers,
            backend=args.backend,
            address=args.address,
            show_progress=not args.no_progress and sys.stderr.isatty(),
        )
        try:
            check_some_valid(result)
            write_outputs(result, out, plots=not args.no_plots)
        except Exception:
            if new:  # a failed command leaves nothing it made
                from hwsim.dse.store import remove_store

                remove_store(store)
            raise
    finally:
        out.discard()  # the directories it made, when they stayed empty
    pts = result.points
    n_ok = int((pts["status"] == "ok").sum())
    print(
        f"{len(pts)} points ({result.evaluated} simulated now, {len(pts) - result.evaluated} "
        f"from the store), {n_ok} valid, {len(pts) - n_ok} invalid; store {result.store}",
        file=sys.stderr,
    )
    if result.dropped:
        print(dropped_text(result.dropped), file=sys.stderr)
    print(front_text(result))
    return 0


def check_some_valid(result) -> None:
    """A sweep whose every point is invalid is a mistake in the sweep (a parameter typo, a
    missing workload): one line with the reason they share, or the commonest."""
    pts = result.points
    if (pts["status"] == "ok").any():
        return
    reasons = Counter(_unlabelled(result.sweep, r) for r in pts["reason"]).most_common()
    top, count = reasons[0]
    n = len(pts)
    if n == 1:
        what = "its only point is invalid"
    elif count == n:
        what = f"every one of its {n} points is invalid, all for this reason"
    else:
        what = f"every one of its {n} points is invalid; the commonest reason ({count} of {n})"
    raise HwsimError(f"{result.sweep.source}: {what}: {top}")


def _unlabelled(sweep, reason: str) -> str:
    """A point's reason without the label naming the point ("arch.yaml [rows=8]"), so the
    reasons of points that fail alike compare equal."""
    arch = re.escape(str(sweep.arch))
    return re.sub(arch + r" \[(?:[^\[\]]|\[[^\[\]]*\])*\]", str(sweep.arch), reason)


def front_text(result) -> str:
    """The Pareto fronts, one aligned table per workload."""
    cols = [c for c in (*result.sweep.parameters, *result.sweep.objectives) if c != "workload"]
    front = result.front
    if front.empty:
        return "Pareto front: no valid points"
    parts = []
    for workload, part in front.groupby("workload", sort=False):
        parts.append(
            f"Pareto front ({len(part)} points) for workload {workload}:\n"
            + part[cols].to_string(index=False)
        )
    return "\n\n".join(parts)


def sweep_summary(result) -> dict:
    """The sweep in numbers: points, how many valid, each workload's front size, and what
    the fronts left off and why."""
    pts = result.points
    fronts = result.front["workload"].value_counts(sort=False) if len(result.front) else {}
    return {
        "sweep": result.sweep.name,
        "points": len(pts),
        "valid": int((pts["status"] == "ok").sum()),
        "invalid": int((pts["status"] != "ok").sum()),
        "objectives": list(result.sweep.objectives),
        "front_points_per_workload": {str(w): int(n) for w, n in dict(fronts).items()},
        "left_off_fronts": dict(result.dropped),
    }


def write_outputs(result, out, plots: bool = True) -> None:
    """points.csv, pareto.csv, pareto.png (if `plots`) and sweep.json into the sweep directory (an
    OutputDir), each file replaced only once all are written."""
    from hwsim.report.plots import plot_pareto

    summary = json.dumps(sweep_summary(result), indent=2) + "\n"
    writers = {
        "points.csv": lambda p: result.points.to_csv(p, index=False, lineterminator="\n"),
        "pareto.csv": lambda p: result.front.to_csv(p, index=False, lineterminator="\n"),
        "sweep.json": lambda p: p.write_text(summary),
    }
    objs = result.sweep.objectives
    ok = result.points[result.points["status"] == "ok"]
    if plots and len(objs) >= 2 and not ok.empty:
        writers["pareto.png"] = lambda p: plot_pareto(ok, result.front, objs[0], objs[1], p)
    out.write(writers, keep=(STORE,) if plots else (STORE, "pareto.png"))
