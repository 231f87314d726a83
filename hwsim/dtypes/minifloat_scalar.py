"""Scalar reference codec of the minifloats: plain Python on exact rationals (Fraction).

`FloatScalarReference` holds the obviously-correct, one-value-at-a-time twins of
`FloatFormat.encode` / `decode` / `classify` (the numba kernels); the tests hold them equal
exhaustively. It is a mixin: `FloatFormat` (hwsim.dtypes.minifloat) inherits it, and every
fact it reads (`bits`, `bias`, `emin`, `max_code`, `_special_codes`, ...) is the format's.
The rounding and special-value rules are those of the minifloat module docstring.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cached_property

from hwsim.dtypes.base import Rounding, as_rounding, code_scalar, real_scalar
from hwsim.errors import HwsimError


class FloatScalarReference:
    """encode_scalar / decode_scalar / classify_scalar of a FloatFormat (exact rationals)."""

    @cached_property
    def _max_fraction(self) -> Fraction:
        return Fraction(self.max_value)

    def decode_scalar(self, code: int) -> float:
        code = code_scalar(code, self.bits, f"{self.name}.decode_scalar")
        negative = self.signed and code >= self.sign_bit
        magnitude = code - self.sign_bit if negative else code
        sign = -1.0 if negative else 1.0
        if self._is_nan_code(code):
            return math.copysign(math.nan, sign)
        if self.has_inf and code in (self.inf_code, self.inf_code | self.sign_bit):
            return sign * math.inf
        exp_field, mantissa = divmod(magnitude, 2**self.man_bits)
        if exp_field == 0 and self.has_subnormals:
            value = Fraction(mantissa, 2**self.man_bits) * Fraction(2) ** self.emin
        else:
            significand = 1 + Fraction(mantissa, 2**self.man_bits)
            value = significand * Fraction(2) ** (exp_field - self.bias)
        return sign * float(value)

    def _is_nan_code(self, code: int) -> bool:
        if self.convention == "ieee":
            magnitude = code & ~self.sign_bit
            return magnitude > self.inf_code
        if self.convention in ("fn", "fnu"):
            return code & ~self.sign_bit == self.nan_code
        return self.convention == "fnuz" and code == self.nan_code

    def classify_scalar(self, code: int) -> str:
        value = self.decode_scalar(code)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf"
        if value == 0:
            return "zero"
        exponent_field = (int(code) & ~self.sign_bit) >> self.man_bits
        return "subnormal" if self.has_subnormals and exponent_field == 0 else "normal"

    def encode_scalar(self, x: float, rounding="rne", saturate=None, u: float | None = None) -> int:
        mode = as_rounding(rounding)
        sat = self._saturating(saturate)
        if mode is Rounding.STOCHASTIC and u is None:
            raise HwsimError("rounding='stochastic' needs the draw u (a float in [0, 1))")
        nan_pos, nan_neg, inf_pos, inf_neg, ovf_pos, ovf_neg, zero_neg = self._special_codes(sat)
        x = float(real_scalar(x, f"{self.name}.encode_scalar"))
        negative = math.copysign(1.0, x) < 0
        if math.isnan(x):
            return nan_neg if negative else nan_pos
        if math.isinf(x):
            return inf_neg if negative else inf_pos
        if not self.signed and (negative or x == 0):
            return self.nan_code
        a = abs(Fraction(x))
        if a == 0:
            return zero_neg if negative else 0
        lo, hi = self._neighbours(a)
        # Which way each mode rounds an inexact magnitude (toward zero = lo).
        if lo in (a, hi):
            r = lo
        elif mode is Rounding.RNE:
            if a - lo != hi - a:
                r = lo if a - lo < hi - a else hi
            else:
                r = lo if self._magnitude_code(lo) % 2 == 0 else hi
        elif mode is Rounding.TIES_AWAY:
            r = lo if a - lo < hi - a else hi
        elif mode is Rounding.TOWARD_ZERO:
            r = lo
        elif mode is Rounding.DOWN:
            r = hi if negative else lo
        elif mode is Rounding.UP:
            r = lo if negative else hi
        else:
            r = hi if Fraction(u) < (a - lo) / (hi - lo) else lo
        if r > self._max_fraction:
            rounds_toward_zero = mode is Rounding.TOWARD_ZERO or (
                mode in (Rounding.DOWN, Rounding.UP) and (mode is Rounding.UP) == negative
            )
            if sat or rounds_toward_zero:
                return self.max_code | (self.sign_bit if negative else 0)
            return ovf_neg if negative else ovf_pos
        if r == 0:
            return zero_neg if negative else 0
        return self._magnitude_code(r) | (self.sign_bit if negative else 0)

    def _neighbours(self, a: Fraction) -> tuple[Fraction, Fraction]:
        """Representable magnitudes lo <= a < hi on the grid without an upper exponent limit."""
        exponent = math.frexp(float(a))[1] - 1  # floor(log2 a); a is a float, so exact
        if not self.has_subnormals and exponent < self.emin:
            smallest = Fraction(2) ** self.emin  # no zero: everything below is the smallest
            return smallest, smallest
        quantum = Fraction(2) ** (max(exponent, self.emin) - self.man_bits)
        lo = (a // quantum) * quantum
        return lo, lo + quantum

    def _magnitude_code(self, r: Fraction) -> int:
        """Code of a representable magnitude r >= 0 (also past the largest exponent)."""
        if r == 0:
            return 0
        exponent = math.frexp(float(r))[1] - 1
        if self.has_subnormals and exponent < self.emin:
            return int(r / Fraction(2) ** (self.emin - self.man_bits))
        significand = r / Fraction(2) ** exponent  # in [1, 2)
        mantissa = int((significand - 1) * 2**self.man_bits)
        exp_field = exponent + self.bias
        return (exp_field << self.man_bits) + mantissa
