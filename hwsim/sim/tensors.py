"""Data-dependent compute time: run an op's real tensors through its unit's PE (pe.run).

Operands are quantized with the op's own QuantSpecs (hwsim.sim.plan.OpPlan): the recipe's,
exactly as written (its scale format and zero points included), where it gives one. Without
a recipe spec, weights take the precision's `weight_format` in groups of `group_size` along K
with `scale_bits`-bit integer scales (the arch's declared group scales), else one scale per
output channel; activations in float16 (or with no format) go to the PE as floats, other
formats are quantized per tensor. Attention's second operand (K or V) is an activation,
quantized with the recipe's K/V spec when it gives one. The PE returns exact outputs, action
counts and, where the hardware is data-dependent, `tile_cycles[m, n]`: one PE's latency for
output (m, n).

Fold time: with the os dataflow every PE owns one output of the fold and the array moves in
lockstep, so a fold streams for the max of tile_cycles over its (rows x cols) block of outputs.
Other dataflows (and PEs without tile_cycles) stream each fold for ceil(T * step) with step
the measured mean, PEResult.cycles / MACs x dot_product_width.

Work (the PE-cycles spent on MACs, which utilisation counts) follows the same timing: the
sum of tile_cycles where the fold time came from them, else PEResult.cycles.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil

import numpy as np

from hwsim.errors import HwsimError
from hwsim.pe.counts import ActionCounts


def can_run_tensors(p) -> bool:
    """True when OpPlan `p`'s op carries tensors its unit's PE can take in its formats.

    Weights need a weight format; the second operand of attention (K or V) is an activation
    and needs a PE that takes the activation format on its weight side (BitMoD's term-serial
    weight path cannot take FP16, so its attention is timed shapes-only).
    """
    op, prec = p.op, p.precision
    if op.inputs is None or op.weights is None:
        return False
    if not op.weight_is_activation:
        return prec.weight_format is not None or p.weights is not None
    try:
        p.unit.pe.check(prec.activation_format, _second_format(p))
    except HwsimError:
        return False
    return True


def _second_format(p):
    """The K / V operand's format of an attention op."""
    return p.kv.format if p.kv is not None else p.precision.activation_format


def _weights(w: np.ndarray, p):
    from hwsim.dtypes import QuantSpec, quantize

    spec, prec = p.weights, p.precision
    if spec is None and prec.group_size:
        scale = f"int{prec.scale_bits}" if prec.scale_bits else "fp32"
        spec = QuantSpec(prec.weight_format, "group", prec.group_size, -1, scale, pad="zero")
    elif spec is None:
        spec = QuantSpec(prec.weight_format, "channel", None, -1)  # a scale per output row
    return quantize(np.asarray(w, dtype=np.float64), spec)


def _activations(a: np.ndarray, spec, fmt):
    """`a` quantized with `spec` (the recipe's), else per tensor in `fmt`; FP16 values as an
    float16 array (what an FP16 datapath takes), no format as floats."""
    name = spec.format if spec is not None else fmt
    if name is None:
        return np.asarray(a, dtype=np.float64)
    if name in ("float16", "fp16"):
        return np.asarray(a, dtype=np.float16)
    from hwsim.dtypes import QuantSpec, quantize

    return quantize(np.asarray(a, dtype=np.float64), spec or QuantSpec(fmt, "tensor"))


def operands(p, a: np.ndarray, w: np.ndarray) -> tuple:
    """(activations, second operand) of one GEMM instance of OpPlan `p` as its PE takes them:
    floats or QTensors quantized with the op's own specs (module doc)."""
    a_fmt = p.precision.activation_format
    second = _activations(w, p.kv, a_fmt) if p.op.weight_is_activation else _weights(w, p)
    return _activations(a, p.activations, a_fmt), second


def fold_block_max(tile_cycles: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Max of tile_cycles[m, n] over each os fold: n in blocks of `rows`, m of `cols`."""
    M, N = tile_cycles.shape
    pad = np.zeros((ceil(M / cols) * cols, ceil(N / rows) * rows), dtype=np.int64)
    pad[:M, :N] = tile_cycles
    blocks = pad.reshape(pad.shape[0] // cols, cols, pad.shape[1] // rows, rows)
    return blocks.max(axis=(1, 3)).T.ravel()  # fold order: n-block outer, m-block inner


def run_tensors(p, T: int, fold_count: int):
    """(per-fold stream cycles over all batch instances, measured ActionCounts, PE-cycles of
    work over all instances: what one PE would spend doing every MAC of the op serially)
    of OpPlan `p`."""
    op, unit = p.op, p.unit
    arr, pe = unit.array, unit.pe
    A, W = np.asarray(op.inputs), np.asarray(op.weights)
    if A.ndim == 2:
        A, W = A[None], W[None]
    if A.shape != (op.batch, op.M, op.K) or W.shape != (op.batch, op.N, op.K):
        raise HwsimError(
            f"op {op.name!r}: tensors {A.shape} / {W.shape} do not match its shape "
            f"(batch {op.batch}, M {op.M}, N {op.N}, K {op.K})"
        )
    stream: list[int] = []
    counts = ActionCounts()
    work = 0
    for b in range(op.batch):
        try:
            res = pe.run(*operands(p, A[b], W[b]))
        except HwsimError as e:
            raise HwsimError(f"op {op.name!r} on unit {unit.name!r} ({arr.pe_kind}): {e}") from None
        counts.update(res.counts)
        if res.tile_cycles is not None and unit.dataflow_name == "os":
            tile_cycles = np.asarray(res.tile_cycles, dtype=np.int64)
            stream.extend(int(c) for c in fold_block_max(tile_cycles, arr.rows, arr.cols))
            work += int(tile_cycles.sum())
        else:
            step = Fraction(int(res.cycles), op.M * op.N * op.K) * arr.dot_product_width
            stream.extend([ceil(T * step)] * fold_count)
            work += int(res.cycles)
    return tuple(stream), dict(counts), work
