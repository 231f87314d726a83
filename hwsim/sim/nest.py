"""An op's mapping as text: the compact loop nest of the ops table and `hwsim run --explain`.

Nest (Timeloop style, outer level first):
  DRAM[n4 m2] > W[n1024 k4096]@wbuf A[m512 k4096]@ibuf > os[n32|m32 T1024 x128 O]
DRAM loops with more than one trip (outer -> inner), the tile each buffer holds (W: the
weight-side operand, A: the inputs, both by their dimensions; `O+psum` when the partial sums
spill to DRAM, `O acc` when they accumulate on chip), then the array: the dataflow, the
dimensions unrolled on its rows | cols, the steps streamed per fold, the folds per instance and
the operand that stays in the PEs (os: outputs O, ws: weights W, is: inputs A). The dataflow
is the one the op ran on: the unit's, or the one the mapper chose from the unit's list, e.g.
row-stationary `rs[r3c2|e4 T12 x4 rows]` (3 filter rows x 2 channels down the rows, 4 output
rows across, filter rows staying in the PEs; hwsim.sim.rowstationary).
"""

from __future__ import annotations

from math import ceil

from hwsim.sim.mapping import OpMapping


def nest_string(m: OpMapping, unit, arch) -> str:
    """The compact nest of mapping `m` on `unit` (hwsim.sim.plan.Unit) of `arch`."""
    op = m.op
    counts = {"m": m.m_tiles, "n": m.n_tiles, "k": m.k_tiles}
    order = m.order + "".join(d for d in "mnk" if d not in m.order)
    loops = " ".join(f"{d}{counts[d]}" for d in order if counts[d] > 1) or "-"
    tile = {
        "m": ceil(op.M * op.kv_group / m.m_tiles),
        "n": ceil(op.N / m.n_tiles),
        "k": ceil(op.K / m.k_tiles),
    }
    w, a = arch.level_for("weights").name, arch.level_for("inputs").name
    out = arch.level_for("outputs").name
    psum = " O+psum" if m.psum_bytes else f" O acc@{out}" if m.k_tiles > 1 else ""
    bufs = f"W[n{tile['n']} k{tile['k']}]@{w} A[m{tile['m']} k{tile['k']}]@{a}{psum}"
    df, arr = unit.dataflow, unit.array
    array = (
        f"{unit.dataflow_name}[{df.unrolling(arr.rows, arr.cols)} T{m.stream_steps} "
        f"x{m.folds} {df.stays}]"
    )
    return f"DRAM[{loops}] > {bufs} > {array}"


def explain(stats, name: str) -> str:
    """One op's nest, bound and traffic per level (for `hwsim run --explain OP`)."""
    rows = [(r, c) for r, c in zip(stats.op_rows, stats.op_counts, strict=True) if r.op == name]
    if not rows:
        from hwsim.errors import HwsimError, closest

        known = [r.op for r in stats.op_rows]
        raise HwsimError(f"--explain: unknown op {name!r}; closest: {closest(name, known)}")
    row, counts = rows[0]
    lines = [
        f"op {row.op} ({row.kind} M={row.M} N={row.N} K={row.K} batch={row.batch}, "
        f"x{row.repeat}) on {row.unit or 'vector'}"
    ]
    if row.kind == "vector":
        lines.append(f"  vector unit: {row.vector_cycles} cycles, data on chip")
        return "\n".join(lines)
    declared = next((u.dataflow for u in stats.arch.units if u.name == row.unit), row.dataflow)
    how = "declared" if declared == row.dataflow else f"chosen by the mapper; declared {declared}"
    lines += [
        f"  mapping {row.mapping}",
        f"  dataflow {row.dataflow} on {row.rows}x{row.cols} ({how})",
        f"  loop order {row.loop_order}; {row.tiles} tiles; weights fetched "
        f"{row.weight_fetches}x, inputs {row.input_fetches}x",
        f"  cycles {row.cycles} (compute {row.compute_cycles}, fill/drain "
        f"{row.fill_drain_cycles}, stall {row.stall_cycles}); DRAM {row.dram_cycles} cycles; "
        f"bound: {row.bound}",
        "  traffic per level (bytes, one instance):",
    ]
    levels: dict = {}
    for key, value in counts.items():
        parts = key.split(":")
        if parts[0] == "dram":
            levels.setdefault("DRAM", {})[f"{parts[1]} {parts[2].split('_')[0]}"] = value / 8
        elif parts[0] == "sram" and parts[3].endswith("_bits"):
            levels.setdefault(parts[1], {})[f"{parts[2]} {parts[3].split('_')[0]}"] = value / 8
    for level, figures in levels.items():
        text = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(figures.items()))
        lines.append(f"    {level}: {text}")
    return "\n".join(lines)
