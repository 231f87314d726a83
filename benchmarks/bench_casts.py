"""float32 -> codes throughput: hwsim encoders against `x.astype(ml_dtypes.T)` on the same array.

Run: python benchmarks/bench_casts.py [--n 10000000] [--repeats 7] [--only NAME ...]

Each case is a (name, hwsim call, peer call) triple in CASES; add a case with `case(...)`.
The reported ratio is peer time / hwsim time (best of `repeats` alternating calls, after
one warm-up call that also pays numba compilation), so > 1.0 means hwsim is faster. Every
case also checks that both sides produce the same bytes before timing, so a fast wrong
answer cannot pass.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
import numpy as np

import hwsim


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[[np.ndarray], np.ndarray]  # float32 array -> codes (or a QTensor's codes)
    peer: Callable[[np.ndarray], np.ndarray]  # same input -> the same codes
    peer_name: str


CASES: list[Case] = []


def case(name: str, peer_name: str):
    """Decorator: register `make() -> (ours, peer)` as a benchmark case."""

    def register(make):
        ours, peer = make()
        CASES.append(Case(name, ours, peer, peer_name))
        return make

    return register


def _minifloat_case(fmt_name: str):
    fmt = hwsim.format(fmt_name)
    dtype = getattr(ml_dtypes, fmt_name)

    def ours(x):
        return fmt.encode(x)

    def peer(x):
        return x.astype(dtype).view(fmt.code_dtype)

    return ours, peer


@case("float8_e4m3fn", "ml_dtypes astype")
def _e4m3fn():
    return _minifloat_case("float8_e4m3fn")


@case("float4_e2m1fn", "ml_dtypes astype")
def _e2m1fn():
    return _minifloat_case("float4_e2m1fn")


def best_times(ours, peer, x, repeats: int) -> tuple[float, float]:
    """Best wall time of each side; calls alternate so both see the same machine load."""
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for side, fn in enumerate((ours, peer)):
            t0 = time.perf_counter()
            fn(x)
            best[side] = min(best[side], time.perf_counter() - t0)
    return best[0], best[1]


def inputs(n: int, rng: np.random.Generator) -> np.ndarray:
    """Normal-ish activations with a heavy tail, as float32 (what quantizers see)."""
    x = rng.standard_normal(n, dtype=np.float32)
    x *= np.exp2(rng.integers(-6, 8, n)).astype(np.float32)
    return x


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="elements (default 1e7)")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls per side (best kept)")
    ap.add_argument("--only", nargs="*", default=None, help="case names to run")
    args = ap.parse_args(argv)
    x = inputs(args.n, np.random.default_rng(20261123))
    print(f"{platform.processor() or platform.machine()}, n={args.n:.0e}, best of {args.repeats}")
    print(f"{'case':<24} {'hwsim ms':>9} {'peer ms':>9} {'ratio':>6}  peer")
    for c in CASES:
        if args.only and c.name not in args.only:
            continue
        ours, theirs = c.ours(x), c.peer(x)  # warm-up (numba compile) and correctness
        if not np.array_equal(np.asarray(ours), np.asarray(theirs)):
            raise SystemExit(f"{c.name}: hwsim and {c.peer_name} disagree; not timing it")
        t_ours, t_peer = best_times(c.ours, c.peer, x, args.repeats)
        ratio = t_peer / t_ours
        print(f"{c.name:<24} {t_ours * 1e3:9.2f} {t_peer * 1e3:9.2f} {ratio:6.2f}  {c.peer_name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
