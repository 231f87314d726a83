"""Mixed-datatype PE: each weight group decoded through its own codebook, then a MAC.

Weights: a QTensor whose groups along K carry a datatype from a menu (`QTensor.format_ids`:
BitMoD's per-group mixture, ANT's per-tensor choice) or OliVe outlier-victim pairs (pairs
(2i, 2i+1) decode through the normal and the outlier codebook, victims to 0). Every value
must be dyadic (value * 2**f an integer), which all shipped codebooks and integers are.
Activations: integer (QTensor with per-tensor / per-row scales, or an int array) or float
(rounded to FP16 by RNE; FP16 values are integer multiples of 2**-24).

Arithmetic (bit-exact as defined here):
1. Decoder: each weight's code -> its group's codebook value (a LUT per datatype).
2. Group MAC: P_g = sum_{k in g} a_k * v_k, exact (int64 on a * 2**24 and v * 2**f when a
   bound proves it fits, else Python integers).
3. Dequantization + cross-group register in `out_acc` (fp32 or fp64), group by group:
   acc = RN(acc + RN(RN(P_g) * RN(s_g))), RN to that format with RNE.
4. Integer activations with scales: one RN multiply by the activation scale.
So the group partial sums are exact and every rounding after them is listed above.

Cycles: one MAC per cycle (`cycles` = M*N*K), not data dependent (`tile_cycles` None).
Counts: `lut.{w bits}` one per MAC (decoder), `mul.{a}x{v}` and `add.{acc}` one per MAC
(v = bits of the widest decoded value, acc = a + v + log2(group size)), `fmul.{32|64}` and
`fadd.{32|64}` one per output and group, `fmul.{32|64}` per output for activation scales.
info: `groups_per_format` (menu name -> groups), and for OliVe `outliers` / `victims`.
`overflows`: outputs whose `out_acc` register overflowed (operands are finite, so every
inf/NaN output is one). `multiplier` ("array" | "booth") names the multiplier's hardware,
which hwsim.cost prices; results do not depend on it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hwsim.dtypes.registry import same_format
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import float_spec
from hwsim.pe.bit_serial import bit_length
from hwsim.pe.counts import ActionCounts
from hwsim.pe.registry import PEEstimate, PEResult, check_multiplier, register_pe
from hwsim.pe.shift_add import fp16_activations, fp32_overflows, int_activations, is_float_input
from hwsim.pe.terms import read_operand

# numba kernels load on first use: a shapes-only run never compiles or imports them
KM = lazy_module("hwsim.pe._kernels_mac")
KS = lazy_module("hwsim.pe._kernels_serial")

OUT_ACCS = ("fp32", "fp64")


def dyadic_integers(values: np.ndarray, who: str) -> tuple[np.ndarray, int]:
    """(values * 2**f as int64, f) for the smallest f that makes every value an integer."""
    for f in range(0, 31):
        scaled = np.ldexp(values, f)
        if np.all(scaled == np.round(scaled)):
            if np.abs(scaled).max(initial=0) >= 2.0**40:
                break
            return scaled.astype(np.int64), f
    raise HwsimError(f"{who}: weight values must be dyadic (v * 2**f an integer, f <= 30)")


@register_pe("mixed_dtype")
class MixedDtypePE:
    """Per-group codebook decode + exact group MAC + dequantization (see module doc)."""

    def __init__(self, out_acc: str = "fp32", multiplier: str = "array"):
        # the multiplier's hardware (priced by hwsim.cost, results unchanged)
        self.multiplier = check_multiplier(multiplier, "mixed_dtype.multiplier")
        if out_acc not in OUT_ACCS:
            raise HwsimError(f"mixed_dtype.out_acc: expected fp32 or fp64, got {out_acc!r}")
        self.out_acc = out_acc
        self.spec = float_spec(out_acc)

    def check(self, a_format=None, w_format=None) -> None:
        from hwsim.dtypes import format as get_format

        for name in w_format if isinstance(w_format, tuple) else (w_format,):
            if name is not None:
                dyadic_integers(get_format(name).values(), f"mixed_dtype: {name}")
        if a_format is not None and not same_format(a_format, "float16"):
            v = get_format(a_format).values()
            if not np.all(np.isfinite(v) & (v == np.round(v))):
                raise HwsimError(
                    f"mixed_dtype: activations must be integer or float16, got {a_format}"
                )

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        from hwsim.dtypes import format as get_format

        self.check(a_format, w_format)
        names = w_format if isinstance(w_format, tuple) else (w_format or "int4",)
        wbits = max(get_format(n).bits for n in names)
        abits = (
            16
            if a_format is None or same_format(a_format, "float16")
            else (get_format(a_format).bits)
        )
        counts = {f"lut.{wbits}": 1.0, f"mul.{abits}x{wbits + 2}": 1.0, f"add.{abits + 16}": 1.0}
        return PEEstimate(1.0, counts)

    def run(self, a, w) -> PEResult:
        op = read_operand(w, "mixed_dtype", allow_olive=True)
        V, f = dyadic_integers(op.values, "mixed_dtype")
        if is_float_input(a):
            A = np.ldexp(fp16_activations(a, "mixed_dtype"), 24).astype(np.int64)
            e_a, abits, a_scale = -24, 16, None
        else:
            A, abits, a_scale = int_activations(a, "mixed_dtype")
            e_a = 0
        M, K = A.shape
        N = V.shape[0]
        if V.shape[1] != K:
            raise HwsimError(f"mixed_dtype: K mismatch, a is {A.shape} and w is {V.shape}")
        gs, G = op.group_size, op.n_groups
        amax, vmax = int(np.abs(A).max(initial=0)), int(np.abs(V).max(initial=0))
        s = self.spec
        if gs * amax * vmax < 2**62:
            P = KS.int_group_partials(A, V, gs)  # exact [M, N, G]
            Pr, _ = KM.round_int_to_float(P, e_a - f, s.man_bits, s.emin, s.max_finite, False)
        else:  # wide values (e.g. NF4's float32 table times FP16): exact Python integers
            Pr = _partials_python(A, V, gs, e_a - f, s)
        if self.out_acc == "fp32":
            out = KS.fp32_group_dequant(Pr, op.scales.astype(np.float32)).astype(np.float64)
            if a_scale is not None:
                with np.errstate(over="ignore", invalid="ignore"):  # counted in overflows
                    out = (out.astype(np.float32) * a_scale[:, None]).astype(np.float64)
        else:
            out = np.zeros((M, N))
            with np.errstate(over="ignore", invalid="ignore"):  # counted in overflows
                for g in range(G):
                    out = out + Pr[:, :, g] * op.scales[None, :, g]
                if a_scale is not None:
                    out = out * a_scale.astype(np.float64)[:, None]
        vbits = 1 + int(bit_length(np.array([vmax]))[0])
        acc = abits + vbits + math.ceil(math.log2(max(gs, 2)))
        width = 32 if self.out_acc == "fp32" else 64
        c = ActionCounts()
        c.add("lut", M * N * K, max(fm.bits for fm in op.formats))
        c.add("mul", M * N * K, abits, vbits)
        c.add("add", M * N * K, acc)
        c.add("fmul", M * N * G + (0 if a_scale is None else M * N), width)
        c.add("fadd", M * N * G, width)
        info = {"groups_per_format": self._groups(w, op)}
        if w.meta.get("scheme") == "olive":
            info["outliers"] = int(w.meta.get("n_outliers", 0))
            info["victims"] = int(w.meta.get("n_victims", 0))
        return PEResult(out, c, M * N * K, None, fp32_overflows(out), info)

    @staticmethod
    def _groups(w, op) -> dict[str, int]:
        if w.meta.get("scheme") == "olive":
            return {op.formats[0].name: int(op.format_ids.size)}
        ids = np.bincount(op.format_ids.ravel(), minlength=len(w.spec.menu))
        return {name: int(ids[i]) for i, name in enumerate(w.spec.menu)}


def _partials_python(A, V, gs, exp2, spec) -> np.ndarray:
    """RN(P_g * 2**exp2) for every (m, n, g) with Python-int group sums (no width limit)."""
    M, K = A.shape
    N, G = V.shape[0], K // gs
    Ao = A.astype(object).reshape(M, G, gs)
    Vo = V.astype(object).reshape(N, G, gs)
    scale = Fraction(2) ** exp2
    out = np.empty((M, N, G))
    for g in range(G):
        P = Ao[:, g, :] @ Vo[:, g, :].T
        for m in range(M):
            for n in range(N):
                out[m, n, g] = round_fraction(Fraction(int(P[m, n])) * scale, spec, False)[0]
    return out


def mixed_dtype_reference(a, w, out_acc: str = "fp32") -> np.ndarray:
    """Pure-Python model: Fractions for the group sums, RN by hwsim.pe.accumulators."""
    spec = float_spec(out_acc)

    def rn(x) -> Fraction:
        return Fraction(round_fraction(Fraction(x), spec, False)[0])

    op = read_operand(w, "mixed_dtype", allow_olive=True)
    if is_float_input(a):
        rows, a_scale = fp16_activations(a, "mixed_dtype").tolist(), None
    else:
        av, _, a_scale = int_activations(a, "mixed_dtype")
        rows = av.tolist()
    N, K = op.values.shape
    gs = op.group_size
    out = np.zeros((len(rows), N))
    for m, row in enumerate(rows):
        for n in range(N):
            acc = Fraction(0)
            for g in range(K // gs):
                ks = range(g * gs, (g + 1) * gs)
                terms = (Fraction(row[k]) * Fraction(float(op.values[n, k])) for k in ks)
                p = sum(terms, Fraction(0))
                acc = rn(acc + rn(rn(p) * rn(float(op.scales[n, g]))))
            if a_scale is not None:
                acc = rn(acc * Fraction(float(a_scale[m])))
            out[m, n] = float(acc)
    return out
