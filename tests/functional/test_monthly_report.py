"""`slo scorecard` and `slo report --month` over a generated 30-day history (October 2026) in a real SQLite store.

The history is counters written through the store's own commit: every SLO healthy all month, except one
20-minute outage of api-availability on 12 October, which the alert policy pages on (recorded minute by minute
by the same evaluate-and-record the evaluator runs).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from processors import conventions
from processors.alerting import evaluate_and_record
from processors.alerting.notify import LocalNotifier
from processors.cli import main
from processors.decoding.types import Position
from processors.spec import load_spec
from processors.store import SqliteStore
from processors.store.types import CheckpointAdvance, Commit, CounterKey
from processors.store.view import StoreView

OCTOBER = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
DAYS = 31
OUTAGE = OCTOBER + 11 * conventions.DAY + 10 * conventions.HOUR  # 12 October, 10:00-10:20, every request fails
CORRECTED = OCTOBER + 4 * conventions.DAY
PER_MINUTE = {"queue-latency": 2, "deploy-success": 2, "orphan-rate": 2, "api-availability": 20}


def minute_counts(name: str, minute: int) -> dict[str, int]:
    total = PER_MINUTE[name]
    bad = total if name == "api-availability" and OUTAGE <= minute < OUTAGE + 1200 else 0
    return {"good": total - bad, "total": total}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("history") / "slo.db")
    store = SqliteStore(path)
    spec = load_spec()
    end = OCTOBER + DAYS * conventions.DAY
    for day in range(OCTOBER, end, conventions.DAY):
        counters: dict[CounterKey, dict[str, int]] = {}
        for hour in range(day, day + conventions.DAY, conventions.HOUR):
            for name in PER_MINUTE:
                hour_row = {"good": 0, "total": 0}
                for minute in range(hour, hour + conventions.HOUR, conventions.MINUTE):
                    row = minute_counts(name, minute)
                    counters[CounterKey(spec.series_of(name), conventions.RESOLUTION_MINUTE, minute)] = row
                    hour_row = {k: hour_row[k] + row[k] for k in row}
                counters[CounterKey(spec.series_of(name), conventions.RESOLUTION_HOUR, hour)] = hour_row
            # cache-hit-rate: twelve 5-minute slices an hour, each 4 hits of 5 lookups (good at min_ratio 0.6)
            counters[CounterKey(spec.series_of("cache-hit-rate"), conventions.RESOLUTION_HOUR, hour)] = {
                **{f"t{i}": 5 for i in range(12)}, **{f"g{i}": 4 for i in range(12)}
            }
        newest = day + conventions.DAY - 1
        previous = store.checkpoint("history", "shard-0")
        store.commit(Commit(
            checkpoint=CheckpointAdvance("history", "shard-0", previous.position if previous else None,
                                         Position(day), newest_event=newest),
            counters=counters,
        ))
    # a budget correction (a load test on 5 October, 00:00-01:00) and a silence over the outage
    store.add_correction({"id": "c1", "slo": "deploy-success", "start": CORRECTED, "end": CORRECTED + 3600,
                          "reason": "load test", "created_by": "ops", "created_at": CORRECTED, "version": 1})
    store.add_silence({"id": "s1", "slo": "*", "starts": OUTAGE, "ends": OUTAGE + 1800, "reason": "maintenance",
                       "created_by": "ops"})
    view = StoreView(store)
    for now in range(OUTAGE, OUTAGE + 3 * conventions.HOUR, conventions.MINUTE):
        evaluate_and_record(store, view, spec, now, LocalNotifier())
    store.close()
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_the_scorecard_of_the_month_meets_every_target_but_the_outages(history, capsys) -> None:  # type: ignore[no-untyped-def]
    card = json.loads(run_cli(capsys, "scorecard", "--db", history, "--month", "2026-10", "--json"))
    assert card["period"] == {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    scores = {slo["name"]: slo for slo in card["slos"]}
    for name in ("queue-latency", "cache-hit-rate", "deploy-success", "orphan-rate"):
        assert scores[name]["verdict"] == "met", scores[name]
        assert scores[name]["compliance_time"]["value"] == 1.0
        # every minute of the month; a slice SLO's first four hold no whole 5-minute slice yet
        assert scores[name]["minutes_evaluated"] == DAYS * 1440 - (4 if name == "cache-hit-rate" else 0)
    api = scores["api-availability"]
    # 400 bad of 892,800 requests: 45% of the month's budget (0.1% of 892,800 = 892.8)
    assert api["budget_use"]["value"] == pytest.approx(400 / (892_800 * 0.001), abs=1e-6)
    assert api["budget_use"]["verdict"] == "met"
    # from the outage until the window holds 400,000 requests (13.9 days of traffic) it misses 99.9%: ~1.5 days
    assert 0.9 < api["compliance_time"]["value"] < 0.99 and api["compliance_time"]["verdict"] == "not met"
    assert len(api["incidents"]) == 1 and api["incidents"][0]["fired"].startswith("2026-10-12T10:0")
    assert api["incidents"][0]["ended"] is not None
    assert card["trace_coverage"]["verdict"] == "not enough data"  # the history has no vocabulary events
    # the corrected hour's 120 completions are left out, as `slo status` leaves them out
    assert scores["deploy-success"]["month_total"] == 2 * DAYS * 1440 - 120


def test_the_monthly_report_adds_the_scorecard_compliance_per_day_and_the_incidents(  # type: ignore[no-untyped-def]
    history, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "october.html"
    run_cli(capsys, "report", "--db", history, "--month", "2026-10", "--step", "6h", "--out", str(out),
            "--csv", str(tmp_path / "csv"))
    html = out.read_text(encoding="utf-8")
    for section in ('id="scorecard"', 'id="incidents"', 'data-chart="scorecard" data-points="5"',
                    'data-chart="incidents" data-points="1"'):
        assert section in html, section
    assert html.count('data-chart="compliance" data-points="31"') == 5

    def rows(stem: str) -> list[dict[str, Any]]:
        with open(tmp_path / "csv" / f"{stem}.csv", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    scorecard = rows("scorecard")
    assert [row["slo"] for row in scorecard] == [*load_spec().names, "trace coverage"]
    days = rows("compliance_days")
    assert len(days) == 5 * DAYS
    twelfth = next(row for row in days if row["slo"] == "api-availability" and row["day"] == "2026-10-12")
    assert int(twelfth["minutes_compliant"]) < int(twelfth["minutes_evaluated"]) == 1440
    assert rows("incidents")[0]["slo"] == "api-availability"
    assert {row["state"] for row in rows("alerts")} >= {"firing"}
    notes = rows("notes")
    assert [(n["kind"], n["slo"], n["reason"]) for n in notes] == [
        ("correction", "deploy-success", "load test"), ("silence", "*", "maintenance")
    ]
    assert "data-chart='notes' data-points='2'" in html


def test_a_report_of_the_last_30_days_without_a_step_takes_a_step_that_fits(  # type: ignore[no-untyped-def]
    history, tmp_path: Path, capsys
) -> None:
    """Its default step was 5m whatever the range, so `slo report --since 30d` (8,641 steps) was refused with
    "8641 steps is too many"; past 5,000 steps of 5m it is now the shortest of 30m, 1h ... 1d that makes at
    most 1,000 (1h here, as the monthly report's). A step given is kept, and refused as before."""
    out = tmp_path / "month.html"
    assert main(["report", "--db", history, "--since", "30d", "--out", str(out)]) == 0
    assert capsys.readouterr().err.startswith("721 evaluations from 2026-10-02T00:00:00Z to 2026-11-01T00:00:00Z")
    assert main(["report", "--db", history, "--since", "30d", "--step", "5m", "--out", str(out)]) == 2
    assert "8641 steps is too many" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "100000d"])
def test_a_scorecard_since_long_ago_starts_there_and_answers_from_the_data(history, capsys, since) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(run_cli(capsys, "scorecard", "--db", history, "--since", since, "--json"))
    assert document["period"]["from"] < "1970-01-01T00:00:01Z"
    assert document["slos"][0]["minutes_evaluated"] == DAYS * 1440


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("scorecard", "--month", "2026-13"), "--month: not a month"),
        (("scorecard", "--month", "2026-12"), "no data in or after that month"),
        (("report", "--month", "2026-10", "--since", "1d", "--out", "/tmp/r.html"), "--month sets the range"),
        (("report", "--month", "2026-10", "--csv", "/nonexistent/dir/csv", "--out", "/tmp/r.html"),
         "--csv: no directory"),
        (("scorecard", "--month", "0000-01"), "--month: not a month"),
        (("report", "--month", "0000-01", "--out", "/tmp/r.html"), "--month: not a month"),
        (("scorecard", "--at", "0001-01-01T00:00:00Z"), "--at: '0001-01-01T00:00:00Z': the minute that ends there "
                                                         "would start before year 1"),
        (("scorecard", "--since", "999999999999999999999m"), "is longer than the years 1..9999"),
        (("scorecard", "--since", "800000d"),
         "--since: '800000d' from 2026-11-01T00:00:00Z lands outside the years 1..9999"),
        (("report", "--since", "999999999999999999999m", "--out", "/tmp/r.html"), "is longer than the years 1..9999"),
        (("report", "--since", "800000d", "--out", "/tmp/r.html"),
         "--since: '800000d' from 2026-11-01T00:00:00Z lands outside the years 1..9999"),
        (("report", "--since", "0001-01-01T00:00:00Z", "--out", "/tmp/r.html"), "213096961 steps is too many"),
        (("report", "--step", "100000d", "--out", "/tmp/r.html"), "step 100000d is longer than the report's range"),
        (("report", "--step", "99999999999999999999d", "--out", "/tmp/r.html"), "is longer than the years 1..9999"),
        (("report", "--since", "1000-01-01T00:00:00Z", "--step", "3650d", "--out", "/tmp/r.html"),
         "time slices of 5m is too many for one report"),
        (("report", "--since", "0001-01-01T00:00:00Z", "--step", "36500d", "--out", "/tmp/r.html"),
         "step 36500d takes the report's start before 0001-01-01T00:00:00Z"),
    ],
)
def test_month_mistakes_are_one_line_usage_errors(history, capsys, argv, message) -> None:  # type: ignore[no-untyped-def]
    before = Path(history).read_bytes()
    assert main([*argv, "--db", history]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert Path(history).read_bytes() == before
