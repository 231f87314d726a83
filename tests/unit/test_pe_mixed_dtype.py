"""Mixed-datatype PE: per-group codebooks (BitMoD mixture, ANT, OliVe pairs) decoded right,
group sums exact, equal to the Fraction reference bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.olive import olive_quantize
from hwsim.errors import HwsimError
from hwsim.pe.mixed_dtype import MixedDtypePE, dyadic_integers, mixed_dtype_reference

FP4 = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
FP3 = tuple(f"bitmod_fp3_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))
ANT = ("ant_int4", "ant_flint4", "ant_pot4", "ant_float4")


def weights(rng, kind, N=4, K=64):
    w = rng.standard_normal((N, K)) * np.where(rng.random((N, K)) < 0.05, 20.0, 1.0)
    if kind == "bitmod4":
        spec = hwsim.QuantSpec(format=FP4, granularity="group", group_size=32, scale_format="int8")
    elif kind == "bitmod3":
        spec = hwsim.QuantSpec(format=FP3, granularity="group", group_size=16)
    elif kind == "ant":
        spec = hwsim.QuantSpec(format=ANT, granularity="channel")
    elif kind == "olive":
        return olive_quantize(w, hwsim.QuantSpec(format="olive_flint4", granularity="channel"))
    else:
        spec = hwsim.QuantSpec(format=kind, granularity="group", group_size=16)
    return hwsim.quantize(w, spec)


def activations(rng, kind, M=3, K=64):
    x = rng.standard_normal((M, K)) * 2.0 ** rng.integers(-20, 8, (M, K))
    if kind == "fp16":
        return np.clip(x, -65504, 65504)
    if kind == "int8":
        return hwsim.quantize(x, hwsim.QuantSpec(format="int8", granularity="channel"))
    return rng.integers(-128, 128, (M, K))


@pytest.mark.parametrize("out_acc", ["fp32", "fp64"])
@pytest.mark.parametrize("act", ["fp16", "int8", "ints"])
@pytest.mark.parametrize("kind", ["bitmod4", "bitmod3", "ant", "olive", "nf4", "int4"])
def test_equals_reference(rng, kind, act, out_acc):
    w = weights(rng, kind)
    a = activations(rng, act)
    res = MixedDtypePE(out_acc).run(a, w)
    np.testing.assert_array_equal(res.out, mixed_dtype_reference(a, w, out_acc))
    assert res.cycles == 3 * 4 * 64 and res.tile_cycles is None


def test_each_group_decoded_through_its_own_codebook(rng):
    w = weights(rng, "bitmod4", N=6, K=128)
    assert len(np.unique(w.format_ids)) > 1  # a real mixture
    # one-hot activations read single weights back: out = scale * decoded value, exactly
    K = 128
    eye = np.eye(K)
    res = MixedDtypePE("fp64").run(eye, w)
    for n in range(6):
        for k in range(K):
            fmt = hwsim.format(FP4[int(w.format_ids[n, k // 32])])
            v = fmt.decode(w.codes[n : n + 1, k])[0]
            assert res.out[k, n] == v * w.scales[n, k // 32]
    np.testing.assert_array_equal(res.out.T, hwsim.dequantize(w))
    assert sum(res.info["groups_per_format"].values()) == 6 * 4


def test_olive_pairs_decode_and_outliers(rng):
    w = weights(rng, "olive", N=3, K=32)
    res = MixedDtypePE("fp64").run(np.eye(32), w)
    np.testing.assert_array_equal(res.out.T, hwsim.dequantize(w))
    assert res.info["outliers"] == w.meta["n_outliers"] > 0
    with pytest.raises(HwsimError, match="OliVe-paired"):
        hwsim.pe.run("bitmod", np.zeros((1, 32)), w)


def test_group_sums_exact_against_python_ints(rng):
    M, N, K, g = 2, 3, 64, 16
    codes = rng.integers(0, 16, (N, K)).astype(np.uint8)
    spec = hwsim.QuantSpec(format=FP4, granularity="group", group_size=g)
    ids = rng.integers(0, 4, (N, K // g)).astype(np.uint8)
    w = hwsim.QTensor(codes, np.ones((N, K // g)), None, spec, format_ids=ids)
    a = rng.integers(-(2**20), 2**20, (M, K))
    res = MixedDtypePE("fp64").run(a, w)
    for m in range(M):
        for n in range(N):
            exact = 0
            for k in range(K):
                f = hwsim.format(FP4[int(ids[n, k // g])])
                exact += int(a[m, k]) * int(f.decode(codes[n : n + 1, k])[0])
            assert res.out[m, n] == exact


def test_counts(rng):
    w = weights(rng, "bitmod4")
    res = MixedDtypePE().run(activations(rng, "int8"), w)
    M, N, K, G = 3, 4, 64, 2
    assert res.counts["lut.4"] == M * N * K
    assert res.counts["fadd.32"] == M * N * G
    assert res.counts["fmul.32"] == M * N * G + M * N
    assert sum(v for k, v in res.counts.items() if k.startswith("mul.")) == M * N * K
    assert MixedDtypePE().expected("int8", FP4).cycles_per_mac == 1.0


def test_errors(rng):
    with pytest.raises(HwsimError, match="mixed_dtype.out_acc"):
        MixedDtypePE("fp16")
    with pytest.raises(HwsimError, match="dyadic"):
        dyadic_integers(np.array([0.1]), "x")
    w = weights(rng, "int4")
    with pytest.raises(HwsimError, match="K mismatch"):
        MixedDtypePE().run(np.zeros((2, 32)), w)
    with pytest.raises(HwsimError, match="activations must be integer or float16"):
        MixedDtypePE().check("float8_e4m3fn", "int4")
    assert "mixed_dtype" in hwsim.pe.pe_kinds()
