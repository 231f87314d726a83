"""QuantSpec (how to quantize) and QTensor (what hardware stores).

Scale layout: `scales` has the tensor's ndim; along `spec.axis` it has one entry per group
(1 for per-tensor and per-channel... see `QuantSpec.granularity`), along every other axis it
has the tensor's size (or 1 for per-tensor). The real value of element i is
    scales[g(i)] * (decode(codes[i]) - zero_points[g(i)])
where decode is the element format's (or, with a menu, the group's chosen format's) decode.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GRANULARITIES = ("tensor", "channel", "group", "block")
CLIPPINGS = ("absmax", "mse", "percentile")
SCALE_RULES = ("floor", "rceil", "ceil", "even")  # MX shared-exponent rules


@dataclass(frozen=True)
class QuantSpec:
    """How a float tensor becomes codes + scales.

    format:      element format name, or a tuple of names (a menu: each group takes the one
                 with least MSE, BitMoD / ANT style)
    granularity: tensor | channel (one scale per slice across `axis`) | group (group_size
                 consecutive elements along `axis`) | block (MX/BFP blocks along `axis`)
    scale_format: fp32 | fp16 | bf16 | e8m0 | pow2 | intN (N-bit unsigned integer scale with a
                 second-level fp32 scale per tensor, as BitMoD's 8-bit group scales)
    """

    format: str | tuple[str, ...] = "int8"
    granularity: str = "tensor"
    group_size: int | None = None
    axis: int = -1
    scale_format: str = "fp32"
    symmetric: bool = True
    clipping: str = "absmax"
    percentile: float = 99.99
    rounding: str = "rne"
    scale_rule: str = "floor"  # MX / e8m0 scales only
    pad: str = "error"  # error | zero: what to do when group_size does not divide the axis

    @property
    def menu(self) -> tuple[str, ...]:
        return self.format if isinstance(self.format, tuple) else (self.format,)


@dataclass(frozen=True, eq=False)
class QTensor:
    """Integer codes plus scales, the way hardware stores a quantized tensor."""

    codes: np.ndarray  # unsigned bit patterns, the tensor's shape
    scales: np.ndarray  # float64, grouped layout (see module doc)
    zero_points: np.ndarray | None  # same layout as scales, in code-value units; None = 0
    spec: QuantSpec
    format_ids: np.ndarray | None = None  # per group index into spec.menu (menus only)
    scale_codes: np.ndarray | None = None  # integer / e8m0 scale codes as stored, if any
    meta: dict = field(default_factory=dict)  # e.g. second-level scale, OliVe outlier mask

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape
