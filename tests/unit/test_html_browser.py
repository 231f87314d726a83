"""`hwsim report` pages opened in a real browser: Debian's headless Chromium, driven over the
DevTools protocol on a pipe (--remote-debugging-pipe: no port, no extra package). Each page
must load without console errors or exceptions, every plot (an embedded PNG <img>) must
decode to a non-empty image, and a screenshot is taken.

Skipped where /usr/bin/chromium is missing, except under CI (CI=true), where it fails:
.ci/run installs Chromium, so CI cannot skip this silently.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from hwsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1600",
)  # fmt: skip
TIMEOUT_S = 120.0  # per protocol reply; a stuck browser fails the test instead of hanging it
# every <img> decoded (decode() rejects a broken image), with its natural size
IMAGES_JS = """Promise.all(Array.from(document.images).map(
  (i) => i.decode().then(() => [i.alt, i.naturalWidth, i.naturalHeight], () => [i.alt, 0, 0])))"""


def chromium() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: {CHROMIUM} is missing; .ci/run installs it (apt-get install chromium)")
    pytest.skip(f"needs {CHROMIUM} (apt-get install chromium)")


class Browser:
    """One headless Chromium speaking the DevTools protocol over fds 3 (in) and 4 (out)."""

    def __init__(self, exe: Path, profile: Path, log: Path):
        self.log = log
        with open(log, "wb") as err:
            # the shell moves our stdin/stdout pipes to fds 3/4, where Chromium expects them
            self.proc = subprocess.Popen(
                ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null', str(exe),
                 *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
            )  # fmt: skip
        self.next_id = 0
        self.buffer = b""
        self.events: list[dict] = []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        self.proc.stdin.write(json.dumps(msg).encode() + b"\0")
        self.proc.stdin.flush()
        reply = self.wait(lambda m: m.get("id") == self.next_id, f"a reply to {method}")
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def wait(self, match, what: str) -> dict:
        """The first message (kept event or new one) that `match`es; others are kept."""
        for i, event in enumerate(self.events):
            if match(event):
                return self.events.pop(i)
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if match(message):
                    return message
                self.events.append(message)
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20) if ready else b""
            if not chunk:
                tail = self.log.read_text(errors="replace")[-2000:]
                pytest.fail(
                    f"chromium: no {what} ({'timed out' if ready == [] else 'exited'})\n{tail}"
                )
            self.buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):  # already gone
            self.proc.stdin.write(b'{"id": 0, "method": "Browser.close"}\0')
            self.proc.stdin.flush()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def open_page(page: Path, tmp_path: Path) -> tuple[list, list[str], bytes]:
    """(images as [alt, width, height], console errors and exceptions, screenshot PNG)."""
    browser = Browser(chromium(), tmp_path / "profile", tmp_path / "chromium.log")
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        s = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", s)
        browser.send("Page.navigate", s, url=page.as_uri())
        browser.wait(lambda m: m.get("method") == "Page.loadEventFired", "page load")
        images = browser.send(
            "Runtime.evaluate", s, expression=IMAGES_JS, awaitPromise=True, returnByValue=True
        )["result"]["value"]
        shot = base64.b64decode(browser.send("Page.captureScreenshot", s, format="png")["data"])
        errors = []
        for m in browser.events:
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append(d.get("exception", {}).get("description", d.get("text", "")))
            elif m.get("method") == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                errors.append(
                    " ".join(str(a.get("value", a.get("description"))) for a in p["args"])
                )
            elif m.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append(p["entry"]["text"])
        return images, errors, shot
    finally:
        browser.close()


def check_in_browser(page: Path, tmp_path: Path, n_images: int) -> None:
    images, errors, shot = open_page(page, tmp_path)
    assert errors == []
    assert len(images) == n_images
    for alt, width, height in images:
        assert width > 0 and height > 0, f"plot {alt} did not render"
    path = tmp_path / f"{page.stem}.png"
    path.write_bytes(shot)
    assert path.stat().st_size > 0 and shot[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    assert pixels.shape[0] > 100 and pixels.std() > 0  # not a blank page


def test_run_report_in_chromium(tmp_path):
    chromium()
    run = tmp_path / "run"
    card = "llama-2-7b:prefill:256"
    assert main(["run", "bitmod", card, "--mode", "analytic", "-o", str(run)]) == 0
    page = tmp_path / "run.html"
    assert main(["report", str(run), "-o", str(page)]) == 0
    check_in_browser(page, tmp_path, n_images=3)


def test_sweep_report_in_chromium(tmp_path):
    chromium()
    topo = tmp_path / "t.csv"
    topo.write_text("Layer, M, N, K,\nfc1, 64, 100, 50,\nfc2, 32, 32, 32,\n")
    doc = {
        "version": 1, "name": "browser", "arch": "scalesim",
        "workloads": [str(topo)], "mode": "analytic",
        "parameters": {"pe_array.rows": [8, 16, 32], "pe_array.cols": [8, 32]},
        "objectives": ["cycles", "area_mm2"],
    }  # fmt: skip
    sweep = tmp_path / "s.yaml"
    sweep.write_text(yaml.safe_dump(doc))
    assert main(["sweep", str(sweep), "-o", str(tmp_path / "sw"), "--no-progress"]) == 0
    page = tmp_path / "sweep.html"
    assert main(["report", str(tmp_path / "sw"), "-o", str(page)]) == 0
    check_in_browser(page, tmp_path, n_images=1)


def test_the_check_sees_console_errors_and_broken_plots(tmp_path):
    chromium()
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><h1>x</h1><img alt="broken" src="data:image/png;base64,'
        + base64.b64encode(b"not a png").decode()
        + '"><script>console.error("boom"); undefined_function();</script></body></html>'
    )
    images, errors, shot = open_page(page, tmp_path)
    assert images == [["broken", 0, 0]]
    assert any("boom" in e for e in errors) and any("undefined_function" in e for e in errors)
    assert shot[:4] == b"\x89PNG"


def test_missing_chromium_skips_here_but_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs .*no-chromium"):
        chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI: .*no-chromium is missing"):
        chromium()
