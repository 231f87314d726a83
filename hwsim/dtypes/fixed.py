"""Xilinx HLS fixed point: `ap_fixed<W,I,Q,O>` and `ap_ufixed<W,I,Q,O>`.

A value is a W-bit two's complement (ap_fixed) or unsigned (ap_ufixed) integer times 2^-F,
F = W - I fraction bits; I may be negative or larger than W. Codes are the W-bit patterns as
unsigned integers. Conversion from a real value follows the header's double constructor:
quantize first (floor of x * 2^F plus an increment decided by the q-mode from the first
dropped bit qb, the OR r of the rest, the sign and the kept LSB), then apply the o-mode to the
unbounded result (a rounding carry can overflow). AP_SAT_SYM maps the exact minimum to -max
too; AP_WRAP_SM (sign-magnitude wrap) inverts the wrapped bits when bit W of floor(x * 2^F)
differs from the wrapped sign bit, as the header does.

Explicit `rounding=` values map to AP q-modes: rne -> AP_RND_CONV, ties_away -> AP_RND_INF,
toward_zero -> AP_TRN_ZERO, down -> AP_TRN; `up` (ceil) and `stochastic` have no AP
counterpart and round the floor/fraction split the same way. An AP q-mode name may also be
passed. `saturate=True` means AP_SAT, `False` AP_WRAP; an AP o-mode name may also be passed.

Inputs as the header reads them: +-0 -> 0; +-inf as +-2^1024 (saturating modes give max/min,
wrapping gives 0, as I <= 1023); NaN as +-(1.mantissa) * 2^1024 (the header only warns);
a subnormal double 0.m * 2^-1022 is read as 1.m * 2^-1023, which matters only when F > ~1020.

Validity, from the header: W >= 1 (W = 0 compiles but asserts on first use); ap_ufixed may not use
AP_WRAP_SM (the header exits); I is unrestricted there, so `ap_fixed<4,9>` is legal (values
are multiples of 2^5 in [-256, 224]). hwsim adds W <= 64 (codes fit uint64), I <= 1023 and
F <= 1074 (max and resolution are finite non-zero doubles), and the saturation-bit count N,
if given, must be 0. Decode is exact for W <= 53 and correctly rounded to float64 above.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from hwsim.dtypes import fixed_rules as R
from hwsim.dtypes.base import (
    Format,
    Rounding,
    as_rounding,
    checked_codes,
    code_scalar,
    real_scalar,
    real_values,
    stochastic_draws,
)
from hwsim.dtypes.registry import register_pattern
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module

# numba kernels load on first use: a shapes-only run never compiles or imports them
K = lazy_module("hwsim.dtypes._fixed_kernels")

Q_MODES = (
    "AP_TRN",
    "AP_TRN_ZERO",
    "AP_RND",
    "AP_RND_ZERO",
    "AP_RND_MIN_INF",
    "AP_RND_INF",
    "AP_RND_CONV",
)
O_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM", "AP_WRAP_SM")
_Q_IDS = dict(
    zip(Q_MODES, (R.TRN, R.TRN_ZERO, R.RND, R.RND_ZERO, R.RND_MIN_INF, R.RND_INF, R.RND_CONV))
)
_O_IDS = dict(zip(O_MODES, (R.WRAP, R.SAT, R.SAT_ZERO, R.SAT_SYM, R.WRAP_SM)))
ROUNDING_TO_RULE = {
    Rounding.RNE: R.RND_CONV,
    Rounding.TIES_AWAY: R.RND_INF,
    Rounding.TOWARD_ZERO: R.TRN_ZERO,
    Rounding.DOWN: R.TRN,
    Rounding.UP: R.CEIL,
    Rounding.STOCHASTIC: R.STOCHASTIC,
}
MAX_W, MAX_I, MAX_F = 64, 1023, 1074
_HALF = Fraction(1, 2)


def rounding_rule(rounding) -> int:
    """Rule id of a Rounding value or an AP q-mode name."""
    if isinstance(rounding, str) and rounding in _Q_IDS:
        return _Q_IDS[rounding]
    return ROUNDING_TO_RULE[as_rounding(rounding)]


def overflow_rule(saturate) -> int:
    """Rule id of saturate=True/False or an AP o-mode name."""
    if isinstance(saturate, bool | np.bool_):
        return R.SAT if saturate else R.WRAP
    if isinstance(saturate, str) and saturate in _O_IDS:
        return _O_IDS[saturate]
    raise HwsimError(
        f"saturate: expected True, False or one of {', '.join(O_MODES)}, got {saturate!r}"
    )


# --- scalar reference --------------------------------------------------------------------
def header_parts(x: float) -> tuple[bool, int, int]:
    """(negative, M, e): the header reads the double x as (-1)^negative * M * 2^e.

    M = 0 for +-0; otherwise M = 2^52 | mantissa and e = exponent field - 1075 (the header
    always sets the hidden bit, so subnormals, inf and NaN read this way too).
    """
    bits = struct.unpack("<Q", struct.pack("<d", float(x)))[0]
    negative = bool(bits >> 63)
    if bits & ((1 << 63) - 1) == 0:
        return negative, 0, 0
    return negative, (bits & ((1 << 52) - 1)) | (1 << 52), ((bits >> 52) & 0x7FF) - 1075


def _increment(rule: int, neg: bool, qb: bool, r: bool, lsb: bool, frac, u) -> bool:
    return {
        R.TRN: False,
        R.TRN_ZERO: neg and (qb or r),
        R.RND: qb,
        R.RND_ZERO: qb and (neg or r),
        R.RND_MIN_INF: qb and r,
        R.RND_INF: qb and (not neg or r),
        R.RND_CONV: qb and (lsb or r),
        R.CEIL: qb or r,
        R.STOCHASTIC: u is not None and Fraction(u) < frac,
    }[rule]


def fixed_encode_scalar(
    x: float, W: int, F: int, signed: bool, rule: int, overflow: int, u: float | None = None
) -> int:
    """Reference: the W-bit code of x with F fraction bits (Python ints and Fractions)."""
    negative, m, e = header_parts(x)
    if m == 0:
        return 0
    t = Fraction(-m if negative else m) * Fraction(2) ** (e + F)
    n = math.floor(t)  # two's complement floor, unbounded
    frac = t - n
    qb = frac >= _HALF
    r = frac != 0 and frac != _HALF
    q = n + _increment(rule, t < 0, qb, r, bool(n & 1), frac, u)
    hi = (1 << (W - 1)) - 1 if signed else (1 << W) - 1
    lo = -(1 << (W - 1)) if signed else 0
    if overflow == R.SAT_SYM and signed:
        lo = -hi
    mask = (1 << W) - 1
    code = q & mask
    if lo <= q <= hi or overflow == R.WRAP:
        return code
    if overflow == R.SAT_ZERO:
        return 0
    if overflow == R.SAT:
        return hi if q > hi else lo & mask
    if overflow == R.SAT_SYM:
        if q > hi:
            return hi
        return ((1 << (W - 1)) | 1) & mask if signed else 0
    # AP_WRAP_SM: bit W of the floor (before the rounding increment) against the new sign bit
    if (n >> W) & 1 != (code >> (W - 1)) & 1:
        code = ~code & mask
    return code


# --- the format ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedFormat(Format):
    """`ap_fixed<W,I,Q,O>` (signed) or `ap_ufixed<W,I,Q,O>`: W bits, I integer bits."""

    W: int
    I: int
    signed: bool = True
    q_mode: str = "AP_TRN"
    o_mode: str = "AP_WRAP"

    def __post_init__(self):
        where = self._spelling()
        if not isinstance(self.W, int) or not 1 <= self.W <= MAX_W:
            raise HwsimError(f"{where}: W must be an integer in 1..{MAX_W}, got {self.W!r}")
        if not isinstance(self.I, int) or self.I > MAX_I or self.W - self.I > MAX_F:
            raise HwsimError(
                f"{where}: I must be an integer with I <= {MAX_I} and W - I <= {MAX_F}, "
                f"got I={self.I!r}"
            )
        if self.q_mode not in _Q_IDS:
            raise HwsimError(
                f"{where}: unknown quantization mode {self.q_mode!r}; "
                f"expected one of {', '.join(Q_MODES)}"
            )
        if self.o_mode not in _O_IDS:
            raise HwsimError(
                f"{where}: unknown overflow mode {self.o_mode!r}; "
                f"expected one of {', '.join(O_MODES)}"
            )
        if not self.signed and self.o_mode == "AP_WRAP_SM":
            raise HwsimError(f"{where}: ap_ufixed cannot use AP_WRAP_SM (signed types only)")

    def _spelling(self) -> str:
        u = "" if self.signed else "u"
        return f"ap_{u}fixed<{self.W},{self.I},{self.q_mode},{self.o_mode}>"

    # --- facts ------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        args = [str(self.W), str(self.I)]
        if self.q_mode != "AP_TRN" or self.o_mode != "AP_WRAP":
            args.append(self.q_mode)
        if self.o_mode != "AP_WRAP":
            args.append(self.o_mode)
        return f"ap_{'' if self.signed else 'u'}fixed<{','.join(args)}>"

    @property
    def bits(self) -> int:
        return self.W

    @property
    def F(self) -> int:
        """Fraction bits, W - I (negative when I > W)."""
        return self.W - self.I

    @property
    def resolution(self) -> float:
        """Value of one LSB, 2^-F."""
        return math.ldexp(1.0, -self.F)

    @property
    def int_max(self) -> int:
        """Largest code value as an integer (max / resolution)."""
        return (1 << (self.W - 1)) - 1 if self.signed else (1 << self.W) - 1

    @property
    def int_min(self) -> int:
        """Smallest storable integer (min / resolution); AP_SAT_SYM never produces it."""
        return -(1 << (self.W - 1)) if self.signed else 0

    @property
    def max(self) -> float:
        return float(Fraction(self.int_max) * Fraction(2) ** -self.F)

    @property
    def min(self) -> float:
        return float(Fraction(self.int_min) * Fraction(2) ** -self.F)

    @property
    def max_value(self) -> float:
        return self.max

    @property
    def min_value(self) -> float:
        return self.min

    # --- integers <-> codes -------------------------------------------------------------------
    def integers(self, codes) -> np.ndarray:
        """The stored integers (value / resolution): int64, or uint64 for a 64-bit ap_ufixed."""
        c = np.asarray(codes).astype(np.uint64)
        if not self.signed:
            return c if self.W == 64 else c.astype(np.int64)
        # sign-extend: move the sign bit to bit 63, then shift back arithmetically
        shift = 64 - self.W
        return (c << np.uint64(shift)).view(np.int64) >> np.int64(shift)

    def from_integers(self, ints) -> np.ndarray:
        """Codes of the integers `ints` (taken modulo 2^W, as storage does)."""
        mask = np.uint64((1 << self.W) - 1)
        return (np.asarray(ints).astype(np.int64).view(np.uint64) & mask).astype(self.code_dtype)

    # --- vectorised ---------------------------------------------------------------------------
    def _rules(self, rounding, saturate) -> tuple[int, int]:
        rule = _Q_IDS[self.q_mode] if rounding is None else rounding_rule(rounding)
        overflow = _O_IDS[self.o_mode] if saturate is None else overflow_rule(saturate)
        if overflow == R.WRAP_SM and not self.signed:
            raise HwsimError(f"{self.name}: AP_WRAP_SM needs a signed type")
        return rule, overflow

    def encode(self, x, rounding=None, saturate=None, rng=None) -> np.ndarray:
        rule, overflow = self._rules(rounding, saturate)
        return encode_codes(x, self.W, self.F, self.signed, rule, overflow, rng).astype(
            self.code_dtype
        )

    def round(self, x, rounding=None, saturate=None, rng=None) -> np.ndarray:
        """decode(encode(x)); by default with the type's own q-mode and o-mode."""
        return self.decode(self.encode(x, rounding=rounding, saturate=saturate, rng=rng))

    def decode(self, codes) -> np.ndarray:
        codes = checked_codes(codes, self.W, f"{self.name}.decode")
        ints = self.integers(codes)
        out = np.ldexp(ints.astype(np.float64), -self.F)
        if self.W > 53:
            # int -> float64 rounded once; a second rounding can only happen in the
            # subnormal range, where the exact reference decides
            small = (np.abs(out) < 2.0**-1021) & (ints != 0)
            if small.any():
                c = np.asarray(codes)[small]
                out[small] = [self.decode_scalar(int(k)) for k in c.reshape(-1)]
        return out

    # --- scalar reference -----------------------------------------------------------------
    def encode_scalar(self, x: float, rounding=None, saturate=None, u: float | None = None) -> int:
        rule, overflow = self._rules(rounding, saturate)
        x = real_scalar(x, f"{self.name}.encode_scalar")
        return fixed_encode_scalar(x, self.W, self.F, self.signed, rule, overflow, u)

    def decode_scalar(self, code: int) -> float:
        code = code_scalar(code, self.W, f"{self.name}.decode_scalar")
        if self.signed and code >> (self.W - 1):
            code -= 1 << self.W
        return float(Fraction(code) * Fraction(2) ** -self.F)


def encode_codes(x, W: int, F: int, signed: bool, rule: int, overflow: int, rng=None):
    """Vectorised encode shared with the integer formats: uint64 codes, x's shape."""
    xf = np.ascontiguousarray(real_values(x, "encode"))
    shape = xf.shape
    bits = xf.reshape(-1).view(np.uint64)
    if rule == R.STOCHASTIC:
        u = stochastic_draws(bits.shape, Rounding.STOCHASTIC, rng)
    else:
        u = np.empty(0, dtype=np.float64)
    mask = np.uint64((1 << W) - 1)
    hi = np.uint64((1 << (W - 1)) - 1 if signed else (1 << W) - 1)
    lo = np.uint64(1 << (W - 1) if signed else 0)
    out = np.empty(bits.shape, dtype=np.uint64)
    K.encode_fixed(bits, F, W, bool(signed), rule, overflow, u, mask, hi, lo, out)
    return out.reshape(shape)


# --- names --------------------------------------------------------------------------------
_ARG = r"\s*,\s*"
_PATTERN = (
    r"ap_(u?)fixed<\s*(-?\d+)" + _ARG + r"(-?\d+)\s*"
    r"(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*(-?\d+)\s*)?>"
)


def _build(m: re.Match) -> FixedFormat:
    unsigned, w, i, q, o, n = m.groups()
    if n is not None and int(n) != 0:
        raise HwsimError(
            f"{m.group(0)}: saturation bits N={n} are not supported; expected N=0 or no N"
        )
    return FixedFormat(
        W=int(w), I=int(i), signed=not unsigned, q_mode=q or "AP_TRN", o_mode=o or "AP_WRAP"
    )


register_pattern(
    _PATTERN,
    _build,
    listed=("ap_fixed<8,3>", "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "ap_ufixed<8,0,AP_RND,AP_SAT>"),
)
