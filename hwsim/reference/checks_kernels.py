"""Battery checks of the reference kernels (hwsim.reference.triton_kernels) against hwsim's PEs.

- group_gemm INT4 g128 (symmetric int4, asymmetric uint4) == the `mixpe` PE, bit for bit.
- group_gemm BitMoD FP4 mixture == hwsim's accumulator model of it (the fp32 group register
  of `hwsim.pe._kernels_serial` over the PE operand decode), bit for bit; and against the
  `mixed_dtype` PE (exact group sums): bit for bit when every group sum is exact in fp32
  (small integer activations), else within the fp32 group-register error bound; and the
  `bitmod` PE (exact registers, terms and integer group scales) within the same bound.
- bitplane_gemm at several (a_bits, w_bits), int32 wrap included == `int_mac` (32-bit wrap).
- On a CUDA GPU with triton: each Triton kernel == its CPU fallback, bit for bit.
- trunc_align fit self-test: outputs the model made with known parameters are fitted back.
"""

from __future__ import annotations

import numpy as np

from hwsim.reference.battery import Check, check, from_comparison, skipped
from hwsim.reference.compare import compare

FP4 = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))


def int4_weights(rng, N: int, K: int, symmetric: bool = True):
    import hwsim

    w = rng.standard_normal((N, K)) * np.exp2(rng.integers(-3, 3, (N, 1)))
    fmt = "int4" if symmetric else "uint4"
    spec = hwsim.QuantSpec(format=fmt, granularity="group", group_size=128, symmetric=symmetric)
    return hwsim.quantize(w, spec)


def bitmod_weights(rng, N: int, K: int):
    import hwsim

    w = rng.standard_normal((N, K)) * np.where(rng.random((N, K)) < 0.02, 8.0, 1.0)
    spec = hwsim.QuantSpec(format=FP4, granularity="group", group_size=128, scale_format="int8")
    return hwsim.quantize(w, spec)


def fp16_acts(rng, M: int, K: int) -> np.ndarray:
    x = rng.standard_normal((M, K)) * np.exp2(rng.integers(-6, 4, (M, K)))
    return x.astype(np.float16).astype(np.float64)


def group_model(a16: np.ndarray, w_qt) -> np.ndarray:
    """hwsim's accumulator model of group_gemm without zero points, from PE building blocks."""
    from hwsim.pe.shift_add import dequant_groups, group_partials_fp32
    from hwsim.pe.terms import read_operand

    op = read_operand(w_qt, "group_model")
    partials = group_partials_fp32(a16, op.values, op.group_size).astype(np.float64)
    return dequant_groups(partials, op.scales).astype(np.float64)


def _triton_too(ctx, name: str, run, fallback) -> list[Check]:
    if not ctx.has_triton:
        return [skipped(f"triton {name} == cpu fallback", "needs triton and a CUDA GPU")]
    return [from_comparison(f"triton {name} == cpu fallback", compare(run(), fallback))]


@check("group_gemm", "triton group_gemm")
def group_gemm_checks(ctx) -> list[Check]:
    import hwsim
    from hwsim.reference.triton_kernels import group_gemm, weights_from_qtensor

    rng = ctx.rng(23)
    M, N, K = ctx.pick((4, 48, 256), (16, 256, 1024))
    out: list[Check] = []
    a = fp16_acts(rng, M, K)
    for sym in (True, False):
        qt = int4_weights(rng, N, K, sym)
        gw = weights_from_qtensor(qt)
        cpu = group_gemm(a, gw, backend="cpu")
        label = "int4" if sym else "uint4 + zero points"
        pe = hwsim.pe.run("mixpe", a, qt).out
        out.append(
            from_comparison(f"group_gemm {label} g128 == mixpe", compare(cpu, pe, "float32"))
        )
        run_triton = lambda gw=gw: group_gemm(a, gw, "triton")  # noqa: E731
        out += _triton_too(ctx, f"group_gemm {label}", run_triton, cpu)
    qt = bitmod_weights(rng, N, K)
    gw = weights_from_qtensor(qt)
    cpu = group_gemm(a, gw, backend="cpu")
    c = compare(cpu, group_model(a, qt), "float32")
    out.append(from_comparison("group_gemm bitmod fp4 == fp32 group-register model", c))
    out += _triton_too(ctx, "group_gemm bitmod fp4", lambda: group_gemm(a, gw, "triton"), cpu)
    # against mixed_dtype (exact group sums): exact when the fp32 group sums are exact
    ints = rng.integers(-64, 65, (M, K)).astype(np.float64)
    md = hwsim.pe.run("mixed_dtype", ints, qt).out
    c = compare(group_gemm(ints, gw, backend="cpu"), md, "float32")
    out.append(from_comparison("group_gemm bitmod fp4 == mixed_dtype (exact group sums)", c))
    md = hwsim.pe.run("mixed_dtype", a, qt).out
    c = compare(cpu, md, "float32")
    ok, ratio = _group_bound(a, qt, cpu, md)
    out.append(
        from_comparison(
            "group_gemm bitmod fp4 ~ mixed_dtype (fp32 group-register bound)",
            c,
            ok,
            error_over_bound=ratio,
        )
    )
    # the BitMoD PE itself, exact registers and lanes (term datapath, integer group scales)
    bm = hwsim.pe.run("bitmod", a, qt, group_acc="exact", align_guard_bits=None).out
    ok, ratio = _group_bound(a, qt, cpu, bm)
    c = compare(cpu, bm.astype(np.float32).astype(np.float64), "float32")
    name = "group_gemm bitmod fp4 ~ bitmod PE exact (fp32 group-register bound)"
    out.append(from_comparison(name, c, ok, error_over_bound=ratio))
    return out


def _group_bound(a16, qt, got, want) -> tuple[bool, float]:
    """|got - want| <= sum_g |s_g| gamma_gs sum_k |a v| + 2 ulp-ish slack of fp32 epilogues."""
    from hwsim.pe.terms import read_operand

    op = read_operand(qt, "bound")
    gs, G = op.group_size, op.n_groups
    M, K = a16.shape
    absa = np.abs(a16).reshape(M, G, gs)
    absv = np.abs(op.values).reshape(-1, G, gs)
    mags = np.einsum("mgk,ngk->mng", absa, absv)  # sum |a v| per group
    s = np.abs(op.scales)[None, :, :]
    u = 2.0**-24
    bound = (gs + 2) * u * (mags * s).sum(axis=2) + 2 * (G + 2) * u * (mags * s).sum(axis=2)
    err = np.abs(got - want)
    ratio = np.where(bound > 0, err / np.where(bound > 0, bound, 1), np.where(err > 0, np.inf, 0))
    return bool(np.all(err <= bound)), float(ratio.max(initial=0.0))


@check("bitplane_gemm", "triton bitplane_gemm")
def bitplane_checks(ctx) -> list[Check]:
    import hwsim
    from hwsim.reference.triton_kernels import bitplane_gemm

    rng = ctx.rng(29)
    out: list[Check] = []
    M, N, K = ctx.pick((8, 24, 128), (64, 128, 1024))
    for ab, wb in ((8, 8), (4, 4), (3, 5), (2, 8)):
        a = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (M, K))
        w = rng.integers(-(2 ** (wb - 1)), 2 ** (wb - 1), (N, K))
        cpu = bitplane_gemm(a, w, ab, wb, backend="cpu")
        pe = hwsim.pe.run("int_mac", a, w, acc_bits=32).out
        out.append(from_comparison(f"bitplane_gemm W{wb}A{ab} == int_mac", compare(cpu, pe)))
        out += _triton_too(
            ctx,
            f"bitplane_gemm W{wb}A{ab}",
            lambda a=a, w=w, ab=ab, wb=wb: bitplane_gemm(a, w, ab, wb, "triton"),
            cpu,
        )
    K = 140_000  # 8 x 8 bits with every product 2**14: sums pass 2**31 and wrap
    a = np.full((2, K), -128)
    w = np.full((16, K), -128)
    w[1::2, ::3] = 127
    cpu = bitplane_gemm(a, w, 8, 8, backend="cpu")
    pe = hwsim.pe.run("int_mac", a, w, acc_bits=32, overflow="wrap").out
    wrapped = int(np.count_nonzero(a.astype(np.float64) @ w.astype(np.float64).T != cpu))
    res = from_comparison("bitplane_gemm W8A8 int32 wrap == int_mac", compare(cpu, pe))
    res.figures["wrapped_outputs"] = wrapped
    if wrapped == 0:
        res.passed, res.reason = False, "no output wrapped: the wrap case was not exercised"
    out.append(res)
    return out


@check("trunc_align fit")
def trunc_align_fit(ctx) -> list[Check]:
    from hwsim.reference.checks_torch import fp8_operands
    from hwsim.reference.fit import fit_trunc_align, trunc_align_model

    rng = ctx.rng(31)
    truth = {"mantissa_bits": 13, "chunk": 16, "promote_every": 128}
    _, av = fp8_operands(rng, (8, 512))
    _, wv = fp8_operands(rng, (8, 512))
    observed = trunc_align_model(av, wv, **truth)
    fit = fit_trunc_align(av, wv, observed, mantissa_bits=range(10, 19), chunks=(8, 16, 32))
    got = {k: fit.best[k] for k in truth}
    ok = fit.bit_exact and got == truth
    c = compare(trunc_align_model(av, wv, **got), observed, "float32")
    res = from_comparison("trunc_align fit recovers known parameters", c, ok, **got)
    if not ok:
        res.reason = f"fitted {got}, generated with {truth}"
    return [res]
