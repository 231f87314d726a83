"""Accumulator models: numba kernels equal the Python-int / Fraction references bit for bit."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.pe import _kernels_mac as K
from hwsim.pe.accumulator_reference import (
    accumulate_gemm_reference,
    accumulate_reference,
    round_fraction,
)
from hwsim.pe.accumulator_spec import Accumulator, float_spec
from hwsim.pe.accumulators import accumulate, accumulate_gemm, round_to_float


def _same(x, y) -> bool:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return np.array_equal(x, y, equal_nan=True)


def _float_grid(e: int, m: int) -> np.ndarray:
    """Every finite value of an IEEE-style e{E}m{M} format (both signs)."""
    bias = 2 ** (e - 1) - 1
    vals = []
    for ex in range(0, 2**e - 1):
        for man in range(2**m):
            v = math.ldexp(man, 1 - bias - m) if ex == 0 else math.ldexp(2**m + man, ex - bias - m)
            vals += [v, -v]
    return np.unique(np.array(vals))


# --- integer ------------------------------------------------------------------------------


@pytest.mark.parametrize("overflow", ["wrap", "saturate"])
def test_int8_accumulator_every_pair_equals_python(overflow):
    acc = Accumulator("int", width=8, overflow=overflow)
    vals = np.arange(-128, 128, dtype=np.int64)
    x, y = np.meshgrid(vals, vals)
    pairs = np.stack([x.ravel(), y.ravel()], axis=1)
    out, ovf = accumulate(pairs, acc)
    for (p, q), o, v in zip(pairs.tolist(), out.tolist(), ovf.tolist()):
        z = p + q
        want = (z + 128) % 256 - 128 if overflow == "wrap" else min(max(z, -128), 127)
        assert (o, v) == (want, int(not -128 <= z <= 127))


@pytest.mark.parametrize(
    "acc",
    [
        Accumulator("int", width=16),
        Accumulator("int", width=16, overflow="saturate"),
        Accumulator("int", width=18, order="pairwise", tree_width=4),
        Accumulator("int", width=17, overflow="saturate", order="pairwise", tree_width=5),
        Accumulator("int", width=20, order="pairwise", tree_width=1000),
        Accumulator("int", width=12, overflow="saturate", order="pairwise", tree_width=1),
    ],
)
def test_int_gemm_equals_reference_random_and_adversarial(acc, rng):
    cases = [
        (rng.integers(-128, 128, (5, 37)), rng.integers(-128, 128, (4, 37))),
        (np.full((2, 23), -128), np.full((3, 23), -128)),  # all-max products
        (np.tile([127, -128], (3, 20)), np.tile([-128, 127], (2, 20))),  # alternating signs
    ]
    for a, w in cases:
        out, ovf = accumulate_gemm(a, w, acc)
        ref, rov = accumulate_gemm_reference(a, w, acc)
        assert np.array_equal(out, ref) and np.array_equal(ovf, rov)
    assert ovf.sum() > 0  # the adversarial case did overflow


def test_wrap_result_is_order_free_but_events_are_not(rng):
    a, w = rng.integers(-128, 128, (6, 400)), rng.integers(-128, 128, (5, 400))
    seq, ev_seq = accumulate_gemm(a, w, Accumulator("int", width=16))
    tree, ev_tree = accumulate_gemm(
        a, w, Accumulator("int", width=16, order="pairwise", tree_width=8)
    )
    exact = a @ w.T
    assert np.array_equal(seq, (exact + 2**15) % 2**16 - 2**15)
    assert np.array_equal(tree, seq)
    assert ev_seq.sum() > 0 and not np.array_equal(ev_seq, ev_tree)


# --- floating point ------------------------------------------------------------------------


def test_round_fraction_examples():
    fp16 = float_spec("fp16")
    assert round_fraction(Fraction(65504), fp16, False) == (65504.0, 0)
    assert round_fraction(Fraction(65520), fp16, False) == (math.inf, 1)  # tie goes up to inf
    assert round_fraction(Fraction(65519), fp16, False) == (65504.0, 0)
    assert round_fraction(Fraction(65520), fp16, True) == (65504.0, 1)
    assert round_fraction(Fraction(1) + Fraction(1, 2048), fp16, False) == (1.0, 0)  # tie even
    assert round_fraction(Fraction(2**-25), fp16, False)[0] == 0.0  # half of min subnormal


def test_float_add_every_pair_of_e3m2_values_equals_fractions():
    """Exhaustive for a 6-bit format: x (+) y for every pair of values, accumulator e3m2."""
    spec = float_spec("e3m2")
    grid = _float_grid(3, 2)
    for x, y in itertools.product(grid.tolist(), repeat=2):
        got = K.float_add(x, y, spec.man_bits, spec.emin, spec.max_finite, False)
        want = round_fraction(Fraction(x) + Fraction(y), spec, False)
        assert got[0] == want[0] and got[1] == want[1], (x, y)


@pytest.mark.slow
def test_float_add_every_pair_of_e4m3_values_equals_fractions():
    spec = float_spec("e4m3")
    grid = _float_grid(4, 3)
    for x, y in itertools.product(grid.tolist(), repeat=2):
        got = K.float_add(x, y, spec.man_bits, spec.emin, spec.max_finite, True)
        assert got == round_fraction(Fraction(x) + Fraction(y), spec, True), (x, y)


def test_round_to_float_matches_numpy_and_ml_dtypes(rng):
    x = np.concatenate(
        [
            rng.standard_normal(20000) * 10.0 ** rng.integers(-8, 6, 20000),
            [65504.0, 65519.99, 65520.0, 2.0**-24, 2.0**-25, 3 * 2.0**-26],
        ]
    )
    with np.errstate(over="ignore"):  # numpy warns when a cast overflows to inf
        assert _same(round_to_float(x, "fp16"), x.astype(np.float16))
    x32 = x.astype(np.float32).astype(np.float64)  # ml_dtypes casts via float32
    assert _same(round_to_float(x32, "bf16"), x32.astype(ml_dtypes.bfloat16))
    assert _same(round_to_float(x, "fp32"), x.astype(np.float32))


def test_round_to_float_all_fp16_midpoints():
    v = np.arange(0, 0x7BFF, dtype=np.uint16).view(np.float16).astype(np.float64)
    mids = (v[:-1] + v[1:]) / 2  # exact in float64
    assert _same(round_to_float(mids, "fp16"), mids.astype(np.float16))
    assert _same(round_to_float(-mids, "fp16"), (-mids).astype(np.float16))


FLOAT_ACCS = [
    Accumulator("float", format="fp16"),
    Accumulator("float", format="bf16", order="pairwise", tree_width=8),
    Accumulator("float", format="fp32"),
    Accumulator("float", format="fp32", order="pairwise", tree_width=3),
    Accumulator("float", format="fp16", order="pairwise", tree_width=1),  # = sequential
    Accumulator("float", format="e6m15"),  # BitMoD's group accumulator
    Accumulator("float", format="fp16", overflow="saturate"),
    Accumulator("kulisch", format="fp16"),
    Accumulator("kulisch", format="fp32"),
    Accumulator("trunc_align", mantissa_bits=10, chunk=4, promote_every=32),
    Accumulator("trunc_align", mantissa_bits=13, chunk=16, promote_every=0),
]


@pytest.mark.parametrize("acc", FLOAT_ACCS, ids=lambda a: f"{a.kind}-{a.format}-{a.order}")
def test_float_gemm_equals_fraction_reference(acc, rng):
    e4m3 = ml_dtypes.float8_e4m3fn
    cases = [
        (
            rng.standard_normal((4, 70)).astype(np.float16),
            rng.standard_normal((3, 70)).astype(np.float16),
        ),
        (
            (rng.standard_normal((3, 50)) * 100).astype(e4m3),
            rng.standard_normal((3, 50)).astype(e4m3),
        ),
        (np.full((2, 40), 448.0), np.full((2, 40), 448.0)),  # fp16 overflow
        (np.tile([1.0, 2.0**-12, -1.0, 3 * 2.0**-13], (2, 9)), np.ones((2, 36))),  # ties
    ]
    for a, w in cases:
        a, w = np.asarray(a, dtype=np.float64), np.asarray(w, dtype=np.float64)
        out, ovf = accumulate_gemm(a, w, acc)
        ref, rov = accumulate_gemm_reference(a, w, acc)
        assert _same(out, ref.astype(np.float64)) and np.array_equal(ovf, rov)


def test_fp32_fast_path_equals_generic_kernel(rng):
    a = rng.standard_normal((7, 500)).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    w = rng.standard_normal((6, 500)).astype(ml_dtypes.float8_e4m3fn).astype(np.float64)
    fast = K.fp32_seq_gemm(a, w)
    spec = float_spec("fp32")
    slow = K.float_gemm(a, w, spec.man_bits, spec.emin, spec.max_finite, False, 1)
    assert _same(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


def test_kulisch_is_the_correctly_rounded_exact_sum(rng):
    a = rng.standard_normal((3, 200)).astype(np.float16).astype(np.float64)
    w = rng.standard_normal((2, 200)).astype(np.float16).astype(np.float64)
    out, _ = accumulate_gemm(a, w, Accumulator("kulisch", format="fp32"))
    for i, j in itertools.product(range(3), range(2)):
        exact = sum(Fraction(x) * Fraction(y) for x, y in zip(a[i], w[j]))
        assert (
            out[i, j] == float(np.float32(float(exact)))
            or out[i, j] == round_fraction(exact, float_spec("fp32"), False)[0]
        )
        assert out[i, j] == round_fraction(exact, float_spec("fp32"), False)[0]


def test_kulisch_integers_exact_beyond_int64():
    a = np.array([[2**40, 2**40, -1]], dtype=np.int64)
    w = np.array([[2**22, 2**22, 1]], dtype=np.int64)
    out, _ = accumulate_gemm(a, w, Accumulator("kulisch"))
    assert int(out[0, 0]) == 2**63 - 1


def test_trunc_align_drops_bits_below_the_alignment():
    acc = Accumulator("trunc_align", mantissa_bits=14, chunk=4, promote_every=0)
    out, _ = accumulate(np.array([[1.0, 2.0**-20, 2.0**-20, 2.0**-15]]), acc)
    assert out[0] == 1.0  # every small term truncated away after aligning to 2**0
    exact, _ = accumulate(np.array([[1.0, 2.0**-14, 2.0**-20]]), acc)
    assert exact[0] == 1.0 + 2.0**-14
    ref = accumulate_reference([1.0, 2.0**-20, 2.0**-20, 2.0**-15], acc)
    assert ref == (1.0, 0)


def test_trunc_align_promotion_recovers_accuracy(rng):
    a = np.abs(rng.standard_normal((1, 4096))) + 1
    w = np.ones((1, 4096))
    exact = float(np.sum(a))
    never, _ = accumulate_gemm(a, w, Accumulator("trunc_align", mantissa_bits=10, promote_every=0))
    every, _ = accumulate_gemm(a, w, Accumulator("trunc_align", mantissa_bits=10, promote_every=64))
    assert abs(every[0, 0] - exact) < abs(never[0, 0] - exact)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="big"), "accumulator.kind"),
        (dict(kind="int", width=80), "accumulator.width"),
        (dict(kind="int", overflow="inf"), "accumulator.overflow"),
        (dict(kind="float", format="nope"), "unknown format"),
        (dict(kind="float", overflow="wrap"), "accumulator.overflow"),
        (dict(kind="float", format="fp64"), "accumulator.format"),
        (dict(order="random"), "accumulator.order"),
        (dict(kind="trunc_align", mantissa_bits=60), "accumulator.mantissa_bits"),
        (dict(tree_width=0), "accumulator.tree_width"),
    ],
)
def test_bad_accumulator_specs(kwargs, match):
    with pytest.raises(HwsimError, match=match):
        Accumulator(**kwargs)


def test_kulisch_wide_float_span_uses_python_ints_and_stays_exact():
    a = np.array([[2.0**100, 1.0, -(2.0**100), 2.0**-100]])
    w = np.array([[3.0, 2.0**-60, 3.0, 1.0]])
    out, _ = accumulate_gemm(a, w, Accumulator("kulisch", format="fp32"))
    ref, _ = accumulate_gemm_reference(a, w, Accumulator("kulisch", format="fp32"))
    assert out[0, 0] == ref[0, 0] == float(np.float32(2.0**-60 + 2.0**-100))


def test_accumulate_keeps_leading_shape(rng):
    p = rng.integers(-100, 100, (2, 3, 50))
    out, ovf = accumulate(p, Accumulator("int", width=12, overflow="saturate"))
    assert out.shape == (2, 3) and ovf.shape == (2, 3)
    for idx in np.ndindex(2, 3):
        want = accumulate_reference(
            p[idx].tolist(), Accumulator("int", width=12, overflow="saturate")
        )
        assert (out[idx], ovf[idx]) == want


def test_pairwise_tree_of_one_product_is_sequential(rng):
    a = rng.standard_normal((3, 90)).astype(np.float16).astype(np.float64)
    w = rng.standard_normal((4, 90)).astype(np.float16).astype(np.float64) * 300
    seq = Accumulator("float", format="fp16", overflow="saturate")
    one = Accumulator("float", format="fp16", overflow="saturate", order="pairwise", tree_width=1)
    two = Accumulator("float", format="fp16", overflow="saturate", order="pairwise", tree_width=2)
    assert _same(accumulate_gemm(a, w, one)[0], accumulate_gemm(a, w, seq)[0])
    assert not _same(accumulate_gemm(a, w, two)[0], accumulate_gemm(a, w, seq)[0])
