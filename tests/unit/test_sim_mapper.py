"""The mapper: exact over its space, never worse than the fixed mapping, honest traffic."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.sim.mapper import OBJECTIVES, best_exhaustive, choose_mapping, cost_of
from hwsim.sim.mapping import map_op
from hwsim.sim.mapspace import Space
from hwsim.sim.pe_model import pe_model
from hwsim.sim.plan import resolve_unit
from hwsim.spec import load_arch
from hwsim.workload import load_workload
from hwsim.workload.op import Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"

SMALL_OPS = (
    Op("big", "gemm", M=300, N=700, K=900),
    Op("ragged", "gemm", M=37, N=53, K=61),
    Op("gemv", "gemm", M=1, N=2048, K=2048),
    Op("deep", "gemm", M=64, N=64, K=8192),
    Op("gqa", "attn_qk", M=1, N=512, K=64, batch=8, weight_is_activation=True, kv_group=4),
)


def small(name: str, size: int = 16 * 1024, dataflow: str | None = None):
    arch = load_arch(ARCH / f"{name}.yaml")
    arr = replace(arch.pe_array, rows=16, cols=16)
    mem = tuple(replace(lv, size_bytes=size) for lv in arch.memory)
    return replace(arch, pe_array=arr, memory=mem, dataflow=dataflow or arch.dataflow)


def bound_unit(arch):
    unit = resolve_unit(arch, arch.units[0])
    pe = pe_model(
        unit, arch.precision, arch.precision.activation_format, arch.precision.weight_format
    )
    return unit, pe


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_pruned_search_equals_exhaustive_enumeration(dataflow, objective):
    arch = small("tpu_int8", dataflow=dataflow)
    unit, pe = bound_unit(arch)
    for op in SMALL_OPS:
        fixed = map_op(arch, unit, op, pe, 8, 8)
        chosen, _ = choose_mapping(arch, unit, op, pe, 8, 8, fixed, objective)
        space = Space(arch, unit, op, pe, 8, 8)
        assert cost_of(space, chosen, objective) == best_exhaustive(space, fixed, objective), (
            op.name
        )


@pytest.mark.parametrize("name", ["bitmod", "mixpe_w4a8", "tpu_int8", "bitfusion", "scalesim"])
def test_never_worse_than_the_fixed_mapping_on_its_objective(name):
    arch = small(name, size=32 * 1024)
    unit, pe = bound_unit(arch)
    bits = arch.precision.weight_storage_bits
    for op in SMALL_OPS:
        fixed = map_op(arch, unit, op, pe, bits, arch.precision.activation_bits)
        space = Space(arch, unit, op, pe, bits, arch.precision.activation_bits)
        for objective in OBJECTIVES:
            m, _ = choose_mapping(
                arch, unit, op, pe, bits, arch.precision.activation_bits, fixed, objective
            )
            assert cost_of(space, m, objective) <= space.fixed_cost(fixed, objective)


def test_latency_objective_beats_fixed_where_the_weights_are_refetched():
    """A 64x5120 GEMM on MixPE W4A8: the fixed rule refetches; the mapper splits k."""
    wl = Workload("w", (Op("g", "gemm", M=64 * 64, N=5120, K=5120),))
    fixed = simulate(ARCH / "mixpe_w4a8.yaml", wl, mode="analytic")
    mapped = simulate(ARCH / "mixpe_w4a8.yaml", wl, mode="analytic", objective="latency")
    assert mapped.cycles < fixed.cycles
    assert mapped.op_rows[0].mapping.startswith("latency: DRAM[")
    assert fixed.op_rows[0].mapping.startswith("fixed: DRAM[")


def test_partial_sums_spill_at_accumulator_width_and_are_read_back():
    arch = small("tpu_int8", size=8 * 1024, dataflow="os")
    unit, pe = bound_unit(arch)
    op = Op("deep", "gemm", M=256, N=256, K=8192)
    fixed = map_op(arch, unit, op, pe, 8, 8)
    space = Space(arch, unit, op, pe, 8, 8)
    spilled = [c for c in space.exhaustive() if space.mapping(c, "latency").psum_bytes]
    assert spilled
    m = space.mapping(spilled[0], "latency")
    ck = m.k_tiles
    assert m.psum_bytes == 256 * 256 * 4 * (ck - 1)
    assert m.dram_read_bytes["outputs"] == m.psum_bytes
    assert m.dram_write_bytes["outputs"] == 256 * 256 + m.psum_bytes
    assert fixed.psum_bytes == 0


def test_deterministic_and_scalesim_mode_stays_exact():
    wl = load_workload("resnet-18:prefill:224")
    a = simulate(ARCH / "scalesim.yaml", wl, mode="scalesim")
    b = simulate(ARCH / "scalesim.yaml", wl, mode="scalesim", objective="latency")
    assert a.cycles == b.cycles and all(r.mapping.startswith(("fixed", "")) for r in b.op_rows)
    c = simulate(ARCH / "tpu_int8.yaml", "bert-base:prefill:128", mode="analytic", objective="edp")
    d = simulate(ARCH / "tpu_int8.yaml", "bert-base:prefill:128", mode="analytic", objective="edp")
    assert c.ops.equals(d.ops)


def test_unknown_objective_is_one_line_error():
    with pytest.raises(
        HwsimError, match=r"objective: expected one of fixed, latency, energy, edp, got 'speed'"
    ):
        simulate(ARCH / "tpu_int8.yaml", "bert-base:prefill:128", objective="speed")


def test_gqa_kv_bytes_are_per_kv_head():
    """llama-3-8b: 32 query heads share 8 KV heads; K is read once per KV head."""
    st = simulate(ARCH / "fp16.yaml", "llama-3-8b:decode:2048", mode="analytic")
    qk = next(r for r in st.op_rows if r.op.endswith("attn_qk"))
    av = next(r for r in st.op_rows if r.op.endswith("attn_av"))
    kv_bytes = 8 * 2048 * 128 * 2  # n_kv_heads x context x head_dim x FP16, per layer
    assert qk.dram_read_weights_bytes == kv_bytes
    assert av.dram_read_weights_bytes == kv_bytes
    assert qk.batch == 32  # the array still computes every query head


def test_port_bound_op_reports_its_bound():
    """A 64x64 BitMoD array with the 32x32 array's read ports is SRAM-read-port bound."""
    arch = load_arch(ARCH / "bitmod.yaml")
    big = tuple(replace(lv, size_bytes=64 << 20) for lv in arch.memory)  # weights resident
    arch = replace(arch, memory=big, overrides=())
    wide = replace(arch, pe_array=replace(arch.pe_array, rows=64, cols=64))
    wl = Workload("w", (Op("g", "gemm", M=512, N=4096, K=4096),))
    row = simulate(wide, wl, mode="analytic").op_rows[0]
    assert row.bound == "sram_read"
    base = simulate(arch, wl, mode="analytic").op_rows[0]
    assert base.bound == "compute"
    assert row.cycles > base.cycles // 4  # 4x the PEs, not 4x faster: the ports cap it


def test_write_ports_change_cycles_when_they_bind():
    arch = load_arch(ARCH / "tpu_int8.yaml")
    wl = Workload("w", (Op("g", "gemm", M=4096, N=256, K=256),))
    base = simulate(arch, wl, mode="analytic").op_rows[0]
    out = arch.level_for("outputs")
    narrow = replace(
        arch,
        memory=tuple(
            replace(lv, write_bytes_per_cycle=4) if lv is out else lv for lv in arch.memory
        ),
    )
    row = simulate(narrow, wl, mode="analytic").op_rows[0]
    assert row.cycles > base.cycles and row.bound == "sram_write"


def test_single_bank_level_serialises_reads_and_writes():
    arch = small("bitmod", size=512 * 1024)
    shared = arch.level_for("inputs")
    assert "outputs" in shared.operands
    wl = Workload("w", (Op("g", "gemm", M=64, N=64, K=64),))
    slow = [replace(lv, read_bytes_per_cycle=8, write_bytes_per_cycle=8) if lv is shared else lv
            for lv in arch.memory]  # fmt: skip
    two = replace(arch, memory=tuple(slow))
    one = replace(
        arch, memory=tuple(replace(lv, banks=1) if lv.name == shared.name else lv for lv in slow)
    )
    a = simulate(two, wl, mode="analytic").op_rows[0]
    b = simulate(one, wl, mode="analytic").op_rows[0]
    assert b.compute_cycles > a.compute_cycles


def test_cli_objective_and_explain(tmp_path, capsys):
    from hwsim.cli import main

    out = tmp_path / "run"
    args = [str(ARCH / "tpu_int8.yaml"), "bert-base:prefill:128", "--mode", "analytic"]
    assert (
        main(["run", *args, "--objective", "energy", "--explain", "pooler.dense", "-o", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "op pooler.dense" in text and "DRAM:" in text
    assert re.search(r"mapping (fixed|energy): DRAM\[", text)
    assert "## Their bounds and loop nests" in (out / "summary.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objective", "speed"], r"--objective: expected one of fixed, latency, energy, edp"),
        (["--explain", "no_such_op"], r"--explain: unknown op 'no_such_op'"),
    ],
)
def test_cli_bad_objective_or_op_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    from hwsim.cli import main

    out = tmp_path / "run"
    args = [str(ARCH / "tpu_int8.yaml"), "bert-base:prefill:128", "--mode", "analytic"]
    assert main(["run", *args, *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0])
    assert not out.exists()


def test_batch_reuses_weights():
    """Four sequences of decode read each linear's weights once, as one sequence does."""
    one = simulate(ARCH / "fp16.yaml", "llama-2-7b:decode:256", mode="analytic")
    four = simulate(ARCH / "fp16.yaml", "llama-2-7b:decode:256:4", mode="analytic")
    for a, b in zip(one.op_rows, four.op_rows, strict=True):
        if a.kind == "gemm":
            assert b.M == 4 * a.M and b.dram_read_weights_bytes == a.dram_read_weights_bytes
        elif a.kind == "attn_qk":  # each sequence has its own K cache
            assert b.dram_read_weights_bytes == 4 * a.dram_read_weights_bytes


@pytest.mark.parametrize(
    ("name", "card"),
    [("fpga_zcu104", "resnet-50:prefill:224"), ("scalesim", "bert-base:prefill:128")],
)
def test_event_mode_latency_never_worse_than_fixed_per_op(name, card):
    fixed = simulate(ARCH / f"{name}.yaml", card, mode="event")
    mapped = simulate(ARCH / f"{name}.yaml", card, mode="event", objective="latency")
    for f, m in zip(fixed.op_rows, mapped.op_rows, strict=True):
        assert m.cycles <= f.cycles, f.op
    assert mapped.cycles <= fixed.cycles
