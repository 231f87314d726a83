"""MXFP4 encode throughput: hwsim's `mxfp4` against `x.astype(ml_dtypes.float4_e2m1fn)`.

Run: python benchmarks/bench_mx.py [--n 10000000] [--repeats 7]

Both sides take the same float32 array of n values. The peer is a bare element cast (no block
scale at all), so it does strictly less work than an MX encode: the amax per block of 32, the
E8M0 shared exponent, the power-of-two scaling and the saturating RNE cast of every element.
The ratio printed is peer time / hwsim time (best of `repeats`, after a warm-up call that
also pays numba compilation); > 1.0 means hwsim is faster. Before timing, hwsim's codes are
checked against an MX reference built from ml_dtypes (clip V/X, then astype) on the whole
array, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import argparse
import platform
import time

import ml_dtypes
import numpy as np

import hwsim


def best_of(fn, x, repeats: int) -> float:
    fn(x)  # warm-up (numba compilation, page faults)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return min(times)


def reference_mxfp4(x: np.ndarray) -> np.ndarray:
    """(n/32, 33) codes: floor(log2 amax) - 2 from the float32 exponent field, clip, astype."""
    blocks = x.reshape(-1, 32)
    amax = np.abs(blocks).max(axis=1)
    pow2 = ((amax.view(np.int32) >> 23) & 0xFF).astype(np.int64) - 127
    k = np.clip(pow2 - 2, -127, 127)
    v = np.ldexp(blocks, -k[:, None]).astype(np.float32)
    elems = np.clip(v, -6, 6).astype(ml_dtypes.float4_e2m1fn).view(np.uint8)
    return np.concatenate([(k + 127).astype(np.uint8)[:, None], elems], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    n = args.n // 32 * 32
    rng = np.random.default_rng(20261123)
    # normal values with a per-block magnitude spread, like activations with outlier blocks
    x = (rng.standard_normal(n) * np.repeat(np.exp(rng.normal(0, 3, n // 32)), 32)).astype(
        np.float32
    )
    fmt = hwsim.format("mxfp4")

    def ours(a):
        return fmt.encode(a)

    def peer(a):
        return a.astype(ml_dtypes.float4_e2m1fn)

    codes = ours(x)
    if not np.array_equal(codes.reshape(-1, 33), reference_mxfp4(x)):
        raise SystemExit("mxfp4 codes differ from the ml_dtypes MX reference")
    t_ours = best_of(ours, x, args.repeats)
    t_peer = best_of(peer, x, args.repeats)
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"ml_dtypes {ml_dtypes.__version__}, n = {n:,} float32")  # fmt: skip
    print(f"{'case':<8} {'hwsim s':>9} {'peer s':>9} {'ratio':>7}  peer")
    print(
        f"{'mxfp4':<8} {t_ours:9.4f} {t_peer:9.4f} {t_peer / t_ours:7.2f}  "
        "x.astype(ml_dtypes.float4_e2m1fn)"
    )


if __name__ == "__main__":
    main()
