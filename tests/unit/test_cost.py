"""Cost model: energy roll-up by hand, re-costing, scaling, SRAM/DRAM tables, FPGA resources."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.cost import (
    action_pj,
    arch_datapath,
    area_scale,
    energy_scale,
    kulisch_bits,
    load_profile,
    profile_names,
    recost,
    sram_pj_per_bit,
)
from hwsim.cost.fpga import fpga_resources, mult_luts
from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ROOT = Path(__file__).resolve().parents[2]
ARCH = ROOT / "hwsim" / "data" / "arch"


@pytest.fixture
def tiny(tmp_path):
    from test_spec import TINY  # tests/unit is on sys.path (pytest's prepend import mode)

    p = tmp_path / "tiny.yaml"
    p.write_text(TINY)
    return load_arch(p)


def test_energy_roll_up_by_hand(tiny):
    st = simulate(tiny, Workload("w", (Op("g", "gemm", M=4, N=4, K=8),)), mode="analytic")
    # int_mac datapath per MAC: 8x8 multiplier, 32-bit accumulator add, accumulator and
    # activation registers written (40 bits)
    pe_mult, pe_acc, pe_reg = 128 * 0.00305 * 64, 128 * 0.0035 * 32, 128 * 0.0110 * 40
    dram = (32 + 32 + 16) * 8 * 8.0  # W, I, O bytes at LPDDR4 8 pJ/bit
    e64_w = 10.0 * (4096 / 8192) ** 0.47  # wbuf: one 4 KiB bank
    e64_i = 10.0 * (2048 / 8192) ** 0.47  # ibuf: two 2 KiB banks
    wbuf = (256 + 256) * e64_w / 64  # array reads 4 rows x 8 steps x 8 b; DRAM fill 256 b
    ibuf = (256 + 256 + 128 + 128) * e64_i / 64  # reads, fill, outputs in, outputs out
    # leakage: Aladdin 40 nm densities carried to 45 nm, over the priced area, for st.cycles
    node = energy_scale(40, 45) / area_scale(40, 45)
    reg_um2 = 4.3092 * area_scale(40, 45)
    pe_um2 = 16 * (4.4 * 64 + 4.3 * 32 + reg_um2 * 40)
    vector_um2 = 4 * (4.4 * 256 + 4.3 * 16)
    sram_um2 = 2 * 4096 * 8 * 0.494
    leak_w = ((pe_um2 + vector_um2) * 11.06 + sram_um2 * 1.236) * node * 1e-9
    leak = leak_w * st.cycles / 1e9 * 1e12  # 1 GHz clock
    e = st.energy_breakdown_pj
    assert e["pe:multiplier"] == pytest.approx(pe_mult, rel=1e-12)
    assert e["pe:accumulator"] == pytest.approx(pe_acc, rel=1e-12)
    assert e["pe:registers"] == pytest.approx(pe_reg, rel=1e-12)
    assert e["dram"] == pytest.approx(dram, rel=1e-12)
    assert e["sram:wbuf"] == pytest.approx(wbuf, rel=1e-12)
    assert e["sram:ibuf"] == pytest.approx(ibuf, rel=1e-12)
    assert e["leakage"] == pytest.approx(leak, rel=1e-9)
    total = pe_mult + pe_acc + pe_reg + dram + wbuf + ibuf + leak
    assert st.energy_pj == pytest.approx(total, rel=1e-12)
    assert st.ops["energy_pj"].iloc[0] == pytest.approx(st.energy_pj, rel=1e-12)
    assert st.area_mm2 == pytest.approx((pe_um2 + vector_um2 + sram_um2) / 1e6, rel=1e-12)


def test_recost_needs_no_resimulation():
    st = simulate(ARCH / "tpu_int8.yaml", "llama-2-7b:decode:128", mode="analytic")
    other = recost(st, "accelergy40")
    assert other.cycles == st.cycles and other.counts == st.counts
    assert other.profile == "accelergy40" and other.energy_pj != st.energy_pj
    direct = simulate(
        ARCH / "tpu_int8.yaml", "llama-2-7b:decode:128", mode="analytic", profile="accelergy40"
    )
    assert direct.energy_pj == pytest.approx(other.energy_pj, rel=1e-12)
    assert recost(other, "horowitz45").energy_pj == pytest.approx(st.energy_pj, rel=1e-12)


def test_per_op_energy_times_repeat_sums_to_total():
    st = simulate(ARCH / "tpu_int8.yaml", "llama-2-7b:prefill:64")
    assert (st.ops["energy_pj"] * st.ops["repeat"]).sum() == pytest.approx(st.energy_pj, rel=1e-9)


def test_technology_scaling_hits_stillmaker_baas_points():
    assert energy_scale(45, 7) == pytest.approx(0.094)
    assert area_scale(45, 7) == pytest.approx(0.059)
    assert energy_scale(45, 16) == pytest.approx(0.17)
    assert area_scale(45, 16) == pytest.approx(0.19)
    assert energy_scale(65, 45) == pytest.approx(0.81)
    assert area_scale(65, 45) == pytest.approx(0.66)
    assert energy_scale(45, 45) == 1.0
    assert 0.17 < energy_scale(45, 28) < 1.0  # interpolated between 45 and 16 nm
    assert energy_scale(28, 45) == pytest.approx(1 / energy_scale(45, 28))


def test_sram_fit_reproduces_horowitz_points():
    prof = load_profile("horowitz45")
    from hwsim.spec.schema import MemoryLevel

    def e64(size):
        return 64 * sram_pj_per_bit(MemoryLevel("m", size, 1, 64, 8, 8, ("inputs",)), prof)

    assert e64(8 * 1024) == pytest.approx(10.0)
    assert e64(32 * 1024) == pytest.approx(20.0, rel=0.05)
    assert e64(1024 * 1024) == pytest.approx(100.0, rel=0.05)
    banked = MemoryLevel("m", 1024 * 1024, 16, 64, 8, 8, ("inputs",))
    assert sram_pj_per_bit(banked, prof) < e64(1024 * 1024) / 64  # banks shrink accesses


def test_bit_width_formulas():
    prof = load_profile("horowitz45")
    assert action_pj("mul.8x4", prof) == pytest.approx(action_pj("mul.8x8", prof) / 2)
    assert action_pj("mul.8x8", prof) == pytest.approx(0.2, rel=0.03)  # Horowitz int8 mult
    assert action_pj("mul.32x32", prof) == pytest.approx(3.1, rel=0.03)  # int32 mult
    assert action_pj("add.32", prof) == pytest.approx(0.1, rel=0.15)  # int32 add
    assert action_pj("add.16", prof) == pytest.approx(action_pj("add.32", prof) / 2)
    assert action_pj("term", prof) == 0.0  # informational: its AND/shift work is counted
    assert action_pj("fadd.32", prof) == 0.9 and action_pj("fmul.16", prof) == 1.1
    assert action_pj("dsp.27x18", prof) == pytest.approx(0.00305 * 27 * 18)
    assert action_pj("popcount.8", prof) is None
    assert [kulisch_bits(e, m) for e, m in ((2, 1), (3, 2), (4, 3), (5, 2))] == [10, 20, 38, 68]


@pytest.mark.parametrize("name", ["horowitz45", "accelergy40", "bitmod28", "bitfusion"])
def test_profiles_load_with_a_source_per_entry(name):
    prof = load_profile(name)
    assert name in profile_names()
    n_values = len(prof.entries) + len(prof.dram_pj_per_bit) + len(prof.pe_pj_per_cycle)
    assert len(prof.sources) == n_values + len(prof.pe_um2)
    assert all(src.strip() for src in prof.sources.values())


def test_cost_errors():
    with pytest.raises(HwsimError, match=r"unknown cost profile 'horowitz'"):
        load_profile("horowitz")
    arch = load_arch(ARCH / "tpu_int8.yaml")
    arch = replace(arch, dram=replace(arch.dram, type="ddr9"))
    with pytest.raises(HwsimError, match=r"arch\.dram\.type: profile 'horowitz45' has no energy"):
        simulate(arch, Workload("w", (Op("g", "gemm", M=8, N=8, K=8),)))
    with pytest.raises(
        HwsimError, match=r"prices PEs per cycle but has no entry for int_mac:dp=1:a=8:w=8"
    ):
        one = Workload("w", (Op("g", "gemm", M=1, N=1, K=1),))
        simulate(load_arch(ARCH / "tpu_int8.yaml"), one, profile="bitmod28")


def test_bitfusion_profile_prices_fusion_units_by_precision():
    arch = load_arch(ARCH / "tpu_int8.yaml")
    arch = replace(arch, technology=replace(arch.technology, node_nm=45))
    st = simulate(
        arch,
        Workload("w", (Op("g", "gemm", M=64, N=64, K=64),)),
        mode="analytic",
        profile="bitfusion",
    )
    active = st.counts["pe:active_cycles"]
    assert st.energy_breakdown_pj["pe"] == pytest.approx(active * 171.8e-6 / 500e6 * 1e12)


def test_fpga_luts_by_hand_and_fit():
    assert mult_luts(4, 4) == (2 * 2 - 1) * 8
    arch = load_arch(ARCH / "fpga_zcu104.yaml")
    rep = fpga_resources(arch, arch_datapath(arch))
    # per MAC: an 8x8 product packed two to a DSP48E2 (8 + 8 LUTs of sign correction for the
    # second), half a 17-bit adder-tree add and half a 32-bit accumulator add (2 lanes);
    # 768 PEs x 2 lanes
    per_mac = (8 + 8) / 2 + 17 / 2 + 32 / 2
    assert rep.luts == -(-(300 + 1.1 * 1536 * per_mac) // 1)
    assert rep.ffs == 1536 * (32 / 2 + 8)  # accumulator and activation registers
    assert rep.dsps == 768  # two packed INT8 MACs per DSP48E2
    assert rep.fits and rep.over == ()
    assert rep.device == {"luts": 230400, "ffs": 460800, "dsps": 1728, "bram_36k": 312}
    assert rep.share()["dsps"] == pytest.approx(768 / 1728)
    assert rep.macs_per_s == 768 * 2 * 200e6
    big = replace(
        arch,
        pe_array=replace(arch.pe_array, rows=64, cols=64),
        fpga=replace(arch.fpga, multipliers_on="lut"),
    )
    rep = fpga_resources(big, arch_datapath(big))
    assert not rep.fits and "luts" in rep.over and rep.dsps == 0
    with pytest.raises(HwsimError, match=r"arch\.fpga: missing"):
        tpu = load_arch(ARCH / "tpu_int8.yaml")
        fpga_resources(tpu, arch_datapath(tpu))


def test_area_sums_components():
    st = simulate(ARCH / "bitmod.yaml", "opt-1.3b:decode:256", mode="analytic")
    assert st.area_mm2 == pytest.approx(sum(st.area_breakdown_mm2.values()))
    # 1024 BitMoD PEs at 1507.7 um^2 (paper figure, no P&R factor) at 28 nm
    assert st.area_breakdown_mm2["pe"] == pytest.approx(1024 * 1507.7e-6)


def test_fpga_targets_get_a_resource_report():
    st = simulate(ARCH / "fpga_zcu104.yaml", "resnet-18:prefill:224", mode="analytic")
    assert st.fpga is not None and st.fpga.fits and st.fpga.dsps == 768
    assert simulate(ARCH / "tpu_int8.yaml", "resnet-18:prefill:224", mode="analytic").fpga is None


def test_node_scaling_applies_to_logic_and_sram_not_dram(tiny):
    wl = Workload("w", (Op("g", "gemm", M=4, N=4, K=8),))
    at45 = simulate(tiny, wl, mode="analytic")
    tiny16 = replace(tiny, technology=replace(tiny.technology, node_nm=16))
    at16 = simulate(tiny16, wl, mode="analytic")
    e45, e16 = at45.energy_breakdown_pj, at16.energy_breakdown_pj
    for part in ("pe:multiplier", "pe:accumulator", "pe:registers", "sram:wbuf"):
        assert e16[part] == pytest.approx(e45[part] * 0.17)
    assert e16["dram"] == e45["dram"]
    a45, a16 = at45.area_breakdown_mm2, at16.area_breakdown_mm2
    assert a16["pe:multiplier"] == pytest.approx(a45["pe:multiplier"] * 0.19)
