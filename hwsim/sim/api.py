"""simulate(arch, workload, quant=None, mode=...) -> Stats.

Modes (per op instance; the workload total is the sum over ops of cycles x repeat):
  event     the simpy engine (hwsim.sim.engine): DRAM channel, buffer slots, PE array, writer
  analytic  max(compute, dram) with dram = floor(DRAM bytes / bytes_per_cycle), the BitMoD
            paper simulator's per-layer model (BitMoD-HPCA-25 a902a09), no events
  scalesim  SCALE-Sim's "Total Cycles" formula (its os fill and trailing -1 quirks), no stalls
Vector ops run on the vector unit (ceil(elements / lanes) x cycles per element), their data
staying on chip; with `vector_unit.overlapped` they are reported but hidden behind the array.
SCALE-Sim has no vector unit, so scalesim mode gives vector ops 0 cycles.

Utilisation (per op and in total; see Stats) counts PE-cycles doing work, MACs x
cycles_per_mac / (PEs x cycles), with each op's cycles_per_mac the one its timing used: the
PE's expected() value for shapes-only ops, the measured one for traced ops, 1 in scalesim
mode (SCALE-Sim's PE does one MAC a cycle whatever the precision). `mac_slot_utilisation`
keeps the precision-blind figure, MACs / (PEs x dot_product_width x cycles).

Attention in the analytic model. The BitMoD paper simulator (commit a902a09) treats QK^T as
one GEMM with "weights" [ctx, d_model] and "outputs" [heads*ctx, ctx] (and AV alike), i.e.
heads x more MACs than the real per-head products, and moves K/V at FP16. hwsim times the
workload's own attention ops: per head (op.batch = heads) an [M, head_dim] x [head_dim, ctx]
product with K/V (the second operand) at activation bits, so its attention cycles are the
real ones; linear layers (every nn.Linear, lm_head included) follow that simulator exactly.

Ops carrying traced tensors (op.inputs and op.weights) are timed from the data in event and
analytic modes: the PE runs them (hwsim.sim.tensors) and its measured counts replace the
expected ones; shapes-only ops use the PE's expected cycles and counts.

`quant` overrides the arch's default precisions: a dict of `Precision` field names (e.g.
{"weight_bits": 8, "weight_format": "int8"}), a `Precision`, or a quant `Recipe`, whose
per-op rules set each op's precision (hwsim.sim.precision). Stats.cycles_per_mac and
pe_counts_per_mac describe the run-wide precision; the per-op rows, the ones each op used.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from fractions import Fraction
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.sim.actions import gemm_counts, vector_counts
from hwsim.sim.dataflow import get_dataflow
from hwsim.sim.engine import simulate_op
from hwsim.sim.mapping import OpMapping, map_op, scalesim_cycles, vector_cycles
from hwsim.sim.pe_model import pe_model
from hwsim.sim.precision import apply_quant, op_precision
from hwsim.sim.stats import Stats
from hwsim.sim.tensors import can_run_tensors, run_tensors
from hwsim.spec.schema import Arch, Precision
from hwsim.workload.op import Op, Workload

MODES = ("event", "analytic", "scalesim")
_ARRAY_KEYS = ("pe:macs", "pe:active_cycles")


def simulate(arch, workload, quant=None, mode: str = "event", profile: str | None = None) -> Stats:
    """Simulate `workload` on `arch`; energy and area priced with `profile` (arch's default)."""
    if mode not in MODES:
        raise HwsimError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if isinstance(arch, str | Path):
        from hwsim.spec import load_arch

        arch = load_arch(arch)
    if not isinstance(arch, Arch):
        raise HwsimError(f"arch: expected an Arch or a path, got {type(arch).__name__}")
    if isinstance(workload, str | Path):
        from hwsim.workload import load_workload

        workload = load_workload(str(workload))
    if not isinstance(workload, Workload):
        raise HwsimError(
            f"workload: expected a Workload or a card/path, got {type(workload).__name__}"
        )
    arch = arch.for_workload(workload.name)
    prec = apply_quant(arch.precision, quant)
    arch = replace(arch, precision=prec)
    pe = pe_model(arch, prec.activation_format, prec.weight_format)

    rows, op_counts, cache = [], [], {}
    for op in workload.ops:
        op_prec = op_precision(prec, quant, op)
        key = (
            op_prec,
            op.kind,
            op.M,
            op.N,
            op.K,
            op.batch,
            op.weight_is_activation,
            op.conv,
            op.elements,
            op.vector_kind,
            id(op) if op.inputs is not None else None,  # traced tensors: time each op's own
        )
        if key not in cache:
            cache[key] = _run_op(arch, op, op_prec, mode)
        row, counts = cache[key]
        rows.append({**row, "op": op.name, "repeat": op.repeat})
        op_counts.append(counts)

    def total(column: str) -> int:
        return int(sum(r[column] * r["repeat"] for r in rows))

    breakdown = {
        "compute": total("compute_cycles"),
        "fill_drain": total("fill_drain_cycles"),
        "memory_stall": total("stall_cycles"),
        # vector work that adds latency; with an overlapped vector unit it hides behind the array
        "vector": int(sum(r["cycles"] * r["repeat"] for r in rows if r["kind"] == "vector")),
    }
    breakdown["vector_overlapped"] = total("vector_cycles") - breakdown["vector"]
    stats = Stats(
        arch=arch,
        workload_name=workload.name,
        mode=mode,
        cycles=total("cycles"),
        op_rows=rows,
        op_counts=op_counts,
        macs=workload.macs,
        breakdown=breakdown,
        pe_counts_per_mac=pe.counts_per_mac,
        cycles_per_mac=1.0 if mode == "scalesim" else float(_cycles_per_mac(arch, pe.step_cycles)),
        arch_hash=_hash(repr(arch)),
        workload_hash=_workload_hash(workload),
        quant_hash=_hash(repr(quant)) if quant is not None else "",
    )
    from hwsim.cost import recost

    return recost(stats, profile or arch.technology.profile)


def _op_pe(arch: Arch, op: Op, prec: Precision):
    """The PE model of an op at its own precision (a recipe rule may have changed it)."""
    try:
        return pe_model(arch, prec.activation_format, prec.weight_format)
    except HwsimError as e:
        raise HwsimError(f"op {op.name!r}: {e}") from None


def _run_op(arch: Arch, op: Op, prec: Precision, mode: str):
    if op.kind == "vector":
        vc = vector_cycles(arch, op)
        hidden = arch.vector_unit.overlapped or mode == "scalesim"
        row = _row(op, cycles=0 if hidden else vc, vector_cycles=vc)
        return row, vector_counts(op, vc)
    if prec != arch.precision:
        arch = replace(arch, precision=prec)
    pe = _op_pe(arch, op, prec)
    w_bits, a_bits = prec.weight_storage_bits, prec.activation_bits
    m = map_op(arch, op, pe, w_bits, a_bits)
    measured, work = None, None
    traced = op.inputs is not None and op.weights is not None
    if traced and mode != "scalesim" and can_run_tensors(op, arch.precision, _pe_instance(arch)):
        stream, measured, work = run_tensors(arch, op, arch.precision, m.stream_steps, m.folds)
        m = replace(m, fold_stream=tuple(max(c, m.sram_stream_cycles) for c in stream))
    dram_analytic = int(m.dram_bytes // arch.dram.bytes_per_cycle)
    fill = m.instances * m.folds * m.fill_drain_cycles
    if mode == "event":
        t = simulate_op(arch, m)
        row = _row(
            op,
            m,
            cycles=t.cycles,
            compute_cycles=t.compute_cycles,
            fill_drain_cycles=t.fill_drain_cycles,
            stall_cycles=t.stall_cycles,
            dram_cycles=t.dram_busy_cycles,
        )
    elif mode == "analytic":
        compute = m.compute_cycles
        cycles = max(compute, dram_analytic)
        row = _row(
            op,
            m,
            cycles=cycles,
            compute_cycles=compute - fill,
            fill_drain_cycles=fill,
            stall_cycles=cycles - compute,
            dram_cycles=dram_analytic,
        )
    else:
        cycles = scalesim_cycles(arch, op)
        stream = m.compute_cycles - fill
        row = _row(
            op,
            m,
            cycles=cycles,
            compute_cycles=min(stream, cycles),
            fill_drain_cycles=max(0, cycles - stream),
            dram_cycles=dram_analytic,
        )
    if work is None:  # PE-cycles of work at the cycles per MAC the timing used
        cpm = Fraction(1) if mode == "scalesim" else _cycles_per_mac(arch, m.step_cycles)
        work = op.macs * cpm
    _set_utilisation(row, arch, op.macs, work)
    counts = gemm_counts(
        arch,
        get_dataflow(arch.dataflow),
        m,
        pe,
        w_bits,
        a_bits,
        row["compute_cycles"] + row["fill_drain_cycles"],
    )
    if measured is not None:  # the PE's own counts for these tensors replace expected ones
        counts = {k: v for k, v in counts.items() if not k.startswith("pe:") or k in _ARRAY_KEYS}
        counts.update({f"pe:{k}": v for k, v in measured.items()})
    return row, counts


def _cycles_per_mac(arch: Arch, step_cycles: Fraction) -> Fraction:
    """Cycles one PE spends per MAC: a dp-wide step over its dp MACs."""
    return step_cycles / arch.pe_array.dot_product_width


def _set_utilisation(row: dict, arch: Arch, macs: int, work) -> None:
    """Fill cycles_per_mac, utilisation and mac_slot_utilisation of a GEMM row."""
    arr, cycles = arch.pe_array, row["cycles"]
    row["cycles_per_mac"] = float(Fraction(work) / macs) if macs else 0.0
    row["utilisation"] = float(Fraction(work) / (arr.pes * cycles)) if cycles else 0.0
    slots = cycles * arr.pes * arr.dot_product_width
    row["mac_slot_utilisation"] = macs / slots if slots else 0.0


def _row(op: Op, m: OpMapping | None = None, **values) -> dict:
    row = {
        "kind": op.kind,
        "M": op.M,
        "N": op.N,
        "K": op.K,
        "batch": op.batch,
        "cycles": 0,
        "compute_cycles": 0,
        "dram_cycles": 0,
        "dram_bytes": 0,
        "energy_pj": float("nan"),
        "fill_drain_cycles": 0,
        "stall_cycles": 0,
        "vector_cycles": 0,
        "utilisation": 0.0,
        "mac_slot_utilisation": 0.0,
        "cycles_per_mac": 0.0,
        "loop_order": "",
        "tiling": "",
        "tiles": 0,
        "weight_fetches": 0,
        "input_fetches": 0,
        "dram_read_weights_bytes": 0,
        "dram_read_inputs_bytes": 0,
        "dram_write_outputs_bytes": 0,
    }
    if m is not None:
        row.update(
            dram_bytes=m.dram_bytes,
            loop_order=m.loop_order,
            tiling=_tiling(m),
            tiles=m.tiles,
            weight_fetches=m.weight_fetches,
            input_fetches=m.input_fetches,
            dram_read_weights_bytes=m.dram_read_bytes["weights"],
            dram_read_inputs_bytes=m.dram_read_bytes["inputs"],
            dram_write_outputs_bytes=m.dram_write_bytes["outputs"],
        )
    row.update(values)
    return row


def _pe_instance(arch: Arch):
    from hwsim.pe.registry import get_pe

    return get_pe(arch.pe_array.pe_kind, **arch.pe_array.params)


def _tiling(m: OpMapping) -> str:
    """E.g. 'weights in 17 chunks x inputs in 4 chunks' (outer operand first)."""
    outer, inner = (
        ("weights", "inputs") if m.loop_order == "weights_outer" else ("inputs", "weights")
    )
    return f"{outer} in {m.outer_chunks} chunks x {inner} in {m.inner_chunks} chunks"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _workload_hash(wl: Workload) -> str:
    parts = [wl.name]
    for op in wl.ops:
        d = {f.name: getattr(op, f.name) for f in fields(op) if f.name not in ("inputs", "weights")}
        parts.append(repr(d))
    return _hash("\n".join(parts))


__all__ = ["MODES", "simulate"]
