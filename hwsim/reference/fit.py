"""Fit hwsim's truncating-alignment accumulator to GEMM outputs a device produced.

A tensor-core FP8 GEMM (H100 `_scaled_mm`) accumulates as hwsim's `trunc_align` model
describes (hwsim.pe.accumulators): per `chunk` products plus the running partial, terms
aligned to the largest exponent and truncated to `mantissa_bits` fraction bits, summed
without normalisation, the chunk result truncated to fp32, and every `promote_every`
products the partial added into an fp32 register with RNE (0 = never). `fit_trunc_align`
tries every candidate of a grid on the same operands, compares each model output with the
observed one (fp32 ULPs), and ranks candidates: fewest mismatching outputs, then smallest
max ULP distance, then the fewest mantissa bits (the simplest hardware that explains the
data). Two baselines ride along: `exact` (Kulisch sum rounded once to fp32) and
`fp32_seq` (RNE fp32 after every addition).

Operands are the decoded element values (float64 holding fp8 values), unscaled: fit the
accumulator on unit-scale outputs, then check the scale epilogue separately.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hwsim.errors import HwsimError
from hwsim.pe.accumulator_spec import Accumulator
from hwsim.pe.accumulators import accumulate_gemm
from hwsim.reference.compare import compare

DEFAULT_MANTISSA_BITS = tuple(range(10, 27))
DEFAULT_CHUNKS = (4, 8, 16, 32)
DEFAULT_PROMOTE = (0, 32, 64, 128)  # 128: DeepSeek-V3; 32: one FP8 WGMMA k-step


@dataclass(frozen=True)
class FitResult:
    """Best candidate and the whole ranked table (one dict per candidate)."""

    best: dict
    table: list[dict] = field(default_factory=list)

    @property
    def bit_exact(self) -> bool:
        return bool(self.best["bit_exact"])


def trunc_align_model(a, w, mantissa_bits: int, chunk: int, promote_every: int) -> np.ndarray:
    """Model output of a @ w.T (fp32 values as float64) for one parameter set."""
    acc = Accumulator(
        "trunc_align", mantissa_bits=mantissa_bits, chunk=chunk, promote_every=promote_every
    )
    out, _ = accumulate_gemm(np.asarray(a, np.float64), np.asarray(w, np.float64), acc)
    return out


def _baseline(a, w, kind: str) -> np.ndarray:
    acc = Accumulator("kulisch", format="fp32") if kind == "exact" else Accumulator("float")
    out, _ = accumulate_gemm(np.asarray(a, np.float64), np.asarray(w, np.float64), acc)
    return out


def _row(model: str, params: dict, observed, predicted) -> dict:
    c = compare(observed, predicted, "float32")
    return {
        "model": model,
        **params,
        "bit_exact": c.bit_exact,
        "mismatches": c.mismatches,
        "max_ulp": c.max_ulp,
        "max_rel_err": c.max_rel_err,
    }


def fit_trunc_align(
    a,
    w,
    observed,
    mantissa_bits=DEFAULT_MANTISSA_BITS,
    chunks=DEFAULT_CHUNKS,
    promote_every=DEFAULT_PROMOTE,
) -> FitResult:
    """Grid-fit (mantissa_bits, chunk, promote_every) so that the model reproduces `observed`."""
    a, w = np.asarray(a, np.float64), np.asarray(w, np.float64)
    observed = np.asarray(observed, np.float64)
    if a.ndim != 2 or w.ndim != 2 or a.shape[1] != w.shape[1]:
        raise HwsimError(f"fit: expected a [M, K] and w [N, K], got {a.shape} and {w.shape}")
    if observed.shape != (a.shape[0], w.shape[0]):
        raise HwsimError(
            f"fit: observed has shape {observed.shape}, expected {(a.shape[0], w.shape[0])}"
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(w))):
        raise HwsimError("fit: operands must be finite")
    rows = []
    for chunk in chunks:
        limit = 51 - math.ceil(math.log2(chunk + 1))
        for p in mantissa_bits:
            if not 1 <= p <= limit:
                continue
            for pe in promote_every:
                params = {"mantissa_bits": p, "chunk": chunk, "promote_every": pe}
                pred = trunc_align_model(a, w, p, chunk, pe)
                rows.append(_row("trunc_align", params, observed, pred))
    if not rows:
        raise HwsimError("fit: the grid has no valid (mantissa_bits, chunk) candidate")
    rows.sort(key=lambda r: (r["mismatches"], r["max_ulp"], r["mantissa_bits"], r["chunk"]))
    table = list(rows)
    for kind in ("exact", "fp32_seq"):
        table.append(_row(kind, {}, observed, _baseline(a, w, kind)))
    return FitResult(best=rows[0], table=table)
