"""The bind stage: every name resolved once into OpPlans that keep the user's QuantSpecs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwsim.dtypes import QuantSpec
from hwsim.pe.registry import register_pe
from hwsim.sim import simulate
from hwsim.sim.plan import plan
from hwsim.sim.rows import OP_COLUMNS
from hwsim.spec import load_arch
from hwsim.workload import Op, Workload, load_recipe, load_workload

ROOT = Path(__file__).resolve().parents[2]
MIXPE = ROOT / "hwsim" / "data" / "arch" / "mixpe_w4a16.yaml"
W4A16 = ROOT / "hwsim" / "data" / "recipes" / "w4a16-int-g128.yaml"


def traced(rng, name="fc", N=8, K=256):
    return Op(
        name, "gemm", M=4, N=N, K=K,
        inputs=rng.standard_normal((4, K)), weights=rng.standard_normal((N, K)),
    )  # fmt: skip


def test_w4a16_recipe_runs_on_a_traced_op_with_its_own_scale_format(rng):
    # this used to fail: the recipe's fp32 scales plus 4 zero-point bits came back as 'int36'
    recipe = load_recipe(W4A16)
    wl = Workload("t", (traced(rng), traced(rng, "lm_head")))
    st = simulate(MIXPE, wl, quant=recipe, mode="event")
    fc, lm = st.ops.iloc[0], st.ops.iloc[1]
    spec = recipe.default["weights"]
    assert (fc["scale_format"], fc["group_size"], fc["weight_format"]) == (
        spec.scale_format,
        spec.group_size,
        "uint4",
    )
    assert lm["scale_format"] == recipe.rules[0].specs["weights"].scale_format
    assert (lm["weight_format"], lm["group_size"]) == ("int8", 0)
    # traced: the measured PE counts replaced the expected ones
    assert fc["cycles"] > 0 and st.counts["pe:macs"] == sum(op.macs for op in wl.ops)


def test_op_plans_keep_the_recipe_specs_exactly(rng):
    recipe = load_recipe(W4A16)
    p = plan(load_arch(MIXPE), Workload("t", (traced(rng),)), recipe).ops[0]
    assert p.weights is recipe.default["weights"]
    assert p.activations is recipe.default["activations"]
    assert p.kv is None
    # storage bits are derived: 4-bit codes + (32-bit scale + 4-bit zero point) / 128
    assert p.weight_storage_bits == 4 + 36 / 128 == p.second_operand_bits


def test_the_traced_path_quantizes_with_the_recipe_spec(rng):
    from hwsim.sim.tensors import operands

    spec = QuantSpec("int4", "group", 64, -1, "fp16", symmetric=False, pad="zero")
    recipe = load_recipe({"version": 1, "default": {"weights": {
        "format": "int4", "granularity": "group", "group_size": 64, "scale_format": "fp16",
        "symmetric": False, "pad": "zero",
    }}})  # fmt: skip
    op = traced(rng)
    p = plan(
        load_arch(ROOT / "hwsim" / "data" / "arch" / "tpu_int8.yaml"), Workload("t", (op,)), recipe
    ).ops[0]
    _, qt = operands(p, op.inputs, op.weights)
    assert qt.spec == spec and qt.zero_points is not None
    assert qt.scales.shape == (8, 4)


def test_names_are_resolved_once_into_objects():
    bound = plan(
        load_arch(ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml"),
        load_workload("llama-2-7b:decode:16"),
    )
    unit = bound.units["pe_array"]
    from hwsim.pe.bitmod import BitMoDPE
    from hwsim.sim.dataflow import get_dataflow

    assert isinstance(unit.pe, BitMoDPE) and unit.pe.dp == 4
    assert type(unit.dataflow) is type(get_dataflow("os"))
    gemms = [p for p in bound.ops if p.op.kind == "gemm"]
    assert all(p.unit is unit and p.mapping is not None for p in gemms)
    assert all(p.unit is None and p.mapping is None for p in bound.ops if p.op.kind == "vector")
    assert bound.ops_per_unit == {"pe_array": sum(op.kind != "vector" for op in bound.workload.ops)}


def test_attention_kv_spec_comes_from_the_rule_selecting_it():
    recipe = load_recipe(ROOT / "hwsim" / "data" / "recipes" / "bitmod-w4g128.yaml")
    arch = load_arch(ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml")
    bound = plan(arch, load_workload("llama-2-7b:decode:16"), recipe)
    qk = next(p for p in bound.ops if p.op.kind == "attn_qk")
    assert qk.kv.format == "float16" and qk.weights is None
    assert qk.second_operand_bits == 16 and qk.weight_format == "float16"
    # BitMoD's weight side cannot take FP16: attention keeps the weight-path timing
    gemm = next(p for p in bound.ops if p.op.kind == "gemm" and p.op.name != "lm_head")
    assert qk.pe.step_cycles == gemm.pe.step_cycles


def test_every_registered_pe_meets_the_contract():
    with pytest.raises(RuntimeError, match="lacks check"):

        @register_pe("no_check_pe")
        class NoCheck:
            def run(self, a, w): ...

            def expected(self, a_format=None, w_format=None, group_size=None, scale_bits=None): ...


def test_ops_table_columns_keep_their_order_and_end_with_the_configuration():
    old = [
        "op", "kind", "M", "N", "K", "batch", "repeat", "cycles", "compute_cycles",
        "dram_cycles", "dram_bytes", "energy_pj", "fill_drain_cycles", "stall_cycles",
        "vector_cycles", "utilisation", "mac_slot_utilisation", "cycles_per_mac", "loop_order",
        "tiling", "tiles", "weight_fetches", "input_fetches", "dram_read_weights_bytes",
        "dram_read_inputs_bytes", "dram_write_outputs_bytes",
    ]  # fmt: skip
    assert list(OP_COLUMNS[: len(old)]) == old
    assert OP_COLUMNS[len(old) :] == (
        "unit", "rows", "cols", "dataflow", "weight_format", "activation_format", "group_size",
        "scale_format", "bound", "mapping",
    )  # fmt: skip


def test_a_renamed_arch_runs_the_same(tmp_path):
    text = (
        (ROOT / "hwsim" / "data" / "arch" / "tpu_int8.yaml")
        .read_text()
        .replace("name: tpu_int8", "name: tpu2")
    )
    (tmp_path / "tpu2.yaml").write_text(text)
    a = simulate(
        ROOT / "hwsim" / "data" / "arch" / "tpu_int8.yaml", "llama-2-7b:decode:16", mode="analytic"
    )
    b = simulate(tmp_path / "tpu2.yaml", "llama-2-7b:decode:16", mode="analytic")
    assert (a.cycles, a.energy_pj, a.area_mm2) == (b.cycles, b.energy_pj, b.area_mm2)
    assert np.array_equal(a.ops["cycles"], b.ops["cycles"])
