"""Pareto fronts: the points no other point beats on every objective.

`pareto_mask_reference` is the obvious double loop; `pareto_mask` the one used on sweeps
(rows in lexicographic order against the front so far); tests hold them equal. Objectives are
minimised after multiplying by their sign (+1 minimise, -1 maximise). Points with a NaN
objective are never on the front.
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
    """Vectorised: boolean mask of non-dominated rows of an (n, k) array.

    Rows are visited in lexicographic order: a row's dominators all sort strictly before it
    (they are <= everywhere and < somewhere, so < at the first place they differ), and a
    dominated row's dominators include a front row (domination is transitive), so each row
    need only be compared with the front found so far, not with every row."""
    v = np.asarray(values, dtype=np.float64) * np.asarray(signs, dtype=np.float64)
    mask = np.zeros(len(v), dtype=bool)
    if not len(v):
        return mask
    valid = np.flatnonzero(~np.isnan(v).any(axis=1))
    cand = v[valid]
    order = valid[np.lexsort(cand.T[::-1])]
    front = np.empty_like(v)
    size = 0
    for i in order:
        row = v[i]
        found = front[:size]
        if size and ((found <= row).all(axis=1) & (found < row).any(axis=1)).any():
            continue
        front[size] = row
        size += 1
        mask[i] = True
    return mask
