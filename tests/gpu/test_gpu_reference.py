"""On a CUDA GPU: torch CUDA paths and Triton kernels against hwsim, bit for bit where the
numerics are defined (casts, _int_mm, Triton kernels vs their CPU fallbacks), and the FP8
accumulator fit (skipped cleanly without a GPU, see tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.reference.battery import compare_codes
from hwsim.reference.checks_kernels import bitmod_weights, fp16_acts, int4_weights
from hwsim.reference.checks_torch import cast_inputs, exact_gemm, fp8_operands
from hwsim.reference.compare import compare

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("kind", ["codes", "midpoints", "random"])
@pytest.mark.parametrize(
    ("name", "mode", "saturate"),
    [("float8_e4m3fn", "clamp", True), ("float8_e4m3fn", "native", None),
     ("float8_e5m2", "clamp", True), ("float8_e5m2", "native", False)],
)  # fmt: skip
def test_cuda_casts_equal_hwsim(rng, name, mode, saturate, kind):
    from hwsim.reference.torch_ops import cast_fp8, native_e4m3fn_saturates

    if saturate is None:  # torch's own e4m3fn cast: saturating from torch 2.12
        saturate = native_e4m3fn_saturates()
    fmt = hwsim.format(name)
    x = cast_inputs(fmt, kind, rng)
    assert compare_codes(
        cast_fp8(x, name, mode, "cuda"), fmt.encode(x, saturate=saturate), fmt
    ).bit_exact


def test_cuda_int_mm_equals_int_mac_with_wrap(rng):
    from hwsim.reference.torch_ops import int_mm

    a = rng.integers(-128, 128, (32, 256))
    w = rng.integers(-128, 128, (24, 256))
    np.testing.assert_array_equal(int_mm(a, w, "cuda"), hwsim.pe.run("int_mac", a, w).out)
    K = 131_200
    a = np.full((32, K), -128)
    w = np.full((16, K), -128)
    got = int_mm(a, w, "cuda")
    np.testing.assert_array_equal(got, hwsim.pe.run("int_mac", a, w, acc_bits=32).out)
    assert got[0, 0] == 16384 * K - 2**32


@pytest.mark.parametrize("M", [1, 16, 40])  # decode row block, full block, ragged blocks
@pytest.mark.parametrize("symmetric", [True, False])
def test_triton_group_gemm_int4_equals_fallback_and_mixpe(rng, symmetric, M):
    from hwsim.reference import triton_kernels as T

    qt = int4_weights(rng, 256, 1024, symmetric)
    a = fp16_acts(rng, M, 1024)
    gw = T.weights_from_qtensor(qt)
    got = T.group_gemm(a, gw, "triton")
    np.testing.assert_array_equal(got, T.group_gemm(a, gw, "cpu"))
    np.testing.assert_array_equal(got, hwsim.pe.run("mixpe", a, qt).out)


def test_triton_group_gemm_bitmod_equals_fallback(rng):
    from hwsim.reference import triton_kernels as T

    qt = bitmod_weights(rng, 128, 512)
    a = fp16_acts(rng, 5, 512)
    gw = T.weights_from_qtensor(qt)
    np.testing.assert_array_equal(T.group_gemm(a, gw, "triton"), T.group_gemm(a, gw, "cpu"))


@pytest.mark.parametrize(("ab", "wb"), [(8, 8), (4, 4), (3, 5), (1, 2)])
def test_triton_bitplane_equals_int_mac(rng, ab, wb):
    from hwsim.reference import triton_kernels as T

    a = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (70, 300))
    w = rng.integers(-(2 ** (wb - 1)), 2 ** (wb - 1), (90, 300))
    got = T.bitplane_gemm(a, w, ab, wb, "triton")
    np.testing.assert_array_equal(got, hwsim.pe.run("int_mac", a, w, acc_bits=32).out)
    K = 140_000
    a = np.full((2, K), -(2 ** (ab - 1)))
    w = np.full((3, K), -(2 ** (wb - 1)))
    np.testing.assert_array_equal(
        T.bitplane_gemm(a, w, ab, wb, "triton"), T.bitplane_gemm(a, w, ab, wb, "cpu")
    )


@pytest.mark.parametrize("fast", [False, True])
def test_scaled_mm_fit_no_worse_than_exact(rng, fast):
    from hwsim.reference.fit import fit_trunc_align
    from hwsim.reference.torch_ops import scaled_mm

    (ac, av), (wc, wv) = fp8_operands(rng, (32, 1024)), fp8_operands(rng, (16, 1024))
    got = scaled_mm(ac, wc, use_fast_accum=fast, device="cuda")
    fit = fit_trunc_align(av, wv, got)
    vs_exact = compare(got, exact_gemm(av, wv), "float32")
    assert fit.best["mismatches"] <= vs_exact.mismatches
    assert fit.best["max_ulp"] < np.inf
