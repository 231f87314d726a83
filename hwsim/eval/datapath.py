"""One matrix op of a live forward, three ways: as its unit's PE computes it, fake-quantized, fp32.

Both take a batch of GEMM instances, a [..., M, K] and w [..., N, K] (heads, conv groups),
quantized as the one tensor it is (hwsim.sim.tensors.operands): a per-tensor scale spans the
batch, as in the recipe's fake-quant path (hwsim.workload.accuracy).

`hardware(p, a, w)` quantizes the operands with OpPlan `p`'s own QuantSpecs
(hwsim.sim.tensors.operands: the recipe's exactly, else the arch's formats, groups that do not
divide K zero-padded) and runs its unit's PE `run(a, w)`: the PE's exact output, its
accumulator width, rounding and order included. PEs that dequantize per group (BitMoD,
mixed_dtype, MixPE, DenseShift) return scaled outputs; the others (INT / FP MAC, bit-serial,
fixed point) return accumulators in element units, which the dequantisation unit scales by
the per-token and per-channel operand scales in float64 (hwsim.pe.int_mac.dequantize_output:
the accumulator is exact, and float64's one rounding per multiply sits far below fp32's);
such a PE cannot take group-scaled operands (one line naming the op). The result is rounded
to fp32, the precision the next layer (and the vector unit) reads.

`fake(p, a, w)` is today's accuracy path on the same specs: every operand quantized ->
dequantized (FP16 operands rounded to FP16, as stored), multiplied in float64, rounded to
fp32 once (per-token / per-channel scales factored out of the sum). Where the PE's
accumulator is exact (an INT MAC with int32 and no overflow) the two agree bit for bit.

Attention ops whose PE cannot take their K / V operand by the plan's own rule
(hwsim.sim.tensors.pe_takes: BitMoD's term-serial weight side takes no FP16 K / V) run `fake`
and say so (`route`); the plan times them on the unit's own weight path, as the BitMoD
simulator does.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hwsim.errors import HwsimError

# PE kinds whose `run` applies the weight (and activation) scales itself
SCALING_PES = frozenset({"bitmod", "mixed_dtype", "mixpe", "denseshift", "mx_mac"})


def _is_qtensor(x) -> bool:
    return hasattr(x, "codes") and hasattr(x, "spec")


def dequantized(x) -> np.ndarray:
    from hwsim.dtypes import dequantize

    # floats: as stored (FP16 values as float16), multiplied in float64
    return dequantize(x) if _is_qtensor(x) else np.asarray(x, dtype=np.float64)


def _factored(x) -> tuple:
    """(values, scale column or None): an operand whose scale is constant along K (per tensor,
    token or channel) as its element values and that scale, else dequantized with no scale."""
    if (
        _is_qtensor(x)
        and x.spec.granularity in ("tensor", "channel")
        and len(x.spec.menu) == 1
        and x.meta.get("scheme") != "olive"
    ):
        from hwsim.dtypes import dequantize

        s = np.asarray(x.scales, dtype=np.float64)
        if s.shape[-1] == 1:  # one scale per row (or tensor): constant along K
            values = dequantize(replace(x, scales=np.ones_like(s)))  # decode(codes) - zero points
            return values, np.broadcast_to(s, (*x.shape[:-1], 1))
    return dequantized(x), None


def fake(p, a: np.ndarray, w: np.ndarray, cache=None, key=None) -> np.ndarray:
    """fp32 [..., M, N]: quantize -> dequantize each operand, float64 product, one fp32 rounding.
    Per-tensor / per-token / per-channel scales are factored out of the sum (the same real
    number, one rounding per scale instead of one per product), as the dequantisation unit
    applies them."""
    from hwsim.sim.tensors import operands

    A, W = operands(p, a, w, cache, key)
    va, sa = _factored(A)
    if cache is None or p.op.weight_is_activation:
        vw, sw = _factored(W)
    else:  # the dequantized weights too, once per model
        vw, sw = cache.get((key, "dequantized")) or cache.setdefault(
            (key, "dequantized"), _factored(W)
        )
    out = va @ np.swapaxes(vw, -1, -2)
    if sa is not None:
        out = out * sa
    if sw is not None:
        out = out * np.swapaxes(sw, -1, -2)
    return out.astype(np.float32)


def hardware(p, a: np.ndarray, w: np.ndarray, cache=None, key=None):
    """(fp32 [..., M, N], [PEResult without `out`] per instance, or None where the op ran
    `fake`); `cache` / `key`: quantized weights kept across forwards
    (hwsim.sim.tensors.operands)."""
    from hwsim.sim.tensors import instances, operands

    unit = p.unit
    if p.op.weight_is_activation and not runs_on_pe(p):
        return fake(p, a, w), None
    outs, results = [], []
    for a_b, w_b in instances(*operands(p, a, w, cache, key)):
        try:
            res = unit.pe.run(a_b, w_b)
        except HwsimError as e:
            raise HwsimError(f"unit {unit.name!r} ({unit.array.pe_kind}): {e}") from None
        out = res.out
        if unit.array.pe_kind not in SCALING_PES:
            out = _dequantisation_unit(out, a_b, w_b, unit)
        outs.append(np.asarray(out, dtype=np.float64).astype(np.float32))
        results.append(replace(res, out=None))
    return (outs[0] if np.ndim(a) == 2 else np.stack(outs)), results


def _dequantisation_unit(out, A, W, unit) -> np.ndarray:
    from hwsim.pe.int_mac import dequantize_output

    for x in (A, W):
        if _is_qtensor(x) and x.spec.granularity in ("group", "block"):
            raise HwsimError(
                f"unit {unit.name!r} ({unit.array.pe_kind}): its PE applies no group scales, "
                f"got {x.spec.granularity}-scaled {'|'.join(x.spec.menu)} operands; expected "
                f"a PE that dequantizes per group ({', '.join(sorted(SCALING_PES))})"
            )
    return dequantize_output(out, A, W)


def runs_on_pe(p) -> bool:
    """True when the op's unit PE computes it (False: the plan's fallback, see module doc)."""
    from hwsim.sim.tensors import pe_takes

    return pe_takes(p)


def route(p) -> str:
    """How the hardware column computed the op."""
    if runs_on_pe(p):
        return f"pe:{p.unit.array.pe_kind}"
    return "fake-quant (the PE takes no such K/V format)"
