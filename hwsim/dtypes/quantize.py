"""Quantizers: float tensor + QuantSpec -> QTensor (codes + scales), and back.

Per group (see `GroupLayout`): pick a range (absmax, percentile, or the clip ratio with least
MSE), derive the scale, round it to the scale format, then encode x / scale (+ zero point)
with the element format, saturating at its extremes. Inputs are taken as float64 (float32 ->
float64 is exact); x / scale is computed in float64 and rounded once by the element format.

Scale conventions:
- symmetric: scale = amax / qmax, with qmax = the format's largest value for integer grids
  (int8 -> 127, its -128 unused) and max|value| otherwise (BitMoD's max|codebook|).
- asymmetric: the range [min(x, 0), max(x, 0)] maps onto [qmin, qmax] of the format;
  integer grids get integer zero points (round half even, clamped to [qmin, qmax]).
- scale formats: fp32 / fp16 / bf16 (RNE from float64, saturating at the format's max),
  e8m0 (MX shared exponent by `spec.scale_rule`, codes = exponent + 127), pow2 (the smallest
  power of two >= the scale; codes = the exponent), intN (N-bit unsigned codes times one fp32
  second-level scale per tensor in meta['scale2']: max group scale / (2^N - 1), codes
  rounded half even and at least 1 for a non-zero group).
- an all-zero group gets scale 1 (e8m0: 2^-127, as MX) and all-zero codes; with e8m0 a group
  holding NaN/inf gets the NaN scale code 0xFF and decodes to NaN (MX semantics).
Non-finite inputs go to the element format as they are (its NaN/inf semantics apply); they
are left out of the range statistics.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hwsim.dtypes.base import Format, real_array
from hwsim.dtypes.block import BlockFormat
from hwsim.dtypes.integer import IntFormat
from hwsim.dtypes.qtensor import GroupLayout, QTensor, QuantSpec
from hwsim.dtypes.registry import format as get_format
from hwsim.dtypes.scales import e8m0_saturated, format_facts, round_scales, symmetric_qmax
from hwsim.errors import HwsimError
from hwsim.lazy import lazy_module

# numba kernels load on first use: a shapes-only run never compiles or imports them
KQ = lazy_module("hwsim.dtypes._quantize_kernels")

# MSE clipping search: amax * r for r = 1.00, 0.98, ..., 0.50; ties keep the larger ratio.
MSE_CLIP_RATIOS = tuple(round(1.0 - 0.02 * k, 2) for k in range(26))


# --- ranges -------------------------------------------------------------------------------
def finite_or_zero(G: np.ndarray) -> np.ndarray:
    """G with NaN and +-inf replaced by 0 (range statistics and MSE leave them out)."""
    return G if np.all(np.isfinite(G)) else np.where(np.isfinite(G), G, 0.0)


def group_ranges(G: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) per row before clip search: lo <= 0 <= hi (symmetric: lo = -hi)."""
    if G.shape[1] == 0:  # an empty tensor: nothing to range over
        return np.zeros(G.shape[0]), np.zeros(G.shape[0])
    if spec.clipping == "percentile":
        p = float(spec.percentile)
        F = finite_or_zero(G)
        if spec.symmetric:
            hi = np.percentile(np.abs(F), p, axis=1)
            return -hi, hi
        lo = np.percentile(F, 100 - p, axis=1)
        hi = np.percentile(F, p, axis=1)
    else:
        if spec.symmetric:
            hi = np.max(np.abs(G), axis=1)
            if not np.all(np.isfinite(hi)):
                hi = np.max(np.abs(finite_or_zero(G)), axis=1)
            return -hi, hi.astype(np.float64)
        lo, hi = np.min(G, axis=1), np.max(G, axis=1)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            F = finite_or_zero(G)
            lo, hi = np.min(F, axis=1), np.max(F, axis=1)
    return np.minimum(lo, 0.0).astype(np.float64), np.maximum(hi, 0.0).astype(np.float64)


# --- quantize one candidate ---------------------------------------------------------------
def raw_scales(lo, hi, fmt: Format, spec: QuantSpec) -> np.ndarray:
    """Unrounded float64 scale per row for the range [lo, hi]."""
    if spec.symmetric:
        return hi / symmetric_qmax(fmt)
    qlo, qhi, _ = format_facts(fmt)
    return (hi - lo) / (qhi - qlo)


def zero_points(lo, scales, fmt: Format, spec: QuantSpec):
    """Zero points in code-value units (None when symmetric): lo maps onto the format's qmin."""
    if spec.symmetric:
        return None
    qlo, qhi, is_int = format_facts(fmt)
    zp = qlo - lo / scales
    return np.clip(np.rint(zp), qlo, qhi) if is_int else zp


def _scales_and_zero_points(lo, hi, fmt: Format, spec: QuantSpec):
    amax = np.maximum(hi, -lo)
    scales, codes, meta = round_scales(raw_scales(lo, hi, fmt, spec), amax, fmt, spec)
    return scales, codes, meta, zero_points(lo, scales, fmt, spec)


def encode_groups(G, scales, zp, fmt: Format, rounding, rng) -> np.ndarray:
    """Codes of the rows of G under per-row scales / zero points (saturating)."""
    qlo, qhi, _ = format_facts(fmt)
    q = G / scales[:, None]
    if zp is not None:
        q = q + zp[:, None]
    q = np.clip(q, qlo, qhi)  # saturate (NaN passes through to the format)
    return fmt.encode(q, rounding=rounding, saturate=True, rng=rng)


def decode_groups(C, scales, zp, fmt: Format) -> np.ndarray:
    # a block format's codes here are element codes; its scales are already in `scales`
    v = fmt.values()[C] if isinstance(fmt, BlockFormat) else fmt.decode(C)
    if zp is not None:
        v = v - zp[:, None]
    return v * scales[:, None]


def _fast_path(G, fmt: Format, spec: QuantSpec):
    """(codes, scales, meta) from the fused kernel where it applies, else None."""
    applies = (
        isinstance(fmt, IntFormat)
        and fmt.bits <= 16
        and spec.symmetric
        and spec.clipping == "absmax"
        and spec.scale_format == "fp32"
        and spec.rounding == "rne"
        and G.dtype in (np.float32, np.float64)
        and G.shape[1] > 0
    )
    if not applies:
        return None
    lo, hi, _ = format_facts(fmt)
    G = np.ascontiguousarray(G)
    codes = np.empty(G.shape, dtype=fmt.code_dtype)
    scales = np.empty(G.shape[0], dtype=np.float64)
    mask = (1 << fmt.bits) - 1
    saturated = KQ.int_absmax_fp32_kernel(G, symmetric_qmax(fmt), lo, hi, mask, codes, scales)
    if saturated < 0:
        return None
    return codes, scales, {"scale_saturated": saturated}


def quantize_groups(G, fmt: Format, spec: QuantSpec, rng, fast: bool = True):
    """(codes, scales, zero points or None, scale codes, meta) for the rows of G.

    `fast` takes the fused numba kernel for symmetric absmax fp32-scaled integer formats
    (tested equal to the generic numpy path, which `fast=False` forces).

    With e8m0 scales a group holding NaN or +-inf gets the NaN scale code 0xFF (scale NaN)
    and all-zero element codes, as an MX block does: the whole group decodes to NaN.
    """
    if spec.scale_format == "e8m0" and not np.all(np.isfinite(G)):
        bad = ~np.all(np.isfinite(G), axis=1)
        codes, scales, zp, scodes, meta = quantize_groups(
            np.where(bad[:, None], 0.0, G), fmt, spec, rng
        )
        zero_code = fmt.encode(np.zeros(1), rounding="rne", saturate=True)[0]
        codes[bad] = zero_code
        scales = np.where(bad, np.nan, scales)
        scodes = np.where(bad, 0xFF, scodes).astype(np.uint8)
        return codes, scales, zp, scodes, meta
    done = _fast_path(G, fmt, spec) if fast else None
    if done is not None:
        return done[0], done[1], None, None, done[2]
    lo, hi = group_ranges(G, spec)
    if spec.clipping != "mse":
        scales, scodes, meta, zp = _scales_and_zero_points(lo, hi, fmt, spec)
        return encode_groups(G, scales, zp, fmt, spec.rounding, rng), scales, zp, scodes, meta
    best_err, ratios = None, None
    F = finite_or_zero(G)
    for r in MSE_CLIP_RATIOS:
        scales, _, _, zp = _scales_and_zero_points(lo * r, hi * r, fmt, spec)
        # the search rounds to nearest (even), so it needs no rng and is deterministic
        codes = encode_groups(G, scales, zp, fmt, "rne", None)
        with np.errstate(over="ignore"):  # a saturated scale's error is inf: never chosen
            err = np.sum(np.square(finite_or_zero(decode_groups(codes, scales, zp, fmt)) - F), 1)
        if best_err is None:
            best_err, ratios = err, np.full(err.shape, r)
            continue
        better = err < best_err
        best_err = np.where(better, err, best_err)
        ratios = np.where(better, r, ratios)
    # the scales again from the chosen ranges: the same values for per-group scale formats, the
    # right second-level scale for intN (it depends on all groups), and the chosen ones' meta
    scales, scodes, meta, zp = _scales_and_zero_points(lo * ratios, hi * ratios, fmt, spec)
    meta = {**meta, "clip_ratios": ratios}
    return encode_groups(G, scales, zp, fmt, spec.rounding, rng), scales, zp, scodes, meta


# --- public API ---------------------------------------------------------------------------
def quantize(x, spec: QuantSpec, rng: np.random.Generator | None = None) -> QTensor:
    """Quantize a float array: codes (the tensor's shape) plus scales in the grouped layout.

    spec.format a tuple -> per-group datatype selection (see hwsim.dtypes.mixture);
    olive_int4 / olive_flint4 -> outlier-victim pairs (see hwsim.dtypes.olive).
    rounding='stochastic' needs `rng`.
    """
    if not isinstance(spec, QuantSpec):  # QuantSpec checked its own fields when built
        raise HwsimError(f"quantize: expected a QuantSpec, got {type(spec).__name__}")
    x = real_array(x, "quantize")
    if len(spec.menu) > 1:
        from hwsim.dtypes.mixture import quantize_menu

        return quantize_menu(x, spec, rng)
    from hwsim.dtypes.olive import OLIVE_NORMALS, olive_quantize

    if spec.menu[0] in OLIVE_NORMALS:
        return olive_quantize(x, spec, rng)
    fmt = get_format(spec.menu[0])
    if isinstance(fmt, BlockFormat):
        return _quantize_block_format(x, fmt, spec)
    layout = GroupLayout.of(x.shape, spec)
    G = layout.to_groups(x)
    codes, scales, zp, scodes, meta = quantize_groups(G, fmt, spec, rng)
    return QTensor(
        codes=layout.from_groups(codes),
        scales=layout.to_layout(np.asarray(scales, dtype=np.float64)),
        zero_points=None if zp is None else layout.to_layout(np.asarray(zp, np.float64)),
        spec=spec,
        scale_codes=None if scodes is None else layout.to_layout(scodes),
        meta=meta,
    )


def _quantize_block_format(x, fmt: BlockFormat, spec: QuantSpec) -> QTensor:
    """MX / BFP named as the format: the format's own blocks, E8M0 scales and rule."""
    if spec.granularity not in ("tensor", "block") or spec.group_size not in (None, fmt.block):
        raise HwsimError(
            f"QuantSpec: {fmt.name} brings its own blocks of {fmt.block} with E8M0 scales; "
            f"expected granularity 'block' (or the default) and group_size {fmt.block}, got "
            f"{spec.granularity!r} and {spec.group_size}"
        )
    spec = replace(spec, granularity="block", group_size=fmt.block, scale_format="e8m0")
    spec = replace(spec, scale_rule=fmt.scale_rule)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise HwsimError(f"quantize: {fmt.name} needs an array with an axis of blocks")
    moved = np.moveaxis(x, spec.axis, -1)
    scale_codes, elements = fmt.encode_blocks(moved)
    codes = elements.reshape(moved.shape)
    blocks = finite_or_zero(moved.reshape(-1, fmt.block))  # encode_blocks checked the length
    amax = np.max(np.abs(blocks), axis=1, initial=0.0)
    return QTensor(
        codes=np.moveaxis(codes, -1, spec.axis),
        scales=np.moveaxis(fmt.scale_values(scale_codes), -1, spec.axis),
        zero_points=None,
        spec=spec,
        scale_codes=np.moveaxis(scale_codes, -1, spec.axis),
        meta={"scale_saturated": e8m0_saturated(amax, fmt.element_format)},
    )


def checked_layout(qt: QTensor, who: str) -> GroupLayout:
    """The group layout of a (possibly hand-built) QTensor, its array shapes checked."""
    if not isinstance(qt.spec, QuantSpec):
        raise HwsimError(f"{who}: QTensor.spec must be a QuantSpec, got {type(qt.spec).__name__}")
    layout = GroupLayout.of(np.shape(qt.codes), qt.spec)
    want = layout.scale_shape
    if qt.scales is None:
        raise HwsimError(f"{who}: QTensor.scales is None, expected an array of shape {want}")
    for field in ("scales", "zero_points", "format_ids"):
        arr = getattr(qt, field)
        if arr is not None and np.shape(arr) != want:
            raise HwsimError(
                f"{who}: QTensor.{field} has shape {np.shape(arr)}, expected {want} for codes "
                f"{np.shape(qt.codes)} with granularity {qt.spec.granularity!r}"
            )
        if arr is not None and np.asarray(arr).dtype.kind not in "iuf":
            raise HwsimError(
                f"{who}: QTensor.{field}: expected real numbers, got dtype {np.asarray(arr).dtype}"
            )
    return layout


def dequantize(qt: QTensor) -> np.ndarray:
    """float64 values scales * (decode(codes) - zero_points), each group through its format."""
    if not isinstance(qt, QTensor):
        raise HwsimError(f"dequantize: expected a QTensor, got {type(qt).__name__}")
    if qt.meta.get("scheme") == "olive":
        from hwsim.dtypes.olive import olive_dequantize

        return olive_dequantize(qt)
    layout = checked_layout(qt, "dequantize")
    scales = layout.from_layout(qt.scales)
    zp = None if qt.zero_points is None else layout.from_layout(qt.zero_points)
    C = layout.to_groups(qt.codes)
    menu = qt.spec.menu
    if qt.format_ids is None:
        return layout.from_groups(decode_groups(C, scales, zp, get_format(menu[0])))
    ids = layout.from_layout(qt.format_ids)
    out = np.empty(C.shape, dtype=np.float64)
    for k, name in enumerate(menu):
        rows = ids == k
        if np.any(rows):
            z = None if zp is None else zp[rows]
            out[rows] = decode_groups(C[rows], scales[rows], z, get_format(name))
    return layout.from_groups(out)
