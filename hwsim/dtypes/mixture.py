"""Per-group datatype selection from a menu (BitMoD's mixture, ANT's per-tensor type).

`spec.format` is a tuple of format names. Every candidate quantizes every group under the
same spec (scale rule, clipping, rounding); each group keeps the candidate with the least
squared error (`menu_select='group'`, BitMoD: per group of 128 weights, scale = amax /
max|codebook|), or the whole tensor keeps the candidate with the least total squared error
(`menu_select='tensor'`, ANT). Ties between datatypes go to the lowest menu index. The choice
is recorded in `QTensor.format_ids` (scale layout, uint8 index into the menu).
`QuantSpec.bits_per_weight` caps the mean element bits of the choice (hwsim.dtypes.menu_budget):
least total squared error within the budget, so an int2/int4 menu mixes.

With an intN scale format the second-level scale is shared by all groups whatever their
datatype: selection runs with fp32 scales, then the chosen groups' scales are quantized to
N-bit codes with one common fp32 second-level scale and the groups re-encoded.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hwsim.dtypes.menu_budget import choose_budgeted, menu_bits
from hwsim.dtypes.qtensor import GroupLayout, QTensor, QuantSpec
from hwsim.dtypes.quantize import (
    decode_groups,
    encode_groups,
    finite_or_zero,
    group_ranges,
    quantize_groups,
    raw_scales,
    zero_points,
)
from hwsim.dtypes.registry import format as get_format
from hwsim.dtypes.scales import round_scales
from hwsim.errors import HwsimError


def group_sse(G, codes, scales, zp, fmt) -> np.ndarray:
    """Squared error per row (non-finite inputs left out)."""
    err = finite_or_zero(decode_groups(codes, scales, zp, fmt)) - finite_or_zero(G)
    with np.errstate(over="ignore"):  # an error beyond float64 is inf: never the best choice
        return np.sum(np.square(err), axis=1)


def choose(sse: np.ndarray, spec: QuantSpec) -> np.ndarray:
    """Index of the chosen candidate per row from sse (n_candidates, n_rows); lowest wins ties.
    With `spec.bits_per_weight` only choices within that mean element-bit budget count."""
    budget = spec.bits_per_weight
    if spec.menu_select == "tensor":
        totals = sse.sum(axis=1)
        if budget is not None:  # one format for the whole tensor: the best that fits
            totals = np.where(menu_bits(spec.menu) <= budget, totals, np.inf)
        return np.full(sse.shape[1], int(np.argmin(totals)), dtype=np.uint8)
    if budget is not None:
        return choose_budgeted(sse, menu_bits(spec.menu), budget)
    return np.argmin(sse, axis=0).astype(np.uint8)


def quantize_menu(x, spec: QuantSpec, rng: np.random.Generator | None = None) -> QTensor:
    """Quantize with a menu of element formats, one chosen per group (or per tensor)."""
    fmts = [get_format(name) for name in spec.menu]
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise HwsimError(f"quantize: expected a real-valued array, got dtype {x.dtype}")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    layout = GroupLayout.of(x.shape, spec)
    G = layout.to_groups(x)
    int_scales = spec.scale_format.startswith("int")
    cand_spec = replace(spec, scale_format="fp32") if int_scales else spec

    results = [quantize_groups(G, f, cand_spec, rng) for f in fmts]
    sse = np.stack([group_sse(G, r[0], r[1], r[2], f) for r, f in zip(results, fmts)])
    ids = choose(sse, spec)

    code_dtype = np.result_type(*[r[0].dtype for r in results])
    codes = np.zeros(G.shape, dtype=code_dtype)
    scales = np.empty(G.shape[0], dtype=np.float64)
    zp = None if spec.symmetric else np.empty(G.shape[0], dtype=np.float64)
    scodes = None
    meta: dict = {"group_sse": sse}
    if int_scales:
        codes, scales, zp, scodes, meta2 = _shared_int_scales(G, ids, fmts, results, spec, rng)
        meta.update(meta2)
    else:
        for k, (c, s, z, sc, _) in enumerate(results):
            rows = ids == k
            codes[rows], scales[rows] = c[rows], s[rows]
            if zp is not None:
                zp[rows] = z[rows]
            if sc is not None:
                scodes = np.zeros(G.shape[0], dtype=sc.dtype) if scodes is None else scodes
                scodes[rows] = sc[rows]
    return QTensor(
        codes=layout.from_groups(codes),
        scales=layout.to_layout(scales),
        zero_points=None if zp is None else layout.to_layout(zp),
        spec=spec,
        format_ids=layout.to_layout(ids),
        scale_codes=None if scodes is None else layout.to_layout(scodes),
        meta=meta,
    )


def _shared_int_scales(G, ids, fmts, results, spec: QuantSpec, rng):
    """Quantize the chosen groups' scales to intN codes with one second-level scale."""
    lo, hi = group_ranges(G, spec)
    ratio = np.ones(G.shape[0])
    raw = np.empty(G.shape[0])
    for k, (f, res) in enumerate(zip(fmts, results)):
        rows = ids == k
        if "clip_ratios" in res[4]:
            ratio[rows] = res[4]["clip_ratios"][rows]
        raw[rows] = raw_scales(lo[rows] * ratio[rows], hi[rows] * ratio[rows], f, spec)
    scales, scodes, meta = round_scales(raw, np.maximum(hi, -lo) * ratio, fmts[0], spec)
    code_dtype = np.result_type(*[r[0].dtype for r in results])
    codes = np.zeros(G.shape, dtype=code_dtype)
    zp = None if spec.symmetric else np.zeros(G.shape[0])
    for k, f in enumerate(fmts):
        rows = ids == k
        if not np.any(rows):
            continue
        z = zero_points(lo[rows] * ratio[rows], scales[rows], f, spec)
        codes[rows] = encode_groups(G[rows], scales[rows], z, f, spec.rounding, rng)
        if zp is not None:
            zp[rows] = z
    if "clip_ratios" in results[0][4]:
        meta["clip_ratios"] = ratio
    return codes, scales, zp, scodes, meta


def menu_formats(qt: QTensor) -> np.ndarray:
    """Names of the chosen format per group (scale layout), for reports."""
    if qt.format_ids is None:
        return np.full(qt.scales.shape, qt.spec.menu[0], dtype=object)
    return np.asarray(qt.spec.menu, dtype=object)[qt.format_ids]


__all__ = ["choose", "group_sse", "menu_formats", "quantize_menu"]
