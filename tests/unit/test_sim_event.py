"""Event-driven engine: equals analytic with infinite DRAM bandwidth, bounded otherwise."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from scripts import load_script

from hwsim.sim import simulate
from hwsim.sim.engine import split, tile_plan
from hwsim.sim.mapping import map_op
from hwsim.sim.pe_model import pe_model
from hwsim.sim.plan import resolve_unit
from hwsim.spec import load_arch
from hwsim.workload.op import ConvShape, Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"

OPS = (
    Op("big", "gemm", M=300, N=700, K=900),  # both operands exceed the buffers: refetch
    Op("ragged", "gemm", M=37, N=53, K=61, repeat=3),
    Op("gemv", "gemm", M=1, N=4096, K=4096),
    Op("heads", "attn_qk", M=64, N=64, K=32, batch=4, weight_is_activation=True),
    Op(
        "conv",
        "conv",
        M=56 * 56,
        N=64,
        K=64 * 9,
        conv=ConvShape(64, 64, (3, 3), (1, 1), (1, 1), (56, 56), (56, 56)),
    ),
    Op("softmax", "vector", elements=4096, vector_kind="softmax"),
)


def small_arch(name="tpu_int8", **dram):
    arch = load_arch(ARCH / f"{name}.yaml")
    arr = replace(arch.pe_array, rows=16, cols=16)
    mem = tuple(replace(lv, size_bytes=64 * 1024) for lv in arch.memory)
    return replace(arch, pe_array=arr, memory=mem, dram=replace(arch.dram, **dram))


@pytest.mark.parametrize("name", ["tpu_int8", "bitmod", "fpga_zcu104", "scalesim"])
def test_event_equals_analytic_with_infinite_bandwidth(name):
    arch = small_arch(name, bytes_per_cycle=float("inf"), latency_cycles=0)
    wl = Workload("mix", OPS)
    ev = simulate(arch, wl, mode="event")
    an = simulate(arch, wl, mode="analytic")
    assert list(ev.ops["cycles"]) == list(an.ops["cycles"])
    assert ev.cycles == an.cycles
    assert (ev.ops["stall_cycles"] == 0).all()


@pytest.mark.parametrize("bandwidth", [1.0, 3.5, 16.0, 100.0])
@pytest.mark.parametrize("name", ["tpu_int8", "bitmod", "fpga_zcu104"])
def test_event_bounded_by_max_and_sum(name, bandwidth):
    arch = small_arch(name, bytes_per_cycle=bandwidth, latency_cycles=0)
    wl = Workload("mix", OPS)
    ev = simulate(arch, wl, mode="event")
    an = simulate(arch, wl, mode="analytic")
    for e, a in zip(ev.ops.itertuples(), an.ops.itertuples(), strict=True):
        if e.kind == "vector":
            continue
        compute = a.compute_cycles + a.fill_drain_cycles
        assert max(compute, a.dram_cycles) <= e.cycles <= compute + e.dram_cycles, e.op
        # channel time exceeds the analytic floor(bytes / bw) only by per-transfer rounding
        assert a.dram_cycles <= e.dram_cycles <= a.dram_cycles + 2 * e.tiles + 1
        assert e.compute_cycles + e.fill_drain_cycles + e.stall_cycles == e.cycles


def test_double_buffering_hides_transfers():
    single = small_arch("tpu_int8", bytes_per_cycle=64.0, latency_cycles=20)
    levels = single.memory
    single = replace(single, memory=tuple(replace(lv, double_buffered=False) for lv in levels))
    double = replace(single, memory=tuple(replace(lv, double_buffered=True) for lv in levels))
    op = Op("g", "gemm", M=512, N=512, K=512)
    wl = Workload("w", (op,))
    assert simulate(double, wl).cycles < simulate(single, wl).cycles


def test_latency_adds_per_transfer_when_single_buffered():
    base = small_arch("bitmod", bytes_per_cycle=32.0, latency_cycles=0)
    slow = replace(base, dram=replace(base.dram, latency_cycles=50))
    wl = Workload("w", (Op("g", "gemm", M=64, N=64, K=64),))
    a, b = simulate(base, wl), simulate(slow, wl)
    assert b.cycles == a.cycles + 50  # one tile, one load: latency once


def test_deterministic_byte_for_byte():
    arch = small_arch("tpu_int8", bytes_per_cycle=7.0, latency_cycles=13)
    wl = Workload("mix", OPS)
    a, b = simulate(arch, wl), simulate(arch, wl)
    assert a.ops.equals(b.ops) and a.counts == b.counts and a.energy_pj == b.energy_pj


def test_tile_plan_sums_equal_mapping_totals():
    arch = small_arch("tpu_int8", bytes_per_cycle=8.0, latency_cycles=0)
    unit = resolve_unit(arch, arch.units[0])
    pe = pe_model(unit, arch.precision, "int8", "int8")
    for op in OPS[:-1]:
        m = map_op(arch, unit, op, pe, 8, 8)
        tiles = tile_plan(m)
        reads = sum(t[0] for t in tiles)
        assert reads == sum(m.dram_read_bytes.values()), op.name
        assert sum(t[3] for t in tiles) == m.dram_write_bytes["outputs"]
        assert sum(t[2] for t in tiles) == m.instances * m.folds
        assert sum(t[1] for t in tiles) + m.instances * m.folds * m.fill_drain_cycles == (
            m.compute_cycles
        )
        assert len(tiles) == m.tiles


def test_refetch_picks_fewer_bytes_and_reports_choice():
    arch = small_arch("tpu_int8")
    unit = resolve_unit(arch, arch.units[0])
    pe = pe_model(unit, arch.precision, "int8", "int8")
    cap = 64 * 1024 // 2  # double-buffered halves
    m = map_op(arch, unit, Op("big", "gemm", M=300, N=700, K=900), pe, 8, 8)
    W, I = 900 * 700, 900 * 300
    streams = {"weights_outer": W + I * -(-W // cap), "inputs_outer": W * -(-I // cap) + I}
    assert m.loop_order == min(streams, key=streams.get)
    assert sum(m.dram_read_bytes.values()) == min(streams.values())


def test_split_is_even_and_exact():
    assert split(10, 3) == [4, 3, 3]
    assert split(2, 4) == [1, 1, 0, 0]
    assert sum(split(12345, 17)) == 12345


def test_buffer_read_bandwidth_limits_the_stream():
    base = small_arch("tpu_int8", bytes_per_cycle=float("inf"), latency_cycles=0)
    base = replace(base, dataflow="os")  # os: per fold 16 rows x K weights, 16 cols x K inputs
    op = Op("g", "gemm", M=16, N=16, K=64)
    wide = simulate(base, Workload("w", (op,)), mode="analytic")
    slow_levels = tuple(
        replace(lv, read_bytes_per_cycle=4) if "weights" in lv.operands else lv
        for lv in base.memory
    )
    slow = simulate(replace(base, memory=slow_levels), Workload("w", (op,)), mode="analytic")
    fill = 2 * 16 + 16 - 2  # systolic fill/drain of the 16x16 array
    assert wide.cycles == 64 + fill  # one fold, K = 64 steps
    assert slow.cycles == 16 * 64 // 4 + fill  # 1024 weight bytes at 4 bytes per cycle


def _mappings(arch, objective=None):
    """Every GEMM op's mapping on `arch` (fixed, or the mapper's for `objective`)."""
    from hwsim.sim.plan import plan

    ops = OPS[:-1] + (
        Op("gqa", "attn_qk", M=1, N=300, K=64, batch=8, weight_is_activation=True, kv_group=4),
        Op("zero", "gemm", M=3, N=5000, K=70),  # more tiles than folds: zero-cycle tiles
    )
    return [p.mapping for p in plan(arch, Workload("w", ops), objective=objective).ops]


@pytest.mark.parametrize("objective", [None, "latency", "energy"])
@pytest.mark.parametrize("latency", [0, 1, 37])
@pytest.mark.parametrize("bandwidth", [0.7, 3.5, 48.6, float("inf")])
@pytest.mark.parametrize("name", ["tpu_int8", "bitmod", "bitfusion", "scalesim"])
def test_recurrence_equals_the_simpy_model(name, bandwidth, latency, objective):
    from hwsim.sim.engine import simulate_events
    from hwsim.sim.pipeline import simulate_op

    arch = small_arch(name, bytes_per_cycle=bandwidth, latency_cycles=latency)
    for m in _mappings(arch, objective):
        assert simulate_op(arch, m) == simulate_events(arch, m), m.op.name


def test_recurrence_equals_the_simpy_model_on_measured_folds():
    from hwsim.sim.engine import simulate_events
    from hwsim.sim.pipeline import simulate_op

    arch = small_arch("bitfusion", bytes_per_cycle=5.0, latency_cycles=9)
    m = _mappings(arch)[0]
    stream = tuple((7 * i) % 23 + 40 for i in range(m.instances * m.folds))
    m = replace(m, fold_stream=stream)
    assert simulate_op(arch, m) == simulate_events(arch, m)


def test_golden_set_event_between_max_and_sum():
    """max(compute, dram) <= event <= compute + dram + the DRAM latency of each tile's load
    (a load's latency is DRAM time the busy count leaves out)."""
    cases = load_script("tests/golden/sim_cases.py")
    for arch_name, card, mode in cases.CASES:
        if mode == "scalesim":
            continue
        arch = load_arch(ARCH / f"{arch_name}.yaml")
        st = simulate(arch, card, mode="event")
        for r in st.op_rows:
            if r.kind == "vector":
                continue
            compute, dram = r.compute_cycles + r.fill_drain_cycles, r.dram_cycles
            latency = arch.dram.latency_cycles * r.tiles
            assert max(compute, dram) <= r.cycles <= compute + dram + latency, (arch_name, r.op)


@pytest.mark.parametrize("objective", [None, "latency"])
@pytest.mark.parametrize("name", ["scalesim", "bitfusion", "bitmod"])
def test_recurrence_skips_periods_exactly(name, objective):
    """Thousands of tiles in repeating periods: the skipped steady state equals simpy's walk."""
    from hwsim.sim.engine import simulate_events
    from hwsim.sim.pipeline import simulate_op
    from hwsim.sim.plan import plan

    base = load_arch(ARCH / f"{name}.yaml")
    ops = (
        Op("a", "gemm", M=300, N=500, K=200),
        Op("b", "gemm", M=77, N=1000, K=130, batch=3),
        Op("c", "attn_qk", M=1, N=900, K=64, batch=8, weight_is_activation=True, kv_group=4),
    )
    for size, bw, latency in ((4096, 0.5, 5), (16384, 3.0, 0), (4096, 40.0, 1)):
        arch = replace(
            base,
            pe_array=replace(base.pe_array, rows=8, cols=8),
            memory=tuple(replace(lv, size_bytes=size) for lv in base.memory),
            dram=replace(base.dram, bytes_per_cycle=bw, latency_cycles=latency),
        )
        for p in plan(arch, Workload("w", ops), objective=objective).ops:
            assert simulate_op(arch, p.mapping) == simulate_events(arch, p.mapping), p.op.name
