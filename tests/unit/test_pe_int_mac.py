"""int_mac: exact integer GEMM against torch._int_mm and Python ints; counts; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hwsim
from hwsim.dtypes import QTensor, QuantSpec
from hwsim.errors import HwsimError
from hwsim.pe.accumulator_reference import accumulate_gemm_reference
from hwsim.pe.accumulator_spec import Accumulator
from hwsim.pe.int_mac import dequantize_output, signed_width


def _int_mm(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    ta, tw = torch.from_numpy(a.astype(np.int8)), torch.from_numpy(w.astype(np.int8))
    return torch._int_mm(ta, tw.T.contiguous()).numpy().astype(np.int64)


def test_equals_torch_int_mm_fast_path(rng):
    a = rng.integers(-128, 128, (33, 300), dtype=np.int8)
    w = rng.integers(-128, 128, (17, 300), dtype=np.int8)
    res = hwsim.pe.run("int_mac", a, w)
    assert res.info["fast_path"]
    assert np.array_equal(res.out, _int_mm(a, w))
    assert np.array_equal(res.out, a.astype(np.int64) @ w.astype(np.int64).T)
    assert res.overflows == 0


def test_equals_torch_int_mm_when_int32_wraps():
    K = 140_000  # 140000 * 16384 > 2**31: every all-max dot product wraps
    a = np.full((3, K), -128, np.int8)
    a[1, ::2] = 127
    w = np.full((2, K), -128, np.int8)
    w[1] = 127
    res = hwsim.pe.run("int_mac", a, w)
    assert not res.info["fast_path"]
    assert np.array_equal(res.out, _int_mm(a, w))
    exact = a.astype(object) @ w.astype(object).T
    wrapped = np.vectorize(lambda v: (v + 2**31) % 2**32 - 2**31)(exact).astype(np.int64)
    assert np.array_equal(res.out, wrapped)
    assert res.overflows > 0 and res.overflows == res.info["overflow_events"].sum()


@pytest.mark.parametrize(
    "params",
    [
        dict(acc_bits=16),
        dict(acc_bits=16, overflow="saturate"),
        dict(acc_bits=18, order="pairwise", tree_width=4),
        dict(acc_bits=20, overflow="saturate", order="pairwise", tree_width=16),
    ],
)
def test_narrow_accumulators_equal_python_reference(params, rng):
    pe = hwsim.pe.get_pe("int_mac", **params)
    for a, w in [
        (rng.integers(-128, 128, (6, 90)), rng.integers(-128, 128, (5, 90))),
        (np.full((2, 64), -128), np.full((3, 64), -128)),
        (np.tile([127, -128], (2, 32)), np.tile([127, -128], (2, 32))),
    ]:
        res = pe.run(a, w)
        ref, events = accumulate_gemm_reference(a, w, pe.acc)
        assert np.array_equal(res.out, ref)
        assert res.overflows == int(events.sum())


def test_counts_and_cycles_follow_shapes(rng):
    a = rng.integers(-8, 8, (4, 10))
    w = rng.integers(-128, 128, (7, 10))
    res = hwsim.pe.run("int_mac", a, w)
    assert res.counts.as_dict() == {"add.32": 280, "mul.4x8": 280}
    assert res.cycles == 280


def test_qtensor_operands_with_zero_points_and_dequantized_output(rng):
    fmt = "ap_fixed<8,8>"  # an integer-valued format: int8 codes
    f = hwsim.format(fmt)
    av = rng.integers(-100, 100, (3, 12)).astype(np.float64)
    wv = rng.integers(-100, 100, (4, 12)).astype(np.float64)
    a = QTensor(f.encode(av), np.array([[0.5]]), np.array([[3.0]]), QuantSpec(fmt))
    w = QTensor(f.encode(wv), np.full((4, 1), 0.25), None, QuantSpec(fmt, granularity="channel"))
    res = hwsim.pe.run("int_mac", a, w)
    want = (av - 3).astype(np.int64) @ wv.astype(np.int64).T
    assert np.array_equal(res.out, want)
    assert res.counts["mul.9x8"] == 3 * 4 * 12 and res.counts["add.8"] == 36
    assert np.array_equal(dequantize_output(res.out, a, w), want * 0.5 * 0.25)


def test_signed_width():
    assert signed_width(-128, 127) == 8
    assert signed_width(0, 128) == 9
    assert signed_width(-1, 0) == 1


def test_expected_estimate():
    est = hwsim.pe.get_pe("int_mac", acc_bits=24).expected("ap_fixed<4,4>", "ap_fixed<8,8>")
    assert est.cycles_per_mac == 1.0
    assert est.counts_per_mac == {"mul.4x8": 1.0, "add.24": 1.0}


def test_overflow_raises_only_when_asked():
    a, w = np.full((1, 4), 127), np.full((1, 4), 127)
    assert hwsim.pe.run("int_mac", a, w, acc_bits=16).overflows == 1
    with pytest.raises(HwsimError, match=r"int_mac: 1 accumulator overflow event"):
        hwsim.pe.run("int_mac", a, w, acc_bits=16, on_overflow="raise")


def test_bad_inputs_are_one_line_errors(rng):
    a = rng.integers(-8, 8, (2, 5))
    with pytest.raises(HwsimError, match="K mismatch"):
        hwsim.pe.run("int_mac", a, rng.integers(-8, 8, (2, 6)))
    with pytest.raises(HwsimError, match="expected integer codes"):
        hwsim.pe.run("int_mac", a.astype(np.float32), a)
    e4m3 = hwsim.format("float8_e4m3fn")
    qt = QTensor(e4m3.encode(np.ones((2, 5))), np.ones((1, 1)), None, QuantSpec("float8_e4m3fn"))
    with pytest.raises(HwsimError, match="float8_e4m3fn is not an integer format"):
        hwsim.pe.run("int_mac", qt, a)
    with pytest.raises(HwsimError, match="not an integer format"):
        hwsim.pe.get_pe("int_mac").check("float8_e4m3fn", None)
    with pytest.raises(HwsimError, match="unknown parameter"):
        hwsim.pe.run("int_mac", a, a, acc_width=3)
    with pytest.raises(HwsimError, match="on_overflow"):
        hwsim.pe.run("int_mac", a, a, on_overflow="ignore")
    assert isinstance(hwsim.pe.get_pe("int_mac").acc, Accumulator)


def test_quantized_pipeline_int8_and_fp8(rng):
    x, w = rng.standard_normal((8, 64)), rng.standard_normal((16, 64))
    qa = hwsim.quantize(x, QuantSpec("int8"))
    qw = hwsim.quantize(w, QuantSpec("int8", granularity="channel"))
    res = hwsim.pe.run("int_mac", qa, qw)
    f = hwsim.format("int8")
    want = f.decode(qa.codes).astype(np.int64) @ f.decode(qw.codes).astype(np.int64).T
    assert np.array_equal(res.out, want)
    approx = dequantize_output(res.out, qa, qw)
    assert np.allclose(approx, hwsim.dequantize(qa) @ hwsim.dequantize(qw).T, rtol=0, atol=1e-9)
