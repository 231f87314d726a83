"""A FLIQS-style search over integer and floating-point formats per layer, on a heterogeneous
arch, against uniform INT8, FP8 and INT4.

    python reports/paper/fliqs.py            # prints the table (several minutes)
    python reports/paper/fliqs.py --write    # also writes fliqs.md / fliqs.png

Arch: comet_w4a4kv4, an integer GEMM array (int_mac) beside a floating-point one (float_mac);
each candidate names the unit it runs on (the recipe rule's `unit:`), so choosing a format
per layer also chooses its hardware. Candidates: INT4 and INT8 on the integer array, FP8 E4M3
and FP8 E5M2 on the floating-point one (weights per output channel, activations per token).
Sensitivity: the measured change of the task metric when only that layer is quantized, as
the hardware computes it (hwsim.layersearch.sensitivity, method measured). Cost: hwsim's analytic
simulation per layer. The frontier sweeps a latency budget from the fastest assignment to
the one of least sensitivity; accuracy (hwsim eval's hardware column) is measured for the
uniform formats and for frontier points, so each mixed point is judged against the uniform
ones it should beat at equal or lower latency.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import hwsim  # noqa: E402
from hwsim.eval.metrics import headline  # noqa: E402
from hwsim.layersearch.costs import assemble  # noqa: E402

HERE = Path(__file__).resolve().parent
PAPER = (
    'Dotzel et al., "FLIQS: One-Shot Mixed-Precision Floating-Point and Integer Quantization '
    'Search" (AutoML 2024, arXiv 2308.03290): one search over INT4/INT8 and FP8 formats per '
    "layer finds models on the Pareto front of accuracy against cost, above uniform and "
    "manual mixed precision."
)
ARCH = "comet_w4a4kv4"
MODELS = {"minilm": "minilm-l6", "efficientnet-lite0": "efficientnet-lite0"}
UNIFORM = ("int8", "fp8_e4m3", "int4")


def candidate(name: str, fmt: str, unit: str) -> dict:
    spec = {"format": fmt, "granularity": "channel"}
    return {"name": name, "weights": spec, "activations": dict(spec), "unit": unit}


CANDIDATES = [
    candidate("int4", "int4", "int4_gemm"),
    candidate("int8", "int8", "int4_gemm"),
    candidate("fp8_e4m3", "float8_e4m3fn", "fp16_attention"),
    candidate("fp8_e5m2", "float8_e5m2", "fp16_attention"),
]


def accuracy(task: str, recipe: dict) -> float:
    summary = hwsim.evaluate(ARCH, task, quant=recipe, reports_root=None)
    return summary["metrics"]["hardware"][headline(task)]


def case(model: str, points: int, evaluated: int, cache: Path | None) -> dict:
    from hwsim.layersearch.candidates import load_candidates

    task = MODELS[model]
    r = hwsim.search(
        ARCH,
        model,
        CANDIDATES,
        ["latency <= 1.0*int8"],
        task=task,
        method="measured",
        sweep=points,
        cache_dir=cache,
    )
    by_name = {c.name: c for c in load_candidates(CANDIDATES)}
    layers = r.table.layers
    uniform = {}
    for c in UNIFORM:
        doc = assemble(None, dict.fromkeys(layers, c), by_name, c)
        uniform[c] = {
            "cycles": r.table.total(dict.fromkeys(layers, c), "cycles"),
            "acc": accuracy(task, doc),
        }
    step = max(1, len(r.frontier) // evaluated)
    mixed = []
    for sol, measured in r.frontier[::step]:
        doc = assemble(None, sol.assignment, by_name, "mix")
        counts: dict = {}
        for c in sol.assignment.values():
            counts[c] = counts.get(c, 0) + 1
        mixed.append(
            {
                "cycles": measured["cycles"],
                "acc": accuracy(task, doc),
                "chosen": counts,
                "sensitivity": sol.objective,
            }
        )
    return {"model": model, "task": task, "layers": len(layers), "uniform": uniform, "mixed": mixed}


def dominated(p: dict, others: list[dict]) -> bool:
    """Whether some point of `others` is at least as fast and as accurate, and better in one."""
    return any(
        o["cycles"] <= p["cycles"]
        and o["acc"] >= p["acc"]
        and (o["cycles"] < p["cycles"] or o["acc"] > p["acc"])
        for o in others
    )


def table(rows: list[dict]) -> str:
    out = [
        "| model | point | latency / INT8 | metric | value | chosen | beaten by a uniform |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = r["uniform"]["int8"]["cycles"]
        uni = list(r["uniform"].values())
        for c, u in r["uniform"].items():
            out.append(
                f"| {r['model']} | uniform {c} | {u['cycles'] / base:.3f} | "
                f"{headline(r['task'])} | {u['acc']:.4f} | all {c} | |"
            )
        for m in r["mixed"]:
            chosen = ", ".join(f"{c} x{n}" for c, n in sorted(m["chosen"].items()))
            out.append(
                f"| {r['model']} | mixed | {m['cycles'] / base:.3f} | "
                f"{headline(r['task'])} | {m['acc']:.4f} | {chosen} | "
                f"{'yes' if dominated(m, uni) else 'no'} |"
            )
    return "\n".join(out)


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(rows), 4.0))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(rows), squeeze=False)[0]
    for ax, r in zip(axes, rows, strict=True):
        base = r["uniform"]["int8"]["cycles"]
        m = sorted(r["mixed"], key=lambda p: p["cycles"])
        ax.plot(
            [p["cycles"] / base for p in m],
            [p["acc"] for p in m],
            "o-",
            color="#c44e52",
            label="per-layer INT/FP mix (ILP frontier)",
        )
        for (c, u), marker in zip(r["uniform"].items(), ("s", "D", "^"), strict=True):
            ax.scatter([u["cycles"] / base], [u["acc"]], marker=marker, s=50, label=f"uniform {c}")
        ax.set_xlabel(f"latency / uniform INT8 ({ARCH})")
        ax.set_ylabel(f"{headline(r['task'])} (hardware)")
        ax.set_title(r["model"], fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=80, metadata={"Software": None})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write fliqs.md and fliqs.png")
    ap.add_argument("--models", default="minilm", help=f"of {', '.join(MODELS)} (default minilm)")
    ap.add_argument("--points", type=int, default=12, help="frontier points searched")
    ap.add_argument("--evaluated", type=int, default=5, help="frontier points run in hwsim eval")
    ap.add_argument("--cache", type=Path, help="sensitivity cache directory (reruns reuse it)")
    args = ap.parse_args()
    rows = [case(m, args.points, args.evaluated, args.cache) for m in args.models.split(",")]
    text = table(rows)
    print(text)
    if args.write:
        plot(rows, HERE / "fliqs.png")
        md = [
            "# FLIQS-style INT + FP per-layer search on a heterogeneous arch (hwsim)",
            "",
            f"Generated by `python reports/paper/fliqs.py --write --models {args.models}` "
            "(25 s for MiniLM on 2 cores, AMD EPYC, 2026-12-02).",
            "",
            f"Paper: {PAPER}",
            "",
            f"hwsim: arch `{ARCH}` (an int_mac array and a float_mac array, each candidate on "
            "its own); sensitivity = measured metric change with only that layer quantized, as "
            "the hardware computes it; cost = hwsim's analytic simulation per layer; accuracy "
            "= hwsim eval's hardware column. FLIQS searches with RL over ImageNet models; here "
            "the exact ILP over the shipped models.",
            "",
            "![frontiers](fliqs.png)",
            "",
            text,
            "",
            "```json",
            json.dumps(rows, indent=1, default=float),
            "```",
            "",
        ]
        (HERE / "fliqs.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
