"""Data-dependent compute time: run an op's real tensors through the arch's PE (pe.run).

Operands: weights are quantized with the arch's precision (`weight_format`, groups of
`group_size` along K with `scale_bits`-bit integer scales, else per output channel);
activations in float16 (or with no format) go to the PE as floats, other formats are
quantized per tensor; attention's second operand (K or V) is an activation. The PE returns
exact outputs, action counts and, where the hardware is data-dependent, `tile_cycles[m, n]`:
one PE's latency for output (m, n).

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
from hwsim.pe.registry import get_pe
from hwsim.spec.schema import Arch, Precision
from hwsim.workload.op import Op


def can_run_tensors(op: Op, prec: Precision, pe=None) -> bool:
    """True when the op carries tensors the PE can take in the arch's formats.

    Weights need the arch's weight format; the second operand of attention (K or V) is an
    activation and needs a PE that takes the activation format on its weight side (BitMoD's
    term-serial weight path cannot take FP16, so its attention is timed shapes-only).
    """
    if op.inputs is None or op.weights is None:
        return False
    if not op.weight_is_activation:
        return prec.weight_format is not None
    check = getattr(pe, "check", None)
    if check is None:
        return True
    try:
        check(prec.activation_format, prec.activation_format)
    except HwsimError:
        return False
    return True


def _weights(w: np.ndarray, prec: Precision):
    from hwsim.dtypes import QuantSpec, quantize

    if prec.group_size:
        scale = f"int{prec.scale_bits}" if prec.scale_bits else "fp32"
        spec = QuantSpec(prec.weight_format, "group", prec.group_size, -1, scale, pad="zero")
    else:
        spec = QuantSpec(prec.weight_format, "channel", None, -1)  # a scale per output row
    return quantize(np.asarray(w, dtype=np.float64), spec)


def _activations(a: np.ndarray, prec: Precision):
    fmt = prec.activation_format
    if fmt is None or fmt in ("float16", "fp16"):
        return np.asarray(a, dtype=np.float64)
    from hwsim.dtypes import QuantSpec, quantize

    return quantize(np.asarray(a, dtype=np.float64), QuantSpec(fmt, "tensor"))


def fold_block_max(tile_cycles: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Max of tile_cycles[m, n] over each os fold: n in blocks of `rows`, m of `cols`."""
    M, N = tile_cycles.shape
    pad = np.zeros((ceil(M / cols) * cols, ceil(N / rows) * rows), dtype=np.int64)
    pad[:M, :N] = tile_cycles
    blocks = pad.reshape(pad.shape[0] // cols, cols, pad.shape[1] // rows, rows)
    return blocks.max(axis=(1, 3)).T.ravel()  # fold order: n-block outer, m-block inner


def run_tensors(arch: Arch, op: Op, prec: Precision, T: int, fold_count: int):
    """(per-fold stream cycles over all batch instances, measured ActionCounts, PE-cycles of
    work over all instances: what one PE would spend doing every MAC of the op serially)."""
    arr = arch.pe_array
    pe = get_pe(arr.pe_kind, **arr.params)
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
        second = _activations(W[b], prec) if op.weight_is_activation else _weights(W[b], prec)
        try:
            res = pe.run(_activations(A[b], prec), second)
        except HwsimError as e:
            raise HwsimError(f"op {op.name!r} on PE {arr.pe_kind!r}: {e}") from None
        counts.update(res.counts)
        if res.tile_cycles is not None and arch.dataflow == "os":
            tile_cycles = np.asarray(res.tile_cycles, dtype=np.int64)
            stream.extend(int(c) for c in fold_block_max(tile_cycles, arr.rows, arr.cols))
            work += int(tile_cycles.sum())
        else:
            step = Fraction(int(res.cycles), op.M * op.N * op.K) * arr.dot_product_width
            stream.extend([ceil(T * step)] * fold_count)
            work += int(res.cycles)
    return tuple(stream), dict(counts), work
