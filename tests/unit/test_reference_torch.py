"""Torch paths on CPU: FP8 casts == hwsim byte for byte (all codes, midpoints, random),
_int_mm == int_mac (wrap included), _scaled_mm and BF16/FP16 GEMM within their bounds,
one-line errors, and a clear message without torch."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.reference.battery import compare_codes
from hwsim.reference.checks_torch import U32, cast_inputs, exact_gemm, fp8_operands, within_bound

torch = pytest.importorskip("torch")
from hwsim.reference import torch_ops as TO  # noqa: E402

CASES = [
    ("float8_e4m3fn", "clamp", True),
    # torch >= 2.12 saturates e4m3fn, inf included (NaN before)
    ("float8_e4m3fn", "native", TO.native_e4m3fn_saturates()),
    ("float8_e5m2", "clamp", True),
    ("float8_e5m2", "native", False),  # e5m2 overflows to inf
]


@pytest.mark.parametrize(
    ("version", "saturates"), [("2.13.0+cpu", True), ("2.12.1", True), ("2.11.0+cu130", False)]
)
def test_native_e4m3fn_saturation_follows_torch_version(monkeypatch, version, saturates):
    monkeypatch.setattr(torch, "__version__", version)
    assert TO.native_e4m3fn_saturates() is saturates


@pytest.mark.parametrize("kind", ["codes", "midpoints", "random"])
@pytest.mark.parametrize(("name", "mode", "saturate"), CASES)
def test_fp8_cast_equals_hwsim(rng, name, mode, saturate, kind):
    fmt = hwsim.format(name)
    x = cast_inputs(fmt, kind, rng, n_random=1 << 14)
    got = TO.cast_fp8(x, name, mode, "cpu")
    want = fmt.encode(x, saturate=saturate)
    c = compare_codes(got, want, fmt)
    assert c.bit_exact, (c, x[got != want][:8])


def test_cast_facts_from_reference():
    # measured (ml_dtypes, torch 2.13): e4m3fn 464 -> 448 (tie to even), 465 -> 448 in torch
    # (saturates)
    x = np.array([464, 465, np.inf, -np.inf, 61440, 57344], np.float32)
    assert TO.cast_fp8(x[:4], "float8_e4m3fn", device="cpu").tolist() == [126, 126, 126, 254]
    assert TO.cast_fp8(x[4:], "float8_e5m2", device="cpu").tolist() == [124, 123]
    assert TO.decode_fp8([126, 124], "float8_e4m3fn", "cpu").tolist() == [448.0, 384.0]


def test_midpoints_cover_overflow_boundary():
    x = cast_inputs(hwsim.format("float8_e4m3fn"), "midpoints", np.random.default_rng(0))
    assert 464.0 in x and np.nextafter(np.float32(464), np.float32(500)) in x


def test_int_mm_equals_int_mac_with_wrap(rng):
    a = rng.integers(-128, 128, (9, 40))
    w = rng.integers(-128, 128, (7, 40))
    np.testing.assert_array_equal(TO.int_mm(a, w, "cpu"), a @ w.T)
    K = 131_200
    a = np.full((2, K), -128)
    w = np.full((3, K), -128)
    got = TO.int_mm(a, w, "cpu")
    assert got[0, 0] == 16384 * K - 2**32  # wrapped once
    np.testing.assert_array_equal(got, hwsim.pe.run("int_mac", a, w, acc_bits=32).out)


def test_scaled_mm_cpu_is_fp32_matmul_within_bound(rng):
    (ac, av), (wc, wv) = fp8_operands(rng, (8, 256)), fp8_operands(rng, (16, 256))
    got = TO.scaled_mm(ac, wc, device="cpu")
    ok, ratio = within_bound(got, exact_gemm(av, wv), av, wv, 258 * U32)
    assert ok and ratio <= 1
    sa, sw = np.float32(0.5), np.float32(4.0)  # powers of two: scaling is exact
    scaled = TO.scaled_mm(ac, wc, scale_a=sa, scale_w=sw, output_scale=0.25, device="cpu")
    np.testing.assert_array_equal(scaled, got * 0.5)
    rows = np.full((8, 1), 2.0, np.float32)
    cols = np.full((1, 16), 0.5, np.float32)
    per_row = TO.scaled_mm(ac, wc, scale_a=rows, scale_w=cols, device="cpu")
    np.testing.assert_array_equal(per_row, got)
    bf = TO.scaled_mm(ac, wc, device="cpu", out_dtype="bfloat16")
    np.testing.assert_array_equal(bf, hwsim.format("bfloat16").round(got))  # one RNE of fp32
    with pytest.raises(HwsimError, match="out_dtype must be float32 or bfloat16"):
        TO.scaled_mm(ac, wc, device="cpu", out_dtype="float16")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_gemm16_within_bound(rng, dtype):
    from hwsim.reference.checks_torch import _out_ulp

    a = rng.standard_normal((6, 128)).astype(np.float32)
    w = rng.standard_normal((5, 128)).astype(np.float32)
    got = TO.gemm16(a, w, dtype, "cpu")
    f = hwsim.format(dtype)
    av, wv = f.round(a), f.round(w)
    exact = exact_gemm(av, wv)
    ok, _ = within_bound(got, exact, av, wv, 130 * U32, _out_ulp(exact, dtype))
    assert ok
    np.testing.assert_array_equal(f.round(got), got)  # outputs are values of the type


def test_errors():
    with pytest.raises(HwsimError, match="fp8 format: expected one of"):
        TO.cast_fp8(np.zeros(2), "float8_e3m4", device="cpu")
    with pytest.raises(HwsimError, match="cast mode: expected native or clamp"):
        TO.cast_fp8(np.zeros(2), "float8_e5m2", "round", "cpu")
    with pytest.raises(HwsimError, match=r"int_mm: a: values must lie in \[-128, 127\]"):
        TO.int_mm(np.full((2, 2), 300), np.zeros((2, 2), int), "cpu")
    with pytest.raises(HwsimError, match="K mismatch"):
        TO.int_mm(np.zeros((2, 3), int), np.zeros((2, 2), int), "cpu")
    with pytest.raises(HwsimError, match="scale_a must be a scalar or of shape"):
        TO.scaled_mm(np.zeros((2, 16), np.uint8), np.zeros((2, 16), np.uint8), scale_a=np.ones(3))
    with pytest.raises(HwsimError, match="gemm16: dtype must be bfloat16 or float16"):
        TO.gemm16(np.zeros((1, 1)), np.zeros((1, 1)), "float32", "cpu")
    with pytest.raises(HwsimError, match="device: expected auto, cpu or cuda"):
        TO.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(HwsimError, match="'cuda' requested but torch sees no CUDA GPU"):
            TO.resolve_device("cuda")


def test_without_torch_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    assert not TO.torch_available()
    with pytest.raises(HwsimError, match=r"needs torch: pip install 'hwsim\[torch\]'"):
        TO.int_mm(np.zeros((1, 1), int), np.zeros((1, 1), int))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "mode", "saturate"), CASES)
def test_fp8_cast_every_float32_high_pattern(name, mode, saturate):
    # every float32 sign/exponent/top-15-mantissa pattern, with low bits 0 and 0x80 (tie region)
    fmt = hwsim.format(name)
    hi = np.arange(2**24, dtype=np.uint32) << 8
    for low in (0x00, 0x80):
        with np.errstate(invalid="ignore"):
            x = (hi | low).view(np.float32)
        got = TO.cast_fp8(x, name, mode, "cpu")
        assert compare_codes(got, fmt.encode(x, saturate=saturate), fmt).bit_exact
