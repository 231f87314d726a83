"""Comparison harness: ULP distance == scalar reference (exhaustive for 16-bit types),
bit-exact equality with NaN rules, relative error, errors, environment banner."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwsim.errors import HwsimError
from hwsim.reference.compare import banner, compare, device_name, environment, ulp_distance
from hwsim.reference.scalar import ulp_distance_scalar


def test_ulp_float16_exhaustive_neighbours_and_random_pairs(rng):
    codes = np.arange(2**16, dtype=np.uint16)
    x = codes.view(np.float16).astype(np.float64)
    y = np.roll(x, 1)  # every code against its predecessor pattern, wrap across signs
    got = ulp_distance(x, y, "float16")
    want = [ulp_distance_scalar(float(p), float(q), "float16") for p, q in zip(x, y)]
    np.testing.assert_array_equal(got, want)
    pairs = rng.integers(0, 2**16, (4096, 2)).astype(np.uint16).view(np.float16).astype(float)
    got = ulp_distance(pairs[:, 0], pairs[:, 1], "float16")
    want = [ulp_distance_scalar(p, q, "float16") for p, q in pairs]
    np.testing.assert_array_equal(got, want)


def test_ulp_bfloat16_exhaustive_against_reference():
    with np.errstate(invalid="ignore"):  # signalling NaN patterns are quieted, still NaN
        patterns = (np.arange(2**16, dtype=np.uint32) << 16).view(np.float32).astype(np.float64)
    y = patterns[::-1].copy()
    got = ulp_distance(patterns, y, "bfloat16")
    want = [ulp_distance_scalar(float(p), float(q), "bfloat16") for p, q in zip(patterns, y)]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ulp_wide_types_random(rng, dtype):
    bits = 32 if dtype == "float32" else 64
    raw = rng.integers(0, 2**63, (2000, 2), dtype=np.uint64)
    if bits == 32:
        with np.errstate(invalid="ignore"):
            vals = (raw % 2**32).astype(np.uint32).view(np.float32).astype(np.float64)
    else:
        vals = raw.view(np.float64)
    got = ulp_distance(vals[:, 0], vals[:, 1], dtype)
    want = [ulp_distance_scalar(float(p), float(q), dtype) for p, q in vals]
    np.testing.assert_array_equal(got, want)


def test_ulp_facts():
    one = np.float32(1.0)
    nxt = np.nextafter(one, np.float32(2))
    assert ulp_distance([nxt], [one], "float32")[0] == 1
    assert ulp_distance([0.0], [-0.0], "float32")[0] == 0
    smallest = float(np.nextafter(np.float32(0), np.float32(1)))
    assert ulp_distance([smallest], [-smallest], "float32")[0] == 2
    assert ulp_distance([np.nan], [1.0], "float32")[0] == np.inf
    assert ulp_distance([np.nan], [np.nan], "float32")[0] == 0


def test_compare_bit_exact_rules():
    c = compare(np.array([1.0, np.nan, 0.0]), np.array([1.0, np.nan, 0.0]), "float32")
    assert c.bit_exact and c.mismatches == 0 and c.max_ulp == 0
    c = compare(np.array([1.0, -0.0]), np.array([1.0, 0.0]), "float32")
    assert not c.bit_exact and c.mismatches == 1 and c.max_ulp == 0
    c = compare(np.array([1.0 + 2**-23, 2.0]), np.array([1.0, 2.0]), "float32")
    assert c.mismatches == 1 and c.max_ulp == 1 and c.max_rel_err == pytest.approx(2**-23)


def test_compare_integers():
    c = compare(np.array([5, -3, 7]), np.array([5, -3, 9]))
    assert not c.bit_exact and c.max_ulp == 2 and c.max_rel_err == pytest.approx(2 / 9)
    assert compare(np.array([2**40]), np.array([2**40])).bit_exact


def test_compare_errors():
    with pytest.raises(HwsimError, match="shapes differ"):
        compare(np.zeros(3), np.zeros(4))
    with pytest.raises(HwsimError, match="not all exact float16"):
        compare(np.array([0.1]), np.array([0.1]), "float16")
    with pytest.raises(HwsimError, match="dtype must be one of"):
        compare(np.zeros(2), np.zeros(2), "float8")
    with pytest.raises(HwsimError, match="dtype must be one of"):
        ulp_distance(np.zeros(2), np.zeros(2), "int4")


def test_environment_and_banner():
    env = environment()
    for key in ("hwsim", "numpy", "torch", "triton", "gpu", "driver", "cuda", "cpu"):
        assert key in env
    json.dumps(env)
    text = banner(env)
    assert "reference checks on" in text and "driver" in text and "triton" in text
    assert device_name({**env, "gpu": None, "torch": None}).endswith("no torch)")
    assert device_name({**env, "gpu": "H100"}) == "cuda:0 (H100)"
