"""`hwsim report`: one self-contained HTML page (tables, PNG plots embedded as data URIs)
for a run directory or a sweep result store. Written atomically."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from hwsim.errors import HwsimError

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 1em 0; }
.invalid { color: #a00; }
"""


def write_report(source, output) -> Path:
    """Render `source` (a `hwsim run` directory or a sweep .sqlite store) to `output`."""
    src = Path(source)
    if src.is_dir() and (src / "summary.json").is_file():
        page = run_page(src)
    elif src.is_dir() and (src / "results.sqlite").is_file():
        page = sweep_page(src / "results.sqlite")
    elif src.is_file():
        page = sweep_page(src)
    else:
        raise HwsimError(
            f"report source {str(source)!r}: expected a `hwsim run` directory or a sweep store"
        )
    out = Path(output)
    if out.is_dir():
        raise HwsimError(f"-o {out}: is a directory; expected an .html file path")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise HwsimError(f"-o {out}: cannot create its folder ({e.strerror})") from None
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _table(df: pd.DataFrame, row_class=None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for i, rec in enumerate(df.itertuples(index=False)):
        cls = row_class(df.iloc[i]) if row_class else ""
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in rec)
        rows.append(f"<tr{f' class={chr(34)}{cls}{chr(34)}' if cls else ''}>{cells}</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def run_page(run_dir: Path) -> str:
    from hwsim.report.tables import summary_rows
    from hwsim.report.writer import PLOTS, read_run

    summary, ops = read_run(run_dir)
    title = f"{summary['arch']} on {summary['workload']} ({summary['mode']})"
    body = [f"<h1>{html.escape(title)}</h1>", "<h2>Summary</h2>"]
    body.append(_table(pd.DataFrame(summary_rows(summary), columns=["quantity", "value"])))
    cyc = summary.get("breakdown_cycles", {})
    body += [
        "<h2>Cycles by cause</h2>",
        _table(pd.DataFrame(list(cyc.items()), columns=["cause", "cycles"])),
    ]
    en = summary.get("energy_breakdown_pj", {})
    body += [
        "<h2>Energy by component</h2>",
        _table(pd.DataFrame(list(en.items()), columns=["component", "energy_pj"])),
    ]
    body.append("<h2>Plots</h2>")
    for name in PLOTS:
        p = Path(run_dir) / name
        if p.is_file():
            body.append(_img(p.read_bytes(), name))
    cols = ["op", "kind", "M", "N", "K", "batch", "repeat", "cycles", "cycles_total",
            "energy_pj_total", "utilisation_ratio", "mac_slot_utilisation_ratio",
            "dram_bytes"]  # fmt: skip
    body += [f"<h2>Ops ({len(ops)})</h2>", _table(ops[[c for c in cols if c in ops]])]
    return _page(title, body)


def sweep_page(store_path: Path) -> str:
    from hwsim.dse.explore import dropped_text, front_dropped, front_of
    from hwsim.dse.spec import OBJECTIVES
    from hwsim.dse.store import open_existing
    from hwsim.report.plots import plot_pareto

    with open_existing(store_path) as db:
        points, meta = db.table(), db.meta()
    name = meta.get("sweep", Path(store_path).stem)
    objectives = json.loads(meta.get("objectives", '["cycles", "energy_pj"]'))
    params = [json.loads(p) for p in points["params"]]
    axes = list(dict.fromkeys(k for p in params for k in p))
    for a in axes:
        points[a] = [_short(p.get(a)) for p in params]
    objectives = [o for o in objectives if o in OBJECTIVES]
    front = front_of(points, objectives)
    n_ok = int((points["status"] == "ok").sum())
    title = f"Sweep {name}"
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(points)} points: {n_ok} valid, {len(points) - n_ok} invalid. "
        f"Objectives: {html.escape(', '.join(objectives))}.</p>",
    ]
    ok = points[points["status"] == "ok"]
    if len(objectives) >= 2 and not ok.empty:
        buf = io.BytesIO()
        plot_pareto(ok, front, objectives[0], objectives[1], buf)
        body.append(_img(buf.getvalue(), "Pareto front"))
    cols = ["seq", *axes, *objectives]
    body.append(f"<h2>Pareto front ({len(front)}, one per workload)</h2>")
    left_off = dropped_text(front_dropped(points, objectives))
    if left_off:  # what the fronts do not show, and why
        body.append(f"<p>{html.escape(left_off[0].upper() + left_off[1:])}.</p>")
    body.append(_table(front[cols] if len(front) else front))
    shown = points[["seq", *axes, "status", "reason", *objectives]]
    body += [
        f"<h2>All points ({len(points)})</h2>",
        _table(shown, row_class=lambda r: "invalid" if r["status"] != "ok" else ""),
    ]
    return _page(title, body)


def _short(v):
    if isinstance(v, str) and v.endswith((".yaml", ".yml")):
        return Path(v).stem
    return "" if v is None else v
