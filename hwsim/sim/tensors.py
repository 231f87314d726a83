"""Data-dependent compute time: run an op's real tensors through its unit's PE (pe.run).

Operands are quantized with the op's own QuantSpecs (hwsim.sim.plan.OpPlan): the recipe's,
exactly as written (its scale format and zero points included), where it gives one. Without
a recipe spec, weights take the precision's `weight_format` in groups of `group_size` along K
with `scale_bits`-bit integer scales (the arch's declared group scales), else one scale per
output channel; activations in float16 go to the PE as FP16-rounded floats (with no format:
unrounded floats), other formats are quantized per tensor. Attention's second operand (K or
V) is an activation, quantized with the recipe's K/V spec when it gives one. The PE returns
exact outputs, action counts and, where the hardware is data-dependent, `tile_cycles[m, n]`:
one PE's latency for output (m, n).

Groups that do not divide K: with `pad: zero` (the arch's own group format always pads) both
operands are zero-padded along K to whole groups before quantization, so the PE runs the
padded groups as the hardware stores them; their bytes are counted in traffic by the plan
(OpPlan.second_operand_bits), their cycles by the PE's measured tile cycles.

Fold time: with the os dataflow every PE owns one output of the fold and the array moves in
lockstep, so a fold streams for the max of tile_cycles over its (rows x cols) block of outputs.
Other dataflows (and PEs without tile_cycles) stream each fold for ceil(T * step) with step
the measured mean, PEResult.cycles / MACs x dot_product_width.

Work (the PE-cycles spent on MACs, which utilisation counts) follows the same timing: the
sum of tile_cycles where the fold time came from them, else PEResult.cycles.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from math import ceil

import numpy as np

from hwsim.dtypes.registry import same_format
from hwsim.errors import HwsimError
from hwsim.pe.counts import ActionCounts


def can_run_tensors(p) -> bool:
    """True when OpPlan `p`'s op carries tensors its unit's PE can take in its formats."""
    if p.op.inputs is None or p.op.weights is None:
        return False
    return pe_takes(p)


def pe_takes(p) -> bool:
    """True when OpPlan `p`'s unit PE takes the op's operand formats.

    Weights need a weight format; the second operand of attention (K or V) is an activation
    and needs a PE that takes the activation format on its weight side (BitMoD's term-serial
    weight path cannot take FP16, so its attention is timed shapes-only).
    """
    op, prec = p.op, p.precision
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


def weight_spec(p):
    """The QuantSpec of OpPlan `p`'s weights: the recipe's, else the arch's declared format (in
    zero-padded groups of `group_size` with integer scales, else a scale per output row)."""
    from hwsim.dtypes import QuantSpec

    spec, prec = p.weights, p.precision
    if spec is not None:
        return spec
    if prec.weight_format is None:
        raise HwsimError(
            f"unit {p.unit.name!r}: its precision names no weight_format (a per-group menu); "
            "expected a recipe (--quant) giving the weights' formats"
        )
    if prec.group_size:
        scale = f"int{prec.scale_bits}" if prec.scale_bits else "fp32"
        return QuantSpec(prec.weight_format, "group", prec.group_size, -1, scale, pad="zero")
    return QuantSpec(prec.weight_format, "channel", None, -1)


def activation_spec(spec, fmt):
    """The QuantSpec of an activation operand: `spec` (the recipe's), else per tensor in
    `fmt`; None where it goes to the PE as floats (FP16, or no format)."""
    from hwsim.dtypes import QuantSpec

    name = spec.format if spec is not None else fmt
    if name is None or _is_fp16(name):
        return None
    return spec or QuantSpec(fmt, "tensor")


def operand_specs(p) -> tuple:
    """(activation spec, second-operand spec) of OpPlan `p`; None: floats to the PE."""
    a_fmt = p.precision.activation_format
    second = activation_spec(p.kv, a_fmt) if p.op.weight_is_activation else weight_spec(p)
    return activation_spec(p.activations, a_fmt), second


def padded_k(K: int, specs) -> int:
    """K rounded up so that every grouped spec with pad='zero' divides it: the last group of
    each row is zero-padded, as hardware stores it (a spec with pad='error' is left to
    refuse, naming pad='zero')."""
    step = 1
    for s in specs:
        grouped = s is not None and s.granularity in ("group", "block") and s.group_size
        if grouped and s.pad == "zero":
            step = np.lcm(step, int(s.group_size))
    return -(-K // step) * step


def pad_k(x: np.ndarray, K: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] == K:
        return x
    out = np.zeros((*x.shape[:-1], K))
    out[..., : x.shape[-1]] = x
    return out


def operands(p, a: np.ndarray, w: np.ndarray, cache: dict | None = None, key=None) -> tuple:
    """(activations, second operand) of OpPlan `p` as its PE takes them: floats or QTensors
    quantized with the op's own specs (module doc), along K zero-padded to whole groups
    (padded_k: zero activations times zero weights add nothing). a [..., M, K], w [..., N, K]:
    a batch of GEMM instances is quantized as the one tensor it is (a per-tensor scale spans
    every head, every conv group), as hwsim.workload.recipe and hwsim.workload.accuracy
    quantize it; hwsim.dtypes.qtensor.instance takes one instance out. `cache` keeps the
    quantized weights under the caller's `key` (naming this op's weights, which must not
    change while it uses the cache): a model's weights are quantized once for all forwards."""
    from hwsim.dtypes import quantize

    specs = operand_specs(p)
    K = padded_k(a.shape[-1], specs)
    out = []
    for i, (x, spec, fmt) in enumerate(zip((a, w), specs, float_formats(p))):
        cached = cache is not None and i == 1 and not p.op.weight_is_activation
        if cached and key in cache:
            out.append(cache[key])
            continue
        x = pad_k(x, K)
        if spec is not None:
            x = quantize(x, spec)
        elif _is_fp16(fmt):  # a float16 array: what an FP16 datapath takes
            x = x.astype(np.float16)
        if cached:
            cache[key] = x
        out.append(x)
    return tuple(out)


def _is_fp16(name) -> bool:
    return isinstance(name, str) and same_format(name, "float16")


def float_formats(p) -> tuple:
    """The formats of OpPlan `p`'s two operands where they reach the PE as floats."""
    prec = p.precision
    a_fmt = p.activations.format if p.activations is not None else prec.activation_format
    if p.op.weight_is_activation:
        return a_fmt, (p.kv.format if p.kv is not None else prec.activation_format)
    return a_fmt, None


def instances(A, W) -> list:
    """[(a, w)] per GEMM instance of operands as `operands` returns them: [M, K] ones are one
    instance, [B, M, K] ones B (hwsim.dtypes.qtensor.instance)."""
    from hwsim.dtypes.qtensor import instance

    if len(A.shape) == 2:
        return [(A, W)]
    return [(instance(A, b), instance(W, b)) for b in range(A.shape[0])]


# id(op.inputs) -> (op.inputs, PEResult per batch instance): results computed from these very
# arrays by the caller (hwsim.eval), so the timing re-uses the bits instead of re-running
_KNOWN: dict = {}


@contextlib.contextmanager
def known_results(results: dict):
    """Within the block, run_tensors takes the PEResults of an op whose `inputs` array is a
    key's (id(array) -> (array, [PEResult per batch instance])) instead of running its PE."""
    _KNOWN.update(results)
    try:
        yield
    finally:
        for key in results:
            _KNOWN.pop(key, None)


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
    arr = unit.array
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
    known = _KNOWN.get(id(op.inputs))
    if known is not None and known[0] is op.inputs:
        results = known[1]
    else:
        try:
            results = [unit.pe.run(a, w) for a, w in instances(*operands(p, A, W))]
        except HwsimError as e:
            raise HwsimError(f"op {op.name!r} on unit {unit.name!r} ({arr.pe_kind}): {e}") from None
    for res in results:
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
