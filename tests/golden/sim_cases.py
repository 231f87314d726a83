"""Golden simulation cases: (arch, workload, mode) -> pinned totals and per-op figures.

`python tests/golden/sim_cases.py` prints what moved against tests/golden/sim_golden.json
(case, op, column, old -> new); `--write` re-pins the numbers after a reviewed change.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("sim_golden.json")
CASES = (
    ("tpu_int8", "llama-2-7b:decode:256", "event"),
    ("bitmod", "llama-2-7b:prefill:256", "analytic"),
    ("bitmod", "llama-2-7b:decode:256", "event"),
    ("ant", "llama-3-8b:decode:256", "analytic"),
    ("olive", "opt-1.3b:prefill:256", "analytic"),
    ("fp16", "phi-2:decode:256", "analytic"),
    ("fpga_zcu104", "resnet-50:prefill:224", "event"),
    ("scalesim", "resnet-18:prefill:224", "scalesim"),
    ("scalesim", "bert-base:prefill:128", "event"),
    ("mixpe_w4a8", "llama-2-7b:prefill:128", "event"),
    ("mixpe_w4a16", "llama-2-7b:decode:256", "event"),
    ("bitfusion", "resnet-18:prefill:224", "event"),
    ("stripes", "vit-b-16:prefill:224", "analytic"),
)
TOTALS = ("cycles", "energy_pj", "area_mm2", "dram_bytes", "macs")
TOTALS += ("utilisation", "mac_slot_utilisation")
OP_COLUMNS = ("cycles", "compute_cycles", "dram_cycles", "dram_bytes", "stall_cycles", "energy_pj")
OP_COLUMNS += ("utilisation", "mac_slot_utilisation")
FLOAT_COLUMNS = ("energy_pj", "utilisation", "mac_slot_utilisation")


def case_key(arch: str, workload: str, mode: str) -> str:
    return f"{arch}|{workload}|{mode}"


def compute(arch: str, workload: str, mode: str) -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import hwsim

    st = hwsim.simulate(ROOT / "hwsim" / "data" / "arch" / f"{arch}.yaml", workload, mode=mode)
    totals = {
        "cycles": st.cycles,
        "energy_pj": st.energy_pj,
        "area_mm2": st.area_mm2,
        "dram_bytes": st.dram_bytes,
        "macs": st.macs,
        "utilisation": st.utilisation,
        "mac_slot_utilisation": st.mac_slot_utilisation,
    }
    ops = {
        row["op"]: {c: (float(row[c]) if c in FLOAT_COLUMNS else int(row[c])) for c in OP_COLUMNS}
        for row in st.ops.to_dict("records")
    }
    return {"totals": totals, "ops": ops, "breakdown": dict(st.breakdown)}


def same(a, b) -> bool:
    if a is None or b is None:  # a figure pinned on one side only
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def diff(old: dict, new: dict) -> list[str]:
    """Human-readable lines naming every figure that moved."""
    out = []
    for key in TOTALS:
        a, b = old["totals"].get(key), new["totals"].get(key)
        if not same(a, b):
            out.append(f"total {key}: {a} -> {b}")
    for name in sorted(set(old["ops"]) | set(new["ops"])):
        if name not in old["ops"] or name not in new["ops"]:
            out.append(f"op {name}: {'added' if name in new['ops'] else 'removed'}")
            continue
        for col in OP_COLUMNS:
            a, b = old["ops"][name].get(col), new["ops"][name].get(col)
            if not same(a, b):
                out.append(f"op {name} {col}: {a} -> {b}")
    for key in sorted(set(old["breakdown"]) | set(new["breakdown"])):
        if old["breakdown"].get(key) != new["breakdown"].get(key):
            out.append(
                f"breakdown {key}: {old['breakdown'].get(key)} -> {new['breakdown'].get(key)}"
            )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description="Show (and with --write, re-pin) golden diffs.")
    ap.add_argument("--write", action="store_true", help="overwrite sim_golden.json")
    args = ap.parse_args()
    old = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}
    new, moved = {}, 0
    for case in CASES:
        key = case_key(*case)
        new[key] = compute(*case)
        lines = diff(old[key], new[key]) if key in old else ["new case"]
        moved += bool(lines)
        print(f"{key}: {'unchanged' if not lines else ''}")
        for line in lines:
            print(f"    {line}")
    if args.write:
        GOLDEN.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
        print(f"wrote {GOLDEN}")
    return 1 if moved and not args.write else 0


if __name__ == "__main__":
    raise SystemExit(main())
