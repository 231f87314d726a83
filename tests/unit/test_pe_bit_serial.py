"""Stripes and Loom: exact integer outputs (== bit-serial scalar reference == Python ints),
cycles from the actual precisions, counts consistent with shapes."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.pe.bit_serial import (
    LoomPE,
    StripesPE,
    chunk_precision,
    digits_scalar,
    exact_int_matmul,
    serial_reference,
)
from hwsim.pe.int_mac import signed_width


def python_matmul(a, w):
    return np.array(
        [[sum(int(x) * int(y) for x, y in zip(r, c, strict=True)) for c in w] for r in a],
        dtype=object,
    )


def int_cases(rng):
    yield rng.integers(-128, 128, (3, 37)), rng.integers(-128, 128, (4, 37))  # int8, ragged K
    yield rng.integers(0, 256, (2, 32)), rng.integers(-8, 8, (3, 32))  # uint8 x int4
    yield np.full((2, 16), -128), np.full((3, 16), -128)  # all extreme
    alt = np.tile([127, -128], (2, 8))
    yield alt, -alt[:1]
    sparse = rng.integers(-3, 4, (3, 48))
    sparse[:, 16:32] = 0
    yield sparse, rng.integers(-100, 100, (2, 48))


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("lanes", [1, 4, 16])
def test_stripes_equals_reference_and_exact(rng, dynamic, lanes):
    for a, w in int_cases(rng):
        pe = StripesPE(lanes=lanes, dynamic=dynamic)
        res = pe.run(a, w)
        exact = python_matmul(a, w)
        assert res.out.dtype == np.int64
        np.testing.assert_array_equal(res.out, exact.astype(np.int64))
        static = np.full((a.shape[0], -(-a.shape[1] // lanes)), signed_width(a.min(), a.max()))
        pa = chunk_precision(a, lanes) if dynamic else static
        pw = chunk_precision(w, lanes)
        ref = serial_reference(a, w, lanes, pa, pw, 1, lambda q: q)
        np.testing.assert_array_equal(ref, exact.astype(np.int64))
        assert np.all(res.tile_cycles == res.tile_cycles[:, :1])  # weights parallel
        assert res.cycles == int(res.tile_cycles.sum())


@pytest.mark.parametrize("b", [1, 2, 4])
@pytest.mark.parametrize("dynamic", [False, True])
def test_loom_equals_reference_and_exact(rng, b, dynamic):
    for a, w in int_cases(rng):
        pe = LoomPE(lanes=8, dynamic=dynamic, bits_per_cycle=b)
        res = pe.run(a, w)
        exact = python_matmul(a, w).astype(np.int64)
        np.testing.assert_array_equal(res.out, exact)
        pa, pw = chunk_precision(a, 8), chunk_precision(w, 8)
        np.testing.assert_array_equal(serial_reference(a, w, 8, pa, pw, b, lambda q: b), exact)
        if dynamic:
            expect = (-(-pa // b)) @ (-(-pw // b)).T
            np.testing.assert_array_equal(res.tile_cycles, expect)


def test_cycles_follow_precision():
    a = np.array([[1, 2, 3, 1], [100, -100, 5, 0]])
    w = np.array([[1, -1, 1, -1]])
    st = StripesPE(lanes=4, dynamic=True).run(a, w)
    assert st.tile_cycles[:, 0].tolist() == [2, 8]  # 0..3 -> 2 bits; +-100 -> 8 bits signed
    static = StripesPE(lanes=4).run(a, w)  # array operand: tensor width 8
    assert static.tile_cycles[:, 0].tolist() == [8, 8]
    lo = LoomPE(lanes=4, dynamic=True, bits_per_cycle=1).run(a, w)
    assert lo.tile_cycles[:, 0].tolist() == [2 * 2, 8 * 2]  # w: +-1 -> 2 bits signed
    lo2 = LoomPE(lanes=2, dynamic=True, bits_per_cycle=2).run(a, w)
    # row 0 chunks {1,2}: 2 bits, {3,1}: 2 bits; w chunks 2 bits -> 1 step each
    assert lo2.tile_cycles[0, 0] == 2


def test_qtensor_operands_and_counts(rng):
    x = rng.standard_normal((3, 64))
    y = rng.standard_normal((5, 64))
    qa = hwsim.quantize(x, hwsim.QuantSpec(format="int8"))
    qw = hwsim.quantize(y, hwsim.QuantSpec(format="int4", granularity="channel"))
    res = StripesPE(lanes=16).run(qa, qw)
    av = hwsim.format("int8").decode(qa.codes).astype(np.int64)
    wv = hwsim.format("int4").decode(qw.codes).astype(np.int64)
    np.testing.assert_array_equal(res.out, av @ wv.T)
    M, N, K = 3, 5, 64
    assert res.cycles == M * N * (K // 16) * 8  # static: 8 activation bits per chunk
    assert res.counts["and.4"] == M * N * K * 8
    assert res.counts["add.18"] == M * N * K * 8  # 8 + 4 + log2(64)
    assert res.counts["shift.18"] == res.cycles
    assert res.counts["reg_write.18"] == M * N
    loom = LoomPE(lanes=16, bits_per_cycle=2).run(qa, qw)
    assert loom.cycles == M * N * (K // 16) * 4 * 2
    assert loom.counts["mul.2x2"] == M * N * K * 8
    assert LoomPE().expected("int8", "int4").cycles_per_mac == pytest.approx(32 / 16)
    assert StripesPE().expected("int8", "int8").cycles_per_mac == pytest.approx(8 / 16)


def test_digits_and_wide_operands():
    assert digits_scalar(-5, 4, 2, True) == [3, -2]  # -5 = 3 + (-2)*4
    assert digits_scalar(13, 4, 2, False) == [1, 3]
    assert digits_scalar(-1, 3, 2, True) == [3, -1]
    big = np.array([[2**30, -(2**30)]])
    np.testing.assert_array_equal(exact_int_matmul(big, big, "t"), [[2**61]])
    with pytest.raises(HwsimError, match="too wide"):
        exact_int_matmul(np.array([[2**40]]), np.array([[2**40]]), "t")


def test_registry_and_errors(rng):
    kinds = hwsim.pe.pe_kinds()
    assert "stripes" in kinds and "loom" in kinds
    a = rng.integers(-4, 4, (2, 8))
    np.testing.assert_array_equal(hwsim.pe.run("loom", a, a, bits_per_cycle=2).out, a @ a.T)
    with pytest.raises(HwsimError, match="loom.bits_per_cycle"):
        LoomPE(bits_per_cycle=3)
    with pytest.raises(HwsimError, match="stripes.lanes"):
        StripesPE(lanes=0)
    with pytest.raises(HwsimError, match="K mismatch"):
        StripesPE().run(a, a[:, :4])
    with pytest.raises(HwsimError, match="integer codes or a QTensor"):
        StripesPE().run(a.astype(float), a)
    with pytest.raises(HwsimError, match="not an integer format"):
        StripesPE().check("float8_e4m3fn", "int8")


def test_outputs_equal_torch_integer_matmul(rng):
    torch = pytest.importorskip("torch")
    a = rng.integers(-128, 128, (5, 300))
    w = rng.integers(-128, 128, (7, 300))
    oracle = (torch.from_numpy(a) @ torch.from_numpy(w).T).numpy()  # int64, exact
    for pe in (StripesPE(dynamic=True), LoomPE(bits_per_cycle=2, dynamic=True)):
        np.testing.assert_array_equal(pe.run(a, w).out, oracle)
