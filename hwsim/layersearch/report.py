"""A search's report directory (hwsim.report.outdir: only hwsim's own files are replaced).

recipe.yaml     the chosen per-layer recipe: `hwsim run/eval/sweep --quant` take it as is
workload.yaml   the workload its rules name, layers unfolded (hwsim.layersearch.layers)
assignment.csv  per layer: the candidate chosen, its sensitivity and its costs
frontier.csv    the budget sweep: bound, summed sensitivity, predicted and re-simulated value
frontier.png    that frontier, with the uniform candidates beside it
search.json     budgets, predicted vs re-simulated cost, dropped candidates, accuracy
search.sqlite   the resumable store of cost and sensitivity rows (hwsim.dse.store)
"""

from __future__ import annotations

import json

import pandas as pd
import yaml

STORE = "search.sqlite"
SEARCH_FILES = frozenset(
    {
        "recipe.yaml",
        "workload.yaml",
        "assignment.csv",
        "frontier.csv",
        "frontier.png",
        "search.json",
        STORE,
        f"{STORE}-wal",
        f"{STORE}-shm",
    }
)


def uniform_points(result, metric: str) -> list[tuple[str, float, float]]:
    """(candidate, metric value, summed sensitivity) of each candidate every layer can run."""
    from hwsim.layersearch.budget import value

    t, out = result.table, []
    for c in t.candidates:
        if all(c in t.cost[layer] for layer in t.layers):
            a = dict.fromkeys(t.layers, c)
            out.append((c, value(metric, t, a), sum(result.sensitivity[x][c] for x in t.layers)))
    return out


def frontier_frame(result) -> pd.DataFrame:
    metric = result.budgets[0].metric if result.budgets else "cycles"
    rows = []
    for sol, measured in result.frontier:
        text = next(iter(sol.bounds))
        rows.append(
            {
                "bound": sol.bounds[text],
                "sensitivity": sol.objective,
                f"predicted_{metric}": sol.values[text],
                f"measured_{metric}": measured[metric],
                "assignment": json.dumps(counts(sol.assignment)),
            }
        )
    return pd.DataFrame(rows)


def counts(assignment: dict) -> dict:
    out: dict = {}
    for c in assignment.values():
        out[c] = out.get(c, 0) + 1
    return dict(sorted(out.items()))


def summary(result) -> dict:
    from hwsim.layersearch.budget import METRICS

    sol = result.solution
    return {
        "arch": result.arch.name,
        "workload": result.workload.name,
        "layers": len(result.table.layers),
        "candidates": {c.name: c.rule for c in result.candidates},
        "budgets": [
            {
                "budget": b.text,
                "bound": sol.bounds[b.text],
                "unit": b.unit,
                "predicted": sol.values[b.text],
                "measured": result.measured[b.metric],
                "met": result.measured[b.metric] <= sol.bounds[b.text],
            }
            for b in result.budgets
        ],
        "sensitivity_sum": sol.objective,
        "chosen": counts(sol.assignment),
        "predicted": {m: _predicted(result, m) for m in METRICS if m in result.measured},
        "measured": {m: result.measured[m] for m in METRICS if m in result.measured},
        "uniform": {
            c: {"value": v, "sensitivity": s}
            for c, v, s in uniform_points(
                result, result.budgets[0].metric if result.budgets else "cycles"
            )
        },
        "dropped": result.table.dropped,
        "accuracy": result.accuracy,
        "simulated_now": result.simulated,
    }


def _predicted(result, metric: str) -> float:
    from hwsim.layersearch.budget import value

    return value(metric, result.table, result.solution.assignment)


def plot_frontier(result, path) -> None:
    from hwsim.report.plots import TITLE_Y, new_figure, save_figure

    metric = result.budgets[0].metric
    unit = result.budgets[0].unit
    fig = new_figure(6, 4.2, left=0.14, right=0.97, bottom=0.12, top=0.88)
    ax = fig.subplots()
    f = frontier_frame(result)
    ax.step(
        f[f"measured_{metric}"],
        f["sensitivity"],
        "o-",
        where="post",
        color="#c44e52",
        label="ILP frontier (re-simulated)",
    )
    for c, v, s in uniform_points(result, metric):
        ax.scatter([v], [s], marker="s", s=40, label=f"uniform {c}")
    sol = result.solution
    ax.scatter(
        [result.measured[metric]],
        [sol.objective],
        marker="*",
        s=160,
        color="black",
        zorder=5,
        label="chosen",
    )
    bound = sol.bounds[result.budgets[0].text]
    ax.axvline(bound, color="#999999", lw=0.8, ls="--", label=f"budget {result.budgets[0].text}")
    ax.set_xlabel(f"{metric} ({unit})")
    ax.set_ylabel("summed sensitivity (lower is better)")
    ax.legend(fontsize=8)
    ax.set_title(
        f"{result.arch.name} / {result.workload.name}: sensitivity vs {metric}", y=TITLE_Y, pad=16
    )
    save_figure(fig, path)


class _PlainDumper(yaml.SafeDumper):
    """Every rule written out in full: layers sharing a candidate share no YAML anchors."""

    def ignore_aliases(self, data):
        return True


def recipe_text(recipe: dict) -> str:
    body = yaml.dump(recipe, Dumper=_PlainDumper, sort_keys=False, width=100)
    return "# written by hwsim search\n" + body


def write_report(result, out, plots: bool = True) -> None:
    """Every report file into `out` (an OutputDir), replaced only once all are written."""
    from hwsim.workload.io import save_yaml

    text = recipe_text(result.recipe)
    doc = json.dumps(summary(result), indent=2, default=str) + "\n"
    writers = {
        "recipe.yaml": lambda p: p.write_text(text),
        "workload.yaml": lambda p: save_yaml(result.workload, p),
        "assignment.csv": lambda p: pd.DataFrame(result.assignment_rows()).to_csv(
            p, index=False, lineterminator="\n"
        ),
        "search.json": lambda p: p.write_text(doc),
    }
    if result.frontier:
        writers["frontier.csv"] = lambda p: frontier_frame(result).to_csv(
            p, index=False, lineterminator="\n"
        )
        if plots:
            writers["frontier.png"] = lambda p: plot_frontier(result, p)
    keep = (STORE,) if result.store is not None else ()
    out.write(writers, keep=keep)
