"""int_mac's fast operand path and float32 BLAS: the narrow integers equal the general decode
on every code of every integer format up to 16 bits, and the GEMM equals the exact
accumulator model (int32 wrap included) on both sides of each exactness bound."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import hwsim
from hwsim.dtypes import QTensor, QuantSpec
from hwsim.errors import HwsimError
from hwsim.pe.accumulators import accumulate_gemm
from hwsim.pe.int_mac import IntMAC, integer_operand, narrow_integers

NAMES = [f"int{b}" for b in range(2, 17)] + [f"uint{b}" for b in range(1, 17)]
NAMES += [f"int{b}_sym" for b in range(2, 17)]


def every_code(name: str) -> QTensor:
    """A [rows, 8] QTensor of `name` holding each of its codes once (the symmetric formats'
    unused code left out), in the code dtype the quantizer stores."""
    fmt = hwsim.dtypes.format(name)
    spec = QuantSpec(format=name, granularity="channel")
    dtype = hwsim.quantize(np.ones((1, 8)), spec).codes.dtype
    codes = np.arange(2**fmt.width, dtype=np.int64)
    if fmt.symmetric:
        codes = codes[codes != fmt.missing_code]
    codes = np.resize(codes, (-(-codes.size // 8), 8)).astype(dtype)
    return QTensor(codes, np.ones((codes.shape[0], 1)), None, spec)


@pytest.mark.parametrize("name", NAMES)
def test_narrow_integers_equal_general_decode_on_every_code(name):
    x = every_code(name)
    vals, bits = narrow_integers(x, "t")
    ref, ref_bits, subs = integer_operand(x, "t")
    assert vals.dtype.itemsize == x.codes.dtype.itemsize  # no widening copy
    np.testing.assert_array_equal(vals.astype(np.int64), ref)
    assert bits == ref_bits and subs == 0


def test_narrow_integers_leave_the_rest_to_the_general_path(rng):
    x = every_code("int8")
    assert narrow_integers(x, "t") is not None
    zp = replace(x, zero_points=np.ones_like(x.scales))
    assert narrow_integers(zp, "t") is None  # zero points: integer_operand subtracts them
    assert narrow_integers(np.zeros((2, 2), np.int8), "t") is None  # plain arrays
    wide = replace(every_code("int4"), codes=np.array([[16, 0]], np.uint8))  # past 4 bits
    assert narrow_integers(wide, "t") is None
    with pytest.raises(HwsimError, match=r"codes must lie in \[0, 2\*\*4\)"):
        integer_operand(wide, "t")
    sym = every_code("int8_sym")
    bad = replace(sym, codes=np.array([[128, 1]], np.uint8))  # the unused -128
    with pytest.raises(HwsimError, match="unused"):
        narrow_integers(bad, "t")


def qt(codes, name="int8"):
    spec = QuantSpec(format=name, granularity="channel")
    return QTensor(codes.astype(np.uint8), np.ones((codes.shape[0], 1)), None, spec)


def exact(a, w, acc):
    out, events = accumulate_gemm(a.astype(np.int64), w.astype(np.int64), acc)
    return out, int(events.sum())


@pytest.mark.parametrize(
    ("K", "fill", "path"),
    [
        (1040, 127, "float32"),  # 1040 * 127 * 127 < 2**24
        (1041, 127, "float64"),  # past 2**24: float64 BLAS
        (1024, -128, "float32"),  # 1024 * 128 * 128 = 2**24 exactly
        (1025, -128, "float64"),
        (140_000, -128, "kernel"),  # int32 wraps
    ],
)
def test_gemm_equals_exact_accumulator_at_each_bound(rng, K, fill, path):
    lo = -abs(fill)  # max |value| is the bound's: 127 or 128
    a = rng.integers(lo, 128, (5, K))
    w = rng.integers(lo, 128, (4, K))
    a[0] = fill  # the extreme dot products the bound is made of
    w[0] = fill
    w[1] = 127
    w[2, ::2] = lo  # a row with both extremes
    pe = IntMAC()
    res = pe.run(qt(a.astype(np.int8).view(np.uint8)), qt(w.astype(np.int8).view(np.uint8)))
    out, overflows = exact(a, w, pe.acc)
    np.testing.assert_array_equal(res.out, out)
    assert res.overflows == overflows
    assert res.info["blas"] == (None if path == "kernel" else path)


def test_uint8_and_narrow_codes_through_the_pe(rng):
    a = rng.integers(0, 256, (7, 300))
    w = rng.integers(-8, 8, (6, 300))
    spec = QuantSpec(format="int4", granularity="channel")
    wq = QTensor((w & 15).astype(np.uint8), np.ones((6, 1)), None, spec)
    aq = qt(a, "uint8")
    res = IntMAC().run(aq, wq)
    np.testing.assert_array_equal(res.out, a @ w.T)
    assert res.info["operand_bits"] == (8, 4)
    general = IntMAC().run(aq.codes.astype(np.int64), w)  # plain integer arrays
    np.testing.assert_array_equal(res.out, general.out)
