"""10,000-point analytic sweep: array size x weight-buffer size x datatype on LLaMA-2-7B
prefill (its 18 distinct layers, 32 decoder blocks folded), through `hwsim.explore` with a
fresh SQLite store each time.

Peer (same run): a bare in-process loop of `hwsim.simulate` over the same points, with no
store, no hashing, no parameter validation and no SQNR; ratios are sweep points/s over bare
points/s (what the store, hashing, validation, SQNR and the result tables cost) and the
speed-up of 2 workers (and Ray local, when installed) over 1 worker. Every executor's result
table is checked identical to the 1-worker one before any figure is printed.

    python benchmarks/bench_sweep.py [--points 10000]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

ROWS = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256)
COLS = (16, 24, 32, 48, 64, 96, 128, 160, 192, 256)
WBUF = tuple(2**k * 1024 for k in range(4, 14))  # 16 KiB .. 8 MiB
DTYPES = tuple(itertools.product(("int8", "int6", "int4", "int3", "int2"), ("int8", "int4")))


def write_recipes(d: Path) -> list[str]:
    paths = []
    for w, a in DTYPES:
        p = d / f"w{w[3:]}a{a[3:]}.yaml"
        p.write_text(
            f"version: 1\nname: w{w[3:]}a{a[3:]}\ndefault:\n"
            f"  weights: {{format: {w}, granularity: channel}}\n"
            f"  activations: {{format: {a}, granularity: channel}}\n"
        )
        paths.append(str(p))
    return paths


def sweep_doc(recipes: list[str], n: int) -> dict:
    rows = ROWS if n >= 10_000 else ROWS[: max(1, n // 1000)]
    return {
        "version": 1,
        "name": "bench",
        "arch": "tpu_int8",
        "workloads": ["llama-2-7b:prefill:256"],
        "quant": recipes,
        "mode": "analytic",
        "parameters": {
            "pe_array.rows": list(rows),
            "pe_array.cols": list(COLS),
            "memory[weight_fifo].size_bytes": list(WBUF),
        },
        "objectives": ["cycles", "energy_pj", "area_mm2", "sqnr_db"],
    }


def bare_loop(doc: dict, limit: int) -> tuple[int, float]:
    """Peer: simulate the first `limit` grid points directly (arch built by replace())."""
    from dataclasses import replace

    import hwsim
    from hwsim.workload import load_recipe

    base = hwsim.load_arch(doc["arch"])
    wl = hwsim.load_workload(doc["workloads"][0])
    quants = [load_recipe(r) for r in doc["quant"]]
    p = doc["parameters"]
    combos = itertools.product(
        quants, p["pe_array.rows"], p["pe_array.cols"], p["memory[weight_fifo].size_bytes"]
    )
    t = time.perf_counter()
    n = 0
    for q, r, c, size in itertools.islice(combos, limit):
        mem = (replace(base.memory[0], size_bytes=size), *base.memory[1:])
        arch = replace(base, pe_array=replace(base.pe_array, rows=r, cols=c), memory=mem)
        hwsim.simulate(arch, wl, quant=q, mode="analytic")
        n += 1
    return n, time.perf_counter() - t


def warm_up_quantizers(recipe: str) -> None:
    """Load the quantizers' compiled kernels once, as the bare loop's first call loads the
    simulator's, so that no timed run pays a one-off load the others skip."""
    import numpy as np

    from hwsim.dse.quant import recipe_sqnr_db

    recipe_sqnr_db(recipe, np.random.default_rng(0))


def timed_explore(doc: dict, store: Path, **kw):
    from hwsim.dse import explore
    from hwsim.dse.evaluate import clear_caches

    clear_caches()  # every run parses, validates and measures SQNRs afresh
    t = time.perf_counter()
    res = explore(doc, store=store, **kw)
    return res, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        doc = sweep_doc(write_recipes(d), args.points)
        n_bare, t_bare = bare_loop(doc, min(args.points, 2000))
        warm_up_quantizers(doc["quant"][0])
        runs = {}
        one, t1 = timed_explore(doc, d / "w1.sqlite", workers=1)
        runs["local, 1 worker"] = t1
        two, t2 = timed_explore(doc, d / "w2.sqlite", workers=2)
        assert two.points.equals(one.points), "2 workers differ from 1"
        runs["local, 2 workers"] = t2
        try:
            import ray  # noqa: F401

            r, tr = timed_explore(doc, d / "ray.sqlite", workers=2, backend="ray")
            assert r.points.equals(one.points), "ray differs from local"
            runs["ray local, 2 workers (incl. ray start)"] = tr
        except ImportError:
            pass
        n = len(one.points)
        valid = int((one.points["status"] == "ok").sum())
        print(f"{n} points ({valid} valid), Pareto front {len(one.front)} points")
        bare_rate = n_bare / t_bare
        print(f"peer: bare simulate loop {bare_rate:8.1f} points/s ({n_bare} points)")
        for name, t in runs.items():
            rate = n / t
            print(
                f"{name:40s} {t:7.1f} s {rate:8.1f} points/s  "
                f"vs 1 worker x{t1 / t:5.2f}  vs bare loop x{rate / bare_rate:5.2f}"
            )


if __name__ == "__main__":
    main()
