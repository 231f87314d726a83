"""Outlier decomposition (LLM.int8() style): one GEMM split along K into a dense low-bit part
and a sparse high-precision part.

LLM.int8() (Dettmers et al., "LLM.int8(): 8-bit Matrix Multiplication for Transformers at
Scale", NeurIPS 2022, arXiv 2208.07339) computes the hidden-state columns holding an outlier
(|x| >= 6.0) and the matching weight rows in FP16 and everything else in INT8, then adds the
two results. A recipe rule asks for it with

    outliers:
      threshold: 6.0        # activation columns whose max |x| reaches it (needs real tensors)
      fraction: 0.001       # else the ceil(fraction x K) columns of largest max |x| (shapes
                            #   only: that many columns, whichever they are)
      unit: fp16_outliers   # compute unit of the sparse part (default: the arch's routes)
      weights: {format: float16}
      activations: {format: float16}

With real tensors the columns are chosen from the op's activations (threshold first, else the
top fraction); without, `fraction` gives their count. The sparse part is the op named
`NAME[outliers]` with K = the outlier columns; it also reads their column indices
(ceil(log2 K) bits each), which the simulator counts as input traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import ceil, log2

import numpy as np

from hwsim.errors import HwsimError

SUFFIX = "[outliers]"


@dataclass(frozen=True)
class Outliers:
    """How a rule splits its ops: which K columns go to the sparse part, at which specs."""

    threshold: float | None = None
    fraction: float | None = None
    unit: str | None = None
    specs: dict = field(default_factory=dict)  # part -> QuantSpec | None, like a rule's

    def columns(self, op) -> np.ndarray | int:
        """The sparse part's K columns: indices (real tensors) or a count (shapes only)."""
        if op.inputs is None:
            if self.fraction is None:
                raise HwsimError(
                    f"op {op.name!r}: outliers.threshold needs the op's real activations; "
                    "expected outliers.fraction for a shapes-only op"
                )
            return min(op.K, ceil(self.fraction * op.K))
        peak = np.abs(np.asarray(op.inputs, dtype=np.float64)).reshape(-1, op.K).max(axis=0)
        if self.threshold is not None:
            return np.flatnonzero(peak >= self.threshold)
        k = min(op.K, ceil(self.fraction * op.K))
        return np.sort(np.argsort(-peak, kind="stable")[:k])


def index_bytes(k: int, K: int) -> int:
    """Bytes of k column indices into K columns."""
    return ceil(k * max(1, ceil(log2(K))) / 8) if k else 0


def split(op, outliers: Outliers):
    """(dense op, sparse op or None): `op` split along K at the outlier columns."""
    cols = outliers.columns(op)
    k = cols if isinstance(cols, int) else len(cols)
    if k == 0:
        return op, None
    if isinstance(cols, int):
        dense, sparse = replace(op, K=op.K - k), replace(op, name=op.name + SUFFIX, K=k)
    else:
        keep = np.setdiff1d(np.arange(op.K), cols)
        dense = replace(op, K=op.K - k, inputs=op.inputs[..., keep], weights=op.weights[..., keep])
        sparse = replace(
            op,
            name=op.name + SUFFIX,
            K=k,
            inputs=op.inputs[..., cols],
            weights=op.weights[..., cols],
        )
    return (dense if dense.K else None), sparse


def parse(where: str, raw, spec_parts) -> Outliers:
    """An `outliers:` mapping of a recipe rule (spec_parts parses its weights/activations)."""
    if not isinstance(raw, dict):
        raise HwsimError(f"{where}: expected a mapping with threshold: and/or fraction:")
    known = ("threshold", "fraction", "unit", "weights", "activations")
    for key in raw:
        if key not in known:
            raise HwsimError(f"{where}.{key}: unknown key; expected one of {', '.join(known)}")
    threshold, fraction = raw.get("threshold"), raw.get("fraction")
    if threshold is None and fraction is None:
        raise HwsimError(f"{where}: expected threshold: or fraction:")
    for name, v, ok in (
        ("threshold", threshold, lambda x: x > 0),
        ("fraction", fraction, lambda x: 0 < x <= 1),
    ):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not ok(v)):
            bound = "> 0" if name == "threshold" else "in (0, 1]"
            raise HwsimError(f"{where}.{name}: expected a number {bound}, got {v!r}")
    unit = raw.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise HwsimError(f"{where}.unit: expected a compute unit name, got {unit!r}")
    specs = spec_parts(where, {k: raw[k] for k in ("weights", "activations") if k in raw})
    return Outliers(threshold, fraction, unit, specs)
