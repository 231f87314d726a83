"""Bit-parallel INT MAC (the TPU-like baseline): INTa x INTw -> integer accumulator.

`IntMAC(acc_bits=32, overflow="wrap", order="sequential", tree_width=2, on_overflow="count",
multiplier="array")` computes out[i, j] = sum_k a[i, k] * w[j, k] exactly as a
`acc_bits`-bit accumulator would (see hwsim.pe.accumulators for wrap/saturate and the order),
with every overflow event counted. `multiplier` ("array" | "booth") names the hardware
multiplier hwsim.cost prices; results, counts and cycles do not depend on it.

Operands: integer numpy arrays (their width is the smallest two's complement width holding
their values), or QTensors of a format whose every value is an integer (int8, int4, uint8,
...; width = the format's bits); zero points are subtracted first (the operand then needs one
bit more). `out` holds the integer accumulators; `dequantize_output(out, a, w)` applies
per-tensor / per-channel scales.

Fast path: when K * max|a| * max|w| <= 2**(acc_bits-1) - 1, no partial sum in any order can
leave the accumulator's range, so nothing wraps, and since that bound is also < 2**53 every
partial sum of a float64 BLAS matmul is an integer below 2**53, hence exact whatever order or
FMA use the BLAS picks; below 2**24 the same holds for a float32 BLAS matmul (INT8 x INT8 up
to K = 1040), twice as fast. Otherwise the numba kernel runs the exact accumulator model.
Integer-format QTensors without zero points (int8 and narrower in uint8 codes, up to 16 bits
in uint16) are read as their narrow two's complement integers directly (`narrow_integers`),
with no decode to float64 and back.

Cycles: one MAC per cycle, so `cycles` = M*N*K (one PE doing every MAC of the call; divide by
the number of PEs for an array). `tile_cycles` is None (not data dependent).
Counts: `mul.{a}x{w}` and `add.{acc_bits}` M*N*K each; `add.{bits}` once per operand element
whose zero point is subtracted. `expected(a_format, w_format)` assumes 8-bit operands for a
format given as None.
"""

from __future__ import annotations

import numpy as np

from hwsim.dtypes.qtensor import is_qtensor
from hwsim.errors import HwsimError
from hwsim.pe.accumulator_spec import Accumulator
from hwsim.pe.accumulators import accumulate_gemm
from hwsim.pe.counts import ActionCounts
from hwsim.pe.registry import PEEstimate, PEResult, check_multiplier, register_pe

ON_OVERFLOW = ("count", "raise")


def signed_width(lo: int, hi: int) -> int:
    """Smallest two's complement width holding every integer in [lo, hi]."""
    bits = 1
    while not (-(2 ** (bits - 1)) <= lo and hi <= 2 ** (bits - 1) - 1):
        bits += 1
    return bits


def operand_format(x, who: str):
    """The element format of a QTensor operand (one format: no menu, no block format)."""
    from hwsim.dtypes import format as get_format

    menu = x.spec.menu
    if len(menu) != 1:
        raise HwsimError(f"{who}: expected one element format, got a menu {menu}")
    fmt = get_format(menu[0])
    reject_block_format(fmt, who)
    return fmt


def reject_block_format(fmt, who: str) -> None:
    """A PE reads element codes and group scales; an MX/BFP QTensor's format is the block."""
    element = getattr(fmt, "element_format", None)
    if element is not None:
        raise HwsimError(
            f"{who}: {fmt.name} is a block format; quantize with its element format "
            f"{element.name!r}, granularity='block' and scale_format='e8m0' instead"
        )


def integer_format_check(fmt, who: str) -> None:
    """Raise unless every value of `fmt` is an integer (an INT MAC cannot take it otherwise)."""
    vals = fmt.values()
    vals = vals[~np.isnan(vals)]  # int8_sym's unused code -128 decodes to NaN
    if not np.all(np.isfinite(vals) & (vals == np.round(vals))):
        raise HwsimError(f"{who}: format {fmt.name} is not an integer format")


def integer_operand(x, who: str) -> tuple[np.ndarray, int, int]:
    """(int64 values, operand width in bits, zero-point subtractions) of an INT MAC operand."""
    if is_qtensor(x):
        fmt = operand_format(x, who)
        integer_format_check(fmt, who)
        vals = fmt.decode(x.codes)
        if np.isnan(vals).any():
            raise HwsimError(f"{who}: codes hold the unused (NaN) code of {fmt.name}")
        bits, subs = fmt.bits, 0
        if x.zero_points is not None and np.any(x.zero_points != 0):
            zp = np.broadcast_to(x.zero_points, vals.shape)
            if not np.all(zp == np.round(zp)):
                raise HwsimError(f"{who}: zero points must be integers for an INT MAC")
            vals = vals - zp
            bits, subs = bits + 1, vals.size
        return vals.astype(np.int64), bits, subs
    arr = np.asarray(x)
    if arr.dtype.kind not in "iub":
        raise HwsimError(
            f"{who}: expected integer codes or a QTensor of an integer format, "
            f"got dtype {arr.dtype}"
        )
    if arr.size == 0:
        return arr.astype(np.int64), 1, 0
    lo, hi = int(arr.min()), int(arr.max())  # in the array's own dtype: uint64 stays unsigned
    if max(hi, -lo) > 2**63 - 1:  # uint64 beyond int64 would wrap; -2**63 has no negation
        raise HwsimError(
            f"{who}: integer operands in [{lo}, {hi}] exceed int64 (|value| <= 2**63 - 1)"
        )
    bits = signed_width(lo, hi)
    return arr.astype(np.int64), bits, 0


def narrow_integers(x, who: str) -> tuple[np.ndarray, int] | None:
    """(integers in a narrow signed or unsigned dtype, width in bits) of an integer-format
    QTensor without zero points whose codes fit uint8 / uint16; None for anything else (the
    general integer_operand path reads it, and refuses what is invalid)."""
    from hwsim.dtypes.integer import IntFormat

    if not is_qtensor(x) or (x.zero_points is not None and np.any(x.zero_points != 0)):
        return None
    fmt = operand_format(x, who)
    c = np.asarray(x.codes)
    if not isinstance(fmt, IntFormat) or c.dtype not in (np.uint8, np.uint16):
        return None
    bits = 8 * c.dtype.itemsize
    if fmt.width > bits or (fmt.width < bits and c.size and int(c.max()) >> fmt.width):
        return None  # codes past the width: integer_operand's check says so
    if fmt.symmetric and np.any(c == fmt.missing_code):
        raise HwsimError(f"{who}: codes hold the unused (NaN) code of {fmt.name}")
    if not fmt.signed:
        return c, fmt.width
    signed = c.view(np.int8 if bits == 8 else np.int16)
    if fmt.width == bits:
        return signed, fmt.width
    shift = bits - fmt.width  # sign-extend the width's top bit
    return (c << shift).view(signed.dtype) >> shift, fmt.width


def check_shapes(a: np.ndarray, w: np.ndarray, who: str) -> None:
    if a.ndim != 2 or w.ndim != 2:
        raise HwsimError(
            f"{who}: expected a [M, K] and w [N, K], got shapes {a.shape} and {w.shape}"
        )
    if a.shape[1] != w.shape[1]:
        raise HwsimError(f"{who}: K mismatch, a is {a.shape} and w is {w.shape}")


def _channel_scale(x, rows: int, who: str) -> np.ndarray:
    """Per-row scale column [rows, 1] of a QTensor whose scales are constant along K."""
    s = np.asarray(x.scales, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 1 or s.shape[0] not in (1, rows):
        raise HwsimError(
            f"{who}: expected per-tensor or per-row scales (constant along K), "
            f"got scales of shape {s.shape}"
        )
    return np.broadcast_to(s, (rows, 1))


def dequantize_output(out: np.ndarray, a, w) -> np.ndarray:
    """out * scale_a[i] * scale_w[j] for per-tensor / per-channel QTensor operands."""
    out = np.asarray(out, dtype=np.float64)
    if is_qtensor(a):
        out = out * _channel_scale(a, out.shape[0], "dequantize_output: a")
    if is_qtensor(w):
        out = out * _channel_scale(w, out.shape[1], "dequantize_output: w").T
    return out


def _magnitude(x: np.ndarray) -> int:
    """max |x| as a Python int (no wrap of -128 in int8)."""
    return max(int(x.max()), -int(x.min())) if x.size else 0


def raise_or_count(overflows: int, on_overflow: str, who: str) -> None:
    if overflows and on_overflow == "raise":
        raise HwsimError(f"{who}: {overflows} accumulator overflow event(s) (on_overflow='raise')")


@register_pe("int_mac")
class IntMAC:
    """INTa x INTw -> `acc_bits`-bit integer accumulator, 1 MAC per cycle."""

    def __init__(
        self,
        acc_bits: int = 32,
        overflow: str = "wrap",
        order: str = "sequential",
        tree_width: int = 2,
        on_overflow: str = "count",
        multiplier: str = "array",
    ):
        self.multiplier = check_multiplier(multiplier, "int_mac.multiplier")
        self.acc = Accumulator(
            "int", width=acc_bits, overflow=overflow, order=order, tree_width=tree_width
        )
        if on_overflow not in ON_OVERFLOW:
            raise HwsimError(f"int_mac.on_overflow: expected count or raise, got {on_overflow!r}")
        self.on_overflow = on_overflow

    def check(self, a_format=None, w_format=None) -> None:
        from hwsim.dtypes import format as get_format

        for who, f in (("int_mac: a", a_format), ("int_mac: w", w_format)):
            if f is not None:
                integer_format_check(get_format(f), who)

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        from hwsim.dtypes import format as get_format

        self.check(a_format, w_format)
        ab = get_format(a_format).bits if a_format is not None else 8
        wb = get_format(w_format).bits if w_format is not None else 8
        return PEEstimate(1.0, {f"mul.{ab}x{wb}": 1.0, f"add.{self.acc.width}": 1.0})

    def run(self, a, w) -> PEResult:
        na, nw = narrow_integers(a, "int_mac: a"), narrow_integers(w, "int_mac: w")
        if na is not None and nw is not None:  # no zero points to subtract
            (av, abits), (wv, wbits), asubs, wsubs = na, nw, 0, 0
        else:
            av, abits, asubs = integer_operand(a, "int_mac: a")
            wv, wbits, wsubs = integer_operand(w, "int_mac: w")
        check_shapes(av, wv, "int_mac")
        M, K = av.shape
        N = wv.shape[0]
        if abits + wbits > 62:
            raise HwsimError(
                f"int_mac: operands of {abits} and {wbits} bits are too wide "
                f"(at most 62 bits together)"
            )
        out, events, blas = self.gemm(av, wv)
        overflows = int(events.sum())
        raise_or_count(overflows, self.on_overflow, "int_mac")
        macs = M * N * K
        counts = ActionCounts()
        counts.add("mul", macs, abits, wbits)
        counts.add("add", macs, self.acc.width)
        if asubs or wsubs:
            counts.add("add", asubs, abits - 1)
            counts.add("add", wsubs, wbits - 1)
        info = {
            "fast_path": blas is not None,
            "blas": blas,  # float32 | float64 | None (the exact kernel)
            "overflow_events": events,
            "operand_bits": (abits, wbits),
        }
        return PEResult(out, counts, macs, None, overflows, info)

    def gemm(self, av: np.ndarray, wv: np.ndarray):
        """(out int64 [M, N], overflow events [M, N], the exact BLAS used: float32 | float64 |
        None for the accumulator kernel)."""
        K = av.shape[1]
        bound = K * _magnitude(av) * _magnitude(wv)  # >= |any partial sum|, in any order
        if bound <= 2 ** (self.acc.width - 1) - 1 and bound < 2**53:
            exact = np.float32 if bound <= 2**24 else np.float64  # every integer up to it
            out = av.astype(exact) @ wv.astype(exact).T
            return out.astype(np.int64), np.zeros(out.shape, np.int64), np.dtype(exact).name
        out, events = accumulate_gemm(
            av.astype(np.int64, copy=False), wv.astype(np.int64, copy=False), self.acc
        )
        return out, events, None
