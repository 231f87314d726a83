"""BitMoD PE, activation side: FP16 inputs and the per-chunk exponent match of the lanes.

The path the PE runs (`align_lanes`, with guard bits a numba kernel:
hwsim.pe._kernels_bitmod.align_chunks) and the scalar reference (`align_scalar`, Fractions)
are tested equal on every FP16 value.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np

from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module

KB = lazy_module("hwsim.pe._kernels_bitmod")

_FAR_BELOW = -10_000  # chunk exponent of an all-zero chunk


# --- activations --------------------------------------------------------------------------
def to_fp16(a, who: str) -> np.ndarray:
    """Float activations as FP16 (RNE); a QTensor or non-finite value is refused."""
    from hwsim.dtypes import QTensor

    if isinstance(a, QTensor):
        raise HwsimError(f"{who}: activations must be a float array (FP16), got a QTensor")
    a = np.asarray(a)
    if a.ndim != 2 or a.dtype.kind not in "fiu":
        raise HwsimError(
            f"{who}: activations must be a 2-D float array [M, K], got shape {a.shape}, "
            f"dtype {a.dtype}"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # refused just below
        a16 = a.astype(np.float16, copy=False)
    if not np.all(np.isfinite(a16)):
        raise HwsimError(f"{who}: activations must be finite in FP16 (|a| <= 65504, no NaN)")
    return a16


def align_lanes(a16: np.ndarray, dp: int, guard: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Exponent match per chunk of dp lanes: (aligned values [M, K] float64, LSB exponents
    [M, C]; an all-zero chunk reports a large positive exponent, i.e. no constraint)."""
    a = a16.astype(np.float64)
    M, K = a.shape
    if guard is None:  # lsb exponent per row over non-zero lanes (zeros: no constraint)
        field = (a16.view(np.uint16).astype(np.int64) >> 10) & 0x1F
        lane_e = np.where(a != 0, np.maximum(field, 1) - 25, -_FAR_BELOW)
        return a, lane_e.min(axis=1, keepdims=True)
    out, lsb = np.empty((M, K)), np.empty((M, K // dp), np.int64)
    KB.align_chunks(a16.view(np.uint16), a, dp, guard, _FAR_BELOW, out, lsb)
    return out, lsb


def align_scalar(chunk: list[float], guard: int | None) -> list[Fraction]:
    """Reference exponent match of one chunk of FP16 values (Python floats)."""

    def lane_exp(x: float) -> int:
        field = (struct.unpack("<H", struct.pack("<e", x))[0] >> 10) & 0x1F
        return max(field, 1) - 25

    vals = [Fraction(x) for x in chunk]
    if guard is None:
        return vals
    nz = [lane_exp(x) for x in chunk if x != 0]
    if not nz:
        return [Fraction(0)] * len(chunk)
    lsb = Fraction(2) ** (max(nz) - guard)
    out = []
    for v in vals:
        q = math.floor(abs(v) / lsb)
        out.append(q * lsb if v >= 0 else -q * lsb)
    return out
