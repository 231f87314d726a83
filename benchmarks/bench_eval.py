"""Whole-model speed of the bit-exact datapaths (issue: accuracy as the hardware computes it).

`python benchmarks/bench_eval.py [--smollm2]`: in one run, on SmolLM2-135M's FFN shape
(256 tokens x 1536 outputs x K 576, Gaussian operands):
  * float64 BLAS `a @ w.T` on the same matrices (the peer),
  * the BitMoD PE's default datapath (FP16 activations x BitMoD FP4 terms, e6m15 group
    accumulator, groups of 128 zero-padded: K 576 -> 640),
  * the INT8 MAC (int32, per-channel / per-token int8, w8a8-int),
each through hwsim.eval.datapath.hardware as `hwsim eval` calls it (activations quantized
every call, the weights once per model), best of 15 after a warm-up (this machine is a shared
VM whose neighbours come and go; run after run, not interleaved: OpenBLAS's and numba's
threads spin a while after each call and would slow each other); ratio = BLAS time / hwsim
time (targets: BitMoD >= 0.25, INT8 >= 0.5). With --smollm2, also the wall time of
`hwsim eval bitmod smollm2-135m` (256 tokens). With --cold, `hwsim eval bitmod smollm2-135m
--max-tokens 32` twice on an empty NUMBA_CACHE_DIR: the first pays every compilation, the
second loads the cache; their difference in wall and CPU seconds is the compilation (target
<= 20 s).
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best_of  # noqa: E402

M, N, K = 256, 1536, 576


def _plan(arch: str, recipe):
    from hwsim.sim.plan import plan
    from hwsim.spec import load_arch
    from hwsim.workload import load_recipe
    from hwsim.workload.op import Op, Workload

    r = load_recipe(recipe) if recipe else None
    wl = Workload("bench", (Op("mlp.up_proj", "gemm", M=M, N=N, K=K),))
    return plan(load_arch(arch), wl, r).ops[0]


def _cold() -> None:
    """The compilation a first `hwsim eval` pays: cold run minus cached run."""
    cmd = ["hwsim", "eval", "bitmod", "smollm2-135m", "--max-tokens", "32", "-o"]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "numba"))
        runs = []
        for name in ("cold", "cached"):
            cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([*cmd, os.path.join(tmp, name)], env=env, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
            cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
            runs.append((time.perf_counter() - t0, cpu))
            print(f"{' '.join(cmd[:-1])} ({name} numba cache): {runs[-1][0]:.1f} s wall, "
                  f"{cpu:.1f} s CPU")  # fmt: skip
    (wall0, cpu0), (wall1, cpu1) = runs
    load = os.getloadavg()[0]
    print(f"compilation: {wall0 - wall1:.1f} s wall, {cpu0 - cpu1:.1f} s CPU (load {load:.1f})")


def main() -> None:
    from hwsim.eval.datapath import hardware

    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm2", action="store_true")
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    if args.cold:
        _cold()
        return
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(np.float32)
    w = (rng.standard_normal((N, K)) * 0.05).astype(np.float32)
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    cases = {"bitmod (arch default datapath)": _plan("bitmod", None),
             "int_mac int8 (w8a8-int)": _plan("tpu_int8", "w8a8-int")}  # fmt: skip
    caches = {name: {} for name in cases}  # weights quantized once, as in a model run
    for name, p in cases.items():
        hardware(p, a, w, caches[name], "w")  # warm-up: numba compile or cache load
    blas = best_of(lambda: a64 @ w64.T, 15)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")  # fmt: skip
    print(f"shape M={M} N={N} K={K}: float64 BLAS {blas * 1e3:.2f} ms "
          f"({M * N * K / blas / 1e9:.2f} GMAC/s)")  # fmt: skip
    print("| datapath | hwsim ms | GMAC/s | ratio (BLAS / hwsim) |")
    print("|---|---|---|---|")
    for name, p in cases.items():
        t = best_of(lambda p=p, c=caches[name]: hardware(p, a, w, c, "w"), 15)
        print(f"| {name} | {t * 1e3:.1f} | {M * N * K / t / 1e9:.3f} | {blas / t:.3f} |")
    if args.smollm2:
        from hwsim.eval import evaluate

        t0 = time.perf_counter()
        s = evaluate("bitmod", "smollm2-135m", reports_root=None)
        print(f"hwsim eval bitmod smollm2-135m (256 tokens): {time.perf_counter() - t0:.0f} s "
              f"wall, {s['eval_wall_s']}")  # fmt: skip


if __name__ == "__main__":
    main()
