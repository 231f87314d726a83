"""Mapping: one op -> tiles that fit the buffers, bytes per level and operand, compute cycles.

Loop order (chosen to minimise DRAM traffic, reported as `loop_order`):
  weights_outer  weights are split into chunks that fit the weight buffer; the inputs are
                 streamed once per weight chunk (fetched ceil(W / Wcap) times)
  inputs_outer   inputs are split into chunks that fit the input buffer; the weights are
                 streamed once per input chunk (fetched ceil(I / Icap) times)
An operand that fits its buffer is fetched once. Inputs_outer is taken only when it moves
strictly fewer bytes, which is the BitMoD simulator's refetch rule (a902a09 accelerator.py). Outputs
are written back once (the reduction is never split: every PE owns full-K partial sums).

Operand bytes of one GEMM instance (C[M,N] = A[M,K] W[N,K]^T):
  W = ceil(K * w_bits / 8) * N   (w_bits: stored bits per element of the second operand:
                                  per weight incl. group scales, or per K / V element of an
                                  attention matmul, hwsim.sim.plan)
  I = ceil(K * a_bits / 8) * M   (a conv reads its real feature map, not the im2col copy)
  O = ceil(N * a_bits / 8) * M
A buffer level holding both weights and inputs gives each half its tile capacity; outputs
stream out and take no capacity. A fold streams for max(ceil(T * step_cycles), the cycles the
buffers' read ports need to deliver its operands): read_bytes_per_cycle is a timing limit.
DRAM fills are limited by the DRAM channel only (buffer write ports are not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import ceil

from hwsim.errors import HwsimError
from hwsim.sim.pe_model import PEModel
from hwsim.spec.schema import Arch
from hwsim.workload.op import Op


@dataclass(frozen=True)
class OpMapping:
    """How one op (all `batch` GEMMs of one instance) runs on the array."""

    op: Op
    instances: int  # independent GEMMs (op.batch)
    weight_bytes: int  # per GEMM instance
    input_bytes: int
    output_bytes: int
    weight_fetches: int  # times the weights cross the DRAM interface
    input_fetches: int
    loop_order: str  # weights_outer | inputs_outer
    outer_chunks: int  # chunks of the stationary (outer) operand
    inner_chunks: int  # chunks of the streamed operand per outer chunk (1: resident)
    folds: int  # array folds per GEMM instance
    steps: int  # array steps per GEMM instance (BitMoD's "tiles")
    stream_steps: int  # T: dp-wide steps streamed per fold
    fold_cycles: int  # cycles of one fold (physical model)
    fill_drain_cycles: int  # part of fold_cycles spent filling and draining a systolic array
    step_cycles: Fraction  # cycles of one dp-wide step of one PE
    sram_stream_cycles: int = 0  # fewest cycles per fold the buffers' read ports allow
    # data-dependent runs: stream cycles of every fold of every instance, in execution order
    fold_stream: tuple[int, ...] | None = None

    @property
    def compute_cycles(self) -> int:
        """PE-array cycles of the whole op instance."""
        if self.fold_stream is not None:
            return sum(self.fold_stream) + self.instances * self.folds * self.fill_drain_cycles
        return self.instances * self.folds * self.fold_cycles

    @property
    def dram_read_bytes(self) -> dict[str, int]:
        return {
            "weights": self.instances * self.weight_bytes * self.weight_fetches,
            "inputs": self.instances * self.input_bytes * self.input_fetches,
        }

    @property
    def dram_write_bytes(self) -> dict[str, int]:
        return {"outputs": self.instances * self.output_bytes}

    @property
    def dram_bytes(self) -> int:
        return sum(self.dram_read_bytes.values()) + sum(self.dram_write_bytes.values())

    @property
    def tiles(self) -> int:
        return self.instances * self.outer_chunks * self.inner_chunks


def capacities(arch: Arch) -> dict[str, int]:
    """Tile capacity in bytes available to weights and to inputs."""
    out = {}
    for operand in ("weights", "inputs"):
        level = arch.level_for(operand)
        sharing = sum(1 for o in ("weights", "inputs") if o in level.operands)
        out[operand] = level.tile_capacity_bytes // sharing
    return out


def operand_bytes(op: Op, w_bits: float, a_bits: int) -> tuple[int, int, int]:
    """(W, I, O) bytes of one GEMM instance."""
    weights = ceil(op.K * w_bits / 8) * op.N
    if op.kind == "conv" and op.conv is not None:
        c = op.conv
        images = op.M // max(1, c.out_hw[0] * c.out_hw[1])
        channels = c.in_channels // max(1, c.groups)
        inputs = ceil(channels * c.in_hw[0] * c.in_hw[1] * a_bits / 8) * images
    else:
        inputs = ceil(op.K * a_bits / 8) * op.M
    outputs = ceil(op.N * a_bits / 8) * op.M
    return weights, inputs, outputs


def map_op(
    arch: Arch, unit, op: Op, pe: PEModel, w_bits: float, a_bits: int, index_bytes: int = 0
) -> OpMapping:
    """Tile `op` onto compute unit `unit` (a hwsim.sim.plan.Unit) of `arch` (already
    specialised to the workload) and time its folds. `index_bytes`: column indices the op
    reads with its inputs (the sparse part of an outlier split), per GEMM instance."""
    if op.kind == "vector":
        raise ValueError("vector ops are not mapped onto the PE array")
    arr = unit.array
    W, I, O = operand_bytes(op, w_bits, a_bits)
    I += index_bytes
    cap = capacities(arch)
    _check_fits(arch, arr, op, w_bits, a_bits, cap)
    w_chunks = ceil(W / cap["weights"])
    i_chunks = ceil(I / cap["inputs"])
    weights_outer = (W, I * w_chunks)  # (weight bytes, input bytes) moved
    inputs_outer = (W * i_chunks, I)
    if w_chunks > 1 and i_chunks > 1 and sum(inputs_outer) < sum(weights_outer):
        order, wf, if_, outer, inner = "inputs_outer", i_chunks, 1, i_chunks, w_chunks
    else:
        order, wf, if_, outer, inner = "weights_outer", 1, w_chunks, w_chunks, i_chunks
        if w_chunks == 1 or i_chunks == 1:
            wf = if_ = 1  # one operand stays resident: both cross DRAM once
    df = unit.dataflow
    sr, sc, T = df.dims(op.M, op.N, op.K, arr.dot_product_width)
    folds = ceil(sr / arr.rows) * ceil(sc / arr.cols)
    floor = sram_stream_floor(arch, arr, df, T, w_bits, a_bits)
    fold = df.fold_cycles(T, pe.step_cycles, arr.rows, arr.cols, arr.systolic, floor)
    return OpMapping(
        op=op,
        instances=op.batch,
        weight_bytes=W,
        input_bytes=I,
        output_bytes=O,
        weight_fetches=wf,
        input_fetches=if_,
        loop_order=order,
        outer_chunks=outer,
        inner_chunks=inner,
        folds=folds,
        steps=folds * T,
        stream_steps=T,
        fold_cycles=fold,
        fill_drain_cycles=fold - max(ceil(T * pe.step_cycles), floor),
        step_cycles=pe.step_cycles,
        sram_stream_cycles=floor,
    )


def sram_stream_floor(arch: Arch, arr, dataflow, T: int, w_bits: float, a_bits: int) -> int:
    """Fewest cycles the buffers need to deliver one fold's operands at their read bandwidth.

    A level holding both weights and inputs serves both from its read port; a fold can stream
    no faster than its busiest level allows. `arr` is the unit's PEArray.
    """
    w_el, i_el = dataflow.operand_reads(arr.rows, arr.cols, T, arr.dot_product_width)
    demand: dict[str, float] = {}
    for operand, nbytes in (("weights", w_el * w_bits / 8), ("inputs", i_el * a_bits / 8)):
        name = arch.level_for(operand).name
        demand[name] = demand.get(name, 0.0) + nbytes
    levels = {level.name: level for level in arch.memory}
    return max(ceil(b / levels[name].read_bytes_per_cycle - 1e-9) for name, b in demand.items())


def _check_fits(arch: Arch, arr, op: Op, w_bits, a_bits, cap) -> None:
    """The smallest tile (one array step of each operand) must fit its buffer."""
    need = {
        "weights": ceil(arr.rows * arr.dot_product_width * w_bits / 8),
        "inputs": ceil(arr.cols * arr.dot_product_width * a_bits / 8),
    }
    for operand, n in need.items():
        if cap[operand] < n:
            level = arch.level_for(operand)
            idx = arch.memory.index(level)
            raise HwsimError(
                f"arch.memory[{idx}].size_bytes: buffer {level.name!r} too small for any tile of "
                f"op {op.name!r} ({operand} need {n} bytes, have {cap[operand]}) ({arch.source})"
            )


def scalesim_rows(op: Op) -> int:
    """M as SCALE-Sim counts it: a conv's output pixels use ceil((in - k + s) / s) per side.

    SCALE-Sim's topology has no padding (its IFMAP is the padded input, as
    hwsim.workload.io writes it) and rounds the output size up, so a conv whose stride does
    not divide (in + 2p - k) gets one more output row and column than the usual
    floor((in + 2p - k) / s) + 1 (e.g. 224x224, 7x7, stride 2: 110 x 110, not 109 x 109).
    """
    c = op.conv
    if c is None:
        return op.M
    images = op.M // max(1, c.out_hw[0] * c.out_hw[1])
    sides = [
        ceil((c.in_hw[i] + 2 * c.padding[i] - c.kernel[i] + c.stride[i]) / c.stride[i])
        for i in (0, 1)
    ]
    return images * sides[0] * sides[1]


def scalesim_cycles(unit, op: Op) -> int:
    """SCALE-Sim's 'Total Cycles' for the op's GEMMs (each batch instance a layer) on `unit`."""
    arr = unit.array
    return op.batch * unit.dataflow.scalesim_total(
        scalesim_rows(op), op.N, op.K, arr.rows, arr.cols
    )


def vector_cycles(arch: Arch, op: Op) -> int:
    """Cycles of a vector op on the vector unit."""
    vu = arch.vector_unit
    per = vu.cycles_per_element.get(op.vector_kind, 1)
    return ceil(op.elements / vu.lanes) * per
