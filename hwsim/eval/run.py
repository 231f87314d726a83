"""evaluate(arch, model, quant): the model run on the simulated hardware, three columns.

1. The model is traced shapes-only (hwsim.workload.tracer) and bound to the arch
   (hwsim.sim.plan): each matrix op's unit, PE and exact QuantSpecs.
2. Three forwards (hwsim.eval.forward): fp32, fake-quant and hardware; the task metric of
   each against fp32 (hwsim.eval.tasks) and, per op, the output SQNR of the fake-quant and
   hardware columns against fp32 from the real activations, and whether hardware and
   fake-quant agree bit for bit.
3. The hardware forward's own operands become the traced workload that `simulate` times on
   the same arch and recipe, re-using the PE results of step 2 (hwsim.sim.tensors.
   known_results): cycles and energy of the same run, from the same bits.
`hardware_digest` (SHA-256 of every op's hardware output, in op order) tells runs apart bit
for bit: equal across runs and thread counts (numba kernels give each output to one thread).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.eval.forward import COLUMNS, computed
from hwsim.eval.tasks import Task, load_task


def evaluate(
    arch,
    model: str,
    quant=None,
    mode: str = "analytic",
    out_dir=None,
    max_tokens: int = 256,
    threads: int | None = None,
    reports_root="reports",
) -> dict:
    """Run `model` (a shipped model's name, or a hwsim.eval.tasks.Task wrapping any torch
    module the tracer takes) on `arch` (three columns, module doc); write summary.json and
    summary.md to `out_dir` (default reports/eval/<arch>_<model>[_<recipe>] under
    `reports_root`; neither: nothing written); returns the summary dict."""
    from hwsim.sim import simulate
    from hwsim.sim.plan import plan
    from hwsim.sim.tensors import known_results
    from hwsim.spec import load_arch
    from hwsim.workload.tracer import trace

    if threads is not None:
        _set_threads(threads)
    arch = load_arch(arch) if not hasattr(arch, "units") else arch
    recipe, strict = _recipe(quant)
    out_dir = _out_dir(out_dir, reports_root, arch, model, recipe)
    wall = {}
    t0 = time.perf_counter()
    task = model if isinstance(model, Task) else load_task(model, max_tokens)
    try:
        wl = trace(task.model, *task.inputs, name=task.name, keep_tensors=False)
    except HwsimError as e:
        raise HwsimError(f"model {task.name}: {e}") from None
    unused = unused_rules(recipe, wl, strict) if recipe is not None else []
    bound = plan(arch, wl, recipe)
    plans = {p.op.name: p for p in bound.ops if p.op.kind != "vector"}
    wall["load_trace_s"] = time.perf_counter() - t0
    outputs, logs, weights = {}, {}, {}
    for column in COLUMNS:
        t = time.perf_counter()
        logs[column] = {}
        with computed(task.model, column, plans, logs[column], task.name, weights):
            outputs[column] = task.forward(task.model, *task.inputs)
        wall[f"{column}_s"] = time.perf_counter() - t
    metrics = {c: task.metric(outputs["fp32"], outputs[c]) for c in COLUMNS}
    ops = [_op_row(plans[name], logs, name) for name in plans]
    hw = logs["hardware"]
    t = time.perf_counter()
    timed = _with_tensors(wl, hw)
    known = {id(e.inputs): (e.inputs, e.pe_results) for e in hw.values() if e.inputs is not None}
    with known_results(known):
        stats = simulate(arch, timed, quant=recipe, mode=mode)
    wall["simulate_s"] = time.perf_counter() - t
    summary = {
        "eval_model": task.name,
        "eval_inputs": task.meta,
        "quant": recipe.name if recipe is not None else None,
        "recipe_rules_unused": unused,
        "metrics": metrics,
        "ops_total": len(ops),
        "ops_on_pe": sum(r["route"].startswith("pe:") for r in ops),
        "ops_hardware_equals_fake": sum(r["hardware_equals_fake"] for r in ops),
        "hardware_digest": _digest(hw, plans),
        "threads": _threads(),
        "eval_wall_s": {k: round(v, 3) for k, v in wall.items()},
        "eval_ops": ops,
    }
    if out_dir is not None:
        from hwsim.eval.summary import write_eval

        return write_eval(stats, Path(out_dir), summary)
    from hwsim.report.writer import run_summary

    return run_summary(stats, summary)


def _out_dir(out_dir, reports_root, arch, model, recipe):
    """The report directory (None: write nothing), claimed before any work: a folder of the
    user's is refused now, not after the forwards."""
    from hwsim.report.writer import report_dir

    if out_dir is None and reports_root is not None:  # the directory name of `hwsim eval`
        name = model.name if isinstance(model, Task) else str(model)
        parts = [arch.name, name] + ([recipe.name] if recipe is not None else [])
        out_dir = Path(reports_root) / "eval" / "_".join(parts)
    if out_dir is not None:
        report_dir(out_dir)
    return None if out_dir is None else Path(out_dir)


def _recipe(quant) -> tuple:
    """(Recipe or None, strict): a recipe file of the user's is strict about its rules, a
    shipped one named by name serves many models (an LLM's lm_head rule on MiniLM)."""
    if quant is None:
        return None, False
    from hwsim.workload import load_recipe

    strict = not isinstance(quant, str | Path) or Path(quant).is_file()
    return load_recipe(quant), strict


def unused_rules(recipe, workload, strict: bool) -> list[str]:
    """The recipe's rules that select no matrix op of the model; with `strict`, the first is
    an error (one line: a typo, most likely)."""
    ops = [op for op in workload.ops if op.kind != "vector"]
    out = []
    for i, rule in enumerate(recipe.rules):
        if any(rule.selects(op) for op in ops):
            continue
        what = f"match {rule.match!r}" if rule.match is not None else f"kind {rule.kind!r}"
        if strict:
            raise HwsimError(
                f"{recipe.source or recipe.name}: rules[{i}]: {what} selects no layer of model "
                f"{workload.name}; expected an op-name pattern (fnmatch) or kind of its layers"
            )
        out.append(f"rules[{i}]: {what}")
    return out


def _op_row(p, logs, name) -> dict:
    from hwsim.dtypes import sqnr_db
    from hwsim.eval.datapath import route

    ref, fq, hw = (logs[c][name].out for c in COLUMNS)
    diff = hw != fq
    return {
        "op": name,
        "kind": p.op.kind,
        "unit": p.unit.name,
        "route": route(p),
        "weight_format": p.weight_format,
        "activation_format": p.activation_format,
        "sqnr_fake_db": _finite(sqnr_db(ref, fq)),
        "sqnr_hardware_db": _finite(sqnr_db(ref, hw)),
        "hardware_equals_fake": bool(not diff.any()),
        "elements_differing": int(diff.sum()),
        "max_abs_hardware_minus_fake": float(np.abs(hw.astype(np.float64) - fq).max(initial=0)),
    }


def _finite(x: float):
    """dB for JSON: None for an exact match (infinite SQNR)."""
    return None if math.isinf(x) else float(x)


def _with_tensors(wl, hw: dict):
    """`wl` with each op the PE computed carrying the hardware forward's operands."""
    from hwsim.workload.op import Workload

    ops = []
    for op in wl.ops:
        e = hw.get(op.name)
        if e is not None and e.inputs is not None:
            op = replace(op, inputs=e.inputs, weights=e.weights)
        ops.append(op)
    return Workload(wl.name, tuple(ops), wl.phase, dict(wl.metadata))


def _digest(hw: dict, plans: dict) -> str:
    h = hashlib.sha256()
    for name in plans:
        h.update(np.ascontiguousarray(hw[name].out).tobytes())
    return h.hexdigest()[:16]


def _set_threads(n: int) -> None:
    import numba

    if not 1 <= n <= numba.config.NUMBA_NUM_THREADS:
        raise HwsimError(f"--threads: expected 1..{numba.config.NUMBA_NUM_THREADS}, got {n}")
    numba.set_num_threads(n)


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())
