"""Row-stationary (Eyeriss: Chen, Emer and Sze, ISCA 2016, Sec. IV and Fig. 6): a spatial
mapping for convolutions the mapper may choose on a unit whose dataflow list names `rs`.

One fold is one 2-D convolution pass of a PE set (one GEMM instance = one conv group):
  PE rows   R filter rows of each of q = rows // R input channels stacked down a column (the
            psums of a column add up vertically, over the R rows and the q channels)
  PE cols   e = min(E, cols) output rows, one per column
  each PE   a 1-D convolution of its filter row (S taps) over one input row: F outputs, each
            ceil(S / dp) dp-wide steps, so a fold streams T = F * ceil(S / dp) steps
Reuse: a filter row is read once per fold and shared by the e PEs of its row (horizontal);
an input row is read once and shared along its diagonal (the PEs of filter row i and output
row j with i + j * stride equal), so a fold reads, per channel, (e - 1) * stride + R input rows
of W_in = (F - 1) * stride_w + S elements; each column writes its output row (F values) once
per fold; with several channel groups every non-final write is a partial sum, written and
read back for the accumulate at the accumulator's 32 bits (hwsim.sim.actions counts both).
Folds per instance: N filters x ceil(C / q) channel groups x ceil(E / cols) row tiles x
images, the channel groups innermost, so the live partial sums are one fold's e x F values.
As with the other dataflows, a partly filled last fold is counted as a whole one. Not
modelled: the replication of small PE sets across columns (Eyeriss packs several filters
side by side when E < cols), the PE scratch pads' own energy, dilation.

The mapper sees a fold's blocks as m = images x row tiles, n = filters, k = channel groups,
with nothing streamed across folds (mapper_blocks); its DRAM-level tiling is the one of the
GEMM dataflows.
"""

from __future__ import annotations

from math import ceil

from hwsim.errors import HwsimError
from hwsim.sim.dataflow import Dataflow
from hwsim.workload.op import Op


def row_stationary(op: Op, rows: int, cols: int, dp: int) -> RowStationary | None:
    """The row-stationary mapping of conv `op` on a rows x cols array (None: not a conv, or
    its filter has more rows than the array)."""
    c = op.conv
    if op.kind != "conv" or c is None or c.kernel[0] > rows:
        return None
    return RowStationary(op, rows, cols, dp)


class RowStationary(Dataflow):
    """Row-stationary bound to one conv shape and array (see the module docstring)."""

    name = "rs"
    stays = "rows"  # filter rows stay in the PEs, input rows pass diagonally

    def __init__(self, op: Op, rows: int, cols: int, dp: int):
        c = op.conv
        R, S = c.kernel
        E, F = c.out_hw
        channels = c.in_channels // max(1, c.groups)
        self.R, self.S, self.E, self.F = R, S, E, F
        self.q = min(rows // R, channels)
        self.e = min(E, cols)
        self.channel_groups = ceil(channels / self.q)
        self.row_tiles = ceil(E / cols)
        self.images = op.M // max(1, E * F)
        self.T = F * ceil(S / dp)
        self.in_rows = (self.e - 1) * c.stride[0] + R
        self.in_width = (F - 1) * c.stride[1] + S

    def mapper_blocks(self, extent: dict, rows: int, cols: int) -> tuple[dict, str | None]:
        return {"m": self.images * self.row_tiles, "n": extent["n"], "k": self.channel_groups}, None

    @property
    def fold_key(self):
        return (self.name, self.R, self.S, self.q, self.e, self.in_rows, self.in_width)

    def unrolling(self, rows, cols):
        """r3c2|e4: 3 filter rows x 2 channels down the rows, 4 output rows across."""
        return f"r{self.R}c{self.q}|e{self.e}"

    def dims(self, M, N, K, dp):
        return self.R * self.q, self.e, self.T

    def folds(self, M, N, K, dp, rows, cols):
        return N * self.channel_groups * self.row_tiles * self.images

    def operand_reads(self, rows, cols, T, dp):
        return self.R * self.q * self.S, self.q * self.in_rows * self.in_width

    def output_writes(self, rows, cols, T):
        return self.e * self.F

    def scalesim_dims(self, M, N, K):
        raise HwsimError("dataflow rs: SCALE-Sim has no row-stationary mode")
