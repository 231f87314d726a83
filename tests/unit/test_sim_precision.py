"""Per-op precision: a quant recipe's rules change the cycles, traffic and energy of the ops
they match, and nothing else."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from hwsim.dse.quant import recipe_quant
from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.sim.precision import apply_quant, op_precision
from hwsim.spec import load_arch
from hwsim.workload import Op, Workload, load_recipe, load_workload

ROOT = Path(__file__).resolve().parents[2]
BITMOD = ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml"
RECIPE = ROOT / "hwsim" / "data" / "recipes" / "bitmod-w4g128.yaml"


def without_rules(recipe):
    from dataclasses import replace

    return replace(recipe, rules=())


@pytest.fixture(scope="module")
def runs():
    wl = load_workload("llama-2-7b:decode:256")
    r = load_recipe(RECIPE)
    per_op = simulate(BITMOD, wl, quant=r, mode="analytic")
    run_wide = simulate(BITMOD, wl, quant=recipe_quant(r), mode="analytic")
    return per_op.ops.set_index("op"), run_wide.ops.set_index("op"), per_op, run_wide


def test_lm_head_rule_times_int8_weights(runs):
    per_op, run_wide, _, _ = runs
    lm, lm0 = per_op.loc["lm_head"], run_wide.loc["lm_head"]
    # INT8 in groups of 128 with 8-bit scales: 8.0625 bits a weight, 4 Booth terms, twice FP4's 2
    assert lm.dram_read_weights_bytes == 32000 * 4096 * 8.0625 / 8
    assert lm0.dram_read_weights_bytes == 32000 * 4096 * 4.0625 / 8
    assert lm.cycles_per_mac == 2 * lm0.cycles_per_mac == 1.0
    assert lm.cycles > 1.9 * lm0.cycles
    assert lm.energy_pj > lm0.energy_pj


def test_ops_without_a_rule_are_unchanged(runs):
    per_op, run_wide, st, st0 = runs
    others = [n for n in per_op.index if n != "lm_head"]
    cols = ["cycles", "dram_bytes", "energy_pj", "cycles_per_mac"]
    assert per_op.loc[others, cols].equals(run_wide.loc[others, cols])
    # attention rules (K/V at FP16) only set the activation side, already FP16 here
    assert st.cycles - st0.cycles == per_op.loc["lm_head"].cycles - run_wide.loc["lm_head"].cycles


def test_recipe_without_rules_equals_its_run_wide_overrides():
    wl = load_workload("llama-2-7b:prefill:64")
    r = without_rules(load_recipe(RECIPE))
    a = simulate(BITMOD, wl, quant=r, mode="event")
    b = simulate(BITMOD, wl, quant=recipe_quant(r), mode="event")
    assert (a.cycles, a.energy_pj, a.dram_bytes) == (b.cycles, b.energy_pj, b.dram_bytes)


def test_attention_ops_take_only_activation_fields():
    r = load_recipe(RECIPE)
    prec = apply_quant(load_arch(BITMOD).precision, r)
    qk = Op("model.layers.0.self_attn.attn_qk", "attn_qk", M=8, N=8, K=128, batch=32,
            weight_is_activation=True)  # fmt: skip
    assert op_precision(prec, r, qk) == prec  # its rule's FP16 "weights" are K: ignored
    lm = op_precision(prec, r, Op("lm_head", "gemm", M=1, N=32000, K=4096))
    assert (lm.weight_format, lm.weight_bits, lm.group_size, lm.scale_bits) == ("int8", 8, 128, 8)


def test_rule_the_pe_cannot_take_names_the_op():
    doc = {
        "version": 1,
        "default": {"activations": {"format": "float16"}},
        "rules": [{"match": "lm_head", "activations": {"format": "int8"}}],
    }
    wl = Workload(
        "w", (Op("up", "gemm", M=4, N=64, K=128), Op("lm_head", "gemm", M=4, N=64, K=128))
    )
    with pytest.raises(HwsimError, match=r"op 'lm_head': .*bitmod: activations must be float16"):
        simulate(BITMOD, wl, quant=load_recipe(doc), mode="analytic")


def test_quant_of_the_wrong_type_is_one_clear_error():
    with pytest.raises(HwsimError, match="a Precision or a Recipe, got int"):
        simulate(BITMOD, Workload("w", (Op("g", "gemm", M=1, N=8, K=8),)), quant=3)


def test_pe_model_takes_the_arch_groups_and_scales():
    from dataclasses import replace

    from hwsim.sim.pe_model import pe_model
    from hwsim.sim.plan import resolve_unit

    arch = load_arch(BITMOD)
    prec = arch.precision
    unit = resolve_unit(arch, arch.units[0])
    base = pe_model(unit, prec, prec.activation_format, prec.weight_format)
    assert base.step_cycles == 2  # 4 lanes x 0.5 cycles a MAC: 64 term cycles a group >= 8
    assert base.counts_per_mac["dequant.8"] == 1 / 128
    small = replace(prec, group_size=8, scale_bits=6)
    m = pe_model(unit, small, prec.activation_format, prec.weight_format)
    # 8 weights: 4 term cycles, fewer than the 6-cycle dequantization: that stage sets the pace
    assert m.step_cycles == 4 * Fraction(6, 8)
    assert m.counts_per_mac["dequant.6"] == 1 / 8
