"""Reference GEMM kernels vs torch baselines at LLaMA-7B layer shapes.

Run: python benchmarks/bench_reference.py [--m 1 16] [--repeats 5] [--shapes qkvo gate_up down]

On a CUDA GPU with triton (wall time around a synchronised call; the correctness check before
timing compiles the kernels; operands already on the GPU, so both sides time kernels only):
  group_gemm (INT4 g128, BitMoD FP4 lookup)  vs  dequantize to FP16 + torch.matmul
  bitplane_gemm W8A8 and W4A4                vs  torch._int_mm (int8)
On a CPU (no GPU), the same pairs with the CPU fallbacks, which is all that runs there:
  group_gemm_cpu (numba)  vs  dequantize to float32 (numpy) + float32 matmul
  bitplane_gemm_cpu  vs  torch._int_mm on CPU (skipped without torch)
The ratio printed is peer time / ours (> 1.0: ours is faster), best of `repeats`
interleaved calls. Before timing, each pair's outputs are checked: group_gemm against
hwsim's PE model (mixpe for INT4) bit for bit on a slice, bitplane against the peer exactly.
Shapes (N, K) of one LLaMA-7B block: q/k/v/o (4096, 4096), gate/up (11008, 4096), down
(4096, 11008); M tokens (1 = decode, 16 = a small prefill batch).
"""

# ruff: noqa: B023 - timed lambdas run before their loop variables move on
from __future__ import annotations

import argparse
import platform
import time

import numpy as np

import hwsim
from hwsim.reference import triton_kernels as T
from hwsim.reference.checks_kernels import FP4

SHAPES = {"qkvo": (4096, 4096), "gate_up": (11008, 4096), "down": (4096, 11008)}


def weights(rng, kind: str, N: int, K: int):
    w = rng.standard_normal((N, K)).astype(np.float32)
    if kind == "int4":
        spec = hwsim.QuantSpec("int4", "group", 128)
    else:
        spec = hwsim.QuantSpec(FP4, "group", 128, scale_format="int8")
    return hwsim.quantize(w, spec)


def dequantized(gw) -> np.ndarray:
    """float32 [N, K] weights: lut value times group scale (the baseline's FP16 source)."""
    gs = gw.group_size
    fid = np.repeat(gw.format_ids, gs, axis=1)
    return gw.lut[fid, gw.codes] * np.repeat(gw.scales, gs, axis=1)


def best_times(fns, repeats: int, sync=lambda: None) -> list[float]:
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def row(name, ours, peer) -> str:
    return f"| {name} | {ours * 1e3:.2f} | {peer * 1e3:.2f} | {peer / ours:.2f} |"


def run_cpu(args, rng):
    try:
        from hwsim.reference.torch_ops import int_mm, torch_available
    except ImportError:  # pragma: no cover - torch_ops imports torch lazily
        torch_available = lambda: False  # noqa: E731
    for sname in args.shapes:
        N, K = SHAPES[sname]
        for kind in ("int4", "bitmod_fp4"):
            qt = weights(rng, kind, N, K)
            gw = T.weights_from_qtensor(qt)
            for M in args.m:
                a = rng.standard_normal((M, K)).astype(np.float16).astype(np.float64)
                a32, a16 = a.astype(np.float32), a.astype(np.float16)
                if kind == "int4":  # checked before timing: fallback == mixpe on a slice
                    sl = slice(0, 64)
                    got = T.group_gemm_cpu(a.astype(np.float16), _rows(gw, sl))
                    if not np.array_equal(got, hwsim.pe.run("mixpe", a, _rows_qt(qt, sl)).out):
                        raise SystemExit("group_gemm_cpu != mixpe; not timing")
                ours, peer = best_times(
                    [lambda: T.group_gemm_cpu(a16, gw), lambda: a32 @ dequantized(gw).T],
                    args.repeats,
                )
                yield (row(f"group_gemm {kind} M={M} {sname} {N}x{K} (cpu)", ours, peer))
        if torch_available():
            for ab in (8, 4):
                for Mi in sorted({max(M, 17) for M in args.m}):  # torch CUDA needs M > 16
                    a = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (Mi, K))
                    w = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (N, K))
                    if not np.array_equal(T.bitplane_gemm_cpu(a, w, ab, ab), int_mm(a, w, "cpu")):
                        raise SystemExit("bitplane_gemm_cpu != _int_mm; not timing")
                    ours, peer = best_times(
                        [lambda: T.bitplane_gemm_cpu(a, w, ab, ab), lambda: int_mm(a, w, "cpu")],
                        args.repeats,
                    )
                    name = f"bitplane W{ab}A{ab} M={Mi} {sname} {N}x{K} vs _int_mm (cpu)"
                    yield (row(name, ours, peer))


def _rows(gw, sl):
    zp = None if gw.zero_points is None else gw.zero_points[sl]
    return T.GroupWeights(gw.codes[sl], gw.lut, gw.format_ids[sl], gw.scales[sl], zp, 128)


def _rows_qt(qt, sl):
    from dataclasses import replace

    return replace(qt, codes=qt.codes[sl], scales=qt.scales[sl])


def run_gpu(args, rng):
    """Operands and weights are on the GPU before timing: both sides time kernels only."""
    import torch

    from hwsim.reference import triton_jit as J

    sync = torch.cuda.synchronize
    for sname in args.shapes:
        N, K = SHAPES[sname]
        for kind in ("int4", "bitmod_fp4"):
            gw = T.weights_from_qtensor(weights(rng, kind, N, K))
            dw = J.device_group_weights(gw)
            t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).cuda()  # noqa: E731
            codes, lut = t(gw.codes.astype(np.int64)), t(gw.lut)
            fid, scales = t(np.repeat(gw.format_ids, 128, 1)), t(np.repeat(gw.scales, 128, 1))

            def deq(codes=codes, lut=lut, fid=fid, scales=scales):  # dequantize on the GPU
                return (lut[fid.long(), codes] * scales).half()

            for M in args.m:
                a = rng.standard_normal((M, K)).astype(np.float16)
                ta = torch.from_numpy(a).cuda()
                got = J.launch_group_gemm(ta, dw).cpu().numpy()
                if not np.array_equal(got[:, :64], T.group_gemm_cpu(a, _rows(gw, slice(0, 64)))):
                    raise SystemExit("triton group_gemm != cpu fallback; not timing")
                ours, peer = best_times(
                    [lambda: J.launch_group_gemm(ta, dw), lambda: ta @ deq().t()],
                    args.repeats,
                    sync,
                )
                yield (row(f"group_gemm {kind} M={M} {sname} {N}x{K} (triton)", ours, peer))
        for ab in (8, 4):
            for Mi in sorted({max(M, 32) for M in args.m}):  # _int_mm on CUDA needs M > 16
                a = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (Mi, K))
                w = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (N, K))
                ta = torch.from_numpy(a.astype(np.int8)).cuda()
                tw = torch.from_numpy(w.astype(np.int8)).cuda()
                got = J.launch_bitplane(ta, tw, ab, ab)
                if not torch.equal(got, torch._int_mm(ta, tw.t())):
                    raise SystemExit("triton bitplane != _int_mm; not timing")
                ours, peer = best_times(
                    [lambda: J.launch_bitplane(ta, tw, ab, ab), lambda: torch._int_mm(ta, tw.t())],
                    args.repeats,
                    sync,
                )
                yield (row(f"bitplane W{ab}A{ab} M={Mi} {sname} {N}x{K} (triton)", ours, peer))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--m", type=int, nargs="+", default=[1, 16], help="token counts M")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per side (best kept)")
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(20261123)
    gpu = T.triton_available()
    print(f"machine: {platform.processor() or platform.machine()}; triton GPU: {gpu}")
    print("| case | ours ms | peer ms | ratio (peer / ours) |")
    print("|---|---|---|---|")
    for line in run_gpu(args, rng) if gpu else run_cpu(args, rng):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
