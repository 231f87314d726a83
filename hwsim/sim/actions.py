"""Action counts of one op instance, keyed `component:action` (priced later by hwsim.cost).

pe:<key>                 the PE's expected counts per MAC (hwsim.pe ActionCounts keys) x MACs
pe:macs                  multiply-accumulates
pe:active_cycles         PEs x cycles the array computes (BitMoD prices a PE per cycle)
sram:<level>:<operand>:read_bits    bits the level delivers (operands to the array, outputs
                                    to DRAM); operand is weights, inputs or outputs
sram:<level>:<operand>:write_bits   bits written into the level (fills from DRAM, outputs
                                    from the array)
sram:<level>:<operand>:reads        full-width read accesses (one per array step)
dram:<operand>:read_bits / dram:outputs:write_bits
vector:<kind>            elements through the vector unit; vector:cycles its busy cycles
"""

from __future__ import annotations

from hwsim.sim.mapping import OpMapping
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
    w_elems, i_elems = dataflow.operand_reads(
        arr.rows, arr.cols, m.stream_steps, arr.dot_product_width
    )
    per = m.instances * m.folds
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
    out["dram:weights:read_bits"] = reads["weights"] * 8
    out["dram:inputs:read_bits"] = reads["inputs"] * 8
    if reads["outputs"]:
        out["dram:outputs:read_bits"] = reads["outputs"] * 8
    out["dram:outputs:write_bits"] = writes["outputs"] * 8
    return out


def vector_counts(op: Op, cycles: int) -> dict:
    """Counts of one vector op instance."""
    return {f"vector:{op.vector_kind or 'elementwise'}": op.elements, "vector:cycles": cycles}
