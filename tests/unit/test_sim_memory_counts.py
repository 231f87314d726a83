"""Memory-system counts of the fixed mapping, each derived by hand on a tiny GEMM or conv:
partial sums per reduction fold, part-filled folds, a strided conv's input footprint, and the
stationary operand's preload counted once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.sim import simulate
from hwsim.sim.mapping import ACC_BITS, map_op, operand_bytes, read_extent
from hwsim.sim.pe_model import pe_model
from hwsim.sim.plan import resolve_unit
from hwsim.spec import load_arch
from hwsim.workload.op import ConvShape, Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"


def tpu8(weight_port: float = 256):
    """tpu_int8 (ws, systolic, INT8) shrunk to an 8x8 array; `weight_port`: the weight
    level's read bytes per cycle."""
    arch = load_arch(ARCH / "tpu_int8.yaml")
    arr = replace(arch.pe_array, rows=8, cols=8)
    w = arch.level_for("weights")
    mem = tuple(replace(lv, read_bytes_per_cycle=weight_port) if lv is w else lv
                for lv in arch.memory)  # fmt: skip
    return replace(arch, pe_array=arr, memory=mem)


def counts(arch, op):
    st = simulate(arch, Workload("w", (op,)), mode="analytic")
    return st.op_counts[0]


def test_partial_sums_cost_a_read_and_a_write_per_reduction_fold_at_accumulator_width():
    # K = 20 on 8 rows: folds of 8, 8 and 4 reduction rows; N = 12 on 8 cols: 8 and 4.
    # Every fold writes its used cols x M outputs: 3 x (8 + 4) x 5 = 180 writes of 60 outputs,
    # so 120 are partial sums, each written and read back once, at 32 bits; the 60 finals
    # are written at 8 bits and read out to DRAM at 8 bits.
    c = counts(tpu8(), Op("g", "gemm", M=5, N=12, K=20))
    assert c["sram:accumulators:outputs:write_bits"] == 60 * 8 + 120 * ACC_BITS
    assert c["sram:accumulators:outputs:read_bits"] == 60 * 8 + 120 * ACC_BITS
    # K within one fold: no partial sums, one write and one read per output
    one = counts(tpu8(), Op("g", "gemm", M=5, N=12, K=8))
    assert one["sram:accumulators:outputs:write_bits"] == 60 * 8
    assert one["sram:accumulators:outputs:read_bits"] == 60 * 8


def test_part_filled_folds_read_only_the_rows_and_cols_they_use():
    # ws: a fold reads its used rows x cols of weights once and streams M tokens over its used
    # rows. Folds (rows, cols): (8, 8) x2, (8, 4) x2, (4, 8), (4, 4): weights 20 x 12 = 240
    # (not 6 full folds x 64 = 384); inputs 20 rows x 5 tokens x 2 col blocks = 200 (not 240).
    c = counts(tpu8(), Op("g", "gemm", M=5, N=12, K=20))
    assert c["sram:weight_fifo:weights:read_bits"] == 240 * 8
    assert c["sram:unified_buffer:inputs:read_bits"] == 200 * 8


@pytest.mark.parametrize(
    "size, out, kernel, stride, pad, expect",
    [
        (8, 4, 1, 2, 0, 4),  # 1x1 stride 2: every other coordinate, 0 2 4 6
        (8, 3, 2, 3, 0, 6),  # 2 wide, stride 3: 0 1, 3 4, 6 7
        (56, 56, 3, 1, 1, 56),  # 3x3 stride 1 padded: the whole side
        (7, 4, 3, 2, 1, 7),  # 3x3 stride 2 padded: -1..7 clipped to 0..6
        (9, 3, 1, 4, 0, 3),  # 1x1 stride 4: 0 4 8
    ],
)
def test_conv_reads_the_union_of_its_receptive_fields(size, out, kernel, stride, pad, expect):
    assert read_extent(size, out, kernel, stride, pad) == expect


def test_strided_1x1_conv_fetches_one_input_pixel_in_four():
    # 4 -> 8 channels, 1x1 stride 2 on 8x8: 4 x 4 outputs read 16 of the 64 pixels per
    # channel: 4 x 16 = 64 input bytes at INT8 (the whole map would be 256)
    conv = ConvShape(4, 8, (1, 1), (2, 2), (0, 0), (8, 8), (4, 4))
    op = Op("ds", "conv", M=16, N=8, K=4, conv=conv)
    assert operand_bytes(op, 8, 8) == (8 * 4, 64, 16 * 8)
    c = counts(tpu8(), op)
    assert c["dram:inputs:read_bits"] == 64 * 8


def fold(arch, op):
    unit = resolve_unit(arch, arch.units[0])
    p = arch.precision
    pe = pe_model(unit, p, p.activation_format, p.weight_format)
    return map_op(arch, unit, op, pe, p.weight_bits, p.activation_bits)


def test_weight_preload_is_counted_once_in_a_weight_stationary_fold():
    # 8x8 ws systolic, one fold of M = 2 tokens: fill/drain 2R + C - 2 = 22 holds the
    # R = 8-cycle preload of the 64 weight bytes. An 8 B/cycle weight port loads them in
    # exactly those 8 cycles, so the stream is the 2 tokens: 2 + 22 = 24 (the preload was also
    # charged as an 8-cycle port floor before: 30).
    op = Op("g", "gemm", M=2, N=8, K=8)
    m = fold(tpu8(weight_port=8), op)
    assert (m.fold_cycles, m.fill_drain_cycles, m.port) == (24, 22, "")
    # a 4 B/cycle port needs 16 cycles for the preload: 8 beyond R set the stream
    m = fold(tpu8(weight_port=4), op)
    assert (m.fold_cycles, m.fill_drain_cycles, m.port) == (30, 22, "sram_read")
