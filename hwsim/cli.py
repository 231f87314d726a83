"""`hwsim` command line: one subcommand module per job, errors as one line.

Each module in COMMAND_MODULES has `register(subparsers)`, which adds its subcommands and
sets `func(args) -> int` on them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from hwsim.errors import HwsimError

COMMAND_MODULES = (
    "hwsim.dtypes.commands",  # formats
    "hwsim.workload.commands",  # trace, workload show|export
    "hwsim.reference.commands",  # verify
    "hwsim.report.commands",  # run, report, compare
    "hwsim.dse.commands",  # sweep
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported like every other bad input: one line."""

    def error(self, message: str):
        command = self.prog.removeprefix("hwsim").strip()
        hint = f"hwsim {command} --help" if command else "hwsim --help"
        self.exit(2, f"hwsim: error: {self.prog}: {message} (see '{hint}')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="hwsim",
        description="Hardware co-design simulator for quantized accelerators.",
        epilog="Example: hwsim run bitmod llama-2-7b:prefill:256 --mode analytic",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except HwsimError as e:
        print(f"hwsim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hwsim: interrupted", file=sys.stderr)
        return 130
