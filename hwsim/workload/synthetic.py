"""Synthetic weights and activations for cards, with statistics of the real models.

Measured here (hwsim tracer, torch 2.13, fp32) on all-MiniLM-L6-v2 (12-token sentence) and
SmolLM2-135M (Q4_1 GGUF dequantised, 75-token text), per linear layer:
  * attention / FFN-up weights (q, k, v, o, gate, up, fc1): kurtosis 3.2-6 (layer 0 up to 26),
    std x sqrt(K) 0.85-1.9 (MiniLM), 1.1-9.5 (SmolLM2): near-Gaussian.
  * FFN-down weights: MiniLM kurtosis 19, 75, 1585 (layers 5, 3, 0), absmax 23-175 std;
    SmolLM2 3.4-5.7 (after Q4_1): heavy-tailed, a few huge weights in a Gaussian bulk.
  * activations (inputs of every linear): kurtosis 6-2460 (MiniLM) and 8-2216 (SmolLM2);
    the largest channel's RMS is 5-77x the median channel's RMS, and 0-7 channels of 384/576
    exceed 10x (74 of 1536 in SmolLM2's last FFN-down input, whose values reach ~2800).
The generators reproduce those shapes, scale-free (quantizers rescale anyway):
  * Gaussian weights, std `weight_std_sqrt_k / sqrt(K)` (1.5: MiniLM's median);
  * FFN-down weights: the same Gaussian bulk plus a sparse fraction p of +-m-sigma outliers
    (m = 40), p solved exactly so that the kurtosis is `ffn_down_kurtosis` (100 by default,
    between the two models' figures);
  * activations: per-channel scales log-normal(0, 0.4) with `outlier_fraction` (1%) of
    channels scaled 20-300x (log-uniform: the outlier-channel range the LLM-quantization
    literature reports; our measured RMS ratios reach 77 and single values far more);
    FFN-down inputs draw Student-t(4) values (kurtosis > 3 even without outliers);
  * attention: Q, K, V Gaussian with channel scales; AV's P is a row softmax of N(0, 2^2)
    logits (rows sum to 1, as real attention probabilities);
  * conv inputs: ReLU'd (half zeros, non-negative), independent per im2col element.
A folded op (repeat > 1) gets one representative instance's tensors.
"""

from __future__ import annotations

import fnmatch
import math
import zlib
from dataclasses import dataclass, replace

import numpy as np

from hwsim.errors import HwsimError
from hwsim.workload.io import expected_shapes
from hwsim.workload.op import Op, Workload

FFN_DOWN = ("*down_proj", "*fc2", "*.output.dense", "*mlp.fc2")
NOT_FFN_DOWN = ("*attention.output.dense",)
MAX_ELEMENTS = 2**28  # 1 GiB of float32 unless the caller names the ops


@dataclass(frozen=True)
class SyntheticStats:
    """Knobs of the generators (defaults calibrated as the module doc says)."""

    weight_std_sqrt_k: float = 1.5
    ffn_down_kurtosis: float = 100.0
    ffn_down_outlier_sigma: float = 40.0
    activation_std: float = 1.0
    channel_spread: float = 0.4  # sigma of log channel scale
    outlier_fraction: float = 0.01
    outlier_range: tuple[float, float] = (20.0, 300.0)
    attention_logit_std: float = 2.0


def role(op: Op) -> str:
    """ffn_down | attention | conv | other: which generator an op's tensors come from."""
    if op.kind in ("attn_qk", "attn_av"):
        return "attention"
    if op.kind == "conv":
        return "conv"
    down = any(fnmatch.fnmatchcase(op.name, p) for p in FFN_DOWN)
    if down and not any(fnmatch.fnmatchcase(op.name, p) for p in NOT_FFN_DOWN):
        return "ffn_down"
    return "other"


def outlier_probability(kurtosis: float, m: float) -> float:
    """p such that N(0,1) mixed with a fraction p of +-m has this kurtosis (exact).

    With s2 = 1 + p(m^2 - 1) and s4 = 3 + p(m^4 - 3), kurtosis = s4 / s2^2; solve the
    quadratic in p, smaller root.
    """
    if kurtosis <= 3:
        return 0.0
    a, b = m * m - 1, m**4 - 3
    qa, qb, qc = kurtosis * a * a, 2 * kurtosis * a - b, kurtosis - 3
    disc = qb * qb - 4 * qa * qc
    if disc < 0:
        raise HwsimError(f"ffn_down_kurtosis: {kurtosis} unreachable with outliers at {m} sigma")
    return (-qb - math.sqrt(disc)) / (2 * qa)


def _op_rng(base: int, name: str) -> np.random.Generator:
    """Each op's generator depends only on the caller's rng and the op's name."""
    return np.random.default_rng([base, zlib.crc32(name.encode())])


def _weights(op: Op, g: np.random.Generator, s: SyntheticStats, shape) -> np.ndarray:
    std = s.weight_std_sqrt_k / math.sqrt(op.K)
    w = g.standard_normal(shape)
    if role(op) == "ffn_down":
        p = outlier_probability(s.ffn_down_kurtosis, s.ffn_down_outlier_sigma)
        mask = g.random(shape) < p
        w[mask] = s.ffn_down_outlier_sigma * np.sign(w[mask] + (w[mask] == 0))
    return (w * std).astype(np.float32)


def _channel_scales(g, k: int, s: SyntheticStats, outliers: bool) -> np.ndarray:
    scales = np.exp(s.channel_spread * g.standard_normal(k))
    if outliers and s.outlier_fraction > 0:
        n = max(1, round(k * s.outlier_fraction))
        idx = g.choice(k, size=n, replace=False)
        lo, hi = np.log(s.outlier_range[0]), np.log(s.outlier_range[1])
        scales[idx] = np.median(scales) * np.exp(g.uniform(lo, hi, size=n))
    return scales * s.activation_std


def _activations(op: Op, g: np.random.Generator, s: SyntheticStats, shape) -> np.ndarray:
    k = shape[-1]
    r = role(op)
    if op.kind == "attn_av":  # P: softmax rows
        logits = s.attention_logit_std * g.standard_normal(shape)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        return (p / p.sum(-1, keepdims=True)).astype(np.float32)
    if r == "ffn_down":
        z = g.standard_t(4, size=shape) / math.sqrt(2.0)  # unit variance
    else:
        z = g.standard_normal(shape)
    x = z * _channel_scales(g, k, s, outliers=op.kind != "attn_qk")
    if r == "conv":
        x = np.maximum(x, 0)
    return x.astype(np.float32)


def _attention_second(op: Op, g, s: SyntheticStats, shape) -> np.ndarray:
    """K (for QK^T, [b, ctx, hd]) or V^T (for AV, [b, hd, ctx]): activations, not weights."""
    if op.kind == "attn_qk":
        return (g.standard_normal(shape) * _channel_scales(g, shape[-1], s, False)).astype(
            np.float32
        )
    v = g.standard_normal(shape) * _channel_scales(g, shape[-2], s, False)[:, None]
    return v.astype(np.float32)


def materialize(
    workload: Workload,
    rng: np.random.Generator,
    ops=None,
    stats: SyntheticStats | None = None,
    max_elements: int = MAX_ELEMENTS,
) -> Workload:
    """The workload with synthetic `inputs` and `weights` on the chosen matrix ops.

    ops: None (every matrix op) or op names / fnmatch patterns / kinds. Ops that already carry
    real tensors keep them. Same rng state and names -> the same tensors, byte for byte,
    whichever other ops are chosen. Refuses (HwsimError) past `max_elements` in total.
    """
    if not isinstance(rng, np.random.Generator):
        raise HwsimError("materialize: rng: expected a numpy.random.Generator")
    s = stats or SyntheticStats()
    patterns = [ops] if isinstance(ops, str) else ops
    chosen = [
        op
        for op in workload.ops
        if op.kind != "vector"
        and (
            patterns is None
            or any(op.kind == p or fnmatch.fnmatchcase(op.name, p) for p in patterns)
        )
    ]
    if patterns is not None and not chosen:
        raise HwsimError(f"materialize: ops: {patterns} match no matrix op of {workload.name}")
    total = sum(op.batch * (op.M + op.N) * op.K for op in chosen)
    if total > max_elements:
        raise HwsimError(
            f"materialize: {workload.name} needs {total:,} elements (> max_elements="
            f"{max_elements:,}); name the ops to generate with ops=[...]"
        )
    base = int(rng.integers(2**63))
    new = {}
    for op in chosen:
        if op.inputs is not None and op.weights is not None:
            continue
        g = _op_rng(base, op.name)
        shapes = expected_shapes(op)
        a = _activations(op, g, s, shapes["inputs"])
        if op.weight_is_activation:
            w = _attention_second(op, g, s, shapes["weights"])
        else:
            w = _weights(op, g, s, shapes["weights"])
        new[op.name] = replace(op, inputs=a, weights=w)
    ops_out = tuple(new.get(op.name, op) for op in workload.ops)
    meta = {**workload.metadata, "synthetic": sorted(new)}
    return Workload(workload.name, ops_out, workload.phase, meta)


def kurtosis(x) -> float:
    """Pearson kurtosis (3 for a Gaussian) of all elements, in float64."""
    x = np.asarray(x, dtype=np.float64).ravel()
    x = x - x.mean()
    return float((x**4).mean() / (x**2).mean() ** 2)
