"""`hwsim sweep SWEEP.yaml`: run a sweep into its result store, then write and print the
Pareto front (pareto.csv, pareto.png) and every point (points.csv) next to the store."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="explore a design space (grid, random, NSGA-II) into a resumable result store",
        description="Run every point of SWEEP.yaml that the result store lacks (an interrupted "
        "sweep resumes where it stopped), then write points.csv, pareto.csv and pareto.png "
        "(unless --no-plots) next to the store and print the Pareto front.",
        epilog="Example: hwsim sweep workloads/sweeps/bitmod-array.yaml --workers 2",
    )
    p.add_argument("sweep", metavar="SWEEP.yaml", help="sweep file (see hwsim.dse.spec)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--backend", default="local", help="local (default) | ray")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument(
        "-o", "--output", metavar="DIR", help="sweep directory (default reports/sweeps/NAME)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-plots", action="store_true", help="skip pareto.png")
    p.set_defaults(func=_sweep)


def _sweep(args) -> int:
    from hwsim.dse.explore import explore
    from hwsim.dse.spec import load_sweep

    sw = load_sweep(args.sweep)
    out = Path(args.output) if args.output else Path("reports/sweeps") / sw.name
    result = explore(
        sw,
        store=out / "results.sqlite",
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        show_progress=not args.no_progress and sys.stderr.isatty(),
    )
    write_outputs(result, out, plots=not args.no_plots)
    pts = result.points
    n_ok = int((pts["status"] == "ok").sum())
    print(
        f"{len(pts)} points ({result.evaluated} simulated now, {len(pts) - result.evaluated} "
        f"from the store), {n_ok} valid, {len(pts) - n_ok} invalid; store {result.store}",
        file=sys.stderr,
    )
    print(front_text(result))
    return 0


def front_text(result) -> str:
    """The Pareto front as an aligned text table."""
    cols = [*result.sweep.parameters, *result.sweep.objectives]
    if result.front.empty:
        return "Pareto front: no valid points"
    return f"Pareto front ({len(result.front)} points):\n" + result.front[cols].to_string(
        index=False
    )


def write_outputs(result, out: Path, plots: bool = True) -> None:
    """points.csv, pareto.csv and (if `plots`) pareto.png, each replaced atomically."""
    from hwsim.report.plots import plot_pareto

    out.mkdir(parents=True, exist_ok=True)
    _atomic(out / "points.csv", lambda p: result.points.to_csv(p, index=False, lineterminator="\n"))
    _atomic(out / "pareto.csv", lambda p: result.front.to_csv(p, index=False, lineterminator="\n"))
    objs = result.sweep.objectives
    ok = result.points[result.points["status"] == "ok"]
    if plots and len(objs) >= 2 and not ok.empty:
        _atomic(out / "pareto.png", lambda p: plot_pareto(ok, result.front, objs[0], objs[1], p))


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
