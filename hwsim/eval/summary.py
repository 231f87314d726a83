"""The eval run directory: `hwsim run`'s report of the timed run plus the three columns.

summary.json holds the simulator summary (cycles, energy, ...) and the eval keys
(metrics per column, per-op SQNR, hardware digest); summary.md starts with the eval tables.
"""

from __future__ import annotations

from pathlib import Path

from hwsim.eval.forward import COLUMNS


def write_eval(stats, out_dir: Path, summary: dict) -> dict:
    """Write the report of `stats` with the eval keys to `out_dir`; returns the summary."""
    from hwsim.report.writer import run_summary, write_run

    preface = eval_markdown(run_summary(stats, summary)) + "\n"
    return write_run(stats, out_dir, extra=summary, preface=preface)


def _cell(v) -> str:
    if v is None:
        return "exact"
    if isinstance(v, float):
        return f"{v:.6f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def eval_markdown(s: dict) -> str:
    """Markdown: the task metric per column, the run's totals, the per-op table."""
    names = list(s["metrics"]["fp32"])
    lines = [
        f"# {s['eval_model']} on {s['arch']}" + (f" with {s['quant']}" if s["quant"] else ""),
        "",
        "| metric | " + " | ".join(COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(_cell(s["metrics"][c][n]) for c in COLUMNS) + " |")
    lines += [
        "",
        f"ops computed by the PE: {s['ops_on_pe']} of {s['ops_total']}; hardware output equal "
        f"to fake-quant bit for bit on {s['ops_hardware_equals_fake']} ops; hardware digest "
        f"`{s['hardware_digest']}` ({s['threads']} threads)",
        f"cycles {s['cycles']:,}, energy {s['energy_pj'] / 1e6:,.3f} uJ, "
        f"DRAM {s['dram_bytes'] / 2**20:,.2f} MiB (mode {s['mode']}, the hardware run's bits)",
        "",
        "| op | route | SQNR fake (dB) | SQNR hardware (dB) | elements hw != fake |",
        "|---|---|---|---|---|",
    ]
    for r in s["eval_ops"]:
        lines.append(
            f"| {r['op']} | {r['route']} | {_cell(r['sqnr_fake_db'])} | "
            f"{_cell(r['sqnr_hardware_db'])} | {r['elements_differing']} |"
        )
    return "\n".join(lines) + "\n"


__all__ = ["eval_markdown", "write_eval"]
