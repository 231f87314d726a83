"""Shift-and-add PEs: MixPE (arXiv 2411.16158) and DenseShift (ICCV'23).

mixpe -- mixed-precision GEMM with per-group dequantization *after* the group MAC:
    out[m, n] = s_a[m] * sum_g s_g * (sum_{k in g} q_k a_k - z_g * sum_{k in g} a_k)
The low-bit weight multiplies by shift-and-add (one shift + add per set bit of |q|).
  W4A8 (integer activations, QTensor or int array): the group sums are exact integers;
    I_g = sum q a - z_g sum a (exact); D_g = RN32(RN32(I_g) * RN32(s_g)); the groups are
    summed in an fp32 register in order (RN32 per add); then one RN32 multiply by the
    activation scale (per tensor / per row; 1 for arrays).
  W4A16 (float activations, rounded to FP16 by RNE): products a*q are exact in fp32;
    sum q a and sum a are fp32 registers accumulated in k order (RN32 per add);
    I_g = RN32(sum_qa - RN32(z_g * sum_a)); then as W4A8 (no activation scale).
Weights: an integer format (zero points must be integers). Cycles: BitFusion-style
throughput, floor(8 / a_bits) * floor(8 / w_bits) MACs per cycle (at least 1 each; FP16
activations count as 8-bit here: the shift-and-add unit takes one FP16 operand per weight
slot); `tile_cycles` is None (not data dependent).
Counts: `shift.{a}` and `add.{a + w}` one per set bit of |q| per MAC (data dependent),
`add.{acc}` (int) or `fadd.32` (FP16) one per MAC for the group sum and one per activation
element per group for sum a, `mul.{w}x{acc}` per output and group for z_g * sum a
(asymmetric weights only), `fmul.32` + `fadd.32` per output and group (dequantization),
`fmul.32` per output (activation scale, W4A8).

denseshift -- zero-free power-of-two weights s * 2**p (times a group scale): a multiply is
an exponent add (float activations) or a shift (integer activations).
  float: a rounded to FP16; a * 2**p exact in fp32 (checked); the group sum is an fp32
    register in k order; D_g = RN32(S_g * RN32(scale_g)); fp32 register over groups.
  integer: a << p exact (int64); group sums exact; then D_g and the fp32 register as above
    and one RN32 multiply by the activation scale.
Counts: `add.{e}` (exponent add, e = exponent bits of the weight) or `shift.{a}` one per MAC,
`fadd.32` or `add.{acc}` one per MAC, `fmul.32` + `fadd.32` per output and group.
Cycles: one MAC per cycle (`cycles` = M*N*K).

Overflow (both PEs): operands are finite, so every inf/NaN output comes from an fp32 register
that overflowed; `PEResult.overflows` counts those outputs (never silent, never raised).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hwsim.dtypes.qtensor import is_qtensor
from hwsim.dtypes.registry import same_format
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import float_spec
from hwsim.pe.bit_serial import bit_length
from hwsim.pe.counts import ActionCounts
from hwsim.pe.int_mac import integer_operand
from hwsim.pe.registry import PEEstimate, PEResult, register_pe
from hwsim.pe.terms import Operand, read_operand

# numba kernels load on first use: a shapes-only run never compiles or imports them
KS = lazy_module("hwsim.pe._kernels_serial")


def int_activations(a, who: str) -> tuple[np.ndarray, int, np.ndarray]:
    """(int64 values [M, K], bits, fp32 scale per row [M]) of integer activations."""
    av, bits, _ = integer_operand(a, f"{who}: a")
    if av.ndim != 2:
        raise HwsimError(f"{who}: activations must be 2-D [M, K], got {av.shape}")
    scale = np.ones(av.shape[0])
    if is_qtensor(a):
        s = np.asarray(a.scales, np.float64)
        if s.ndim != 2 or s.shape[1] != 1:
            raise HwsimError(f"{who}: activation scales must be per tensor or per row (axis=-1)")
        scale = np.broadcast_to(s[:, 0], (av.shape[0],))
    return av, bits, scale.astype(np.float32)


def fp16_activations(a, who: str) -> np.ndarray:
    from hwsim.pe.bitmod import to_fp16

    return to_fp16(a, who).astype(np.float64)


def is_float_input(a) -> bool:
    return not is_qtensor(a) and np.asarray(a).dtype.kind == "f"


def group_partials_int(av: np.ndarray, wv: np.ndarray, gs: int) -> np.ndarray:
    """Exact sum_{k in g} a_k w_k for every (m, n, g): float64 [M, N, G] (checked < 2**53)."""
    M, K = av.shape
    N, G = wv.shape[0], K // gs
    bound = gs * float(np.abs(av).max(initial=0)) * float(np.abs(wv).max(initial=0))
    if bound >= 2.0**53:
        raise HwsimError("group sums exceed 2**53: operands too wide for this PE model")
    A = av.astype(np.float64).reshape(M, G, gs).transpose(1, 0, 2)  # [G, M, gs]
    W = wv.astype(np.float64).reshape(N, G, gs).transpose(1, 2, 0)  # [G, gs, N]
    return np.matmul(A, W).transpose(1, 2, 0)  # exact: every partial sum < 2**53


def group_partials_fp32(a: np.ndarray, w: np.ndarray, gs: int) -> np.ndarray:
    """Sequential fp32 sum over each group of exact products a_k w_k: float32 [M, N, G]
    (every product must be exact in fp32, as FP16 x INT4/INT8 are)."""
    return KS.fp32_seq_dot_groups(a, w, gs)


def fp32_overflows(out: np.ndarray) -> int:
    """Outputs that are not finite: from finite operands, each is an fp32 overflow."""
    return int(np.count_nonzero(~np.isfinite(out)))


def dequant_groups(partials: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """fp32 register over groups: acc = RN32(acc + RN32(RN32(P_g) * RN32(s_g)))."""
    return KS.fp32_group_dequant(
        np.ascontiguousarray(partials, np.float64), np.ascontiguousarray(scales, np.float32)
    )


def _weights(w, who: str) -> tuple[Operand, np.ndarray, int]:
    op = read_operand(w, who)
    # by format, not by whether these values happen to be integers
    v = np.concatenate([f.values() for f in op.formats])
    v = v[~np.isnan(v)]  # int4_sym's unused code
    integer_formats = bool(np.all(np.isfinite(v) & (v == np.round(v))))
    if not integer_formats or not np.all(op.values == np.round(op.values)):
        raise HwsimError(f"{who}: weights must be an integer format, got {w.spec.format}")
    bits = max(f.bits for f in op.formats)
    return op, op.values.astype(np.int64), bits


@register_pe("mixpe")
class MixPE:
    """W4A8 / W4A16 group MAC with dequantization after the group sum (see module doc)."""

    def check(self, a_format=None, w_format=None) -> None:
        from hwsim.dtypes import format as get_format

        if w_format is not None:
            v = get_format(w_format).values()
            if not np.all(np.isfinite(v) & (v == np.round(v))):
                raise HwsimError(f"mixpe: weights must be an integer format, got {w_format}")
        if a_format is not None and not same_format(a_format, "float16"):
            v = get_format(a_format).values()
            if not np.all(np.isfinite(v) & (v == np.round(v))):
                raise HwsimError(f"mixpe: activations must be integer or float16, got {a_format}")

    @staticmethod
    def macs_per_cycle(a_bits: int, w_bits: int) -> int:
        return max(1, 8 // min(a_bits, 8)) * max(1, 8 // w_bits)

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        from hwsim.dtypes import format as get_format

        self.check(a_format, w_format)
        fp16 = a_format is not None and same_format(a_format, "float16")
        abits = 8 if fp16 or a_format is None else get_format(a_format).bits
        wbits = 4 if w_format is None else get_format(w_format).bits
        set_bits = wbits / 2  # uniform codes: half the magnitude bits set on average
        counts = {f"shift.{abits}": set_bits, f"add.{abits + wbits}": set_bits}
        counts["fadd.32" if fp16 else f"add.{abits + wbits + 12}"] = 1.0
        return PEEstimate(1.0 / self.macs_per_cycle(abits, wbits), counts)

    def run(self, a, w) -> PEResult:
        op, q, wbits = _weights(w, "mixpe")
        N, K = q.shape
        zp = np.zeros_like(op.scales) if op.zero_points is None else op.zero_points
        if not np.all(zp == np.round(zp)):
            raise HwsimError("mixpe: weight zero points must be integers")
        fp16 = is_float_input(a)
        if fp16:
            av = fp16_activations(a, "mixpe")
            abits, a_scale = 8, None
        else:
            av, abits, a_scale = int_activations(a, "mixpe")
        M = av.shape[0]
        if av.shape[1] != K:
            raise HwsimError(f"mixpe: K mismatch, a is {av.shape} and w is {q.shape}")
        gs, G = op.group_size, op.n_groups
        if fp16:
            s_qa = group_partials_fp32(av, q.astype(np.float64), gs)  # [M, N, G] fp32
            s_a = group_partials_fp32(av, np.ones((1, K)), gs)  # [M, 1, G]
            z32 = zp.astype(np.float32)[None, :, :]
            partials = (s_qa - (z32 * s_a).astype(np.float32)).astype(np.float32)
        else:
            s_qa = group_partials_int(av, q, gs)
            s_a = av.reshape(M, G, gs).sum(axis=2)[:, None, :].astype(np.float64)
            partials = s_qa - zp[None, :, :] * s_a  # exact integers < 2**53
        out32 = dequant_groups(partials, op.scales)
        if a_scale is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # counted in overflows
                out32 = (out32 * a_scale[:, None]).astype(np.float32)
        acc = abits + wbits + math.ceil(math.log2(max(gs, 2)))
        popcount = _popcount(np.abs(q))  # [N, K]
        c = ActionCounts()
        c.add("shift", int(popcount.sum()) * M, abits)
        c.add("add", int(popcount.sum()) * M, abits + wbits)
        if fp16:
            c.add("fadd", M * N * K + M * K, 32)
        else:
            c.add("add", M * N * K + M * K, acc)
        if np.any(zp):
            c.add("mul", M * N * G, wbits, acc)
        c.add("fmul", M * N * G + (0 if fp16 else M * N), 32)
        c.add("fadd", M * N * G, 32)
        per_out = -(-K // self.macs_per_cycle(abits, wbits))
        info = {"macs_per_cycle": self.macs_per_cycle(abits, wbits), "fp16_activations": fp16}
        overflows = fp32_overflows(out32)
        return PEResult(out32.astype(np.float64), c, per_out * M * N, None, overflows, info)


def _popcount(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    count = np.zeros(x.shape, np.int64)
    while np.any(x):
        count += (x & np.uint64(1)).astype(np.int64)
        x >>= np.uint64(1)
    return count


@register_pe("denseshift")
class DenseShiftPE:
    """Zero-free power-of-two weights: exponent add (float a) or shift (integer a)."""

    def check(self, a_format=None, w_format=None) -> None:
        from hwsim.dtypes import format as get_format

        if w_format is not None:
            pow2_exponents(get_format(w_format).values(), str(w_format))

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        self.check(a_format, w_format)
        fp = a_format is None or same_format(a_format, "float16")
        key = "add.5" if fp else "shift.8"
        return PEEstimate(1.0, {key: 1.0, "fadd.32" if fp else "add.32": 1.0})

    def run(self, a, w) -> PEResult:
        op = read_operand(w, "denseshift")
        name = ",".join(f.name for f in op.formats)
        p, sign = pow2_exponents(op.values, name)
        N, K = p.shape
        gs, G = op.group_size, op.n_groups
        if op.zero_points is not None and np.any(op.zero_points):
            raise HwsimError("denseshift: weights must be symmetric (no zero points)")
        ebits = max(1, int(bit_length(np.array([p.max() - p.min()]))[0]))
        if is_float_input(a):
            av = fp16_activations(a, "denseshift")
            wv = sign * np.ldexp(1.0, p)
            prod_ok = _fp32_exact_products(av, wv)
            if not prod_ok:
                raise HwsimError("denseshift: a * 2**p leaves the fp32 range (exponent add)")
            partials = group_partials_fp32(av, wv, gs).astype(np.float64)
            out32 = dequant_groups(partials, op.scales)
            key_mul, key_acc, a_scale = ("add", ebits), ("fadd", 32), None
        else:
            av, abits, a_scale = int_activations(a, "denseshift")
            shift0 = int(p.min())  # p may be negative: scale by 2**-shift0 to shift left only
            wv = sign * (np.int64(1) << (p - shift0))
            partials = group_partials_int(av, wv, gs)
            out32 = dequant_groups(np.ldexp(partials, shift0), op.scales)
            key_mul, key_acc = ("shift", abits), ("add", abits + int(p.max() - shift0) + 12)
        if av.shape[1] != K:
            raise HwsimError(f"denseshift: K mismatch, a is {av.shape} and w is {(N, K)}")
        if a_scale is not None:
            with np.errstate(over="ignore", invalid="ignore"):  # counted in overflows
                out32 = (out32 * a_scale[:, None]).astype(np.float32)
        M = av.shape[0]
        c = ActionCounts()
        c.add(key_mul[0], M * N * K, key_mul[1])
        c.add(key_acc[0], M * N * K, key_acc[1])
        c.add("fmul", M * N * G + (0 if a_scale is None else M * N), 32)
        c.add("fadd", M * N * G, 32)
        ovf = fp32_overflows(out32)
        return PEResult(out32.astype(np.float64), c, M * N * K, None, ovf, {"exp_bits": ebits})


def pow2_exponents(values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(exponent p, sign) of values that are all +-2**p; zero-free, else a one-line error."""
    v = np.asarray(values, np.float64)
    if np.any(v == 0) or not np.all(np.isfinite(v)):
        raise HwsimError(f"denseshift: weight format {name} has zero or non-finite values")
    m, e = np.frexp(np.abs(v))
    if np.any(m != 0.5):
        raise HwsimError(f"denseshift: weight format {name} has values that are not +-2**p")
    return (e - 1).astype(np.int64), np.sign(v).astype(np.int64)


def _fp32_exact_products(av: np.ndarray, wv: np.ndarray) -> bool:
    # FP16 values times 2**p stay exact in fp32 while the result is a normal fp32 number
    # (or zero): 11 significant bits fit in 24.
    amax = float(np.abs(av).max(initial=0))
    nz = np.abs(av[av != 0])
    amin = float(nz.min()) if nz.size else 1.0
    wmax, wmin = float(np.abs(wv).max(initial=1)), float(np.abs(wv).min(initial=1))
    return amax * wmax < 2.0**127 and (amin * wmin >= 2.0**-126 or amax == 0)


# --- scalar references (Python ints / Fractions, RN32 by hwsim.pe.accumulators) -------------
def _rn32(x) -> Fraction:
    return Fraction(round_fraction(Fraction(x), float_spec("fp32"), False)[0])


def _activations_ref(a, who):
    if is_float_input(a):
        return [[Fraction(float(x)) for x in row] for row in fp16_activations(a, who)], None
    av, _, scale = int_activations(a, who)
    return [[int(x) for x in row] for row in av], [Fraction(float(s)) for s in scale]


def shift_add_reference(a, w, kind: str) -> np.ndarray:
    """Reference of `mixpe` or `denseshift` (kind), output by output, group by group."""
    op = read_operand(w, kind)
    rows, a_scale = _activations_ref(a, kind)
    fp = a_scale is None
    N, K = op.values.shape
    gs = op.group_size
    out = np.zeros((len(rows), N))
    for m, row in enumerate(rows):
        for n in range(N):
            acc = Fraction(0)
            for g in range(K // gs):
                ks = range(g * gs, (g + 1) * gs)
                z = 0 if op.zero_points is None else int(op.zero_points[n, g])
                wq = [Fraction(float(op.values[n, k])) for k in ks]
                xs = [row[k] for k in ks]
                if fp:
                    s_qa = s_a = Fraction(0)
                    for x, y in zip(xs, wq, strict=True):
                        s_qa = _rn32(s_qa + x * y)
                        s_a = _rn32(s_a + x)
                    part = _rn32(s_qa - _rn32(z * s_a)) if z else s_qa
                else:
                    part = sum(x * y for x, y in zip(xs, wq, strict=True)) - z * sum(xs)
                d = _rn32(_rn32(part) * _rn32(float(op.scales[n, g])))
                acc = _rn32(acc + d)
            out[m, n] = float(acc if fp else _rn32(acc * a_scale[m]))
    return out
