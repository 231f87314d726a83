"""int4 quantization with per-group(128) fp32 scales: hwsim.quantize vs ml_dtypes' int4 cast.

Run: python benchmarks/bench_quantize.py [--n 10000000] [--repeats 7]

hwsim does the whole quantizer (absmax per group of 128, fp32 scale, RNE of x / scale,
saturation, 4-bit two's complement codes); the peer, `x.astype(ml_dtypes.int4)`, is only the
storage cast of the same array (no scales, no rounding choice). The ratio printed is peer
time / hwsim time, best of `repeats` interleaved calls after a warm-up call (numba
compilation), so > 1.0 means hwsim is faster. Before timing, hwsim's codes are checked
equal to a reference built from ml_dtypes (clip(rint(x / scale)) cast to int4 with hwsim's
scales) and to hwsim's generic numpy path.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import ml_dtypes
import numpy as np

import hwsim
import hwsim.dtypes.quantize  # noqa: F401  (the module; hwsim.dtypes.quantize is the function)

Q = sys.modules["hwsim.dtypes.quantize"]
SPEC = hwsim.QuantSpec("int4", "group", 128)


def best_times(ours, peer, repeats: int) -> tuple[float, float]:
    """Best time of each side, calls interleaved so that both see the same machine load."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for i, fn in enumerate((ours, peer)):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best[0], best[1]


def check(x: np.ndarray) -> None:
    qt = hwsim.quantize(x, SPEC)
    scales = np.repeat(qt.scales, 128)
    ref = np.clip(np.rint(x / scales), -8, 7).astype(ml_dtypes.int4)
    ours = hwsim.format("int4").decode(qt.codes).astype(ml_dtypes.int4)
    if not np.array_equal(ours.view(np.int8), ref.view(np.int8)):
        raise SystemExit("hwsim int4 codes disagree with the ml_dtypes reference; not timing")
    G = x.reshape(-1, 128)
    generic = Q.quantize_groups(G, hwsim.format("int4"), SPEC, None, fast=False)
    if not np.array_equal(generic[0].reshape(x.shape), qt.codes):
        raise SystemExit("fused kernel and generic path disagree; not timing")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="elements (multiple of 128)")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per side (best kept)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(20261123)
    x = rng.standard_normal(args.n // 128 * 128, dtype=np.float32)
    x *= np.exp2(rng.integers(-6, 8, x.size)).astype(np.float32)
    check(x)
    hwsim.quantize(x, SPEC)  # warm-up
    x.astype(ml_dtypes.int4)
    t_ours, t_peer = best_times(
        lambda: hwsim.quantize(x, SPEC), lambda: x.astype(ml_dtypes.int4), args.repeats
    )
    print(f"{platform.machine()}, n={x.size:.2e} float32, best of {args.repeats}")
    print(f"{'case':<28} {'hwsim ms':>9} {'peer ms':>9} {'ratio':>6}  peer")
    print(
        f"{'int4 group(128) fp32 scale':<28} {t_ours * 1e3:9.2f} {t_peer * 1e3:9.2f} "
        f"{t_peer / t_ours:6.2f}  x.astype(ml_dtypes.int4)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
