"""Compute units and routes: a heterogeneous arch (an INT8 GEMM array beside an FP16 attention
array), what its reports say, and the bad input it refuses with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.spec import load_arch
from hwsim.workload import Op, Workload, load_recipe, load_workload

ROOT = Path(__file__).resolve().parents[2]
CARD = "llama-2-7b:decode:128"

HETERO = """\
version: 1
name: hetero
clock_mhz: 1000
compute_units:
  - name: gemm
    rows: 32
    cols: 32
    pe: {kind: int_mac}
    dataflow: ws
  - name: attn
    rows: 16
    cols: 8
    pe: {kind: float_mac}
    dataflow: os
    precision:
      weight_format: float16
      activation_format: float16
      weight_bits: 16
      activation_bits: 16
routes:
  - {kind: attn_qk, unit: attn}
  - {kind: attn_av, unit: attn}
  - {unit: gemm}
memory:
  - {name: wbuf, size_bytes: 262144, banks: 8, word_bits: 256, read_bytes_per_cycle: 64,
     write_bytes_per_cycle: 64, operands: [weights], double_buffered: true}
  - {name: ibuf, size_bytes: 262144, banks: 8, word_bits: 256, read_bytes_per_cycle: 64,
     write_bytes_per_cycle: 64, operands: [inputs, outputs], double_buffered: true}
dram: {type: lpddr4, bytes_per_cycle: 64, latency_cycles: 100}
vector_unit: {lanes: 32}
technology: {node_nm: 45, profile: horowitz45}
precision: {weight_format: int8, activation_format: int8, weight_bits: 8, activation_bits: 8}
"""


# K and V at FP16: without a rule, attention would take the recipe's default weights' path
ATTENTION_FP16 = [{"kind": k, "weights": {"format": "float16"}} for k in ("attn_qk", "attn_av")]


def write(tmp_path: Path, text: str, name: str = "hetero.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture
def hetero(tmp_path):
    return write(tmp_path, HETERO)


def test_every_op_names_its_unit_and_configuration(hetero):
    st = simulate(hetero, CARD, mode="analytic")
    ops = st.ops
    attn = ops["kind"].isin(["attn_qk", "attn_av"])
    assert attn.any() and (ops.loc[attn, "unit"] == "attn").all()
    assert (ops.loc[ops["kind"] == "gemm", "unit"] == "gemm").all()
    assert (ops.loc[ops["kind"] == "vector", "unit"] == "vector").all()
    gemm = ops[ops["kind"] == "gemm"].iloc[0]
    assert (gemm["rows"], gemm["cols"], gemm["dataflow"]) == (32, 32, "ws")
    assert (gemm["weight_format"], gemm["activation_format"]) == ("int8", "int8")
    qk = ops[ops["kind"] == "attn_qk"].iloc[0]
    assert (qk["rows"], qk["cols"], qk["dataflow"]) == (16, 8, "os")
    assert (qk["weight_format"], qk["activation_format"]) == ("float16", "float16")
    # the FP16 unit's counts are float ones, the INT8 unit's integer ones
    assert any(k.startswith("pe:fmul") for k in st.op_counts[list(attn).index(True)])
    assert st.unit_ops["attn"] == int(attn.sum()) and st.unit_ops["gemm"] > 0


def test_changing_only_the_attention_unit_changes_only_attention_rows(tmp_path, hetero):
    fp8 = HETERO.replace(
        "      weight_format: float16\n      activation_format: float16\n"
        "      weight_bits: 16\n      activation_bits: 16",
        "      weight_format: float8_e4m3fn\n      activation_format: float8_e4m3fn\n"
        "      weight_bits: 8\n      activation_bits: 8",
    )
    assert fp8 != HETERO
    sa = simulate(hetero, CARD, mode="analytic")
    sb = simulate(write(tmp_path, fp8, "fp8.yaml"), CARD, mode="analytic")
    a, b = sa.ops, sb.ops
    attn = a["kind"].isin(["attn_qk", "attn_av"])
    figures = ["cycles", "dram_bytes", "energy_pj", "weight_format", "activation_format"]
    assert a.loc[~attn, figures[:2] + figures[3:]].equals(b.loc[~attn, figures[:2] + figures[3:]])
    # other ops' energy moves only by the leakage of the attention unit's new area
    leak_a, leak_b = (s.energy_breakdown_pj["leakage"] / s.cycles for s in (sa, sb))
    moved = b.loc[~attn, "energy_pj"] - a.loc[~attn, "energy_pj"]
    assert moved.values == pytest.approx((leak_b - leak_a) * a.loc[~attn, "cycles"].values)
    for column in figures[1:]:
        assert (a.loc[attn, column] != b.loc[attn, column]).all(), column
    assert (a.loc[attn, "cycles"] >= b.loc[attn, "cycles"]).all()  # half the bytes to move


def test_area_and_energy_add_per_unit(hetero):
    st = simulate(hetero, CARD, mode="analytic")
    area = st.area_breakdown_mm2  # each unit's PE split by datapath category
    assert area["pe:gemm:multiplier"] > 0 and area["pe:attn:multiplier"] > 0
    assert st.area_mm2 == pytest.approx(sum(st.area_breakdown_mm2.values()))
    assert st.ops["energy_pj"].gt(0).all()
    assert st.pes == 32 * 32 + 16 * 8


def test_summary_states_units_node_profile_and_overrides(tmp_path, hetero):
    from hwsim.report.writer import read_run, write_run

    arch = load_arch(ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml")
    st = simulate(arch, "llama-2-7b:decode:128", mode="analytic")
    summary = st.summary()
    assert summary["units"] == [
        {
            "name": "pe_array",
            "pe_kind": "bitmod",
            "pe_params": {"dp": 4},
            "rows": st.arch.pe_array.rows,
            "cols": st.arch.pe_array.cols,
            "dot_product_width": 4,
            "systolic": False,
            "dataflow": "os",
            "ops": int((st.ops["kind"] != "vector").sum()),
        }
    ]
    assert summary["node_nm"] == arch.technology.node_nm and summary["profile"]
    assert summary["overrides_applied"] == ["*:decode:*"]  # the paper's decode array shape
    assert summary["units"][0]["rows"] == 64 != arch.pe_array.rows
    prefill = simulate(arch, "llama-2-7b:prefill:16", mode="analytic").summary()
    assert prefill["overrides_applied"] == []
    out = tmp_path / "run"
    write_run(simulate(hetero, CARD, mode="analytic"), out)
    summary, ops = read_run(out)
    assert [u["name"] for u in summary["units"]] == ["gemm", "attn"]
    text = (out / "summary.md").read_text()
    assert "## Compute units" in text and "float_mac" in text and "one after another" in text
    assert list(ops.columns[-10:]) == [
        "unit", "rows", "cols", "dataflow", "weight_format", "activation_format",
        "group_size", "scale_format", "bound", "mapping",
    ]  # fmt: skip
    assert json.loads((out / "summary.json").read_text())["units"][1]["rows"] == 16


def test_a_recipe_rule_can_move_ops_to_another_unit(hetero):
    recipe = load_recipe(
        {
            "version": 1,
            "default": {"weights": {"format": "int8", "granularity": "channel"}},
            "rules": [
                {"match": "lm_head", "unit": "attn", "weights": {"format": "float16"}},
                *ATTENTION_FP16,
            ],
        }
    )
    st = simulate(hetero, CARD, quant=recipe, mode="analytic")
    lm = st.ops[st.ops["op"] == "lm_head"].iloc[0]
    assert (lm["unit"], lm["weight_format"]) == ("attn", "float16")


def test_a_one_array_file_is_one_unit_named_pe_array():
    arch = load_arch(ROOT / "hwsim" / "data" / "arch" / "tpu_int8.yaml")
    assert [u.name for u in arch.units] == ["pe_array"]
    assert arch.units[0].array == arch.pe_array and arch.units[0].dataflow == arch.dataflow


def test_dp_is_derived_from_the_dot_product_width(tmp_path):
    text = (ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml").read_text()
    assert load_arch(ROOT / "hwsim" / "data" / "arch" / "bitmod.yaml").pe_array.params["dp"] == 4
    wider = text.replace("dot_product_width: 4", "dot_product_width: 8")
    assert load_arch(write(tmp_path, wider, "b8.yaml")).pe_array.params["dp"] == 8
    clash = wider.replace("params: {}", "params: {dp: 4}")
    with pytest.raises(HwsimError, match=r"b4\.yaml: .*\(line \d+\)") as e:
        load_arch(write(tmp_path, clash, "b4.yaml"))
    assert "pe_array.pe.params.dp: expected dot_product_width (8) or no dp, got 4" in str(e.value)
    assert "\n" not in str(e.value)


BAD = [
    (
        "  - {unit: gemm}\n",
        "  - {unit: gemm}\n  - {unit: tensor_core}\n",
        r"arch\.routes\[3\]\.unit: unknown compute unit 'tensor_core'; expected one of gemm, attn",
    ),
    (
        "  - {kind: attn_qk, unit: attn}\n  - {kind: attn_av, unit: attn}\n",
        "",
        r"arch\.compute_units\[1\]: unit 'attn' is named by no route",
    ),
    (
        "  - {unit: gemm}\n",
        "  - {unit: gemm, kind: vector}\n",
        r"arch\.routes\[2\]\.kind: .*vector",
    ),
    ("compute_units:\n", "pe_array: {rows: 2, cols: 2, pe: {kind: int_mac}}\ncompute_units:\n",
     r"arch\.compute_units: expected pe_array or compute_units, got both"),
    ("    dataflow: ws\n", "", r"arch\.compute_units\[0\]\.dataflow: missing"),
    ("  - name: attn\n", "  - name: gemm\n", r"compute_units\[1\]\.name: expected a unique name"),
    (
        "      weight_format: float16\n",
        "      weight_format: int8\n",
        r"arch\.compute_units\[1\]\.precision: PE 'float_mac' of unit 'attn'",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "pattern"), BAD)
def test_bad_units_and_routes_are_one_line_errors(tmp_path, old, new, pattern):
    assert old in HETERO
    p = write(tmp_path, HETERO.replace(old, new, 1))
    with pytest.raises(HwsimError, match=pattern) as e:
        load_arch(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_an_op_no_route_selects_is_refused(tmp_path):
    p = write(tmp_path, HETERO.replace("  - {unit: gemm}\n", "  - {kind: gemm, unit: gemm}\n"))
    wl = Workload("w", (Op("conv1", "conv", M=16, N=8, K=27),))
    with pytest.raises(HwsimError, match=r"hetero\.yaml: op 'conv1' \(kind conv\): no route"):
        simulate(p, wl)


def test_a_route_pattern_selecting_no_op_is_refused(tmp_path):
    route = "  - {match: lm_hed, unit: gemm}\n  - {unit: gemm}\n"
    p = write(tmp_path, HETERO.replace("  - {unit: gemm}\n", route))
    with pytest.raises(HwsimError, match=r"routes\[2\]\.match: pattern 'lm_hed' selects no op"):
        simulate(p, CARD, mode="analytic")


def test_a_route_to_a_unit_that_cannot_take_the_formats_is_refused(tmp_path):
    qk = "  - {kind: attn_qk, unit: attn}\n"
    p = write(tmp_path, HETERO.replace(qk, "  - {match: lm_head, unit: attn}\n" + qk))
    recipe = load_recipe(
        {"version": 1, "default": {"weights": {"format": "int4"}}, "rules": ATTENTION_FP16}
    )
    where = r"op 'lm_head': arch\.compute_units\[1\]\.pe: float_mac: w: .*int4.*\(unit 'attn', "
    with pytest.raises(HwsimError, match=where):
        simulate(p, CARD, quant=recipe, mode="analytic")


def test_a_recipe_rule_naming_an_unknown_unit_is_refused(tmp_path, hetero):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\nrules:\n  - {match: lm_head, unit: npu}\n")
    with pytest.raises(HwsimError, match=r"r\.yaml: rules\[0\]\.unit: unknown compute unit 'npu'"):
        simulate(hetero, CARD, quant=load_recipe(path))


def test_reshaping_overrides_name_their_unit(tmp_path, hetero):
    bad = HETERO + "overrides:\n  - {workload: '*:decode:*', rows: 8}\n"
    with pytest.raises(HwsimError, match=r"arch\.overrides\[0\]\.unit: expected the compute unit"):
        load_arch(write(tmp_path, bad, "o.yaml"))
    good = HETERO + "overrides:\n  - {workload: '*:decode:*', rows: 8, unit: attn}\n"
    st = simulate(write(tmp_path, good, "g.yaml"), CARD, mode="analytic")
    assert set(st.ops.loc[st.ops["unit"] == "attn", "rows"]) == {8}
    assert set(st.ops.loc[st.ops["unit"] == "gemm", "rows"]) == {32}
    assert st.summary()["overrides_applied"] == ["*:decode:*"]


def test_scalesim_mode_takes_one_unit_only(hetero):
    with pytest.raises(HwsimError, match=r"mode scalesim: expected one compute unit"):
        simulate(hetero, CARD, mode="scalesim")


def test_traced_model_runs_on_the_heterogeneous_arch(hetero):
    wl = load_workload(str(ROOT / "hwsim" / "data" / "workloads" / "minilm.yaml"))
    st = simulate(hetero, wl, mode="event")
    assert set(st.ops["unit"]) == {"gemm", "attn", "vector"}


def test_sweeps_take_recipes_and_multi_unit_archs(tmp_path, hetero):
    from hwsim.dse.explore import explore

    recipe = tmp_path / "w8a8-fp16-attention.yaml"
    recipe.write_text(
        "version: 1\n"
        "default:\n"
        "  weights: {format: int8, granularity: channel}\n"
        "  activations: {format: int8, granularity: channel}\n"
        "rules:\n"
        "  - {kind: attn_qk, weights: {format: float16}, activations: {format: float16}}\n"
        "  - {kind: attn_av, weights: {format: float16}, activations: {format: float16}}\n"
    )
    sweep = {
        "version": 1,
        "name": "units",
        "arch": str(hetero),
        "workloads": [CARD],
        "quant": [None, str(recipe)],
        "mode": "analytic",
        "parameters": {"compute_units[attn].rows": [8, 16], "compute_units[0].cols": [16, 32]},
        "search": {"method": "grid"},
        "objectives": ["cycles", "energy_pj"],
    }
    res = explore(sweep, store=tmp_path / "s.sqlite")
    assert len(res.points) == 8 and (res.points["status"] == "ok").all(), res.points["reason"]
    assert res.points["cycles"].nunique() > 1


def test_fpga_resources_take_one_array(tmp_path):
    fpga = "fpga: {part: xczu7ev, luts: 230400, dsps: 1728, bram_36k: 312}\n"
    with pytest.raises(HwsimError, match=r"arch\.fpga: expected one pe_array .* got 2"):
        load_arch(write(tmp_path, HETERO + fpga, "f.yaml"))


@pytest.mark.parametrize(
    ("arch", "recipe", "units"),
    [
        ("comet_w4a4kv4", "comet-w4a4kv4", {"int4_gemm", "fp16_attention"}),
        ("sageattn2", "sageattn2-qk4-pv8", {"fp16_gemm", "int4_qk", "fp8_pv"}),
    ],
)
@pytest.mark.parametrize("workload", ["llama-2-7b:decode:64", "minilm"])
def test_shipped_heterogeneous_examples_run(arch, recipe, units, workload):
    wl = load_workload(workload)
    q = load_recipe(ROOT / "hwsim" / "data" / "recipes" / f"{recipe}.yaml")
    st = simulate(ROOT / "hwsim" / "data" / "arch" / f"{arch}.yaml", wl, quant=q, mode="analytic")
    ops = st.ops[st.ops["kind"] != "vector"]
    assert set(ops["unit"]) == units
    qk = ops[ops["kind"] == "attn_qk"].iloc[0]
    av = ops[ops["kind"] == "attn_av"].iloc[0]
    if arch == "comet_w4a4kv4":  # 4-bit K / V in groups of 128 with fp16 scales, FP16 math
        assert (qk["weight_format"], qk["group_size"], qk["scale_format"]) == ("int4", 128, "fp16")
        assert qk["activation_format"] == "float16" and qk["unit"] == "fp16_attention"
        gemm = ops[ops["kind"] == "gemm"].iloc[0]
        assert (gemm["weight_format"], gemm["activation_format"]) == ("int4", "int4")
    else:  # INT4 Q K^T, FP8 P V
        assert (qk["unit"], qk["weight_format"], qk["activation_format"]) == (
            "int4_qk",
            "int4",
            "int4",
        )
        assert (av["unit"], av["weight_format"]) == ("fp8_pv", "float8_e4m3fn")


LLM_INT8 = ROOT / "hwsim" / "data" / "arch" / "llm_int8.yaml"
LLM_INT8_RECIPE = ROOT / "hwsim" / "data" / "recipes" / "llm-int8.yaml"


@pytest.mark.parametrize("workload", ["llama-2-7b:decode:64", "minilm"])
def test_llm_int8_splits_gemms_into_int8_and_fp16_parts(workload):
    wl = load_workload(workload)
    st = simulate(LLM_INT8, wl, quant=load_recipe(LLM_INT8_RECIPE), mode="analytic")
    ops = st.ops
    sparse = ops[ops["op"].str.endswith("[outliers]")]
    gemms = [op for op in wl.ops if op.kind == "gemm"]
    assert len(sparse) == len(gemms) and set(sparse["unit"]) == {"fp16"}
    for op in gemms:
        dense = ops[ops["op"] == op.name].iloc[0]
        part = ops[ops["op"] == op.name + "[outliers]"].iloc[0]
        k = -(-op.K // 1000)  # 0.1% of K on a shapes-only workload
        assert (dense["K"], part["K"], dense["unit"]) == (op.K - k, k, "int8_gemm")
        assert part["weight_format"] == "float16" and dense["weight_format"] == "int8"
        # the sparse part reads its k column indices (ceil(log2 K) bits each) with its inputs
        index = -(-k * (op.K - 1).bit_length() // 8)
        assert part["dram_read_inputs_bytes"] == -(-k * 16 // 8) * op.M + index
    matrix = ops[ops["kind"] != "vector"]
    macs = matrix["M"] * matrix["N"] * matrix["K"] * matrix["batch"] * matrix["repeat"]
    assert int(macs.sum()) == wl.macs


def test_outlier_columns_come_from_the_real_activations(rng):
    x = rng.standard_normal((4, 64))
    x[:, [3, 40]] *= 50.0  # two outlier feature columns, LLM.int8()'s |x| >= 6 ones
    op = Op("fc", "gemm", M=4, N=8, K=64, inputs=x, weights=rng.standard_normal((8, 64)))
    st = simulate(LLM_INT8, Workload("t", (op,)), quant=load_recipe(LLM_INT8_RECIPE))
    rows = st.ops.set_index("op")
    assert (rows.loc["fc", "K"], rows.loc["fc[outliers]", "K"]) == (62, 2)
    assert st.counts["pe:macs"] == op.macs


def test_outlier_rules_are_checked(tmp_path, hetero):
    bad = {"version": 1, "rules": [{"kind": "gemm", "outliers": {"unit": "attn"}}]}
    with pytest.raises(HwsimError, match=r"rules\[0\]\.outliers: expected threshold: or fraction"):
        load_recipe(bad)
    bad["rules"][0]["outliers"] = {"fraction": 2}
    with pytest.raises(HwsimError, match=r"outliers\.fraction: expected a number in \(0, 1\]"):
        load_recipe(bad)
    bad["rules"][0]["outliers"] = {"fraction": 0.01, "unit": "npu"}
    with pytest.raises(HwsimError, match=r"rules\[0\]\.outliers\.unit: unknown compute unit"):
        simulate(hetero, CARD, quant=load_recipe(bad))
    bad["rules"][0]["outliers"] = {"threshold": 6.0}
    with pytest.raises(HwsimError, match=r"outliers\.threshold needs the op's real activations"):
        simulate(hetero, CARD, quant=load_recipe(bad))
