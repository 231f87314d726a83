"""hwsim.report: what a run produced, for people and scripts.

`write_run(stats, dir)` writes a report directory, replacing only hwsim's own files
(summary.json, ops.csv or ops.parquet, summary.md, PNG plots, and any extra files such as
SCALE-Sim's reports); `read_run(dir)` reads one back; `run_point(...)` is `hwsim run`;
`write_report(src, html)` renders a run or a sweep store as one HTML page; `compare_runs(a, b)`
puts two runs side by side.
"""

from hwsim.report.compare import compare_runs
from hwsim.report.html import write_report
from hwsim.report.run import run_point
from hwsim.report.scalesim import compute_report_rows, scalesim_reports
from hwsim.report.tables import OPS_COLUMNS, ops_table
from hwsim.report.writer import read_run, write_run

__all__ = [
    "OPS_COLUMNS",
    "compare_runs",
    "compute_report_rows",
    "ops_table",
    "read_run",
    "run_point",
    "scalesim_reports",
    "write_report",
    "write_run",
]
