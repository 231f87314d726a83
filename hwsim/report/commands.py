"""`hwsim run`, `hwsim report` and `hwsim compare`."""

from __future__ import annotations

import argparse
import json
import sys

from hwsim.errors import HwsimError
from hwsim.shipped import epilog as shipped_epilog


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="simulate one design point and write its report directory",
        description="Simulate WORKLOAD on ARCH and write summary.json, ops.csv, summary.md and "
        "PNG plots (unless --no-plots) to reports/<name>/ (or -o DIR: new, empty or hwsim's "
        "own; only hwsim's files are replaced). ARCH may be a SCALE-Sim .cfg and WORKLOAD a "
        "SCALE-Sim topology .csv; --mode scalesim then also writes "
        "COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv in the columns "
        "of SCALE-Sim --scalesim-version.",
        epilog="Example: hwsim run bitmod llama-2-7b:prefill:256 --mode analytic\n\n"
        + shipped_epilog(("arch", "workload", "recipe")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("arch", metavar="ARCH", help="arch YAML, SCALE-Sim .cfg or shipped name")
    p.add_argument(
        "workload",
        metavar="WORKLOAD",
        help="workload YAML, SCALE-Sim .csv, shipped name or card model:phase:len",
    )
    p.add_argument("--quant", metavar="RECIPE", help="quant recipe YAML or shipped recipe name")
    p.add_argument("--mode", default="event", help="event (default) | analytic | scalesim")
    p.add_argument("-o", "--output", metavar="DIR", help="report directory (default reports/NAME)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--format", default="csv", help="per-op table format: csv (default) | parquet")
    p.add_argument(
        "--objective",
        metavar="OBJ",
        help="map each op with the mapper for latency | energy | edp, or fixed (default: the "
        "arch's `mapping:`, fixed unless it says)",
    )
    p.add_argument(
        "--explain", metavar="OP", help="print OP's loop nest and its traffic per memory level"
    )
    p.add_argument(
        "--scalesim-version",
        metavar="V",
        help="SCALE-Sim whose report layout --mode scalesim writes: 3.0.0 (default, the "
        "newest) | 2.0.2",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots (faster)")
    p.add_argument(
        "--require-fit",
        action="store_true",
        help="FPGA targets: fail (writing nothing) when the design does not fit its device",
    )
    p.set_defaults(func=_run)

    p = sub.add_parser(
        "report",
        help="one self-contained HTML page for a run directory or a sweep store",
        description="Render a `hwsim run` directory or a `hwsim sweep` SQLite store as one "
        "HTML file with its tables and embedded PNG plots.",
        epilog="Example: hwsim report reports/bitmod_llama-2-7b-prefill-256-1_analytic "
        "-o report.html",
    )
    p.add_argument("source", metavar="STORE_OR_DIR", help="run directory or sweep .sqlite store")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="HTML file to write")
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "compare",
        help="two run directories side by side with ratios",
        description="Compare two `hwsim run` directories: totals side by side with B/A ratios.",
        epilog="Example: hwsim compare reports/run_a reports/run_b",
    )
    p.add_argument("a", metavar="A", help="run directory (the baseline)")
    p.add_argument("b", metavar="B", help="run directory")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.set_defaults(func=_compare)


def _run(args) -> int:
    from hwsim.report.run import check_mode, run_point
    from hwsim.report.tables import summary_rows, text_table
    from hwsim.sim.mapper import MAPPINGS
    from hwsim.sim.nest import explain

    if args.objective is not None and args.objective not in MAPPINGS:
        raise HwsimError(
            f"--objective: expected one of {', '.join(MAPPINGS)}, got {args.objective!r}"
        )
    text = []
    summary, out = run_point(
        args.arch,
        args.workload,
        quant=args.quant,
        mode=check_mode(args.mode),
        out_dir=args.output,
        fmt=args.format,
        objective=args.objective,
        on_stats=(lambda st: text.append(explain(st, args.explain))) if args.explain else None,
        scalesim_version=args.scalesim_version,
        plots=not args.no_plots,
        require_fit=args.require_fit,
    )
    if text:
        print(text[0])
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(text_table(summary_rows(summary)))
        print(f"report: {out}", file=sys.stderr)
    return 0


def _report(args) -> int:
    from hwsim.report.html import write_report

    path = write_report(args.source, args.output)
    print(f"report: {path}", file=sys.stderr)
    return 0


def _compare(args) -> int:
    from hwsim.report.compare import compare_runs, compare_text

    table = compare_runs(args.a, args.b)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=2))
    else:
        print(compare_text(table, args.a, args.b))
    return 0
