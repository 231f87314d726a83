"""Action counts of one op instance, keyed `component:action` (priced later by hwsim.cost).

pe:<key>                 the PE's expected counts per MAC (hwsim.pe ActionCounts keys) x MACs
pe:macs                  multiply-accumulates
pe:active_cycles         PEs x cycles the array computes (BitMoD prices a PE per cycle)
sram:<level>:<operand>:read_bits    bits the level delivers (operands to the array, outputs
                                    to DRAM, partial sums back to the accumulate); operand is
                                    weights, inputs or outputs
sram:<level>:<operand>:write_bits   bits written into the level (fills from DRAM, outputs
                                    and partial sums from the array)
sram:<level>:<operand>:reads        full-width read accesses (one per array step)
dram:<operand>:read_bits / dram:outputs:write_bits
vector:<kind>            elements through the vector unit; vector:cycles its busy cycles

The array's operand reads and output writes are summed over the op's folds at the rows and
columns each fold uses (a fold holding 147 of 256 reduction rows reads 147 rows' operands).
An output whose reduction spans r folds is written r times and read back r - 1 times for the
accumulate (read-modify-write); the r - 1 partial sums move at the accumulator's width
(hwsim.sim.mapping.ACC_BITS), the final write at the output's.
"""

from __future__ import annotations

from hwsim.sim.mapping import ACC_BITS, OpMapping
from hwsim.spec.schema import Arch
from hwsim.workload.op import Op


def gemm_counts(
    arch: Arch, unit, m: OpMapping, pe, w_bits: float, a_bits: int, array_cycles: int
) -> dict:
    """Counts of one mapped GEMM/conv/attention op instance on `unit` (hwsim.sim.plan.Unit)."""
    arr, dataflow = unit.array, unit.dataflow
    macs = m.op.macs
    out: dict[str, float] = {f"pe:{k}": v * macs for k, v in pe.counts_per_mac.items()}
    out["pe:macs"] = macs
    out["pe:active_cycles"] = arr.pes * array_cycles
    w_elems = i_elems = out_elems = 0
    for rows, cols, n in _folds_by_use(unit, m):
        w, i = dataflow.operand_reads(rows, cols, m.stream_steps, arr.dot_product_width)
        w_elems, i_elems = w_elems + n * w, i_elems + n * i
        out_elems += n * dataflow.output_writes(rows, cols, m.stream_steps)
    per = m.instances
    levels = {
        "weights": arch.level_for("weights").name,
        "inputs": arch.level_for("inputs").name,
        "outputs": arch.level_for("outputs").name,
    }

    def add(operand: str, action: str, value: float) -> None:
        key = f"sram:{levels[operand]}:{operand}:{action}"
        out[key] = out.get(key, 0) + value

    add("weights", "read_bits", per * w_elems * w_bits)  # w_bits: the second operand's
    add("inputs", "read_bits", per * i_elems * a_bits)
    add("weights", "reads", m.instances * m.steps)
    add("inputs", "reads", m.instances * m.steps)
    reads, writes = m.dram_read_bytes, m.dram_write_bytes
    add("weights", "write_bits", reads["weights"] * 8)
    add("inputs", "write_bits", reads["inputs"] * 8)
    # outputs: written by the array (partial sums read back from DRAM are written again) and
    # read out to DRAM
    add("outputs", "write_bits", (writes["outputs"] + reads["outputs"]) * 8)
    add("outputs", "read_bits", writes["outputs"] * 8)
    psums = m.instances * (out_elems - m.op.M * m.op.N * m.op.kv_group)
    if psums > 0:  # each non-final write, and the read that accumulates onto it
        add("outputs", "write_bits", psums * ACC_BITS)
        add("outputs", "read_bits", psums * ACC_BITS)
    out["dram:weights:read_bits"] = reads["weights"] * 8
    out["dram:inputs:read_bits"] = reads["inputs"] * 8
    if reads["outputs"]:
        out["dram:outputs:read_bits"] = reads["outputs"] * 8
    out["dram:outputs:write_bits"] = writes["outputs"] * 8
    return out


def _folds_by_use(unit, m: OpMapping) -> list[tuple[int, int, int]]:
    """(rows used, cols used, folds) of one instance's folds (Dataflow.fold_uses). The fixed
    mapping folds each query head of a GQA group alone; the mapper stacks the group's heads
    as one GEMM (hwsim.sim.mapper)."""
    arr, op = unit.array, m.op
    M = op.M if m.search == "fixed" else op.M * op.kv_group
    try:
        return unit.dataflow.fold_uses(
            M, op.N, op.K, arr.dot_product_width, arr.rows, arr.cols, m.folds
        )
    except ValueError as e:
        raise ValueError(f"op {op.name!r}: {e}") from None


def vector_counts(op: Op, cycles: int) -> dict:
    """Counts of one vector op instance."""
    return {f"vector:{op.vector_kind or 'elementwise'}": op.elements, "vector:cycles": cycles}
