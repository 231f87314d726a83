"""`hwsim verify`: run the reference battery on whatever is present and print a table.

Examples:
  hwsim verify                      table of checks on CUDA if present, else CPU
  hwsim verify --json               {"device": ..., "checks": [{"name", "passed", ...}]}
  hwsim verify --quick --only cast  a fast subset (names containing 'cast')
  hwsim verify -o reports/gpu       also write verify.json, verify.txt, banner.txt and
                                    fp8_scaled_mm.md (the FP8 accumulation table) there
Exit status: 0 when no check failed (skips are not failures), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from hwsim.errors import HwsimError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "verify",
        help="check hwsim's numerics against torch / GPU kernels",
        description=__doc__.split("\n\n", 1)[0],
        epilog="Example: hwsim verify --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where torch runs (default: CUDA when present)",
    )
    p.add_argument("--quick", action="store_true", help="smaller problems (seconds on a CPU)")
    p.add_argument("--only", default=None, help="run only checks whose name contains this")
    p.add_argument("--seed", type=int, default=20261123, help="seed of the random inputs")
    p.add_argument("-o", "--out", default=None, help="directory to write verify.json/.txt to")
    p.set_defaults(func=run_verify)


def _clean(x):
    """JSON-safe: inf/NaN floats become strings, numpy scalars plain numbers."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def run_verify(args) -> int:
    from hwsim.reference.battery import fp8_table, run_battery, table
    from hwsim.reference.compare import banner

    if args.seed < 0:  # numpy's generators take only non-negative seeds
        raise HwsimError(f"verify --seed: expected an integer >= 0, got {args.seed}")
    result = run_battery(
        device=args.device, seed=args.seed, size="quick" if args.quick else "full", only=args.only
    )
    if not result.checks:
        raise HwsimError(f"verify --only: no check name contains {args.only!r}")
    doc = _clean(result.as_json())
    text = banner(result.environment) + "\n\n" + table(result)
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "verify.json").write_text(json.dumps(doc, indent=2) + "\n")
            (out / "verify.txt").write_text(text + "\n")
            (out / "banner.txt").write_text(banner(result.environment) + "\n")
            (out / "fp8_scaled_mm.md").write_text(fp8_table(result) + "\n")
        except OSError as e:
            raise HwsimError(f"verify -o {args.out}: cannot write ({e.strerror})") from None
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        print(text)
    return 0 if result.ok else 1
