"""CLI: `hwsim trace` (real models and cards to workload files) and `hwsim workload show|export`."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from hwsim.errors import HwsimError
from hwsim.workload import load_workload

if TYPE_CHECKING:
    from hwsim.workload.op import Workload

CARD_FORM = "a card model:phase:length[:batch]"


def register(sub) -> None:
    t = sub.add_parser(
        "trace",
        help="trace a shipped real model (or expand a card) into a workload YAML",
        description="MODEL is a real model shipped offline by the models extra, traced on its\n"
        f"real input with its weights and activations, or {CARD_FORM}.",
        epilog="Example: hwsim trace minilm-l6 -o traced/minilm-l6.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    t.add_argument("-h", "--help", action=HelpListingModels, real_models=True)
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
        description="FILE_OR_CARD is a workload YAML file, a SCALE-Sim topology .csv or\n"
        f"{CARD_FORM}.",
        epilog="Example: hwsim workload show llama-2-7b:decode:256",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    show.add_argument("-h", "--help", action=HelpListingModels)
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


class HelpListingModels(argparse.Action):
    """-h/--help that lists the card models (and the real models) after the help, read from
    their registries only when help is asked for, so other commands need not import them."""

    def __init__(self, option_strings, dest, real_models: bool = False):
        super().__init__(
            option_strings,
            argparse.SUPPRESS,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show this help message and exit",
        )
        self.real_models = real_models

    def __call__(self, parser, namespace, values, option_string=None):
        parser.epilog = "\n\n".join(filter(None, [self.models_text(), parser.epilog]))
        parser.print_help()
        parser.exit()

    def models_text(self) -> str:
        from hwsim.workload.cards import MODELS, is_decoder

        decoders = [m for m, cfg in MODELS.items() if is_decoder(cfg)]
        others = [m for m in MODELS if m not in decoders]
        groups = [
            ("cards, phase prefill or decode:", decoders),
            ("cards, phase prefill (alias infer; vision: length = pixels):", others),
        ]
        if self.real_models:
            from hwsim.workload.models import REAL_MODELS

            groups.insert(0, ("real models (pip install -e '.[models]'):", list(REAL_MODELS)))
        indent = {"initial_indent": "  ", "subsequent_indent": "  "}
        return "\n".join(
            f"{title}\n{textwrap.fill(', '.join(names), 78, **indent)}" for title, names in groups
        )


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
