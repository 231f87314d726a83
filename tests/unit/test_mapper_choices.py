"""The mapper's choices: `mapping:` in the arch, a unit's dataflow list, row-stationary."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from pathlib import Path

import pytest

from hwsim.errors import HwsimError
from hwsim.sim import simulate
from hwsim.sim.actions import gemm_counts
from hwsim.sim.mapper import OBJECTIVES, best_exhaustive, choose_mapping, cost_of, dataflows
from hwsim.sim.mapping import map_op, port_floor
from hwsim.sim.mapspace import Space
from hwsim.sim.pe_model import pe_model
from hwsim.sim.plan import plan, resolve_unit
from hwsim.sim.rowstationary import row_stationary
from hwsim.spec import load_arch
from hwsim.workload import load_workload
from hwsim.workload.op import ConvShape, Op, Workload

ARCH = Path(__file__).resolve().parents[2] / "hwsim" / "data" / "arch"
TPU = (ARCH / "tpu_int8.yaml").read_text()


def conv(cin=4, cout=2, k=3, in_hw=6, stride=1, images=1, name="c") -> Op:
    out = (in_hw - k) // stride + 1
    shape = ConvShape(cin, cout, (k, k), (stride, stride), (0, 0), (in_hw, in_hw), (out, out))
    return Op(name, "conv", M=images * out * out, N=cout, K=cin * k * k, conv=shape)


def arch_file(tmp_path, *edits, extra: str = "", name: str = "a.yaml") -> Path:
    """tpu_int8.yaml with (old, new) text edits and `extra` lines appended (its own
    `mapping: fixed` line dropped first)."""
    assert "\nmapping: fixed\n" in TPU
    text = TPU.replace("\nmapping: fixed\n", "\n")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text + extra)
    return path


SMALL = ("rows: 256\n  cols: 256", "rows: 6\n  cols: 4")
NOT_SYSTOLIC = ("systolic: true", "systolic: false")
FLEX = ("dataflow: ws\n", "dataflow: [ws, os, rs]\n")


def bound(arch):
    unit = resolve_unit(arch, arch.units[0])
    return unit, pe_model(unit, arch.precision, "int8", "int8")


# -- row-stationary -------------------------------------------------------------------------


def test_row_stationary_counts_derived_by_hand(tmp_path):
    """4 input channels of 6x6, 2 filters of 3x3, stride 1 -> 2 x 4x4 outputs, on 6 x 4 PEs
    of one lane. Eyeriss's row-stationary: the 3 filter rows of q = 6 // 3 = 2 channels
    down the rows, e = min(4, 4) = 4 output rows across the columns.
      folds        2 filters x ceil(4 / 2) = 2 channel groups x 1 row tile x 1 image = 4
      steps/fold   F x ceil(S / dp) = 4 x 3 = 12 (each PE: 4 outputs of a 3-tap row)
      weights      3 rows x 2 channels x 3 taps = 18 per fold, each read once and shared
                   by the 4 PEs of its row; 4 x 18 = 72 = every weight exactly once
      inputs       2 channels x ((4 - 1) x 1 + 3 = 6 rows) x ((4 - 1) x 1 + 3 = 6 wide) = 72
                   per fold, shared along the diagonals; 4 x 72 = 288 = each of the
                   4 x 36 inputs once per filter
      outputs      4 rows x 4 = 16 partial sums per fold (at 32 bits: 2 channel groups)
      MACs         4 folds x 24 busy PEs x 12 = 1152 = M N K = 16 x 2 x 36."""
    arch = load_arch(arch_file(tmp_path, SMALL, NOT_SYSTOLIC, FLEX))
    unit, pe = bound(arch)
    op = conv()
    rs = row_stationary(op, 6, 4, 1)
    assert (rs.q, rs.e, rs.channel_groups, rs.T) == (2, 4, 2, 12)
    assert rs.folds(op.M, op.N, op.K, 1, 6, 4) == 4
    assert rs.operand_reads(6, 4, 12, 1) == (18, 72)
    assert rs.output_writes(6, 4, 12) == 16
    assert op.macs == 4 * 3 * 2 * 4 * 12
    space = Space(arch, unit, op, pe, 8, 8, rs)
    assert space.time is None and space.blocks == {"m": 1, "n": 2, "k": 2}
    m = space.mapping(("mnk", 1, 1, 1), "latency")
    assert (m.folds, m.stream_steps, m.fold_cycles, m.compute_cycles) == (4, 12, 12, 48)
    rs_unit = replace(unit, dataflow=rs, dataflow_name="rs")
    counts = gemm_counts(arch, rs_unit, m, pe, 8, 8, m.compute_cycles)
    wbuf, ubuf = arch.level_for("weights").name, arch.level_for("inputs").name
    assert counts[f"sram:{wbuf}:weights:read_bits"] == 72 * 8
    assert counts[f"sram:{ubuf}:inputs:read_bits"] == 288 * 8
    # the port floor sees the fold's 16 partial sums at 32 bits: 64 B on a 1024 B/cycle port
    assert port_floor(arch, rs_unit, 12, 8, 8, 32) == (1, "sram_read")


def test_row_stationary_applies_to_convs_whose_filter_rows_fit():
    assert row_stationary(conv(k=7, in_hw=12), 6, 4, 1) is None  # 7 filter rows > 6 PE rows
    assert row_stationary(Op("g", "gemm", M=4, N=4, K=4), 6, 4, 1) is None
    assert row_stationary(conv(cin=1), 6, 4, 1).q == 1  # one channel: one PE set


def test_flexible_unit_runs_a_conv_row_stationary_and_says_so(tmp_path, capsys):
    from hwsim.cli import main

    path = arch_file(tmp_path, SMALL, NOT_SYSTOLIC, FLEX, extra="mapping: {search: latency}\n")
    wl = Workload("w", (conv(), Op("g", "gemm", M=64, N=64, K=64)))
    st = simulate(path, wl, mode="analytic")
    rows = {r.op: r for r in st.op_rows}
    assert rows["c"].dataflow == "rs"
    assert "rs[r3c2|e4 T12 x4 rows]" in rows["c"].mapping
    assert rows["c"].mapping.startswith("latency: ")
    assert rows["c"].cycles == 48  # compute-bound: 4 folds x 12 steps
    assert rows["g"].dataflow in ("ws", "os")  # rs is for convs; the gemm keeps a GEMM one
    fixed = simulate(path, wl, mode="analytic", objective="fixed")
    assert all(r.dataflow == "ws" and r.mapping.startswith("fixed") for r in fixed.op_rows)
    assert rows["c"].cycles < fixed.op_rows[0].cycles
    # --explain names the dataflow and where it came from
    card = tmp_path / "w.yaml"
    card.write_text(
        "version: 1\nname: w\nops:\n  - {name: c, kind: conv, M: 16, N: 2, K: 36, conv: "
        "{in_channels: 4, out_channels: 2, kernel: [3, 3], in_hw: [6, 6], out_hw: [4, 4]}}\n"
    )
    out = tmp_path / "run"
    assert main(["run", str(path), str(card), "--mode", "analytic", "--explain", "c",
                 "-o", str(out), "--no-plots"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "dataflow rs on 6x4 (chosen by the mapper; declared ws)" in text
    assert "rs[r3c2|e4 T12 x4 rows]" in text


def test_a_unit_with_one_dataflow_keeps_it(tmp_path):
    path = arch_file(tmp_path, SMALL, NOT_SYSTOLIC, extra="mapping: {search: latency}\n")
    unit, _ = bound(load_arch(path))
    assert dataflows(unit, conv()) == [unit.dataflow]
    st = simulate(path, Workload("w", (conv(),)), mode="analytic")
    assert st.op_rows[0].dataflow == "ws" and "> ws[" in st.op_rows[0].mapping


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_choice_is_the_best_dataflow_by_exhaustive_enumeration(tmp_path, objective):
    arch = load_arch(arch_file(tmp_path, SMALL, NOT_SYSTOLIC, FLEX))
    arch = replace(arch, memory=tuple(replace(lv, size_bytes=2048) for lv in arch.memory))
    unit, pe = bound(arch)
    for op in (conv(), conv(cin=16, cout=8, in_hw=10), conv(cin=3, cout=16, k=5, in_hw=14,
               stride=2, images=2), Op("g", "gemm", M=96, N=40, K=200)):  # fmt: skip
        fixed = map_op(arch, unit, op, pe, 8, 8)
        chosen, df = choose_mapping(arch, unit, op, pe, 8, 8, fixed, objective)
        best = min(
            best_exhaustive(Space(arch, unit, op, pe, 8, 8, d), fixed, objective)
            if d is unit.dataflow
            else min(Space(arch, unit, op, pe, 8, 8, d).ranked(c, objective)[0]
                     for c in Space(arch, unit, op, pe, 8, 8, d).exhaustive())
            for d in dataflows(unit, op)
        )  # fmt: skip
        assert cost_of(Space(arch, unit, op, pe, 8, 8, df), chosen, objective) == best, op


# -- the vectorised, pruned search against exhaustive enumeration --------------------------


def random_cases(n: int):
    rng = random.Random(13)
    for _ in range(n):
        flow = rng.choice(["os", "ws", "is"])
        sizes = [rng.choice([1024, 4096, 16384, 65536]) for _ in range(3)]
        rows, cols = rng.choice([4, 8, 16]), rng.choice([4, 8, 16])
        op = rng.choice([
            Op("g", "gemm", M=rng.randint(1, 400), N=rng.randint(1, 400), K=rng.randint(1, 900)),
            Op("a", "attn_qk", M=rng.randint(1, 64), N=rng.randint(8, 256), K=64, batch=8,
               weight_is_activation=True, kv_group=rng.choice([1, 2, 4, 8])),
            conv(cin=rng.randint(1, 24), cout=rng.randint(1, 24), k=rng.choice([1, 3]),
                 in_hw=rng.randint(3, 12)),
        ])  # fmt: skip
        yield flow, sizes, rows, cols, op, rng.choice([4, 8])


@pytest.mark.parametrize("case", list(random_cases(60)), ids=lambda c: f"{c[0]}-{c[4].name}")
def test_search_equals_exhaustive_on_random_small_cases(case):
    flow, sizes, rows, cols, op, bits = case
    arch = load_arch(ARCH / "tpu_int8.yaml")
    mem = tuple(replace(lv, size_bytes=s) for lv, s in zip(arch.memory, sizes, strict=True))
    arch = replace(arch, memory=mem, dataflow=flow, dataflows=(flow, "os", "ws", "is", "rs"),
                   pe_array=replace(arch.pe_array, rows=rows, cols=cols))  # fmt: skip
    unit, pe = bound(arch)
    try:
        fixed = map_op(arch, unit, op, pe, bits, 8)
    except HwsimError:
        pytest.skip("no tile fits these buffers")
    for objective in OBJECTIVES:
        chosen, df = choose_mapping(arch, unit, op, pe, bits, 8, fixed, objective)
        for d in dataflows(unit, op):
            space = Space(arch, unit, op, pe, bits, 8, d)
            best = (
                best_exhaustive(space, fixed, objective)
                if d is unit.dataflow
                else min((space.ranked(c, objective)[0] for c in space.exhaustive()), default=None)
            )
            if best is not None:  # fmt: skip
                got = cost_of(Space(arch, unit, op, pe, bits, 8, df), chosen, objective)
                assert got <= best, (objective, d.name)


# -- `mapping:` in the arch ---------------------------------------------------------------


def test_arch_mapping_field_and_the_objective_override(tmp_path):
    wl = Workload("w", (Op("g", "gemm", M=64 * 64, N=5120, K=5120),))
    base = simulate(ARCH / "mixpe_w4a8.yaml", wl, mode="analytic")
    text = (ARCH / "mixpe_w4a8.yaml").read_text()
    searched = tmp_path / "s.yaml"
    searched.write_text(text + "mapping: {search: latency}\n")
    fixed = tmp_path / "f.yaml"
    fixed.write_text(text + "mapping: fixed\n")
    a = simulate(searched, wl, mode="analytic")
    assert a.cycles < base.cycles and a.op_rows[0].mapping.startswith("latency: ")
    assert simulate(fixed, wl, mode="analytic").cycles == base.cycles
    assert simulate(searched, wl, mode="analytic", objective="fixed").cycles == base.cycles
    assert simulate(fixed, wl, mode="analytic", objective="latency").cycles == a.cycles
    e = simulate(searched, wl, mode="analytic", objective="energy")
    assert e.op_rows[0].mapping.startswith("energy: ")
    # SCALE-Sim mode keeps its exact formula whatever the arch asks
    sc = simulate(searched, wl, mode="scalesim")
    assert sc.cycles == simulate(fixed, wl, mode="scalesim").cycles


def test_a_units_mapping_wins_over_the_archs(tmp_path):
    path = ARCH / "comet_w4a4kv4.yaml"
    text = path.read_text()
    assert "compute_units:" in text
    units = re.findall(r"\n  - name: (\S+)\n", text)
    first = f"\n  - name: {units[0]}\n"
    own = tmp_path / "u.yaml"
    own.write_text(
        text.replace(first, first + "    mapping: {search: latency}\n", 1) + "mapping: fixed\n"
    )
    arch = load_arch(own)
    assert arch.mapping == "fixed"
    assert [u.mapping for u in arch.units][:1] == ["latency"]
    p = plan(arch, load_workload("llama-2-7b:prefill:128"))
    searched: dict = {}
    for o in p.ops:
        if o.mapping is not None:
            searched.setdefault(o.unit.name, set()).add(o.mapping.search)
    assert "latency" in searched[units[0]]  # fixed where it is as good
    assert all(s == {"fixed"} for u, s in searched.items() if u != units[0])


BAD = [
    ("mapping: fast\n", r"arch\.mapping: expected fixed or \{search: latency\|energy\|edp\}, "
     r"got 'fast' \(line \d+\)"),
    ("mapping: {search: speed}\n", r"arch\.mapping: expected fixed or \{search: latency\|energy\|"
     r"edp\}, got search: 'speed' \(line \d+\)"),
    ("mapping: {search: latency, order: mnk}\n", r"arch\.mapping: expected fixed or .*got a "
     r"mapping \(line \d+\)"),
    ("mapping: [latency]\n", r"arch\.mapping: .*got a list \(line \d+\)"),
]  # fmt: skip
BAD_FLOW = [
    ("dataflow: [rs, ws]\n", r"arch\.dataflow: expected one of is, os, ws first \(the fixed "
     r"mapping's dataflow\), got 'rs' \(line 17\)"),
    ("dataflow: rs\n", r"arch\.dataflow: unknown dataflow 'rs' for the fixed mapping; expected "
     r"one of is, os, ws \(rs is a mapper choice: a list such as \[is, rs\]\) \(line 17\)"),
    ("dataflow: [ws, xs]\n", r"arch\.dataflow: unknown dataflow 'xs'; expected one of"),
    ("dataflow: []\n", r"arch\.dataflow: expected a list of distinct dataflows"),
    ("dataflow: [ws, os, ws]\n", r"arch\.dataflow: expected a list of distinct dataflows"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_mapping_is_one_line_naming_file_field_and_line(tmp_path, extra, message):
    path = arch_file(tmp_path, extra=extra)
    with pytest.raises(HwsimError, match=re.escape(str(path)) + ": " + message):
        load_arch(path)


@pytest.mark.parametrize(("flow", "message"), BAD_FLOW)
def test_bad_dataflow_list_is_one_line(tmp_path, flow, message):
    path = arch_file(tmp_path, ("dataflow: ws\n", flow))
    with pytest.raises(HwsimError, match=re.escape(str(path)) + ": " + message):
        load_arch(path)


def test_bad_unit_mapping_names_the_unit(tmp_path):
    text = (ARCH / "comet_w4a4kv4.yaml").read_text()
    name = re.findall(r"\n  - name: (\S+)\n", text)[1]
    anchor = f"\n  - name: {name}\n"
    path = tmp_path / "u.yaml"
    path.write_text(text.replace(anchor, anchor + "    mapping: {search: area}\n", 1))
    with pytest.raises(
        HwsimError,
        match=r"arch\.compute_units\[1\]\.mapping: expected fixed or "
        r"\{search: latency\|energy\|edp\}, got search: 'area' \(line \d+\)",
    ):
        load_arch(path)  # fmt: skip


def test_cli_bad_mapping_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    from hwsim.cli import main

    path = arch_file(tmp_path, extra="mapping: {search: speed}\n")
    out = tmp_path / "run"
    assert main(["run", str(path), "bert-base:prefill:128", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"hwsim: error: {path}: arch.mapping: expected")
    assert not out.exists()


def test_search_is_exact_with_fractional_weight_bits():
    """BitMoD pads K = 147 to whole groups of 128: the weight bits are a Fraction, and the
    search's arrays hold exact Python numbers like the one-candidate reference."""
    arch = load_arch(ARCH / "bitmod.yaml")
    arch = replace(arch, memory=tuple(replace(lv, size_bytes=16384) for lv in arch.memory))
    p = next(o for o in plan(arch, load_workload("resnet-50:prefill:224")).ops if o.op.K == 147)
    bits = p.second_operand_bits
    assert not isinstance(bits, int | float)
    for objective in OBJECTIVES:
        fixed = p.mapping
        chosen, _ = choose_mapping(
            arch, p.unit, p.op, p.pe, bits, p.activation_bits, fixed, objective
        )
        space = Space(arch, p.unit, p.op, p.pe, bits, p.activation_bits)
        assert cost_of(space, chosen, objective) == best_exhaustive(space, fixed, objective)


def test_cli_objective_fixed_overrides_the_archs_search(tmp_path):
    import csv

    from hwsim.cli import main

    path = tmp_path / "s.yaml"
    path.write_text((ARCH / "mixpe_w4a8.yaml").read_text() + "mapping: {search: latency}\n")
    card = "llama-2-7b:prefill:256"
    seen = {}
    for objective in ("fixed", None):
        out = tmp_path / f"run-{objective}"
        extra = ["--objective", objective] if objective else []
        args = ["run", str(path), card, "--mode", "analytic", "--no-plots", "-o", str(out)]
        assert main([*args, *extra]) == 0
        with open(out / "ops.csv", newline="") as f:
            seen[objective] = {
                r["mapping"].split(":")[0] for r in csv.DictReader(f) if r["mapping"]
            }
    assert seen["fixed"] == {"fixed"}
    assert "latency" in seen[None]


@pytest.mark.parametrize("flow", ["os", "ws", "is", "rs"])
def test_mapper_energy_prices_the_bits_the_cost_model_counts(tmp_path, flow):
    """The mapper's SRAM energy of a nest = the SRAM bits hwsim.sim.actions counts for it
    (per-fold used rows and columns, on-chip partial sums read back) x each level's pJ/bit."""
    every = ("dataflow: ws\n", "dataflow: [ws, os, is, rs]\n")
    arch = load_arch(arch_file(tmp_path, SMALL, NOT_SYSTOLIC, every))
    arch = replace(arch, memory=tuple(replace(lv, size_bytes=4096) for lv in arch.memory))
    unit, pe = bound(arch)
    op = conv(cin=16, cout=8, in_hw=10)
    df = {d.name: d for d in dataflows(unit, op)}[flow]
    space = Space(arch, unit, op, pe, 8, 8, df)
    fixed = map_op(arch, space.unit, op, pe, 8, 8)
    nests = [space.mapping(c, "energy") for c in list(space.exhaustive())[::7]] + [fixed]
    assert any(m.psum_bytes for m in nests) or flow != "os"
    for m in nests:
        counts = gemm_counts(arch, space.unit, m, pe, 8, 8, m.compute_cycles)
        priced = sum(
            v * space.pj[key.split(":")[2]]
            for key, v in counts.items()
            if key.startswith("sram:") and key.endswith("_bits")
        )
        elems = space.elements(m.stream_steps, m.folds, stacked=m.search != "fixed")
        n = m.instances
        ours = space.energy(
            n * m.weight_bytes * m.weight_fetches, n * m.input_bytes * m.input_fetches,
            n * m.psum_bytes, elems,
        )  # fmt: skip
        assert ours == pytest.approx(priced, rel=1e-12), (m.order, m.k_tiles)
