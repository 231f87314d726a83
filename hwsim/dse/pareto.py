"""Pareto fronts: the points no other point beats on every objective.

`pareto_mask_reference` is the obvious double loop; `pareto_mask` the vectorised one used on
sweeps; tests hold them equal. Objectives are minimised after multiplying by their sign
(+1 minimise, -1 maximise). Points with a NaN objective are never on the front.
"""

from __future__ import annotations

import numpy as np


def _dominates(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def pareto_mask_reference(values, signs) -> list[bool]:
    """Scalar reference: True where no other row dominates the row."""
    rows = [[s * float(v) for v, s in zip(row, signs)] for row in values]
    ok = [not any(np.isnan(v) for v in r) for r in rows]
    out = []
    for i, r in enumerate(rows):
        out.append(ok[i] and not any(ok[j] and _dominates(q, r) for j, q in enumerate(rows)))
    return out


def pareto_mask(values, signs) -> np.ndarray:
    """Vectorised: boolean mask of non-dominated rows of an (n, k) array."""
    v = np.asarray(values, dtype=np.float64) * np.asarray(signs, dtype=np.float64)
    n = v.shape[0]
    valid = ~np.isnan(v).any(axis=1)
    mask = valid.copy()
    cand = v[valid]
    for i in np.flatnonzero(valid):
        le = (cand <= v[i]).all(axis=1)
        lt = (cand < v[i]).any(axis=1)
        if (le & lt).any():
            mask[i] = False
    return mask if n else np.zeros(0, dtype=bool)
