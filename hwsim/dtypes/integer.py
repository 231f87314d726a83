"""Integer formats: `int{N}`, `uint{N}` (N = 1..32) and symmetric `int{N}_sym` (N = 2..32).

Codes are the N-bit two's complement (or unsigned) patterns as unsigned integers. encode
rounds to an integer with any `Rounding` (or an AP q-mode name), then saturates (the default)
or, with `saturate=False`, wraps modulo 2^N like hardware storage: so
`encode(x, rounding="toward_zero", saturate=False)` is the C / ml_dtypes storage cast.

`int{N}_sym` has no -2^(N-1): saturation clamps to +-(2^(N-1) - 1) and -2^(N-1) itself maps to
-(2^(N-1) - 1); wrapping is refused (it would produce the missing code), and that code, never
produced by encode, decodes to NaN.

Inputs: +-inf saturate to max/min (wrapping reads them as +-2^1024, so they wrap to 0); NaN is
an error (integers have no NaN). The arithmetic is the fixed-point core with F = 0 (the
numba kernel in `_fixed_kernels` and the Fraction reference `fixed_encode_scalar`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from hwsim.dtypes import fixed_rules as R
from hwsim.dtypes.base import Format, checked_codes, code_scalar, real_scalar, real_values
from hwsim.dtypes.fixed import encode_codes, fixed_encode_scalar, rounding_rule
from hwsim.dtypes.registry import register_pattern
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module

# numba kernels load on first use: a shapes-only run never compiles or imports them
K = lazy_module("hwsim.dtypes._fixed_kernels")

MAX_BITS = 32


@dataclass(frozen=True)
class IntFormat(Format):
    """A `width`-bit integer: signed two's complement, unsigned, or symmetric signed."""

    width: int
    signed: bool = True
    symmetric: bool = False

    def __post_init__(self):
        low = 2 if self.symmetric else 1
        if not isinstance(self.width, int) or not low <= self.width <= MAX_BITS:
            raise HwsimError(
                f"{self._spelling()}: width must be an integer in {low}..{MAX_BITS}, "
                f"got {self.width!r}"
            )
        if self.symmetric and not self.signed:
            raise HwsimError(f"{self._spelling()}: a symmetric integer format must be signed")

    def _spelling(self) -> str:
        return f"{'' if self.signed else 'u'}int{self.width}{'_sym' if self.symmetric else ''}"

    @property
    def name(self) -> str:
        return self._spelling()

    @property
    def bits(self) -> int:
        return self.width

    @property
    def int_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def int_min(self) -> int:
        if not self.signed:
            return 0
        return -self.int_max if self.symmetric else -(1 << (self.width - 1))

    @property
    def max_value(self) -> float:
        return float(self.int_max)

    @property
    def min_value(self) -> float:
        return float(self.int_min)

    @property
    def missing_code(self) -> int | None:
        """The code a symmetric format never uses (the pattern of -2^(N-1)), else None."""
        return 1 << (self.width - 1) if self.symmetric else None

    # --- integers <-> codes -------------------------------------------------------------------
    def integers(self, codes) -> np.ndarray:
        """The integer each code stores, int64 (two's complement read for signed formats)."""
        c = np.asarray(codes).astype(np.uint64)
        if not self.signed:
            return c.astype(np.int64)
        shift = np.uint64(64 - self.width)
        return (c << shift).view(np.int64) >> np.int64(64 - self.width)

    def from_integers(self, ints) -> np.ndarray:
        """Codes of integers already in range (taken modulo 2^N, as storage does)."""
        mask = np.uint64((1 << self.width) - 1)
        return (np.asarray(ints).astype(np.int64).view(np.uint64) & mask).astype(self.code_dtype)

    # --- rules --------------------------------------------------------------------------------
    def _rules(self, rounding, saturate) -> tuple[int, int]:
        rule = rounding_rule(rounding)
        if isinstance(saturate, np.bool_):
            saturate = bool(saturate)
        if saturate is None or saturate is True:
            overflow = R.SAT_SYM if self.symmetric else R.SAT
        elif saturate is False:
            if self.symmetric:
                raise HwsimError(
                    f"{self.name}: saturate=False would wrap onto the unused code "
                    f"-{1 << (self.width - 1)}; use int{self.width} to wrap"
                )
            overflow = R.WRAP
        else:
            raise HwsimError(f"saturate: expected True, False or None, got {saturate!r}")
        return rule, overflow

    # --- vectorised ---------------------------------------------------------------------------
    def encode(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        rule, overflow = self._rules(rounding, saturate)
        x = real_values(x, f"{self.name}.encode")
        if np.isnan(x).any():
            raise HwsimError(f"{self.name}: cannot encode NaN (integer formats have no NaN)")
        codes = encode_codes(x, self.width, 0, self.signed, rule, overflow, rng)
        return codes.astype(self.code_dtype)

    def decode(self, codes) -> np.ndarray:
        codes = checked_codes(codes, self.width, f"{self.name}.decode")
        out = self.integers(codes).astype(np.float64)
        if self.symmetric:
            out = np.where(codes == self.missing_code, np.nan, out)
        return out

    # --- scalar reference -----------------------------------------------------------------
    def encode_scalar(self, x: float, rounding="rne", saturate=None, u: float | None = None) -> int:
        rule, overflow = self._rules(rounding, saturate)
        x = real_scalar(x, f"{self.name}.encode_scalar")
        if math.isnan(x):
            raise HwsimError(f"{self.name}: cannot encode NaN (integer formats have no NaN)")
        return fixed_encode_scalar(x, self.width, 0, self.signed, rule, overflow, u)

    def decode_scalar(self, code: int) -> float:
        code = code_scalar(code, self.width, f"{self.name}.decode_scalar")
        if code == self.missing_code:
            return math.nan
        if self.signed and code >> (self.width - 1):
            code -= 1 << self.width
        return float(code)


def _build_signed(m: re.Match) -> IntFormat:
    return IntFormat(int(m.group(1)), signed=True, symmetric=m.group(2) is not None)


def _build_unsigned(m: re.Match) -> IntFormat:
    return IntFormat(int(m.group(1)), signed=False)


register_pattern(
    r"int(\d+)(_sym)?", _build_signed, listed=("int2", "int4", "int8", "int4_sym", "int8_sym")
)
register_pattern(r"uint(\d+)", _build_unsigned, listed=("uint4", "uint8"))
