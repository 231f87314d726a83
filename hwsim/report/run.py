"""One design point end to end: load, simulate, write the report directory (`hwsim run`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.report.writer import write_run

SQNR_SEED = 20261123  # the proxy GEMM's tensors: same recipe -> same SQNR


def run_name(arch_name: str, workload_name: str, mode: str, recipe: str | None) -> str:
    """Directory name under reports/: arch_workload[_recipe]_mode, filesystem-safe."""
    parts = [arch_name, workload_name] + ([recipe] if recipe else []) + [mode]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts)).strip("-")


def run_point(
    arch_path,
    workload,
    quant: str | None = None,
    mode: str = "event",
    out_dir=None,
    fmt: str = "csv",
    reports_root="reports",
    objective: str | None = None,
    on_stats=None,
) -> tuple[dict, Path]:
    """Simulate one point and write its report; returns (summary, directory written).

    `objective` maps ops with the mapper (hwsim.sim.mapper); `on_stats(stats)` runs before
    anything is written (an error there leaves nothing on disk)."""
    from hwsim.dse.quant import recipe_sqnr_db, resolve_recipe
    from hwsim.sim import simulate
    from hwsim.spec import load_arch
    from hwsim.workload import load_recipe, load_workload

    arch = load_arch(arch_path)
    wl = load_workload(workload)
    extra: dict = {"quant": None, "output_sqnr_db": None}
    recipe = None
    if quant is not None:
        recipe = load_recipe(resolve_recipe(quant))  # each op at its rule's precision
        extra["quant"] = recipe.name
        extra["output_sqnr_db"] = recipe_sqnr_db(recipe, np.random.default_rng(SQNR_SEED))
    stats = simulate(arch, wl, quant=recipe, mode=mode, objective=objective)
    if on_stats is not None:
        on_stats(stats)
    if out_dir is None:
        out_dir = Path(reports_root) / run_name(arch.name, wl.name, mode, extra["quant"])
    summary = write_run(stats, out_dir, fmt=fmt, extra=extra)
    return summary, Path(out_dir)


def check_mode(mode: str) -> str:
    from hwsim.sim import MODES

    if mode not in MODES:
        raise HwsimError(f"--mode: expected one of {', '.join(MODES)}, got {mode!r}")
    return mode
