"""HAWQ-V3 dyadic requantization: integer-only rescaling of int32 accumulators.

A float scale s (e.g. s_in * s_w / s_out) becomes a dyadic number M / 2^c with a 31-bit
integer multiplier: m, e = frexp(s) (0.5 <= m < 1), M = round_half_up(m * 2^31), c = 31 - e.
When the rounding carries (M == 2^31) the pair is renormalised to (2^30, c - 1), so M always
lies in [2^30, 2^31). An accumulator z then maps to

    out = clamp(round(z * M / 2^c) + zero_point, output range)

computed exactly in integers. With |z| <= 2^31 and M < 2^31, |z * M| < 2^62 fits int64; the
rounding is done from the floor quotient and the remainder, so no intermediate ever exceeds
int64 (adding 2^(c-1) to z * M could). The float64 form round(z * M / 2^c) is exact only while
|z * M| < 2^53; published implementations also disagree at ties (HAWQ: float64 RNE; its TVM
deployment: truncation), hence `rounding` is a parameter.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hwsim.errors import HwsimError

REQUANT_ROUNDINGS = ("rne", "half_up", "half_away", "floor", "toward_zero")
_M_BITS = 31


def _check_scale(scale: float) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise HwsimError(f"dyadic: scale must be a finite number > 0, got {scale!r}")


def dyadic_scalar(scale: float) -> tuple[int, int]:
    """Reference: (M, c) with M / 2^c the dyadic approximation of one float scale."""
    scale = float(scale)
    _check_scale(scale)
    m, e = math.frexp(scale)
    # m * 2^31 is exact in float64; adding 0.5 is exact too (its ulp is <= 2^-22).
    M = math.floor(m * 2.0**_M_BITS + 0.5)
    c = _M_BITS - e
    if M == 2**_M_BITS:  # rounding carried into a new bit: renormalise
        M, c = 2 ** (_M_BITS - 1), c - 1
    return M, c


def dyadic(scale):
    """(M, c) for a float scale, or int64 arrays (M, c) for an array of scales.

    M / 2^c approximates the scale with M in [2^30, 2^31) (round half up on the 31-bit
    mantissa). Raises HwsimError for scales that are not finite and positive.
    """
    try:
        s = np.asarray(scale, dtype=np.float64)
    except (TypeError, ValueError):
        raise HwsimError(
            f"dyadic: expected a float scale or an array of them, got {scale!r}"
        ) from None
    if s.ndim == 0:
        return dyadic_scalar(float(s))
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        bad = s[~(np.isfinite(s) & (s > 0))][0]
        raise HwsimError(f"dyadic: every scale must be a finite number > 0, got {bad!r}")
    m, e = np.frexp(s)
    M = np.floor(m * 2.0**_M_BITS + 0.5).astype(np.int64)
    c = (_M_BITS - e).astype(np.int64)
    carry = M == 2**_M_BITS
    M = np.where(carry, 2 ** (_M_BITS - 1), M)
    c = np.where(carry, c - 1, c)
    return M, c


def dyadic_value(M, c):
    """The float64 value M / 2^c (exact while it is a normal float64)."""
    return np.ldexp(np.asarray(M, dtype=np.float64), -np.asarray(c, dtype=np.int64))


def output_range(out_bits: int, signed: bool) -> tuple[int, int]:
    """Inclusive integer range of the requantized output."""
    if not (isinstance(out_bits, int | np.integer) and 1 <= out_bits <= 32):
        raise HwsimError(f"requantize: out_bits must be an integer in 1..32, got {out_bits!r}")
    if signed:
        return -(2 ** (out_bits - 1)), 2 ** (out_bits - 1) - 1
    return 0, 2**out_bits - 1


def _check_rounding(rounding: str) -> None:
    if rounding not in REQUANT_ROUNDINGS:
        raise HwsimError(
            f"requantize: rounding must be one of {', '.join(REQUANT_ROUNDINGS)}, got {rounding!r}"
        )


def _round_fraction(v: Fraction, rounding: str) -> int:
    """Round an exact rational by the definition of each mode."""
    lo = math.floor(v)
    frac = v - lo  # in [0, 1)
    if rounding == "floor":
        return lo
    if rounding == "toward_zero":
        return lo if v >= 0 or frac == 0 else lo + 1
    if frac != Fraction(1, 2):
        return lo + (1 if frac > Fraction(1, 2) else 0)
    if rounding == "half_up":
        return lo + 1
    if rounding == "half_away":
        return lo + 1 if v > 0 else lo
    return lo if lo % 2 == 0 else lo + 1  # rne


def requantize_scalar(
    z: int, M: int, c: int, rounding="rne", out_bits=8, signed=True, zero_point=0
) -> int:
    """Reference: one accumulator, exact rational arithmetic, then clamp."""
    _check_rounding(rounding)
    lo, hi = output_range(out_bits, signed)
    q = _round_fraction(Fraction(int(z) * int(M)) / Fraction(2) ** int(c), rounding)
    return min(max(q + int(zero_point), lo), hi)


def _shift_round(p: np.ndarray, c: np.ndarray, rounding: str) -> np.ndarray:
    """round(p / 2^c) for int64 p with |p| < 2^62 and 1 <= c <= 62, exactly."""
    q = p >> c
    r = p - (q << c)  # remainder in [0, 2^c)
    half = np.int64(1) << (c - 1)
    if rounding == "floor":
        return q
    if rounding == "toward_zero":
        return q + ((p < 0) & (r != 0))
    if rounding == "half_up":
        return q + (r >= half)
    if rounding == "half_away":
        return q + np.where(p >= 0, r >= half, r > half)
    return q + ((r > half) | ((r == half) & ((q & 1) == 1)))  # rne


def _integers(v, name: str) -> np.ndarray:
    """An integer parameter of requantize as int64 (5.5 would silently truncate)."""
    arr = np.asarray(v)
    if arr.dtype.kind not in "iu":
        raise HwsimError(f"requantize: {name} must be an integer or integer array, got {v!r}")
    if arr.size and int(arr.max()) > 2**63 - 1:  # uint64 beyond int64 would wrap negative
        raise HwsimError(f"requantize: {name} must fit int64, got {int(arr.max())}")
    return arr.astype(np.int64)


def requantize(acc, M, c, rounding="rne", out_bits=8, signed=True, zero_point=0) -> np.ndarray:
    """Requantize integer accumulators: clamp(round(acc * M / 2^c) + zero_point).

    acc: integer array (int32 range; wider values are accepted while |acc * M| < 2^62).
    M, c: from `dyadic`, scalars or arrays broadcastable against acc (per-channel).
    rounding: rne | half_up | half_away | floor | toward_zero.
    Returns int64 values in the output range of `out_bits` (signed or unsigned).
    """
    _check_rounding(rounding)
    lo, hi = output_range(out_bits, signed)
    z = np.asarray(acc)
    if z.dtype.kind not in "iu":
        raise HwsimError(f"requantize: acc must be an integer array, got dtype {z.dtype}")
    if z.size and (int(z.max()) > 2**31 or int(z.min()) < -(2**31)):  # before int64: no wrap
        raise HwsimError("requantize: |acc| must be <= 2^31 (int32 accumulators)")
    z = z.astype(np.int64)
    M_arr, c_arr = _integers(M, "M"), _integers(c, "c")
    zp = _integers(zero_point, "zero_point")
    if np.any(M_arr < 0) or np.any(M_arr >= 2**_M_BITS):
        raise HwsimError("requantize: M must lie in [0, 2^31) (use dyadic(scale))")
    try:
        z, M_arr, c_arr, zp = np.broadcast_arrays(z, M_arr, c_arr, zp)
    except ValueError:
        raise HwsimError(
            f"requantize: M {M_arr.shape}, c {c_arr.shape} and zero_point {zp.shape} do not "
            f"broadcast against acc {z.shape}"
        ) from None
    p = z * M_arr  # |p| < 2^62: exact in int64
    inner = (c_arr >= 1) & (c_arr <= 62)
    q = np.zeros(p.shape, dtype=np.int64)
    q[inner] = _shift_round(p[inner], c_arr[inner], rounding)
    # Shifts outside 1..62 are rare (scale >= 2^30 or < 2^-32): exact Python-int reference.
    for idx in zip(*np.nonzero(~inner)):
        v = _round_fraction(Fraction(int(p[idx])) / Fraction(2) ** int(c_arr[idx]), rounding)
        q[idx] = min(max(v, lo - 2**33), hi + 2**33)  # pre-clamp so it fits int64
    return np.clip(q + zp, lo, hi)


def requantize_float64(acc, M, c, out_bits=8, signed=True, zero_point=0) -> np.ndarray:
    """The float64 form (HAWQ's reference): RNE of acc * M / 2^c in float64 arithmetic.

    Kept to show where it goes wrong: once |acc * M| >= 2^53 the product is rounded before
    the shift and ties/near-ties come out differently from the exact `requantize`.
    """
    lo, hi = output_range(out_bits, signed)
    prod = np.asarray(acc, dtype=np.float64) * np.asarray(M, dtype=np.float64)
    q = np.rint(np.ldexp(prod, -np.asarray(c, dtype=np.int64)))
    return np.clip(q + zero_point, lo, hi).astype(np.int64)
