"""The contract every number format meets.

A format is a frozen dataclass: its parameters are data, its derived facts are properties.
`encode` maps real values to unsigned bit patterns (codes), `decode` maps codes back to
float64. Each format has two implementations of the same arithmetic: a scalar,
obviously-correct Python reference (`encode_scalar` / `decode_scalar`) and a vectorised one
(`encode` / `decode`, numpy or numba); the test suite holds them equal over every code and
every midpoint of every format of 8 bits or fewer.

Inputs are converted to float64 exactly (float32 -> float64 is exact) and rounded once.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod

import numpy as np

from hwsim.errors import HwsimError


class Rounding(enum.StrEnum):
    """Rounding modes, named as in IEEE 754 / the ml_dtypes world."""

    RNE = "rne"  # to nearest, ties to even
    TIES_AWAY = "ties_away"  # to nearest, ties away from zero
    TOWARD_ZERO = "toward_zero"  # truncate
    DOWN = "down"  # toward -inf (floor)
    UP = "up"  # toward +inf (ceil)
    STOCHASTIC = "stochastic"  # up with probability = fraction of the gap (needs an rng)


def as_rounding(rounding) -> Rounding:
    try:
        return Rounding(rounding)
    except ValueError:
        names = ", ".join(r.value for r in Rounding)
        raise HwsimError(f"rounding: expected one of {names}, got {rounding!r}") from None


def stochastic_draws(shape, rounding: Rounding, rng) -> np.ndarray | None:
    """Uniform [0, 1) draws for stochastic rounding, one per element, or None.

    Stochastic rounding rounds a value lying a fraction f of the way from its lower to its
    upper neighbour up exactly when its draw u < f. Scalar references take u explicitly so
    that both implementations see the same draws.
    """
    if rounding is not Rounding.STOCHASTIC:
        return None
    if not isinstance(rng, np.random.Generator):
        raise HwsimError("rounding='stochastic' needs rng=numpy.random.Generator(...)")
    return rng.random(shape)


def real_values(x, who: str) -> np.ndarray:
    """`x` as a float64 array; a one-line error for what is not real numbers (str, complex,
    object, datetimes) or for integers that float64 cannot hold exactly."""
    arr = np.asarray(x)
    kind = arr.dtype.kind
    small_float = kind == "V" and arr.dtype.itemsize <= 2  # bfloat16 and the ml_dtypes types
    if kind not in "biuf" and not small_float:
        raise HwsimError(f"{who}: expected real numbers (floats or ints), got dtype {arr.dtype}")
    wide = kind in "iu" and arr.dtype.itemsize >= 8 and arr.size
    if wide and (int(arr.max()) > 2**53 or int(arr.min()) < -(2**53)):
        raise HwsimError(f"{who}: integers beyond 2**53 are not exact in float64; pass floats")
    return arr.astype(np.float64, copy=False)


def real_array(x, who: str) -> np.ndarray:
    """A quantizer's input: real numbers (not bool, str, complex, object), as a native float
    array (float32 kept, everything else as float64; float64 holds float32 exactly)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise HwsimError(f"{who}: expected a real-valued array, got dtype {arr.dtype}")
    if arr.dtype.kind != "f" or arr.dtype.itemsize > 8 or not arr.dtype.isnative:
        arr = arr.astype(np.float64)
    return arr


def saturate_flag(saturate, who: str) -> bool | None:
    """`saturate` checked to be None, True or False ("no" would read as True)."""
    if saturate is not None and not isinstance(saturate, bool | np.bool_):
        raise HwsimError(f"{who}: saturate: expected True, False or None, got {saturate!r}")
    return None if saturate is None else bool(saturate)


def checked_codes(codes, bits: int, who: str) -> np.ndarray:
    """`codes` as a native-endian integer array after checking each is a `bits`-bit pattern."""
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise HwsimError(f"{who}: expected integer codes, got dtype {c.dtype}")
    if not c.dtype.isnative:  # big-endian codes (from a file): the kernels read native ints
        c = c.astype(c.dtype.newbyteorder("="))
    if c.size and (int(c.min()) < 0 or int(c.max()) >= 2**bits):
        raise HwsimError(
            f"{who}: codes must lie in [0, 2**{bits}), got values in [{c.min()}, {c.max()}]"
        )
    return c


def real_scalar(x, who: str) -> int | float:
    """One real number for a scalar reference: a float (or an int), never a str, None or bool."""
    if isinstance(x, bool | np.bool_) or not isinstance(x, int | float | np.integer | np.floating):
        raise HwsimError(f"{who}: expected one real number, got {type(x).__name__}")
    return int(x) if isinstance(x, int | np.integer) else float(x)


def code_scalar(code, bits: int, who: str) -> int:
    """One `bits`-bit code for a scalar reference, checked (never masked into range)."""
    if isinstance(code, bool | np.bool_) or not isinstance(code, int | np.integer):
        raise HwsimError(f"{who}: expected an integer code, got {type(code).__name__}")
    if not 0 <= code < 2**bits:
        raise HwsimError(f"{who}: expected a code in 0 .. {2**bits - 1}, got {code}")
    return int(code)


CODE_CLASSES = ("zero", "subnormal", "normal", "inf", "nan")


class Format(ABC):
    """Base of every number format (subclasses are frozen dataclasses)."""

    @property
    @abstractmethod
    def name(self) -> str:
        """Canonical name; `hwsim.format(f.name)` returns an equal format."""

    @property
    @abstractmethod
    def bits(self) -> int:
        """Width of one code in bits."""

    @property
    def code_dtype(self) -> np.dtype:
        """Smallest unsigned numpy dtype that holds a code."""
        for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
            if self.bits <= np.dtype(dt).itemsize * 8:
                return np.dtype(dt)
        raise HwsimError(f"{self.name}: {self.bits}-bit codes are wider than 64 bits")

    @property
    def max_value(self) -> float:
        """Largest finite value."""
        v = self.values()
        return float(np.nanmax(v[np.isfinite(v)]))

    @property
    def min_value(self) -> float:
        """Smallest (most negative) finite value."""
        v = self.values()
        return float(np.nanmin(v[np.isfinite(v)]))

    # --- vectorised -------------------------------------------------------------------
    @abstractmethod
    def encode(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        """Round real values to codes. `saturate=None` takes the format's default."""

    @abstractmethod
    def decode(self, codes) -> np.ndarray:
        """Codes to float64 values."""

    def round(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        """decode(encode(x)): the representable value each input rounds to."""
        return self.decode(self.encode(x, rounding=rounding, saturate=saturate, rng=rng))

    def codes(self) -> np.ndarray:
        """Every code of the format, in order."""
        if self.bits > 24:
            raise HwsimError(f"{self.name}: too many codes to list ({self.bits} bits)")
        return np.arange(2**self.bits, dtype=np.uint64).astype(self.code_dtype)

    def values(self) -> np.ndarray:
        """decode of every code, indexed by code."""
        return self.decode(self.codes())

    def classify(self, codes) -> np.ndarray:
        """Class of each code: one of CODE_CLASSES (default: from the decoded value)."""
        v = self.decode(codes)
        out = np.full(v.shape, "normal", dtype=object)
        out[v == 0] = "zero"
        out[np.isinf(v)] = "inf"
        out[np.isnan(v)] = "nan"
        return out

    # --- scalar reference -------------------------------------------------------------
    @abstractmethod
    def encode_scalar(self, x: float, rounding="rne", saturate=None, u: float | None = None) -> int:
        """Reference encode of one value; `u` is the stochastic-rounding draw."""

    @abstractmethod
    def decode_scalar(self, code: int) -> float:
        """Reference decode of one code."""

    def __str__(self) -> str:
        return self.name
