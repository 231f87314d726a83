"""`hwsim search ARCH MODEL`: per-layer precision search under hardware budgets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hwsim.errors import HwsimError

# the eval model each shipped workload is the trace of (hwsim.eval.tasks)
_TASK_OF = {
    "minilm": "minilm-l6",
    "smollm2-135m": "smollm2-135m",
    "efficientnet-lite0": "efficientnet-lite0",
}


def register(sub) -> None:
    p = sub.add_parser(
        "search",
        help="choose a precision per layer by an exact ILP under hardware budgets (HAWQ-V3)",
        description="Simulate every layer of MODEL on ARCH at every candidate, take each "
        "layer's sensitivity (Hessian-weighted or measured), and solve the one-hot ILP that "
        "minimises summed sensitivity under the budgets; write recipe.yaml (per-layer rules, "
        "for hwsim run/eval/sweep --quant), workload.yaml, assignment.csv, search.json and, "
        "with --sweep, frontier.csv and frontier.png. Cost and sensitivity rows are kept in "
        "search.sqlite: a rerun reuses them.",
        epilog="Example: hwsim search mixpe_w4a8 smollm2-135m --candidates int8,int4 "
        "--budget 'latency <= 0.77*int8' --sensitivity hessian --sweep 8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("arch", metavar="ARCH", help="arch YAML or shipped name")
    p.add_argument("model", metavar="MODEL", help="workload YAML, shipped name or card")
    p.add_argument(
        "--candidates",
        required=True,
        metavar="FILE|NAMES",
        help="candidates YAML or comma-separated names (formats, shipped recipes)",
    )
    p.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="EXPR",
        help="METRIC <= VALUE, e.g. 'latency <= 0.77*int8', 'size <= 4.5' "
        "(repeatable; --sweep sweeps the first)",
    )
    p.add_argument(
        "--sensitivity",
        default="hessian",
        metavar="METHOD|FILE",
        help="hessian (default) | measured | a table: CSV layer,candidate,value "
        "or JSON {layer: {candidate: value}}",
    )
    p.add_argument("--task", help="eval model measured for sensitivity (default: MODEL's)")
    p.add_argument(
        "--samples", type=int, default=16, help="Hutchinson samples of --sensitivity hessian (16)"
    )
    p.add_argument(
        "--max-tokens", type=int, default=256, help="input tokens of a text --task (default 256)"
    )
    p.add_argument(
        "--sensitivity-cache",
        metavar="DIR",
        help="cache of the sensitivity computation (a stopped run resumes from it)",
    )
    p.add_argument(
        "--layers",
        action="append",
        metavar="GLOB",
        help="search only these ops (repeatable; default every gemm and conv)",
    )
    p.add_argument("--base", metavar="RECIPE", help="recipe of everything else (default: arch)")
    p.add_argument("--mode", default="analytic", help="analytic (default) | event | scalesim")
    p.add_argument("--sweep", type=int, default=0, metavar="N", help="frontier points (>= 2)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--backend", default="local", help="local (default) | ray")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("-o", "--output", metavar="DIR", help="default reports/search/ARCH_MODEL")
    p.add_argument(
        "--eval",
        action="store_true",
        help="also run the chosen recipe on --task as the hardware computes it",
    )
    p.add_argument("--no-plots", action="store_true", help="skip frontier.png")
    p.set_defaults(func=_search)


def read_table(path: Path) -> dict:
    """A sensitivity table from CSV (layer,candidate,value) or JSON; one-line errors."""
    import json

    import pandas as pd

    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise HwsimError(
                f"{path}: expected JSON {{layer: {{candidate: value}}}} ({e})"
            ) from None
        if not isinstance(doc, dict):
            raise HwsimError(f"{path}: expected a mapping of layer -> {{candidate: value}}")
        return doc
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise HwsimError(f"{path}: expected CSV with columns layer,candidate,value ({e})") from None
    missing = {"layer", "candidate", "value"} - set(df.columns)
    if missing:
        raise HwsimError(
            f"{path}: columns: expected layer, candidate, value; missing "
            f"{', '.join(sorted(missing))}"
        )
    out: dict = {}
    for layer, cand, v in zip(df["layer"], df["candidate"], df["value"], strict=True):
        out.setdefault(str(layer), {})[str(cand)] = float(v)
    return out


def _search(args) -> int:
    from hwsim.layersearch.api import search
    from hwsim.layersearch.budget import parse_budget
    from hwsim.layersearch.report import SEARCH_FILES, STORE, counts, write_report
    from hwsim.report.outdir import OutputDir

    for b in args.budget:  # a malformed budget is refused before anything runs
        parse_budget(b)
    method, table = args.sensitivity, None
    if method not in ("hessian", "measured"):
        path = Path(method)
        if not path.is_file():
            raise HwsimError(
                f"--sensitivity: expected hessian, measured or a table file, got {method!r}"
            )
        table = read_table(path)
    for flag, value in (("--samples", args.samples), ("--max-tokens", args.max_tokens)):
        if value < 1:
            raise HwsimError(f"{flag}: expected an integer >= 1, got {value}")
    model_name = Path(args.model).stem if Path(args.model).is_file() else args.model.split(":")[0]
    task = args.task or _TASK_OF.get(model_name, model_name)
    arch_name = Path(args.arch).stem
    out = OutputDir(
        args.output
        if args.output is not None
        else Path("reports/search") / f"{arch_name}_{model_name}",
        "search directory",
        SEARCH_FILES,
    )
    store = out.path / STORE
    new = not store.exists()
    out.create()
    try:
        try:
            result = search(
                args.arch,
                args.model,
                args.candidates,
                args.budget,
                table,
                task=task,
                method=method,
                samples=args.samples,
                max_tokens=args.max_tokens,
                layers=args.layers,
                base=args.base,
                mode=args.mode,
                sweep=args.sweep,
                store=store,
                workers=args.workers,
                backend=args.backend,
                address=args.address,
                accuracy=args.eval,
                cache_dir=args.sensitivity_cache,
            )
            write_report(result, out, plots=not args.no_plots)
        except Exception:  # Ctrl-C keeps the store: a rerun resumes from it
            if new:  # a failed command leaves nothing it made
                from hwsim.dse.store import remove_store

                remove_store(store)
            raise
    finally:
        out.discard()
    for c, layers in dropped_by_candidate(result.table.dropped).items():
        layer, why = layers[0]
        print(
            f"candidate {c}: dropped for {len(layers)} layer(s) the arch cannot run it on "
            f"(e.g. {layer}: {why})",
            file=sys.stderr,
        )
    sol = result.solution
    chosen = ", ".join(f"{c} x{n}" for c, n in sorted(counts(sol.assignment).items()))
    print(
        f"{len(sol.assignment)} layers ({result.simulated} candidates simulated now); "
        f"written to {out.path}",
        file=sys.stderr,
    )
    print(f"chosen: {chosen}; summed sensitivity {sol.objective:.6g}")
    for b in result.budgets:
        print(
            f"  {b.text}: bound {sol.bounds[b.text]:.6g}, predicted {sol.values[b.text]:.6g}, "
            f"re-simulated {result.measured[b.metric]:.6g} {b.unit}"
        )
    if result.accuracy is not None:
        hw = result.accuracy["metrics"]["hardware"]
        said = ", ".join(f"{k} {v:.6g}" for k, v in hw.items())
        print(f"  {result.accuracy['model']} as the hardware computes it: {said}")
    return 0


def dropped_by_candidate(dropped: dict) -> dict:
    """candidate -> [(layer, reason)] from a CostTable's layer -> candidate -> reason."""
    out: dict = {}
    for layer, why in dropped.items():
        for c, reason in why.items():
            out.setdefault(c, []).append((layer, reason))
    return out
