"""Bit-serial W4 GEMM (BitMoD FP4 mixture, group 128) vs numpy float64 matmul, same run.

    python benchmarks/bench_pe_serial.py [--m 256 --n 4096 --k 4096] [--float-m 256]

Prints the wall time of `hwsim.pe.run("bitmod", ...)` (exact Kulisch-style group
accumulators: outputs through BLAS where a bound proves them exact, term statistics and
data-dependent cycles with zero-term skipping) and of `a @ w.T` in float64 on the same
shapes, and their throughput ratio (numpy time / hwsim time). It also times the default
float group accumulator (e6m15 rounded every term cycle; numba, parallel over weight rows)
on the first `--float-m` rows and reports its MAC rate against the same numpy figure.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import best_of  # benchmarks/ is on sys.path when run as a script

import hwsim
from hwsim.pe.bitmod import BitMoDPE

MENU = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--m", type=int, default=256)
    p.add_argument("--n", type=int, default=4096)
    p.add_argument("--k", type=int, default=4096)
    p.add_argument("--float-m", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(20261123)
    M, N, K = args.m, args.n, args.k
    a = rng.standard_normal((M, K)).astype(np.float16)
    w = rng.standard_normal((N, K))
    spec = hwsim.QuantSpec(format=MENU, granularity="group", group_size=128, scale_format="int8")
    qt = hwsim.quantize(w, spec)
    a64, w64 = a.astype(np.float64), hwsim.dequantize(qt)
    pe = BitMoDPE(group_acc="exact", skip_zero_terms=True)
    res = pe.run(a[:8], qt)  # warm-up (numba compile, caches)
    t_np = best_of(lambda: a64 @ w64.T, args.repeat)
    t_pe = best_of(lambda: pe.run(a, qt), args.repeat)
    res = pe.run(a, qt)
    macs = M * N * K
    print(f"shape M={M} N={N} K={K}  ({macs / 1e9:.2f} GMAC)")
    print(f"numpy float64 matmul      {t_np:8.3f} s  {macs / t_np / 1e9:7.2f} GMAC/s")
    print(f"bitmod exact, skip terms  {t_pe:8.3f} s  {macs / t_pe / 1e9:7.2f} GMAC/s")
    print(f"ratio (numpy time / hwsim time) = {t_np / t_pe:.3f}   (target >= 0.25)")
    print(
        f"terms/weight {res.info['terms_per_weight']:.4f}  cycles {res.cycles}  "
        f"BLAS fallback rows {res.info['exact_fallback_rows']}"
    )
    fm = args.float_m
    if fm:
        import numba

        pf = BitMoDPE(skip_zero_terms=True)
        pf.run(a[:1, :256], hwsim.quantize(w[:2, :256], spec))  # compile
        c0 = time.process_time()
        t_f = best_of(lambda: pf.run(a[:fm], qt), 1 if fm > 64 else args.repeat)
        cpu = (time.process_time() - c0) / (1 if fm > 64 else args.repeat)
        rate = fm * N * K / t_f
        print(
            f"bitmod float e6m15 (numba, {numba.get_num_threads()} threads) M={fm}: "
            f"{t_f:.3f} s  {rate / 1e9:.3f} GMAC/s  ratio vs numpy rate {rate / (macs / t_np):.4f}"
            f"  (CPU {cpu:.2f} s: {fm * N * K / cpu / 1e9:.3f} GMAC per CPU-second)"
        )


if __name__ == "__main__":
    main()
