"""Weight -> term decomposition for term-serial PEs (BitMoD, Pragmatic-style skipping).

A *term* is a signed power of two, `sign * 2**shift` (sign in {-1, 0, +1}; sign 0 is an empty
term). A PE that processes one term per cycle multiplies by AND-and-shift, never by a
multiplier. Two decompositions, as in BitMoD (HPCA'25):

* ``booth`` -- radix-4 Booth recoding of a two's-complement integer of `width` bits:
  `ceil(width / 2)` digits d_i in {0, +-1, +-2}, weight = sum d_i * 4**i. Digit i is the
  term `sign(d_i) * 2**(2i + (|d_i| == 2))`. INT8 -> 4 terms, INT6 -> 3.
* ``lod`` -- BitMoD's unified representation of its FP3/FP4 codebooks: a LUT maps the code to
  a fixed-point integer (`value * 2**frac_bits`); a leading-one detector takes the top set
  bit as the first term and the remainder (zero or one set bit) as the second. Always two
  terms; every BitMoD value (the ER/EA specials of the "-0" code included) has at most two
  set bits, so the remainder is always a power of two or zero.

Terms are listed most significant first. `term_plan(format)` chooses the decomposition from
the format's values; `decompose_codes(codes, plan)` is the vectorised path (a per-code LUT),
`terms_scalar(value, plan)` the obviously-correct reference.

Weight values are read through `plan.frac_bits`: the integer the hardware sees is
`value * 2**frac_bits` (0 for integer formats and for BitMoD codebooks, which are
integer-valued).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hwsim.errors import HwsimError

_MAX_FRAC_BITS = 16


@dataclass(frozen=True)
class TermPlan:
    """How one weight format becomes terms."""

    format_name: str
    kind: str  # "booth" | "lod"
    n_terms: int  # terms per weight (cycles per weight without zero skipping)
    width: int  # two's-complement width Booth recodes (lod: bits of the largest magnitude)
    frac_bits: int  # hardware integer = value * 2**frac_bits
    lut: np.ndarray  # int64 hardware integer of every code, indexed by code


# --- scalar reference ---------------------------------------------------------------------
def booth_digits_scalar(value: int, width: int) -> list[int]:
    """Radix-4 Booth digits (least significant first) of `value` as a `width`-bit integer."""
    value = int(value)
    if not -(2 ** (width - 1)) <= value < 2 ** (width - 1):
        raise HwsimError(f"booth: {value} does not fit a signed {width}-bit integer")
    n = (width + 1) // 2
    pattern = value & ((1 << (2 * n)) - 1)  # two's complement, sign-extended to 2n bits

    def bit(i: int) -> int:
        return 0 if i < 0 else (pattern >> i) & 1

    return [-2 * bit(2 * i + 1) + bit(2 * i) + bit(2 * i - 1) for i in range(n)]


def lod_terms_scalar(value: int) -> list[tuple[int, int]]:
    """Two (sign, shift) terms of an integer by a leading-one detector (sign 0 = empty)."""
    value = int(value)
    sign = (value > 0) - (value < 0)
    mag = abs(value)
    terms = []
    for _ in range(2):
        if mag == 0:
            terms.append((0, 0))
            continue
        top = mag.bit_length() - 1
        terms.append((sign, top))
        mag -= 1 << top
    if mag:
        raise HwsimError(f"lod: {value} has more than two set bits; not a two-term value")
    return terms


def terms_scalar(value: int, plan: TermPlan) -> list[tuple[int, int]]:
    """The (sign, shift) terms of hardware integer `value`, most significant first."""
    if plan.kind == "lod":
        return lod_terms_scalar(value)
    digits = booth_digits_scalar(value, plan.width)
    terms = []
    for i, d in enumerate(digits):
        if d == 0:
            terms.append((0, 0))
        else:
            terms.append((1 if d > 0 else -1, 2 * i + (abs(d) == 2)))
    return terms[::-1]


def reassemble_scalar(terms: list[tuple[int, int]]) -> int:
    return sum(s * (1 << sh) for s, sh in terms)


# --- plans --------------------------------------------------------------------------------
def _frac_bits(values: np.ndarray, name: str) -> int:
    for f in range(_MAX_FRAC_BITS + 1):
        scaled = values * 2.0**f
        if np.all(scaled == np.round(scaled)):
            return f
    raise HwsimError(f"{name}: values are not dyadic with <= {_MAX_FRAC_BITS} fraction bits")


def plan_from_values(name: str, values) -> TermPlan:
    """Term plan for a format whose code -> value table is `values` (indexed by code)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise HwsimError(f"{name}: a term-serial PE needs finite weight values (no inf/NaN)")
    f = _frac_bits(values, name)
    lut = np.round(values * 2.0**f).astype(np.int64)
    top = int(np.max(np.abs(lut)))
    if top > 0 and all(bin(abs(int(v))).count("1") <= 2 for v in lut):
        if _is_twos_complement_range(lut):
            return _booth_plan(name, lut, f)
        return TermPlan(name, "lod", 2, max(top.bit_length(), 1), f, lut)
    return _booth_plan(name, lut, f)


def _is_twos_complement_range(lut: np.ndarray) -> bool:
    # A plain INTb / UINTb format: its values fill a contiguous integer range.
    uniq = np.unique(lut)
    return uniq.size == int(uniq[-1] - uniq[0]) + 1 and uniq.size > 4


def _booth_plan(name: str, lut: np.ndarray, f: int) -> TermPlan:
    lo, hi = int(lut.min()), int(lut.max())
    width = 1
    while not (-(2 ** (width - 1)) <= lo and hi < 2 ** (width - 1)):
        width += 1
    return TermPlan(name, "booth", (width + 1) // 2, width, f, lut)


def term_plan(fmt) -> TermPlan:
    """Term plan of a hwsim format (object or name): booth for integers, lod for BitMoD FP."""
    from hwsim.dtypes import Format
    from hwsim.dtypes import format as get_format

    if not isinstance(fmt, Format):
        fmt = get_format(fmt)  # a name; anything else is a one-line error
    if fmt.bits > 16:
        raise HwsimError(f"{fmt.name}: term-serial weights must be <= 16 bits, got {fmt.bits}")
    return plan_from_values(fmt.name, fmt.decode(fmt.codes()))


# --- vectorised ---------------------------------------------------------------------------
def term_table(plan: TermPlan) -> tuple[np.ndarray, np.ndarray]:
    """Per-code term tables: signs int8 [codes, T], shifts int8 [codes, T]."""
    return _lod_table(plan) if plan.kind == "lod" else _booth_table(plan)


def _booth_table(plan: TermPlan) -> tuple[np.ndarray, np.ndarray]:
    # Vectorised Booth over every code at once (bit arithmetic on the two's-complement pattern).
    v = plan.lut
    n = plan.n_terms
    pattern = v & ((1 << (2 * n)) - 1)
    signs = np.zeros((v.size, n), dtype=np.int8)
    shifts = np.zeros((v.size, n), dtype=np.int8)
    for i in range(n):
        b_hi = (pattern >> (2 * i + 1)) & 1
        b_mid = (pattern >> (2 * i)) & 1
        b_lo = (pattern >> (2 * i - 1)) & 1 if i > 0 else np.zeros_like(pattern)
        d = -2 * b_hi + b_mid + b_lo
        col = n - 1 - i  # most significant first
        signs[:, col] = np.sign(d)
        shifts[:, col] = np.where(d == 0, 0, 2 * i + (np.abs(d) == 2))
    return signs, shifts


def _lod_table(plan: TermPlan) -> tuple[np.ndarray, np.ndarray]:
    mag = np.abs(plan.lut)
    sign = np.sign(plan.lut).astype(np.int8)
    signs = np.zeros((mag.size, 2), dtype=np.int8)
    shifts = np.zeros((mag.size, 2), dtype=np.int8)
    for col in range(2):
        nz = mag > 0
        top = np.zeros_like(mag)
        top[nz] = np.floor(np.log2(mag[nz])).astype(np.int64)  # exact: mag < 2**53
        signs[:, col] = np.where(nz, sign, 0)
        shifts[:, col] = np.where(nz, top, 0)
        mag = np.where(nz, mag - (np.int64(1) << top), 0)
    if np.any(mag):
        raise HwsimError(f"{plan.format_name}: a value has more than two set bits (lod plan)")
    return signs, shifts


def decompose_codes(codes, plan: TermPlan) -> tuple[np.ndarray, np.ndarray]:
    """Terms of every code: (signs, shifts), each codes.shape + (T,), int8."""
    signs, shifts = term_table(plan)
    codes = np.asarray(codes).astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= plan.lut.size):
        raise HwsimError(f"{plan.format_name}: codes outside 0..{plan.lut.size - 1}")
    return signs[codes], shifts[codes]


def nonzero_terms_per_code(plan: TermPlan) -> np.ndarray:
    """Number of non-zero terms of each code (cycles per weight with zero-term skipping)."""
    signs, _ = term_table(plan)
    return np.count_nonzero(signs, axis=1).astype(np.int64)


def reassemble(signs: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """sum(sign * 2**shift) over the last axis, int64."""
    return np.sum(signs.astype(np.int64) << shifts.astype(np.int64), axis=-1)


def cycles_per_weight(bits: float) -> int:
    """BitMoD's static latency: ceil(floor(bits) / 2) term cycles per weight."""
    return math.ceil(math.floor(bits) / 2)


# --- operands: a QTensor as the arrays a PE reads ----------------------------------------
@dataclass(frozen=True, eq=False)
class Operand:
    """A 2-D QTensor [R, K] (groups along K) read into what a PE sees.

    codes: the stored codes [R, K] (their own unsigned dtype)
    values: decoded code values [R, K] (float64, exact; each group through its menu format),
            decoded on first use
    scales / zero_points / scale_codes / format_ids: [R, G], one per group of `group_size`
    """

    codes: np.ndarray
    scales: np.ndarray
    zero_points: np.ndarray | None
    scale_codes: np.ndarray | None
    format_ids: np.ndarray
    formats: tuple
    group_size: int
    olive: bool = False

    @property
    def n_groups(self) -> int:
        return self.scales.shape[1]

    def per_element(self, per_group: np.ndarray) -> np.ndarray:
        """A [R, G] array repeated over each group's K elements: [R, K]."""
        return np.repeat(per_group, self.group_size, axis=1)

    @cached_property
    def values(self) -> np.ndarray:
        if self.olive:
            from hwsim.dtypes.olive import olive_decode_pairs

            values = olive_decode_pairs(self.codes, *self.formats).astype(np.float64)
        elif len(self.formats) == 1:
            values = self.formats[0].decode(self.codes).astype(np.float64)
        else:
            values = np.empty(self.codes.shape, dtype=np.float64)
            per_el = self.per_element(self.format_ids)
            for i, f in enumerate(self.formats):
                mask = per_el == i
                values[mask] = f.decode(self.codes[mask])
        if not np.all(np.isfinite(values)):
            raise HwsimError("PE weights decode to inf/NaN; a PE needs finite codes")
        return values


def read_operand(qt, who: str, name: str = "w", allow_olive: bool = False) -> Operand:
    """Read a 2-D QTensor whose scales are per tensor, per row, or per group along K.

    OliVe-paired tensors (allow_olive): pairs (2i, 2i+1) along K decode through the normal
    and the outlier codebook (victims decode to 0); `formats` is (normal, outlier)."""
    from hwsim.dtypes import QTensor
    from hwsim.dtypes import format as get_format
    from hwsim.dtypes.quantize import checked_layout
    from hwsim.pe.int_mac import reject_block_format

    if not isinstance(qt, QTensor):
        raise HwsimError(f"{who}: {name} must be a QTensor, got {type(qt).__name__}")
    if qt.codes.ndim != 2:
        raise HwsimError(f"{who}: {name} must be 2-D [rows, K], got shape {qt.codes.shape}")
    olive = qt.meta.get("scheme") == "olive"
    if olive and not allow_olive:
        raise HwsimError(f"{who}: {name} is OliVe-paired; use the mixed_dtype PE")
    R, K = qt.codes.shape
    layout = checked_layout(qt, f"{who}: {name}")
    if layout.granularity != "tensor" and layout.axis != 1:
        raise HwsimError(
            f"{who}: {name} scales must run along K (QuantSpec.axis=-1), got axis={qt.spec.axis}"
        )
    G = 1 if layout.granularity in ("tensor", "channel") else layout.groups_along_axis
    if K % G or (layout.granularity in ("group", "block") and K % layout.group_len):
        raise HwsimError(
            f"{who}: {name} group_size {layout.group_len} does not divide K={K} (padded groups)"
        )

    def grid(x, dtype):
        if x is None:
            return None
        return np.broadcast_to(np.asarray(x).reshape(-1, G), (R, G)).astype(dtype)

    formats = tuple(get_format(n) for n in qt.spec.menu)
    for fmt in formats:
        reject_block_format(fmt, f"{who}: {name}")
    ids = grid(qt.format_ids, np.int64) if qt.format_ids is not None else np.zeros((R, G), int)
    if olive:
        if K % 2:
            raise HwsimError(f"{who}: OliVe {name} needs an even K, got {K}")
        formats = (formats[0], get_format(qt.meta["outlier_format"]))
    return Operand(
        codes=np.asarray(qt.codes),
        scales=grid(qt.scales, np.float64),
        zero_points=grid(qt.zero_points, np.float64),
        scale_codes=grid(qt.scale_codes, np.int64),
        format_ids=ids,
        formats=formats,
        group_size=K // G,
        olive=olive,
    )
