"""Power-of-two (shift) formats: `pow2_e{E}` with a zero, and zero-free `denseshift{B}`.

Both store a sign bit (the top bit) and an exponent code (the low bits); a weight multiplies
by shifting. Magnitudes are 2^p with p <= 0, so a per-channel scale alpha multiplies them:

- `pow2_e{E}` (E = 1..8, 1 + E bits): exponent code c = 0 is zero; c = 1 .. 2^E - 1 is
  2^p with p = c - (2^E - 1), i.e. p in {0, -1, ..., -(2^E - 2)} (ANT's pot values
  {0, +-2^0..+-2^6} are pow2_e3 times 2^6). Zero always encodes as code 0; the code with only
  the sign bit set (-0) decodes to -0.0 and is never produced.
- `denseshift{B}` (B = 1..9, DenseShift ICCV'23): sign + (B-1)-bit exponent code c, value
  +-2^p with p = c - (2^(B-1) - 1), i.e. p in {0, -1, ..., -(2^(B-1) - 1)}; no zero, so 3 bits
  give the 8 levels +-{1, 1/2, 1/4, 1/8}.

Rounding is in the linear domain between the two neighbouring representable values (the
midpoint of 2^p and 2^(p+1) is 1.5 * 2^p). Ties: `rne` picks the even exponent code (so a tie
between 0 and the smallest power goes to 0), `ties_away` the larger magnitude. Every input
saturates: |x| >= 1 gives +-1 (inf included); `saturate=False` is refused, as these formats
have no inf, NaN or wrap. NaN is an error. DenseShift's zero crossing: a value in
(-2^pmin, 2^pmin) goes to +-2^pmin keeping its sign (0 and -0.0 give +2^pmin) under rne,
ties_away and toward_zero; `down` gives -2^pmin, `up` +2^pmin, `stochastic` +2^pmin with
probability (x + 2^pmin) / 2^(pmin+1).
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from hwsim.dtypes.base import (
    Format,
    Rounding,
    as_rounding,
    checked_codes,
    code_scalar,
    real_scalar,
    real_values,
    saturate_flag,
    stochastic_draws,
)
from hwsim.dtypes.registry import register_pattern
from hwsim.errors import HwsimError


class _ShiftFormat(Format):
    """Shared codec of the sign + exponent-code formats (subclasses set the layout)."""

    has_zero: bool

    @property
    def exp_bits(self) -> int:
        return self.bits - 1

    @property
    def p_min(self) -> int:
        """Smallest exponent: the smallest non-zero magnitude is 2^p_min."""
        return -((1 << self.exp_bits) - (2 if self.has_zero else 1))

    @property
    def p_max(self) -> int:
        return 0

    @property
    def _offset(self) -> int:
        """Exponent code minus exponent."""
        return (1 if self.has_zero else 0) - self.p_min

    @property
    def max_value(self) -> float:
        return 1.0

    @property
    def min_value(self) -> float:
        return -1.0

    # --- shift-PE helpers -------------------------------------------------------------------
    def sign(self, codes) -> np.ndarray:
        """+1 or -1 per code (int8), 0 for zero codes."""
        c = np.asarray(codes).astype(np.int64)
        s = np.where(c >> self.exp_bits, -1, 1).astype(np.int8)
        return np.where(self.is_zero(codes), 0, s).astype(np.int8)

    def exponent(self, codes) -> np.ndarray:
        """p of each code (value = sign * 2^p), int64; 0 for zero codes (check `sign`)."""
        ecode = np.asarray(codes).astype(np.int64) & ((1 << self.exp_bits) - 1)
        return np.where(self.is_zero(codes), 0, ecode - self._offset).astype(np.int64)

    def is_zero(self, codes) -> np.ndarray:
        ecode = np.asarray(codes).astype(np.int64) & ((1 << self.exp_bits) - 1)
        return (ecode == 0) & self.has_zero

    # --- vectorised -------------------------------------------------------------------------
    def decode(self, codes) -> np.ndarray:
        c = checked_codes(codes, self.bits, f"{self.name}.decode")
        mag = np.ldexp(1.0, self.exponent(c))
        mag = np.where(self.is_zero(c), 0.0, mag)
        return np.where(c.astype(np.int64) >> self.exp_bits, -mag, mag)

    def encode(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        mode = self._check(rounding, saturate)
        x = real_values(x, f"{self.name}.encode")
        if np.isnan(x).any():
            raise HwsimError(f"{self.name}: cannot encode NaN (the format has no NaN)")
        u = stochastic_draws(x.shape, mode, rng)
        neg = x < 0
        a = np.minimum(np.abs(x), 1.0)
        bottom = math.ldexp(1.0, self.p_min)
        below = a < bottom
        p = np.frexp(a)[1].astype(np.int64) - 1  # floor(log2 a) for a > 0
        p = np.where(below, self.p_min - 1, p)
        lo = np.where(below, 0.0, np.ldexp(1.0, p))
        hi = np.where(below, bottom, np.ldexp(1.0, p + 1))
        exact = a == lo
        if mode in (Rounding.RNE, Rounding.TIES_AWAY):
            twice, mid = 2.0 * a, lo + hi  # exact: both sides are sums of powers of two
            tie_hi = (
                np.ones(a.shape, bool)
                if mode is Rounding.TIES_AWAY
                else ((p + self._offset) & 1) == 1  # the lower neighbour's exponent code is odd
            )
            up = (twice > mid) | ((twice == mid) & tie_hi)
        elif mode is Rounding.TOWARD_ZERO:
            up = np.zeros(a.shape, bool)
        elif mode is Rounding.DOWN:
            up = neg.copy()
        elif mode is Rounding.UP:
            up = ~neg
        else:  # stochastic, in value order: positive values go up in magnitude when u < f
            # exact products and differences: u is a multiple of 2^-53, hi - lo a power of
            # two, a - lo and hi - a exact by Sterbenz (or lo = 0), 1 - u exact
            pos_up = u * (hi - lo) < a - lo
            neg_toward = np.where(below, a < (1.0 - u) * hi, u * (hi - lo) < hi - a)
            up = np.where(neg, ~neg_toward, pos_up)
        up = up & ~exact
        p_out = np.where(up, p + 1, p)
        zero = below & ~up
        if not self.has_zero:  # the zero crossing: keep the sign, except down/up/stochastic
            if mode is Rounding.DOWN:
                cross_neg = np.ones(a.shape, bool)
            elif mode is Rounding.UP:
                cross_neg = np.zeros(a.shape, bool)
            elif mode is Rounding.STOCHASTIC:
                cross_neg = ~((2.0 * u - 1.0) * bottom < x)
            else:
                cross_neg = neg
            neg = np.where(below, cross_neg, neg)
            p_out = np.where(below, self.p_min, p_out)
            zero = np.zeros(a.shape, bool)
        ecode = np.where(zero, 0, p_out + self._offset)
        sign = np.where(zero, False, neg).astype(np.int64) << self.exp_bits
        return (sign | ecode).astype(self.code_dtype)

    def _check(self, rounding, saturate) -> Rounding:
        saturate = saturate_flag(saturate, self.name)
        if saturate is not None and not saturate:
            raise HwsimError(
                f"{self.name}: saturate=False is not available (no inf, NaN or wrap); "
                "expected saturate=None or True"
            )
        return as_rounding(rounding)

    # --- scalar reference -----------------------------------------------------------------
    def decode_scalar(self, code: int) -> float:
        code = code_scalar(code, self.bits, f"{self.name}.decode_scalar")
        negative = bool(code >> self.exp_bits)
        ecode = code & ((1 << self.exp_bits) - 1)
        if self.has_zero and ecode == 0:
            return -0.0 if negative else 0.0
        mag = math.ldexp(1.0, ecode - self._offset)
        return -mag if negative else mag

    def _table(self) -> tuple[list[Fraction], list[int]]:
        """Values and codes of every code encode may produce, sorted by value."""
        return _value_table(self)

    def encode_scalar(self, x: float, rounding="rne", saturate=None, u: float | None = None) -> int:
        mode = self._check(rounding, saturate)
        x = real_scalar(x, f"{self.name}.encode_scalar")
        if math.isnan(x):
            raise HwsimError(f"{self.name}: cannot encode NaN (the format has no NaN)")
        values, codes = self._table()
        if x <= values[0]:
            return codes[0]
        if x >= values[-1]:
            return codes[-1]
        v = Fraction(x)
        i = bisect.bisect_right(values, v) - 1  # values[i] <= v < values[i + 1]
        lo, lo_code, hi, hi_code = values[i], codes[i], values[i + 1], codes[i + 1]
        if lo == v:
            return lo_code
        positive = x >= 0
        if mode is Rounding.DOWN:
            return lo_code
        if mode is Rounding.UP:
            return hi_code
        if mode is Rounding.STOCHASTIC:
            return hi_code if Fraction(u) < (v - lo) / (hi - lo) else lo_code
        if mode is Rounding.TOWARD_ZERO:
            if abs(lo) != abs(hi):
                return lo_code if abs(lo) < abs(hi) else hi_code
            return hi_code if positive else lo_code
        if v - lo != hi - v:
            return lo_code if v - lo < hi - v else hi_code
        # a tie
        if mode is Rounding.RNE and self.exp_bits > 0:
            lo_even, hi_even = not lo_code & 1, not hi_code & 1  # exponent-code parity
            if lo_even != hi_even:
                return lo_code if lo_even else hi_code
        if mode is Rounding.TIES_AWAY and abs(lo) != abs(hi):
            return lo_code if abs(lo) > abs(hi) else hi_code
        return hi_code if positive else lo_code


@lru_cache(maxsize=64)
def _value_table(f: _ShiftFormat) -> tuple[list[Fraction], list[int]]:
    minus_zero = 1 << f.exp_bits if f.has_zero else None
    pairs = sorted((Fraction(f.decode_scalar(c)), c) for c in range(1 << f.bits) if c != minus_zero)
    return [v for v, _ in pairs], [c for _, c in pairs]


@dataclass(frozen=True)
class Pow2Format(_ShiftFormat):
    """`pow2_e{E}`: sign + E-bit exponent code, code 0 = zero, magnitudes 2^0 .. 2^-(2^E-2)."""

    exponent_bits: int
    has_zero = True

    def __post_init__(self):
        if not isinstance(self.exponent_bits, int) or not 1 <= self.exponent_bits <= 8:
            raise HwsimError(
                f"pow2_e{self.exponent_bits}: exponent bits must be an integer in 1..8, "
                f"got {self.exponent_bits!r}"
            )

    @property
    def name(self) -> str:
        return f"pow2_e{self.exponent_bits}"

    @property
    def bits(self) -> int:
        return 1 + self.exponent_bits


@dataclass(frozen=True)
class DenseShiftFormat(_ShiftFormat):
    """`denseshift{B}`: sign + (B-1)-bit exponent code, no zero, magnitudes 1 .. 2^-(2^(B-1)-1)."""

    width: int
    has_zero = False

    def __post_init__(self):
        if not isinstance(self.width, int) or not 1 <= self.width <= 9:
            raise HwsimError(
                f"denseshift{self.width}: width must be an integer in 1..9, got {self.width!r}"
            )

    @property
    def name(self) -> str:
        return f"denseshift{self.width}"

    @property
    def bits(self) -> int:
        return self.width


def _build_pow2(m: re.Match) -> Pow2Format:
    return Pow2Format(int(m.group(1)))


def _build_denseshift(m: re.Match) -> DenseShiftFormat:
    return DenseShiftFormat(int(m.group(1)))


register_pattern(r"pow2_e(\d+)", _build_pow2, listed=("pow2_e2", "pow2_e3", "pow2_e4"))
register_pattern(
    r"denseshift(\d+)", _build_denseshift, listed=("denseshift2", "denseshift3", "denseshift4")
)
