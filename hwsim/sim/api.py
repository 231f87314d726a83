"""simulate(arch, workload, quant=None, mode=...) -> Stats: plan, then time each OpPlan.

hwsim.sim.plan binds every op to its compute unit, precision and mapping; the engine of the
mode (ENGINES) times each OpPlan and returns its OpRow (hwsim.sim.rows).

Modes (per op instance; the workload total is the sum over ops of cycles x repeat):
  event     the pipeline (DRAM channel, buffer slots, PE array, writer) as a compiled
            recurrence (hwsim.sim.pipeline), equal to the simpy model in hwsim.sim.engine
  analytic  max(compute, dram) with dram = floor(DRAM bytes / bytes_per_cycle), the BitMoD
            paper simulator's per-layer model (github abdelfattah-lab/BitMoD-HPCA-25, commit
            a902a09), no events
  scalesim  SCALE-Sim's "Total Cycles" formula (its os fill and trailing -1 quirks), no stalls
Vector ops run on the vector unit (ceil(elements / lanes) x cycles per element), their data
staying on chip; with `vector_unit.overlapped` they are reported but hidden behind the array.
SCALE-Sim has no vector unit, so scalesim mode gives vector ops 0 cycles, and it models one
array, so it takes archs with one compute unit only.

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

`quant` overrides each unit's default precision: a dict of `Precision` field names (e.g.
{"weight_bits": 8, "weight_format": "int8"}), a `Precision`, or a quant `Recipe`, whose
per-op rules set each op's precision (hwsim.sim.precision). Stats.cycles_per_mac describes
the first unit's run-wide precision, Stats.unit_counts_per_mac each unit's; the per-op rows
the ones each op used.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import fields, replace
from fractions import Fraction
from pathlib import Path

from hwsim.errors import HwsimError
from hwsim.sim.actions import gemm_counts, vector_counts
from hwsim.sim.mapping import OpMapping, map_op, scalesim_cycles, vector_cycles
from hwsim.sim.nest import nest_string
from hwsim.sim.plan import OpPlan, plan
from hwsim.sim.precision import apply_quant
from hwsim.sim.rows import OpRow
from hwsim.sim.stats import Stats
from hwsim.sim.tensors import can_run_tensors, run_tensors
from hwsim.spec.schema import Arch
from hwsim.workload.op import Workload

_ARRAY_KEYS = ("pe:macs", "pe:active_cycles")


def simulate(
    arch,
    workload,
    quant=None,
    mode: str = "event",
    profile: str | None = None,
    objective: str | None = None,
) -> Stats:
    """Simulate `workload` on `arch`; energy and area priced with `profile` (arch's default).

    `objective` (latency | energy | edp) maps each op with the mapper (hwsim.sim.mapper),
    "fixed" with the fixed mapping; None takes the arch's `mapping:` (fixed by default).
    SCALE-Sim mode always uses the fixed mapping (its formula has no tiling)."""
    engine = ENGINES.get(mode)
    if engine is None:
        raise HwsimError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    arch, workload = _load(arch, workload)
    if mode == "scalesim" and len(arch.units) > 1:
        raise HwsimError(
            f"{arch.source}: mode scalesim: expected one compute unit (SCALE-Sim models one "
            f"array), got {len(arch.units)}; use event or analytic"
        )
    bound = plan(arch, workload, quant, "fixed" if mode == "scalesim" else objective)
    arch = replace(bound.arch, precision=apply_quant(bound.arch.precision, quant))
    first = next(iter(bound.units))
    rows, op_counts, cache = [], [], {}
    for p in bound.ops:
        if p.key not in cache:
            cache[p.key] = _run_op(arch, p, mode, engine)
        row, counts = cache[p.key]
        if row.op != p.op.name or row.repeat != p.op.repeat:  # rows are never changed: share
            row = row.but(op=p.op.name, repeat=p.op.repeat)
        rows.append(row)
        op_counts.append(counts)

    breakdown = _breakdown(rows)
    first_unit = bound.units[first]
    cpm = bound.run_pe[first].step_cycles / first_unit.array.dot_product_width
    stats = Stats(
        arch=arch,
        workload_name=workload.name,
        mode=mode,
        cycles=sum(r.cycles * r.repeat for r in rows),
        op_rows=rows,
        op_counts=op_counts,
        macs=workload.macs,
        breakdown=breakdown,
        unit_counts_per_mac={n: m.counts_per_mac for n, m in bound.run_pe.items()},
        unit_ops=bound.ops_per_unit,
        cycles_per_mac=1.0 if mode == "scalesim" else float(cpm),
        arch_hash=_hash(repr(arch)),
        workload_hash=_workload_hash(workload),
        quant_hash=_hash(repr(quant)) if quant is not None else "",
    )
    from hwsim.cost import recost

    return recost(stats, profile or arch.technology.profile)


def _breakdown(rows: list[OpRow]) -> dict:
    """Cycles by cause, repeats included: compute + fill_drain + memory_stall + vector = cycles;
    vector_overlapped is vector work hidden behind the array (vector_unit.overlapped)."""
    compute = fill = stall = vector = vector_all = 0
    for r in rows:
        n = r.repeat
        compute += r.compute_cycles * n
        fill += r.fill_drain_cycles * n
        stall += r.stall_cycles * n
        vector_all += r.vector_cycles * n
        if r.kind == "vector":
            vector += r.cycles * n
    return {
        "compute": int(compute),
        "fill_drain": int(fill),
        "memory_stall": int(stall),
        "vector": int(vector),
        "vector_overlapped": int(vector_all - vector),
    }


def _load(arch, workload) -> tuple[Arch, Workload]:
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
    return arch, workload


def _run_op(arch: Arch, p: OpPlan, mode: str, engine):
    """(OpRow, action counts) of one op instance."""
    op = p.op
    if op.kind == "vector":
        vc = vector_cycles(arch, op)
        hidden = arch.vector_unit.overlapped or mode == "scalesim"
        row = OpRow(
            op.name, op.kind, op.M, op.N, op.K, op.batch, op.repeat,
            cycles=0 if hidden else vc, vector_cycles=vc, unit="vector", bound="vector",
        )  # fmt: skip
        return row, vector_counts(op, vc)
    m, measured, work = p.mapping, None, None
    traced = op.inputs is not None and op.weights is not None
    if traced and mode != "scalesim" and can_run_tensors(p):
        stream, measured, work = run_tensors(p, m.stream_steps, m.folds)
        m = replace(m, fold_stream=tuple(max(c, m.sram_stream_cycles) for c in stream))
    timing = engine(arch, p, m)
    if mode == "event" and m.search == "latency":
        # the mapper ranks nests by the analytic latency: in event mode keep the fixed nest
        # where the pipeline runs it faster, so the choice is never worse than fixed here too
        fixed = map_op(arch, p.unit, op, p.pe, p.second_operand_bits, p.activation_bits)
        fixed_timing = engine(arch, p, fixed)
        if fixed_timing["cycles"] <= timing["cycles"]:
            m, timing = fixed, fixed_timing
    timing["bound"] = _bound(m, timing)
    if work is None:  # PE-cycles of work at the cycles per MAC the timing used
        work = op.macs * (Fraction(1) if mode == "scalesim" else _cycles_per_mac(p, m))
    row = _row(arch, p, m, timing, work)
    counts = gemm_counts(
        arch,
        p.unit,
        m,
        p.pe,
        p.second_operand_bits,
        p.activation_bits,
        row.compute_cycles + row.fill_drain_cycles,
    )
    if measured is not None:  # the PE's own counts for these tensors replace expected ones
        counts = {k: v for k, v in counts.items() if not k.startswith("pe:") or k in _ARRAY_KEYS}
        counts.update({f"pe:{k}": v for k, v in measured.items()})
    return row, counts


def _event(arch: Arch, p: OpPlan, m: OpMapping) -> dict:
    from hwsim.sim.pipeline import simulate_op  # numba and simpy: event mode only

    t = simulate_op(arch, m)
    return dict(
        cycles=t.cycles,
        compute_cycles=t.compute_cycles,
        fill_drain_cycles=t.fill_drain_cycles,
        stall_cycles=t.stall_cycles,
        dram_cycles=t.dram_busy_cycles,
    )


def _analytic(arch: Arch, p: OpPlan, m: OpMapping) -> dict:
    compute, dram = m.compute_cycles, _dram_analytic(arch, m)
    fill = m.instances * m.folds * m.fill_drain_cycles
    cycles = max(compute, dram)
    return dict(
        cycles=cycles,
        compute_cycles=compute - fill,
        fill_drain_cycles=fill,
        stall_cycles=cycles - compute,
        dram_cycles=dram,
    )


def _scalesim(arch: Arch, p: OpPlan, m: OpMapping) -> dict:
    cycles = scalesim_cycles(p.unit, p.op)
    stream = m.compute_cycles - m.instances * m.folds * m.fill_drain_cycles
    return dict(
        cycles=cycles,
        compute_cycles=min(stream, cycles),
        fill_drain_cycles=max(0, cycles - stream),
        stall_cycles=0,
        dram_cycles=_dram_analytic(arch, m),
    )


# mode -> timing of one mapped op instance (cycles and their causes)
ENGINES = {"event": _event, "analytic": _analytic, "scalesim": _scalesim}
MODES = tuple(ENGINES)


def _bound(m: OpMapping, timing: dict) -> str:
    """What set the op's cycles: the largest of DRAM time, the stream (the PEs, or the SRAM
    port whose floor set it) and fill/drain (ties: the stream, then DRAM)."""
    stream = timing["compute_cycles"]
    parts = {m.port or "compute": stream, "dram": timing["dram_cycles"]}
    parts["fill_drain"] = timing["fill_drain_cycles"]
    return max(parts, key=parts.get)


def _dram_analytic(arch: Arch, m: OpMapping) -> int:
    return int(m.dram_bytes // arch.dram.bytes_per_cycle)


def _cycles_per_mac(p: OpPlan, m: OpMapping) -> Fraction:
    """Cycles one PE spends per MAC: a dp-wide step over its dp MACs."""
    return m.step_cycles / p.unit.array.dot_product_width


def _row(arch: Arch, p: OpPlan, m: OpMapping, timing: dict, work) -> OpRow:
    """The OpRow of a mapped op: its timing, traffic, utilisation and configuration."""
    op, unit, arr = p.op, p.unit, p.unit.array
    cycles, macs = timing["cycles"], op.macs
    slots = cycles * arr.pes * arr.dot_product_width
    return OpRow(
        op=op.name,
        kind=op.kind,
        M=op.M,
        N=op.N,
        K=op.K,
        batch=op.batch,
        repeat=op.repeat,
        dram_bytes=m.dram_bytes,
        utilisation=float(Fraction(work) / (arr.pes * cycles)) if cycles else 0.0,
        mac_slot_utilisation=macs / slots if slots else 0.0,
        cycles_per_mac=float(Fraction(work) / macs) if macs else 0.0,
        loop_order=m.loop_order,
        tiling=_tiling(m),
        tiles=m.tiles,
        weight_fetches=m.weight_fetches,
        input_fetches=m.input_fetches,
        dram_read_weights_bytes=m.dram_read_bytes["weights"],
        dram_read_inputs_bytes=m.dram_read_bytes["inputs"],
        dram_write_outputs_bytes=m.dram_write_bytes["outputs"],
        unit=unit.name,
        rows=arr.rows,
        cols=arr.cols,
        dataflow=unit.dataflow_name,
        weight_format=p.weight_format,
        activation_format=p.activation_format,
        group_size=p.group_size,
        scale_format=p.scale_format,
        mapping=f"{m.search}: {nest_string(m, unit, arch)}",
        **timing,
    )


def _tiling(m: OpMapping) -> str:
    """E.g. 'weights in 17 chunks x inputs in 4 chunks' (outer operand first)."""
    outer, inner = (
        ("weights", "inputs") if m.loop_order == "weights_outer" else ("inputs", "weights")
    )
    return f"{outer} in {m.outer_chunks} chunks x {inner} in {m.inner_chunks} chunks"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _workload_hash(wl: Workload) -> str:
    """Hash of the workload's ops (tensors left out), once per workload object: a sweep
    simulates one workload at every point."""
    known = _WORKLOAD_HASHES.get(id(wl))
    if known is not None and known[0]() is wl:
        return known[1]
    parts = [wl.name]
    for op in wl.ops:
        d = {f.name: getattr(op, f.name) for f in fields(op) if f.name not in ("inputs", "weights")}
        parts.append(repr(d))
    digest = _hash("\n".join(parts))
    if len(_WORKLOAD_HASHES) > 64:
        _WORKLOAD_HASHES.clear()
    _WORKLOAD_HASHES[id(wl)] = (weakref.ref(wl), digest)
    return digest


# id(workload) -> (weak reference to it, hash): the reference tells a reused id apart
_WORKLOAD_HASHES: dict = {}


__all__ = ["ENGINES", "MODES", "simulate"]
