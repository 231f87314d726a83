"""QuantSpec (how to quantize) and QTensor (what hardware stores).

Scale layout: `scales` has the tensor's ndim; along `spec.axis` it has one entry per group
(1 for per-tensor and per-channel... see `QuantSpec.granularity`), along every other axis it
has the tensor's size (or 1 for per-tensor). The real value of element i is
    scales[g(i)] * (decode(codes[i]) - zero_points[g(i)])
where decode is the element format's (or, with a menu, the group's chosen format's) decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from hwsim.errors import HwsimError

GRANULARITIES = ("tensor", "channel", "group", "block")
CLIPPINGS = ("absmax", "mse", "percentile")
SCALE_RULES = ("floor", "rceil", "ceil", "even")  # MX shared-exponent rules
PADS = ("error", "zero")
MAX_PADDED_ELEMENTS = 2**31  # zero-padding a tensor beyond this is a mistake, not a layout
MENU_SELECTS = ("group", "tensor")


@dataclass(frozen=True)
class QuantSpec:
    """How a float tensor becomes codes + scales.

    format:      element format name (or Format), or a tuple of them (a menu: each group takes
                 the one with least MSE, BitMoD / ANT style)
    granularity: tensor | channel (one scale per slice across `axis`) | group (group_size
                 consecutive elements along `axis`) | block (MX/BFP blocks along `axis`)
    scale_format: fp32 | fp16 | bf16 | e8m0 | pow2 | intN (N-bit unsigned integer scale with a
                 second-level fp32 scale per tensor, as BitMoD's 8-bit group scales)
    menu_select: with a menu, choose the datatype per group (least MSE per group) or once per
                 tensor (least total MSE, ANT style); the scales stay per `granularity`
    bits_per_weight: menus only: a cap on the mean element bits of the chosen formats (codes;
                 scales apart): least total squared error within it (hwsim.dtypes.menu_budget),
                 e.g. 3.0 mixes int2 and int4 groups; None: each group's least-error format
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
    menu_select: str = "group"  # menus only: group (BitMoD, per group) | tensor (ANT, one type)
    bits_per_weight: float | None = None  # menus only: mean element-bit budget of the choice

    def __post_init__(self):
        """Every check that needs no tensor, once, here (the shape ones are GroupLayout's)."""
        from hwsim.dtypes.base import Format, as_rounding
        from hwsim.dtypes.scales import is_scale_format

        if isinstance(self.format, list):  # YAML and JSON give lists: a menu is a tuple
            object.__setattr__(self, "format", tuple(self.format))
        menu = self.menu
        if not menu or not all(isinstance(name, str | Format) for name in menu):
            raise HwsimError(
                f"QuantSpec.format: expected a format name or a non-empty tuple of names, "
                f"got {self.format!r}"
            )
        if len(menu) > 255:  # format_ids are uint8
            raise HwsimError(f"QuantSpec.format: a menu holds at most 255 formats, got {len(menu)}")
        _check_format_names(menu)
        if not self.symmetric and set(menu) & _olive_names():
            raise HwsimError("QuantSpec.symmetric: OliVe quantization is symmetric only")
        _one_of("granularity", self.granularity, GRANULARITIES)
        g = self.group_size
        if g is not None and (isinstance(g, bool) or not isinstance(g, int | np.integer) or g < 1):
            raise HwsimError(f"QuantSpec.group_size: expected an integer > 0, got {g!r}")
        if self.granularity == "group" and g is None:
            raise HwsimError("QuantSpec.group_size: granularity 'group' needs an integer > 0")
        if isinstance(self.axis, bool) or not isinstance(self.axis, int | np.integer):
            raise HwsimError(f"QuantSpec.axis: expected an integer, got {self.axis!r}")
        if not is_scale_format(self.scale_format):
            raise HwsimError(
                "QuantSpec.scale_format: expected fp32, fp16, bf16, e8m0, pow2 or intN "
                f"(N in 1..16), got {self.scale_format!r}"
            )
        if not isinstance(self.symmetric, bool | np.bool_):  # "no" would read as True
            raise HwsimError(f"QuantSpec.symmetric: expected true or false, got {self.symmetric!r}")
        if not self.symmetric and self.scale_format == "e8m0":
            raise HwsimError("QuantSpec.symmetric: e8m0 (MX) scales are symmetric only")
        _one_of("clipping", self.clipping, CLIPPINGS)
        p = self.percentile
        real = isinstance(p, int | float | np.integer | np.floating) and not isinstance(p, bool)
        if not (real and 0 < p <= 100):
            raise HwsimError(f"QuantSpec.percentile: expected a number in (0, 100], got {p!r}")
        as_rounding(self.rounding)
        _one_of("scale_rule", self.scale_rule, SCALE_RULES)  # checked even where unused
        if self.pad not in PADS:
            raise HwsimError(f"QuantSpec.pad: expected error or zero, got {self.pad!r}")
        _one_of("menu_select", self.menu_select, MENU_SELECTS)
        if self.bits_per_weight is not None:
            _check_budget(self.bits_per_weight, menu)

    @property
    def menu(self) -> tuple[str, ...]:
        return self.format if isinstance(self.format, tuple) else (self.format,)


def _one_of(field: str, value, choices: tuple[str, ...]) -> None:
    if not (isinstance(value, str) and value in choices):
        raise HwsimError(f"QuantSpec.{field}: expected one of {', '.join(choices)}, got {value!r}")


def _check_budget(budget, menu: tuple) -> None:
    from hwsim.dtypes.menu_budget import menu_bits

    real = isinstance(budget, int | float | np.integer | np.floating) and not isinstance(
        budget, bool
    )
    if not (real and math.isfinite(budget)):
        raise HwsimError(f"QuantSpec.bits_per_weight: expected a number, got {budget!r}")
    if len(menu) < 2:
        raise HwsimError(
            "QuantSpec.bits_per_weight: expected a menu of two or more formats to budget, "
            f"got the one format {menu[0]!r}"
        )
    if set(menu) & _olive_names():
        raise HwsimError("QuantSpec.bits_per_weight: OliVe formats take no bit budget")
    bits = menu_bits(menu)
    if budget < bits.min():
        raise HwsimError(
            f"QuantSpec.bits_per_weight: expected at least the narrowest format's {bits.min()} "
            f"bits, got {budget!r}"
        )
    if budget > bits.max():
        raise HwsimError(
            f"QuantSpec.bits_per_weight: expected at most the widest format's {bits.max()} "
            f"bits (above it the budget binds nothing), got {budget!r}"
        )


def _olive_names() -> set[str]:
    from hwsim.dtypes.olive import OLIVE_NORMALS  # OliVe pairs are quantize's own scheme

    return set(OLIVE_NORMALS)


def _check_format_names(menu: tuple) -> None:
    from hwsim.dtypes.registry import format as get_format

    for name in menu:
        if isinstance(name, str) and name not in _olive_names():  # a Format is one already
            try:
                get_format(name)
            except HwsimError as e:
                raise HwsimError(f"QuantSpec.format: {e}") from None


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


def is_qtensor(x) -> bool:
    """True for a QTensor: operands of the PEs and the simulator are QTensors or plain arrays."""
    return isinstance(x, QTensor)


# meta entries led by the tensor's own leading axes (OliVe's masks, its side-stored pad codes)
# and those with one entry per scale group in layout order; every other entry is per tensor
_META_ROWS = ("outlier_mask", "victim_mask", "pad_codes")
_META_GROUPS = ("clip_ratios", "targets")
_META_COUNTS = {"n_outliers": "outlier_mask", "n_victims": "victim_mask"}


def instance(x, b: int):
    """Instance b of a batch x [B, rows, K] quantized as one tensor (every head of an attention
    op, every group of a grouped conv): a [rows, K] operand whose per-tensor scale, second-level
    scale and per-tensor format choice are the whole tensor's. Plain arrays: x[b]."""
    if not isinstance(x, QTensor):
        return x[b]
    ndim, B = x.codes.ndim, x.codes.shape[0]
    spec = x.spec
    if spec.granularity != "tensor" and spec.axis % ndim == 0:
        raise HwsimError(
            f"QuantSpec.axis: a batch of GEMM instances is quantized along K (axis -1), "
            f"got axis {spec.axis} of a {ndim}-d tensor"
        )
    if spec.axis >= 0:  # the same axis counted from the end, which slicing keeps
        spec = replace(spec, axis=spec.axis - ndim)

    def lead(a):
        return None if a is None else np.asarray(a)[b if np.shape(a)[0] > 1 else 0]

    meta = dict(x.meta)
    for k in _META_ROWS:
        if k in meta:
            meta[k] = lead(meta[k])
    for k in _META_GROUPS:
        if np.ndim(meta.get(k)) == 1:
            meta[k] = np.asarray(meta[k]).reshape(B, -1)[b]
    for k, mask in _META_COUNTS.items():
        if k in meta:
            meta[k] = int(np.count_nonzero(meta[mask]))
    return QTensor(
        codes=x.codes[b],
        scales=lead(x.scales),
        zero_points=lead(x.zero_points),
        spec=spec,
        format_ids=lead(x.format_ids),
        scale_codes=lead(x.scale_codes),
        meta=meta,
    )


@dataclass(frozen=True)
class GroupLayout:
    """How a tensor splits into scale groups, and back.

    Every granularity is handled as a (n_groups, group_len) matrix of the tensor's values:
    tensor -> one row; channel -> one row per slice along `axis`; group/block -> rows of
    `group_len` consecutive elements along `axis` (the axis zero-padded to a multiple of
    group_len). Rows are ordered like the scale layout, so a per-row vector reshapes into
    `scale_shape` directly.
    """

    shape: tuple[int, ...]
    axis: int  # normalised to 0..ndim-1 (0 for 0-d tensors)
    granularity: str
    group_len: int
    groups_along_axis: int  # entries of the scale layout along `axis`

    @classmethod
    def of(cls, shape, spec: QuantSpec) -> GroupLayout:
        shape = tuple(int(n) for n in shape)
        gran = spec.granularity
        if gran == "tensor":
            return cls(shape, 0, gran, int(np.prod(shape, dtype=np.int64)), 1)
        ndim = len(shape)
        if ndim == 0:
            raise HwsimError(
                f"QuantSpec.granularity: {gran!r} needs an array with an axis, got a 0-d array"
            )
        if not -ndim <= spec.axis < ndim:
            raise HwsimError(
                f"QuantSpec.axis: expected an integer in [{-ndim}, {ndim - 1}] for a tensor of "
                f"shape {shape}, got {spec.axis!r}"
            )
        axis = int(spec.axis) % ndim
        length = shape[axis]
        if gran == "channel":
            return cls(shape, axis, gran, length, 1)
        g = spec.group_size
        if g is None:
            raise HwsimError(f"QuantSpec.group_size: granularity {gran!r} needs an integer > 0")
        if length % g and spec.pad == "error":
            raise HwsimError(
                f"QuantSpec.group_size: {g} does not divide axis {spec.axis} of length "
                f"{length} (shape {shape}); set pad='zero' to zero-pad the last group"
            )
        groups = -(-length // g)
        others = math.prod(n for i, n in enumerate(shape) if i != axis)
        padded = groups * g * others  # Python ints: no overflow
        if padded > max(MAX_PADDED_ELEMENTS, length * others):  # only padding is refused
            raise HwsimError(
                f"QuantSpec.group_size: zero-padding axis {spec.axis} of length {length} to "
                f"groups of {g} would hold {padded:.3g} elements (at most 2**31)"
            )
        return cls(shape, axis, gran, int(g), groups)

    @property
    def scale_shape(self) -> tuple[int, ...]:
        if self.granularity == "tensor":
            return (1,) * len(self.shape)
        s = list(self.shape)
        s[self.axis] = self.groups_along_axis
        return tuple(s)

    @property
    def n_groups(self) -> int:
        return int(np.prod(self.scale_shape, dtype=np.int64))

    @property
    def _padded_len(self) -> int:
        return self.groups_along_axis * self.group_len

    def to_groups(self, a: np.ndarray, fill=0) -> np.ndarray:
        """The (n_groups, group_len) matrix of `a` (a view where no padding is needed)."""
        a = np.asarray(a)
        if self.granularity == "tensor":
            return a.reshape(1, -1)
        m = np.moveaxis(a, self.axis, -1)
        pad = self._padded_len - m.shape[-1]
        if pad:
            widths = [(0, 0)] * (m.ndim - 1) + [(0, pad)]
            m = np.pad(m, widths, constant_values=fill)
        return m.reshape(-1, self.group_len)

    def from_groups(self, g: np.ndarray) -> np.ndarray:
        """Inverse of `to_groups`: back to the tensor's shape (padding dropped)."""
        if self.granularity == "tensor":
            return g.reshape(self.shape)
        moved = [n for i, n in enumerate(self.shape) if i != self.axis]
        m = g.reshape(*moved, self._padded_len)[..., : self.shape[self.axis]]
        return np.moveaxis(m, -1, self.axis)

    def to_layout(self, per_group: np.ndarray) -> np.ndarray:
        """A per-row vector (n_groups,) as an array of `scale_shape`."""
        if self.granularity == "tensor":
            return per_group.reshape(self.scale_shape)
        moved = [n for i, n in enumerate(self.scale_shape) if i != self.axis]
        return np.moveaxis(per_group.reshape(*moved, self.groups_along_axis), -1, self.axis)

    def from_layout(self, layout: np.ndarray) -> np.ndarray:
        """Inverse of `to_layout`: an array of `scale_shape` as a per-row vector."""
        layout = np.asarray(layout)
        if self.granularity == "tensor":
            return layout.reshape(-1)
        return np.moveaxis(layout, self.axis, -1).reshape(-1)
