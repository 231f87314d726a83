"""Scalar, obviously-correct references for the reference package's numeric primitives.

Python ints and `fractions.Fraction` only (no numpy arithmetic), one element at a time:
- `ulp_distance_scalar`: count the representable values between two floats by walking
  the bit patterns through `struct`.
- `bitplane_gemm_scalar`: the exact integer dot product, reduced modulo 2**32 to int32.
- `group_gemm_scalar`: group_gemm's numerics with every fp32 rounding done by
  `hwsim.pe.accumulator_reference.round_fraction` on exact rationals.
The test suite holds the vectorised versions equal to these.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import float_spec

_PACK = {"float64": ("<d", "<Q", 64), "float32": ("<f", "<I", 32), "float16": ("<e", "<H", 16)}


def _pattern(x: float, dtype: str) -> int:
    if dtype == "bfloat16":
        (bits,) = struct.unpack("<I", struct.pack("<f", x))
        if bits & 0xFFFF:
            raise ValueError(f"{x!r} is not a bfloat16 value")
        return bits >> 16
    f, i, _ = _PACK[dtype]
    (bits,) = struct.unpack(i, struct.pack(f, x))
    return bits


def _width(dtype: str) -> int:
    return 16 if dtype == "bfloat16" else _PACK[dtype][2]


def ulp_distance_scalar(x: float, y: float, dtype: str = "float32") -> float:
    """Representable values of `dtype` between x and y (+0 and -0 are 0 apart)."""
    if math.isnan(x) or math.isnan(y):
        return 0.0 if math.isnan(x) and math.isnan(y) else math.inf
    w = _width(dtype)
    sign = 1 << (w - 1)

    def rank(v: float) -> int:
        b = _pattern(v, dtype)
        return -(b & (sign - 1)) if b & sign else b

    return float(abs(rank(x) - rank(y)))


def wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def bitplane_gemm_scalar(a, w) -> list[list[int]]:
    """sum_k a[m][k] * w[n][k] modulo 2**32 as int32, with Python ints."""
    return [[wrap32(sum(int(x) * int(y) for x, y in zip(row, col))) for col in w] for row in a]


def _rn32(x: Fraction) -> Fraction:
    return Fraction(round_fraction(x, float_spec("fp32"), False)[0])


def group_gemm_scalar(a16, codes, lut, format_ids, scales, zero_points, group_size) -> list:
    """group_gemm (see triton_kernels) for FP16 activation values `a16`, element by element."""
    M, K = len(a16), len(a16[0])
    N = len(codes)
    out = []
    for m in range(M):
        row = []
        for n in range(N):
            acc = Fraction(0)
            for g in range(K // group_size):
                s_qa, s_a = Fraction(0), Fraction(0)
                for k in range(g * group_size, (g + 1) * group_size):
                    a = Fraction(float(a16[m][k]))
                    v = Fraction(float(lut[int(format_ids[n][g])][int(codes[n][k])]))
                    s_qa = _rn32(s_qa + a * v)
                    s_a = _rn32(s_a + a)
                p = s_qa
                if zero_points is not None:
                    z = Fraction(float(zero_points[n][g]))
                    p = _rn32(s_qa - _rn32(z * s_a))
                acc = _rn32(acc + _rn32(p * Fraction(float(scales[n][g]))))
            row.append(float(acc))
        out.append(row)
    return out
