"""Weight -> term decomposition: counts per datatype, exact reassembly, scalar == vectorised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hwsim
from hwsim.errors import HwsimError
from hwsim.pe.terms import (
    booth_digits_scalar,
    cycles_per_weight,
    decompose_codes,
    lod_terms_scalar,
    nonzero_terms_per_code,
    plan_from_values,
    read_operand,
    reassemble,
    reassemble_scalar,
    term_plan,
    term_table,
    terms_scalar,
)

BITMOD = [n for n in hwsim.formats() if n.startswith("bitmod_fp")]
EXPECTED_TERMS = {"int8": 4, "int6": 3, "int4": 2, "int3": 2}


def test_every_bitmod_datatype_is_listed():
    assert len(BITMOD) == 10  # fp3, fp4, each plain + er/ea pos/neg
    assert {n for n in BITMOD if n.startswith("bitmod_fp3")} >= {"bitmod_fp3_er_pos"}


@pytest.mark.parametrize("name", BITMOD)
def test_bitmod_codes_two_terms_reassemble_exactly(name):
    fmt = hwsim.format(name)
    plan = term_plan(fmt)
    assert plan.kind == "lod" and plan.n_terms == 2 and plan.frac_bits == 0
    values = fmt.decode(fmt.codes())
    signs, shifts = decompose_codes(fmt.codes(), plan)
    assert signs.shape == (fmt.codes().size, 2)
    np.testing.assert_array_equal(reassemble(signs, shifts), values.astype(np.int64))
    for code, v in zip(fmt.codes().tolist(), values.tolist(), strict=True):
        ts = terms_scalar(int(v), plan)
        assert len(ts) == 2
        assert reassemble_scalar(ts) == v
        assert ts == list(zip(signs[code].tolist(), shifts[code].tolist(), strict=True))
        # each term a signed power of two carrying the weight's sign; the first is the top one
        assert all(s in (0, 1 if v > 0 else -1) for s, _ in ts)
        if v:
            assert 2 ** ts[0][1] <= abs(v) < 2 ** (ts[0][1] + 1)


@pytest.mark.parametrize("name", [n for n in BITMOD if n.endswith(("_pos", "_neg"))])
def test_special_value_of_minus_zero_code_decomposes(name):
    fmt = hwsim.format(name)
    bits = fmt.bits
    special = int(fmt.decode(np.array([2 ** (bits - 1)], dtype=fmt.code_dtype))[0])
    assert abs(special) in {3, 6, 10, 16}
    assert reassemble_scalar(terms_scalar(special, term_plan(fmt))) == special


@pytest.mark.parametrize("name", sorted(EXPECTED_TERMS))
def test_int_every_value_booth_terms(name):
    fmt = hwsim.format(name)
    plan = term_plan(fmt)
    assert plan.kind == "booth" and plan.n_terms == EXPECTED_TERMS[name]
    values = fmt.decode(fmt.codes()).astype(np.int64)
    signs, shifts = decompose_codes(fmt.codes(), plan)
    assert signs.shape[1] == EXPECTED_TERMS[name]
    np.testing.assert_array_equal(reassemble(signs, shifts), values)
    for code, v in enumerate(values.tolist()):
        digits = booth_digits_scalar(v, plan.width)
        assert all(d in (-2, -1, 0, 1, 2) for d in digits)
        assert sum(d * 4**i for i, d in enumerate(digits)) == v
        assert terms_scalar(v, plan) == list(zip(signs[code].tolist(), shifts[code].tolist()))


def test_booth_known_digits():
    assert booth_digits_scalar(-128, 8) == [0, 0, 0, -2]
    assert booth_digits_scalar(127, 8) == [-1, 0, 0, 2]
    assert booth_digits_scalar(-1, 6) == [-1, 0, 0]
    assert booth_digits_scalar(0b010101, 6) == [1, 1, 1]
    # odd widths sign-extend to an even width: uint4 needs a 5-bit Booth -> 3 digits
    assert term_plan("uint4").n_terms == 3
    assert term_plan("uint4").width == 5


def test_unsigned_and_fractional_codebooks():
    pos = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    e2m1 = plan_from_values("e2m1", pos + [-v for v in pos])
    assert e2m1.kind == "lod" and e2m1.frac_bits == 1
    s, h = term_table(e2m1)
    np.testing.assert_array_equal(reassemble(s, h), e2m1.lut)
    # values with three set bits cannot be two terms: Booth over the needed width
    p = plan_from_values("odd", [0, 7, -7, 1])
    assert p.kind == "booth" and p.width == 4
    s, h = term_table(p)
    np.testing.assert_array_equal(reassemble(s, h), p.lut)


def test_nonzero_terms_counts():
    plan = term_plan("bitmod_fp4_er_pos")
    nnz = nonzero_terms_per_code(plan)
    lut = plan.lut
    expected = [bin(abs(int(v))).count("1") for v in lut]
    np.testing.assert_array_equal(nnz, expected)
    assert nnz[0] == 0 and nnz[plan.lut.tolist().index(10)] == 2


def test_cycles_per_weight_static():
    assert [cycles_per_weight(b) for b in (8, 6, 4, 3, 4.0625, 3.0625)] == [4, 3, 2, 2, 2, 2]


def test_errors():
    with pytest.raises(HwsimError, match="more than two set bits"):
        lod_terms_scalar(7)
    with pytest.raises(HwsimError, match="does not fit a signed 8-bit"):
        booth_digits_scalar(128, 8)
    with pytest.raises(HwsimError, match="codes outside 0..15"):
        decompose_codes(np.array([16]), term_plan("bitmod_fp4"))
    with pytest.raises(HwsimError, match="finite weight values"):
        plan_from_values("bad", [0.0, np.inf])
    with pytest.raises(HwsimError, match="not dyadic"):
        plan_from_values("bad", [0.0, 0.1])
    with pytest.raises(HwsimError, match="must be a QTensor"):
        read_operand(np.zeros((2, 2)), "pe")


def test_read_operand_layouts(rng):
    w = rng.standard_normal((6, 64))
    g = hwsim.quantize(w, hwsim.QuantSpec(format="int4", granularity="group", group_size=16))
    op = read_operand(g, "pe")
    assert op.scales.shape == (6, 4) and op.group_size == 16
    np.testing.assert_array_equal(op.per_element(op.scales) * op.values, hwsim.dequantize(g))
    c = hwsim.quantize(w, hwsim.QuantSpec(format="int8", granularity="channel"))
    op = read_operand(c, "pe")
    assert op.scales.shape == (6, 1) and op.group_size == 64
    t = hwsim.quantize(w, hwsim.QuantSpec(format="int8"))
    assert read_operand(t, "pe").scales.shape == (6, 1)
    col = hwsim.quantize(w, hwsim.QuantSpec(format="int8", granularity="channel", axis=0))
    with pytest.raises(HwsimError, match="scales must run along K"):
        read_operand(col, "pe")


@given(
    st.integers(min_value=2, max_value=24).flatmap(
        lambda b: st.tuples(st.just(b), st.integers(-(2 ** (b - 1)), 2 ** (b - 1) - 1))
    )
)
def test_booth_reassembles_any_width(bits_value):
    bits, v = bits_value
    digits = booth_digits_scalar(v, bits)
    assert len(digits) == (bits + 1) // 2
    assert sum(d * 4**i for i, d in enumerate(digits)) == v
    plan = plan_from_values("x", [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1] + list(range(-2, 3)))
    assert reassemble_scalar(terms_scalar(v, plan)) == v


@given(st.integers(0, 40), st.integers(0, 40), st.sampled_from([-1, 1]))
def test_lod_two_set_bits(i, j, sign):
    v = sign * ((1 << i) | (1 << j))
    ts = lod_terms_scalar(v)
    assert reassemble_scalar(ts) == v and ts[0][1] == max(i, j)
