"""MX dot-product PE (OCP Microscaling Formats MX v1.0, section 6.2): block scales on both sides.

`MXMAC(dp=32)` computes out[m, n] = sum over blocks b of X_a[m, b] * X_w[n, b] * Dot_b, where
both operands are MX QTensors (granularity block, scale_format e8m0, the same block size B):
X = 2^(code - 127) is a block's E8M0 shared scale and Dot_b = sum_{k in block b} P_a P_w the
block's dot product of element values P. The spec leaves the internal precision to the
implementation; this PE fixes it, every rounding point listed:

1. Elements (FP4 E2M1, FP6 E2M3 / E3M2, FP8 E4M3) are integers I times the format's smallest
   subnormal 2^q (E2M1: halves). Products I_a * I_w are exact, and so is each block's sum
   Dot_b = 2^(q_a + q_w) * sum I_a I_w (an integer register of `span` bits; a format pair
   whose block sum can exceed 62 bits, FP8 E5M2, is refused).
2. The block value Dot_b * 2^(s_a + s_w) is exact (a power-of-two scale is an exponent add).
3. Block values are added into one fp32 accumulator, starting at +0, in block order
   (b = 0, 1, ...), one IEEE round-to-nearest-even per addition (the only rounding point).
   A finite sum beyond fp32 becomes +-inf and is counted in `overflows`. A block whose scale
   code is 0xFF (NaN) or holding a NaN element makes the output NaN (the spec: a NaN scale
   makes its block NaN).
`out` holds those fp32 values (as float64), scales applied: no dequantisation unit follows.
K that is not a multiple of B reads as zero-padded to whole blocks (as stored).

Two implementations, tested equal: `mx_gemm_scalar` (Fractions, one output at a time) and
`run`: the block sums through float64 BLAS (integer-valued float64 of |value| < 2^53 whatever
the order: step 1 is exact) and the fp32 accumulation in hwsim.pe._kernels_mx.mx_accumulate
(numba, parallel over rows; each output owned by one thread, so results do not depend on the
thread count).

Cycles: a `dp`-lane dot-product unit takes ceil(B / dp) cycles per block and output;
`cycles` = M * N * blocks * ceil(B / dp) (one PE doing the whole call); tile_cycles None.
Counts: `mul.{ma+1}x{mw+1}` (significand product, sign and exponent bits by LUT) and
`add.{span}` (the block's integer adder tree) per MAC; per block and output `add.9` (the
two E8M0 exponents added) and `fadd.32` (the fp32 accumulation, alignment included).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hwsim.dtypes.qtensor import is_qtensor
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import float_spec
from hwsim.pe.counts import ActionCounts
from hwsim.pe.int_mac import check_shapes
from hwsim.pe.registry import PEEstimate, PEResult, register_pe

KX = lazy_module("hwsim.pe._kernels_mx")
ELEMENTS = ("float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn", "float8_e4m3fn", "float8_e5m2")
SPAN_LIMIT = 62  # bits of a block sum the int64 / float64-exact path holds (sign aside)
NAN_SCALE = 0xFF


def element_table(name: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(integer I per code (int64; 0 where not finite), not-finite flag per code, q): the
    element value of code c is I[c] * 2^q, q = log2 of the smallest subnormal."""
    from hwsim.dtypes import format as get_format

    fmt = get_format(name)
    values = np.asarray(fmt.values(), dtype=np.float64)
    q = int(round(math.log2(fmt.min_subnormal)))
    finite = np.isfinite(values)
    ints = np.where(finite, np.ldexp(np.where(finite, values, 0.0), -q), 0.0)
    if not np.array_equal(ints, np.round(ints)):
        raise HwsimError(f"mx_mac: format {name} is not a grid of its smallest subnormal")
    return ints.astype(np.int64), ~finite, q


def span_bits(a_format: str, w_format: str, block: int) -> int:
    """Bits of the largest |block sum| in units of 2^(q_a + q_w), sign excluded."""
    ia, iw = element_table(a_format)[0], element_table(w_format)[0]
    biggest = int(np.abs(ia).max()) * int(np.abs(iw).max()) * block
    return biggest.bit_length()


def _element_name(fmt, who: str) -> str:
    from hwsim.dtypes import format as get_format

    f = get_format(fmt)
    name = f.name
    element = getattr(f, "element_format", None)
    if element is not None:  # the block format itself: the PE reads element codes + scales
        raise HwsimError(
            f"{who}: got the block format {name}; expected its element format "
            f"{getattr(element, 'name', element)} with granularity block and scale_format e8m0"
        )
    if name not in ELEMENTS:
        raise HwsimError(
            f"{who}: expected an MX element format ({', '.join(ELEMENTS)}), got {name}"
        )
    return name


def mx_operand(x, who: str) -> dict:
    """Element integers, block exponents and NaN flags of one MX QTensor operand [rows, K]."""
    if not is_qtensor(x):
        raise HwsimError(
            f"{who}: expected an MX QTensor (granularity block, scale_format e8m0), got "
            f"{type(x).__name__}"
        )
    spec = x.spec
    if len(spec.menu) != 1:
        raise HwsimError(f"{who}: expected one element format, got a menu {spec.menu}")
    if spec.granularity != "block" or spec.scale_format != "e8m0":
        raise HwsimError(
            f"{who}: expected granularity block with scale_format e8m0, "
            f"got {spec.granularity} / {spec.scale_format}"
        )
    if x.zero_points is not None and np.any(x.zero_points != 0):
        raise HwsimError(f"{who}: MX blocks are symmetric (no zero points)")
    name = _element_name(spec.menu[0], who)
    codes = np.asarray(x.codes)
    if codes.ndim != 2 or x.scale_codes is None:
        raise HwsimError(f"{who}: expected [rows, K] codes with e8m0 scale codes")
    B = int(spec.group_size)
    rows, K = codes.shape
    nb = -(-K // B)
    sc = np.asarray(x.scale_codes, dtype=np.int64).reshape(rows, -1)
    if sc.shape[1] != nb:
        raise HwsimError(f"{who}: expected {nb} blocks of {B} per row, got {sc.shape[1]} scales")
    ints, bad, q = element_table(name)
    padded = np.zeros((rows, nb * B), dtype=np.int64)
    padded[:, :K] = ints[codes]
    nan = (sc == NAN_SCALE) | np.pad(bad[codes], ((0, 0), (0, nb * B - K))).reshape(
        rows, nb, B
    ).any(-1)
    return {"format": name, "block": B, "ints": padded, "exp": sc - 127 + q, "nan": nan,
            "q": q, "K": K}  # fmt: skip


@register_pe("mx_mac")
class MXMAC:
    """MX dot products: exact block sums, fp32 accumulation over blocks (module doc)."""

    def __init__(self, dp: int = 32):
        if isinstance(dp, bool) or not isinstance(dp, int) or not 1 <= dp <= 256:
            raise HwsimError(f"mx_mac.dp: expected an integer in [1, 256], got {dp!r}")
        self.dp = dp

    def check(self, a_format=None, w_format=None) -> None:
        for who, f in (("mx_mac: a", a_format), ("mx_mac: w", w_format)):
            if f is not None:
                if isinstance(f, tuple):
                    raise HwsimError(f"{who}: expected one element format, got a menu {f}")
                _element_name(f, who)

    def _span(self, a_format, w_format, block: int) -> int:
        span = span_bits(a_format, w_format, block)
        if span > SPAN_LIMIT:
            raise HwsimError(
                f"mx_mac: a block of {block} {a_format} x {w_format} products needs a "
                f"{span + 1}-bit sum; expected at most {SPAN_LIMIT + 1} bits"
            )
        return span + 1

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        self.check(a_format, w_format)
        fa = _element_name(a_format or "float4_e2m1fn", "mx_mac: a")
        fw = _element_name(w_format or "float4_e2m1fn", "mx_mac: w")
        B = int(group_size or 32)
        counts = {
            _mul_key(fa, fw): 1.0,
            f"add.{self._span(fa, fw, B)}": 1.0,
            "add.9": 1.0 / B,
            "fadd.32": 1.0 / B,
        }
        return PEEstimate(math.ceil(B / self.dp) / B, counts)

    def run(self, a, w) -> PEResult:
        A, W = mx_operand(a, "mx_mac: a"), mx_operand(w, "mx_mac: w")
        check_shapes(A["ints"][:, : A["K"]], W["ints"][:, : W["K"]], "mx_mac")
        B = A["block"]
        if W["block"] != B:
            raise HwsimError(f"mx_mac: block sizes differ, a {B} and w {W['block']}")
        span = self._span(A["format"], W["format"], B)
        M, N, nb = A["ints"].shape[0], W["ints"].shape[0], A["exp"].shape[1]
        acc = np.zeros((M, N), dtype=np.float64)
        events = np.zeros((M, N), dtype=np.int64)
        av, wv = A["ints"].astype(np.float64), W["ints"].astype(np.float64)
        for b in range(nb):
            cols = slice(b * B, (b + 1) * B)
            sums = np.ascontiguousarray(av[:, cols] @ wv[:, cols].T)  # exact (module doc)
            ea, ew = np.ascontiguousarray(A["exp"][:, b]), np.ascontiguousarray(W["exp"][:, b])
            na, nw = np.ascontiguousarray(A["nan"][:, b]), np.ascontiguousarray(W["nan"][:, b])
            KX.mx_accumulate(acc, events, sums, ea, ew, na, nw)
        macs = M * N * nb * B
        counts = ActionCounts()
        counts.add("mul", macs, *_mul_widths(A["format"], W["format"]))
        counts.add("add", macs, span)
        counts.add("add", M * N * nb, 9)
        counts.add("fadd", M * N * nb, 32)
        cycles = M * N * nb * math.ceil(B / self.dp)
        info = {"overflow_events": events, "blocks": nb, "block": B}
        return PEResult(acc, counts, cycles, None, int(events.sum()), info)


def _mul_widths(fa: str, fw: str) -> tuple[int, int]:
    from hwsim.dtypes import format as get_format

    return get_format(fa).man_bits + 1, get_format(fw).man_bits + 1


def _mul_key(fa: str, fw: str) -> str:
    a, w = _mul_widths(fa, fw)
    return f"mul.{a}x{w}"


def mx_gemm_scalar(a, w) -> tuple[np.ndarray, int]:
    """Reference of MXMAC.run's `out` and overflow count: exact Fractions, one output at a
    time, the fp32 rounding by hwsim.pe.accumulator_reference.round_fraction."""
    A, W = mx_operand(a, "mx_mac: a"), mx_operand(w, "mx_mac: w")
    B = A["block"]
    fp32 = float_spec("fp32")
    M, N, nb = A["ints"].shape[0], W["ints"].shape[0], A["exp"].shape[1]
    out = np.zeros((M, N))
    overflows = 0
    for m in range(M):
        for n in range(N):
            acc = 0.0
            for b in range(nb):
                if A["nan"][m, b] or W["nan"][n, b]:
                    acc = math.nan
                    continue
                cols = slice(b * B, (b + 1) * B)
                s = sum(int(x) * int(y) for x, y in zip(A["ints"][m, cols], W["ints"][n, cols]))
                v = Fraction(s) * Fraction(2) ** int(A["exp"][m, b] + W["exp"][n, b])
                if not math.isfinite(acc):
                    continue  # inf / NaN stay (v is finite)
                acc, o = round_fraction(Fraction(acc) + v, fp32, saturate=False)
                overflows += o
            out[m, n] = acc
    return out, overflows
