"""Pinned simulation numbers (tests/golden): a failure names the case, op and figure that moved.

Re-pin after a reviewed change with `python tests/golden/sim_cases.py --write`.
"""

from __future__ import annotations

import json

import pytest
from scripts import load_script

sim_cases = load_script("tests/golden/sim_cases.py")
CASES, GOLDEN, case_key, compute, diff = (
    sim_cases.CASES,
    sim_cases.GOLDEN,
    sim_cases.case_key,
    sim_cases.compute,
    sim_cases.diff,
)

PINNED = json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("case", CASES, ids=[case_key(*c) for c in CASES])
def test_golden_numbers_unchanged(case):
    moved = diff(PINNED[case_key(*case)], compute(*case))
    assert not moved, f"{case_key(*case)} moved: " + "; ".join(moved[:10])


def test_pinned_columns_are_ops_table_columns():
    from hwsim.sim.rows import OP_COLUMNS

    assert set(sim_cases.OP_COLUMNS) <= set(OP_COLUMNS)


def test_every_case_is_pinned():
    assert sorted(PINNED) == sorted(case_key(*c) for c in CASES)


def test_diff_names_the_component_that_moved():
    key = case_key(*CASES[0])
    old = PINNED[key]
    new = json.loads(json.dumps(old))
    op = sorted(new["ops"])[0]
    new["ops"][op]["dram_cycles"] += 1
    new["totals"]["energy_pj"] *= 1.01
    lines = diff(old, new)
    assert any(line.startswith(f"op {op} dram_cycles:") for line in lines)
    assert any(line.startswith("total energy_pj:") for line in lines)
    assert diff(old, old) == []
