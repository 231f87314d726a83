"""Utilisation counts PE-cycles doing work; the roofline's compute roof is precision-aware."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hwsim
from hwsim.report.plots import has_per_op_roofs, plot_roofline
from hwsim.report.tables import ops_table
from hwsim.report.writer import write_run
from hwsim.sim import simulate
from hwsim.sim.plan import plan
from hwsim.sim.tensors import operands
from hwsim.spec import load_arch
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
MODES = ("event", "analytic", "scalesim")


def unbounded_dram(arch):
    """The same arch with a DRAM channel that never binds: compute-bound timing."""
    return replace(arch, dram=replace(arch.dram, bytes_per_cycle=float("inf"), latency_cycles=0))


def small_bitmod(skip: bool):
    arch = unbounded_dram(load_arch(ARCH / "bitmod.yaml"))
    params = (("dp", 4), ("skip_zero_terms", skip))
    return replace(arch, pe_array=replace(arch.pe_array, rows=4, cols=4, pe_params=params))


def gemm_macs(st) -> np.ndarray:
    o = st.ops
    return np.where(o["kind"] == "vector", 0, o["M"] * o["N"] * o["K"] * o["batch"])


@pytest.mark.parametrize("mode", MODES)
def test_bit_parallel_int8_array_keeps_the_mac_slot_utilisation(mode):
    # one MAC per PE per cycle, dot_product_width 1: both definitions are the old figure
    st = simulate(ARCH / "tpu_int8.yaml", "llama-2-7b:decode:64", mode=mode)
    arr = st.arch.pe_array
    assert arr.dot_product_width == 1 and st.cycles_per_mac == 1.0
    old = st.macs / (arr.pes * st.cycles)
    assert st.utilisation == pytest.approx(old, rel=1e-12)
    assert st.mac_slot_utilisation == pytest.approx(old, rel=1e-12)
    gemm = st.ops[st.ops["kind"] != "vector"]
    per_op_old = gemm_macs(st)[gemm.index] / (arr.pes * gemm["cycles"])
    np.testing.assert_allclose(gemm["utilisation"], per_op_old, rtol=1e-12)
    np.testing.assert_allclose(gemm["mac_slot_utilisation"], per_op_old, rtol=1e-12)
    assert st.peak_macs_per_cycle == st.mac_slots_per_cycle == arr.pes


@pytest.mark.parametrize("mode", ("event", "analytic"))
def test_bitmod_w4_compute_bound_is_fully_utilised(mode):
    arch = unbounded_dram(load_arch(ARCH / "bitmod.yaml"))
    assert arch.precision.weight_bits == 4
    # M, N multiples of the 32x32 array and K of the 4-wide dot product: no idle PE
    wl = Workload("w4", (Op("fc", "gemm", M=256, N=512, K=1024),))
    st = simulate(arch, wl, mode=mode)
    arr = st.arch.pe_array
    # 2 terms per W4 weight on a 4-lane PE: 2 cycles per 4-wide step, 0.5 cycles per MAC
    assert st.cycles_per_mac == 0.5 and st.ops["cycles_per_mac"].iloc[0] == 0.5
    assert st.cycles == st.macs * 2 // (arr.pes * arr.dot_product_width)
    assert st.utilisation == pytest.approx(1.0, rel=1e-12)
    assert st.ops["utilisation"].iloc[0] == pytest.approx(1.0, rel=1e-12)
    # the precision-blind figure caps at 1 / (2 cycles per lane-MAC)
    assert st.mac_slot_utilisation == pytest.approx(0.5, rel=1e-12)
    assert st.peak_macs_per_cycle == pytest.approx(arr.pes * arr.dot_product_width / 2)
    assert st.mac_slots_per_cycle == arr.pes * arr.dot_product_width


def test_bitmod_llama_prefill_reads_its_real_busy_share():
    st = simulate(ARCH / "bitmod.yaml", "llama-2-7b:prefill:256", mode="analytic")
    assert st.utilisation == pytest.approx(2 * st.mac_slot_utilisation, rel=1e-12)
    assert 0.9 < st.utilisation <= 1.0
    assert st.peak_macs_per_cycle == pytest.approx(2048.0)
    s = st.summary()
    assert s["utilisation"] == st.utilisation
    assert s["mac_slot_utilisation"] == st.mac_slot_utilisation
    assert (s["peak_macs_per_cycle"], s["mac_slots_per_cycle"]) == (2048.0, 4096)


@pytest.mark.parametrize("name", sorted(p.stem for p in ARCH.glob("*.yaml")))
def test_utilisation_never_exceeds_one_on_any_arch(name):
    arch = unbounded_dram(load_arch(ARCH / f"{name}.yaml"))
    ops = (Op("a", "gemm", M=37, N=70, K=100), Op("b", "gemm", M=64, N=64, K=128, repeat=2))
    for mode in ("event", "analytic"):
        st = simulate(arch, Workload("w", ops), mode=mode)
        assert 0 < st.utilisation <= 1 + 1e-12
        assert (st.ops["utilisation"] <= 1 + 1e-12).all()
        # utilisation = mac_slot_utilisation x dp x cycles_per_mac, op by op (each on its
        # unit) and, with one array, in total
        dps = {u.name: u.array.dot_product_width for u in st.arch.units}
        dp = st.ops["unit"].map(dps)
        expect = st.ops["mac_slot_utilisation"] * dp * st.ops["cycles_per_mac"]
        np.testing.assert_allclose(st.ops["utilisation"], expect, rtol=1e-12)
        if len(dps) == 1:
            dp = st.arch.pe_array.dot_product_width
            total = st.mac_slot_utilisation * dp * st.cycles_per_mac
            assert st.utilisation == pytest.approx(total)


def test_mixpe_two_macs_a_cycle_overfill_mac_slots_but_not_pe_cycles():
    arch = unbounded_dram(load_arch(ARCH / "mixpe_w4a8.yaml"))
    st = simulate(arch, Workload("w", (Op("fc", "gemm", M=128, N=128, K=512),)), mode="analytic")
    assert st.cycles_per_mac == 0.5
    assert st.utilisation == pytest.approx(1.0, rel=1e-12)
    assert st.mac_slot_utilisation == pytest.approx(2.0, rel=1e-12)


def test_scalesim_mode_times_one_mac_a_cycle_whatever_the_precision():
    arch = load_arch(ARCH / "bitmod.yaml")
    st = simulate(arch, Workload("w", (Op("fc", "gemm", M=64, N=64, K=256),)), mode="scalesim")
    assert st.cycles_per_mac == 1.0 and st.ops["cycles_per_mac"].iloc[0] == 1.0
    arr = st.arch.pe_array
    assert st.utilisation == pytest.approx(st.macs / (arr.pes * st.cycles), rel=1e-12)


def traced(rng, zero_rows=()):
    w = rng.standard_normal((12, 256))
    w[list(zero_rows)] = 0.0
    return Op("fc", "gemm", M=8, N=12, K=256, inputs=rng.standard_normal((8, 256)), weights=w)


def test_traced_ops_use_the_measured_cycles_per_mac(rng):
    arch = small_bitmod(skip=True)
    op = traced(rng, zero_rows=range(4))
    st = simulate(arch, Workload("t", (op,)), mode="analytic")
    res = hwsim.pe.run(
        "bitmod",
        *operands(plan(arch, Workload("t", (op,))).ops[0], op.inputs, op.weights),
        skip_zero_terms=True,
    )
    work = int(np.asarray(res.tile_cycles).sum())  # os: the fold time came from tile_cycles
    assert st.ops["cycles_per_mac"].iloc[0] == pytest.approx(work / op.macs, rel=1e-12)
    assert st.utilisation == pytest.approx(work / (arch.pe_array.pes * st.cycles), rel=1e-12)
    # zero weights have no terms: fewer cycles per MAC than the same op with dense weights
    dense = simulate(arch, Workload("d", (traced(rng),)), mode="analytic")
    assert st.ops["cycles_per_mac"].iloc[0] < dense.ops["cycles_per_mac"].iloc[0]
    # a fold waits for its slowest PE: the idle PE-cycles show as < 100% busy
    assert st.utilisation < 1.0


def test_traced_ops_without_tile_cycles_use_the_mean_step(rng):
    arch = small_bitmod(skip=True)
    arch = replace(arch, dataflow="ws")  # the mean-step path: work is PEResult.cycles
    op = traced(rng)
    st = simulate(arch, Workload("t", (op,)), mode="analytic")
    res = hwsim.pe.run(
        "bitmod",
        *operands(plan(arch, Workload("t", (op,))).ops[0], op.inputs, op.weights),
        skip_zero_terms=True,
    )
    assert st.ops["cycles_per_mac"].iloc[0] == pytest.approx(res.cycles / op.macs, rel=1e-12)


def test_ops_table_has_per_op_roofs_and_both_utilisations(rng):
    arch = small_bitmod(skip=True)
    wl = Workload("t", (traced(rng), replace(traced(rng, zero_rows=range(8)), name="sparse")))
    st = simulate(arch, wl, mode="analytic")
    ops = ops_table(st)
    pes = arch.pe_array.pes
    np.testing.assert_allclose(ops["peak_macs_per_cycle"], pes / ops["cycles_per_mac"])
    assert list(ops["mac_slot_utilisation_ratio"]) == list(st.ops["mac_slot_utilisation"])
    assert has_per_op_roofs(ops)
    # the workload roof is MAC-weighted: total MACs over PE-cycles of work per PE
    work = float((ops["macs"] * ops["cycles_per_mac"]).sum())
    assert st.peak_macs_per_cycle == pytest.approx(pes * st.macs / work, rel=1e-12)
    shapes = simulate(arch, Workload("s", (Op("fc", "gemm", M=8, N=12, K=256),)), mode="analytic")
    assert not has_per_op_roofs(ops_table(shapes))


def test_roofline_without_new_columns_still_draws(tmp_path):
    # ops.csv of an older run has no peak_macs_per_cycle column: one roof, no error
    old = pd.DataFrame({"macs": [100, 0], "cycles": [10, 5], "macs_per_dram_byte": [2.0, 0.0]})
    assert not has_per_op_roofs(old)
    plot_roofline(old, 16.0, 4.0, tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0


def test_report_states_both_definitions_and_the_precision_aware_roof(tmp_path, rng):
    arch = small_bitmod(skip=True)
    wl = Workload("t", (traced(rng), replace(traced(rng, zero_rows=range(8)), name="sparse")))
    st = simulate(arch, wl, mode="analytic")
    summary = write_run(st, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["peak_macs_per_cycle"] == pytest.approx(st.peak_macs_per_cycle)
    assert saved["mac_slots_per_cycle"] == arch.pe_array.pes * arch.pe_array.dot_product_width
    assert saved["mac_slot_utilisation"] == pytest.approx(summary["mac_slot_utilisation"])
    md = (tmp_path / "run" / "summary.md").read_text()
    assert "| utilisation (%) |" in md and "| MAC-slot utilisation (%) |" in md
    assert "fraction of PE-cycles doing work" in md
    assert "MACs / (PEs x dot_product_width x cycles)" in md
    assert "| compute roof (MACs/cycle) |" in md
    assert (tmp_path / "run" / "roofline.png").stat().st_size > 0
