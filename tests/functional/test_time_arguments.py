"""Time arguments of the commands that read what has happened (status, metrics, scorecard, alerts, report, trace):
a time later than now (plus the scheduled evaluator's minute of clock skew) and than the store's newest data is
refused in one line, exit 2, naming the argument; it was answered with empty data. Silences and corrections, which
may be planned ahead, still take future times."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors import conventions
from processors.cli import main
from processors.timeutil import iso_seconds
from tests.builders import T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line


def replayed(tmp_path: Path, at: float, name: str = "slo.db") -> str:
    """A store holding one API request at `at`, arrived then (so a replay believes it, however late)."""
    events = tmp_path / f"{name}.json"
    line = log_line("api_request", at, cid(1), "Api", status=200)
    payload = cw_payload([line], t_ms=int(at * 1000))
    events.write_text(json.dumps(kinesis_event([kinesis_record(gz(payload), 1, arrival=at)])))
    store = str(tmp_path / name)
    assert main(["replay", str(events), "--db", store, "--no-backtest"]) == 0
    return store


@pytest.fixture
def db(tmp_path: Path) -> str:
    return replayed(tmp_path, T0)


def dump(path: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def in_an_hour() -> str:
    return iso_seconds(time.time() + conventions.HOUR)


def month_after_next() -> str:
    later = datetime.fromtimestamp(time.time() + 62 * conventions.DAY, tz=UTC)
    return f"{later.year:04d}-{later.month:02d}"


FAR = "9999-12-31T00:00:00Z"
# (case, argv with "WHEN" for the time, the flag the error names)
READERS = [
    ("status at a time", ["status", "--at", "WHEN"], "--at"),
    ("metrics at a time", ["metrics", "--at", "WHEN"], "--at"),
    ("metrics since a time", ["metrics", "--since", "WHEN"], "--since"),
    ("a scorecard at a time", ["scorecard", "--at", "WHEN"], "--at"),
    ("a scorecard since a time", ["scorecard", "--since", "WHEN"], "--since"),
    ("alerts since a time", ["alerts", "--since", "WHEN"], "--since"),
    ("a report until a time", ["report", "--until", "WHEN", "--out", "OUT"], "--until"),
    ("a report since a time", ["report", "--since", "WHEN", "--out", "OUT"], "--since"),
    ("a trace search at a time", ["trace", "--repository", "acme/web", "--at", "WHEN"], "--at"),
]
FUTURE = [
    *[(f"{case} in year 9999", argv, flag, lambda: FAR) for case, argv, flag in READERS],
    ("status at a time in basic ISO 8601, 99991231", ["status", "--at", "WHEN"], "--at", lambda: "99991231"),
    *[(f"{case} an hour from now", argv, flag, in_an_hour) for case, argv, flag in READERS],
    ("a scorecard of the month 9999-12", ["scorecard", "--month", "WHEN"], "--month", lambda: "9999-12"),
    ("a scorecard of the month after next", ["scorecard", "--month", "WHEN"], "--month", month_after_next),
    ("a report of the month 9999-12", ["report", "--month", "WHEN", "--out", "OUT"], "--month", lambda: "9999-12"),
    ("a report of the month after next", ["report", "--month", "WHEN", "--out", "OUT"], "--month", month_after_next),
]


@pytest.mark.parametrize(("case", "argv", "flag", "when"), FUTURE, ids=[c[0] for c in FUTURE])
def test_a_command_that_reads_what_happened_refuses_a_time_that_has_not_happened_yet(
    case, argv, flag, when, db, tmp_path, capsys
) -> None:
    out = tmp_path / "report.html"
    before = dump(db)
    text = when()
    code = main([{"WHEN": text, "OUT": str(out)}.get(arg, arg) for arg in argv] + ["--db", db])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    assert captured.err.startswith(f"slo: error: {flag}: ") and captured.err.count("\n") == 1, captured.err
    assert "has not happened yet" in captured.err and "Traceback" not in captured.err
    assert captured.out == "" and not out.exists()
    assert dump(db) == before


def test_a_time_within_the_minute_of_clock_skew_is_read(db, capsys) -> None:
    """The scheduled evaluator believes a schedule time up to a minute ahead of its clock; so does the CLI."""
    soon = iso_seconds(time.time() + conventions.CLOCK_SKEW_SECONDS // 2)
    assert main(["status", "--at", soon, "--db", db, "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["at"] <= soon


def test_data_ahead_of_this_clock_is_read_up_to_its_newest_minute_and_no_further(tmp_path, capsys) -> None:
    """Ingest believes an event up to a day ahead of its arrival (and another machine's clock may be ahead of this
    one's): the newest minute with data can be asked for by --at, as `slo status` shows it by default."""
    ahead = (int(time.time()) // 60 + 120) * 60 + 5.0  # two hours ahead of this clock
    store = replayed(tmp_path, ahead)
    capsys.readouterr()
    newest = iso_seconds(ahead - 5 + conventions.MINUTE)
    assert main(["status", "--at", newest, "--db", store, "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["at"] == newest
    assert main(["alerts", "--since", newest, "--db", store]) == 0
    capsys.readouterr()
    later = iso_seconds(ahead - 5 + 2 * conventions.MINUTE)
    assert main(["status", "--at", later, "--db", store]) == 2
    err = capsys.readouterr().err
    assert err == f"slo: error: --at: {later!r} has not happened yet: it is after the newest data ({newest})\n"


def test_the_first_minute_of_year_1_is_refused_for_the_minute_before_it(db, capsys) -> None:
    """`slo metrics --at 0001-01-01T00:00:00Z` printed the minute [0001-01-01T00:00:00Z, 0001-01-01T00:00:00Z)."""
    for command in ("status", "metrics", "scorecard"):
        assert main([command, "--at", "0001-01-01T00:00:59Z", "--db", db]) == 2
        err = capsys.readouterr().err
        assert err.startswith("slo: error: --at: ") and "before year 1" in err and err.count("\n") == 1, err


PAST = [
    ("status at a time before the data", ["status", "--at", "1900-01-01T00:00:00Z"], "No data in the SLO windows"),
    ("alerts since a time before the data", ["alerts", "--since", "1900-01-01T00:00:00Z"], "no alert transitions"),
    ("a scorecard of a month before the data", ["scorecard", "--month", "1900-01"], "not enough data"),
]


@pytest.mark.parametrize(("case", "argv", "shown"), PAST, ids=[c[0] for c in PAST])
def test_a_time_before_the_data_is_answered_with_no_data(case, argv, shown, db, capsys) -> None:
    """Documented, not refused: the store may be backfilled before its first event, and no data is never a pass."""
    assert main([*argv, "--db", db]) == 0
    assert shown in capsys.readouterr().out


PLANNED = [
    ("a silence that starts tomorrow",
     ["silence", "add", "--all", "--from", "TOMORROW", "--for", "1h", "--reason", "r"]),
    ("a silence until year 9999", ["silence", "add", "--all", "--until", FAR, "--reason", "r"]),
    ("a correction of tomorrow's load test",
     ["correct", "--slo", "api-availability", "--from", "TOMORROW", "--to", FAR, "--reason", "load test"]),
]


@pytest.mark.parametrize(("case", "argv"), PLANNED, ids=[c[0] for c in PLANNED])
def test_silences_and_corrections_still_take_future_times(case, argv, db, capsys) -> None:
    tomorrow = iso_seconds(time.time() + conventions.DAY)
    assert main([tomorrow if arg == "TOMORROW" else arg for arg in argv] + ["--db", db]) == 0, capsys.readouterr().err
