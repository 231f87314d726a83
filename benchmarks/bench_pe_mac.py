"""Bit-exact INT8 x INT8 -> INT32 GEMM vs numpy float64 matmul (same run); FP8 e4m3 GEMM rate.

    python benchmarks/bench_pe_mac.py [--n 1024] [--fp8-m 256 --fp8-n 1024 --fp8-k 1024]

1. `hwsim.pe.run("int_mac", a, w)` on int8 matrices M = N = K = `--n` (int32 wrap
   accumulator; the BLAS fast path applies because K * 128 * 128 < 2**31), checked equal to
   torch._int_mm, against `a64 @ w64.T` in float64 on the same matrices (already converted):
   ratio = numpy time / hwsim time (target >= 0.5).
2. The same GEMM forced through the numba wrap-counting kernel (acc_bits=24, so overflow is
   possible and every addition is modelled), for scale.
3. FP8 e4m3 GEMM, fp32 accumulator with RNE after every sequential addition, 256x1024x1024:
   GMAC/s; plus the generic (any-format) RNE kernel with an fp16 accumulator.
Times are the best of `--repeat` runs after a warm-up call (numba compiles once).
"""

from __future__ import annotations

import argparse

import ml_dtypes
import numpy as np
import torch
from _timing import best_of  # benchmarks/ is on sys.path when run as a script

import hwsim


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1024)
    p.add_argument("--fp8-m", type=int, default=256)
    p.add_argument("--fp8-n", type=int, default=1024)
    p.add_argument("--fp8-k", type=int, default=1024)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(20261123)

    n = args.n
    a = rng.integers(-128, 128, (n, n), dtype=np.int8)
    w = rng.integers(-128, 128, (n, n), dtype=np.int8)
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    res = hwsim.pe.run("int_mac", a, w)
    ref = torch._int_mm(torch.from_numpy(a), torch.from_numpy(w).T.contiguous()).numpy()
    assert np.array_equal(res.out, ref), "int_mac differs from torch._int_mm"
    t_hw = best_of(lambda: hwsim.pe.run("int_mac", a, w), args.repeat)
    t_np = best_of(lambda: a64 @ w64.T, args.repeat)
    macs = n**3
    print(
        f"INT8xINT8->INT32 {n}^3: hwsim int_mac {t_hw * 1e3:.1f} ms "
        f"({macs / t_hw / 1e9:.2f} GMAC/s, fast path {res.info['fast_path']}), "
        f"numpy float64 matmul {t_np * 1e3:.1f} ms ({macs / t_np / 1e9:.2f} GMAC/s), "
        f"ratio {t_np / t_hw:.2f}"
    )

    m_k = 256
    slow = hwsim.pe.get_pe("int_mac", acc_bits=24)
    slow.run(a[:8], w[:8])
    t_slow = best_of(lambda: slow.run(a[:m_k], w), 1)
    print(
        f"INT8 numba wrap-counting kernel (acc 24 bits) {m_k}x{n}x{n}: "
        f"{m_k * n * n / t_slow / 1e9:.3f} GMAC/s, ratio to numpy "
        f"{(t_np * m_k / n) / t_slow:.3f}"
    )

    M, N, K = args.fp8_m, args.fp8_n, args.fp8_k
    fa = rng.standard_normal((M, K)).astype(ml_dtypes.float8_e4m3fn)
    fw = rng.standard_normal((N, K)).astype(ml_dtypes.float8_e4m3fn)
    fp32 = hwsim.pe.get_pe("float_mac", acc_format="fp32")
    fp32.run(fa[:2], fw[:2])
    t_fp8 = best_of(lambda: fp32.run(fa, fw), args.repeat)
    print(
        f"FP8 e4m3 {M}x{N}x{K}, fp32 sequential RNE accumulator: {t_fp8:.2f} s, "
        f"{M * N * K / t_fp8 / 1e9:.3f} GMAC/s"
    )
    fp16 = hwsim.pe.get_pe("float_mac", acc_format="fp16")
    fp16.run(fa[:2], fw[:2])
    mg = max(1, M // 8)
    t_gen = best_of(lambda: fp16.run(fa[:mg], fw), 1)
    print(
        f"FP8 e4m3 {mg}x{N}x{K}, fp16 accumulator (generic RNE kernel): "
        f"{mg * N * K / t_gen / 1e9:.3f} GMAC/s"
    )


if __name__ == "__main__":
    main()
