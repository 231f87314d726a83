"""float_mac: exact products, accumulator models vs Fraction references, QTensor inputs."""

from __future__ import annotations

import itertools
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
import torch

import hwsim
from hwsim.dtypes import QTensor, QuantSpec
from hwsim.errors import HwsimError
from hwsim.pe.accumulator_reference import accumulate_gemm_reference, round_fraction
from hwsim.pe.accumulator_spec import float_spec

E4M3 = ml_dtypes.float8_e4m3fn


def _qt(values: np.ndarray, fmt: str) -> QTensor:
    f = hwsim.format(fmt)
    return QTensor(f.encode(values), np.ones((1, 1)), None, QuantSpec(fmt))


def test_every_e4m3_product_is_exact():
    vals = hwsim.format("float8_e4m3fn").values()
    vals = vals[np.isfinite(vals)]
    a = vals[:, None]
    w = vals[:, None]
    res = hwsim.pe.run("float_mac", a, w, acc="kulisch", acc_format="fp32")
    exact = np.array([[float(Fraction(x) * Fraction(y)) for y in vals] for x in vals])
    assert np.array_equal(res.out, exact)  # |products| < 2**18 with 8-bit significands


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(acc_format="fp16"),
        dict(acc_format="bf16", order="pairwise", tree_width=4),
        dict(acc_format="e6m15"),
        dict(acc="kulisch", acc_format="bf16"),
        dict(acc="trunc_align", mantissa_bits=13, chunk=8, promote_every=64),
    ],
)
def test_e4m3_gemm_equals_fraction_reference(params, rng):
    pe = hwsim.pe.get_pe("float_mac", **params)
    a = (rng.standard_normal((5, 150)) * 30).astype(E4M3)
    w = rng.standard_normal((4, 150)).astype(E4M3)
    res = pe.run(_qt(a.astype(np.float64), "float8_e4m3fn"), w)
    ref, events = accumulate_gemm_reference(a.astype(np.float64), w.astype(np.float64), pe.acc)
    assert np.array_equal(res.out, ref.astype(np.float64))
    assert res.overflows == int(events.sum())
    assert res.counts["fmul.8x8"] == 5 * 4 * 150


def test_small_case_exact_against_fractions_by_hand():
    """fp16 accumulator, hand-made sums that round: 2048 + 1 + 1 stays 2048 sequentially."""
    a = np.array([[2048.0, 1.0, 1.0]], dtype=np.float16)
    w = np.ones((1, 3), dtype=np.float16)
    seq = hwsim.pe.run("float_mac", a, w, acc_format="fp16").out[0, 0]
    tree = hwsim.pe.run("float_mac", a, w, acc_format="fp16", order="pairwise", tree_width=4).out[
        0, 0
    ]
    exact = hwsim.pe.run("float_mac", a, w, acc="kulisch", acc_format="fp16").out[0, 0]
    assert (seq, tree, exact) == (2048.0, 2048.0, 2050.0)
    b = np.array([[1.0, 1.0, 2048.0]], dtype=np.float16)
    assert hwsim.pe.run("float_mac", b, w, acc_format="fp16").out[0, 0] == 2050.0


def test_fp32_accumulator_matches_torch_sequential_fp32_sum(rng):
    a = rng.standard_normal((3, 64)).astype(np.float16)
    w = rng.standard_normal((2, 64)).astype(np.float16)
    res = hwsim.pe.run("float_mac", a, w, acc_format="fp32")
    for i, j in itertools.product(range(3), range(2)):
        acc = torch.zeros((), dtype=torch.float32)
        for x, y in zip(a[i].astype(np.float64), w[j].astype(np.float64)):
            acc = (acc.double() + x * y).float()  # exact product, RNE to fp32
        assert res.out[i, j] == acc.item()


def test_overflow_counted_and_inf_propagates():
    a = np.full((1, 4), 448.0, dtype=E4M3)
    res = hwsim.pe.run("float_mac", a, a, acc_format="fp16")
    assert res.out[0, 0] == np.inf and res.overflows == 1
    sat = hwsim.pe.run("float_mac", a, a, acc_format="fp16", overflow="saturate")
    assert sat.out[0, 0] == 65504.0 and sat.overflows == 4
    assert round_fraction(Fraction(448 * 448), float_spec("fp16"), True) == (65504.0, 1)
    with pytest.raises(HwsimError, match="overflow event"):
        hwsim.pe.run("float_mac", a, a, acc_format="fp16", on_overflow="raise")


def test_expected_and_check():
    pe = hwsim.pe.get_pe("float_mac", acc_format="fp16")
    est = pe.expected("float8_e4m3fn", "float8_e5m2")
    assert est.counts_per_mac == {"fmul.8x8": 1.0, "fadd.16": 1.0}
    ta = hwsim.pe.get_pe("float_mac", acc="trunc_align", chunk=16, promote_every=128)
    assert ta.expected("float8_e4m3fn", "float8_e4m3fn").counts_per_mac["acc_norm.32"] == 1 / 16
    with pytest.raises(HwsimError, match="not a floating-point format"):
        pe.check("ap_fixed<8,4>", None)


def test_bad_inputs(rng):
    with pytest.raises(HwsimError, match="got integer dtype"):
        hwsim.pe.run("float_mac", np.ones((2, 3), np.int8), np.ones((2, 3)))
    with pytest.raises(HwsimError, match="significands too wide"):
        hwsim.pe.run("float_mac", rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    with pytest.raises(HwsimError, match="float_mac.acc"):
        hwsim.pe.get_pe("float_mac", acc="int")
    with pytest.raises(HwsimError, match="K mismatch"):
        hwsim.pe.run("float_mac", np.ones((2, 3)), np.ones((2, 4)))
