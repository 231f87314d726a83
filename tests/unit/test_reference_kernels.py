"""Reference kernels' CPU fallbacks: equal to their scalar references (exhaustive over every
value pair for the bit-plane GEMM), to hwsim's PEs (mixpe, mixed_dtype, int_mac), and
refusing bad input with one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.reference import triton_kernels as T
from hwsim.reference.checks_kernels import bitmod_weights, fp16_acts, group_model, int4_weights
from hwsim.reference.scalar import bitplane_gemm_scalar, group_gemm_scalar


@pytest.mark.parametrize("ab", range(1, 9))
@pytest.mark.parametrize("wb", [1, 2, 3, 5, 8])
def test_bitplane_every_value_pair(ab, wb):
    a = np.arange(-(2 ** (ab - 1)), 2 ** (ab - 1)).reshape(-1, 1)
    w = np.arange(-(2 ** (wb - 1)), 2 ** (wb - 1)).reshape(-1, 1)
    got = T.bitplane_gemm(a, w, ab, wb, backend="cpu")
    np.testing.assert_array_equal(got, a @ w.T)


def test_bitplane_matches_scalar_and_int_mac(rng):
    a = rng.integers(-8, 8, (5, 70))
    w = rng.integers(-16, 16, (6, 70))
    got = T.bitplane_gemm(a, w, 4, 5, backend="cpu")
    np.testing.assert_array_equal(got, bitplane_gemm_scalar(a.tolist(), w.tolist()))
    np.testing.assert_array_equal(got, hwsim.pe.run("int_mac", a, w).out)


def test_bitplane_wraps_like_int32():
    K = 140_000
    a = np.full((1, K), -128)
    w = np.full((2, K), -128)
    w[1, ::2] = 127
    got = T.bitplane_gemm(a, w, 8, 8, backend="cpu")
    exact = [16384 * K, 16384 * (K // 2) - 128 * 127 * (K // 2)]  # by hand
    assert exact[0] > 2**31  # the case really wraps
    np.testing.assert_array_equal(got[0], [T.wrap_int32(np.int64(v)) for v in exact])
    pe = hwsim.pe.run("int_mac", a, w, acc_bits=32, overflow="wrap")
    np.testing.assert_array_equal(got, pe.out)
    assert pe.overflows > 0


def test_pack_unpack_every_code_pair():
    codes = np.array([[i, j] for i in range(16) for j in range(16)], np.uint8).reshape(1, -1)
    packed = T.pack_int4(codes)
    want = [i | (j << 4) for i in range(16) for j in range(16)]  # element 2i: low nibble
    assert packed.shape == (1, 256) and packed[0].tolist() == want
    np.testing.assert_array_equal(T.unpack_int4(packed, codes.shape[1]), codes)
    np.testing.assert_array_equal(T.unpack_int4(T.pack_int4(codes[:, :5]), 5), codes[:, :5])


@pytest.mark.parametrize("symmetric", [True, False])
def test_group_gemm_int4_equals_scalar_and_mixpe(rng, symmetric):
    qt = int4_weights(rng, 5, 256, symmetric)
    a = fp16_acts(rng, 3, 256)
    gw = T.weights_from_qtensor(qt)
    got = T.group_gemm(a, gw, backend="cpu")
    ref = group_gemm_scalar(
        a.tolist(), gw.codes, gw.lut, gw.format_ids, gw.scales, gw.zero_points, gw.group_size
    )
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(got, hwsim.pe.run("mixpe", a, qt).out)
    np.testing.assert_array_equal(got, T.group_gemm_numpy(a, gw))
    assert (gw.zero_points is None) == symmetric


def test_group_gemm_bitmod_model_and_mixed_dtype(rng):
    qt = bitmod_weights(rng, 6, 256)
    assert len(set(qt.format_ids.ravel().tolist())) > 1  # a real mixture of datatypes
    a = fp16_acts(rng, 3, 256)
    gw = T.weights_from_qtensor(qt)
    got = T.group_gemm(a, gw, backend="cpu")
    ref = group_gemm_scalar(a.tolist(), gw.codes, gw.lut, gw.format_ids, gw.scales, None, 128)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(got, group_model(a, qt))
    np.testing.assert_array_equal(got, T.group_gemm_numpy(a, gw))
    ints = rng.integers(-64, 65, (3, 256)).astype(np.float64)  # fp32 group sums exact
    np.testing.assert_array_equal(
        T.group_gemm(ints, gw, backend="cpu"), hwsim.pe.run("mixed_dtype", ints, qt).out
    )


def test_group_gemm_errors(rng):
    qt = int4_weights(rng, 2, 128)
    gw = T.weights_from_qtensor(qt)
    with pytest.raises(HwsimError, match="K mismatch"):
        T.group_gemm(np.zeros((1, 64)), gw, backend="cpu")
    with pytest.raises(HwsimError, match="finite in FP16"):
        T.group_gemm(np.full((1, 128), 1e6), gw, backend="cpu")
    with pytest.raises(HwsimError, match="backend: expected auto, triton or cpu"):
        T.group_gemm(np.zeros((1, 128)), gw, backend="gpu")
    with pytest.raises(HwsimError, match="codes must be 4-bit"):
        T.make_weights(np.full((1, 128), 16), np.zeros((1, 16)), 0, 1.0)
    with pytest.raises(HwsimError, match="group_size 100 must divide K=128"):
        T.make_weights(np.zeros((1, 128), int), np.zeros((1, 16)), 0, 1.0, group_size=100)
    with pytest.raises(HwsimError, match="13 significant bits"):
        T.make_weights(np.zeros((1, 128), int), np.full((1, 16), 1 + 2.0**-20), 0, 1.0)
    with pytest.raises(HwsimError, match="format_ids must index"):
        T.make_weights(np.zeros((1, 128), int), np.zeros((1, 16)), 1, 1.0)
    with pytest.raises(HwsimError, match="zero points must be integers"):
        T.make_weights(np.zeros((1, 128), int), np.zeros((1, 16)), 0, 1.0, 0.5)
    w8 = hwsim.quantize(rng.standard_normal((2, 128)), hwsim.QuantSpec(format="int8"))
    with pytest.raises(HwsimError, match="at most 4-bit codes"):
        T.weights_from_qtensor(w8)


def test_bitplane_errors():
    with pytest.raises(HwsimError, match=r"a values must lie in \[-8, 7\]"):
        T.bitplane_gemm(np.array([[8]]), np.array([[1]]), 4, 4, backend="cpu")
    with pytest.raises(HwsimError, match="w_bits must be an integer in"):
        T.bitplane_gemm(np.array([[1]]), np.array([[1]]), 4, 9, backend="cpu")
    with pytest.raises(HwsimError, match="K mismatch"):
        T.bitplane_gemm(np.zeros((1, 2), int), np.zeros((1, 3), int), 4, 4, backend="cpu")
    with pytest.raises(HwsimError, match="2-D integer array"):
        T.bitplane_gemm(np.zeros((1, 2)), np.zeros((1, 2), int), 4, 4, backend="cpu")


def test_triton_backend_refused_without_gpu(rng):
    if T.triton_available():
        pytest.skip("a Triton GPU is present; tests/gpu covers the kernels")
    with pytest.raises(HwsimError, match="needs triton, torch and a CUDA GPU"):
        T.bitplane_gemm(np.zeros((1, 2), int), np.zeros((1, 2), int), 4, 4, backend="triton")
    assert T.bitplane_gemm(np.ones((1, 2), int), np.ones((1, 2), int), 2, 2).tolist() == [[2]]


def test_group_gemm_every_code_of_every_table_equals_scalar(rng):
    lut = rng.integers(-16, 17, (3, 16)).astype(np.float64)  # three datatypes, 16 codes each
    codes = np.tile(np.arange(16), (6, 8))  # [6, 128]: every code in every group
    fid = np.array([[0], [1], [2], [0], [1], [2]])
    scales = rng.uniform(0.01, 1.0, (6, 1))
    zps = rng.integers(-3, 4, (6, 1)).astype(np.float64)
    a = fp16_acts(rng, 2, 128)
    for z in (None, zps):
        gw = T.make_weights(codes, lut, fid, scales, z, group_size=128)
        got = T.group_gemm(a, gw, backend="cpu")
        ref = group_gemm_scalar(
            a.tolist(), gw.codes, gw.lut, gw.format_ids, gw.scales, gw.zero_points, 128
        )
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(T.group_gemm_numpy(a, gw), ref)


def test_group_gemm_bitmod_within_bound_of_bitmod_pe(rng):
    from hwsim.reference.checks_kernels import _group_bound

    qt = bitmod_weights(rng, 16, 256)
    a = fp16_acts(rng, 3, 256)
    got = T.group_gemm(a, T.weights_from_qtensor(qt), backend="cpu")
    pe = hwsim.pe.run("bitmod", a, qt, group_acc="exact", align_guard_bits=None).out
    ok, ratio = _group_bound(a, qt, got, pe)
    assert ok and 0 < ratio <= 1
    worse = got * (1 + 2.0**-10)  # a kernel 2**-10 off must fall outside the bound
    assert not _group_bound(a, qt, worse, pe)[0]
