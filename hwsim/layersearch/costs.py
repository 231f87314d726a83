"""Cost of every layer at every candidate, from hwsim's own simulation of the arch.

One simulation per candidate: the recipe with every searched layer at that candidate (the rest
of the workload as the base recipe says), in `mode` (analytic by default). A layer's cost is
the sum over its ops' rows, repeats included:

  cycles       Stats' per-op cycles (Stats.cycles is their sum)
  energy_pj    per-op energy, leakage share included (hwsim.cost.recost)
  dram_bytes   per-op DRAM traffic
  weight_bits  stored weight bits, amortised group scales included (OpPlan.weight_storage_bits)
  bops         MACs x weight bits x activation bits (HAWQ-V3's bit operations)
and the compute unit it runs on (the candidate's `unit:`, else the arch's routes).

Each op's row depends on its own rule only (its unit, precision and mapping; the run-wide
precision and the area, hence leakage per cycle, come from the base recipe's default, which a
search never changes), so the whole model's cost is the sum of its layers' plus a constant:
the ops no layer covers (vector ops, attention, layers left out). FPGA resources (`luts`,
`dsps`) are sized from that run-wide precision too: constants of the search (hwsim.cost.fpga).

A candidate the arch cannot run for some layer (the simulation refuses it) is tried layer by
layer, and dropped only for the layers it cannot run, with the simulator's reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from hwsim.errors import HwsimError, one_line

ADDITIVE = ("cycles", "energy_pj", "dram_bytes", "weight_bits", "bops")
CONSTANT = ("luts", "dsps")  # FPGA resources: sized by the run-wide precision


@dataclass
class CostTable:
    """cost[layer][candidate][metric] for the candidates each layer can run; `constant` the
    part of every total no layer covers; `dropped[layer][candidate]` why one cannot run."""

    layers: list[str]
    candidates: list[str]
    cost: dict
    constant: dict
    weights: int  # weight elements of the whole workload (for bits per weight)
    clock_mhz: float
    device: dict = field(default_factory=dict)  # FPGA: resource -> the part's amount
    dropped: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)  # layer -> candidate -> the unit it runs on

    def allowed(self, layer: str) -> list[str]:
        return [c for c in self.candidates if c in self.cost[layer]]

    def total(self, assignment: dict, metric: str) -> float:
        """The whole model's `metric` with each layer at assignment[layer]."""
        if metric in CONSTANT:
            return self.constant[metric]
        return self.constant[metric] + sum(
            self.cost[layer][assignment[layer]][metric] for layer in self.layers
        )


def assemble(base: dict | None, choice: dict, candidates: dict, name: str) -> dict:
    """The recipe document: the base's default, one rule per chosen layer (layer -> candidate
    name), then the base's own rules (first match wins, so a layer's rule comes first)."""
    from hwsim.layersearch.layers import rule_pattern

    doc = {"version": 1, "name": name}
    if base and base.get("description"):
        doc["description"] = base["description"]
    if base and base.get("default"):
        doc["default"] = base["default"]
    rules = [{"match": rule_pattern(layer), **candidates[c].rule} for layer, c in choice.items()]
    doc["rules"] = rules + list((base or {}).get("rules") or [])
    return doc


def simulate_recipe(arch, workload, doc: dict, mode: str, profile):
    """(Stats, Plan) of `workload` under the recipe document `doc`."""
    from hwsim.sim import simulate
    from hwsim.sim.plan import plan
    from hwsim.workload.recipe import load_recipe

    recipe = load_recipe(doc)
    st = simulate(arch, workload, quant=recipe, mode=mode, profile=profile)
    return st, plan(arch, workload, recipe)


def op_costs(st, bound) -> list[tuple[str, dict]]:
    """(op name, its costs) for every op of a simulation, in program order."""
    out = []
    for row, p in zip(st.op_rows, bound.ops, strict=True):
        op, n = p.op, row.repeat
        has_weights = op.kind != "vector" and not op.weight_is_activation
        prec = p.precision
        out.append(
            (
                op.name,
                {
                    "cycles": int(row.cycles) * n,
                    "energy_pj": float(row.energy_pj) * n,
                    "dram_bytes": int(row.dram_bytes) * n,
                    "weight_bits": float(p.weight_storage_bits * op.weight_elements * n)
                    if has_weights
                    else 0.0,
                    "bops": int(op.macs * prec.weight_bits * prec.activation_bits * n)
                    if has_weights
                    else 0,
                },
            )
        )
    return out


def sum_costs(items) -> dict:
    out = dict.fromkeys(ADDITIVE, 0)
    for costs in items:
        for k in ADDITIVE:
            out[k] += costs[k]
    return out


def fpga_constants(st) -> tuple[dict, dict]:
    """({luts, dsps} used, {luts, dsps} of the device); empty for a non-FPGA arch."""
    if st.fpga is None:
        return {}, {}
    rep = st.fpga
    return (
        {"luts": rep.luts, "dsps": rep.dsps},
        {k: rep.device.get(k) for k in CONSTANT if rep.device.get(k)},
    )


def candidate_rows(tasks) -> list[dict]:
    """Executor chunk function: the store rows of each candidate task (hwsim.dse.executor)."""
    return [row for t in tasks for row in _candidate(t)]


def _candidate(task) -> list[dict]:
    c = dict(task.choice)
    arch, wl, base, cand, layers = c["arch"], c["workload"], c["base"], c["candidate"], c["layers"]
    cands = {cand.name: cand}
    try:
        st, bound = simulate_recipe(
            arch,
            wl,
            assemble(base, dict.fromkeys(layers, cand.name), cands, cand.name),
            task.mode,
            task.profile,
        )
        runs = [(layers, st, bound)]
        failed = {}
    except HwsimError:  # some layer cannot run it: find which, one layer at a time
        runs, failed = [], {}
        for layer in layers:
            try:
                doc = assemble(base, {layer: cand.name}, cands, cand.name)
                st, bound = simulate_recipe(arch, wl, doc, task.mode, task.profile)
                runs.append(([layer], st, bound))
            except HwsimError as e:
                failed[layer] = one_line(str(e))
    rows = []
    for covered, st, bound in runs:
        per_op = op_costs(st, bound)
        for layer in covered:
            costs = sum_costs(v for name, v in per_op if name == layer)
            unit = "+".join(sorted({r.unit for r in st.op_rows if r.op == layer}))
            rows.append(_row(task, layer, "ok", "", costs, unit))
    for layer, reason in failed.items():
        rows.append(_row(task, layer, "invalid", reason, None))
    total = {"what": "total"}
    if runs:
        _, st, bound = runs[0]
        covered = set(layers)  # the other searched layers ran at the base recipe here
        total["constant"] = sum_costs(v for name, v in op_costs(st, bound) if name not in covered)
        used, device = fpga_constants(st)
        total.update(
            fpga=used,
            device=device,
            clock_mhz=st.arch.clock_mhz,
            weights=sum(
                p.op.weight_elements * p.op.repeat
                for p in bound.ops
                if p.op.kind != "vector" and not p.op.weight_is_activation
            ),
        )
    rows.append(
        _store_row(
            task,
            "*total*",
            "ok" if runs else "invalid",
            "" if runs else "no layer can run it",
            total,
            {},
        )
    )
    return rows


def _row(task, layer, status, reason, costs, unit="") -> dict:
    extra = {"what": "cost", "unit": unit}
    metrics = {}
    if costs is not None:
        extra.update(weight_bits=costs["weight_bits"], bops=costs["bops"])
        metrics = {k: costs[k] for k in ("cycles", "energy_pj", "dram_bytes")}
    return _store_row(task, layer, status, reason, extra, metrics)


def _store_row(task, layer, status, reason, extra, metrics) -> dict:
    c = dict(task.choice)
    params = {"layer": layer, "candidate": c["candidate"].name, **extra}
    return {
        "seq": task.seq,
        "key": row_key(task.key, layer),
        "status": status,
        "reason": reason,
        "params": json.dumps(params, sort_keys=True),
        **metrics,
    }


def row_key(task_key: str, layer: str) -> str:
    return hashlib.sha256(f"{task_key}\n{layer}".encode()).hexdigest()[:32]


def table_from_rows(rows: list[dict], layers: list[str], names: list[str]) -> CostTable:
    """The CostTable of stored rows (one candidate task's rows each, any order)."""
    cost = {layer: {} for layer in layers}
    units: dict = {}
    dropped: dict = {}
    constant, device, weights, clock = None, {}, 0, 0.0
    for r in rows:
        p = json.loads(r["params"])
        layer, cand = p["layer"], p["candidate"]
        if p["what"] == "total":
            if r["status"] == "ok" and constant is None:
                constant = {**p["constant"], **p["fpga"]}
                device, weights, clock = p["device"], p["weights"], p["clock_mhz"]
            continue
        if r["status"] != "ok":
            dropped.setdefault(layer, {})[cand] = r["reason"]
            continue
        units.setdefault(layer, {})[cand] = p.get("unit", "")
        cost[layer][cand] = {
            "cycles": int(r["cycles"]),
            "energy_pj": float(r["energy_pj"]),
            "dram_bytes": int(r["dram_bytes"]),
            "weight_bits": float(p["weight_bits"]),
            "bops": int(p["bops"]),
        }
    for c in names:  # a candidate no layer can run is a mistake, not a choice to drop
        if not any(c in cost[layer] for layer in layers):
            why = next((d[c] for d in dropped.values() if c in d), "no layer ran it")
            raise HwsimError(f"candidate {c}: the arch cannot run it on any layer ({why})")
    if constant is None:
        raise HwsimError("candidates: the arch can run none of them on any layer")
    none = [layer for layer in layers if not cost[layer]]
    if none:
        why = next(iter(dropped[none[0]].values()))
        raise HwsimError(f"layer {none[0]}: the arch runs none of the candidates ({why})")
    return CostTable(layers, names, cost, constant, weights, clock, device, dropped, units)
