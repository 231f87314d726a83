"""OliVe (ISCA'23) outlier-victim pair quantization.

Elements pair as (2i, 2i+1) along `spec.axis`. With q = x / scale in the normal type's units:
- neither |q| reaches the outlier threshold (midway between the normal type's largest
  magnitude and the outlier type's smallest, as OliVe's nearest-over-both-grids kernel
  behaves): both are encoded in the normal type (olive_int4 / olive_flint4);
- one does (the outlier): it is encoded in the outlier type (olive_abfloat4) and its partner,
  the victim, is dropped to 0 and its slot holds the identifier code (the normal type's "-0"
  code, `special_code`);
- both do: the even element is kept as the outlier, the odd one becomes the victim.
Decoding needs only the codes: a slot holding the identifier marks its partner as an outlier.
A normal value never encodes to the identifier (codebooks emit the canonical +0 for zero).

Scales follow spec.granularity / scale_format (symmetric only). Clipping picks which
magnitude t the group's amax maps to: absmax -> the outlier type's largest value; percentile
-> the p-th percentile of |x| maps to the normal type's largest value (values above become
outliers); mse -> least squared error per group over a geometric grid of t from the normal
max to the outlier max (ties keep the earlier, larger t).
"""

from __future__ import annotations

import numpy as np

from hwsim.dtypes.base import Format, as_rounding, real_array, stochastic_draws
from hwsim.dtypes.qtensor import GroupLayout, QTensor, QuantSpec
from hwsim.dtypes.registry import format as get_format
from hwsim.dtypes.scales import format_facts, round_scales
from hwsim.errors import HwsimError

OLIVE_NORMALS = ("olive_int4", "olive_flint4")
OUTLIER_FORMAT = "olive_abfloat4"
MSE_GRID_POINTS = 33


def identifier_code(normal: Format) -> int:
    """The code written into a victim slot: `special_code`, else the sign bit alone (-0)."""
    special = getattr(normal, "special_code", None)
    return int(special) if special is not None else 1 << (normal.bits - 1)


def _max_abs(fmt: Format) -> float:
    lo, hi, _ = format_facts(fmt)
    return float(getattr(fmt, "max_abs", max(hi, -lo)))


def outlier_threshold(normal: Format, outlier: Format) -> float:
    """|q| from which a value is an outlier: the midpoint of the normal max and the smallest
    outlier magnitude, reached inclusively. OliVe's kernel rounds to the nearest value of the
    combined normal + outlier grid (ties to the larger) and calls the result an outlier when
    it lies beyond the normal range; this is that rule as a threshold on |q|."""
    mags = np.abs(outlier.values())
    return (_max_abs(normal) + float(mags[mags > 0].min())) / 2


# --- pair codec ---------------------------------------------------------------------------
def olive_encode_pair_scalar(
    a: float, b: float, normal: Format, outlier: Format, rounding="rne", u=(None, None)
) -> tuple[int, int]:
    """Reference: codes of one (even, odd) pair of values in normal-type units."""
    tau, ident = outlier_threshold(normal, outlier), identifier_code(normal)
    zero = normal.encode_scalar(0.0)
    if abs(a) >= tau:  # even outlier wins, also when both are outliers
        return outlier.encode_scalar(a, rounding, True, u[0]), ident
    if abs(b) >= tau:
        return ident, outlier.encode_scalar(b, rounding, True, u[1])
    ca = normal.encode_scalar(a, rounding, True, u[0])
    cb = normal.encode_scalar(b, rounding, True, u[1])
    return (zero if ca == ident else ca), (zero if cb == ident else cb)


def olive_encode_pairs(q: np.ndarray, normal: Format, outlier: Format, rounding="rne", rng=None):
    """(codes, outlier mask, victim mask) for q whose last axis has even length."""
    q = np.asarray(q, dtype=np.float64)
    mode = as_rounding(rounding)
    draws = stochastic_draws(q.shape, mode, rng)
    tau, ident = outlier_threshold(normal, outlier), identifier_code(normal)
    a, b = q[..., 0::2], q[..., 1::2]
    out_a = np.abs(a) >= tau
    out_b = (np.abs(b) >= tau) & ~out_a
    outliers = np.zeros(q.shape, dtype=bool)
    outliers[..., 0::2], outliers[..., 1::2] = out_a, out_b
    victims = np.zeros(q.shape, dtype=bool)
    victims[..., 0::2], victims[..., 1::2] = out_b, out_a
    normal_q = np.where(outliers | victims, 0.0, q)
    codes = _encode(normal, normal_q, mode, draws).astype(np.uint8)
    codes[codes == ident] = normal.encode(np.zeros(1))[0]
    outlier_q = np.where(outliers, q, _max_abs(outlier))
    codes = np.where(outliers, _encode(outlier, outlier_q, mode, draws), codes)
    codes[victims] = ident
    return codes.astype(normal.code_dtype), outliers, victims


def _encode(fmt: Format, x: np.ndarray, mode, draws) -> np.ndarray:
    if draws is None:
        return fmt.encode(x, rounding=mode.value, saturate=True)
    # replay the same draws: a Generator whose stream is exactly `draws` is not available,
    # so stochastic rounding goes through the scalar reference element by element
    flat = [fmt.encode_scalar(v, mode.value, True, u) for v, u in zip(x.ravel(), draws.ravel())]
    return np.array(flat, dtype=np.int64).reshape(x.shape)


def olive_decode_pairs(codes: np.ndarray, normal: Format, outlier: Format) -> np.ndarray:
    """Values (normal-type units) of codes whose last axis pairs (2i, 2i+1)."""
    codes = np.asarray(codes)
    ident = identifier_code(normal)
    is_id = codes == ident
    partner_id = np.zeros(codes.shape, dtype=bool)
    partner_id[..., 0::2], partner_id[..., 1::2] = is_id[..., 1::2], is_id[..., 0::2]
    vals = normal.decode(codes)
    vals = np.where(partner_id, outlier.decode(codes), vals)
    return np.where(is_id, 0.0, vals)


# --- quantizer ----------------------------------------------------------------------------
def _pairs_view(a: np.ndarray, axis: int) -> np.ndarray:
    """a with `axis` moved last and zero-padded to even length."""
    m = np.moveaxis(a, axis, -1)
    if m.shape[-1] % 2:
        m = np.pad(m, [(0, 0)] * (m.ndim - 1) + [(0, 1)])
    return m


def _check(x: np.ndarray, spec: QuantSpec) -> int:
    if x.ndim == 0:
        raise HwsimError("quantize: OliVe pairs elements along an axis; got a 0-d array")
    if not -x.ndim <= spec.axis < x.ndim:
        raise HwsimError(f"QuantSpec.axis: expected an axis of shape {x.shape}, got {spec.axis}")
    axis = spec.axis % x.ndim
    if spec.granularity in ("group", "block") and spec.group_size and spec.group_size % 2:
        raise HwsimError(
            f"QuantSpec.group_size: OliVe pairs must not straddle groups; expected an even "
            f"group size, got {spec.group_size}"
        )
    if x.shape[axis] % 2 and spec.pad != "zero":
        raise HwsimError(
            f"QuantSpec.axis: OliVe pairs need an even length along axis {spec.axis}, got "
            f"{x.shape[axis]} (shape {x.shape}); set pad='zero' to pad the last pair"
        )
    return axis


def olive_quantize(x, spec: QuantSpec, rng=None, outlier_format: str = OUTLIER_FORMAT) -> QTensor:
    """Quantize with outlier-victim pairs; spec.format is the normal type."""
    x = real_array(x, "quantize").astype(np.float64, copy=False)
    axis = _check(x, spec)
    normal, outlier = get_format(spec.menu[0]), get_format(outlier_format)
    nmax, omax = _max_abs(normal), _max_abs(outlier)
    layout = GroupLayout.of(x.shape, spec)
    G = layout.to_groups(x)
    F = np.where(np.isfinite(G), G, 0.0)
    amax = np.max(np.abs(F), axis=1, initial=0.0)
    if spec.clipping == "percentile" and F.size:
        ref, t = np.percentile(np.abs(F), float(spec.percentile), axis=1), nmax
    else:
        ref, t = amax, omax

    def run(t, rounding, rng_):
        with np.errstate(over="ignore"):  # amax beyond float64 only matters to e8m0: clamped
            amax_t = ref * omax / t
        scales, scodes, meta = round_scales(ref / t, amax_t, outlier, spec)
        S = layout.from_groups(np.broadcast_to(scales[:, None], G.shape))
        q = _pairs_view(x / S, axis)
        return (scales, scodes, meta, *olive_encode_pairs(q, normal, outlier, rounding, rng_))

    if spec.clipping == "mse":
        best_sse, best_t = None, None
        for tk in omax * (nmax / omax) ** (np.arange(MSE_GRID_POINTS) / (MSE_GRID_POINTS - 1)):
            scales, _, _, codes, _, _ = run(float(tk), "rne", None)
            xh = _dequant(codes, scales, layout, axis, normal, outlier, x.shape)
            err = np.where(np.isfinite(x), xh - x, 0.0)
            with np.errstate(over="ignore"):  # inf error: never the best grid point
                sse = np.sum(np.square(layout.to_groups(err)), axis=1)
            if best_sse is None:
                best_sse, best_t = sse, np.full(sse.shape, float(tk))
            else:
                better = sse < best_sse
                best_sse = np.where(better, sse, best_sse)
                best_t = np.where(better, float(tk), best_t)
        t = best_t
    scales, scodes, meta, codes, outl, vict = run(t, spec.rounding, rng)
    n = x.shape[axis]
    if codes.shape[-1] != n:  # the pad slot of a lone last element is stored on the side
        meta = {**meta, "pad_codes": codes[..., -1].copy()}

    def unpair(a):
        return np.moveaxis(a[..., :n], -1, axis)

    outl, vict = unpair(outl), unpair(vict)
    meta = {
        **meta,
        "scheme": "olive",
        "outlier_format": outlier.name,
        "outlier_mask": outl,
        "victim_mask": vict,
        "n_outliers": int(outl.sum()),
        "n_victims": int(vict.sum()),
    }
    if spec.clipping == "mse":
        meta["targets"] = t
    return QTensor(
        codes=unpair(codes),
        scales=layout.to_layout(np.asarray(scales, dtype=np.float64)),
        zero_points=None,
        spec=spec,
        scale_codes=None if scodes is None else layout.to_layout(scodes),
        meta=meta,
    )


def _dequant(paired_codes, scales, layout, axis, normal, outlier, shape) -> np.ndarray:
    vals = olive_decode_pairs(paired_codes, normal, outlier)[..., : shape[axis]]
    vals = np.moveaxis(vals, -1, axis)
    S = layout.from_groups(np.broadcast_to(scales[:, None], (layout.n_groups, layout.group_len)))
    return vals * S


def olive_dequantize(qt: QTensor) -> np.ndarray:
    """float64 values of an OliVe QTensor (decoded from its codes alone)."""
    x_shape = qt.codes.shape
    axis = qt.spec.axis % len(x_shape)
    layout = GroupLayout.of(x_shape, qt.spec)
    normal = get_format(qt.spec.menu[0])
    outlier = get_format(qt.meta.get("outlier_format", OUTLIER_FORMAT))
    codes = _pairs_view(qt.codes, axis)
    if codes.shape[-1] != x_shape[axis]:
        codes[..., -1] = qt.meta["pad_codes"]
    return _dequant(codes, layout.from_layout(qt.scales), layout, axis, normal, outlier, x_shape)
