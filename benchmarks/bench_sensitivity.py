"""Wall time of the per-layer sensitivities (hwsim.search.sensitivity) on the shipped models.

`python benchmarks/bench_sensitivity.py [--models smollm2-135m,minilm-l6] [--samples 16]
[--max-tokens 64] [--measured]`: per model, the Hessian traces (Hutchinson, `samples`
Rademacher draws: one forward, 1 + samples backwards), then Omega for 4 candidates (int8,
int4, float8_e4m3fn, int2 weights with int8 activations) from the traces, the second time
from the cache (what a search re-run pays), and with --measured the measured method on the same 4
candidates. Prints a markdown table and, per model, the traces' median relative standard error.
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
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    from hwsim.eval.tasks import load_task
    from hwsim.search.sensitivity import hessian_traces, sensitivities

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="smollm2-135m,minilm-l6")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--measured", action="store_true")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("| model | layers | load s | traces s | Omega 4 cand. s | cached s | measured s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        task, t_load = _timed(load_task, name, max_tokens=args.max_tokens)
        with tempfile.TemporaryDirectory() as cache:
            traces, t_tr = _timed(hessian_traces, task, args.samples, 0, cache)
            again = (sensitivities, task, CANDIDATES, "hessian", cache)
            table, t_om = _timed(*again, samples=args.samples)
            _, t_cached = _timed(*again, samples=args.samples)
            t_me = float("nan")
            if args.measured:
                _, t_me = _timed(sensitivities, task, CANDIDATES, "measured", cache)
        rel = [t["weights"].stderr / abs(t["weights"].trace)
               for n, t in traces.items() if n in table and t["weights"].trace]  # fmt: skip
        print(f"| {name} | {len(table)} | {t_load:.1f} | {t_tr:.1f} | {t_om:.1f} | "
              f"{t_cached:.2f} | {t_me:.1f} |")  # fmt: skip
        print(f"  {name}: {args.samples} samples, median relative stderr of the weight traces "
              f"{np.median(rel):.3f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
