"""Budget arithmetic and the status document: tables whose case names are sentences; floats with tolerance."""

from __future__ import annotations

import functools
import json
import math
from datetime import datetime

import pytest

from processors.counting import Counts
from processors.evaluating import (
    attainment,
    budget_consumed,
    burn_rate,
    evaluate,
    exhaustion_seconds,
    mttr_seconds,
    status_document,
    window_bounds,
)
from processors.spec import load_spec
from tests.fakes.evaluating import CountingView, Phase, SeriesView, minute_counts

DAY = 86400


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


@pytest.mark.parametrize(
    ("case", "counts", "objective", "expected_attainment", "expected_consumed"),
    [
        ("an empty window has no attainment and consumes nothing", Counts(0, 0), 0.999, None, 0.0),
        ("a perfect window consumes nothing", Counts(1000, 1000), 0.999, 1.0, 0.0),
        ("one bad in a thousand at 99.9% consumes exactly the budget", Counts(999, 1000), 0.999, 0.999, 1.0),
        ("the issue's deploy example consumes 5.2 budgets", Counts(1911, 1962), 0.995, 0.97401, 5.1988),
        ("a total outage at 95% consumes twenty budgets", Counts(0, 50), 0.95, 0.0, 20.0),
    ],
)
def test_attainment_and_budget(case, counts, objective, expected_attainment, expected_consumed) -> None:  # type: ignore[no-untyped-def]
    got = attainment(counts)
    if expected_attainment is None:
        assert got is None, case
    else:
        assert got == pytest.approx(expected_attainment, abs=1e-5), case
    assert budget_consumed(counts, objective) == pytest.approx(expected_consumed, abs=1e-4), case
    assert burn_rate(counts, objective) == pytest.approx(expected_consumed, abs=1e-4), case


@pytest.mark.parametrize(
    ("case", "remaining", "rate", "period", "expected"),
    [
        ("half the budget at burn 1 lasts half the period", 0.5, 1.0, 30 * DAY, 15 * DAY),
        ("the whole budget at 14.4x lasts 50 hours", 1.0, 14.4, 30 * DAY, 50 * 3600),
        ("nothing burning never runs out", 0.7, 0.0, 30 * DAY, None),
        ("an exhausted budget has no forecast", 0.0, 3.0, 30 * DAY, None),
        ("an overspent budget has no forecast", -4.2, 3.0, 30 * DAY, None),
    ],
)
def test_exhaustion_forecast(case, remaining, rate, period, expected) -> None:  # type: ignore[no-untyped-def]
    got = exhaustion_seconds(remaining, rate, period)
    assert (got is None) if expected is None else got == pytest.approx(expected), case


@pytest.mark.parametrize(
    ("case", "now", "start", "period"),
    [
        ("mid-October reads from October 1st", "2026-10-15T12:00:00Z", "2026-10-01T00:00:00Z", 31 * DAY),
        (
            "the first instant of a month reads an empty window",
            "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:00Z",
            30 * DAY,
        ),
        ("February 2028 is a leap month", "2028-02-29T23:59:00Z", "2028-02-01T00:00:00Z", 29 * DAY),
    ],
)
def test_a_calendar_month_window(case: str, now: str, start: str, period: int) -> None:
    import dataclasses

    slo = dataclasses.replace(load_spec().slo("deploy-success"), calendar_month=True)
    assert window_bounds(slo, epoch(now)) == (epoch(start), period), case


def test_a_rolling_window_ends_at_now() -> None:
    slo = load_spec().slo("deploy-success")
    assert window_bounds(slo, 10 * DAY * 10) == (10 * DAY * 10 - 30 * DAY, 30 * DAY)


def test_mttr_is_the_mean_of_page_incidents_that_ended_in_the_window() -> None:
    log = [
        {"slo": "a", "kind": "burn_rate", "severity": "page", "state": "firing", "at_epoch": 100},
        {"slo": "a", "kind": "burn_rate", "severity": "page", "state": "escalated", "at_epoch": 150},
        {"slo": "a", "kind": "burn_rate", "severity": "page", "state": "resolved", "at_epoch": 400},
        {"slo": "b", "kind": "burn_rate", "severity": "page", "state": "firing", "at_epoch": 100},
        {
            "slo": "a",
            "kind": "burn_rate",
            "severity": "page",
            "state": "firing",
            "at": "1970-01-01T00:16:40Z",
        },
        {"slo": "a", "kind": "burn_rate", "severity": "page", "state": "downgraded", "at_epoch": 1100},
        {"slo": "a", "kind": "burn_rate", "severity": "page", "state": "firing", "at_epoch": 2000},
    ]
    assert mttr_seconds(log, "a", 0, 5000) == pytest.approx((300 + 100) / 2)
    assert mttr_seconds(log, "a", 500, 5000) == pytest.approx(100)
    assert mttr_seconds(log, "b", 0, 5000) is None


def _evaluation(now: int):  # type: ignore[no-untyped-def]
    spec, view = _month_of_minutes(now)
    return spec, CountingView(view)


@functools.cache  # 31 days of minutes for five SLOs: built once, read by several tests (a fresh counter each)
def _month_of_minutes(now: int):  # type: ignore[no-untyped-def]
    spec = load_spec()
    start = now - 31 * DAY
    minutes = 31 * 1440
    series = {slo.name: minute_counts([Phase(minutes - 60, 10), Phase(60, 10, 0.02)]) for slo in spec.slos}
    return spec, SeriesView(start, series, latency={"queue-latency": {"p50": 800.0, "p95": 3100.0, "p99": 4800.0}})


def test_the_status_document_has_the_fixed_fields_and_no_nan() -> None:
    now = epoch("2026-10-01T06:00:00Z")
    spec, view = _evaluation(now)
    document = status_document(evaluate(view, spec, now))
    text = json.dumps(document, allow_nan=False)
    assert document["at"] == "2026-10-01T06:00:00Z"
    assert [s["name"] for s in document["slos"]] == list(spec.names)
    api = next(s for s in document["slos"] if s["name"] == "api-availability")
    assert {"name", "objective", "window", "good", "total", "attainment", "budget", "burn_rates"} <= set(api)
    assert api["window"] == "30d" and api["objective"] == 0.999
    assert list(api["burn_rates"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert api["burn_rates"]["1h"] == pytest.approx(20.0)  # 2% errors at 99.9%
    assert api["budget"]["consumed"] + api["budget"]["remaining"] == pytest.approx(1.0)
    assert api["forecast"]["1h"] is not None
    latency = next(s for s in document["slos"] if s["kind"] == "latency")
    assert latency["latency_ms"] == {"p50": 800.0, "p95": 3100.0, "p99": 4800.0}
    assert "NaN" not in text and "Infinity" not in text


def test_every_number_in_an_evaluation_is_finite() -> None:
    now = epoch("2026-10-01T06:00:00Z")
    spec, view = _evaluation(now)
    for slo in evaluate(view, spec, now).slos:
        numbers = [slo.consumed, slo.remaining, *slo.burn_rates.values()]
        numbers += [v for v in slo.forecast.values() if v is not None]
        assert all(math.isfinite(n) for n in numbers), slo.name


def test_one_evaluation_reads_each_slo_window_once_per_length() -> None:
    now = epoch("2026-10-01T06:00:00Z")
    spec, view = _evaluation(now)
    evaluate(view, spec, now)
    # the SLO window + seven burn-rate windows + the calendar month so far (the scorecard's budget use)
    assert view.reads["counts"] == len(spec.slos) * (1 + 7 + 1)
    assert view.reads["latency_quantiles"] == 2  # queue-latency: its window, and the last 5 minutes
