"""SCALE-Sim's COMPUTE_REPORT.csv from a hwsim run, in SCALE-Sim v2's exact columns and layout.

SCALE-Sim writes `LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %,
Compute Util %,` (comma-space separated, trailing comma). Its definitions, per layer on an
R x C array (scale-sim-v2 single_layer_sim.py / systolic_compute_*.py):
  Overall Util %     = MACs * 100 / (Total Cycles * R * C)
  Mapping Efficiency = mean over folds of (used rows * used cols) / (R * C) * 100
  Compute Util %     = mean over folds of (used PEs * T) / (R * C * cycles of the fold) * 100
Folds are (Sr, Sc) chunks with (Sr, Sc, T) = the dataflow's SCALE-Sim dims; every fold takes
the same cycles, so the means reduce to closed forms. SCALE-Sim has no vector unit: vector
ops get no row. A batched op (heads) becomes `batch` identical layers, as SCALE-Sim would
need them listed.
"""

from __future__ import annotations

from math import ceil

from hwsim.sim.dataflow import get_dataflow

HEADER = (
    "LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,"
)


def compute_report_rows(stats) -> list[tuple[int, int, int, float, float, float]]:
    """(layer id, total cycles, stall cycles, overall %, mapping %, compute %) per GEMM layer."""
    arch = stats.arch
    R, C = arch.pe_array.rows, arch.pe_array.cols
    flow = get_dataflow(arch.dataflow)
    rows, lid = [], 0
    for op in stats.ops.itertuples():
        if op.kind == "vector":
            continue
        sr, sc, t = flow.scalesim_dims(op.M, op.N, op.K)
        folds = ceil(sr / R) * ceil(sc / C)
        per_fold = flow.scalesim_fill * R + C + t - 2
        mapping = 100.0 * sr * sc / (R * C * folds)
        compute = 100.0 * sr * sc * t / (R * C * per_fold * folds)
        layers = op.batch * op.repeat
        cycles = op.cycles // op.batch if op.batch else op.cycles
        stall = op.stall_cycles // op.batch if op.batch else op.stall_cycles
        macs = op.M * op.N * op.K
        overall = 100.0 * macs / (cycles * R * C) if cycles else 0.0
        for _ in range(layers):
            rows.append((lid, int(cycles), int(stall), overall, mapping, compute))
            lid += 1
    return rows


def compute_report_csv(stats) -> str:
    """The text of COMPUTE_REPORT.csv."""
    lines = [HEADER]
    for lid, cycles, stall, overall, mapping, compute in compute_report_rows(stats):
        lines.append(f"{lid}, {cycles}, {stall}, {overall!r}, {mapping!r}, {compute!r},")
    return "\n".join(lines) + "\n"
