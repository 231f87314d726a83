"""FPGA fixed-point PE: HLS `acc += a * w` with ap_fixed operands and an ap_fixed accumulator.

`FixedPointPE(acc_format="ap_fixed<32,16>", a_format=None, w_format=None, weights="fixed",
k_hot=2, dsp_packing=False, dsp_chain=7, on_overflow="count", multiplier="array")`

- Operands: QTensors of an `ap_fixed<W,I,...>` / `ap_ufixed` format, or float arrays whose values
  are exact in `a_format` / `w_format`. Each value is held as its integer mantissa v * 2**F
  (F = W - I fraction bits). QTensor scales are not applied (`out` is in ap_fixed units;
  hwsim.pe.int_mac.dequantize_output applies per-tensor / per-channel scales).
- Products are full precision: ap_fixed<Wa,Ia> * ap_fixed<Ww,Iw> -> ap_fixed<Wa+Ww, Ia+Iw>.
- Accumulator `acc_format` (`ap_fixed<W,I,Q,O>`): every addition is exact, then quantized to
  the accumulator's fraction bits with its Q mode and brought into W bits with its O mode
  (Vitis HLS UG1399, ap_fixed; AP_WRAP_SM is not modelled). Overflow events are counted.
- `dsp_packing=True` (operands of <= 8 bits): two multiplies sharing an activation per DSP48E2
  (Xilinx WP486), P = a*(w1*2**18 + w2) accumulated over `dsp_chain` products in the 48-bit P
  register, fields unpacked with the sign correction and added into the accumulators. With
  INT8 operands up to 7 products fit the 18-bit low field (7 * 2**14 < 2**17); a longer chain
  corrupts results exactly as the hardware would and is counted in info["dsp_field_overflows"].
- `multiplier="booth"` (fixed weights only): a radix-4 Booth multiplier for hwsim.cost to
  price (an ASIC choice: FPGA resources refuse it); results do not depend on it.
- `weights="pow2"` / `"khot"`: multiplier-free weights, each a sum of at most 1 / `k_hot`
  signed powers of two (QFX-style); the product is formed by shifts and adds of the activation.
  Terms per weight are the non-adjacent form (minimal signed digits) of its mantissa.

Cycles: one MAC per cycle, `cycles` = M*N*K (one PE doing the whole call; with DSP packing
a DSP retires two MACs per cycle, so cycles = M*ceil(N/2)*K). tile_cycles None.
Counts: `mul.{Wa}x{Ww}` per MAC (fixed weights, no packing); `dsp.27x18` and `add.48` per packed
DSP operation; `shift.{Wa}` per non-zero weight term and `add.{Wa+Ww}` per extra term
(pow2 / khot); `add.{Wacc}` per accumulator addition. `expected` assumes 8-bit operands for
a format given as None and, for khot, the worst case of k_hot terms per weight.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from hwsim.dtypes import fixed
from hwsim.dtypes.qtensor import is_qtensor
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.counts import ActionCounts
from hwsim.pe.int_mac import ON_OVERFLOW, check_shapes, operand_format, raise_or_count
from hwsim.pe.registry import (
    PEEstimate,
    PEResult,
    check_flag,
    check_multiplier,
    register_pe,
)

# numba kernels load on first use: a shapes-only run never compiles or imports them
K = lazy_module("hwsim.pe._kernels_fixed")

Q_MODES = fixed.Q_MODES
O_MODES = tuple(m for m in fixed.O_MODES if m != "AP_WRAP_SM")  # accumulator: no WRAP_SM
WEIGHT_KINDS = ("fixed", "pow2", "khot")
_NAME = re.compile(
    r"ap_(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*(?:,\s*(\w+)\s*"
    r"(?:,\s*(\d+)\s*)?)?)?>"
)


@dataclass(frozen=True)
class FixedType:
    """An ap_fixed / ap_ufixed type: width, integer bits, signedness, Q and O modes."""

    width: int
    int_bits: int
    signed: bool = True
    q: str = "AP_TRN"
    o: str = "AP_WRAP"

    @property
    def frac(self) -> int:
        return self.width - self.int_bits

    @property
    def lo(self) -> int:
        return -(2 ** (self.width - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return 2 ** (self.width - 1) - 1 if self.signed else 2**self.width - 1


def fixed_type(name, who: str = "format") -> FixedType:
    """Parse `ap_fixed<W,I[,Q[,O[,N]]]>` / `ap_ufixed<...>` (defaults AP_TRN, AP_WRAP)."""
    text = str(getattr(name, "name", name))
    m = _NAME.fullmatch(text.replace(" ", ""))
    if not m:
        raise HwsimError(f"{who}: expected an ap_fixed<W,I,Q,O> format, got {text!r}")
    q, o = m[4] or "AP_TRN", m[5] or "AP_WRAP"
    if q not in Q_MODES:
        raise HwsimError(f"{who}: quantization mode {q!r} not one of {', '.join(Q_MODES)}")
    if o not in O_MODES:
        raise HwsimError(
            f"{who}: overflow mode {o!r} not modelled; expected one of {', '.join(O_MODES)}"
        )
    if m[6] not in (None, "0"):
        raise HwsimError(f"{who}: saturation bits N={m[6]} not modelled (expected 0)")
    width = int(m[2])
    if not 1 <= width <= 48:
        raise HwsimError(f"{who}: width must be in [1, 48], got {width}")
    return FixedType(width, int(m[3]), m[1] != "u", q, o)


def fixed_mantissas(values: np.ndarray, t: FixedType, who: str) -> np.ndarray:
    """Integer mantissas v * 2**F of values that must be exact and in range in type t."""
    m = np.ldexp(np.asarray(values, dtype=np.float64), t.frac)
    if not np.all(np.isfinite(m)) or not np.all(m == np.round(m)):
        raise HwsimError(f"{who}: values are not exact in ap_fixed<{t.width},{t.int_bits}>")
    if m.size and (m.min() < t.lo or m.max() > t.hi):
        raise HwsimError(f"{who}: values out of range of ap_fixed<{t.width},{t.int_bits}>")
    return m.astype(np.int64)


def _operand_values(x, fmt_name, who: str) -> tuple[np.ndarray, str | None]:
    if is_qtensor(x):
        fmt = operand_format(x, who)
        return np.asarray(fmt.decode(x.codes), dtype=np.float64), fmt.name
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise HwsimError(f"{who}: expected a numeric array or a QTensor, got {arr.dtype}")
    return arr.astype(np.float64), fmt_name


def naf_terms(m: np.ndarray) -> np.ndarray:
    """Non-zero digits of the non-adjacent form of each integer (minimal signed-digit count)."""
    n = np.abs(np.asarray(m, dtype=np.int64))
    count = np.zeros(n.shape, np.int64)
    while np.any(n):
        odd = (n & 1) == 1
        digit = np.where(odd, 2 - (n & 3), 0)  # +1 or -1 where odd
        count += odd
        n = (n - digit) >> 1
    return count


def dyadic_mantissas(values: np.ndarray, who: str) -> tuple[np.ndarray, int]:
    """(integer mantissas, fraction bits F) with values = mantissas * 2**-F exactly."""
    v = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise HwsimError(f"{who}: expected finite weights")
    F = 0
    while not np.all(np.ldexp(v, F) == np.round(np.ldexp(v, F))):
        F += 1
        if F > 60:
            raise HwsimError(f"{who}: weights are not dyadic with <= 60 fraction bits")
    m = np.ldexp(v, F)
    if m.size and np.abs(m).max() >= 2.0**31:
        raise HwsimError(f"{who}: weight mantissas wider than 31 bits")
    return m.astype(np.int64), F


@register_pe("fixed_point")
class FixedPointPE:
    """ap_fixed MAC as HLS synthesises `acc += a * w` (see module doc)."""

    def __init__(
        self,
        acc_format: str = "ap_fixed<32,16>",
        a_format: str | None = None,
        w_format: str | None = None,
        weights: str = "fixed",
        k_hot: int = 2,
        dsp_packing: bool = False,
        dsp_chain: int = 7,
        on_overflow: str = "count",
        multiplier: str = "array",
    ):
        # the multiplier's hardware (priced by hwsim.cost, results unchanged)
        self.multiplier = check_multiplier(multiplier, "fixed_point.multiplier")
        if multiplier == "booth" and weights != "fixed":
            raise HwsimError(
                "fixed_point.multiplier: booth needs weights='fixed' (power-of-two and K-hot "
                "weights shift instead of multiplying)"
            )
        self.acc_t = fixed_type(acc_format, "fixed_point.acc_format")
        self.a_format, self.w_format = a_format, w_format
        if weights not in WEIGHT_KINDS:
            raise HwsimError(f"fixed_point.weights: expected fixed, pow2 or khot, got {weights!r}")
        if not (isinstance(k_hot, int) and k_hot >= 1):
            raise HwsimError(f"fixed_point.k_hot: expected an integer >= 1, got {k_hot!r}")
        if not (isinstance(dsp_chain, int) and 1 <= dsp_chain <= 64):
            raise HwsimError(
                f"fixed_point.dsp_chain: expected an integer in [1, 64], got {dsp_chain!r}"
            )
        dsp_packing = check_flag(dsp_packing, "fixed_point.dsp_packing")
        if dsp_packing and weights != "fixed":
            raise HwsimError("fixed_point.dsp_packing: needs weights='fixed'")
        if on_overflow not in ON_OVERFLOW:
            raise HwsimError(
                f"fixed_point.on_overflow: expected count or raise, got {on_overflow!r}"
            )
        self.weights, self.k_hot = weights, k_hot
        self.dsp_packing, self.dsp_chain, self.on_overflow = dsp_packing, dsp_chain, on_overflow

    def check(self, a_format=None, w_format=None) -> None:
        if a_format is not None:
            fixed_type(a_format, "fixed_point: a")
        if w_format is not None and self.weights == "fixed":
            fixed_type(w_format, "fixed_point: w")

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        self.check(a_format, w_format)
        wa = fixed_type(a_format).width if a_format else 8
        ww = fixed_type(w_format).width if w_format and self.weights == "fixed" else 8
        counts = {f"add.{self.acc_t.width}": 1.0}
        if self.dsp_packing:
            counts.update({"dsp.27x18": 0.5, "add.48": 0.5})
            return PEEstimate(0.5, counts)
        if self.weights == "fixed":
            counts[f"mul.{wa}x{ww}"] = 1.0
        else:
            terms = 1.0 if self.weights == "pow2" else float(self.k_hot)  # worst case
            counts[f"shift.{wa}"] = terms
            if terms > 1:
                counts[f"add.{wa + ww}"] = terms - 1
        return PEEstimate(1.0, counts)

    def _activations(self, a) -> tuple[np.ndarray, FixedType]:
        vals, name = _operand_values(a, self.a_format, "fixed_point: a")
        if name is None:
            raise HwsimError("fixed_point: float activations need a_format='ap_fixed<W,I>'")
        t = fixed_type(name, "fixed_point: a")
        return fixed_mantissas(vals, t, "fixed_point: a"), t

    def _weights(self, w):
        """(mantissas, fraction bits, width in bits, terms per weight or None)."""
        vals, name = _operand_values(w, self.w_format, "fixed_point: w")
        if self.weights == "fixed":
            if name is None:
                raise HwsimError("fixed_point: float weights need w_format='ap_fixed<W,I>'")
            t = fixed_type(name, "fixed_point: w")
            return fixed_mantissas(vals, t, "fixed_point: w"), t.frac, t.width, None
        m, F = dyadic_mantissas(vals, "fixed_point: w")
        terms = naf_terms(m)
        limit = 1 if self.weights == "pow2" else self.k_hot
        if terms.size and terms.max() > limit:
            raise HwsimError(
                f"fixed_point: a weight needs {int(terms.max())} signed "
                f"powers of two, {self.weights} allows {limit}"
            )
        width = int(np.abs(m).max(initial=1)).bit_length() + 1
        return m, F, width, terms

    def run(self, a, w) -> PEResult:
        am, at = self._activations(a)
        wm, wfrac, wbits, terms = self._weights(w)
        check_shapes(am, wm, "fixed_point")
        acc = self.acc_t
        prod_frac = at.frac + wfrac
        f = max(acc.frac, prod_frac)
        prod_bits = at.width + wbits
        if max(acc.width + f - acc.frac, prod_bits + f - prod_frac) + 1 > 62:
            raise HwsimError("fixed_point: accumulator and product alignment exceed 62 bits")
        qm, om = Q_MODES.index(acc.q), O_MODES.index(acc.o)
        M, Kd = am.shape
        N = wm.shape[0]
        counts = ActionCounts()
        info = {"prod_type": f"ap_fixed<{prod_bits},{prod_bits - prod_frac}>"}
        if self.dsp_packing:
            if at.width > 8 or wbits > 8:
                raise HwsimError("fixed_point.dsp_packing: needs operands of at most 8 bits")
            out, events, bad = K.dsp_packed_gemm(
                am, wm, self.dsp_chain, prod_frac, acc.frac, acc.width, acc.signed, qm, om
            )
            pairs = (N + 1) // 2
            chains = math.ceil(Kd / self.dsp_chain)
            counts.add("dsp", M * pairs * Kd, 27, 18)
            counts.add("add", M * pairs * Kd, 48)
            counts.add("add", M * N * chains, acc.width)
            info["dsp_field_overflows"] = int(bad.sum())
            cycles = M * pairs * Kd
        else:
            out, events = K.fixed_gemm(am, wm, prod_frac, acc.frac, acc.width, acc.signed, qm, om)
            if terms is None:
                counts.add("mul", M * N * Kd, at.width, wbits)
            else:
                nterms = int(terms.sum())
                counts.add("shift", M * nterms, at.width)
                counts.add("add", M * int(np.maximum(terms - 1, 0).sum()), prod_bits)
                info["terms_per_weight"] = np.bincount(terms.ravel(), minlength=2)
            counts.add("add", M * N * Kd, acc.width)
            cycles = M * N * Kd
        overflows = int(events.sum())
        raise_or_count(overflows, self.on_overflow, "fixed_point")
        info["overflow_events"] = events
        info["acc_frac"] = acc.frac
        return PEResult(
            np.ldexp(out.astype(np.float64), -acc.frac), counts, cycles, None, overflows, info
        )


# --- scalar reference (Fractions) --------------------------------------------------------


def fixed_cast_reference(x: Fraction, t: FixedType) -> tuple[Fraction, int]:
    """Reference ap_fixed cast of an exact rational: quantize (Q) then overflow (O)."""
    scaled = x * Fraction(2) ** t.frac
    fl = math.floor(scaled)
    rest = scaled - fl  # in [0, 1)
    qb = rest >= Fraction(1, 2)
    r = (rest - (Fraction(1, 2) if qb else 0)) != 0  # OR of the bits after qb
    s = x < 0
    up = {
        "AP_TRN": False,
        "AP_TRN_ZERO": s and (qb or r),
        "AP_RND": qb,
        "AP_RND_ZERO": qb and (s or r),
        "AP_RND_MIN_INF": qb and r,
        "AP_RND_INF": qb and ((not s) or r),
        "AP_RND_CONV": qb and (fl % 2 == 1 or r),
    }[t.q]
    v = fl + (1 if up else 0)
    over = 0
    if t.o == "AP_SAT_SYM" and t.signed and v == t.lo:
        v = -t.hi
    elif v < t.lo or v > t.hi:
        over = 1
        if t.o == "AP_WRAP":
            v = (v - t.lo) % 2**t.width + t.lo
        elif t.o == "AP_SAT":
            v = t.hi if v > t.hi else t.lo
        elif t.o == "AP_SAT_ZERO":
            v = 0
        else:
            v = t.hi if v > t.hi else (-t.hi if t.signed else t.lo)
    return Fraction(v) / Fraction(2) ** t.frac, over


def fixed_mac_reference(a_vals, w_vals, acc: FixedType):
    """Reference `acc += a*w` for float-valued operands (exact as Fractions)."""
    M, N = len(a_vals), len(w_vals)
    out = np.empty((M, N))
    events = 0
    for i in range(M):
        for j in range(N):
            s = Fraction(0)
            for x, y in zip(a_vals[i], w_vals[j]):
                s, o = fixed_cast_reference(s + Fraction(x) * Fraction(y), acc)
                events += o
            out[i, j] = float(s)
    return out, events
