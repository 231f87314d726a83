"""Battery checks against torch paths: FP8 casts, _int_mm, _scaled_mm, BF16/FP16 GEMM.

Casts and INT8 GEMM must agree bit for bit. Float GEMMs whose accumulation order is the
library's own are held to a rounding-error bound instead: |out - exact| <= gamma * sum|a*w|
with gamma = (K + 2) * 2**-24 (fp32 accumulation, Higham's bound plus the final rounding),
plus one ulp of the output type; on CUDA the FP8 accumulator is also fitted with hwsim's
trunc_align model (hwsim.reference.fit) and must be reproduced bit for bit.
"""

from __future__ import annotations

import zlib

import numpy as np

from hwsim.pe.accumulator_spec import Accumulator
from hwsim.pe.accumulators import accumulate_gemm
from hwsim.reference.battery import Check, check, compare_codes, from_comparison, skipped
from hwsim.reference.compare import compare
from hwsim.reference.torch_ops import scaled_mm

U32 = 2.0**-24
CAST_FORMATS = ("float8_e4m3fn", "float8_e5m2")


# --- inputs ----------------------------------------------------------------------------------


def cast_inputs(fmt, kind: str, rng: np.random.Generator, n_random: int = 1 << 16) -> np.ndarray:
    """float32 inputs for cast checks: every code's value, midpoints, or random values."""
    vals = fmt.values()
    if kind == "codes":
        return vals.astype(np.float32)
    finite = np.unique(vals[np.isfinite(vals)])  # sorted, -0 and +0 merged
    if kind == "midpoints":
        mids = (finite[:-1] + finite[1:]) / 2  # exact in float32 (one more bit than fp8)
        top = finite[-1]
        step = top - finite[-2]
        beyond = top + step * np.array([0.5, 1.0, 1.5, 2.0, 64.0])  # overflow boundary
        base = np.concatenate([mids, beyond, -beyond]).astype(np.float32)
        up = np.nextafter(base, np.float32(np.inf))
        down = np.nextafter(base, np.float32(-np.inf))
        specials = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], np.float32)
        return np.concatenate([base, up, down, specials])
    # random: values spread over the format's exponent range and beyond, plus raw patterns
    e = rng.integers(
        int(np.log2(finite[finite > 0].min())) - 3, int(np.log2(top_of(finite))) + 3, n_random
    )
    x = rng.uniform(1.0, 2.0, n_random) * np.exp2(e) * rng.choice([-1.0, 1.0], n_random)
    raw = rng.integers(0, 2**32, n_random // 16, dtype=np.uint64).astype(np.uint32).view(np.float32)
    return np.concatenate([x.astype(np.float32), raw])


def top_of(finite: np.ndarray) -> float:
    return float(finite.max())


def fp8_operands(rng, shape, fmt: str = "float8_e4m3fn") -> tuple[np.ndarray, np.ndarray]:
    """(codes, values) of random fp8 operands with exponents spread over +-2**4."""
    import hwsim

    f = hwsim.format(fmt)
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-4, 5, shape))
    codes = f.encode(x.astype(np.float32), saturate=True)
    return codes, f.decode(codes)


def exact_gemm(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact a @ w.T rounded once to fp32 (Kulisch accumulator)."""
    out, _ = accumulate_gemm(a, w, Accumulator("kulisch", format="fp32"))
    return out


def within_bound(obs, exact, a, w, gamma: float, out_ulp=None) -> tuple[bool, float]:
    """(every |obs - exact| <= gamma * sum|a*w| (+ out_ulp), worst ratio error / bound)."""
    mag = np.abs(a) @ np.abs(w).T
    bound = gamma * mag + (0.0 if out_ulp is None else out_ulp)
    err = np.abs(obs - exact)
    ratio = np.where(bound > 0, err / np.where(bound > 0, bound, 1.0), np.where(err > 0, np.inf, 0))
    return bool(np.all(err <= bound)), float(ratio.max(initial=0.0))


# --- casts -----------------------------------------------------------------------------------


@check("cast")
def fp8_casts(ctx) -> list[Check]:
    import hwsim

    kinds = ("codes", "midpoints", "random")
    out: list[Check] = []
    for name in CAST_FORMATS:
        fmt = hwsim.format(name)
        for kind in kinds:
            label = f"cast {name} {kind}"
            if not ctx.has_torch:
                out.append(skipped(label + " (torch)", "torch is not installed"))
                continue
            from hwsim.reference.torch_ops import cast_fp8, native_e4m3fn_saturates

            # torch native: e4m3fn saturates from torch 2.12 (NaN before), e5m2 goes to inf
            native_sat = name == "float8_e4m3fn" and native_e4m3fn_saturates()
            x = cast_inputs(fmt, kind, ctx.rng(zlib.crc32(label.encode())))
            for mode, sat in (("clamp", True), ("native", native_sat)):
                got = cast_fp8(x, name, mode, ctx.device)
                want = fmt.encode(x, saturate=sat)
                c = compare_codes(got, want, fmt)
                tag = f"torch {mode} == hwsim saturate={sat}"
                out.append(from_comparison(f"{label}: {tag}", c))
        try:
            import ml_dtypes
        except ImportError:
            out.append(skipped(f"cast {name} ml_dtypes", "ml_dtypes is not installed"))
            continue
        for kind in kinds:
            x = cast_inputs(fmt, kind, ctx.rng(7 + len(kind)))
            with np.errstate(invalid="ignore", over="ignore"):  # NaN / overflow inputs
                got = x.astype(getattr(ml_dtypes, name)).view(np.uint8)
            c = compare_codes(got, fmt.encode(x, saturate=False), fmt)
            out.append(from_comparison(f"cast {name} {kind}: ml_dtypes == hwsim saturate=False", c))
    return out


# --- INT8 GEMM -------------------------------------------------------------------------------


@check("int_mm")
def int8_gemm(ctx) -> list[Check]:
    import hwsim

    names = ("int_mm random == int_mac", "int_mm int32 wrap == int_mac")
    if not ctx.has_torch:
        return [skipped(n, "torch is not installed") for n in names]
    from hwsim.reference.torch_ops import int_mm

    rng = ctx.rng(11)
    a = rng.integers(-128, 128, (32, 256))
    w = rng.integers(-128, 128, (24, 256))
    res = [
        from_comparison(
            names[0], compare(int_mm(a, w, ctx.device), hwsim.pe.run("int_mac", a, w).out)
        )
    ]
    K = 131_200  # 16384 * K > 2**31: extreme rows wrap
    a = np.where(rng.random((32, K)) < 0.5, -128, 127)
    a[::2] = -128
    w = np.full((16, K), -128)
    w[1::2] = np.where(rng.random((8, K)) < 0.5, -128, 127)
    got = int_mm(a, w, ctx.device)
    pe = hwsim.pe.run("int_mac", a, w, acc_bits=32, overflow="wrap")
    exact = a.astype(np.float64) @ w.astype(np.float64).T
    wrapped = int(np.count_nonzero(exact != got))
    res.append(from_comparison(names[1], compare(got, pe.out), wrapped_outputs=wrapped))
    if wrapped == 0:
        res[-1].passed, res[-1].reason = False, "no output wrapped: the wrap case was not exercised"
    return res


# --- FP8 GEMM --------------------------------------------------------------------------------


@check("scaled_mm")
def fp8_scaled_mm(ctx) -> list[Check]:
    names = ["scaled_mm accumulation", "scaled_mm per-tensor scales", "scaled_mm per-row scales"]
    if not ctx.has_torch:
        return [skipped(n, "torch is not installed") for n in names]
    from hwsim.reference.fit import fit_trunc_align

    rng = ctx.rng(13)
    out: list[Check] = []
    M, N = 32, 16
    ks = ctx.pick((64, 512), (64, 256, 1024, 4096)) if ctx.device == "cuda" else (64, 512)
    for fast in (False, True):
        for K in ks:
            (ac, av), (wc, wv) = fp8_operands(rng, (M, K)), fp8_operands(rng, (N, K))
            got = scaled_mm(ac, wc, use_fast_accum=fast, device=ctx.device)
            exact = exact_gemm(av, wv)
            vs_exact = compare(got, exact, "float32")
            name = f"scaled_mm accumulation fast_accum={fast} K={K}"
            ok, ratio = within_bound(got, exact, av, wv, (K + 2) * U32)
            figs = {"ulp_vs_exact": vs_exact.max_ulp, "error_over_bound": ratio}
            if ctx.device == "cuda":  # fit the tensor-core accumulator, must be bit exact
                fit = fit_trunc_align(av, wv, got)
                b = fit.best
                figs.update({k: b[k] for k in ("mantissa_bits", "chunk", "promote_every")})
                fc = compare(got, _model(av, wv, b), "float32")
                out.append(from_comparison(name, fc, **figs))
            else:
                out.append(from_comparison(name, vs_exact, ok, **figs))
    K = 256
    (ac, av), (wc, wv) = fp8_operands(rng, (M, K)), fp8_operands(rng, (N, K))
    exact = exact_gemm(av, wv)
    for label, sa, sw in (
        ("per-tensor", np.float32(0.75), np.float32(1.5)),
        ("per-row", rng.uniform(0.5, 2, (M, 1)), rng.uniform(0.5, 2, (1, N))),
    ):
        name = f"scaled_mm {label} scales (+ output scale)"
        try:
            out.append(_scaled_check(name, ac, wc, av, wv, exact, sa, sw, ctx.device))
        except Exception as e:  # e.g. a CUDA kernel refusing these scales: report, go on
            out.append(Check(name, False, False, f"raised {type(e).__name__}: {e}"[:300]))
    return out


def _scaled_check(name, ac, wc, av, wv, exact, sa, sw, device) -> Check:
    """Scales applied by the kernel (and an output scale by us) within the fp32 bound."""
    K = av.shape[1]
    sa32, sw32 = np.asarray(sa, np.float32), np.asarray(sw, np.float32)
    kw = dict(scale_a=sa32, scale_w=sw32, output_scale=0.25, device=device)
    try:
        got, out_ulp = scaled_mm(ac, wc, **kw), None
    except RuntimeError:  # row-wise CUDA kernels that only write bf16
        got = scaled_mm(ac, wc, out_dtype="bfloat16", **kw)
        out_ulp = _out_ulp(got, "bfloat16")
    ref = exact * sa32.astype(np.float64) * sw32.astype(np.float64) * 0.25
    scale = np.abs(np.broadcast_to(sa32 * sw32 * 0.25, got.shape)).astype(np.float64)
    bound = (K + 5) * U32 * (np.abs(av) @ np.abs(wv).T) * scale
    if out_ulp is not None:
        bound = bound + out_ulp
    err = np.abs(got - ref)
    c = compare(got, ref.astype(np.float32).astype(np.float64), "float32")
    ratio = float((err / np.maximum(bound, 1e-300)).max())
    figs = {"error_over_bound": ratio, "out_dtype": "float32" if out_ulp is None else "bfloat16"}
    return from_comparison(name, c, bool(np.all(err <= bound)), **figs)


def _model(a, w, best: dict) -> np.ndarray:
    from hwsim.reference.fit import trunc_align_model

    return trunc_align_model(a, w, best["mantissa_bits"], best["chunk"], best["promote_every"])


# --- BF16 / FP16 GEMM ------------------------------------------------------------------------


def _out_ulp(x: np.ndarray, dtype: str) -> np.ndarray:
    man, emin = (7, -126) if dtype == "bfloat16" else (10, -14)
    e = np.floor(np.log2(np.maximum(np.abs(x), 2.0**emin)))
    return np.exp2(e - man)


@check("gemm bfloat16", "gemm float16")
def gemm16(ctx) -> list[Check]:
    import hwsim

    if not ctx.has_torch:
        return [skipped(f"gemm {d}", "torch is not installed") for d in ("bfloat16", "float16")]
    from hwsim.reference.torch_ops import gemm16 as torch_gemm16

    rng = ctx.rng(17)
    out = []
    for dtype in ("bfloat16", "float16"):
        K = 512
        a = rng.standard_normal((24, K)).astype(np.float32)
        w = rng.standard_normal((40, K)).astype(np.float32)
        got = torch_gemm16(a, w, dtype, ctx.device)
        f = hwsim.format(dtype)
        av, wv = f.round(a), f.round(w)  # torch rounds its inputs the same way (RNE)
        exact = exact_gemm(av, wv)
        want = f.round(exact)  # the fp32-rounded exact sum, rounded to the output type
        ok, ratio = within_bound(got, exact, av, wv, (K + 2) * U32, _out_ulp(exact, dtype))
        c = compare(got, want, dtype)
        out.append(
            from_comparison(
                f"gemm {dtype} within fp32-accumulation bound", c, ok, error_over_bound=ratio
            )
        )
    return out
