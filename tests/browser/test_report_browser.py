"""The report of the sample events in headless Chromium: no script errors, every chart drawn and non-empty,
and a screenshot kept as a test artifact (artifacts/report.png) for a person to look at."""

from __future__ import annotations

import argparse
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
SLO_COUNT = 5
LATENCY_SLOS = 1


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no Chromium on PATH: run `bash .ci/install-chromium` first")


class ChartCollector(HTMLParser):
    """Attributes of every element carrying data-chart, the error box, the body, and the canvas count."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict[str, str | None]] = []
        self.errors: dict[str, str | None] = {}
        self.body: dict[str, str | None] = {}
        self.canvases = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if "data-chart" in attributes:
            self.charts.append({"tag": tag, **attributes})
        if attributes.get("id") == "report-errors":
            self.errors = attributes
        if tag == "body":
            self.body = attributes
        if tag == "canvas":
            self.canvases += 1


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample events replayed into a fresh store, then `slo report` on it."""
    from processors.cli import main
    from processors.cli import report as report_command

    folder = tmp_path_factory.mktemp("browser")
    subprocess.run(
        [sys.executable, str(ROOT / "events" / "generate.py"), "--out", str(folder / "events")],
        check=True, capture_output=True,
    )
    db = folder / "sample.db"
    assert main(["replay", str(folder / "events"), "--db", str(db)]) == 0
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / "report.html"
    parser = argparse.ArgumentParser()
    report_command.register(parser.add_subparsers())
    # the monthly report: the sample's month, with the scorecard, compliance per day and the incidents
    # a workflow's trace, which has the journey's phases (the page's own exemplars are API requests, which don't)
    from processors.store import SqliteStore

    store = SqliteStore(db)
    try:
        workflow_trace, _first_seen = store.find_traces(repository="acme/web", limit=1)[0]
    finally:
        store.close()
    args = parser.parse_args(
        ["report", "--db", str(db), "--month", "2026-10", "--step", "5m", "--trace", workflow_trace, "--out", str(out)]
    )
    assert args.func(args) == 0
    return out


def run_chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True, text=True, timeout=180, check=False,
    )


def test_the_report_renders_every_chart_without_script_errors(report: Path, tmp_path: Path) -> None:
    result = run_chromium(
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", report.as_uri(),
        profile=tmp_path / "profile",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], "the page wrote to the console:\n" + "\n".join(console)

    dom = ChartCollector()
    dom.feed(result.stdout)
    assert "hidden" in dom.errors and not dom.errors.get("data-count"), re.findall(
        r'<pre id="report-errors".*?</pre>', result.stdout, re.S
    )
    assert dom.body.get("data-charts") == "ready", "report.js ran to its end"

    kinds = [str(chart.get("data-chart")) for chart in dom.charts]
    expected = {
        "overview": 1, "alert-timeline": 1, "attainment": SLO_COUNT, "burn": SLO_COUNT, "latency": LATENCY_SLOS,
        "cache-strip": 1, "trace-breakdown": 1, "trace-waterfall": 1,
        "scorecard": 1, "compliance": SLO_COUNT, "incidents": 1,
    }
    assert {kind: kinds.count(kind) for kind in expected} == expected
    for chart in dom.charts:
        assert int(chart.get("data-points") or 0) > 0, f"empty chart: {chart}"
        if chart["tag"] == "div":
            assert chart.get("data-state") == "rendered", chart
    drawn = SLO_COUNT * 2 + LATENCY_SLOS
    assert dom.canvases >= drawn, "every uPlot chart drew on a canvas"


def test_a_full_page_screenshot_is_kept_as_an_artifact(report: Path, tmp_path: Path) -> None:
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    result = run_chromium(
        "--window-size=1400,5000", "--virtual-time-budget=10000", f"--screenshot={shot}", report.as_uri(),
        profile=tmp_path / "profile",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 5000)
    assert len(data) > 100_000, "a blank page compresses to almost nothing"


def test_the_report_makes_no_network_requests(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"<(script|img|iframe)[^>]+\bsrc=", html)
    assert not re.search(r"<link\b", html)
    assert "default-src 'none'" in html
