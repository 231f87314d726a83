"""explore(sweep): enumerate (grid / random) or search (NSGA-II) a sweep's space, skipping
points the store already holds, and return every point with the Pareto front of each workload
(and how many points the fronts left off, and why).

Grid points come in itertools.product order; random points are distinct grid points drawn
with the sweep's seed; NSGA-II (optuna) asks one population at a time with a seeded sampler
and is told results in trial order, so its proposals, and so every result, are the same
whatever the executor, the worker count, or how often the sweep was interrupted.
"""

from __future__ import annotations

import itertools
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hwsim.dse.evalcache import cache_dir
from hwsim.dse.evaluate import Task, known_sqnr, point_config, warm
from hwsim.dse.executor import check_executor, progress, run_tasks
from hwsim.dse.pareto import pareto_mask
from hwsim.dse.quant import PROXY_SOURCE
from hwsim.dse.spec import OBJECTIVES, Sweep, load_sweep, point_key
from hwsim.dse.store import ResultStore, remove_store
from hwsim.errors import HwsimError


@dataclass
class ExploreResult:
    """Every point of the sweep (in sweep order) and the Pareto fronts of the valid ones."""

    sweep: Sweep
    points: pd.DataFrame  # seq, key, one column per axis, status, reason, metrics
    front: pd.DataFrame  # the non-dominated valid points on sweep.objectives, per workload
    evaluated: int  # points simulated by this call (the rest came from the store)
    store: Path
    dropped: dict[str, int] = field(default_factory=dict)  # left off the fronts: why -> count


def explore(
    sweep,
    store=None,
    workers: int = 1,
    backend: str = "local",
    address: str | None = None,
    show_progress: bool = False,
) -> ExploreResult:
    """Run a sweep (a Sweep, a sweep YAML path or a mapping) into `store` (SQLite path;
    default reports/sweeps/<name>/results.sqlite)."""
    sw = load_sweep(sweep)
    check_executor(workers, backend)  # before anything is written
    store_path = Path(store) if store else Path("reports/sweeps") / sw.name / "results.sqlite"
    new = not store_path.exists()
    try:
        with ResultStore(store_path) as db:
            db.count()  # reads every page: a damaged store fails here, before any write
            db.set_meta("sweep", sw.name)
            db.set_meta("objectives", json.dumps(list(sw.objectives)))
            db.set_meta("sqnr_source", PROXY_SOURCE)  # sqnr_db: the recipe on the proxy GEMM
            if sw.eval is not None:  # eval:<metric>: the hardware column of hwsim.evaluate
                db.set_meta("eval", json.dumps({"model": sw.eval[0], "max_tokens": sw.eval[1],
                                                "column": "hardware"}))  # fmt: skip
            cache = str(cache_dir(store_path))
            if sw.method == "nsga2":
                rows, evaluated = _nsga2(sw, db, workers, backend, address, show_progress, cache)
            else:
                choices = _grid(sw) if sw.method == "grid" else _random(sw)
                tasks = [_task(sw, seq, c, cache) for seq, c in enumerate(choices)]
                evaluated = _run(sw, db, tasks, workers, backend, address, show_progress)
                found = db.get(t.key for t in tasks)
                rows = [found[t.key] | {"seq": t.seq} for t in tasks]
            points = _table(sw, rows)
            dropped = front_dropped(points, sw.objectives)
            db.set_meta("front_dropped", json.dumps(dropped))
    except Exception:
        if new:  # a failed call leaves no store it made (Ctrl-C keeps the finished points)
            remove_store(store_path)
        raise
    front = front_of(points, sw.objectives)
    return ExploreResult(sw, points, front, evaluated, store_path, dropped)


def _task(sw: Sweep, seq: int, choice: dict, cache: str | None = None) -> Task:
    """The point's Task; `cache`: its eval cache folder (default: that of the default store)."""
    if cache is None:
        cache = str(cache_dir(Path("reports/sweeps") / sw.name / "results.sqlite"))
    key = point_key(point_config(str(sw.arch), sw.mode, choice, sw.profile, sw.eval))
    model, tokens = sw.eval if sw.eval is not None else (None, 256)
    return Task(seq, key, str(sw.arch), sw.mode, tuple(choice.items()), sw.profile,
                eval_model=model, eval_max_tokens=tokens, eval_cache=cache)  # fmt: skip


def _grid(sw: Sweep) -> list[dict]:
    names = sw.parameters
    return [dict(zip(names, combo)) for combo in itertools.product(*(c for _, c in sw.axes))]


def _random(sw: Sweep) -> list[dict]:
    rng = np.random.default_rng(sw.seed)
    sizes = [len(c) for _, c in sw.axes]
    want = min(sw.samples, sw.size)
    seen, out = set(), []
    while len(out) < want:
        idx = tuple(int(rng.integers(n)) for n in sizes)
        if idx in seen:
            continue
        seen.add(idx)
        out.append({name: sw.axes[i][1][j] for i, (name, j) in enumerate(zip(sw.parameters, idx))})
    return out


def _run(sw, db, tasks, workers, backend, address, show) -> int:
    """Evaluate the tasks the store lacks; returns how many were evaluated."""
    have = db.keys()
    todo, seen = [], set()
    for t in tasks:
        if t.key not in have and t.key not in seen:
            seen.add(t.key)
            todo.append(t)
    if todo and backend == "local":
        warm(todo)  # forked workers inherit what this process has loaded
    # each recipe's SQNR measured once, here (forked workers also inherit the quantizers'
    # loaded kernels), not once per worker
    todo = known_sqnr(todo)
    bar = progress(len(seen) + (len(tasks) - len(todo)), len(tasks) - len(todo), sw.name, show)
    with bar:

        def on_rows(rows: list[dict]) -> None:
            db.add(rows)
            bar.update(len(rows))

        run_tasks(todo, on_rows, workers=workers, backend=backend, address=address)
    return len(todo)


def _nsga2(sw: Sweep, db, workers, backend, address, show, cache: str):
    try:
        import optuna
    except ImportError:
        raise HwsimError("search.method nsga2: needs optuna (pip install 'hwsim[dse]')") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {
        name: optuna.distributions.CategoricalDistribution(list(range(len(c))))
        for name, c in sw.axes
    }
    signs = [OBJECTIVES[o] for o in sw.objectives]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.NSGAIISampler(population_size=sw.population, seed=sw.seed)
        study = optuna.create_study(
            directions=["minimize" if s > 0 else "maximize" for s in signs], sampler=sampler
        )
        rows, evaluated, seq = [], 0, 0
        while seq < sw.samples:
            batch = min(sw.population, sw.samples - seq)
            trials = [study.ask(dists) for _ in range(batch)]
            tasks = []
            for trial in trials:
                choice = {name: c[trial.params[name]] for name, c in sw.axes}
                tasks.append(_task(sw, seq, choice, cache))
                seq += 1
            evaluated += _run(sw, db, tasks, workers, backend, address, show)
            found = db.get(t.key for t in tasks)
            for trial, t in zip(trials, tasks):
                row = found[t.key] | {"seq": t.seq}
                rows.append(row)
                values = _objective_values(row, sw.objectives)
                if row["status"] == "ok" and all(v is not None for v in values):
                    study.tell(trial, [float(v) for v in values])
                else:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return rows, evaluated


def _objective_values(row: dict, objectives) -> list:
    """A stored row's value of each objective (eval ones from its eval_metrics JSON)."""
    evals = json.loads(row["eval_metrics"]) if row.get("eval_metrics") else {}
    return [evals.get(o) if o.startswith("eval:") else row[o] for o in objectives]


def _table(sw: Sweep, rows: list[dict]) -> pd.DataFrame:
    from hwsim.dse.store import COLUMNS, expand_eval

    df = expand_eval(pd.DataFrame(rows, columns=list(COLUMNS)))
    for o in sw.objectives:  # an eval objective no point measured: a column of NaN
        if o not in df:
            df[o] = np.nan
    params = [json.loads(p) for p in df["params"]]
    for name in sw.parameters:
        df[name] = [str(p.get(name)) if name == "quant" else p.get(name) for p in params]
    if "quant" in df:
        df["quant"] = [Path(q).stem if q != "None" else "" for q in df["quant"]]
    order = ["seq", "key", *sw.parameters, "status", "reason"]
    rest = [c for c in df.columns if c not in order and c != "params"]
    return df[order + rest].sort_values("seq", kind="stable").reset_index(drop=True)


def front_of(points: pd.DataFrame, objectives) -> pd.DataFrame:
    """The non-dominated valid points on `objectives`, one front per workload (in sweep
    order): one model's cycles say nothing about another's, so points compete only with
    points of their own workload. Points without every objective are left off
    (`front_dropped` counts them)."""
    ok = points[points["status"] == "ok"]
    if ok.empty:
        return ok
    values = ok[list(objectives)].astype(float).to_numpy()
    signs = [OBJECTIVES[o] for o in objectives]
    groups = ok["workload"].to_numpy() if "workload" in ok else np.zeros(len(ok))
    keep = np.zeros(len(ok), dtype=bool)
    for g in dict.fromkeys(groups):
        idx = np.flatnonzero(groups == g)
        keep[idx] = pareto_mask(values[idx], signs)
    return ok[keep].reset_index(drop=True)


def front_dropped(points: pd.DataFrame, objectives) -> dict[str, int]:
    """How many points the fronts leave out, by why: "invalid", "no <objective>" (a valid
    point without that measure, e.g. sqnr_db without a quant recipe)."""
    out: dict[str, int] = {}
    invalid = int((points["status"] != "ok").sum())
    if invalid:
        out["invalid"] = invalid
    ok = points[points["status"] == "ok"]
    counted = np.zeros(len(ok), dtype=bool)
    for o in objectives:
        missing = ok[o].isna().to_numpy() & ~counted
        if missing.any():
            out[f"no {o}"] = int(missing.sum())
        counted |= missing
    return out


def dropped_text(dropped: dict[str, int]) -> str:
    """'left off the Pareto fronts: 3 invalid points, 4 without sqnr_db' (or '')."""
    if not dropped:
        return ""
    parts = []
    for why, n in dropped.items():
        noun = "point" if n == 1 else "points"
        if why == "invalid":
            parts.append(f"{n} invalid {noun}")
        else:
            hint = " (no quant recipe)" if why == "no sqnr_db" else ""
            parts.append(f"{n} {noun} without {why.removeprefix('no ')}{hint}")
    return "left off the Pareto fronts: " + ", ".join(parts)
