"""Floating-point MAC: minifloat / FP16 / BF16 / FP32 operands, exact products, any accumulator.

`FloatMAC(acc="float", acc_format="fp32", overflow="", order="sequential", tree_width=2,
mantissa_bits=14, chunk=16, promote_every=128, on_overflow="count", weight_decoder="",
multiplier="array")` computes
out[i, j] = sum_k a[i, k] * w[j, k] through the accumulator `Accumulator(kind=acc, ...)`
(hwsim.pe.accumulators: float with RNE after every addition, kulisch, trunc_align).

Operands: float arrays (float16, float32, ml_dtypes bfloat16 / float8, or float64 holding such
values) or QTensors of a float format (codes decoded through the format). Products are exact:
a product of two significands of <= 26 bits each fits float64's 53 bits, and exponents stay
far inside float64's range; `run` checks this on the actual data and refuses otherwise.
`out` holds the accumulator values in element units; `dequantize_output` (int_mac) applies
per-tensor / per-channel scales.

Cycles: one MAC per cycle, `cycles` = M*N*K (one PE doing the whole call); tile_cycles None.
Counts per MAC: `fmul.{a}x{w}` (a float multiply of operands that wide) and the accumulator
add: `fadd.{1+E+M}` for a float accumulator, `add.{span}` (integer, the exact fixed-point span)
for kulisch, `add.{mantissa_bits+1}` (aligned integer add) for trunc_align; trunc_align also
counts `acc_norm.32` per chunk and `fadd.32` per fp32 promotion. `expected` assumes 16-bit
operands (fp16 range) for a format given as None. `multiplier` ("array" | "booth") names the
significand multiplier's hardware, which hwsim.cost prices; results do not depend on it.
"""

from __future__ import annotations

import math

import numpy as np

from hwsim.dtypes.qtensor import is_qtensor
from hwsim.errors import HwsimError
from hwsim.pe.accumulator_spec import Accumulator
from hwsim.pe.accumulators import (
    accumulate_gemm,
    exact_product_check,
    exponent_range,
    significand_bits,
)
from hwsim.pe.counts import ActionCounts
from hwsim.pe.int_mac import ON_OVERFLOW, check_shapes, operand_format, raise_or_count
from hwsim.pe.registry import PEEstimate, PEResult, check_multiplier, register_pe


def float_format_check(fmt, who: str) -> None:
    """Raise unless `fmt` is a float format whose products float64 holds exactly."""
    if not hasattr(fmt, "man_bits") or not hasattr(fmt, "exp_bits"):
        raise HwsimError(f"{who}: format {fmt.name} is not a floating-point format")
    if fmt.man_bits + 1 > 26:
        raise HwsimError(f"{who}: format {fmt.name} has more than 26 significand bits")


def float_operand(x, who: str) -> tuple[np.ndarray, int]:
    """(float64 values, operand width in bits) of a float MAC operand."""
    if is_qtensor(x):
        fmt = operand_format(x, who)
        float_format_check(fmt, who)
        if x.zero_points is not None and np.any(x.zero_points != 0):
            raise HwsimError(f"{who}: zero points are not supported for float formats")
        return np.asarray(fmt.decode(x.codes), dtype=np.float64), fmt.bits
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        raise HwsimError(
            f"{who}: expected float values or a QTensor of a float format, "
            f"got integer dtype {arr.dtype} (use int_mac)"
        )
    small_float = arr.dtype.kind == "V" and arr.dtype.itemsize <= 2  # ml_dtypes bfloat16, fp8
    if arr.dtype.kind != "f" and not small_float:  # str, complex, object (None) ...
        raise HwsimError(f"{who}: expected a float array, got dtype {arr.dtype}")
    return arr.astype(np.float64), arr.dtype.itemsize * 8


@register_pe("float_mac")
class FloatMAC:
    """Float operands, exact products, an explicit accumulator model, 1 MAC per cycle."""

    def __init__(
        self,
        acc: str = "float",
        acc_format: str = "fp32",
        overflow: str = "",
        order: str = "sequential",
        tree_width: int = 2,
        mantissa_bits: int = 14,
        chunk: int = 16,
        promote_every: int = 128,
        on_overflow: str = "count",
        weight_decoder: str = "",
        multiplier: str = "array",
    ):
        # the significand multiplier's hardware (priced by hwsim.cost, results unchanged)
        self.multiplier = check_multiplier(multiplier, "float_mac.multiplier")
        if acc == "int":
            raise HwsimError("float_mac.acc: expected float, kulisch or trunc_align, got 'int'")
        self.acc = Accumulator(
            acc,
            overflow=overflow,
            format=acc_format,
            order=order,
            tree_width=tree_width,
            mantissa_bits=mantissa_bits,
            chunk=chunk,
            promote_every=promote_every,
        )
        if on_overflow not in ON_OVERFLOW:
            raise HwsimError(f"float_mac.on_overflow: expected count or raise, got {on_overflow!r}")
        self.on_overflow = on_overflow
        if not isinstance(weight_decoder, str):
            raise HwsimError(f"float_mac.weight_decoder: expected a name, got {weight_decoder!r}")
        # the decoder that turns stored weight codes into the multiplier's integers (ANT's
        # int/flint/pot types, OliVe's outlier-victim pairs): it costs energy and area, which a
        # per-cycle profile prices by this name, not cycles (still 1 MAC per cycle)
        self.weight_decoder = weight_decoder

    def check(self, a_format=None, w_format=None) -> None:
        from hwsim.dtypes import format as get_format

        for who, f in (("float_mac: a", a_format), ("float_mac: w", w_format)):
            if f is not None:
                float_format_check(get_format(f), who)

    def _acc_add(self) -> str:
        """Action of one accumulator addition: float add, or integer add (kulisch, aligned)."""
        return "fadd" if self.acc.kind == "float" else "add"

    def _acc_bits(self, span_bits: int) -> int:
        if self.acc.kind == "float":
            return self.acc.bits
        if self.acc.kind == "trunc_align":
            return self.acc.mantissa_bits + 1
        return span_bits

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        from hwsim.dtypes import format as get_format

        self.check(a_format, w_format)
        fa = get_format(a_format) if a_format is not None else None
        fw = get_format(w_format) if w_format is not None else None
        ab = fa.bits if fa else 16
        wb = fw.bits if fw else 16
        counts = {f"fmul.{ab}x{wb}": 1.0}
        if self.acc.kind == "kulisch":
            span = _kulisch_span_formats(fa, fw)
            counts[f"add.{span}"] = 1.0
        else:
            counts[f"{self._acc_add()}.{self._acc_bits(0)}"] = 1.0
        if self.acc.kind == "trunc_align":
            counts["acc_norm.32"] = 1.0 / self.acc.chunk
            if self.acc.promote_every:
                counts["fadd.32"] = 1.0 / self.acc.promote_every
        return PEEstimate(1.0, counts)

    def run(self, a, w) -> PEResult:
        av, abits = float_operand(a, "float_mac: a")
        wv, wbits = float_operand(w, "float_mac: w")
        check_shapes(av, wv, "float_mac")
        finite = np.isfinite(av).all() and np.isfinite(wv).all()
        exact_product_check(av[np.isfinite(av)], wv[np.isfinite(wv)], "float_mac")
        if not finite and self.acc.kind != "float":
            raise HwsimError(f"float_mac: inf/NaN operands need acc='float', got {self.acc.kind}")
        out, events = accumulate_gemm(av, wv, self.acc)
        overflows = int(events.sum())
        raise_or_count(overflows, self.on_overflow, "float_mac")
        M, K = av.shape
        N = wv.shape[0]
        macs = M * N * K
        counts = ActionCounts()
        counts.add("fmul", macs, abits, wbits)
        counts.add(self._acc_add(), macs, self._acc_bits(_kulisch_span(av, wv)))
        if self.acc.kind == "trunc_align":
            counts.add("acc_norm", M * N * math.ceil(K / self.acc.chunk), 32)
            if self.acc.promote_every:
                counts.add("fadd", M * N * (math.ceil(K / self.acc.promote_every)), 32)
        info = {"overflow_events": events, "operand_bits": (abits, wbits)}
        return PEResult(out, counts, macs, None, overflows, info)


def _kulisch_span(av: np.ndarray, wv: np.ndarray) -> int:
    """Bits of a fixed-point register holding every product of these operands exactly (sign
    and 8 carry bits included)."""
    (alo, ahi), (wlo, whi) = exponent_range(av), exponent_range(wv)
    lsb = alo + wlo - significand_bits(av) - significand_bits(wv)
    return (ahi + whi + 2) - lsb + 9


def _kulisch_span_formats(fa, fw) -> int:
    """Kulisch register width for two formats from their value ranges."""
    vals = []
    for f in (fa, fw):
        if f is None:
            vals.append(np.array([2.0**-24, 65504.0]))  # fp16 range
        else:
            v = np.abs(f.values())
            vals.append(v[np.isfinite(v) & (v != 0)])
    return _kulisch_span(vals[0], vals[1])
