"""Bad input to the numeric API (hwsim.dtypes, hwsim.pe): every user mistake is a one-line
HwsimError naming what was expected, never a numpy/numba traceback or a silent result; NaN/inf
follow each format's documented semantics."""

from __future__ import annotations

import numpy as np
import pytest
from pe_operands import FP4, q, valid_operands

import hwsim
from hwsim.dtypes import dyadic, requantize
from hwsim.errors import HwsimError

M, N, K = 2, 3, 64


def one_line_error(fn, match: str) -> None:
    with pytest.raises(HwsimError, match=match) as info:
        fn()
    assert "\n" not in str(info.value)


# --- formats: inputs that are not real numbers, codes that are not codes ---------------------
ENCODE_FORMATS = [
    "int8",
    "uint4",
    "int4_sym",
    "float8_e4m3fn",
    "float4_e2m1fn",
    "ap_fixed<8,3>",
    "ap_ufixed<6,2,AP_RND,AP_WRAP>",
    "nf4",
    "bitmod_fp4_er_pos",
    "ant_flint4",
    "mxfp4",
    "mxint8",
]


@pytest.mark.parametrize("name", ENCODE_FORMATS)
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full(32, "a"), r"expected real numbers.*<U1"),
        (np.full(32, 1 + 1j), r"expected real numbers.*complex128"),
        (np.array([None] * 32), r"expected real numbers.*object"),
    ],
    ids=["str", "complex", "object"],
)
def test_encode_rejects_non_real_input(name, bad, match):
    one_line_error(lambda: hwsim.format(name).encode(bad), match)


@pytest.mark.parametrize("name", ["int8", "uint4", "int4", "ap_fixed<8,3>", "ap_fixed<4,9>"])
def test_encode_rejects_int64_beyond_float64(name):
    big = np.array([2**62, 1], dtype=np.int64)
    one_line_error(lambda: hwsim.format(name).encode(big), r"beyond 2\*\*53 are not exact")


@pytest.mark.parametrize("name", ["int8", "int4", "uint4", "int4_sym", "ap_fixed<8,3>"])
def test_decode_rejects_codes_out_of_range(name):
    f = hwsim.format(name)
    one_line_error(lambda: f.decode(np.array([2**f.bits])), r"codes must lie in \[0, 2\*\*")
    one_line_error(lambda: f.decode(np.array([-1])), r"codes must lie in \[0, 2\*\*")
    one_line_error(lambda: f.decode(np.array([1.5])), "expected integer codes, got dtype float64")
    # the boundary codes themselves are fine
    assert f.decode(np.array([0, 2**f.bits - 1])).shape == (2,)


# --- formats: NaN / inf / huge / -0 follow each family's documented semantics ---------------
SPECIAL = np.array([np.nan, np.inf, -np.inf, 1e300, -1e300, -0.0])


def test_ieee_like_minifloat_keeps_nan_inf_and_negative_zero():
    f = hwsim.format("float8_e5m2")
    v = f.decode(f.encode(SPECIAL))  # non-saturating: huge values overflow to inf
    assert np.isnan(v[0]) and list(v[1:5]) == [np.inf, -np.inf, np.inf, -np.inf]
    assert v[5] == 0 and np.signbit(v[5])
    sat = f.decode(f.encode(SPECIAL, saturate=True))  # clip-then-cast: inf clips to max too
    assert np.isnan(sat[0]) and list(sat[1:5]) == [57344.0, -57344.0, 57344.0, -57344.0]


def test_fn_minifloat_overflow_is_nan_or_max():
    f = hwsim.format("float8_e4m3fn")  # no inf: non-saturating overflow is NaN
    v = f.decode(f.encode(SPECIAL))
    assert np.all(np.isnan(v[:5])) and np.signbit(v[5])
    sat = f.decode(f.encode(SPECIAL, saturate=True))
    assert np.isnan(sat[0]) and list(sat[1:5]) == [448.0, -448.0, 448.0, -448.0]


def test_fnuz_minifloat_has_no_negative_zero():
    f = hwsim.format("float8_e4m3fnuz")
    codes = f.encode(SPECIAL)
    assert codes[5] == 0 and list(codes[:5]) == [0x80] * 5  # single NaN at 0x80


def test_finite_only_minifloat_saturates_and_maps_nan_to_opposite_zero():
    f = hwsim.format("float4_e2m1fn")  # no NaN, no inf (OCP MX element): always saturates
    for sat in (False, True):
        v = f.decode(f.encode(SPECIAL, saturate=sat))
        assert list(v[1:5]) == [6.0, -6.0, 6.0, -6.0] and np.signbit(v[5])
        assert v[0] == 0 and np.signbit(v[0])  # +NaN -> -0, as ml_dtypes 0.6 does


@pytest.mark.parametrize("name", ["int8", "uint4", "nf4", "ant_flint4"])
def test_nan_free_formats_reject_nan_and_saturate_inf(name):
    f = hwsim.format(name)
    one_line_error(lambda: f.encode(np.array([1.0, np.nan])), "NaN")
    v = f.decode(f.encode(SPECIAL[1:]))
    assert v[0] == v[2] == f.max_value and v[1] == v[3] == f.min_value and v[4] == 0


def test_ap_fixed_reads_inf_as_huge_like_the_header():
    sat = hwsim.format("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")
    assert list(sat.round(SPECIAL[1:])) == [127 / 32, -4.0, 127 / 32, -4.0, 0.0]
    wrap = hwsim.format("ap_fixed<8,3>")
    assert list(wrap.round(SPECIAL[1:])) == [0.0] * 5


# --- QuantSpec ----------------------------------------------------------------------------
X = np.random.default_rng(0).standard_normal((4, 60))
SPEC_CASES = [
    ({"format": "int4", "granularity": "group", "group_size": 16}, "16 does not divide axis"),
    ({"format": "mxfp4", "granularity": "block", "group_size": 32}, "multiple of the block"),
    ({"format": "int4", "granularity": "group", "group_size": True}, "group_size"),
    ({"format": "int4", "granularity": "group", "group_size": 0}, "group_size"),
    ({"format": "int4", "granularity": "channel", "axis": True}, "QuantSpec.axis"),
    ({"format": "int4", "granularity": "channel", "axis": 2}, "QuantSpec.axis"),
    ({"format": "int4", "granularity": "rows"}, "QuantSpec.granularity"),
    ({"format": ()}, "QuantSpec.format: expected a format name or a non-empty tuple"),
    ({"format": None}, "QuantSpec.format"),
    ({"format": ("int4", "nope")}, "unknown format 'nope'"),
    ({"format": "int4", "symmetric": "no"}, "QuantSpec.symmetric: expected true or false"),
    ({"format": "int4", "clipping": "percentile", "percentile": float("nan")}, "percentile"),
    ({"format": "int4", "rounding": "nearest"}, "rounding: expected one of"),
    ({"format": "int4", "granularity": "group", "group_size": 16, "pad": "wrap"}, "pad"),
]


@pytest.mark.parametrize("kw, match", SPEC_CASES, ids=[m for _, m in SPEC_CASES])
def test_quantize_bad_spec(kw, match):
    one_line_error(lambda: hwsim.quantize(X, hwsim.QuantSpec(**kw)), match)


def test_quantize_bad_tensors():
    one_line_error(lambda: q(np.full((2, 4), 1j), "int4"), "real-valued array")
    one_line_error(lambda: q(np.array([[1.0, np.nan]]), "int4"), "cannot encode NaN")
    one_line_error(lambda: hwsim.quantize(X, "int4"), "expected a QuantSpec")
    one_line_error(lambda: hwsim.dequantize(X), "expected a QTensor")


# --- PEs: every kind x bad operands -------------------------------------------------------
def _operands(kind, rng):
    xa, xw = rng.standard_normal((M, K)), rng.standard_normal((N, K))
    ia, iw = rng.integers(-100, 100, (M, K)), rng.integers(-100, 100, (N, K))
    return valid_operands(kind, xa, xw, ia, iw)


def test_every_pe_kind_is_probed():
    rng = np.random.default_rng(0)
    for kind in hwsim.pe.pe_kinds():
        a, w, p = _operands(kind, rng)
        res = hwsim.pe.run(kind, a, w, **p)
        assert res.out.shape == (M, N)


def _values(x):
    return hwsim.dequantize(x) if hasattr(x, "codes") else np.asarray(x)


def _k_mismatch(a, w):
    return _values(a)[:, : K // 2], w


BAD_OPERANDS = {
    "a 1-D": (lambda a, w: (_values(a)[0], w), r"2-D|\[M, K\]|expected|must be"),
    "a 3-D": (lambda a, w: (_values(a)[None], w), r"2-D|\[M, K\]|expected|must be"),
    "K mismatch": (_k_mismatch, r"K mismatch|expected|exact|must be"),
    "a str": (lambda a, w: (np.full((M, K), "x"), w), r"expected|must be"),
    "a complex": (lambda a, w: (_values(a).astype(complex), w), r"expected|must be"),
    "a None": (lambda a, w: (None, w), r"expected|must be"),
    "w block format": (lambda a, w: (a, q(_values(w), "mxfp4", granularity="block")), "block"),
    "w menu of formats": (
        lambda a, w: (a, q(_values(w), ("int4", "nf4"), granularity="group", group_size=32)),
        r"menu|integer|floating|ap_fixed|must|terms|not|zero",
    ),
}
TAKES_MENUS = {"mixed_dtype"}  # per-group datatypes are what these PEs are for


PE_CASES = [
    (kind, case)
    for kind in hwsim.pe.pe_kinds()
    for case in BAD_OPERANDS
    if not (case == "w menu of formats" and kind in TAKES_MENUS)
]


@pytest.mark.parametrize("kind, case", PE_CASES)
def test_pe_bad_operands_are_one_line_errors(kind, case):
    rng = np.random.default_rng(1)
    a, w, p = _operands(kind, rng)
    make, match = BAD_OPERANDS[case]
    bad_a, bad_w = make(a, w)
    one_line_error(lambda: hwsim.pe.run(kind, bad_a, bad_w, **p), match)


@pytest.mark.parametrize("kind", hwsim.pe.pe_kinds())
def test_pe_unknown_parameter(kind):
    a, w, p = _operands(kind, np.random.default_rng(2))
    one_line_error(lambda: hwsim.pe.run(kind, a, w, bogus=1, **p), "unknown parameter.*bogus")


@pytest.mark.parametrize("kind", ["bitmod", "mixed_dtype", "mixpe", "denseshift"])
def test_group_pe_rejects_groups_that_do_not_divide_k(kind):
    a, w, p = _operands(kind, np.random.default_rng(3))
    fmt = w.spec.format
    scale = w.spec.scale_format
    padded = q(_values(w), fmt, granularity="group", group_size=24, pad="zero", scale_format=scale)
    one_line_error(lambda: hwsim.pe.run(kind, a, padded, **p), "group_size 24 does not divide K")


@pytest.mark.parametrize("kind", ["int_mac", "stripes", "loom", "hawq", "mixpe"])
def test_integer_pe_rejects_float_format(kind):
    a, w, p = _operands(kind, np.random.default_rng(4))
    fp8 = q(_values(w), "float8_e4m3fn")
    one_line_error(lambda: hwsim.pe.run(kind, a, fp8, **p), "float8_e4m3fn")


def test_float_mac_rejects_integer_format_and_codes():
    a, w, _ = _operands("float_mac", np.random.default_rng(5))
    one_line_error(lambda: hwsim.pe.run("float_mac", a, q(_values(w), "int8")), "int8 is not a")
    one_line_error(lambda: hwsim.pe.run("float_mac", np.ones((M, K), np.int8), w), "use int_mac")


def test_float_mac_nan_inf_follow_ieee():
    a = np.array([[1.0, np.nan, 2.0], [np.inf, 1.0, 1.0], [np.inf, -np.inf, 1.0]])
    w = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    out = hwsim.pe.run("float_mac", a, w).out
    assert np.isnan(out[0]).all() and out[1, 0] == np.inf and np.isnan(out[1, 1])  # inf * 0
    assert np.isnan(out[2]).all()  # inf - inf
    one_line_error(lambda: hwsim.pe.run("float_mac", a, w, acc="kulisch"), "inf/NaN operands")


@pytest.mark.parametrize("kind", ["bitmod", "mixed_dtype", "mixpe"])
def test_fp16_activation_pes_reject_non_finite(kind):
    a, w, p = _operands(kind, np.random.default_rng(6))
    for bad in (np.nan, np.inf, 1e30):
        x = np.full((M, K), 0.5)
        x[0, 0] = bad
        one_line_error(lambda x=x: hwsim.pe.run(kind, x, w, **p), "finite in FP16")


# --- overflow: counted, raised only when asked ---------------------------------------------
def test_int_mac_overflow_counted_then_raised_when_asked():
    a = np.full((1, 4), 127, np.int64)
    res = hwsim.pe.run("int_mac", a, a, acc_bits=16)
    assert res.overflows > 0 and res.out[0, 0] == (4 * 127 * 127 + 2**15) % 2**16 - 2**15
    sat = hwsim.pe.run("int_mac", a, a, acc_bits=16, overflow="saturate")
    assert sat.overflows > 0 and sat.out[0, 0] == 2**15 - 1
    one_line_error(
        lambda: hwsim.pe.run("int_mac", a, a, acc_bits=16, on_overflow="raise"), "overflow"
    )


@pytest.mark.parametrize("kind", ["stripes", "loom"])
def test_serial_pes_are_exact_or_refuse(kind):
    a = np.full((1, 4), 2**40, np.int64)
    one_line_error(lambda: hwsim.pe.run(kind, a, a), "too wide")


# --- symmetric integers (no -2^(b-1)) on integer PEs ---------------------------------------
def test_symmetric_int_formats_run_on_int_mac_and_their_unused_code_is_refused():
    x = np.random.default_rng(7).standard_normal((3, 8))
    qt = q(x, "int8_sym")
    vals = hwsim.format("int8_sym").decode(qt.codes)
    res = hwsim.pe.run("int_mac", qt, qt)
    np.testing.assert_array_equal(res.out, (vals @ vals.T).astype(np.int64))
    assert res.counts["mul.8x8"] == 3 * 3 * 8
    bad = hwsim.QTensor(np.full((3, 8), 128, np.uint8), qt.scales, None, qt.spec)
    one_line_error(lambda: hwsim.pe.run("int_mac", bad, qt), "unused .NaN. code of int8_sym")


def test_mixpe_refuses_a_float_format_even_when_its_values_are_integers():
    w = q(np.array([[1.0, 2.0, -4.0, 8.0]] * 2), "float8_e4m3fn", scale_format="pow2")
    assert np.all(hwsim.dequantize(w) == np.round(hwsim.dequantize(w)))
    one_line_error(
        lambda: hwsim.pe.run("mixpe", np.ones((1, 4), np.int64), w), "must be an integer format"
    )


# --- quantize: a scale format's range overflow is counted, not silent ----------------------
@pytest.mark.parametrize(
    "rows, scale_format, saturated",
    [
        ([[1e308, 1.0], [1.0, 2.0]], "fp16", 1),  # scale above 65504: clamped to max
        ([[1e-10, 0.0], [1.0, 2.0]], "fp16", 1),  # scale below fp16's smallest subnormal
        ([[1e300, 1.0], [3.0, 1.0]], "fp32", 1),
        ([[1.0, 2.0], [0.0, 0.0]], "bf16", 0),  # an all-zero group is not an overflow
        ([[65504.0 * 7, 1.0]], "fp16", 0),  # exactly the largest scale
    ],
)
def test_quantize_counts_saturated_scales(rows, scale_format, saturated):
    spec = hwsim.QuantSpec("int4", "channel", scale_format=scale_format)
    qt = hwsim.quantize(np.array(rows), spec)
    assert qt.meta["scale_saturated"] == saturated


# --- PE parameters: flags are booleans, integers are integers -------------------------------
@pytest.mark.parametrize(
    "kind, params, match",
    [
        ("stripes", {"dynamic": "yes"}, r"stripes\.dynamic: expected True or False"),
        ("loom", {"dynamic": 1}, r"loom\.dynamic: expected True or False"),
        ("bitmod", {"skip_zero_terms": "no"}, r"bitmod\.skip_zero_terms: expected True or False"),
        ("fixed_point", {"dsp_packing": "x"}, r"fixed_point\.dsp_packing: expected True or"),
        ("hawq", {"out_signed": "x"}, r"hawq\.out_signed: expected True or False"),
        ("hawq", {"out_zero_point": 0.5}, r"hawq\.out_zero_point: expected an integer"),
    ],
)
def test_pe_parameters_of_the_wrong_type(kind, params, match):
    one_line_error(lambda: hwsim.pe.get_pe(kind, **params), match)


def test_hawq_zero_point_outside_the_output_range():
    one_line_error(
        lambda: hwsim.pe.get_pe("hawq", out_zero_point=1000),
        r"hawq\.out_zero_point: expected an integer in the output range \[-128, 127\]",
    )
    one_line_error(
        lambda: hwsim.pe.get_pe("hawq", out_zero_point=-1, out_signed=False),
        r"output range \[0, 255\], got -1",
    )


# --- requantize / dyadic --------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw, match",
    [
        ({"M": 5.5, "c": 3}, "M must be an integer"),
        ({"M": 5, "c": 3.0}, "c must be an integer"),
        ({"M": 5, "c": 3, "zero_point": 0.5}, "zero_point must be an integer"),
        ({"M": np.array([5, 6]), "c": 3}, "do not broadcast against acc"),
        ({"M": 2**31, "c": 3}, r"M must lie in \[0, 2\^31\)"),
        ({"M": 5, "c": 3, "out_bits": 0}, "out_bits must be an integer in 1..32"),
    ],
)
def test_requantize_bad_parameters(kw, match):
    acc = np.ones((2, 3), np.int64)
    one_line_error(lambda: requantize(acc, **kw), match)


@pytest.mark.parametrize("scale", ["x", 0.0, -0.5, float("nan"), float("inf"), [0.5, -1.0]])
def test_dyadic_bad_scales(scale):
    one_line_error(lambda: dyadic(scale), "dyadic: ")


# --- fp32 registers of the group-dequant PEs: overflow is counted ----------------------------
@pytest.mark.parametrize(
    "kind, fmt, spec_kw",
    [
        ("mixpe", "int4", {"scale_format": "fp32"}),
        ("denseshift", "denseshift4", {}),
        ("mixed_dtype", FP4, {"scale_format": "int8"}),
    ],
)
def test_group_dequant_pes_count_fp32_overflow(kind, fmt, spec_kw):
    K = 256
    a = np.full((1, K), 65504.0)
    small = q(np.full((2, K), 1.0), fmt, granularity="group", group_size=32, **spec_kw)
    assert hwsim.pe.run(kind, a, small).overflows == 0
    huge = q(np.full((2, K), 1e36), fmt, granularity="group", group_size=32, **spec_kw)
    res = hwsim.pe.run(kind, a, huge)
    assert np.all(np.isinf(res.out)) and res.overflows == res.out.size == 2


def test_hawq_reports_clamped_outputs():
    a = np.array([[127] * 4, [1, 0, 0, 0]])
    w = np.array([[127] * 4, [-127] * 4])
    res = hwsim.pe.run("hawq", a, w, a_scale=1.0, w_scale=1.0, out_scale=1.0)
    # 4 * 127 * 127 clamps to 127 and its negative to -128; 127 and -127 fit
    assert res.out.tolist() == [[127, -128], [127, -127]]
    assert res.info["out_clamped"] == 2 and res.overflows == 0


# --- hand-built QTensors whose arrays disagree with their spec -----------------------------
def _group_qt():
    x = np.random.default_rng(9).standard_normal((3, 64))
    return q(x, "int4", granularity="group", group_size=16)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("scales", np.ones((5, 1)), r"QTensor\.scales has shape \(5, 1\), expected \(3, 4\)"),
        ("zero_points", np.ones((3, 2)), r"QTensor\.zero_points has shape \(3, 2\)"),
        ("spec", "int4", "QTensor.spec must be a QuantSpec"),
    ],
)
def test_inconsistent_qtensor(field, value, match):
    qt = _group_qt()
    parts = {"codes": qt.codes, "scales": qt.scales, "zero_points": None, "spec": qt.spec}
    parts[field] = value
    bad = hwsim.QTensor(**parts)
    one_line_error(lambda: hwsim.dequantize(bad), "dequantize: " + match)
    one_line_error(lambda: hwsim.pe.run("mixpe", np.ones((2, 64), np.int64), bad), match)


@pytest.mark.parametrize("name", ["pow2_e3", "denseshift4"])
def test_pow2_decode_rejects_codes_out_of_range(name):
    f = hwsim.format(name)
    one_line_error(lambda: f.decode(np.array([2**f.bits])), r"codes must lie in \[0, 2\*\*")
    one_line_error(lambda: f.decode(np.array([0.5])), "expected integer codes")


@pytest.mark.parametrize(
    "name", ["int8", "float8_e4m3fn", "ap_fixed<8,3>", "nf4", "pow2_e3", "mxfp4"]
)
@pytest.mark.parametrize("saturate", ["no", 1])
def test_saturate_must_be_a_bool(name, saturate):
    f = hwsim.format(name)
    one_line_error(lambda: f.encode(np.ones(32), saturate=saturate), "saturate")
