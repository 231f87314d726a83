"""One design point end to end: load, simulate, write the report directory (`hwsim run`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from hwsim.errors import HwsimError
from hwsim.report.scalesim import LATEST, check_version, scalesim_reports
from hwsim.report.writer import report_dir, write_run

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
    scalesim_version: str | None = None,
    plots: bool = True,
    require_fit: bool = False,
    objective: str | None = None,
    on_stats=None,
) -> tuple[dict, Path]:
    """Simulate one point and write its report (in scalesim mode with SCALE-Sim's reports in
    `scalesim_version`'s layout, default the newest); returns (summary, directory written).
    `require_fit`: an FPGA design that does not fit its device is an error (nothing written);
    `objective` maps ops with the mapper (hwsim.sim.mapper); `on_stats(stats)` runs before
    anything is written (an error there leaves nothing on disk)."""
    from hwsim.dse.quant import PROXY_SOURCE, recipe_sqnr_db
    from hwsim.sim import simulate
    from hwsim.spec import load_arch
    from hwsim.workload import load_recipe, load_workload
    from hwsim.workload.accuracy import traced_sqnr

    scalesim_version = check_version(scalesim_version or LATEST)
    arch = load_arch(arch_path)
    wl = load_workload(workload)
    extra: dict = {"quant": None, "output_sqnr_db": None}
    recipe = None
    if quant is not None:
        recipe = load_recipe(quant)  # each op at its rule's precision
        extra["quant"] = recipe.name
        rng = np.random.default_rng(SQNR_SEED)
        extra.update(traced_sqnr(wl, recipe, rng) or {"sqnr_source": PROXY_SOURCE})
        if extra["sqnr_source"] == PROXY_SOURCE:
            extra["output_sqnr_db"] = recipe_sqnr_db(recipe, rng)
    if out_dir is None:
        out_dir = Path(reports_root) / run_name(arch.name, wl.name, mode, extra["quant"])
    report_dir(out_dir)  # a folder of the user's is refused before the simulation, not after
    stats = simulate(arch, wl, quant=recipe, mode=mode, objective=objective)
    if require_fit:
        check_fit(stats)
    if on_stats is not None:
        on_stats(stats)
    files = scalesim_reports(stats, wl, scalesim_version) if mode == "scalesim" else None
    summary = write_run(stats, out_dir, fmt=fmt, extra=extra, plots=plots, files=files)
    return summary, Path(out_dir)


def check_mode(mode: str) -> str:
    from hwsim.sim import MODES

    if mode not in MODES:
        raise HwsimError(f"--mode: expected one of {', '.join(MODES)}, got {mode!r}")
    return mode


def check_fit(stats) -> None:
    """Raise unless the run's FPGA design fits its device (`--require-fit`)."""
    fpga = stats.fpga
    if fpga is None:
        raise HwsimError(f"--require-fit: {stats.arch.name} is no FPGA target (no arch.fpga)")
    if not fpga.fits:
        over = ", ".join(f"{r} {getattr(fpga, r):,} > {fpga.device[r]:,}" for r in fpga.over)
        raise HwsimError(f"--require-fit: {stats.arch.name} does not fit {fpga.part}: {over}")
