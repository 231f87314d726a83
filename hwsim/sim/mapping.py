"""Mapping: one op -> a loop nest whose tiles fit the buffers, bytes per level, fold timing.

`map_op` is the fixed mapping (`mapping: fixed`, the default); hwsim.sim.mapper searches nests.
Fixed loop order (chosen to minimise DRAM traffic, reported as `loop_order`):
  weights_outer  weights are split into chunks that fit the weight buffer; the inputs are
                 streamed once per weight chunk (fetched ceil(W / Wcap) times)
  inputs_outer   inputs are split into chunks that fit the input buffer; the weights are
                 streamed once per input chunk (fetched ceil(I / Icap) times)
An operand that fits its buffer is fetched once. Inputs_outer is taken only when it moves
strictly fewer bytes, which is the BitMoD simulator's refetch rule (github
abdelfattah-lab/BitMoD-HPCA-25, commit a902a09, accelerator.py). Outputs cross DRAM once: the
partial sums stay on chip (in the PEs for os; in the outputs level across the row folds of
ws/is, priced in hwsim.sim.actions). As in that simulator, chunks are counted by bytes and
folds over the whole op (ceil(Sr / R) * ceil(Sc / C)), so a chunk stands for a packed set of
whole array folds, not for an N-slice of full K (tpu_int8's 4608 x 512 weights: 18 chunks of
128 KiB, each two of the 36 256 x 256 folds, not 28.4 output channels on 256 columns); tilings
on array blocks are the mapper's (hwsim.sim.mapper).

Operand bytes of one GEMM instance (C[M,N] = A[M,K] W[N,K]^T):
  W = ceil(K * w_bits / 8) * N   (w_bits: stored bits per element of the second operand:
                                  per weight incl. group scales, or per K / V element of an
                                  attention matmul, hwsim.sim.plan)
  I = ceil(K * a_bits / 8) * M   (a conv reads the pixels of its real feature map that some
                                  output's receptive field covers, not the im2col copy: all of
                                  them for a 3x3 stride-1 conv, one in four for 1x1 stride 2)
  O = ceil(N * a_bits / 8) * M
Grouped-query / multi-query attention (op.kv_group query heads per KV head): the group is one
instance with kv_group x I input and output bytes and one W (its K or V), as a GQA kernel
runs the heads sharing a KV head together; the array still computes each head's folds.
A buffer level holding both weights and inputs gives each half its tile capacity; outputs
stream out and take no capacity. A fold streams for max(ceil(T * step_cycles), the cycles the
buffers' ports need, `port_floor`): read_bytes_per_cycle and write_bytes_per_cycle are timing
limits. DRAM fills are limited by the DRAM channel only (the DMA path).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from math import ceil

from hwsim.errors import HwsimError
from hwsim.sim.pe_model import PEModel
from hwsim.spec.schema import Arch
from hwsim.workload.op import Op

ACC_BITS = 32  # partial sums: the INT32 / FP32 accumulators of the modelled arrays


@dataclass(frozen=True)
class OpMapping:
    """How one op (all its GEMM instances) runs on the array: a loop nest.

    DRAM level: loops over `order` (outer -> inner, letters of m, n, k) with m_tiles, n_tiles,
    k_tiles tiles; buffer level: one tile of each operand; array: `folds` folds per instance
    of `stream_steps` dp-wide steps, the unit's dataflow unrolling two dimensions onto rows and
    cols. A GQA/MQA attention op's instance is one KV head's group of query heads (their rows
    stacked), so K/V cross DRAM once per KV head.
    """

    op: Op
    instances: int  # independent GEMM instances (op.batch / op.kv_group)
    weight_bytes: int  # per GEMM instance
    input_bytes: int
    output_bytes: int
    weight_fetches: int  # times the weights cross the DRAM interface
    input_fetches: int
    order: str  # DRAM-level loops, outer -> inner ("nm": weights outer)
    m_tiles: int
    n_tiles: int
    k_tiles: int
    folds: int  # array folds per GEMM instance
    steps: int  # array steps per GEMM instance (BitMoD's "tiles")
    stream_steps: int  # T: dp-wide steps streamed per fold
    fold_cycles: int  # cycles of one fold (physical model)
    fill_drain_cycles: int  # part of fold_cycles spent filling and draining a systolic array
    step_cycles: Fraction  # cycles of one dp-wide step of one PE
    sram_stream_cycles: int = 0  # fewest cycles per fold the buffers' ports allow
    port: str = ""  # sram_read | sram_write: the port that sets the stream (else "")
    psum_bytes: int = 0  # partial sums spilled to DRAM and read back, per instance, each way
    search: str = "fixed"  # fixed, or the objective the mapper chose this nest for
    # data-dependent runs: stream cycles of every fold of every instance, in execution order
    fold_stream: tuple[int, ...] | None = None

    @property
    def compute_cycles(self) -> int:
        """PE-array cycles of the whole op instance."""
        if self.fold_stream is not None:
            return sum(self.fold_stream) + self.instances * self.folds * self.fill_drain_cycles
        return self.instances * self.folds * self.fold_cycles

    @property
    def loop_order(self) -> str:
        """weights_outer (the n loop above m) or inputs_outer; `+psums` when k is split."""
        base = "weights_outer" if self.order.index("n") < self.order.index("m") else "inputs_outer"
        return base + ("+psums" if self.psum_bytes else "+k_inner" if self.k_tiles > 1 else "")

    @property
    def outer_chunks(self) -> int:
        return self.n_tiles if self.order.index("n") < self.order.index("m") else self.m_tiles

    @property
    def inner_chunks(self) -> int:
        return self.m_tiles if self.order.index("n") < self.order.index("m") else self.n_tiles

    @property
    def dram_read_bytes(self) -> dict[str, int]:
        return {
            "weights": self.instances * self.weight_bytes * self.weight_fetches,
            "inputs": self.instances * self.input_bytes * self.input_fetches,
            "outputs": self.instances * self.psum_bytes,  # partial sums read back
        }

    @property
    def dram_write_bytes(self) -> dict[str, int]:
        return {"outputs": self.instances * (self.output_bytes + self.psum_bytes)}

    @property
    def dram_bytes(self) -> int:
        return sum(self.dram_read_bytes.values()) + sum(self.dram_write_bytes.values())

    @property
    def tiles(self) -> int:
        return self.instances * self.m_tiles * self.n_tiles * self.k_tiles


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
        pixels = 1
        for i in (0, 1):
            pixels *= read_extent(c.in_hw[i], c.out_hw[i], c.kernel[i], c.stride[i], c.padding[i])
        inputs = ceil(channels * pixels * a_bits / 8) * images
    else:
        inputs = ceil(op.K * a_bits / 8) * op.M
    outputs = ceil(op.N * a_bits / 8) * op.M
    return weights, inputs, outputs


@cache
def read_extent(size: int, out: int, kernel: int, stride: int, pad: int) -> int:
    """Input coordinates along one side that a conv reads: the union over its `out` outputs of
    the receptive fields [o * stride - pad, + kernel), clipped to the real map (padding is
    not fetched)."""
    if kernel >= stride:  # the fields touch or overlap: one contiguous span
        lo, hi = max(0, -pad), min(size, (out - 1) * stride - pad + kernel)
        return max(0, hi - lo)
    used = {o * stride - pad + f for o in range(out) for f in range(kernel)}
    return sum(1 for x in used if 0 <= x < size)


def map_op(
    arch: Arch, unit, op: Op, pe: PEModel, w_bits: float, a_bits: int, index_bytes: int = 0
) -> OpMapping:
    """Tile `op` onto compute unit `unit` (a hwsim.sim.plan.Unit) of `arch` (already
    specialised to the workload) with today's fixed rule, and time its folds. `index_bytes`:
    column indices the op reads with its inputs (the sparse part of an outlier split), per GEMM
    instance."""
    if op.kind == "vector":
        raise ValueError("vector ops are not mapped onto the PE array")
    arr, g = unit.array, op.kv_group
    W, I, O = operand_bytes(op, w_bits, a_bits)
    I, O = I * g + index_bytes, O * g  # a KV head's query heads share its K / V
    cap = capacities(arch)
    _check_fits(arch, arr, op, w_bits, a_bits, cap)
    w_chunks = ceil(W / cap["weights"])
    i_chunks = ceil(I / cap["inputs"])
    weights_outer = (W, I * w_chunks)  # (weight bytes, input bytes) moved
    inputs_outer = (W * i_chunks, I)
    if w_chunks > 1 and i_chunks > 1 and sum(inputs_outer) < sum(weights_outer):
        order, wf, if_ = "mn", i_chunks, 1
    else:
        order, wf, if_ = "nm", 1, w_chunks
        if w_chunks == 1 or i_chunks == 1:
            wf = if_ = 1  # one operand stays resident: both cross DRAM once
    df = unit.dataflow
    dp = arr.dot_product_width
    T = df.stream_steps(op.M, op.N, op.K, dp)
    folds = df.folds(op.M, op.N, op.K, dp, arr.rows, arr.cols) * g
    floor, port = port_floor(arch, unit, T, w_bits, a_bits, a_bits)
    fold = df.fold_cycles(T, pe.step_cycles, arr.rows, arr.cols, arr.systolic, floor)
    return OpMapping(
        op=op,
        instances=op.batch // g,
        weight_bytes=W,
        input_bytes=I,
        output_bytes=O,
        weight_fetches=wf,
        input_fetches=if_,
        order=order,
        m_tiles=i_chunks,
        n_tiles=w_chunks,
        k_tiles=1,
        folds=folds,
        steps=folds * T,
        stream_steps=T,
        fold_cycles=fold,
        fill_drain_cycles=fold - max(ceil(T * pe.step_cycles), floor),
        step_cycles=pe.step_cycles,
        sram_stream_cycles=floor,
        port=port if floor > ceil(T * pe.step_cycles) else "",
    )


def port_floor(arch: Arch, unit, T: int, w_bits: float, a_bits: int, o_bits: float):
    """(fewest cycles the buffers' ports allow one fold of T steps, the port that sets it).

    Reads: the operands the array takes per fold (dataflow.operand_reads) from each level's
    read port; a level holding both weights and inputs serves both. The stationary operand
    (what operand_reads counts at T = 0: ws weights, is inputs) is preloaded before the
    stream; a systolic fold's fill/drain already holds R cycles of that preload (2R + C - 2),
    so only the preload's port cycles beyond R count here. Writes: the fold's outputs
    (dataflow.output_writes, at `o_bits`: partial sums when the reduction is split) into the
    outputs level's write port. Banks: a single-bank level serving reads and writes in one fold
    serialises them (one array, one port); with two or more banks the operands sit in separate
    banks and reads and writes overlap.
    """
    arr, df = unit.array, unit.dataflow
    dp = arr.dot_product_width
    elems = df.operand_reads(arr.rows, arr.cols, T, dp)
    pre = df.operand_reads(arr.rows, arr.cols, 0, dp)
    credit = arr.rows if arr.systolic else 0
    streamed: dict[str, float] = {}
    preload: dict[str, float] = {}
    for operand, total, fixed, bits in zip(
        ("weights", "inputs"), elems, pre, (w_bits, a_bits), strict=True
    ):
        name = arch.level_for(operand).name
        streamed[name] = streamed.get(name, 0.0) + (total - fixed) * bits / 8
        preload[name] = preload.get(name, 0.0) + fixed * bits / 8
    out_level = arch.level_for("outputs")
    writes = {out_level.name: df.output_writes(arr.rows, arr.cols, T) * o_bits / 8}
    best, port = 0, ""
    for level in arch.memory:
        bw = level.read_bytes_per_cycle
        r = _port_cycles(streamed.get(level.name, 0.0), bw)
        r += max(0, _port_cycles(preload.get(level.name, 0.0), bw) - credit)
        w = _port_cycles(writes.get(level.name, 0.0), level.write_bytes_per_cycle)
        both = r + w if level.banks == 1 and r and w else max(r, w)
        if both > best:
            best, port = both, "sram_read" if r >= w else "sram_write"
    return best, port


def _port_cycles(nbytes: float, bytes_per_cycle: float) -> int:
    return ceil(nbytes / bytes_per_cycle - 1e-9) if nbytes else 0


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
