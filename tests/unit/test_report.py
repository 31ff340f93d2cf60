"""The HTML report: self-contained, every part present, alert spans and MTTR from the log, cache slices by
the same rule as the evaluator; and collect_report_data over a replayed sample."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from processors.counting import count_slices
from processors.rendering import ReportData, build_report, cache_slice_strip
from processors.rendering.collect import firing_at
from processors.rendering.svg import Segment, alert_segments
from processors.store.view import StoreView
from processors.timeutil import iso_seconds

T0 = 1790812800  # 2026-10-01T00:00:00Z
ROOT = Path(__file__).resolve().parents[2]


def status(at: int, attainment: float, burn_1h: float) -> dict[str, Any]:
    rates = {"5m": burn_1h * 2, "30m": 0.0, "1h": burn_1h, "2h": 0.0, "6h": 0.0, "1d": 0.0, "3d": 0.0}
    return {
        "at": iso_seconds(at),
        "slos": [
            {"name": "queue-latency", "objective": 0.999, "window": "30d", "good": 990, "total": 1000,
             "attainment": attainment, "budget": {"consumed": 0.5, "remaining": 0.5}, "burn_rates": rates,
             "kind": "latency", "latency_ms": {"p50": 900.0, "p95": 4000.0, "p99": 6000.0}},
            {"name": "cache-hit-rate", "objective": 0.95, "window": "30d", "good": 10, "total": 12,
             "attainment": None if at == T0 else 0.83, "budget": {"consumed": 3.3, "remaining": -2.3},
             "burn_rates": dict(rates), "kind": "time_slice"},
        ],
    }


ALERT_LOG: list[dict[str, Any]] = [
    {"slo": "queue-latency", "kind": "burn_rate", "severity": "page", "tier": "1h/5m", "state": "firing",
     "at": iso_seconds(T0 + 600), "burn_rates": {"1h": 15.2, "5m": 176.0}, "exemplars": ["a"],
     "thresholds": {"factor": 14.4}},
    {"slo": "queue-latency", "kind": "burn_rate", "severity": "page", "tier": "1d/2h", "state": "downgraded",
     "at": iso_seconds(T0 + 600 + 34 * 60)},
    {"slo": "queue-latency", "kind": "burn_rate", "severity": "ticket", "tier": "1d/2h", "state": "resolved",
     "at": iso_seconds(T0 + 3000)},
    {"slo": "cache-hit-rate", "kind": "burn_rate", "severity": "ticket", "tier": "3d/6h", "state": "firing",
     "at": iso_seconds(T0 + 2400)},
    {"slo": "cache-hit-rate", "kind": "budget", "severity": "exhausted", "state": "firing", "at": iso_seconds(T0)},
]

TRACE: dict[str, Any] = {
    "correlationId": "63f8cc88-fc8e-402a-af8a-73935949fc73", "found": True, "workflowId": "1",
    "repository": "acme/mobile", "outcome": "failure", "firstSeen": "2026-10-01T00:10:00.000Z",
    "milestones": {"webhook_received": "2026-10-01T00:10:00.000Z", "runner_started": "2026-10-01T00:10:07.000Z"},
    "breakdownMs": {"dispatch": 100, "queue": 4700, "startup": 2200, "execution": 60000, "total": 67000},
    "spans": [
        {"service": "QueueProcessor", "action": "queue: job_queued→task_launched", "kind": "phase",
         "start": "2026-10-01T00:10:00.100Z", "end": "2026-10-01T00:10:04.800Z", "durationMs": 4700, "status": "ok"},
        {"service": "Runner", "action": "runner_started", "kind": "point", "start": "2026-10-01T00:10:07.000Z",
         "end": "2026-10-01T00:10:07.000Z", "durationMs": 0, "status": "ok"},
        {"service": "Runner", "action": "workflow_completed", "kind": "duration", "start": "2026-10-01T00:10:07.000Z",
         "end": "2026-10-01T00:11:07.000Z", "durationMs": 60000, "status": "error"},
    ],
    "errors": [{"service": "Runner", "action": "workflow_completed", "time": "2026-10-01T00:11:07.000Z",
                "error": {"type": "StepFailed", "message": "exit 1"}}],
}


def report_data(**overrides: Any) -> ReportData:
    moments = [T0 + i * 300 for i in range(13)]
    series = [status(at, 0.999 - i * 0.0001, 20.0 if 2 <= i <= 8 else 0.0) for i, at in enumerate(moments)]
    fields: dict[str, Any] = {
        "status_now": series[-1],
        "status_series": series,
        "alert_log": ALERT_LOG,
        "trace": TRACE,
        "cache_slices": {"cache-hit-rate": [
            {"start": iso_seconds(T0 + i * 300), "good": None if i == 3 else i % 5 != 0, "hits": 7, "lookups": 10}
            for i in range(12)
        ]},
        "latency_series": {"queue-latency": [
            {"at": iso_seconds(at), "p50": 800.0, "p95": 4000.0 + i, "p99": None if i == 0 else 7000.0}
            for i, at in enumerate(moments)
        ]},
        "since": iso_seconds(T0),
        "until": iso_seconds(moments[-1]),
        "slo_info": {"queue-latency": {"kind": "latency", "threshold_ms": 5000.0, "description": "Webhook to runner.",
                                       "tiers": [{"name": "1h/5m", "severity": "page", "factor": 14.4}]},
                     "cache-hit-rate": {"kind": "time_slice", "slice_seconds": 300, "min_ratio": 0.6}},
        "trace_reason": "a test trace",
    }
    fields.update(overrides)
    return ReportData(**fields)


def island(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert match
    return dict(json.loads(match.group(1)))


def test_the_report_is_one_file_that_fetches_nothing() -> None:
    html = build_report(report_data())
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"<script[^>]+\bsrc=", html), "scripts are inlined"
    assert not re.search(r"<link\b", html), "styles are inlined"
    assert not re.search(r"url\(\s*['\"]?https?:", html)
    assert "uPlot" in html and "report-data" in html


def test_every_slo_has_attainment_and_burn_charts_and_only_latency_slos_a_latency_chart() -> None:
    html = build_report(report_data())
    for key in ("slo-queue-latency", "slo-cache-hit-rate"):
        assert f'id="chart-{key}-attainment"' in html
        assert f'id="chart-{key}-burn"' in html
    assert 'id="chart-slo-queue-latency-latency"' in html
    assert 'id="chart-slo-cache-hit-rate-latency"' not in html
    assert 'data-chart="cache-strip" data-points="12"' in html
    assert "8 good, 3 bad, 1 without lookups" in html


def test_chart_data_puts_zero_burn_on_the_log_floor_and_keeps_tier_thresholds() -> None:
    data = island(build_report(report_data()))
    queue = next(s for s in data["slos"] if s["name"] == "queue-latency")
    assert len(data["x"]) == 13 and data["x"][0] == T0
    assert queue["burn"]["1h"][0] == data["burnFloor"] and queue["burn"]["1h"][2] == 20.0
    assert queue["tiers"] == [{"name": "1h/5m", "severity": "page", "factor": 14.4}]
    assert queue["attainment"][0] == pytest.approx(99.9)
    assert queue["latency"]["threshold"] == 5000.0 and queue["latency"]["p99"][0] is None
    assert queue["spans"] == [[T0 + 600, T0 + 2640, "page"], [T0 + 2640, T0 + 3000, "ticket"]]
    cache = next(s for s in data["slos"] if s["name"] == "cache-hit-rate")
    assert cache["attainment"][0] is None
    assert cache["spans"] == [[T0 + 2400, T0 + 3600, "ticket"]], "a still-firing alert is shaded to the end"


def test_alert_segments_follow_firing_downgraded_and_resolved() -> None:
    assert alert_segments(ALERT_LOG) == [
        Segment("queue-latency", T0 + 600, T0 + 2640, "page", "1h/5m"),
        Segment("cache-hit-rate", T0 + 2400, None, "ticket", "3d/6h"),
        Segment("queue-latency", T0 + 2640, T0 + 3000, "ticket", "1d/2h"),
    ]


def test_the_alert_section_shows_the_timeline_the_log_and_mttr() -> None:
    html = build_report(report_data())
    assert 'data-chart="alert-timeline" data-points="3"' in html
    mttr = re.search(r"<td>queue-latency</td><td class='num'>1</td><td class='num'>([^<]+)</td>", html)
    assert mttr and mttr.group(1) == "34 min", "page firing to downgrade"
    assert "downgraded" in html and "1h ×15.2, 5m ×176" in html


def test_the_trace_waterfall_marks_errors_and_shows_the_breakdown() -> None:
    html = build_report(report_data())
    assert 'data-chart="trace-waterfall" data-points="3"' in html
    assert 'data-chart="trace-breakdown" data-points="4"' in html
    assert "✕ error" in html and 'class="error-mark"' in html
    assert "StepFailed: exit 1" in html
    assert "queue 4.7 s" in html


@pytest.mark.parametrize(
    ("trace", "text"),
    [
        pytest.param(None, "No trace to show: a test trace", id="no trace says why"),
        pytest.param({"correlationId": "x", "found": False}, "was not found", id="an unknown ID is reported"),
    ],
)
def test_a_missing_trace_is_explained(trace: dict[str, Any] | None, text: str) -> None:
    assert text in build_report(report_data(trace=trace))


def test_names_cannot_break_out_of_the_page() -> None:
    evil = "</script><script>alert(1)</script>"
    now = status(T0, 0.99, 0.0)
    now["slos"][0]["name"] = evil
    html = build_report(report_data(status_now=now, status_series=[now], latency_series={}, since=None, until=None))
    assert evil not in html
    assert island(html)["slos"][0]["name"] == evil


def test_cache_slices_agree_with_the_evaluators_slice_count() -> None:
    rng = random.Random(7)
    rows = {
        T0 + h * 3600: {f: rng.randint(0, 20) for i in range(12) for f in (f"g{i}", f"t{i}")} for h in range(3)
    }
    for fields in rows.values():
        for i in range(12):
            fields[f"g{i}"] = min(fields[f"g{i}"], fields[f"t{i}"])
    start, end = T0 + 700, T0 + 3 * 3600 - 100
    strip = cache_slice_strip(rows, start, end, 300, 0.6)
    counts = count_slices(rows, start, end, 300, 0.6)
    assert sum(1 for s in strip if s["good"]) == counts.good
    assert sum(1 for s in strip if s["good"] is not None) == counts.total
    assert strip[0]["start"] == iso_seconds(T0 + 900)


def test_firing_at_keeps_the_last_record_of_each_alert_that_still_fires() -> None:
    firing = firing_at(ALERT_LOG, T0 + 2700)
    assert [t["state"] for t in firing["queue-latency"]] == ["downgraded"]
    assert sorted(t["kind"] for t in firing["cache-hit-rate"]) == ["budget", "burn_rate"]
    assert "queue-latency" not in firing_at(ALERT_LOG, T0 + 3000)


# --- collect_report_data over a replayed sample ------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from processors.cli import main
    from processors.store import open_sqlite_store

    folder = tmp_path_factory.mktemp("sample")
    subprocess.run(
        [sys.executable, str(ROOT / "events" / "generate.py"), "--out", str(folder / "ev"), "--hours", "1"],
        check=True, capture_output=True,
    )
    db = folder / "sample.db"
    assert main(["replay", str(folder / "ev"), "--db", str(db)]) == 0
    return open_sqlite_store(str(db))


def test_collect_evaluates_every_step_from_the_first_data_to_the_newest_minute(sample_store: Any) -> None:
    from processors.rendering import collect_report_data
    from processors.spec import load_spec

    spec = load_spec(None)
    data = collect_report_data(StoreView(sample_store), spec, step=600)
    assert data.since == "2026-10-01T00:00:00Z", "an hour of data doesn't make a 24-hour report"
    assert [doc["at"] for doc in data.status_series][:2] == ["2026-10-01T00:00:00Z", "2026-10-01T00:10:00Z"]
    assert data.status_series[-1]["at"] == data.until == data.status_now["at"]
    assert {s["name"] for s in data.status_now["slos"]} == set(spec.names)
    assert all(isinstance(s["alerts"], list) for s in data.status_now["slos"])
    cache = next(s for s in data.status_now["slos"] if s["name"] == "cache-hit-rate")
    assert sum(1 for s in data.cache_slices["cache-hit-rate"] if s["good"] is not None) == cache["total"]
    assert len(data.latency_series["queue-latency"]) == len(data.status_series)
    assert data.slo_info["queue-latency"]["threshold_ms"] == 5000.0
    html = build_report(data)
    assert html.count('data-chart="burn"') == len(spec.slos)


def test_collect_with_a_trace_id_shows_that_trace(sample_store: Any) -> None:
    from processors.rendering import collect_report_data
    from processors.spec import load_spec

    correlation_id, _first_seen = sample_store.find_traces(repository="acme/infra", limit=1)[0]
    data = collect_report_data(StoreView(sample_store), load_spec(None), trace_id=correlation_id, step=1800)
    assert data.trace is not None and data.trace["correlationId"] == correlation_id and data.trace["found"]
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = collect_report_data(StoreView(sample_store), load_spec(None), trace_id=unknown)
    assert missing.trace == {"correlationId": "00000000-0000-4000-8000-000000000000", "found": False}


@pytest.mark.parametrize(
    ("case", "span", "step", "message"),
    [
        ("a step longer than the range and a day would pull the start back by up to a step", 3600, 86400 + 60,
         "step 1441m is longer than the report's range [2026-10-01T00:00:00Z, 2026-10-01T01:00:00Z) (1h)"),
        ("two million steps are counted, not listed", 2_000_000 * 60, 60, "2000001 steps is too many"),
        ("a strip of 228,000 slices is counted, not built", 19_000 * 3600, 4 * 3600,
         "time slices of 5m is too many for one report (at most 120,000)"),
        ("a step that takes the start before year 1", T0 + 62135596800 - 3600, 100_000 * 86400,
         "takes the report's start before 0001-01-01T00:00:00Z"),
    ],
)
def test_a_report_too_big_to_build_is_refused_before_anything_is_built(
    sample_store: Any, case: str, span: int, step: int, message: str
) -> None:
    import tracemalloc

    from processors.rendering import RenderingError, collect_report_data
    from processors.spec import load_spec

    spec, view = load_spec(None), StoreView(sample_store)
    tracemalloc.start()
    try:
        with pytest.raises(RenderingError, match=re.escape(message)):
            collect_report_data(view, spec, since=T0 + 3600 - span, until=T0 + 3600, step=step)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_a_step_of_up_to_a_day_still_reports_a_shorter_range(sample_store: Any) -> None:
    """The monthly report's hourly step over the month's first minutes, or --step 1d over an hour of data."""
    from processors.rendering import collect_report_data
    from processors.spec import load_spec

    data = collect_report_data(StoreView(sample_store), load_spec(None), since=T0 + 600, until=T0 + 3600, step=86400)
    assert [doc["at"] for doc in data.status_series] == ["2026-10-01T00:00:00Z", "2026-10-01T01:00:00Z"]


def test_a_slice_strip_longer_than_any_report_is_refused_before_it_is_built() -> None:
    import tracemalloc

    from processors.rendering import RenderingError

    tracemalloc.start()
    try:
        with pytest.raises(RenderingError, match="150,000 time slices of 5m is too many"):
            cache_slice_strip({}, T0, T0 + 150_000 * 300, 300, 0.6)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_the_report_counts_an_incident_that_opened_before_the_window_as_status_does(tmp_path: Path) -> None:
    from processors.cli.status import status_at
    from processors.evaluating import window_bounds
    from processors.rendering import collect_report_data
    from processors.spec import load_spec
    from processors.store import SqliteStore

    spec = load_spec(None)
    slo = spec.slo("api-availability")
    until = T0 + 40 * 86400
    start, _period = window_bounds(slo, until)
    fired, resolved = start - 86400, start + 3600  # opened a day before the window, ended inside it
    store = SqliteStore(tmp_path / "slo.db")
    log = [
        {"id": f"page-{state}", "slo": slo.name, "kind": "burn_rate", "severity": "page", "state": state,
         "at": iso_seconds(at), "at_epoch": at}
        for state, at in (("firing", fired), ("resolved", resolved))
    ]
    store.save_alert_evaluation({}, log, resolved)
    status = {s["name"]: s for s in status_at(store, spec, until)["slos"]}
    data = collect_report_data(StoreView(store), spec, since=until - 3600, until=until, step=1800)
    report = {s["name"]: s for s in data.status_now["slos"]}
    assert status[slo.name]["mttr_seconds"] == resolved - fired
    assert report[slo.name]["mttr_seconds"] == status[slo.name]["mttr_seconds"]
    for document in data.status_series:
        (step,) = [s for s in document["slos"] if s["name"] == slo.name]
        assert step["mttr_seconds"] == resolved - fired, document["at"]
