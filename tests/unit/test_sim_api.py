"""simulate(): the public Stats contract and one-line errors for bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
GEMM = Workload("g", (Op("g", "gemm", M=64, N=64, K=64, repeat=3),))


def test_stats_contract_with_card_string_and_no_recipe():
    st = hwsim.simulate(ARCH / "bitmod.yaml", "llama-2-7b:prefill:256", mode="analytic")
    assert isinstance(st.cycles, int) and st.cycles > 0
    assert st.energy_pj > 0 and st.area_mm2 > 0
    assert st.latency_s == pytest.approx(st.cycles / 1e9)
    need = ["op", "kind", "M", "N", "K", "repeat", "cycles", "compute_cycles"]
    need += ["dram_cycles", "dram_bytes", "energy_pj"]
    assert set(need) <= set(st.ops.columns)
    assert (st.ops["cycles"] * st.ops["repeat"]).sum() == st.cycles
    assert st.macs == hwsim.load_workload("llama-2-7b:prefill:256").macs
    assert 0 < st.utilisation <= 1
    assert len(st.arch_hash) == len(st.workload_hash) == 16 and st.quant_hash == ""
    summary = st.summary()
    assert {"cycles", "energy_pj", "area_mm2"} <= set(summary)


def test_quant_override_changes_traffic_and_hash():
    base = simulate(ARCH / "tpu_int8.yaml", GEMM, mode="analytic")
    w4 = simulate(
        ARCH / "tpu_int8.yaml",
        GEMM,
        quant={"weight_bits": 4, "weight_format": "int4"},
        mode="analytic",
    )
    assert w4.dram_bytes < base.dram_bytes
    assert w4.quant_hash and w4.arch_hash != base.arch_hash


def test_breakdown_adds_up_in_event_mode():
    st = simulate(ARCH / "tpu_int8.yaml", "llama-2-7b:decode:64")
    b = st.breakdown
    assert b["compute"] + b["fill_drain"] + b["memory_stall"] + b["vector"] == st.cycles
    assert st.counts["pe:macs"] == st.macs
    hidden = simulate(ARCH / "bitmod.yaml", "llama-2-7b:decode:64").breakdown  # overlapped
    assert hidden["vector"] == 0 and hidden["vector_overlapped"] > 0


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(HwsimError, match=r"mode: expected one of event, analytic, scalesim"):
        simulate(ARCH / "tpu_int8.yaml", GEMM, mode="fast")
    with pytest.raises(HwsimError, match=r"quant: unknown field\(s\) bits"):
        simulate(ARCH / "tpu_int8.yaml", GEMM, quant={"bits": 4})
    with pytest.raises(HwsimError, match=r"quant: expected None, a dict"):
        simulate(ARCH / "tpu_int8.yaml", GEMM, quant=4)
    with pytest.raises(HwsimError, match=r"workload: expected a Workload"):
        simulate(ARCH / "tpu_int8.yaml", 42)
    with pytest.raises(HwsimError, match=r"arch: expected an Arch or a path"):
        simulate(42, GEMM)
    # a PE kind that cannot take the formats
    with pytest.raises(HwsimError, match=r"arch\.pe_array\.pe: int_mac"):
        simulate(ARCH / "tpu_int8.yaml", GEMM, quant={"weight_format": "float8_e4m3fn"})


def test_buffer_too_small_for_any_tile():
    arch = load_arch(ARCH / "tpu_int8.yaml")
    tiny = tuple(replace(lv, size_bytes=64) for lv in arch.memory)
    with pytest.raises(
        HwsimError,
        match=r"arch\.memory\[0\]\.size_bytes: buffer 'weight_fifo' "
        r"too small for any tile of op 'g'",
    ):
        simulate(replace(arch, memory=tiny), GEMM)


def test_counts_split_bytes_by_level_direction_and_operand():
    st = simulate(
        ARCH / "bitmod.yaml", Workload("g", (Op("g", "gemm", M=64, N=64, K=256),)), mode="analytic"
    )
    c = st.counts
    # outputs share the input buffer with the inputs, each counted under its own operand
    assert c["sram:ibuf:inputs:write_bits"] == 64 * 256 * 16  # filled once from DRAM
    assert c["sram:ibuf:outputs:write_bits"] == 64 * 64 * 16
    assert c["sram:ibuf:outputs:read_bits"] == 64 * 64 * 16  # written back to DRAM
    assert c["sram:wbuf:weights:write_bits"] == 64 * 256 * 4 + 64 * 2 * 8  # 4 b + g128 scales
    assert c["dram:outputs:write_bits"] == c["sram:ibuf:outputs:read_bits"]
