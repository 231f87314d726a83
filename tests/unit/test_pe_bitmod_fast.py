"""BitMoD float mode's fast path (hwsim.pe.bitmod_fast): rows proven in range go through the
split kernel, and every output equals the general kernel's bit for bit, overflow counts too."""

from __future__ import annotations

import numba
import numpy as np
import pytest

import hwsim
from hwsim.pe import bitmod_fast
from hwsim.pe.accumulator_spec import float_spec
from hwsim.pe.bitmod import BitMoDPE

FP4 = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
FP3 = tuple(f"bitmod_fp3_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
PROOF = bitmod_fast.provable_rows


def quant(w, fmt=FP4, g=32):
    return hwsim.quantize(
        w, hwsim.QuantSpec(format=fmt, granularity="group", group_size=g, scale_format="int8")
    )


def acts(rng, M, K, lo=-26, hi=12):
    """FP16 activations over a wide exponent range, with zeros, -0 and subnormals."""
    a = rng.standard_normal((M, K)) * 2.0 ** rng.integers(lo, hi, (M, K))
    a[rng.random((M, K)) < 0.1] = 0.0
    a[rng.random((M, K)) < 0.05] = -0.0
    return np.clip(a, -65504, 65504).astype(np.float16)


def both_paths(monkeypatch, pe, a, qt):
    """(PE result, result with every row on the general kernel, rows the proof admitted)."""
    seen = []

    def spy(*args):
        ok = PROOF(*args)
        seen.append(ok.copy())
        return ok

    monkeypatch.setattr(bitmod_fast, "provable_rows", spy)
    fast = pe.run(a, qt)
    monkeypatch.setattr(bitmod_fast, "provable_rows", lambda a_sc, *_: np.zeros(len(a_sc), bool))
    general = pe.run(a, qt)
    monkeypatch.undo()
    return fast, general, seen[0]


def assert_same(x, y):
    assert x.out.tobytes() == y.out.tobytes()  # bit for bit, the sign of zero included
    assert x.overflows == y.overflows
    np.testing.assert_array_equal(x.tile_cycles, y.tile_cycles)


def split(x, man_bits):
    """The kernel's rounding step, in the same IEEE operations (numpy, no fastmath)."""
    hi = x * float(2 ** (52 - man_bits) + 1)
    return hi + (x - hi)


def rne(x, man_bits):
    """RNE of float64 x to man_bits + 1 significant bits (no exponent limits)."""
    m, e = np.frexp(x)
    return np.ldexp(np.rint(np.ldexp(m, man_bits + 1)), e - man_bits - 1)


@pytest.mark.parametrize("man_bits", [3, 7, 10, 15])
def test_split_is_rne_on_every_tie_and_random_values(rng, man_bits):
    # every tie of p = man_bits + 1 bits: odd integers of p + 1 bits, at several scales and
    # both signs; then random values of up to 53 bits (the proof makes acc + s exact)
    p = man_bits + 1
    odd = np.arange(2**p + 1, 2 ** (p + 1), 2, dtype=np.float64)
    for k in (-1000, -60, -1, 0, 1, 33, 900):
        for sign in (1.0, -1.0):
            x = sign * np.ldexp(odd, k)
            np.testing.assert_array_equal(split(x, man_bits), rne(x, man_bits))
    for bits in (p + 1, p + 2, p + 7, 40, 53):
        v = rng.integers(2 ** (bits - 1), 2**bits, 200_000).astype(np.float64)
        x = np.ldexp(v * rng.choice([-1.0, 1.0], v.size), rng.integers(-200, 200, v.size))
        np.testing.assert_array_equal(split(x, man_bits), rne(x, man_bits))
    assert split(0.0, man_bits) == 0.0 and not np.signbit(split(0.0, man_bits))


CONFIGS = [
    {},
    {"skip_zero_terms": True},
    {"align_guard_bits": 0, "skip_zero_terms": True},
    {"align_guard_bits": 16},
    {"align_guard_bits": None},
    {"dp": 8},
    {"dp": 2, "acc_format": "e5m10"},
    {"acc_format": "fp32"},
    {"acc_format": "e6m30", "skip_zero_terms": True},
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(c) for c in CONFIGS])
@pytest.mark.parametrize("fmt", [FP4, FP3, "int8", "int6"], ids=["fp4", "fp3", "int8", "int6"])
@pytest.mark.parametrize("M", [8, 37])
def test_fast_equals_general_kernel(monkeypatch, rng, cfg, fmt, M):
    N, K = 9, 128
    # e5m10's grid stops at 2**-24 and its maximum at 65504, 16 guard bits leave 37 bits of
    # spread: wide-range activations would leave no row to the proof
    narrow = cfg.get("acc_format") == "e5m10" or cfg.get("align_guard_bits") == 16
    a = acts(rng, M, K, *((-6, 2) if narrow else (-26, 12)))
    qt = quant(rng.standard_normal((N, K)), fmt)
    pe = BitMoDPE(**cfg)
    fast, general, ok = both_paths(monkeypatch, pe, a, qt)
    assert_same(fast, general)
    assert ok.any()  # the fast path ran


@pytest.mark.parametrize("fmt", [FP4, FP3, "int8", "int6"], ids=["fp4", "fp3", "int8", "int6"])
def test_every_weight_code_and_group_scale(monkeypatch, rng, fmt):
    # every code of every format of the mixture, in every lane position, at several scales
    from hwsim.pe.terms import read_operand

    M, K = 16, 256
    N = 24
    w = rng.standard_normal((N, K)) * 2.0 ** rng.integers(-8, 8, (N, 1))
    w[:, ::17] = 0.0
    qt = quant(w, fmt)
    op = read_operand(qt, "test")
    for f in range(len(op.formats)):
        sel = np.repeat(op.format_ids == f, 32, axis=1)
        n_codes = 2 ** hwsim.dtypes.format(op.formats[f]).bits
        assert np.unique(op.codes[sel]).size in (n_codes, n_codes - 1)  # "-0" may be unused
    fast, general, ok = both_paths(monkeypatch, BitMoDPE(), acts(rng, M, K, -8, 8), qt)
    assert_same(fast, general)
    assert ok.all()


def test_adversarial_rows_take_the_general_kernel(monkeypatch, rng):
    M, N, K = 24, 6, 128
    a = acts(rng, M, K, -4, 4)
    a[1, :4] = 65504.0  # a 50-binade spread in one group: one chunk huge, one tiny
    a[1, 4:8] = np.float16(2.0**-24)
    a[2, :] = 65504.0  # sums near and past the accumulator's maximum
    a[2, 1::2] = -65504.0
    a[3, :] = 0.0  # an all-zero row: +0 outputs
    a[4, :] = -0.0
    a[5, :] = np.float16(2.0**-24)  # subnormals only
    a[6, ::3] = np.float16(-(2.0**-14))  # smallest normal beside the largest values
    qt = quant(rng.standard_normal((N, K)) * 100.0, "int8")
    cfgs = ({"align_guard_bits": 16}, {"acc_format": "e5m10"}, {"acc_format": "e5m10", "dp": 8})
    for cfg in cfgs:
        fast, general, ok = both_paths(monkeypatch, BitMoDPE(**cfg), a, qt)
        assert_same(fast, general)
        assert ok.any() and not ok.all()  # both kernels ran
        assert not ok[1] or cfg != {"align_guard_bits": 16}
        assert ok[3] and ok[4]
    e4 = BitMoDPE(acc_format="e4m3").run(a, qt)
    assert e4.overflows > 0  # the saturating rows went through the general kernel


def test_proof_refuses_what_it_cannot_bound():
    acc = float_spec("e6m15")
    M, K, gs, dp = 3, 8, 8, 4
    a = np.ones((M, K))
    lsb = np.zeros((M, K // dp), np.int64)
    terms = np.zeros((1, 4, 2))
    terms[0, 1, 0] = 3.0  # not a signed power of two
    assert not bitmod_fast.provable_rows(a, lsb, 0, terms, gs, dp, acc).any()
    terms[0, 1, 0] = 1.0
    assert bitmod_fast.provable_rows(a, lsb, 0, terms, gs, dp, acc).all()
    lsb[1, 0] = acc.emin - acc.man_bits - 1  # below the accumulator's subnormal grid
    lsb[2, 1] = -40  # a 2**20 addend over a 2**-40 grid: past float64's 53 bits
    a[2, 0] = 2.0**20
    assert bitmod_fast.provable_rows(a, lsb, 0, terms, gs, dp, acc).tolist() == [1, 0, 0]
    a[2, 0] = 2.0**10  # 2 * (2**10 + 7) < 2**13: exact
    assert bitmod_fast.provable_rows(a, lsb, 0, terms, gs, dp, acc).tolist() == [1, 0, 1]
    a[0, 0] = acc.max_finite / 4  # may saturate
    assert bitmod_fast.provable_rows(a, lsb, 0, terms, gs, dp, acc).tolist() == [0, 0, 1]


def test_same_bits_for_one_and_two_threads(rng):
    M, N, K = 64, 33, 256
    a = acts(rng, M, K)
    qt = quant(rng.standard_normal((N, K)), FP4, g=128)
    pe = BitMoDPE()
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = pe.run(a, qt)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = pe.run(a, qt)
    finally:
        numba.set_num_threads(before)
    assert one.out.tobytes() == two.out.tobytes()
