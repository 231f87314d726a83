"""hwsim.report: what a run produced, for people and scripts.

`write_run(stats, dir)` writes a report directory, replacing only hwsim's own files
(summary.json, ops.csv or ops.parquet, summary.md, PNG plots, and any extra files such as
SCALE-Sim's reports); `read_run(dir)` reads one back; `run_point(...)` is `hwsim run`;
`write_report(src, html)` renders a run or a sweep store as one HTML page; `compare_runs(a, b)`
puts two runs side by side.
Names resolve on first use (hwsim.lazy): the command line loads `commands` without pandas.
"""

from hwsim.lazy import lazy_names

lazy_names(
    __name__,
    {
        "OPS_COLUMNS": "hwsim.report.tables",
        "compare_runs": "hwsim.report.compare",
        "compute_report_rows": "hwsim.report.scalesim",
        "ops_table": "hwsim.report.tables",
        "read_run": "hwsim.report.writer",
        "run_point": "hwsim.report.run",
        "scalesim_reports": "hwsim.report.scalesim",
        "write_report": "hwsim.report.html",
        "write_run": "hwsim.report.writer",
    },
)
