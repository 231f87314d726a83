"""`hwsim report` (self-contained HTML for a run or a sweep) and `hwsim compare`."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from hwsim.cli import main
from hwsim.errors import HwsimError
from hwsim.report.compare import compare_runs
from hwsim.report.html import write_report

ROOT = Path(__file__).resolve().parents[2]
CFG = ROOT / "hwsim" / "data" / "arch" / "scalesim.cfg"
TOPOLOGY = "Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 32, 32, 32,\n"


class Page(HTMLParser):
    """Collects tags, image sources, table cells and external references of a page."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.cells: list[str] = []
        self.headings: list[str] = []
        self._in: str | None = None
        self.open = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag in ("td", "th", "h1", "h2"):
            self._in = tag
        if tag == "img":
            self.images.append(a["src"])
        for key in ("src", "href"):
            if key in a and not a[key].startswith("data:"):
                self.external.append(a[key])
        if tag not in ("img", "meta"):
            self.open += 1

    def handle_endtag(self, tag):
        self._in = None
        self.open -= 1

    def handle_data(self, data):
        if self._in in ("td", "th"):
            self.cells.append(data)
        elif self._in in ("h1", "h2"):
            self.headings.append(data)


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text())
    p.close()
    return p


@pytest.fixture
def run_dir(tmp_path) -> Path:
    topo = tmp_path / "topo.csv"
    topo.write_text(TOPOLOGY)
    out = tmp_path / "run"
    assert main(["run", str(CFG), str(topo), "--mode", "scalesim", "-o", str(out)]) == 0
    return out


@pytest.fixture
def store(tmp_path) -> Path:
    topo = tmp_path / "t.csv"
    topo.write_text(TOPOLOGY)
    doc = {
        "version": 1, "name": "rep", "arch": str(ROOT / "hwsim/data/arch/scalesim.yaml"),
        "workloads": [str(topo)], "mode": "analytic",
        "parameters": {"pe_array.rows": [0, 8, 16, 32], "pe_array.cols": [8, 32]},
        "objectives": ["cycles", "area_mm2"],
    }  # fmt: skip
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert main(["sweep", str(path), "-o", str(tmp_path / "sw")]) == 0
    return tmp_path / "sw" / "results.sqlite"


def test_run_report_is_self_contained_html(run_dir, tmp_path):
    out = tmp_path / "r.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    page = parse(out)
    assert page.open == 0  # every element closed
    assert page.external == []  # nothing fetched from outside
    assert len(page.images) == 3
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"{summary['cycles']:,}" in page.cells
    assert page.headings[0] == "scalesim_32x32_os on topo (scalesim)"
    assert "Ops (2)" in page.headings and "fc1" in page.cells


def test_sweep_report_has_front_points_and_plot(store, tmp_path):
    out = tmp_path / "s.html"
    assert main(["report", str(store), "-o", str(out)]) == 0
    page = parse(out)
    assert page.headings[0] == "Sweep rep"
    assert "All points (8)" in page.headings
    assert any(h.startswith("Pareto front (") for h in page.headings)
    assert len(page.images) == 1 and page.external == []
    text = out.read_text()
    assert text.count('class="invalid"') == 2  # rows = 0 twice
    assert "Left off the Pareto fronts: 2 invalid points." in text  # what the front omits
    # the sweep directory works as the source too
    assert main(["report", str(store.parent), "-o", str(tmp_path / "t.html")]) == 0
    assert (tmp_path / "t.html").read_text() == text


def test_report_of_nothing_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "x.html")]) == 2
    assert "expected a `hwsim run` directory or a sweep store" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not sqlite")
    with pytest.raises(HwsimError, match="not a result store"):
        write_report(junk, tmp_path / "y.html")
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "y.html").exists()


def test_compare_puts_runs_side_by_side_with_ratios(tmp_path, capsys):
    topo = tmp_path / "topo.csv"
    topo.write_text(TOPOLOGY)
    a, b = tmp_path / "a", tmp_path / "b"
    main(["run", str(CFG), str(topo), "--mode", "scalesim", "-o", str(a)])
    main(["run", str(CFG), str(topo), "--mode", "event", "-o", str(b)])
    table = compare_runs(a, b).set_index("metric")
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    assert table.loc["cycles", "a"] == sa["cycles"] and table.loc["cycles", "b"] == sb["cycles"]
    assert table.loc["cycles", "ratio"] == pytest.approx(sb["cycles"] / sa["cycles"], rel=1e-15)
    assert table.loc["area_mm2", "ratio"] == pytest.approx(1.0)
    assert "energy_pj:dram" in table.index
    capsys.readouterr()
    assert main(["compare", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"A: {a}\nB: {b}\n") and "B/A" in text
    assert f"{sa['cycles']:,}" in text
    assert main(["compare", str(a), str(b), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["metric"] == "cycles" and rows[0]["a"] == sa["cycles"]
    assert main(["compare", str(a), str(tmp_path)]) == 2
    assert "not a run directory (no summary.json)" in capsys.readouterr().err
