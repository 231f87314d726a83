"""hwsim.search: per-layer costs from the simulator, the exact ILP, budgets, the round trip.

Sensitivity tables here are seeded random stand-ins (the API takes any precomputed table);
costs are hwsim's own simulations of shipped archs and workloads.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import hwsim
from hwsim.errors import HwsimError
from hwsim.layersearch.api import search
from hwsim.layersearch.budget import parse_budget, value
from hwsim.layersearch.candidates import Candidate, load_candidates
from hwsim.layersearch.layers import rule_pattern, select_layers, unfold_layers
from hwsim.layersearch.solver import solve
from hwsim.workload import load_workload
from hwsim.workload.recipe import load_recipe

ARCH = "bitfusion"  # BitFusion's bit-serial PE: int2 / int4 / int8 all run, each faster
MINILM_12 = ["encoder.layer.0.*", "encoder.layer.1.*"]  # 12 layers


def _table(layers, names, rng, zero=None):
    """A random sensitivity table; `zero`: a candidate that costs no sensitivity."""
    return {
        layer: {c: 0.0 if c == zero else float(rng.random()) for c in names} for layer in layers
    }


def _layers(workload, patterns=None):
    return select_layers(unfold_layers(load_workload(workload)), patterns)


def test_candidates_are_validated_as_recipe_rules():
    got = load_candidates("int8,w8a8-int")
    assert got[0] == Candidate(
        "int8",
        {
            "weights": {"format": "int8", "granularity": "channel"},
            "activations": {"format": "int8", "granularity": "channel"},
        },
    )
    assert got[1].rule["activations"]["format"] == "int8"
    with pytest.raises(HwsimError, match=r"^candidates\[0\]\.weights\.format: unknown format"):
        load_candidates([{"name": "x", "weights": {"format": "int9q"}}])
    with pytest.raises(HwsimError, match="candidate int5x: expected a shipped recipe"):
        load_candidates("int5x")
    with pytest.raises(HwsimError, match="candidate int8: named twice"):
        load_candidates("int8,int8")


def test_unfold_names_layers_as_the_tracer_does():
    wl = unfold_layers(load_workload("smollm2-135m"))
    gemms = [op for op in wl.ops if op.kind == "gemm"]
    assert len(gemms) == 30 * 7 + 1  # SmolLM2-135M: 30 layers of 7 linears, and lm_head
    assert gemms[0].name == "model.layers.0.self_attn.q_proj" and gemms[0].repeat == 1
    assert gemms[-1].name == "lm_head"
    folded = load_workload("smollm2-135m")
    assert sum(o.macs * o.repeat for o in wl.ops) == sum(o.macs * o.repeat for o in folded.ops)
    assert rule_pattern("a.b[0]*") == "a.b[[]0][*]"


def test_costs_add_up_to_the_whole_model_exactly(rng):
    """The round trip: the emitted recipe, re-read from YAML and simulated, costs what the
    search predicted (integer costs exactly, energy to float rounding)."""
    layers = _layers("minilm")
    sens = _table(layers, ["int8", "int4", "int2"], rng)
    r = search(ARCH, "minilm", "int8,int4,int2", ["latency <= 0.6*int8"], sens)
    recipe = load_recipe(r.recipe)
    st = hwsim.simulate(ARCH, r.workload, quant=recipe, mode="analytic")
    t, a = r.table, r.solution.assignment
    assert st.cycles == t.total(a, "cycles") == r.measured["cycles"]
    assert sum(row.dram_bytes * row.repeat for row in st.op_rows) == t.total(a, "dram_bytes")
    assert st.energy_pj == pytest.approx(t.total(a, "energy_pj"), rel=1e-12)
    assert r.measured["latency"] == r.solution.values["latency <= 0.6*int8"]
    assert r.measured["latency"] <= r.solution.bounds["latency <= 0.6*int8"]
    assert len(set(a.values())) > 1  # a real mix, not a uniform answer


def test_ilp_equals_brute_force_on_12_layers_by_3(rng):
    layers = _layers("minilm", MINILM_12)
    assert len(layers) == 12
    names = ["int8", "int4", "int2"]
    base = search(ARCH, "minilm", names, [], _table(layers, names, rng), layers=MINILM_12)
    t = base.table
    cyc = np.array([[t.cost[x][c]["cycles"] for c in names] for x in layers], dtype=np.int64)
    bits = np.array([[t.cost[x][c]["weight_bits"] for c in names] for x in layers])
    idx = np.array(list(itertools.product(range(3), repeat=12)), dtype=np.int64)  # 531441
    rows = np.arange(12)
    total_cyc = cyc[rows, idx].sum(1) + t.constant["cycles"]
    total_bits = bits[rows, idx].sum(1) + t.constant["weight_bits"]
    for q in (0.05, 0.3, 0.6, 0.9):  # bounds across the range of what assignments reach
        sens = _table(layers, names, rng)
        s = np.array([[sens[x][c] for c in names] for x in layers])
        obj = s[rows, idx].sum(1)
        cyc_bound = int(np.quantile(total_cyc, q))
        size_bound = float(np.quantile(total_bits, 1 - q / 2)) / t.weights
        budgets = [parse_budget(f"cycles <= {cyc_bound}"), parse_budget(f"size <= {size_bound!r}")]
        ok = (total_cyc <= cyc_bound) & (total_bits / t.weights <= size_bound)
        best = idx[np.flatnonzero(ok)[np.argmin(obj[ok])]]
        got = solve(t, sens, budgets)
        assert got.objective == pytest.approx(obj[ok].min(), rel=1e-12, abs=1e-12)
        assert got.assignment == {x: names[i] for x, i in zip(layers, best, strict=True)}


def test_frontier_is_monotone_and_every_point_meets_its_budget(rng):
    layers = _layers("minilm")
    sens = _table(layers, ["int8", "int4", "int2"], rng, zero="int8")
    r = search(ARCH, "minilm", "int8,int4,int2", ["latency <= 0.7*int8"], sens, sweep=7)
    assert len(r.frontier) == 7
    objs = [s.objective for s, _ in r.frontier]
    assert objs == sorted(objs, reverse=True)  # more latency never costs sensitivity
    assert objs[-1] == 0.0 and objs[0] > 0  # from all-cheapest to uniform int8
    for sol, measured in r.frontier:
        (text,) = sol.bounds
        assert measured["latency"] == sol.values[text] <= sol.bounds[text]


def test_size_and_bops_budgets(rng):
    layers = _layers("minilm")
    sens = _table(layers, ["int8", "int4"], rng, zero="int8")
    r = search(ARCH, "minilm", "int8,int4", ["size <= 6", "bops <= 0.8*int8"], sens)
    assert r.measured["size"] <= 6 and r.solution.values["size <= 6"] == r.measured["size"]
    assert r.measured["bops"] <= r.solution.bounds["bops <= 0.8*int8"]


def test_infeasible_budget_names_the_smallest_value(rng):
    layers = _layers("minilm")
    sens = _table(layers, ["int8", "int4"], rng)
    with pytest.raises(
        HwsimError, match=r"infeasible; the smallest achievable latency is [0-9.e-]+ s"
    ):
        search(ARCH, "minilm", "int8,int4", ["latency <= 0.1*int8"], sens)
    r = search(ARCH, "minilm", "int8,int4", [], sens)
    low = value("latency", r.table, dict.fromkeys(layers, "int4"))
    with pytest.raises(HwsimError, match=f"smallest achievable latency is {low:.6g} s"):
        solve(r.table, sens, [parse_budget(f"latency <= {low * 0.999}")])
    assert solve(r.table, sens, [parse_budget(f"latency <= {low}")]).values  # at the edge: ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latency < 3", "expected METRIC <= NUMBER"),
        ("speed <= 3", "got metric 'speed'"),
        ("latency <= 0.5*", "expected METRIC <= NUMBER"),
        ("latency <= device", "`device` bounds luts or dsps only"),
    ],
)
def test_malformed_budgets(text, message):
    with pytest.raises(HwsimError, match=message):
        parse_budget(text)


def test_budget_reference_must_be_a_candidate(rng):
    sens = _table(_layers("minilm"), ["int8", "int4"], rng)
    with pytest.raises(HwsimError, match="'fp8' is not a candidate"):
        search(ARCH, "minilm", "int8,int4", ["latency <= 0.5*fp8"], sens)
    with pytest.raises(HwsimError, match="not an FPGA target"):
        search(ARCH, "minilm", "int8,int4", ["luts <= device"], sens)


def test_candidate_no_layer_can_run_is_an_error(rng):
    sens = _table(_layers("minilm"), ["int8", "float8_e4m3fn"], rng)
    with pytest.raises(
        HwsimError,
        match=r"candidate float8_e4m3fn: the arch cannot run it on any "
        r"layer \(op 'encoder.layer.0.attention.self.query'.*not an integer",
    ):
        search(ARCH, "minilm", "int8,float8_e4m3fn", [], sens)


def test_layer_glob_matching_nothing(rng):
    with pytest.raises(HwsimError, match=r"--layers 'decoder\.\*': matches no gemm or conv op"):
        search(ARCH, "minilm", "int8,int4", [], {}, layers=["decoder.*"])


def test_sensitivity_table_checks(rng):
    layers = _layers("minilm")
    with pytest.raises(HwsimError, match="sensitivity: layer 'nope' is not a gemm or conv op"):
        search(ARCH, "minilm", "int8,int4", [], {"nope": {"int8": 0.0}})
    with pytest.raises(HwsimError, match="sensitivity: the table names no layer of minilm"):
        search(ARCH, "minilm", "int8,int4", [], {})
    sens = _table(layers, ["int8"], rng)
    with pytest.raises(
        HwsimError,
        match=r"layer encoder\.layer\.0\.attention\.self\.query, "
        r"candidate int4: expected a finite number, got None",
    ):
        search(ARCH, "minilm", "int8,int4", [], sens)


def test_fpga_resources_are_constants_checked_against_the_device(rng):
    cands = [{"name": f"q{w}", "weights": {"format": f"ap_fixed<{w},3>"},
              "activations": {"format": "ap_fixed<8,3>"}} for w in (8, 6)]  # fmt: skip
    sens = _table(_layers("minilm"), ["q8", "q6"], rng, zero="q8")
    r = search("fpga_zcu104", "minilm", cands, ["luts <= device", "size <= 7"], sens)
    assert r.measured["luts"] == r.table.constant["luts"] <= r.table.device["luts"]
    with pytest.raises(HwsimError, match="smallest achievable luts is"):
        search("fpga_zcu104", "minilm", cands, ["luts <= 0.0001*device"], sens)


def test_hwsim_search_is_the_lazy_name(rng):
    sens = _table(_layers("minilm"), ["int8", "int4"], rng)
    r = hwsim.search(ARCH, "minilm", "int8,int4", ["cycles <= 0.9*int8"], sens)
    assert r.measured["cycles"] <= r.solution.bounds["cycles <= 0.9*int8"]


def test_the_chosen_recipe_runs_on_the_real_model(rng):
    """hwsim eval takes the emitted recipe strictly (every rule must select a traced layer):
    the search's unfolded names are the tracer's."""
    pytest.importorskip("torch")
    layers = _layers("minilm", MINILM_12)
    sens = _table(layers, ["int8", "int4"], rng, zero="int8")
    r = search(ARCH, "minilm", "int8,int4", ["cycles <= 0.97*int8"], sens, layers=MINILM_12,
               task="minilm-l6", accuracy=True)  # fmt: skip
    assert r.accuracy["model"] == "minilm-l6"
    cosine = r.accuracy["metrics"]["hardware"]["embedding_cosine"]
    assert 0.5 < cosine < 1.0  # some layers at W4A4: close to fp32, not equal


def test_each_candidate_runs_on_the_unit_it_names(rng):
    """A heterogeneous arch: the candidate's `unit:` is the unit its layers are costed on."""
    cands = [
        {"name": "int8", "weights": {"format": "int8", "granularity": "channel"},
         "activations": {"format": "int8", "granularity": "channel"}, "unit": "int4_gemm"},
        {"name": "fp8", "weights": {"format": "float8_e4m3fn", "granularity": "channel"},
         "activations": {"format": "float8_e4m3fn"}, "unit": "fp16_attention"},
    ]  # fmt: skip
    sens = _table(_layers("minilm"), ["int8", "fp8"], rng)
    r = search("comet_w4a4kv4", "minilm", cands, ["latency <= 0.9*fp8"], sens)
    t = r.table
    assert {t.units[x]["int8"] for x in t.layers} == {"int4_gemm"}
    assert {t.units[x]["fp8"] for x in t.layers} == {"fp16_attention"}
    assert r.measured["cycles"] == t.total(r.solution.assignment, "cycles")


def test_a_base_recipe_sets_everything_else(rng):
    """Weight-only candidates over a W8A8 base: activations stay the base's INT8, its default
    is the recipe's default, and the round trip still holds."""
    cands = [{"name": f"w{b}", "weights": {"format": f"int{b}", "granularity": "channel"}}
             for b in (8, 4)]  # fmt: skip
    sens = _table(_layers("minilm"), ["w8", "w4"], rng, zero="w8")
    r = search(ARCH, "minilm", cands, ["size <= 6"], sens, base="w8a8-int")
    assert r.recipe["default"]["activations"]["format"] == "int8"
    st = hwsim.simulate(ARCH, r.workload, quant=load_recipe(r.recipe), mode="analytic")
    assert st.cycles == r.table.total(r.solution.assignment, "cycles")
    acts = {row.activation_format for row in st.op_rows if row.kind == "gemm"}
    assert acts == {"int8"}
