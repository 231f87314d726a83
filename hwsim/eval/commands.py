"""`hwsim eval` (a real model on the simulated hardware) and `hwsim warmup` (numba cache)."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="run a real model on the simulated hardware: fp32, fake-quant and hardware columns",
        description="Run MODEL with every Linear, convolution and attention matmul computed by "
        "its unit's PE on the recipe's quantized operands (bit for bit), activations flowing "
        "layer to layer; report the task metric for fp32, fake-quant and hardware, per-op "
        "SQNR against fp32, and the cycles and energy of the same run. Writes summary.json and "
        "summary.md (and the `hwsim run` report of the timed run) to reports/eval/NAME.",
        epilog="Example: hwsim eval arch/tpu_int8.yaml minilm-l6 --quant w8a8-int",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("arch", metavar="ARCH", help="arch YAML")
    p.add_argument("model", metavar="MODEL", help="minilm-l6 | smollm2-135m | efficientnet-lite0")
    p.add_argument("--quant", metavar="RECIPE", help="quant recipe YAML or shipped recipe name")
    p.add_argument("--mode", default="analytic", help="timing: analytic (default) | event")
    p.add_argument("--max-tokens", type=int, default=256, help="smollm2-135m: tokens of text")
    p.add_argument("--threads", type=int, help="numba threads (results do not depend on it)")
    p.add_argument("-o", "--output", metavar="DIR", help="report directory")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=_eval)

    p = sub.add_parser(
        "warmup",
        help="compile and cache the numba kernels once per machine",
        description="Run every shipped arch's PE on small tensors in the shipped recipes' "
        "formats, so numba compiles its kernels into its on-disk cache; later runs load them.",
        epilog="Example: hwsim warmup",
    )
    p.set_defaults(func=_warmup)


def _eval(args) -> int:
    from hwsim.eval import evaluate
    from hwsim.eval.summary import eval_markdown
    from hwsim.report.run import check_mode

    summary = evaluate(
        args.arch,
        args.model,
        quant=args.quant,
        mode=check_mode(args.mode),
        out_dir=args.output,
        max_tokens=args.max_tokens,
        threads=args.threads,
    )
    if args.json:
        json.dump(summary, sys.stdout, indent=2, sort_keys=True)
        print()
    else:
        print(eval_markdown(summary).split("\n| op |")[0].rstrip())
    return 0


def _warmup(args) -> int:
    from hwsim.eval.warmup import warmup

    for line in warmup():
        print(line, flush=True)
    return 0
