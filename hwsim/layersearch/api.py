"""hwsim.search(...): per-layer precision search under hardware budgets (HAWQ-V3, FLIQS).

  1. the workload's layers (hwsim.layersearch.layers: folded layers unfolded, one op each)
  2. their cost at every candidate, simulated on the arch (hwsim.layersearch.costs), one executor
     task per candidate (hwsim.dse.executor: inline, local pool or Ray)
  3. their sensitivity: a table given by the caller, or hwsim.layersearch.sensitivity's (Hessian
     trace x quantization error, or the measured task-metric change)
  4. the exact ILP (hwsim.layersearch.solver), and a budget sweep along the first budget
  5. the chosen recipe re-simulated: its cost must be the predicted one (integer costs
     exactly, energy to float rounding), and it must meet every budget

Resumable: with a store (hwsim.dse.store, the sweep's SQLite format) every (layer, candidate)
cost row and sensitivity value is kept as it is computed, keyed by a hash of everything it
depends on, and a rerun reads them instead of computing them again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from hwsim.errors import HwsimError


@dataclass
class SearchResult:
    arch: object
    workload: object  # the unfolded workload the recipe's rules name
    candidates: list  # Candidate
    budgets: list  # Budget
    table: object  # CostTable
    sensitivity: dict  # layer -> candidate -> value (larger = worse)
    solution: object  # Solution
    recipe: dict  # the recipe document (hwsim.workload.recipe's YAML)
    measured: dict  # the chosen recipe re-simulated: metric -> value
    frontier: list = field(default_factory=list)  # (Solution, re-simulated values) pairs
    simulated: int = 0  # candidate tasks simulated now (the rest came from the store)
    store: Path | None = None
    accuracy: dict | None = None

    def assignment_rows(self) -> list[dict]:
        """One row per layer: its candidate, the unit it runs on, its sensitivity and costs."""
        out = []
        for layer in self.table.layers:
            c = self.solution.assignment[layer]
            out.append(
                {
                    "layer": layer,
                    "candidate": c,
                    "unit": self.table.units[layer][c],
                    "sensitivity": self.sensitivity[layer][c],
                    **self.table.cost[layer][c],
                }
            )
        return out


def search(
    arch,
    workload,
    candidates,
    budgets,
    sensitivity=None,
    *,
    task=None,
    method: str = "hessian",
    samples: int = 16,
    max_tokens: int = 256,
    layers=None,
    base=None,
    mode: str = "analytic",
    profile: str | None = None,
    sweep: int = 0,
    store=None,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
    name: str | None = None,
    accuracy: bool = False,
    cache_dir=None,
) -> SearchResult:
    """Choose a candidate per layer minimising summed sensitivity under `budgets` (strings
    `METRIC <= VALUE`, hwsim.layersearch.budget). `sensitivity`: a precomputed table
    {layer: {candidate: value}}, else computed for `task` (a hwsim eval model) by `method`
    (hessian | measured; `samples`: Hutchinson's, `max_tokens`: SmolLM2's input length when
    `task` is a name). `base`: the recipe the rest of the workload runs at (its default
    also sets the run-wide precision); `sweep` >= 2 traces that many frontier points;
    `cache_dir`: hwsim.layersearch.sensitivity's cache; `accuracy`: run the chosen recipe on
    `task` as the hardware computes it (hwsim.eval)."""
    from hwsim.dse.executor import check_executor
    from hwsim.layersearch.budget import parse_budget
    from hwsim.layersearch.candidates import load_candidates
    from hwsim.layersearch.layers import select_layers, unfold_layers
    from hwsim.layersearch.solver import check_sweep, frontier, solve
    from hwsim.spec import load_arch
    from hwsim.workload import load_workload

    check_executor(workers, backend)
    cands = load_candidates(candidates)
    parsed = [parse_budget(b) for b in ([budgets] if isinstance(budgets, str) else budgets)]
    if sweep:
        check_sweep(sweep, parsed)
    arch = load_arch(arch) if isinstance(arch, str | Path) else arch
    wl = unfold_layers(load_workload(workload) if isinstance(workload, str | Path) else workload)
    base_doc = _base_doc(base)
    chosen = select_layers(wl, layers)
    stored = None
    if store is not None:
        from hwsim.dse.store import ResultStore

        stored = ResultStore(store)
    try:
        if isinstance(sensitivity, dict) and layers is None:  # the layers the table covers
            chosen = [layer for layer in chosen if layer in _checked_table(sensitivity, wl)]
            if not chosen:
                raise HwsimError(f"sensitivity: the table names no layer of {wl.name}")
        # costs first: a candidate the arch cannot run is refused before any model runs
        table, simulated = _costs(
            arch, wl, cands, chosen, base_doc, mode, profile, stored, workers, backend, address
        )
        if isinstance(task, str) and (accuracy or not isinstance(sensitivity, dict)):
            from hwsim.eval.tasks import load_task

            task = load_task(task, max_tokens)  # once: sensitivity and accuracy share it
        if not isinstance(sensitivity, dict):
            sensitivity = _sensitivity(
                task, cands, method, samples, chosen, stored, arch, cache_dir
            )
        sens = _checked_table(sensitivity, wl)
    finally:
        if stored is not None:
            stored.close()
    solution = solve(table, sens, parsed)
    by_name = {c.name: c for c in cands}
    label = name or f"search-{arch.name}-{wl.name}"
    recipe = _recipe(base_doc, solution.assignment, by_name, label, parsed)
    measured = resimulate(arch, wl, recipe, mode, profile, table)
    predicted = table.total(solution.assignment, "cycles")
    if measured["cycles"] != predicted:  # the layers' costs must add up, or the ILP is wrong
        raise HwsimError(
            f"search: the chosen recipe re-simulates to {measured['cycles']} cycles, "
            f"predicted {predicted}: layer costs do not add up on {arch.name}"
        )
    points = []
    if sweep:
        for s in frontier(table, sens, parsed, sweep):
            doc = _recipe(base_doc, s.assignment, by_name, label, parsed)
            points.append((s, resimulate(arch, wl, doc, mode, profile, table)))
    acc = _accuracy(arch, task, recipe, mode) if accuracy else None
    stored_at = None if store is None else Path(store)
    return SearchResult(
        arch,
        wl,
        cands,
        parsed,
        table,
        sens,
        solution,
        recipe,
        measured,
        points,
        simulated,
        stored_at,
        acc,
    )


def _accuracy(arch, task, recipe: dict, mode: str) -> dict:
    """The task metrics of the chosen recipe as the hardware computes it (hwsim.eval)."""
    from hwsim.eval.run import evaluate

    if task is None:
        raise HwsimError("search: accuracy needs a task (an eval model) to run the recipe on")
    summary = evaluate(arch, task, quant=recipe, mode=mode, reports_root=None)
    return {"model": summary["eval_model"], "metrics": summary["metrics"]}


def _base_doc(base) -> dict | None:
    """The base recipe as a document (its rules are re-emitted after the layers' own)."""
    from hwsim import yamlsafe
    from hwsim.shipped import resolve
    from hwsim.workload.recipe import load_recipe

    if base is None:
        return None
    doc = base if isinstance(base, dict) else yamlsafe.load_file(resolve("recipe", base), "recipe")
    load_recipe(doc if isinstance(base, dict) else base)  # its one-line errors, naming the file
    return doc


def _checked_table(sens: dict, wl) -> dict:
    from hwsim.layersearch.layers import SEARCHED_KINDS

    names = {op.name for op in wl.ops if op.kind in SEARCHED_KINDS}
    for layer, row in sens.items():
        if layer not in names:
            raise HwsimError(f"sensitivity: layer {layer!r} is not a gemm or conv op of {wl.name}")
        if not isinstance(row, dict):
            raise HwsimError(
                f"sensitivity: layer {layer}: expected a mapping of candidate -> "
                f"value, got {type(row).__name__}"
            )
    return sens


def _recipe(base_doc, assignment, by_name, label, budgets) -> dict:
    from hwsim.layersearch.costs import assemble

    doc = assemble(base_doc, assignment, by_name, label)
    said = ", ".join(b.text for b in budgets) or "no budget"
    doc["description"] = (
        f"hwsim search: one candidate per layer by an exact ILP on summed sensitivity under {said}"
    )
    return doc


def _identity(*parts) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _workload_identity(wl) -> str:
    skip = ("inputs", "weights")
    ops = [
        repr({f.name: getattr(op, f.name) for f in fields(op) if f.name not in skip})
        for op in wl.ops
    ]
    return _identity(wl.name, *ops)


def _costs(arch, wl, cands, layers, base_doc, mode, profile, stored, workers, backend, address):
    """The CostTable, each candidate's rows read from the store or simulated now."""
    from hwsim.dse.evaluate import Task
    from hwsim.dse.executor import run_tasks
    from hwsim.layersearch.costs import candidate_rows, row_key, table_from_rows

    common = (
        repr(arch),
        _workload_identity(wl),
        json.dumps(base_doc, sort_keys=True, default=str),
        mode,
        str(profile),
        "\n".join(layers),
    )
    tasks = []
    for i, c in enumerate(cands):
        key = _identity("search-cost", *common, json.dumps(c.rule, sort_keys=True))
        choice = (
            ("arch", arch),
            ("workload", wl),
            ("base", base_doc),
            ("candidate", c),
            ("layers", tuple(layers)),
        )
        tasks.append(Task(i, key, str(arch.source), mode, choice, profile))
    rows: list[dict] = []
    todo = tasks
    if stored is not None:
        have = stored.keys()
        todo = [t for t in tasks if row_key(t.key, "*total*") not in have]
        for t in tasks:
            if t not in todo:
                got = stored.get([row_key(t.key, x) for x in [*layers, "*total*"]])
                rows.extend(got.values())

    def keep(batch):
        if stored is not None:
            stored.add(batch)
        rows.extend(batch)

    run_tasks(todo, keep, workers, backend, address, chunk_fn=candidate_rows)
    return table_from_rows(rows, layers, [c.name for c in cands]), len(todo)


def _sensitivity(task, cands, method, samples, layers, stored, arch, cache_dir) -> dict:
    """hwsim.layersearch.sensitivity's table for `task` (operands as `arch` gives them to its PEs),
    its values kept in (and read from) the store; `cache_dir`: that module's own cache, which
    a stopped measured run resumes from layer by layer."""
    if task is None:
        raise HwsimError(
            "search: expected a sensitivity table or a task (an eval model) to measure it on"
        )
    from hwsim.layersearch.sensitivity import sensitivities

    task_id = json.dumps([task.name, task.meta, samples if method == "hessian" else None])
    keys = {
        (layer, c.name): _identity(
            "search-sensitivity", str(task_id), method, json.dumps(c.rule, sort_keys=True), layer
        )
        for layer in layers
        for c in cands
    }
    if stored is not None:
        got = stored.get(keys.values())
        if len(got) == len(keys):
            return _table_of(keys, got)
    table = sensitivities(
        task, cands, method=method, cache_dir=cache_dir, arch=arch, samples=samples, layers=layers
    )
    if stored is not None:
        stored.add(
            [
                {
                    "seq": 0,
                    "key": k,
                    "status": "ok",
                    "reason": "",
                    "params": json.dumps(
                        {
                            "what": "sensitivity",
                            "layer": layer,
                            "candidate": c,
                            "method": method,
                            "value": table.get(layer, {}).get(c),
                        }
                    ),
                }
                for (layer, c), k in keys.items()
            ]
        )
    return table


def _table_of(keys: dict, got: dict) -> dict:
    out: dict = {}
    for (layer, c), k in keys.items():
        out.setdefault(layer, {})[c] = json.loads(got[k]["params"])["value"]
    return out


def resimulate(arch, wl, recipe: dict, mode, profile, table) -> dict:
    """The recipe simulated again from its document: every budget metric's value, and the
    cost table's totals it must equal."""
    from hwsim.layersearch.budget import METRICS, scale
    from hwsim.layersearch.costs import (
        ADDITIVE,
        fpga_constants,
        op_costs,
        simulate_recipe,
        sum_costs,
    )

    st, bound = simulate_recipe(arch, wl, recipe, mode, profile)
    totals = sum_costs(v for _, v in op_costs(st, bound))
    totals.update(fpga_constants(st)[0])
    if totals["cycles"] != st.cycles:
        raise HwsimError(f"search: per-op cycles sum to {totals['cycles']}, Stats {st.cycles}")
    out = {"stats_cycles": int(st.cycles), "stats_energy_pj": float(st.energy_pj)}
    for metric, (base_metric, _) in METRICS.items():
        if base_metric in totals:
            out[metric] = scale(metric, table) * totals[base_metric]
    out.update({k: totals[k] for k in ADDITIVE})
    return out
