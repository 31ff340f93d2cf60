"""`slo alerts`: the alert log of a real SQLite store after a backtested outage, as JSON and as a table."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors.alerting import evaluate_and_record
from processors.alerting.notify import LocalNotifier
from processors.cli import alerts
from processors.cli.common import UsageError
from processors.spec import Spec, load_spec
from processors.store import SqliteStore
from tests.fakes.evaluating import Phase, SeriesView, minute_counts

T0 = int(datetime(2026, 10, 1, 4, tzinfo=UTC).timestamp())
HISTORY = 30 * 1440


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="slo")
    alerts.register(parser.add_subparsers())
    return parser.parse_args(["alerts", *argv])


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "slo.db")
    slo = load_spec().slo("api-availability")
    view = SeriesView(
        T0 - HISTORY * 60, {slo.name: minute_counts([Phase(HISTORY, 20), Phase(2, 20, 1.0), Phase(60, 20)])}
    )
    store = SqliteStore(path)
    for minute in range(0, 30):
        evaluate_and_record(store, view, Spec(slos=(slo,)), T0 + minute * 60, LocalNotifier())
    store.close()
    return path


def test_alerts_as_json_carry_the_fixed_fields(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert alerts.run(parse("--db", db, "--json")) == 0
    log = json.loads(capsys.readouterr().out)
    assert [(t["slo"], t["kind"], t["severity"], t["state"], t["at"]) for t in log] == [
        ("api-availability", "burn_rate", "page", "firing", "2026-10-01T04:01:00Z"),
        ("api-availability", "burn_rate", "page", "resolved", "2026-10-01T04:12:00Z"),  # cleared 04:07, held 5m
    ]
    assert log[1]["cleared_at"] == "2026-10-01T04:07:00Z"
    firing = log[0]
    assert list(firing)[:9] == list(alerts.FIELDS)
    assert firing["tier"] == "1h/5m" and firing["suppressed"] == [] and len(firing["exemplars"]) == 5
    assert set(firing["burn_rates"]) == {"1h", "5m"}


def test_since_filters_and_the_table_is_readable(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    alerts.run(parse("--db", db, "--since", "2026-10-01T04:05:00Z"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["AT", "SLO", "KIND", "SEVERITY", "TIER", "STATE", "DETAIL"]
    assert len(lines) == 2 and "resolved" in lines[1] and "1h/5m" in lines[1]


def test_a_missing_store_is_a_one_line_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no store at"):
        alerts.run(parse("--db", str(tmp_path / "none.db")))
    with pytest.raises(UsageError, match="--since"):
        alerts.run(parse("--db", str(tmp_path / "none.db"), "--since", "yesterday"))


@pytest.mark.parametrize(
    ("since", "expected_states"),
    [
        ("2026-10-01T04:05:00Z", ["resolved"]),
        ("2026-10-01T04:13:00Z", []),
        # The store holds alerts only, so durations count back from the minute after the newest one (04:12, the
        # resolve after the 5-minute hold).
        ("1m", ["resolved"]),
        ("11m", ["resolved"]),
        ("12m", ["firing", "resolved"]),
    ],
)
def test_since_takes_a_time_or_a_duration_back_from_the_newest_event(
    db: str, since: str, expected_states: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert alerts.run(parse("--db", db, "--since", since, "--json")) == 0
    assert [t["state"] for t in json.loads(capsys.readouterr().out)] == expected_states
