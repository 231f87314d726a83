"""What one `hwsim` command costs from a cold interpreter, against `python -c "import numpy"`.

    python benchmarks/bench_startup.py [--repeat 7]

Every case is a fresh process (`python -m hwsim ...` on this checkout); the cases run round
robin, `repeat` rounds after one warm-up round, so load on the machine hits them alike, and
each reports its best wall time and the CPU time (user + sys) of that run. Bytecode caches
are on, as on a user's machine (PYTHONDONTWRITEBYTECODE is dropped; the .pyc files go to a
temporary PYTHONPYCACHEPREFIX, not into the tree).

Targets (issue 11): `hwsim --help` <= 3x `import numpy`; an analytic run of a card <= 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ["run", "bitmod", "llama-2-7b:prefill:256", "--mode", "analytic"]


def cases(out: Path) -> dict[str, list[str]]:
    hwsim = [sys.executable, "-m", "hwsim"]
    return {
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
        "hwsim --help": [*hwsim, "--help"],
        "hwsim workload show --help": [*hwsim, "workload", "show", "--help"],
        "hwsim run (analytic, card)": [*hwsim, *RUN, "-o", str(out / "run")],
        "hwsim run --no-plots": [*hwsim, *RUN, "-o", str(out / "run"), "--no-plots"],
    }


TARGETS = {  # case: (bound, unit); "x" = times the numpy import's wall time
    "hwsim --help": (3.0, "x"),
    "hwsim run (analytic, card)": (1.5, "s"),
}


def timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall s, CPU s) of one run of `cmd`, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def machine() -> str:
    try:
        info = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("Model name"))  # fmt: skip
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} CPUs, load {load}; python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7, help="timed rounds (default 7)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(":")
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        table = cases(Path(tmp))
        for cmd in table.values():  # warm-up: bytecode and numba caches, page cache
            timed(cmd, env)
        best: dict[str, tuple[float, float]] = {name: (float("inf"), 0.0) for name in table}
        for _ in range(args.repeat):
            for name, cmd in table.items():
                wall, cpu = timed(cmd, env)
                if wall < best[name][0]:
                    best[name] = (wall, cpu)
    base = best["python -c 'import numpy'"][0]
    print(f"machine: {machine()}")
    print(f"best of {args.repeat} rounds, each case a fresh process\n")
    print("| case | wall s | CPU s | wall / numpy import | target | met |")
    print("|---|---|---|---|---|---|")
    for name, (wall, cpu) in best.items():
        bound, unit = TARGETS.get(name, (None, ""))
        value = wall / base if unit == "x" else wall
        target = "" if bound is None else f"<= {bound:g}{' s' if unit == 's' else 'x'}"
        met = "" if bound is None else ("yes" if value <= bound else "**no**")
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {wall / base:.2f} | {target} | {met} |")


if __name__ == "__main__":
    main()
