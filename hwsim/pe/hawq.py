"""HAWQ-V3 integer-only layer: int8 GEMM + int32 bias + dyadic requantization to int8.

`HawqLayer(out_scale, bias=None, a_scale=None, w_scale=None, out_bits=8, out_signed=True,
out_zero_point=0, rounding="rne", acc_bits=32, on_overflow="count")`

    z[i, j]   = sum_k a[i, k] * w[j, k]          (int_mac: acc_bits accumulator, wrap)
    zb[i, j]  = wrap_acc(z[i, j] + b[j])          (bias in accumulator units)
    out[i, j] = clamp(round(zb * M_j / 2**c_j) + out_zero_point)   (hwsim.dtypes.requant)

with (M_j, c_j) = dyadic(a_scale * w_scale[j] / out_scale) (Yao et al., HAWQ-V3, ICML 2021).
Scales come from the operand QTensors (per-tensor activations, per-tensor or per-row weights)
or, for integer arrays, from `a_scale` / `w_scale`. `bias`: integer values are taken as
accumulator codes; float values are real biases quantized with scale a_scale * w_scale[j]
(RNE, as HAWQ's bias quantization), saturated to the accumulator range.
`rounding` is requant's (rne | half_up | half_away | floor | toward_zero); HAWQ's PyTorch code
rounds float64 RNE, its TVM deployment truncates.

Cycles and counts: the int_mac's (M*N*K MACs) plus per output `add.{acc}` (bias),
`mul.{acc}x31` (dyadic multiply), `shift.64` and `add.{out_bits}` (zero point, if any).
`out` holds the output integers; info["acc"] the int32 values before requantization;
info["out_clamped"] the outputs the output-range clamp changed (the clamp is the layer's
design, so they are reported there, not as accumulator `overflows`).
"""

from __future__ import annotations

import numpy as np

from hwsim.dtypes.qtensor import is_qtensor
from hwsim.dtypes.requant import dyadic, output_range, requantize
from hwsim.errors import HwsimError
from hwsim.pe.counts import ActionCounts
from hwsim.pe.int_mac import IntMAC, raise_or_count
from hwsim.pe.registry import PEEstimate, PEResult, check_flag, register_pe


def _scale_vector(x, given, rows: int, who: str, per_row: bool) -> np.ndarray:
    """Scales of an operand as a vector of length `rows` (or 1 for activations)."""
    if is_qtensor(x):
        s = np.asarray(x.scales, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] != 1 or s.shape[0] not in ((1, rows) if per_row else (1,)):
            kind = "per-tensor or per-row" if per_row else "per-tensor"
            raise HwsimError(f"hawq: {who} needs {kind} scales, got scales of shape {s.shape}")
        return s[:, 0]
    if given is None:
        raise HwsimError(f"hawq: integer {who} needs {who}_scale=... (or pass a QTensor)")
    s = np.atleast_1d(np.asarray(given, dtype=np.float64))
    if s.ndim != 1 or s.shape[0] not in ((1, rows) if per_row else (1,)):
        raise HwsimError(
            f"hawq: {who}_scale must be a scalar"
            f"{' or one per weight row' if per_row else ''}, got shape {s.shape}"
        )
    return s


@register_pe("hawq")
class HawqLayer:
    """Integer-only linear layer with dyadic requantization (see module doc)."""

    def __init__(
        self,
        out_scale: float = 1.0,
        bias=None,
        a_scale=None,
        w_scale=None,
        out_bits: int = 8,
        out_signed: bool = True,
        out_zero_point: int = 0,
        rounding: str = "rne",
        acc_bits: int = 32,
        on_overflow: str = "count",
    ):
        if not (np.isfinite(out_scale) and out_scale > 0):
            raise HwsimError(f"hawq.out_scale: expected a finite number > 0, got {out_scale!r}")
        check_flag(out_signed, "hawq.out_signed")
        if isinstance(out_zero_point, bool) or not isinstance(out_zero_point, int | np.integer):
            raise HwsimError(f"hawq.out_zero_point: expected an integer, got {out_zero_point!r}")
        lo, hi = output_range(out_bits, out_signed)
        if not lo <= out_zero_point <= hi:  # every output would clamp to one end
            raise HwsimError(
                f"hawq.out_zero_point: expected an integer in the output range [{lo}, {hi}], "
                f"got {out_zero_point}"
            )
        self.mac = IntMAC(acc_bits=acc_bits, overflow="wrap", on_overflow=on_overflow)
        self.out_scale, self.bias = float(out_scale), bias
        self.a_scale, self.w_scale = a_scale, w_scale
        self.out_bits, self.out_signed = out_bits, out_signed
        self.out_zero_point, self.rounding = int(out_zero_point), rounding
        self.on_overflow = on_overflow

    def check(self, a_format=None, w_format=None) -> None:
        self.mac.check(a_format, w_format)

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        est = self.mac.expected(a_format, w_format)
        return PEEstimate(est.cycles_per_mac, dict(est.counts_per_mac))

    def multipliers(self, a, w, N: int):
        """Per-output-channel dyadic (M, c) of a_scale * w_scale[j] / out_scale."""
        sa = _scale_vector(a, self.a_scale, 1, "a", per_row=False)
        sw = _scale_vector(w, self.w_scale, N, "w", per_row=True)
        prod = np.broadcast_to(sa[0] * sw, (N,))
        M, c = dyadic(prod / self.out_scale)
        return M, c, prod

    def bias_codes(self, prod_scale: np.ndarray, N: int) -> np.ndarray:
        """Bias in accumulator units, one per output channel."""
        lo, hi = -(2 ** (self.mac.acc.width - 1)), 2 ** (self.mac.acc.width - 1) - 1
        if self.bias is None:
            return np.zeros(N, np.int64)
        b = np.asarray(self.bias)
        if b.shape != (N,):
            raise HwsimError(f"hawq.bias: expected shape ({N},), got {b.shape}")
        if b.dtype.kind in "iu":
            if b.min() < lo or b.max() > hi:
                raise HwsimError(
                    f"hawq.bias: integer bias outside the {self.mac.acc.width}-bit "
                    f"accumulator range"
                )
            return b.astype(np.int64)
        q = np.rint(b.astype(np.float64) / prod_scale)  # np.rint: ties to even
        return np.clip(q, lo, hi).astype(np.int64)

    def run(self, a, w) -> PEResult:
        res = self.mac.run(a, w)
        z = res.out
        N = z.shape[1]
        Mq, c, prod = self.multipliers(a, w, N)
        b = self.bias_codes(prod, N)
        width = self.mac.acc.width
        zb = z + b[None, :]
        lo, hi = -(2 ** (width - 1)), 2 ** (width - 1) - 1
        bias_ovf = int(np.count_nonzero((zb < lo) | (zb > hi)))
        zb = (zb - lo) % 2**width + lo  # the accumulator register wraps
        overflows = res.overflows + bias_ovf
        raise_or_count(bias_ovf, self.on_overflow, "hawq (bias add)")
        if width > 32:
            raise HwsimError("hawq: requantization takes accumulators of at most 32 bits")
        requant = dict(rounding=self.rounding, zero_point=self.out_zero_point)
        kw = dict(requant, out_bits=self.out_bits, signed=self.out_signed)
        out = requantize(zb, Mq[None, :], c[None, :], **kw)
        # the output clamp is HAWQ's design, yet never silent: count the outputs it moved
        wide = requantize(zb, Mq[None, :], c[None, :], out_bits=32, signed=True, **requant)
        out_clamped = int(np.count_nonzero(wide != out))
        outputs = z.size
        counts = ActionCounts(res.counts)
        counts.add("add", outputs if self.bias is not None else 0, width)
        counts.add("mul", outputs, width, 31)
        counts.add("shift", outputs, 64)
        counts.add("add", outputs if self.out_zero_point else 0, self.out_bits)
        info = dict(res.info, acc=zb, multiplier=Mq, shift=c, bias_codes=b, bias_overflows=bias_ovf)
        info["out_clamped"] = out_clamped
        return PEResult(out, counts, res.cycles, None, overflows, info)
