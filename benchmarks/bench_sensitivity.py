"""Wall time of the per-layer sensitivities (hwsim.layersearch.sensitivity) on the shipped models.

`python benchmarks/bench_sensitivity.py [--models smollm2-135m,minilm-l6] [--samples 16]
[--max-tokens 64] [--measured]`: per model, the Hessian traces (Hutchinson, `samples`
Rademacher draws: one forward, 1 + samples backwards), then Omega for 4 candidates (int8,
int4, float8_e4m3fn, int2 weights with int8 activations) from the traces, the second time
from the cache (what a search re-run pays), and with --measured the measured method on the
same 4 candidates. Prints a markdown table (wall and CPU seconds) and, per model, the
traces' median relative standard error.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np

CANDIDATES = [
    "int8",
    "int4",
    "float8_e4m3fn",
    {"name": "w2a8", "weights": {"format": "int2", "granularity": "channel"},
     "activations": {"format": "int8", "granularity": "channel"}},
]  # fmt: skip


def _timed(fn, *args, **kwargs):
    """(result, "wall s / CPU s"): the CPU time of this process tells a loaded machine apart."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, f"{time.perf_counter() - t0:.1f} / {time.process_time() - c0:.1f}"


def main() -> None:
    from hwsim.eval.tasks import load_task
    from hwsim.layersearch.sensitivity import hessian_traces, sensitivities

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="smollm2-135m,minilm-l6")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--measured", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("wall s / CPU s of this process")
    print("| model | layers | load | traces | Omega, 4 candidates | again, cached | measured |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        task, t_load = _timed(load_task, name, max_tokens=args.max_tokens)
        with tempfile.TemporaryDirectory() as cache:
            traces, t_tr = _timed(hessian_traces, task, args.samples, 0, cache)
            again = (sensitivities, task, CANDIDATES, "hessian", cache)
            table, t_om = _timed(*again, samples=args.samples)
            _, t_cached = _timed(*again, samples=args.samples)
            t_me = "-"
            if args.measured:
                _, t_me = _timed(sensitivities, task, CANDIDATES, "measured", cache)
        rel = [t["weights"].stderr / abs(t["weights"].trace)
               for n, t in traces.items() if n in table and t["weights"].trace]  # fmt: skip
        print(f"| {name} | {len(table)} | {t_load} | {t_tr} | {t_om} | {t_cached} | {t_me} |")
        print(f"  {name}: {args.samples} samples, median relative stderr of the weight traces "
              f"{np.median(rel):.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
