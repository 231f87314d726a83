"""fixed_point PE: ap_fixed accumulation vs Fraction reference and the dtypes codec; DSP packing;
multiplier-free weights."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

import hwsim
from hwsim.dtypes import QTensor, QuantSpec
from hwsim.errors import HwsimError
from hwsim.pe import _kernels_fixed as K
from hwsim.pe.fixed_point import (
    O_MODES,
    Q_MODES,
    fixed_cast_reference,
    fixed_mac_reference,
    fixed_type,
    naf_terms,
)

A8 = "ap_fixed<8,4>"


def _kernel_cast(v: int, src_frac: int, t) -> tuple[int, int]:
    q = K.fixed_quantize(v, src_frac - t.frac, Q_MODES.index(t.q))
    return K.fixed_overflow(q, t.width, t.signed, O_MODES.index(t.o))


@pytest.mark.parametrize("q, o", list(itertools.product(Q_MODES, O_MODES)))
@pytest.mark.parametrize("base", ["ap_fixed<6,3", "ap_ufixed<5,2"])
def test_cast_kernel_equals_dtypes_codec_and_reference_exhaustively(q, o, base):
    name = f"{base},{q},{o}>"
    t = fixed_type(name)
    fmt = hwsim.format(name)
    src = np.arange(-(2**10), 2**10)  # every 11-bit value with 6 fraction bits
    x = src / 64.0
    codec = fmt.decode(fmt.encode(x))
    for v, c in zip(src.tolist(), codec.tolist()):
        got, _ = _kernel_cast(v, 6, t)
        ref, _ = fixed_cast_reference(Fraction(v, 64), t)
        assert got / 2**t.frac == float(ref) == c, (name, v)


def test_ug1399_examples():
    cases = [
        ("ap_fixed<3,2,AP_RND,AP_SAT>", 1.25, 1.5),
        ("ap_fixed<3,2,AP_RND,AP_SAT>", -1.25, -1.0),
        ("ap_fixed<4,4,AP_RND,AP_SAT>", 19, 7),
        ("ap_fixed<4,4,AP_RND,AP_SAT>", -19, -8),
        ("ap_fixed<4,4,AP_RND,AP_SAT_SYM>", -19, -7),
        ("ap_fixed<4,4,AP_RND,AP_WRAP>", 31, -1),
        ("ap_fixed<4,4,AP_RND,AP_WRAP>", -19, -3),
        ("ap_fixed<4,2,AP_RND,AP_WRAP>", 1.875, -2.0),
    ]
    for name, x, want in cases:
        t = fixed_type(name)
        assert float(fixed_cast_reference(Fraction(x), t)[0]) == want
        v = int(Fraction(x) * 16)
        assert _kernel_cast(v, 4, t)[0] / 2**t.frac == want


ACCS = [
    "ap_fixed<32,16>",
    "ap_fixed<16,8>",
    "ap_fixed<12,6,AP_RND_CONV,AP_SAT>",
    "ap_fixed<10,8,AP_RND,AP_WRAP>",
    "ap_fixed<14,9,AP_TRN_ZERO,AP_SAT_SYM>",
    "ap_fixed<9,7,AP_RND_INF,AP_SAT_ZERO>",
    "ap_fixed<11,7,AP_RND_ZERO,AP_SAT>",
    "ap_ufixed<12,8,AP_RND_MIN_INF,AP_SAT>",
]


@pytest.mark.parametrize("acc", ACCS)
def test_pe_equals_reference(acc, rng):
    f = hwsim.format(A8)
    av = rng.integers(-128, 128, (5, 40)) / 16
    wv = rng.integers(-128, 128, (4, 40)) / 16
    a = QTensor(f.encode(av), np.ones((1, 1)), None, QuantSpec(A8))
    res = hwsim.pe.run("fixed_point", a, wv, acc_format=acc, w_format=A8)
    ref, events = fixed_mac_reference(av.tolist(), wv.tolist(), fixed_type(acc))
    assert np.array_equal(res.out, ref) and res.overflows == events
    assert res.counts.as_dict() == {"mul.8x8": 800, f"add.{fixed_type(acc).width}": 800}
    assert res.info["prod_type"] == "ap_fixed<16,8>"


def test_wide_accumulator_is_exact(rng):
    av = rng.integers(-128, 128, (6, 300)) / 16
    wv = rng.integers(-128, 128, (5, 300)) / 16
    res = hwsim.pe.run(
        "fixed_point", av, wv, acc_format="ap_fixed<40,24>", a_format=A8, w_format=A8
    )
    assert np.array_equal(res.out, av @ wv.T) and res.overflows == 0


def _dsp_python(a, w, chain):
    """Bit-level model of the packed DSP48E2 with Python ints (48-bit P register)."""
    M, Kd = a.shape
    N = w.shape[0]
    out = np.zeros((M, N + N % 2), dtype=object)
    for i in range(M):
        for m in range((N + 1) // 2):
            w2row = w[2 * m + 1] if 2 * m + 1 < N else np.zeros(Kd, int)
            for k0 in range(0, Kd, chain):
                p = 0
                for k in range(k0, min(Kd, k0 + chain)):
                    p = (p + int(a[i, k]) * ((int(w[2 * m, k]) << 18) + int(w2row[k]))) % 2**48
                p = p - 2**48 if p >= 2**47 else p
                lo = p % 2**18
                lo = lo - 2**18 if lo >= 2**17 else lo
                out[i, 2 * m] += (p - lo) >> 18
                out[i, 2 * m + 1] += lo
    return out[:, :N].astype(np.int64)


def test_dsp_packing_exact_up_to_seven_products_adversarial(rng):
    cases = [
        (np.full((2, 21), -128), np.full((3, 21), -128)),
        (np.tile([-128, 127], (2, 14)), np.tile([127, -128], (4, 14))),
        (rng.integers(-128, 128, (4, 50)), rng.integers(-128, 128, (5, 50))),
    ]
    for am, wm in cases:
        av, wv = am / 16, wm / 16
        res = hwsim.pe.run(
            "fixed_point",
            av,
            wv,
            acc_format="ap_fixed<40,24>",
            a_format=A8,
            w_format=A8,
            dsp_packing=True,
            dsp_chain=7,
        )
        assert np.array_equal(res.out, av @ wv.T)
        assert res.info["dsp_field_overflows"] == 0
        assert np.array_equal(_dsp_python(am, wm, 7), am @ wm.T)
    N, Kd = wm.shape
    assert res.counts["dsp.27x18"] == 4 * ((N + 1) // 2) * Kd
    assert res.cycles == 4 * 3 * Kd


def test_dsp_packing_eight_products_corrupt_like_the_hardware():
    am, wm = np.full((1, 16), -128), np.full((2, 16), -128)
    res = hwsim.pe.run(
        "fixed_point",
        am / 16,
        wm / 16,
        acc_format="ap_fixed<40,24>",
        a_format=A8,
        w_format=A8,
        dsp_packing=True,
        dsp_chain=8,
    )
    want = _dsp_python(am, wm, 8)
    assert np.array_equal(res.out * 256, want)
    assert not np.array_equal(want, am @ wm.T)
    assert res.info["dsp_field_overflows"] == 2


def test_naf_terms_are_minimal_signed_digit_counts():
    def brute(n: int) -> int:
        best = {0: 0}
        frontier = [0]
        for terms in range(1, 6):
            nxt = []
            for v in frontier:
                for p in range(10):
                    for s in (1, -1):
                        u = v + s * 2**p
                        if u not in best:
                            best[u] = terms
                            nxt.append(u)
            frontier = nxt
        return best[n]

    vals = np.arange(-200, 201)
    assert [brute(int(v)) for v in vals] == naf_terms(vals).tolist()


def test_pow2_and_khot_weights_are_exact_with_shift_counts(rng):
    av = rng.integers(-128, 128, (3, 6)) / 16
    wp = np.array([[0.5, -2.0, 0.0, 4.0, -0.125, 1.0], [1.0, 0.25, 8.0, 0.0, 0.0, -1.0]])
    res = hwsim.pe.run("fixed_point", av, wp, a_format=A8, weights="pow2")
    assert np.array_equal(res.out, av @ wp.T)
    assert res.counts["shift.8"] == 3 * 9 and "mul.8x8" not in res.counts
    wk = np.array([[0.75, -3.0, 7.0, 5.0, 0.0, 6.0]])  # NAF terms 2, 2, 2, 2, 0, 2
    res = hwsim.pe.run("fixed_point", av, wk, a_format=A8, weights="khot", k_hot=2)
    assert np.array_equal(res.out, av @ wk.T)
    assert res.counts["shift.8"] == 3 * 10
    with pytest.raises(HwsimError, match="needs 3 signed powers of two, khot allows 2"):
        hwsim.pe.run("fixed_point", av, wk * 0 + 11.0, a_format=A8, weights="khot")
    with pytest.raises(HwsimError, match="pow2 allows 1"):
        hwsim.pe.run("fixed_point", av, wk, a_format=A8, weights="pow2")


def test_expected_and_errors():
    pe = hwsim.pe.get_pe("fixed_point", dsp_packing=True)
    assert pe.expected(A8, A8).cycles_per_mac == 0.5
    with pytest.raises(HwsimError, match="overflow mode 'AP_WRAP_SM' not modelled"):
        hwsim.pe.get_pe("fixed_point", acc_format="ap_fixed<16,8,AP_TRN,AP_WRAP_SM>")
    with pytest.raises(HwsimError, match="expected an ap_fixed"):
        hwsim.pe.get_pe("fixed_point", acc_format="int32")
    with pytest.raises(HwsimError, match="float activations need a_format"):
        hwsim.pe.run("fixed_point", np.ones((1, 2)), np.ones((1, 2)), w_format=A8)
    with pytest.raises(HwsimError, match="not exact in ap_fixed<8,4>"):
        hwsim.pe.run(
            "fixed_point", np.full((1, 2), 0.01), np.ones((1, 2)), a_format=A8, w_format=A8
        )
    with pytest.raises(HwsimError, match="at most 8 bits"):
        hwsim.pe.run(
            "fixed_point",
            np.ones((1, 2)),
            np.ones((1, 2)),
            dsp_packing=True,
            a_format="ap_fixed<12,4>",
            w_format=A8,
        )
    with pytest.raises(HwsimError, match="dsp_packing: needs weights='fixed'"):
        hwsim.pe.get_pe("fixed_point", dsp_packing=True, weights="pow2")
