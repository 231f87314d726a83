"""BitMoD PE (HPCA'25): FP16 activations x weight *terms*, one term per cycle.

Datapath, as hwsim models it bit for bit (every rounding point listed):

1. Activations are FP16 (float inputs are rounded to FP16 by RNE; inf/NaN refused).
2. Exponent match: the K axis is cut into chunks of `dp` lanes. Per chunk, E is the largest
   lane exponent (the exponent of the significand LSB, `max(exp_field, 1) - 25`) over the
   non-zero lanes; each lane keeps `sign * floor(|a| * 2**(guard - E))`, an integer of
   11 + guard bits (truncation toward zero: rounding point 1, `align_guard_bits=None`
   keeps lanes exact). The alignment depends on activations only.
3. Weights are decoded to terms (hwsim.pe.terms): radix-4 Booth for integers, LUT +
   leading-one detector for BitMoD FP3/FP4 (ER/EA specials included). Cycle t of a chunk
   feeds lane l its t-th term; AND-and-shift gives `sign * A_l * 2**shift` (exact).
   With `skip_zero_terms` each lane skips its zero terms (Pragmatic-style) and a chunk takes
   `max(non-zero terms over its lanes)` cycles; otherwise every chunk takes T cycles.
4. The dp-input adder tree sums the lane products exactly.
5. The group accumulator (`acc_format`, default e6m15: 6-bit exponent, 15-bit mantissa,
   IEEE-style bias 31, subnormals kept) adds each cycle's tree sum with one RNE rounding
   (rounding point 2); overflow saturates and is counted in `overflows`.
6. Bit-serial dequantization once per group: `out = (out << 1) + (P AND scale_bit)` over
   the N bits of the integer group scale, MSB first. Its register is as wide as the
   accumulator's significand plus N bits (16 + N for e6m15), so P * s is exact.
7. The group results are summed in an fp32 register, group by group, one RNE rounding per
   addition, saturating at the fp32 maximum and counted in `overflows` (rounding point 3).
8. One fp32 multiply by the per-tensor second-level scale `scales / scale_codes` rounded to
   fp32 (rounding point 4), saturating at the fp32 maximum and counted in `overflows`.
   `out` holds these fp32 values (as float64).

`group_acc="exact"` replaces 5 and 7 by exact (Kulisch-style) registers: out =
RN64(RN64(sum_g s_g * sum_k A_k w_k) * s2) in float64. That sum goes through BLAS when a
per-row bound proves float64 exact (all addends are multiples of the row's smallest lane
LSB and the sum of magnitudes stays below 2**53 of them), else through Python integers.
The float mode runs in hwsim.pe.bitmod_fast: activation rows whose every rounding is proven
to be of an exact float64 sum (no saturation, on the accumulator's grid) take a branch-free
kernel vectorised over rows, the others hwsim.pe._kernels_serial.bitmod_float_gemm; both are
numba, parallel over weight rows, every output computed by one thread, so results do not
depend on the path or the threads.

Cycles (PEResult): `tile_cycles[m, n]` is one PE's latency for output (m, n). The
dequantization unit is a second pipeline stage behind the term stage, with a
double-buffered group partial sum: it starts group g when the group's term cycles are done
and it has finished group g - 1, and takes N cycles (N = scale bits) per group partial sum.
While a group's term cycles are >= N (BitMoD: 128 weights / 4 lanes x 2 terms = 64 >= 8)
each dequantization hides under the next group's terms and only the last one is exposed:
the tile takes (term cycles of every chunk) + N, the dequantization drained once per output
tile. Shorter groups make the stage the bottleneck (N per group, plus the first group's
terms). `cycles` is the sum over all outputs: one PE doing the whole call serially; the
simulator divides by the number of PEs. Term cycles depend on weights only (zero
activations are not skipped), so every row m has the same latency per n.
`expected()` counts the same way: cycles_per_mac = max(group term cycles, N) / group size
and PEEstimate.drain_cycles = min(group term cycles, N), so for static terms (no zero-term
skipping) `expected().tile_cycles(K)` equals every `tile_cycles[m, n]` of run().

Counts: `term` non-zero terms processed; `and.{L}` / `shift.{L}` one per non-zero term
(L = 11 + guard lane bits); `add.{B}` dp - 1 per cycle (adder tree, B bits);
`fadd.{acc bits}` one per term cycle (group accumulator); `align.{L}` one per MAC
(exponent-match shifter); `lut.{w bits}` one per MAC (term decoder); `dequant.{N}` one per
group partial sum (N shift-add steps); `fadd.32` per group (output register);
`fmul.32` per output.
"""

from __future__ import annotations

import math
import weakref
from fractions import Fraction

import numpy as np

from hwsim.dtypes.registry import same_format
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module
from hwsim.pe.accumulator_reference import round_fraction
from hwsim.pe.accumulator_spec import float_spec
from hwsim.pe.bitmod_fast import float_gemm
from hwsim.pe.bitmod_lanes import align_lanes, align_scalar, to_fp16
from hwsim.pe.counts import ActionCounts
from hwsim.pe.registry import PEEstimate, PEResult, check_flag, register_pe
from hwsim.pe.terms import (
    Operand,
    read_operand,
    term_plan,
    term_table,
    terms_scalar,
)

# numba kernels load on first use: a shapes-only run never compiles or imports them
KS = lazy_module("hwsim.pe._kernels_serial")

_FP32 = float_spec("fp32")


# --- the PE -------------------------------------------------------------------------------
@register_pe("bitmod")
class BitMoDPE:
    """BitMoD term-serial PE; see the module doc for the datapath and counts."""

    def __init__(
        self,
        dp: int = 4,
        skip_zero_terms: bool = False,
        group_acc: str = "float",
        acc_format: str = "e6m15",
        align_guard_bits: int | None = 4,
    ):
        if not (isinstance(dp, int) and 1 <= dp <= 64):
            raise HwsimError(f"bitmod.dp: expected an integer in [1, 64], got {dp!r}")
        if group_acc not in ("float", "exact"):
            raise HwsimError(f"bitmod.group_acc: expected 'float' or 'exact', got {group_acc!r}")
        if align_guard_bits is not None and not (
            isinstance(align_guard_bits, int) and 0 <= align_guard_bits <= 16
        ):
            raise HwsimError(
                f"bitmod.align_guard_bits: expected None or an integer in [0, 16], "
                f"got {align_guard_bits!r}"
            )
        self.dp = dp
        self.skip_zero_terms = check_flag(skip_zero_terms, "bitmod.skip_zero_terms")
        self.group_acc = group_acc
        self.acc = float_spec(acc_format)
        if self.acc.man_bits > 30:
            raise HwsimError(f"bitmod.acc_format: at most 30 mantissa bits, got {acc_format}")
        self.guard = align_guard_bits

    # -- formats ----------------------------------------------------------------------------
    def check(self, a_format=None, w_format=None) -> None:
        if a_format is not None and not same_format(a_format, "float16"):
            raise HwsimError(f"bitmod: activations must be float16, got {a_format}")
        if w_format is not None:
            for name in w_format if isinstance(w_format, tuple) else (w_format,):
                term_plan(name)  # raises for formats without a term decomposition

    def expected(
        self, a_format=None, w_format=None, group_size=None, scale_bits=None
    ) -> PEEstimate:
        """Shapes-only cycles and counts per MAC, timed as run() times a tile (module doc,
        Cycles): terms per weight are the static term count, or with zero-term skipping the
        mean non-zero terms over the format's codes (codes taken as equally likely). Groups
        of `group_size` weights with `scale_bits`-bit scales (BitMoD: 128 and 8) give the
        dequantization stage's share: per group max(term cycles, scale_bits) cycles, plus
        `drain_cycles` = min(term cycles, scale_bits) once per output tile. Counts are
        run()'s per MAC, with term/AND/shift at the mean non-zero terms over the codes; the
        one fp32 multiply per output (1/K per MAC) is left out, as K is not known here.
        Without a group size or scale bits, BitMoD's own (128, 8) are taken."""
        self.check(a_format, w_format)
        group_size = 128 if group_size is None else group_size
        scale_bits = 8 if scale_bits is None else scale_bits
        for name, v in (("scale_bits", scale_bits), ("group_size", group_size)):
            if not (isinstance(v, int) and v > 0):
                raise HwsimError(f"bitmod.expected: {name} must be an integer > 0, got {v!r}")
        if group_size % self.dp:
            raise HwsimError(f"bitmod: group size {group_size} not a multiple of dp={self.dp}")
        names = w_format if isinstance(w_format, tuple) else (w_format or "bitmod_fp4_er_pos",)
        plans = [term_plan(n) for n in names]
        # run() does AND/shift work for non-zero terms only; cycles hold every term slot
        # unless zero terms are skipped
        nonzero = float(np.mean([np.count_nonzero(term_table(p)[0], 1).mean() for p in plans]))
        terms = nonzero if self.skip_zero_terms else float(max(p.n_terms for p in plans))
        lane = 11 + (self.guard or 0)
        wbits = max(f.bits for f in (p for p in (_fmt(n) for n in names)))
        counts = {
            "term": nonzero,
            f"and.{lane}": nonzero,
            f"shift.{lane}": nonzero,
            f"add.{self._tree_bits(plans)}": terms * (self.dp - 1) / self.dp,
            f"fadd.{self._acc_bits()}": terms / self.dp,
            f"align.{lane}": 1.0,
            f"lut.{wbits}": 1.0,
            f"dequant.{scale_bits}": 1.0 / group_size,  # one per group partial sum
            "fadd.32": 1.0 / group_size,  # the group's add into the output register
        }
        group_terms = terms * group_size / self.dp  # term-stage cycles of one group
        return PEEstimate(
            cycles_per_mac=max(group_terms, scale_bits) / group_size,
            counts_per_mac=counts,
            drain_cycles=min(group_terms, scale_bits),
        )

    def _acc_bits(self) -> int:
        return 1 + self.acc.exp_bits + self.acc.man_bits

    def _tree_bits(self, plans) -> int:
        max_shift = max(int(p.width) for p in plans)
        return 11 + (self.guard or 0) + max_shift + math.ceil(math.log2(self.dp)) + 1

    # -- run --------------------------------------------------------------------------------
    def run(self, a, w) -> PEResult:
        a16 = to_fp16(a, "bitmod")
        op = read_operand(w, "bitmod")
        M, K = a16.shape
        N = op.codes.shape[0]
        if op.codes.shape[1] != K:
            raise HwsimError(f"bitmod: K mismatch, activations {a16.shape} vs weights {w.shape}")
        if op.group_size % self.dp:
            raise HwsimError(f"bitmod: group size {op.group_size} not a multiple of dp={self.dp}")
        if op.scale_codes is None:
            raise HwsimError("bitmod: weights need integer group scales (scale_format='int8')")
        if op.zero_points is not None and np.any(op.zero_points):
            raise HwsimError("bitmod: weights must be symmetric (no zero points)")
        fl = self.group_acc == "float"
        wt = _terms_of(w, op, self.skip_zero_terms, self.dp, fl)
        a_al, lsb = align_lanes(a16, self.dp, self.guard)
        s2 = second_level_scale(op, w.meta)
        chunk_cycles = wt["chunk_cycles"]  # [N, C]
        info = {"term_hist": wt["term_hist"] * M, "terms_per_weight": wt["mean_terms"]}
        if self.group_acc == "float":
            acc = self.acc
            out32, ovf = float_gemm(
                np.ascontiguousarray(np.ldexp(a_al, -wt["frac_bits"])), lsb, wt["frac_bits"],
                np.ascontiguousarray(op.codes), np.ascontiguousarray(op.format_ids),
                wt["coef_tab"], chunk_cycles, np.ascontiguousarray(op.scale_codes),
                op.group_size, self.dp, acc,
            )  # fmt: skip
            out32 += np.float32(0.0)  # -0 -> +0: the reference's exact zero has no sign
            with np.errstate(over="ignore"):  # the fp32 multiply: overflow saturates, counted
                out32 = out32 * np.float32(s2)
            over = np.isinf(out32)
            mx = np.float32(_FP32.max_finite)
            out = np.where(over, np.copysign(mx, out32), out32).astype(np.float64)
            overflows = int(ovf.sum()) + int(np.count_nonzero(over))
        else:
            total, fallback = exact_sum(a_al, lsb, wt["w_eff"], wt["frac_bits"])
            out = total * s2
            info["exact_fallback_rows"] = fallback
            overflows = 0
        tile = tile_latency(chunk_cycles, op.group_size // self.dp, scale_bits(w))
        info["scale_bits"] = scale_bits(w)
        counts = self._counts(M, N, K, op, wt, w)
        tile_cycles = np.broadcast_to(tile, (M, N)).copy()
        return PEResult(out, counts, int(tile.sum()) * M, tile_cycles, overflows, info)

    def _counts(self, M, N, K, op: Operand, wt, w) -> ActionCounts:
        lane = 11 + (self.guard or 0)
        c = ActionCounts()
        nz_terms = int(wt["nnz_total"]) * M
        cyc = int(wt["chunk_cycles"].sum()) * M
        c.add("term", nz_terms)
        c.add("and", nz_terms, lane)
        c.add("shift", nz_terms, lane)
        c.add("add", cyc * (self.dp - 1), self._tree_bits(wt["plans"]))
        c.add("fadd", cyc, self._acc_bits())
        c.add("align", M * N * K, lane)
        c.add("lut", M * N * K, max(f.bits for f in op.formats))
        c.add("dequant", M * N * op.n_groups, scale_bits(w))
        c.add("fadd", M * N * op.n_groups, 32)
        c.add("fmul", M * N, 32)
        return c


def _fmt(name):
    from hwsim.dtypes import format as get_format

    return get_format(name)


def scale_bits(w) -> int:
    sf = w.spec.scale_format
    if not sf.startswith("int"):
        raise HwsimError(f"bitmod: weights need an intN scale_format, got {sf!r}")
    return int(sf[3:])


def second_level_scale(op: Operand, meta: dict | None = None) -> np.ndarray:
    """fp32 second-level scale [1, N]: meta['scale2'] (hwsim.quantize's intN scales), else
    scales / scale_codes per row."""
    if meta and "scale2" in meta:
        s2 = np.float32(meta["scale2"]).astype(np.float64)
        return np.full((1, op.codes.shape[0]), s2)
    codes = op.scale_codes.astype(np.float64)
    ratio = np.where(codes > 0, op.scales / np.where(codes > 0, codes, 1), np.nan)
    s2 = np.nanmax(ratio, axis=1)
    s2 = np.where(np.isnan(s2), 1.0, s2)
    return s2.astype(np.float32).astype(np.float64)[None, :]


# weight_terms per weight QTensor (its identity), kept while it lives: a model run
# (hwsim.eval) quantizes its weights once and runs them on every forward, and their term
# tables never change
_TERMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _terms_of(w, op: Operand, skip: bool, dp: int, float_mode: bool) -> dict:
    per_pe = _TERMS.setdefault(w, {})
    key = (skip, dp, float_mode)
    if key not in per_pe:
        per_pe[key] = weight_terms(op, skip, dp, need_terms=float_mode, need_w_eff=not float_mode)
    return per_pe[key]


def weight_terms(
    op: Operand, skip: bool, dp: int, need_terms: bool = True, need_w_eff: bool = True
) -> dict:
    """Term tables (a LUT per format), term statistics, cycles per chunk [N, C], and the
    effective integer weights w_eff [N, K] (None unless need_w_eff)."""
    plans = [term_plan(f) for f in op.formats]
    T = max(p.n_terms for p in plans)
    frac = max(p.frac_bits for p in plans)
    n_codes = max(p.lut.size for p in plans)
    sg_tab = np.zeros((len(plans), n_codes, T), np.int8)
    sh_tab = np.zeros((len(plans), n_codes, T), np.int8)
    ints_tab = np.zeros((len(plans), n_codes), np.int64)
    for i, p in enumerate(plans):
        s, h = term_table(p)
        if skip:  # stable compaction: each lane's non-zero terms first, in order
            order = np.argsort(s == 0, axis=1, kind="stable")
            s, h = np.take_along_axis(s, order, 1), np.take_along_axis(h, order, 1)
        sg_tab[i, : p.lut.size, : p.n_terms] = s
        sh_tab[i, : p.lut.size, : p.n_terms] = np.where(s != 0, h + (frac - p.frac_bits), 0)
        ints_tab[i, : p.lut.size] = p.lut << (frac - p.frac_bits)
    nnz_tab = np.count_nonzero(sg_tab, axis=2).astype(np.int64)
    scode = op.scale_codes if op.scale_codes is not None else np.ones_like(op.format_ids)
    w_eff, chunk_cycles, hist = KS.bitmod_weight_pass(
        op.codes, op.format_ids, scode, ints_tab, nnz_tab, op.group_size, dp, skip, T, need_w_eff
    )
    nnz_total = int(np.dot(hist, np.arange(T + 1)))
    out = {
        "plans": plans,
        "T": T,
        "w_eff": w_eff if need_w_eff else None,
        "frac_bits": frac,
        "chunk_cycles": chunk_cycles,
        "nnz_total": nnz_total,
        "term_hist": hist,
        "mean_terms": nnz_total / op.codes.size if op.codes.size else 0.0,
    }
    if need_terms:  # sign * 2**shift per (format, code, term), for the float-mode kernel
        out["coef_tab"] = np.ldexp(sg_tab.astype(np.float64), sh_tab.astype(np.int64))
    return out


def tile_latency(chunk_cycles: np.ndarray, chunks_per_group: int, n_scale_bits: int) -> np.ndarray:
    """Latency per output column [N]: term stage per group, then a dequantization stage of
    n_scale_bits cycles that starts when the group's terms and the previous group's
    dequantization are both done (two-stage pipeline with a double-buffered partial sum)."""
    N, C = chunk_cycles.shape
    per_group = chunk_cycles.reshape(N, C // chunks_per_group, chunks_per_group).sum(axis=2)
    terms_done = np.cumsum(per_group, axis=1)
    deq_done = np.zeros(N, np.int64)
    for g in range(per_group.shape[1]):
        deq_done = np.maximum(terms_done[:, g], deq_done) + n_scale_bits
    return deq_done


def exact_sum(a_al: np.ndarray, lsb: np.ndarray, w_eff: np.ndarray, frac_bits: int):
    """RN64 of the exact a_al @ w_eff.T * 2**-frac_bits; (out [M, N], rows not through BLAS).

    Row m's addends are multiples of 2**min(lsb[m]); when the sum of magnitudes, counted in
    those units, stays below 2**53 every partial sum BLAS forms is exact.
    """
    w = np.asarray(w_eff, np.float64)  # integers below 2**53, exact
    wmax = max(float(w.max()), -float(w.min())) if w.size else 0.0
    row_lsb = lsb.min(axis=1)
    mag = np.abs(a_al).sum(axis=1)
    units = np.ldexp(mag, -row_lsb.astype(np.int64)) * wmax
    ok = units < 2.0**52  # a margin for the rounding of this bound itself
    out = np.empty((a_al.shape[0], w.shape[0]), np.float64)
    if np.all(ok):
        out[:] = a_al @ w.T
    elif np.any(ok):
        out[ok] = a_al[ok] @ w.T
    bad = np.flatnonzero(~ok)
    if bad.size:
        w_obj = w.astype(np.int64).astype(object)
        for m in bad:
            e = int(row_lsb[m])
            ints = [int(v) for v in np.ldexp(a_al[m], -e).astype(np.float64)]
            sums = np.array(ints, dtype=object) @ w_obj.T
            out[m] = [_ldexp_exact_int(int(s), e) for s in sums]
    return np.ldexp(out, -frac_bits), int(bad.size)


def _ldexp_exact_int(n: int, e: int) -> float:
    """RN64 of n * 2**e for a Python int n (one rounding)."""
    return float(Fraction(n) * Fraction(2) ** e)


# --- scalar reference ---------------------------------------------------------------------
def bitmod_reference(a, w, pe: BitMoDPE) -> tuple[np.ndarray, int]:
    """Pure-Python model of the same datapath (Fractions, terms_scalar); (out, overflows)."""
    a16 = to_fp16(a, "bitmod")
    op = read_operand(w, "bitmod")
    M, K = a16.shape
    N, dp, gs = op.codes.shape[0], pe.dp, op.group_size
    plans = [term_plan(f) for f in op.formats]
    T = max(p.n_terms for p in plans)
    s2 = second_level_scale(op, w.meta)[0]
    out = np.zeros((M, N))
    overflows = 0
    for m in range(M):
        al = []
        for c in range(K // dp):
            al += align_scalar([float(x) for x in a16[m, c * dp : (c + 1) * dp]], pe.guard)
        for n in range(N):
            total = Fraction(0)
            for g in range(K // gs):
                plan = plans[int(op.format_ids[n, g])]
                unit = Fraction(1, 2**plan.frac_bits)
                acc = Fraction(0)
                for c in range(g * gs // dp, (g + 1) * gs // dp):
                    lanes = []
                    for k in range(c * dp, (c + 1) * dp):
                        ts = terms_scalar(int(plan.lut[op.codes[n, k]]), plan)
                        ts = [t for t in ts if t[0]] if pe.skip_zero_terms else ts
                        lanes.append((al[k], ts))
                    cycles = max(len(ts) for _, ts in lanes) if pe.skip_zero_terms else T
                    for t in range(cycles):
                        s = sum(
                            (x * ts[t][0] * 2 ** ts[t][1] * unit for x, ts in lanes if t < len(ts)),
                            Fraction(0),
                        )
                        if pe.group_acc == "exact":
                            acc += s
                        elif s:
                            v, o = round_fraction(acc + s, pe.acc, True)
                            acc, overflows = Fraction(v), overflows + o
                d = acc * int(op.scale_codes[n, g])
                if pe.group_acc == "exact":
                    total += d
                else:
                    v, o = round_fraction(total + d, _FP32, True)
                    total, overflows = Fraction(v), overflows + o
            if pe.group_acc == "exact":
                out[m, n] = float(total) * s2[n]
            else:
                v, o = round_fraction(total * Fraction(float(s2[n])), _FP32, True)
                out[m, n], overflows = v, overflows + o
    return out, overflows
