"""A corpus of bad input to the Python API (hwsim.format / QuantSpec / quantize / dequantize,
the codecs, hwsim.pe kernels, metrics, requantize).

Two tables: ERRORS, calls that must raise a one-line HwsimError matching a pattern (never a
TypeError, a numpy/numba traceback or a silent wrong result); NUMERIC, calls at the numeric
edges (big-endian or float16 arrays, huge and tiny values) whose result or overflow count is
checked against what the documentation promises.
"""

from __future__ import annotations

import numpy as np
import pytest
from pe_operands import FP4, q, valid_operands

import hwsim
from hwsim.dtypes import max_abs_error, mse, olive_quantize, requantize, sqnr_db
from hwsim.errors import HwsimError

RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 64))
IA, IW = RNG.integers(-100, 100, (2, 64)), RNG.integers(-100, 100, (3, 64))
FP32_MAX = float(np.finfo(np.float32).max)


def spec(**kw):
    return lambda: hwsim.QuantSpec(**kw)


def pe_operands(kind):
    """Valid (a, w, params) for each PE kind; the corpus then spoils one of them."""
    return valid_operands(kind, X[:2], X[1:4], IA, IW)


def run_with(kind, a=None, w=None, spoil="a"):
    a0, w0, p = pe_operands(kind)
    args = (a, w0) if spoil == "a" else (a0, w)
    return lambda: hwsim.pe.run(kind, *args, **p)


U64_BIG = np.full((2, 64), 2**63, np.uint64)
U64_MAX = np.full((3, 64), 2**64 - 1, np.uint64)

# --- calls that must be one-line HwsimErrors ----------------------------------------------
ERRORS = [
    # loaders and the PE registry take names or paths, not other objects
    ("load_arch None", lambda: hwsim.load_arch(None), r"arch: expected a path or a shipped arch"),
    ("load_arch int", lambda: hwsim.load_arch(5), r"arch: expected a path .*, got int"),
    ("load_workload list", lambda: hwsim.load_workload([1]), r"workload: expected a Work"),
    ("pe.run None kind", lambda: hwsim.pe.run(None, [[1.0]], [[1.0]]), r"PE kind: expected a name"),
    ("pe.run int kind", lambda: hwsim.pe.run(3, [[1.0]], [[1.0]]), r"PE kind: .*got int"),
    # hwsim.format: only names (or Formats) are formats
    (
        "format list",
        lambda: hwsim.format(["int8"]),
        r"format: expected a format name \(str\), got list",
    ),
    ("format None", lambda: hwsim.format(None), r"expected a format name \(str\), got NoneType"),
    ("format int", lambda: hwsim.format(8), r"expected a format name \(str\), got int"),
    ("format dict", lambda: hwsim.format({}), r"expected a format name \(str\), got dict"),
    ("format array", lambda: hwsim.format(np.array(["int8"])), r"got ndarray"),
    ("format unknown", lambda: hwsim.format("int8x"), r"unknown format 'int8x'; closest"),
    ("format fp_e5m10", lambda: hwsim.format("fp_e5m10"), r"expected 3 \.\. 8 bits in all"),
    # QuantSpec checks each field when it is built
    ("spec format None", spec(format=None), r"QuantSpec\.format: expected a format name"),
    ("spec format empty", spec(format=()), r"QuantSpec\.format: expected a format name"),
    ("spec format number", spec(format=4), r"QuantSpec\.format: expected a format name"),
    ("spec format unknown", spec(format="int99x"), r"QuantSpec\.format: unknown format 'int99x'"),
    (
        "spec menu unknown",
        spec(format=("int4", "nope")),
        r"QuantSpec\.format: unknown format 'nope'",
    ),
    ("spec menu 256", spec(format=("int4",) * 256), r"a menu holds at most 255 formats, got 256"),
    (
        "spec granularity",
        spec(granularity="rows"),
        r"QuantSpec\.granularity: expected one of tensor",
    ),
    ("spec granularity None", spec(granularity=None), r"QuantSpec\.granularity: expected one of"),
    ("spec group no size", spec(granularity="group"), r"group_size: granularity 'group' needs"),
    ("spec group_size 0", spec(granularity="group", group_size=0), r"group_size: expected an int"),
    ("spec group_size -4", spec(granularity="group", group_size=-4), r"> 0, got -4"),
    ("spec group_size 1.5", spec(granularity="group", group_size=1.5), r"> 0, got 1\.5"),
    ("spec group_size bool", spec(granularity="group", group_size=True), r"> 0, got True"),
    ("spec group_size str", spec(granularity="group", group_size="8"), r"> 0, got '8'"),
    ("spec axis str", spec(axis="x"), r"QuantSpec\.axis: expected an integer, got 'x'"),
    ("spec axis bool", spec(axis=True), r"QuantSpec\.axis: expected an integer, got True"),
    ("spec axis float", spec(axis=1.0), r"QuantSpec\.axis: expected an integer, got 1\.0"),
    ("spec scale_format", spec(scale_format="fp8"), r"QuantSpec\.scale_format: expected fp32"),
    ("spec scale_format int36", spec(scale_format="int36"), r"scale_format: .*got 'int36'"),
    ("spec scale_format None", spec(scale_format=None), r"QuantSpec\.scale_format: .*got None"),
    ("spec symmetric str", spec(symmetric="no"), r"QuantSpec\.symmetric: expected true or false"),
    ("spec symmetric int", spec(symmetric=1), r"QuantSpec\.symmetric: expected true or false"),
    ("spec e8m0 asym", spec(scale_format="e8m0", symmetric=False), r"e8m0 \(MX\) scales are sym"),
    ("spec clipping", spec(clipping="max"), r"QuantSpec\.clipping: expected one of absmax, mse"),
    ("spec percentile nan", spec(percentile=float("nan")), r"percentile: expected a number in"),
    ("spec percentile 0", spec(percentile=0), r"QuantSpec\.percentile: expected a number in"),
    ("spec percentile 101", spec(percentile=101), r"QuantSpec\.percentile: expected a number"),
    ("spec percentile str", spec(percentile="99"), r"QuantSpec\.percentile: expected a number"),
    ("spec rounding", spec(rounding="nearest"), r"rounding: expected one of rne"),
    ("spec scale_rule", spec(scale_rule="up"), r"QuantSpec\.scale_rule: expected one of floor"),
    ("spec pad", spec(pad="wrap"), r"QuantSpec\.pad: expected error or zero, got 'wrap'"),
    ("spec menu_select", spec(menu_select="row"), r"QuantSpec\.menu_select: expected one of"),
    ("spec olive asym", spec(format="olive_int4", symmetric=False), r"OliVe .* symmetric only"),
    # quantize: shapes and sizes
    (
        "group_size 1e30",
        lambda: q(X, "int4", granularity="group", group_size=10**30),
        r"QuantSpec\.group_size: 10+ does not divide axis -1 of length 64",
    ),
    (
        "group_size 1e30 padded",
        lambda: q(X, "int4", granularity="group", group_size=10**30, pad="zero"),
        r"group_size: zero-padding axis -1 of length 64 .* \(at most 2\*\*31\)",
    ),
    (
        "group_size 2**63 padded",
        lambda: q(X, "int4", granularity="group", group_size=2**63, pad="zero"),
        r"at most 2\*\*31",
    ),
    ("group of 0-d", lambda: q(np.array(1.5), "int4", granularity="group", group_size=2), r"0-d"),
    ("channel of 0-d", lambda: q(np.float64(2.0), "int8", granularity="channel"), r"0-d array"),
    ("axis out of range", lambda: q(X, "int8", granularity="channel", axis=2), r"in \[-2, 1\]"),
    ("mx of 0-d", lambda: q(np.array(1.0), "mxfp4"), r"mxfp4 needs an array with an axis"),
    ("int1 symmetric", lambda: q(X, "int1"), r"int1 has no positive value for a symmetric scale"),
    ("int1 symmetric mse", lambda: q(X, "int1", clipping="mse"), r"int1 has no positive value"),
    ("int1_sym", lambda: q(X, "int1_sym"), r"int1_sym: width must be an integer in 2\.\.32"),
    ("stochastic no rng", lambda: q(X, "int4", rounding="stochastic"), r"needs rng=numpy\.random"),
    ("spec not a QuantSpec", lambda: hwsim.quantize(X, "int8"), r"quantize: expected a QuantSpec"),
    ("spec as dict", lambda: hwsim.quantize(X, {"format": "int8"}), r"expected a QuantSpec"),
    # quantize: what is not real numbers, for every scheme
    *[
        (
            f"quantize {fmt_id} {bad_id}",
            (lambda fmt=fmt, kw=kw, bad=bad: q(bad, fmt, **kw)),
            rf"quantize: expected a real-valued array, got dtype {dt}",
        )
        for fmt_id, fmt, kw in [
            ("int8", "int8", {}),
            ("menu", ("int4", "nf4"), {"granularity": "group", "group_size": 2}),
            ("olive", "olive_int4", {}),
            ("mxfp4", "mxfp4", {}),
        ]
        for bad_id, bad, dt in [
            ("None", None, "object"),
            ("str", np.array(["a", "b"]), "<U1"),
            ("bool", np.array([True, False]), "bool"),
            ("complex", np.array([1j, 2.0]), "complex128"),
            ("dict", {}, "object"),
        ]
    ],
    ("quantize NaN int8", lambda: q(np.array([1.0, np.nan]), "int8"), r"int8: cannot encode NaN"),
    # dequantize / QTensor
    (
        "dequantize None",
        lambda: hwsim.dequantize(None),
        r"dequantize: expected a QTensor, got None",
    ),
    ("dequantize array", lambda: hwsim.dequantize(X), r"dequantize: expected a QTensor, got ndar"),
    (
        "QTensor scales None",
        lambda: hwsim.dequantize(
            hwsim.QTensor(np.ones(3, np.uint8), None, None, hwsim.QuantSpec())
        ),
        r"QTensor\.scales is None, expected an array of shape \(1,\)",
    ),
    (
        "QTensor scales str",
        lambda: hwsim.dequantize(
            hwsim.QTensor(np.ones(3, np.uint8), np.array(["a"]), None, hwsim.QuantSpec())
        ),
        r"QTensor\.scales: expected real numbers, got dtype <U1",
    ),
    (
        "QTensor codes float",
        lambda: hwsim.dequantize(hwsim.QTensor(np.ones(3), np.ones(1), None, hwsim.QuantSpec())),
        r"int8\.decode: expected integer codes, got dtype float64",
    ),
    # codecs: vectorised decode
    ("decode float codes", lambda: hwsim.format("float8_e4m3fn").decode([1.0]), r"integer codes"),
    ("decode bool codes", lambda: hwsim.format("int8").decode(np.array([True])), r"dtype bool"),
    ("decode object codes", lambda: hwsim.format("nf4").decode(np.array([None])), r"dtype object"),
    ("decode negative", lambda: hwsim.format("fp_e2m1").decode([-1]), r"codes must lie in \[0"),
    ("decode 2**bits", lambda: hwsim.format("float16").decode([2**16]), r"lie in \[0, 2\*\*16\)"),
    (
        "decode u64 big",
        lambda: hwsim.format("int8").decode(np.array([2**63], np.uint64)),
        r"lie in",
    ),
    ("encode str", lambda: hwsim.format("int4").encode(np.array(["1"])), r"expected real numbers"),
    ("encode int64 2**60", lambda: hwsim.format("int8").encode(np.int64(2**60)), r"beyond 2\*\*53"),
    # codecs: scalar references take one number / one code
    *[
        (
            f"{name}.encode_scalar({bad!r})",
            (lambda n=name, b=bad: hwsim.format(n).encode_scalar(b)),
            m,
        )
        for name in ("int8", "ap_fixed<8,3>", "float8_e4m3fn", "nf4", "pow2_e3")
        for bad, m in [(None, r"expected one real number, got NoneType"), ("1", r"got str")]
    ],
    *[
        (
            f"{name}.decode_scalar({bad!r})",
            (lambda n=name, b=bad: hwsim.format(n).decode_scalar(b)),
            m,
        )
        for name in ("int8", "ap_fixed<8,3>", "float8_e4m3fn", "nf4", "pow2_e3")
        for bad, m in [
            (-1, r"expected a code in 0 \.\. "),
            (2**70, r"expected a code in 0 \.\. "),
            (None, r"expected an integer code, got NoneType"),
            (1.5, r"expected an integer code, got float"),
        ]
    ],
    ("mx encode_scalar float", lambda: hwsim.format("mxfp4").encode_scalar(1.0), r"a block of 32"),
    ("mx decode_scalar short", lambda: hwsim.format("mxint8").decode_scalar([1, 2]), r"33 codes"),
    # PEs: every kind refuses a missing operand; integer PEs refuse values int64 cannot hold
    *[
        (f"{kind} a=None", run_with(kind, a=None), r"expected|must be")
        for kind in sorted(
            ["int_mac", "stripes", "loom", "float_mac", "bitmod", "mixed_dtype", "mixpe"]
            + ["denseshift", "fixed_point", "hawq"]
        )
    ],
    *[
        (
            f"{kind} uint64 >= 2**63",
            run_with(kind, a=U64_BIG),
            r"\] exceed int64 \(\|value\| <= 2\*\*63 - 1\)",
        )
        for kind in ("int_mac", "stripes", "loom")
    ],
    ("int_mac w uint64 max", run_with("int_mac", w=U64_MAX, spoil="w"), r"\[18446744073709551615"),
    *[
        (f"{kind} int64 min", run_with(kind, a=np.full((2, 64), -(2**63))), r"exceed int64")
        for kind in ("int_mac", "stripes", "loom", "hawq")
    ],
    ("bitmod.check w int", lambda: hwsim.pe.get_pe("bitmod").check(None, 5), r"got int"),
    ("bitmod.check a int8", lambda: hwsim.pe.get_pe("bitmod").check("int8"), r"must be float16"),
    ("mixpe.check a fp8", lambda: hwsim.pe.get_pe("mixpe").check("float8_e4m3fn"), r"or float16"),
    # metrics, requantize
    (
        "mse str",
        lambda: mse(np.array(["a"]), np.array(["b"])),
        r"metrics: reference: expected real",
    ),
    ("sqnr complex", lambda: sqnr_db(X, X + 1j), r"metrics: approximation: expected real numbers"),
    ("max_abs shapes", lambda: max_abs_error(X, X[:2]), r"metrics: shapes differ"),
    (
        "olive_quantize str",
        lambda: olive_quantize(np.array(["a"] * 8), hwsim.QuantSpec("olive_int4")),
        r"real-valued",
    ),
    (
        "requantize u64",
        lambda: requantize(np.array([2**63], np.uint64), 5, 3),
        r"\|acc\| must be <= 2\^31",
    ),
    (
        "requantize zp u64",
        lambda: requantize(np.ones(2, np.int64), 5, 3, zero_point=np.uint64(2**63)),
        r"zero_point must fit int64",
    ),
]


@pytest.mark.parametrize("fn, match", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_input_is_a_one_line_error(fn, match):
    with pytest.raises(HwsimError, match=match) as info:
        fn()
    assert "\n" not in str(info.value)


# --- numeric edges: the result (or the overflow count) is what the docs promise ------------
def big_endian(a):
    a = np.asarray(a)
    return a.astype(a.dtype.newbyteorder(">"))


def same_decode(name):
    f = hwsim.format(name)
    codes = f.codes()
    np.testing.assert_array_equal(f.decode(big_endian(codes)), f.decode(codes))


def same_encode(name, cast):
    f = hwsim.format(name)
    x = np.linspace(-3, 3, 61)
    np.testing.assert_array_equal(f.encode(cast(x)), f.encode(cast(x).astype(np.float64)))


def bitmod_saturates(acc):
    a = np.full((1, 256), 1.0)
    w = q(np.full((2, 256), 1e38), FP4, granularity="group", group_size=128, scale_format="int8")
    res = hwsim.pe.run("bitmod", a, w, group_acc=acc)
    if acc == "float":  # the fp32 register and multiply saturate, each output counted
        assert res.out.tolist() == [[FP32_MAX, FP32_MAX]] and res.overflows == 2
    else:  # exact registers: float64 output, nothing saturates
        assert np.all(res.out > 2e40) and res.overflows == 0
    small = q(np.full((2, 256), 1.0), FP4, granularity="group", group_size=128, scale_format="int8")
    assert hwsim.pe.run("bitmod", a, small, group_acc=acc).overflows == 0


def scale_saturated(x, fmt, expect, **kw):
    qt = q(np.asarray(x, dtype=np.float64), fmt, **kw)
    assert qt.meta["scale_saturated"] == expect, qt.meta
    return qt


def int8_group_scale_flush():
    x = np.r_[np.full(64, 1e-6), np.full(64, 100.0)].reshape(1, 128)
    qt = scale_saturated(x, "int4", 1, granularity="group", group_size=64, scale_format="int8")
    assert np.all(hwsim.dequantize(qt)[0, :64] == 0)  # the flushed group, now counted
    assert qt.scale_codes.tolist() == [[1, 255]]


def tiny_fast_path():
    x = np.array([[1e-46] * 8, [1.0] * 8])
    qt = scale_saturated(x, "int8", 1, granularity="channel")  # fused int8 / fp32 kernel
    assert qt.scales[0, 0] == 2.0**-149 and np.all(qt.codes[0] == 0)
    scale_saturated(x, "int8", 1, granularity="channel", clipping="mse")


def int_mac_big_endian():
    res = hwsim.pe.run("int_mac", big_endian(IA), big_endian(IW))
    np.testing.assert_array_equal(res.out, IA @ IW.T)


def int_mac_uint64_exact():
    a = np.full((1, 4), 2**40, np.uint64)
    w = np.full((1, 4), 3, np.uint64)
    assert hwsim.pe.run("int_mac", a, w, acc_bits=48).out.tolist() == [[4 * 3 * 2**40]]


def quantize_big_endian_and_float16():
    ref = q(X, "int4", granularity="group", group_size=16)
    be = q(big_endian(X), "int4", granularity="group", group_size=16)
    np.testing.assert_array_equal(be.codes, ref.codes)
    h = X.astype(np.float16)
    np.testing.assert_array_equal(q(h, "int8").codes, q(h.astype(np.float64), "int8").codes)


def e8m0_out_of_range():
    x = np.array([[1e300] * 32, [1.0] * 32, [1e-300] * 32])
    spec_kw = {"granularity": "block", "group_size": 32, "scale_format": "e8m0"}
    scale_saturated(x, "float8_e4m3fn", 2, **spec_kw)


def mx_block_out_of_range(name, blocks):
    x = np.array([[1e300] * 32, [1.0] * 32, [1e-300] * 32])  # 32 values: 32 // block blocks each
    qt = hwsim.quantize(x, hwsim.QuantSpec(name))
    assert qt.meta["scale_saturated"] == 2 * blocks  # the huge and the tiny row's blocks
    assert np.all(hwsim.dequantize(qt)[1] == 1.0)


def int1_asymmetric():
    # codes {-1, 0} span [min, max] = [-3, 1]: scale 4, zero point rint(-1 + 3/4) = 0
    qt = q(np.array([-3.0, 0.0, 1.0]), "int1", symmetric=False)
    assert qt.scales.tolist() == [4.0] and hwsim.dequantize(qt).tolist() == [-4.0, 0.0, 0.0]


def requantize_big_endian():
    acc = np.array([100, -200, 300])
    np.testing.assert_array_equal(requantize(big_endian(acc), 5, 3), requantize(acc, 5, 3))


NUMERIC = [
    ("bitmod 1e38 float acc", lambda: bitmod_saturates("float")),
    ("bitmod 1e38 exact acc", lambda: bitmod_saturates("exact")),
    ("int8 group scale flush counted", int8_group_scale_flush),
    ("fused int8 fp32 path counts", tiny_fast_path),
    (
        "fp16 scale above max",
        lambda: scale_saturated(
            [[1e308, 1.0]], "int4", 1, granularity="channel", scale_format="fp16"
        ),
    ),
    (
        "int4 scale clamps",
        lambda: scale_saturated(
            np.array([[1e-30] * 4, [1e30] * 4]),
            "int8",
            1,
            granularity="group",
            group_size=4,
            scale_format="int4",
        ),
    ),
    (
        "zero group not counted",
        lambda: scale_saturated(
            np.zeros((2, 4)), "int8", 0, granularity="channel", scale_format="int8"
        ),
    ),
    ("e8m0 beyond 2^127", e8m0_out_of_range),
    ("mxfp4 beyond 2^127", lambda: mx_block_out_of_range("mxfp4", 1)),
    ("mxint8 beyond 2^127", lambda: mx_block_out_of_range("mxint8", 1)),
    ("bfp8_b16 beyond 2^127", lambda: mx_block_out_of_range("bfp8_b16", 2)),
    ("int_mac big-endian", int_mac_big_endian),
    ("int_mac uint64 < 2**63", int_mac_uint64_exact),
    ("quantize big-endian / float16", quantize_big_endian_and_float16),
    ("int1 asymmetric", int1_asymmetric),
    ("requantize big-endian", requantize_big_endian),
    *[
        (f"decode big-endian {n}", (lambda n=n: same_decode(n)))
        for n in (
            "int8",
            "uint4",
            "int8_sym",
            "float8_e4m3fn",
            "float16",
            "fp_e2m1",
            "ap_fixed<8,3>",
            "nf4",
            "pow2_e3",
            "ant_flint4",
        )
    ],
    *[
        (f"encode {c.__name__} {n}", (lambda n=n, c=c: same_encode(n, c)))
        for n in ("int8", "float8_e5m2", "ap_fixed<8,3>")
        for c in (big_endian, np.float16)
    ],
]


@pytest.mark.parametrize("check", [c[1] for c in NUMERIC], ids=[c[0] for c in NUMERIC])
def test_numeric_edges(check):
    check()
