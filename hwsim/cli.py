"""`hwsim` command line: one subcommand module per job, errors as one line.

Each module in COMMAND_MODULES has `register(subparsers)`, which adds its subcommands and
sets `func(args) -> int` on them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from hwsim.errors import HwsimError, one_line, shown

COMMAND_MODULES = (
    "hwsim.dtypes.commands",  # formats
    "hwsim.workload.commands",  # trace, workload show|export
    "hwsim.reference.commands",  # verify
    "hwsim.report.commands",  # run, report, compare
    "hwsim.dse.commands",  # sweep
    "hwsim.eval.commands",  # eval, warmup
    "hwsim.layersearch.commands",  # search
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
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 0
        return int(args.func(args) or 0)
    except HwsimError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("hwsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (`| head`) left: stop quietly, as a SIGPIPE'd program does (Python's
        # documented recipe: point stdout at devnull so the exit flush cannot fail again)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as e:  # an output location that is read-only, full or size-limited
        where = f"{shown(e.filename)}: " if e.filename is not None else ""
        return _fail(f"{where}{e.strerror or e}")
    except Exception as e:
        if type(e).__module__ != "sqlite3":  # a damaged result store, wherever it was read
            raise
        return _fail(f"result store: unreadable ({e}); expected `hwsim sweep` output")


def _fail(message: str) -> int:
    print(f"hwsim: error: {one_line(message)}", file=sys.stderr)
    return 2
