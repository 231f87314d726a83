"""Minifloats: sign, exponent, mantissa formats with the special-value conventions in use.

`FloatFormat(exp_bits, man_bits, bias, convention)` covers the OCP / ml_dtypes family:

- ``ieee``:   top exponent reserved for +-inf and NaNs (float16, bfloat16, float8_e5m2, e4m3, e3m4)
- ``fn``:     no inf; NaN only at the all-ones codes S.1111.111 (float8_e4m3fn)
- ``fnuz``:   no inf, no -0; a single NaN at code 1000...0 (float8_e4m3fnuz, e5m2fnuz, b11)
- ``finite``: no inf, no NaN, every code a number (float4_e2m1fn, float6_e2m3fn, e3m2fn, fp_eXmY)
- ``fnu``:    unsigned powers of two, no zero, no mantissa, NaN at all-ones (float8_e8m0fnu)

Casting rules (the OCP 8-bit Floating Point Specification (OFP8) rev 1.0 and OCP Microscaling
Formats (MX) v1.0 name the formats; the rules below were measured against ml_dtypes 0.7.0 and
torch 2.13): each input is taken exactly as float64 and rounded once, on the grid extended
past the largest exponent; a result above `max_value` overflows. Overflow (and +-inf input)
gives inf where the format has it, else NaN, unless `saturate` (then +-max); directed modes
that round toward zero overflow to +-max as IEEE 754 says. Formats without inf and NaN always
saturate, so `saturate` is ignored for them. NaN input: the NaN code with the input's sign
(quiet NaN for ieee, all-ones for fn, 0x80 for fnuz); formats without NaN give zero with the
*opposite* sign of the NaN, as ml_dtypes does. Ties go to the even code.

float8_e8m0fnu is MX v1.0's E8M0 scale (section 5.4.1): 2**-127 .. 2**127, NaN 0xFF, no zero,
no inf, no sign. MX itself never rounds a value to E8M0 (its scale is 2**(floor(log2 amax) -
emax_elem), clipped to that range: `QuantSpec.scale_rule="floor"`), so the cast follows the
oracles, in the linear domain and the same in every binade: "rne" gives the nearer power of
two and a tie (1.5 * 2**k) the even code, as gfloat 0.5.2's TiesToEven; "ties_away" sends ties
up, which is ml_dtypes 0.7.0's cast (gfloat's TiesToAway; ml_dtypes 0.5 rounded every value in
(2**-127, 2**-126) up instead); directed modes round as named. Values below 2**-127 (there
is no zero) give 2**-127 in every mode; zero, negatives and NaN give NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hwsim.dtypes.base import Format, Rounding, as_rounding, checked_codes, stochastic_draws
from hwsim.dtypes.minifloat_scalar import FloatScalarReference
from hwsim.dtypes.registry import register_format, register_pattern
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module

# numba kernels load on first use: a shapes-only run never compiles or imports them
K = lazy_module("hwsim.dtypes._float_kernels")

CONVENTIONS = ("ieee", "fn", "fnuz", "finite", "fnu")  # order matches _float_kernels
_MODE_NUMBER = {r: i for i, r in enumerate(Rounding)}

# Canonical (ml_dtypes) names: (exp_bits, man_bits, bias, convention).
NAMED = {
    "float8_e4m3fn": (4, 3, 7, "fn"),
    "float8_e5m2": (5, 2, 15, "ieee"),
    "float8_e4m3fnuz": (4, 3, 8, "fnuz"),
    "float8_e5m2fnuz": (5, 2, 16, "fnuz"),
    "float8_e4m3b11fnuz": (4, 3, 11, "fnuz"),
    "float8_e4m3": (4, 3, 7, "ieee"),
    "float8_e3m4": (3, 4, 3, "ieee"),
    "float6_e2m3fn": (2, 3, 1, "finite"),
    "float6_e3m2fn": (3, 2, 3, "finite"),
    "float4_e2m1fn": (2, 1, 1, "finite"),
    "float8_e8m0fnu": (8, 0, 127, "fnu"),
    "bfloat16": (8, 7, 127, "ieee"),
    "float16": (5, 10, 15, "ieee"),
}
_CANONICAL = {params: name for name, params in NAMED.items()}


@dataclass(frozen=True)
class FloatFormat(FloatScalarReference, Format):
    """A minifloat: value (-1)**s * 2**(E - bias) * 1.M, subnormals 0.M * 2**emin.

    Up to 32 bits in all, every value exactly a float64. `hwsim.format(f.name) == f`.
    The scalar reference codec (`encode_scalar`, `decode_scalar`, `classify_scalar`) comes
    from `FloatScalarReference` (hwsim.dtypes.minifloat_scalar).
    """

    exp_bits: int  # width of the exponent field, >= 1
    man_bits: int  # width of the mantissa (fraction) field, >= 0
    bias: int  # exponent bias: a normal code with exponent field E means 2**(E - bias)
    convention: str = "ieee"  # special values: one of CONVENTIONS (module docstring)

    def __post_init__(self):
        for field in ("exp_bits", "man_bits", "bias"):
            if not isinstance(getattr(self, field), int | np.integer):
                value = getattr(self, field)
                raise HwsimError(f"FloatFormat.{field}: expected an integer, got {value!r}")
        if self.convention not in CONVENTIONS:
            raise HwsimError(
                f"FloatFormat.convention: expected one of {', '.join(CONVENTIONS)}, "
                f"got {self.convention!r}"
            )
        if self.exp_bits < 1:
            raise HwsimError(f"FloatFormat.exp_bits: expected >= 1, got {self.exp_bits}")
        if self.man_bits < 0:
            raise HwsimError(f"FloatFormat.man_bits: expected >= 0, got {self.man_bits}")
        if self.convention == "ieee" and self.man_bits < 1:
            raise HwsimError("FloatFormat.man_bits: the ieee convention needs >= 1 (NaN codes)")
        if self.convention == "fnu" and self.man_bits != 0:
            raise HwsimError(f"FloatFormat.man_bits: fnu formats have 0, got {self.man_bits}")
        if self.bits > 32:
            raise HwsimError(f"FloatFormat: expected at most 32 bits in all, got {self.bits}")
        low = self.emin - (self.man_bits if self.has_subnormals else 0)
        if self.emax > 1023 or low < -1074:
            raise HwsimError(
                f"FloatFormat.bias: {self.bias} puts values outside float64 (2**{low} .. "
                f"2**{self.emax + 1}); expected exponents within -1074 .. 1023"
            )

    # --- derived facts ----------------------------------------------------------------
    @property
    def name(self) -> str:
        key = (self.exp_bits, self.man_bits, self.bias, self.convention)
        if key in _CANONICAL:
            return _CANONICAL[key]
        e, m = self.exp_bits, self.man_bits
        if self.convention == "finite" and 3 <= self.bits <= 8:
            default = 2 ** (e - 1) - 1
            return f"fp_e{e}m{m}" + ("" if self.bias == default else f"b{self.bias}")
        return f"minifloat_e{e}m{m}b{self.bias}_{self.convention}"

    @property
    def kind(self) -> str:
        return f"float:{self.convention}"

    @property
    def signed(self) -> bool:
        return self.convention != "fnu"

    @property
    def bits(self) -> int:
        return self.exp_bits + self.man_bits + (1 if self.signed else 0)

    @property
    def field_widths(self) -> tuple[int, ...]:
        """Widths of the sign, exponent and mantissa fields (for printing bit patterns)."""
        widths = ((1,) if self.signed else ()) + (self.exp_bits,)
        return widths + ((self.man_bits,) if self.man_bits else ())

    @property
    def has_inf(self) -> bool:
        return self.convention == "ieee"

    @property
    def has_nan(self) -> bool:
        return self.convention != "finite"

    @property
    def has_negative_zero(self) -> bool:
        return self.convention in ("ieee", "fn", "finite")

    @property
    def has_subnormals(self) -> bool:
        """True when exponent field 0 means 0.m * 2**emin (every signed convention)."""
        return self.convention != "fnu"

    @property
    def saturates_by_default(self) -> bool:
        """Formats with neither inf nor NaN can only saturate."""
        return not (self.has_inf or self.has_nan)

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal binade."""
        return (1 if self.has_subnormals else 0) - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite binade."""
        top = 2**self.exp_bits - 1
        reserved = self.convention == "ieee" or (
            self.convention in ("fn", "fnu") and self.man_bits == 0
        )
        return top - (1 if reserved else 0) - self.bias

    @property
    def max_code(self) -> int:
        """Code of the largest finite value (positive)."""
        magnitude_all = 2 ** (self.exp_bits + self.man_bits) - 1
        if self.convention == "ieee":
            return ((2**self.exp_bits - 1) << self.man_bits) - 1
        if self.convention in ("fn", "fnu"):
            return magnitude_all - 1
        return magnitude_all

    @property
    def sign_bit(self) -> int:
        return 1 << (self.bits - 1) if self.signed else 0

    @property
    def nan_code(self) -> int | None:
        """The canonical (positive, quiet) NaN code, or None."""
        if self.convention == "ieee":
            return ((2**self.exp_bits - 1) << self.man_bits) | (1 << (self.man_bits - 1))
        if self.convention in ("fn", "fnu"):
            return 2 ** (self.bits - (1 if self.signed else 0)) - 1
        if self.convention == "fnuz":
            return self.sign_bit
        return None

    @property
    def inf_code(self) -> int | None:
        """Code of +inf, or None."""
        return (2**self.exp_bits - 1) << self.man_bits if self.has_inf else None

    @cached_property
    def max_value(self) -> float:
        return self.decode_scalar(self.max_code)

    @property
    def min_value(self) -> float:
        return -self.max_value if self.signed else self.decode_scalar(0)

    @property
    def min_normal(self) -> float:
        return math.ldexp(1.0, self.emin)

    @property
    def min_subnormal(self) -> float | None:
        """Smallest positive subnormal, None if the format has no subnormal codes."""
        if not self.has_subnormals or self.man_bits == 0:
            return None
        return math.ldexp(1.0, self.emin - self.man_bits)

    @property
    def min_positive(self) -> float:
        return self.min_subnormal if self.min_subnormal is not None else self.min_normal

    # --- vectorised (numba) -------------------------------------------------------------
    def _saturating(self, saturate) -> bool:
        if saturate is not None and not isinstance(saturate, bool | np.bool_):
            raise HwsimError(f"saturate: expected None, True or False, got {saturate!r}")
        return self.saturates_by_default or bool(saturate)

    def _special_codes(self, sat: bool) -> tuple[int, ...]:
        """(nan_pos, nan_neg, inf_pos, inf_neg, overflow_pos, overflow_neg, zero_neg)."""
        return self._specials[bool(sat)]

    @cached_property
    def _specials(self) -> dict[bool, tuple[int, ...]]:
        return {sat: self._compute_special_codes(sat) for sat in (False, True)}

    def _compute_special_codes(self, sat: bool) -> tuple[int, ...]:
        s, mx = self.sign_bit, self.max_code
        if self.convention == "finite":  # ml_dtypes: NaN -> zero of the opposite sign
            nan_pos, nan_neg = s, 0
        elif self.convention in ("fnuz", "fnu"):
            nan_pos = nan_neg = self.nan_code
        else:
            nan_pos, nan_neg = self.nan_code, self.nan_code | s
        if self.has_inf:
            ovf_pos, ovf_neg = self.inf_code, self.inf_code | s
        elif self.has_nan:
            ovf_pos, ovf_neg = nan_pos, nan_neg
        else:
            ovf_pos, ovf_neg = mx, mx | s
        inf_pos, inf_neg = (mx, mx | s) if sat else (ovf_pos, ovf_neg)
        if self.convention == "fnu":
            inf_neg = self.nan_code
        zero_neg = s if self.has_negative_zero else 0
        return (nan_pos, nan_neg, inf_pos, inf_neg, ovf_pos, ovf_neg, zero_neg)

    def encode(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        """Round `x` once to this format; returns codes (unsigned ints, `code_dtype`), x's shape.

        x: floats of any width (float64, float32, float16, bfloat16...) or integers up to
        2**53, each taken exactly. rounding: a `Rounding` name; "stochastic" needs
        rng=numpy.random.Generator (one draw per element, `stochastic_draws`).
        saturate: None = the format's default, as ml_dtypes casts (overflow -> inf, or NaN
        where there is no inf); True = overflow and +-inf -> +-max, NaN stays NaN (the
        clip-then-cast model, torch >= 2.12). Formats with neither inf nor NaN always
        saturate, and NaN becomes a zero with the NaN's sign flipped, as ml_dtypes 0.6 does
        (the MX spec leaves it open). See the module docstring for every rule.
        """
        return self._encode(x, rounding, saturate, rng, bit_path=True)

    def _encode(self, x, rounding, saturate, rng, bit_path: bool) -> np.ndarray:
        """encode; bit_path=False sends every input through the kernel's general path."""
        mode = as_rounding(rounding)
        sat = self._saturating(saturate)
        shape = np.shape(x)
        bits, (sm, se, sbias) = _float_bits(np.asarray(x).ravel())
        draws = stochastic_draws(shape, mode, rng)
        draws = np.zeros(0) if draws is None else draws.ravel()
        out = np.empty(bits.size, dtype=self.code_dtype)
        p = tuple(np.int64(c) for c in self._special_codes(sat))
        pow2 = not self.signed
        fast = K.fast_path_bounds(sm, se, sbias, self.man_bits, self.emin, self.bias, pow2)
        if not bit_path:
            fast = (np.int64(0),) * 4
        K.encode_kernel(
            bits, out, draws, sm, se, sbias, self.man_bits, self.emin, self.emax,
            pow2, self.max_code, self.sign_bit, _MODE_NUMBER[mode], sat, p, fast,
            K.mode_masks(_MODE_NUMBER[mode]),
        )  # fmt: skip
        return out.reshape(shape)

    def decode(self, codes) -> np.ndarray:
        """Codes to float64 (NaN codes decode to NaN carrying the code's sign bit)."""
        c = self._checked_codes(codes)
        out = np.empty(c.size, dtype=np.float64)
        conv = CONVENTIONS.index(self.convention)
        K.decode_kernel(
            np.ascontiguousarray(c).ravel(), out, self.bits, self.exp_bits, self.man_bits,
            self.bias, self.emin, conv, self.signed,
        )  # fmt: skip
        return out.reshape(c.shape)

    def _checked_codes(self, codes) -> np.ndarray:
        return checked_codes(codes, self.bits, f"{self.name}.decode")

    def classify(self, codes) -> np.ndarray:
        """zero / subnormal / normal / inf / nan for each code."""
        c = self._checked_codes(codes).astype(np.int64)
        mag = c & (2 ** (self.bits - (1 if self.signed else 0)) - 1)
        v = self.decode(c)
        out = np.full(c.shape, "normal", dtype=object)
        if self.has_subnormals:
            out[(mag >> self.man_bits) == 0] = "subnormal"
        out[v == 0] = "zero"
        out[np.isinf(v)] = "inf"
        out[np.isnan(v)] = "nan"
        return out


def _float_bits(x) -> tuple[np.ndarray, tuple[int, int, int]]:
    """1-D input as a signed-int view of IEEE binary32/64 bits, plus (man_bits, exp_bits, bias)."""
    arr = np.ascontiguousarray(x)
    kind = arr.dtype.kind
    if not arr.dtype.isnative:  # big-endian input (from a file): the same values, native
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype == np.float32:
        return arr.view(np.int32), (23, 8, 127)
    if arr.dtype == np.float64:
        return arr.view(np.int64), (52, 11, 1023)
    if kind == "f" and arr.dtype.itemsize < 4 or kind == "V" and arr.dtype.itemsize <= 2:
        # float16 and the ml_dtypes types up to 16 bits are exactly float32 values
        return _float_bits(arr.astype(np.float32))
    if kind in "biu":
        if arr.dtype.itemsize >= 8 and arr.size and int(np.abs(arr).max()) > 2**53:
            raise HwsimError("x: integers above 2**53 are not exact in float64; pass floats")
        return _float_bits(arr.astype(np.float64))
    raise HwsimError(f"x: expected real numbers (float16/32/64, bfloat16, ints), got {arr.dtype}")


def _build_fp(match) -> FloatFormat:
    name = match.group(0)
    e, m = int(match.group(1)), int(match.group(2))
    if e < 1:
        raise HwsimError(f"{name}: exponent bits: expected >= 1, got {e}")
    if not 3 <= 1 + e + m <= 8:
        raise HwsimError(f"{name}: expected 3 .. 8 bits in all (1 sign + E + M), got {1 + e + m}")
    bias = 2 ** (e - 1) - 1 if match.group(3) is None else int(match.group(3))
    return FloatFormat(e, m, bias, "finite")


def _build_generic(match) -> FloatFormat:
    e, m, bias, convention = match.groups()
    return FloatFormat(int(e), int(m), int(bias), convention)


def _fp_names() -> tuple[str, ...]:
    return tuple(f"fp_e{e}m{t - 1 - e}" for t in range(3, 9) for e in range(1, t))


for _name, _params in NAMED.items():
    register_format(_name, lambda params=_params: FloatFormat(*params))
register_pattern(r"fp_e(\d+)m(\d+)(?:b(-?\d+))?", _build_fp, listed=_fp_names())
register_pattern(r"minifloat_e(\d+)m(\d+)b(-?\d+)_(ieee|fnuz|fnu|fn|finite)", _build_generic)
