"""Block formats: MX (OCP Microscaling v1.0) and block floating point (BFP).

A block of `block` consecutive values along the last axis shares one 8-bit power-of-two
scale X = 2^k, stored as the E8M0 code k + 127 (k in [-127, 127]; code 0xFF is NaN). Each
element stores P_i = element_cast(V_i / X): round to nearest even, **saturated** to the
element's largest finite magnitude. The value of element i is X * P_i.

Shared exponent k per block, with amax = max |V_i| and emax = the exponent of the element's
largest value (e4m3 8, e5m2 15, e3m2 4, e2m3 2, e2m1 2, int 0):
- floor (OCP MX v1.0 section 6.3, Algorithm 1): k = floor(log2 amax) - emax.
- ceil  (torchao mx_formats ScaleCalculationMode.CEIL): k = ceil(log2 amax) - emax.
- even  (torchao ScaleCalculationMode.EVEN): k = floor(log2 R(amax)) - emax, where R rounds
  amax to the element's significand width (mantissa bits + 1; int elements: bits - 1),
  round-half-even; i.e. floor, plus one when amax's significand rounds up to 2.
- rceil (NVIDIA cuBLAS 1D block scaling with UE8M0 scales; torchao _to_mx_rceil): in float32
  arithmetic, d = fl32(fl32(amax) * fl32(1 / elem_max)); k = ceil(log2 d), i.e. d rounded
  up to a power of two. float64 amax is rounded to float32 first (beyond float32: k = 127).
Every rule then clips k to [-127, 127]; an all-zero block gets k = -127 (code 0).
A block holding any NaN or +-inf gets scale code 0xFF and all element codes 0; decoding a
block whose scale code is 0xFF gives NaN for every element (the spec: a NaN scale makes the
whole block NaN). Zeros keep their sign in float elements (-0.0 -> the -0 code).

Elements. MX: float8_e4m3fn, float8_e5m2, float6_e2m3fn, float6_e3m2fn, float4_e2m1fn (as
`hwsim.format` defines them), and MXINT8: 8-bit two's complement k with an implied 2^-6
(value k/64), saturated symmetrically to +-127/64 (the code 0x80 = -2 is never produced).
BFP `bfp{M}_b{B}`: blocks of B, the same 8-bit shared exponent with the floor rule, and M-bit
two's complement mantissas with an implied 2^-(M-2): value = k * 2^(k_shared - (M-2)),
k = RNE(V * 2^(M-2) / X) saturated to +-(2^(M-1) - 1). So bfp8_b32 is MXINT8 exactly.

Codes: `encode(x)` returns (..., n_blocks, 1 + block) with [scale_code, e_0 .. e_{B-1}] per
block, which is what hardware stores; `decode` takes that and returns (..., n_blocks*block).
Two implementations, tested equal: `encode_scalar` (one block, pure Python, element casts
through the element format's own `encode_scalar`) and the fused numba kernel behind `encode`
(hwsim.dtypes._block_kernels).
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hwsim.dtypes.base import (
    Format,
    Rounding,
    as_rounding,
    code_scalar,
    real_scalar,
    real_values,
    saturate_flag,
)
from hwsim.dtypes.registry import format as get_format
from hwsim.dtypes.registry import register_pattern
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module

# numba kernels load on first use: a shapes-only run never compiles or imports them
KB = lazy_module("hwsim.dtypes._block_kernels")

SCALE_RULES = ("floor", "ceil", "even", "rceil")
_RULE_ID = {rule: i for i, rule in enumerate(SCALE_RULES)}


@dataclass(frozen=True)
class Element:
    """What the block kernel needs to know about an element format.

    name: the hwsim format of the element codes (`int{bits}` for integer elements)
    exp_bits, man_bits, bias: the float layout (exp_bits = 0: integer, man_bits = fraction
    bits of the implied 2^-man_bits); max_value: largest finite magnitude.
    """

    name: str
    bits: int
    exp_bits: int
    man_bits: int
    bias: int
    max_value: float

    @property
    def is_integer(self) -> bool:
        return self.exp_bits == 0

    @property
    def emax(self) -> int:
        return math.frexp(self.max_value)[1] - 1

    @property
    def significand_bits(self) -> int:
        return self.bits - 1 if self.is_integer else self.man_bits + 1

    @property
    def max_int(self) -> int:
        return 2 ** (self.bits - 1) - 1


MX_ELEMENTS = {
    "fp8_e4m3": Element("float8_e4m3fn", 8, 4, 3, 7, 448.0),
    "fp8_e5m2": Element("float8_e5m2", 8, 5, 2, 15, 57344.0),
    "fp6_e2m3": Element("float6_e2m3fn", 6, 2, 3, 1, 7.5),
    "fp6_e3m2": Element("float6_e3m2fn", 6, 3, 2, 3, 28.0),
    "fp4": Element("float4_e2m1fn", 4, 2, 1, 1, 6.0),
    "int8": Element("int8", 8, 0, 6, 0, 127 / 64),
}


def int_element(bits: int) -> Element:
    """M-bit two's complement mantissa with an implied 2^-(M-2) (BFP, MXINT8)."""
    return Element(f"int{bits}", bits, 0, bits - 2, 0, (2 ** (bits - 1) - 1) / 2.0 ** (bits - 2))


# --- shared exponent ------------------------------------------------------------------------
def _f32(x: float) -> float:
    """Round a Python float to float32 (RNE); beyond float32's range: inf."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def scale_exponent_scalar(amax: float, elem: Element, rule: str) -> int:
    """Reference shared exponent k of one block (see module doc), clipped to [-127, 127]."""
    if amax == 0:
        return -127
    if rule == "rceil":
        d = _f32(_f32(amax) * _f32(1.0 / elem.max_value))  # exact product, one rounding
        if d == 0:
            return -127
        if math.isinf(d):
            return 127
        m, e = math.frexp(d)
        k = e - 1 if m == 0.5 else e
        return max(-127, min(127, k))
    m, e = math.frexp(amax)  # amax = m * 2^e, 1/2 <= m < 1
    if rule == "floor":
        k = e - 1
    elif rule == "ceil":
        k = e - 1 if m == 0.5 else e
    else:  # even: does the significand round up to 2 at the element's width?
        sig = elem.significand_bits
        k = e if round(m * 2**sig) == 2**sig else e - 1  # Python round() is half-even
    return max(-127, min(127, k - elem.emax))


# --- the format ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockFormat(Format):
    """A block-scaled format: `block` elements of `element` share one 8-bit power-of-two scale.

    label:      canonical name (`mxfp4`, `mxfp4_rceil`, `bfp8_b16`, ...)
    element:    the element encoding (see `Element`)
    block:      elements per shared scale, along the last axis
    scale_rule: floor | ceil | even | rceil (module doc)
    """

    label: str
    element: Element
    block: int = 32
    scale_rule: str = "floor"

    def __post_init__(self):
        if self.scale_rule not in SCALE_RULES:
            raise HwsimError(
                f"{self.label}.scale_rule: expected one of {', '.join(SCALE_RULES)}, "
                f"got {self.scale_rule!r}"
            )
        if not 1 <= self.block <= 65536:
            raise HwsimError(f"{self.label}.block: expected 1..65536 elements, got {self.block}")

    # --- facts -----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.label

    @property
    def bits(self) -> int:
        """Width of one element code."""
        return self.element.bits

    @property
    def bits_per_element(self) -> float:
        """Storage per element including its share of the 8-bit scale."""
        return self.bits + 8 / self.block

    @property
    def code_dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.bits <= 8 else np.uint16)

    @cached_property
    def element_format(self) -> Format:
        """hwsim's own format of the element codes."""
        return get_format(self.element.name)

    @cached_property
    def _element_lut(self) -> np.ndarray:
        """Element value of every element code at scale 1 (read-only)."""
        codes = np.arange(2**self.bits, dtype=np.uint64).astype(self.element_format.code_dtype)
        lut = np.asarray(self.element_format.decode(codes), dtype=np.float64)
        if self.element.is_integer:
            lut = lut * 2.0**-self.element.man_bits
        lut.flags.writeable = False
        return lut

    def codes(self) -> np.ndarray:
        """Every element code."""
        return np.arange(2**self.bits).astype(self.code_dtype)

    def values(self) -> np.ndarray:
        """Element values at scale 1, indexed by element code."""
        return self._element_lut.copy()

    def classify(self, codes) -> np.ndarray:
        """Class of each element code (as the element format classifies it)."""
        codes = np.asarray(codes)
        if self.element.is_integer:
            return np.where(self._element_lut[codes] == 0, "zero", "normal").astype(object)
        return self.element_format.classify(codes.astype(self.element_format.code_dtype))

    def scale_values(self, scale_codes) -> np.ndarray:
        """2^(code - 127) per E8M0 scale code; NaN for 0xFF."""
        s = np.asarray(scale_codes).astype(np.int64)
        return np.where(s == KB.SCALE_NAN, np.nan, np.ldexp(1.0, s - 127))

    # --- checks ----------------------------------------------------------------------------
    def _check_args(self, rounding, saturate) -> None:
        if as_rounding(rounding) is not Rounding.RNE:
            raise HwsimError(
                f"{self.name}: element casts round to nearest even (OCP MX); "
                f"rounding={rounding!r} is not available"
            )
        saturate = saturate_flag(saturate, self.name)
        if saturate is not None and not saturate:
            raise HwsimError(f"{self.name}: elements always saturate (OCP MX); saturate=False")

    def _as_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype not in (np.float32, np.float64):
            x = real_values(x, f"{self.name}.encode")
        if x.ndim == 0:
            raise HwsimError(
                f"{self.name}: expected an array with a last axis (blocks of {self.block}), "
                "got a scalar"
            )
        if x.shape[-1] % self.block:
            raise HwsimError(
                f"{self.name}: the last axis has length {x.shape[-1]}, expected a multiple of "
                f"the block size {self.block}"
            )
        return x

    # --- vectorised ------------------------------------------------------------------------
    def encode(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        """(..., n_blocks, 1 + block) codes: [scale_code, e_0 .. e_{B-1}] per block."""
        self._check_args(rounding, saturate)
        x = self._as_input(x)
        nb = x.shape[-1] // self.block
        flat = np.ascontiguousarray(x).reshape(-1)
        out = np.empty(flat.size // self.block * (self.block + 1), dtype=self.code_dtype)
        el = self.element
        KB.encode_kernel(
            flat, out, self.block, _RULE_ID[self.scale_rule], el.emax, el.significand_bits,
            np.float32(1.0 / el.max_value), el.is_integer, el.exp_bits, el.man_bits, el.bias,
            el.max_value, int(np.float64(el.max_value).view(np.int64)), el.max_int,
            (1 << el.bits) - 1,
        )  # fmt: skip
        return out.reshape(*x.shape[:-1], nb, self.block + 1)

    def encode_blocks(self, x) -> tuple[np.ndarray, np.ndarray]:
        """(scale_codes (..., n_blocks) uint8, element_codes (..., n_blocks, block))."""
        codes = self.encode(x)
        return codes[..., 0].astype(np.uint8), codes[..., 1:]

    def decode(self, codes) -> np.ndarray:
        """Values (..., n_blocks * block) of codes shaped (..., n_blocks, 1 + block)."""
        c = np.asarray(codes)
        if c.ndim < 2 or c.shape[-1] != self.block + 1:
            raise HwsimError(
                f"{self.name}.decode: expected codes shaped (..., n_blocks, {self.block + 1}), "
                f"got {c.shape}"
            )
        return self.decode_blocks(c[..., 0], c[..., 1:])

    def decode_blocks(self, scale_codes, element_codes) -> np.ndarray:
        """Values (..., n_blocks * block) from scale codes (..., n_blocks) and element codes."""
        s = np.asarray(scale_codes)
        e = np.asarray(element_codes)
        if e.ndim < 1 or e.shape[-1] != self.block or s.shape != e.shape[:-1]:
            raise HwsimError(
                f"{self.name}.decode_blocks: expected scale codes (..., n_blocks) and element "
                f"codes (..., n_blocks, {self.block}), got {s.shape} and {e.shape}"
            )
        for what, arr, hi in (("scale", s, 256), ("element", e, 2**self.bits)):
            if arr.dtype.kind not in "ui":
                raise HwsimError(f"{self.name}.decode: expected integer {what} codes")
            if arr.size and (arr.min() < 0 or arr.max() >= hi):
                raise HwsimError(f"{self.name}.decode: {what} codes must lie in [0, {hi})")
        vals = self._element_lut[e] * self.scale_values(s)[..., None]
        return vals.reshape(*e.shape[:-2], e.shape[-2] * self.block)

    def round(self, x, rounding="rne", saturate=None, rng=None) -> np.ndarray:
        """The value each input rounds to, in x's shape."""
        shape = np.shape(x)
        return self.decode(self.encode(x, rounding, saturate)).reshape(shape)

    # --- scalar reference (one block) ------------------------------------------------------
    def encode_scalar(self, x, rounding="rne", saturate=None, u=None) -> tuple[int, ...]:
        """Reference encode of ONE block: x is a sequence of `block` values; returns
        (scale_code, e_0, .., e_{B-1}), one row of `encode`."""
        self._check_args(rounding, saturate)
        if isinstance(x, str) or not hasattr(x, "__len__"):
            raise HwsimError(f"{self.name}.encode_scalar: expected a block of {self.block} values")
        vals = [float(real_scalar(v, f"{self.name}.encode_scalar")) for v in x]
        if len(vals) != self.block:
            raise HwsimError(f"{self.name}: a block has {self.block} values, got {len(vals)}")
        if not all(math.isfinite(v) for v in vals):
            return (KB.SCALE_NAN,) + (0,) * self.block
        k = scale_exponent_scalar(max(abs(v) for v in vals), self.element, self.scale_rule)
        return (k + 127, *(self._element_scalar(math.ldexp(v, -k)) for v in vals))

    def _element_scalar(self, v: float) -> int:
        el = self.element
        if el.is_integer:  # symmetric saturation, then the integer format's RNE
            t = max(-el.max_int, min(el.max_int, math.ldexp(v, el.man_bits)))
            return int(self.element_format.encode_scalar(t, rounding="rne", saturate=True))
        return int(self.element_format.encode_scalar(v, rounding="rne", saturate=True))

    def decode_scalar(self, code) -> tuple[float, ...]:
        """Reference decode of ONE block row (scale_code, e_0, ..); returns `block` values."""
        if isinstance(code, str) or not hasattr(code, "__len__") or len(code) != self.block + 1:
            raise HwsimError(f"{self.name}: a block row has {self.block + 1} codes")
        who = f"{self.name}.decode_scalar"
        s = code_scalar(code[0], 8, who)
        elems = [code_scalar(c, self.element_format.bits, who) for c in code[1:]]
        if s == KB.SCALE_NAN:
            return (math.nan,) * self.block
        scale = math.ldexp(1.0, s - 127)
        unit = math.ldexp(1.0, -self.element.man_bits) if self.element.is_integer else 1.0
        return tuple(scale * unit * self.element_format.decode_scalar(c) for c in elems)


# --- names -------------------------------------------------------------------------------------
_MX = re.compile(r"mx(fp8_e4m3|fp8_e5m2|fp6_e2m3|fp6_e3m2|fp4|int8)(?:_(floor|ceil|even|rceil))?")


def _build_mx(m: re.Match) -> BlockFormat:
    rule = m.group(2) or "floor"
    label = f"mx{m.group(1)}" + ("" if rule == "floor" else f"_{rule}")
    return BlockFormat(label, MX_ELEMENTS[m.group(1)], 32, rule)


def _build_bfp(m: re.Match) -> BlockFormat:
    bits, block = int(m.group(1)), int(m.group(2))
    if not 2 <= bits <= 16:
        raise HwsimError(f"{m.group(0)}: mantissa bits must be 2..16, got {bits}")
    if not 1 <= block <= 65536:
        raise HwsimError(f"{m.group(0)}: block size must be 1..65536, got {block}")
    return BlockFormat(f"bfp{bits}_b{block}", int_element(bits), block, "floor")


MX_NAMES = tuple(
    f"mx{e}" + ("" if r == "floor" else f"_{r}") for e in MX_ELEMENTS for r in SCALE_RULES
)
register_pattern(_MX.pattern, _build_mx, listed=MX_NAMES)
register_pattern(r"bfp(\d+)_b(\d+)", _build_bfp, listed=("bfp4_b16", "bfp8_b16", "bfp8_b32"))
