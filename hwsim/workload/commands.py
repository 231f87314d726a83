"""CLI: `hwsim trace` (real models and cards to workload files) and `hwsim workload show|export`."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.workload import load_workload
from hwsim.workload.op import Workload


def register(sub) -> None:
    from hwsim.workload.cards import model_names
    from hwsim.workload.models import REAL_MODELS

    t = sub.add_parser(
        "trace",
        help="trace a shipped real model (or expand a card) into a workload YAML",
        description=(
            f"MODEL is a real model shipped offline ({', '.join(REAL_MODELS)}), traced on its "
            "real input with its weights and activations, or a card model:phase:length[:batch] "
            f"(models: {', '.join(model_names())})."
        ),
        epilog="Example: hwsim trace minilm-l6 -o traced/minilm-l6.yaml",
    )
    t.add_argument("model", metavar="MODEL")
    t.add_argument("-o", "--output", required=True, help="workload YAML to write")
    t.add_argument(
        "--tensors",
        choices=("npz", "safetensors", "none"),
        default="npz",
        help="real models: write weights and input activations beside the YAML (default npz)",
    )
    t.add_argument("--fold", action="store_true", help="fold identical layers (drops tensors)")
    t.add_argument("--max-tokens", type=int, default=0, help="smollm2-135m: truncate the text")
    t.set_defaults(func=_trace)

    w = sub.add_parser("workload", help="inspect or convert workloads")
    wsub = w.add_subparsers(dest="workload_command", metavar="ACTION", required=True)
    show = wsub.add_parser(
        "show",
        help="ops, shapes, MACs and bytes of a workload file or card",
        epilog="Example: hwsim workload show llama-2-7b:decode:256",
    )
    show.add_argument("source", metavar="FILE_OR_CARD")
    show.add_argument("--act-bits", type=int, default=16, help="activation bits for bytes")
    show.add_argument("--weight-bits", type=int, default=16, help="weight bits for bytes")
    show.set_defaults(func=_show)
    ex = wsub.add_parser(
        "export",
        help="write a workload as YAML or as a SCALE-Sim topology CSV",
        epilog="Example: hwsim workload export resnet-18:infer:224 -o resnet18.csv --form conv",
    )
    ex.add_argument("source", metavar="FILE_OR_CARD")
    ex.add_argument("-o", "--output", required=True, help=".yaml or .csv (SCALE-Sim topology)")
    ex.add_argument("--form", choices=("gemm", "conv"), default="gemm", help="SCALE-Sim CSV form")
    ex.set_defaults(func=_export)


def _trace(args: argparse.Namespace) -> int:
    from hwsim.workload.io import save_yaml
    from hwsim.workload.models import REAL_MODELS, trace_real
    from hwsim.workload.tracer import fold_layers

    if Path(args.output).suffix not in (".yaml", ".yml"):
        raise HwsimError(f"-o {args.output}: expected a .yaml path for the workload file")
    if args.model in REAL_MODELS:
        keep = args.tensors != "none" and not args.fold
        wl = trace_real(args.model, keep_tensors=keep, max_tokens=args.max_tokens)
    else:
        wl = load_workload(args.model)
    if args.fold:
        wl = fold_layers(wl)
    tensors = None if args.tensors == "none" or args.fold else args.tensors
    path = save_yaml(wl, args.output, tensors=tensors)
    print(f"wrote {path}: {len(wl.ops)} ops, {wl.macs:,} MACs")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(format_table(load_workload(args.source), args.act_bits, args.weight_bits))
    return 0


def format_table(wl: Workload, act_bits: int = 16, weight_bits: int = 16) -> str:
    """A plain-text table of the ops (per-instance shape, totals with repeats)."""
    if act_bits <= 0 or weight_bits <= 0:
        raise HwsimError("--act-bits/--weight-bits: expected integers > 0")
    head = ("op", "kind", "M", "N", "K", "batch", "repeat", "MACs", "bytes")
    rows = []
    for op in wl.ops:
        shape = ("", "", "") if op.kind == "vector" else (op.M, op.N, op.K)
        kind = f"{op.kind}:{op.vector_kind}" if op.kind == "vector" else op.kind
        total_bytes = op.bytes(act_bits, weight_bits) * op.repeat
        rows.append((op.name, kind, *shape, op.batch, op.repeat, op.total_macs, total_bytes))
    cells = [[str(c) if not isinstance(c, int) or c < 10000 else f"{c:,}" for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(head)]
    title = (
        f"{wl.name}  phase={wl.phase or '-'}  ops={len(wl.ops)}  MACs={wl.macs:,}  "
        f"bytes={wl.bytes(act_bits, weight_bits):,} (A{act_bits}/W{weight_bits})"
    )
    lines = [title, _line(head, widths), *(_line(r, widths) for r in cells)]
    return "\n".join(lines)


def _line(cells, widths) -> str:
    """Name and kind left-aligned, numbers right-aligned."""
    return "  ".join(
        c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
    )


def _export(args: argparse.Namespace) -> int:
    from hwsim.workload.io import save_yaml
    from hwsim.workload.scalesim_topology import save_scalesim_csv

    wl = load_workload(args.source)
    out = Path(args.output)
    if out.suffix == ".csv":
        save_scalesim_csv(wl, out, form=args.form)
    elif out.suffix in (".yaml", ".yml"):
        save_yaml(wl, out, tensors="npz" if any(op.weights is not None for op in wl.ops) else None)
    else:
        raise HwsimError(f"-o {out}: expected a .yaml or .csv path")
    print(f"wrote {out}")
    return 0
