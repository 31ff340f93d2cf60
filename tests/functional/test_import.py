"""`slo import` against moto's CloudWatch Logs over HTTP: counted once however often and however overlapping
the ranges, page boundaries never split a millisecond, and throttling is retried with backoff."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from processors.cli import main
from processors.decoding import DEFAULT_PARSER
from processors.replay import Replayer
from processors.replay.cloudwatch import ImportStats, LogGroupImporter
from processors.store import SqliteStore
from tests import runner_platform as conventions
from tests.builders import T0, cid, log_line, series
from tests.history import LOG_STREAM, client, history_messages, seed_log_group

WINDOW = (int(T0) - 3600, int(T0) + 3600)


@pytest.fixture
def log_group(moto_endpoint: str) -> str:
    """6 api_request lines (3 of them 5xx; Powertools and schema v1), put as of now."""
    group = f"/aws/lambda/gha-import-{uuid.uuid4().hex[:8]}"
    seed_log_group(client(moto_endpoint, "logs"), group, history_messages())
    return group


def run_import(capsys: pytest.CaptureFixture[str], endpoint: str, db: Path, *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["import", *args, "--logs-endpoint-url", endpoint, "--db", str(db), "--no-backtest", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return dict(json.loads(out.out))


def api_counts(db: Path) -> tuple[int, int]:
    store = SqliteStore(db)
    try:
        counts = store.window_counts(series(conventions.API_AVAILABILITY), *WINDOW)
        return counts.good, counts.total
    finally:
        store.close()


def test_importing_the_same_range_twice_counts_each_event_once(moto_endpoint, log_group, tmp_path, capsys) -> None:
    db = tmp_path / "slo.db"
    first = run_import(capsys, moto_endpoint, db, "--log-group-prefix", log_group, "--since", "1h")
    assert first["import"]["events_fetched"] == 6 and first["sli_events"] == 6
    assert first["formats"] == {"cloudwatch-logs-api": 1}
    assert api_counts(db) == (3, 6)
    again = run_import(capsys, moto_endpoint, db, "--log-group", log_group, "--since", "1h")
    assert again["import"]["events_fetched"] == 6 and again["events"] == 0
    assert api_counts(db) == (3, 6)


def test_an_overlapping_later_range_adds_only_what_is_new(moto_endpoint, log_group, tmp_path, capsys) -> None:
    db = tmp_path / "slo.db"
    logs = client(moto_endpoint, "logs")
    events = logs.filter_log_events(logGroupName=log_group)["events"]
    middle = sorted(e["timestamp"] for e in events)[3]  # the 4th event's time: 3 lie before it
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle / 1000)) + f".{middle % 1000:03d}Z"
    early = run_import(capsys, moto_endpoint, db, "--log-group", log_group, "--since", "1h", "--until", until)
    assert early["sli_events"] == 3
    later = run_import(capsys, moto_endpoint, db, "--log-group", log_group, "--since", "1h")
    assert later["sli_events"] == 3 and api_counts(db) == (3, 6)


def test_a_page_boundary_inside_a_millisecond_splits_nothing_and_loses_nothing(
    moto_endpoint, sqlite_store, spec
) -> None:
    """Five lines in one millisecond of one stream, read two per page: applied together, once."""
    logs = client(moto_endpoint, "logs")
    group = f"/aws/lambda/gha-ms-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
    now_ms = int(time.time() * 1000)
    lines = [log_line("api_request", T0 + n, cid(40 + n), "Api", status=200) for n in range(5)]
    logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM,
                        logEvents=[{"timestamp": now_ms, "message": line} for line in lines])
    paging = SmallPages(logs, 2)
    importer = LogGroupImporter(paging, DEFAULT_PARSER, sleep=lambda _s: None)
    replayer = Replayer(sqlite_store, spec)
    for _ in range(2):
        for batch in importer.batches(group, now_ms - 1000, now_ms + 1000):
            replayer.apply(batch)
    assert paging.pages >= 3  # the millisecond really was split across pages
    assert sqlite_store.window_counts(series(conventions.API_AVAILABILITY), *WINDOW).total == 5


def test_throttling_is_retried_with_backoff_and_every_event_counts(
    moto_endpoint, log_group, sqlite_store, spec
) -> None:
    throttled = ThrottlingLogs(client(moto_endpoint, "logs"), times=3)
    delays: list[float] = []
    stats = ImportStats()
    importer = LogGroupImporter(throttled, DEFAULT_PARSER, stats, sleep=delays.append)
    replayer = Replayer(sqlite_store, spec)
    now_ms = int(time.time() * 1000)
    for batch in importer.batches(log_group, now_ms - 3_600_000, now_ms + 1000):
        replayer.apply(batch)
    assert stats.throttled == 3 and len(delays) == 3
    assert all(0 <= delay <= 10.0 for delay in delays)
    assert sqlite_store.window_counts(series(conventions.API_AVAILABILITY), *WINDOW).total == 6


def test_throttling_past_the_retries_is_one_line_and_exit_2(moto_endpoint, log_group, tmp_path, capsys, monkeypatch):
    import boto3

    real_client = boto3.session.Session.client

    def throttled_client(self: Any, service: str, **kwargs: Any) -> Any:
        made = real_client(self, service, **kwargs)
        return ThrottlingLogs(made, times=100) if service == "logs" else made

    monkeypatch.setattr(boto3.session.Session, "client", throttled_client)
    monkeypatch.setattr("processors.replay.cloudwatch.time.sleep", lambda _s: None)
    capsys.readouterr()
    code = main(["import", "--log-group", log_group, "--logs-endpoint-url", moto_endpoint,
                 "--db", str(tmp_path / "slo.db"), "--no-backtest"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "slo.db").exists() or api_counts(tmp_path / "slo.db") == (0, 0)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "--log-group-prefix"),
        (["--log-group-prefix", "/nothing/here-", "--since", "1h"], "no log group"),
        (["--log-group", "/g", "--since", "yesterday"], "--since"),
        (["--log-group", "/g", "--since", "2026-10-02T00:00:00Z", "--until", "2026-10-01T00:00:00Z"], "before"),
    ],
)
def test_import_mistakes_are_one_line_and_exit_2(moto_endpoint, tmp_path, capsys, args: list[str], says: str) -> None:
    capsys.readouterr()
    code = main(["import", *args, "--logs-endpoint-url", moto_endpoint, "--db", str(tmp_path / "slo.db")])
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def store_rows(db: Path) -> list[str]:
    """Every row of a SQLite store, as SQL text (its bytes move when a write-ahead log is checkpointed)."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(db)) as connection:
        return list(connection.iterdump())


@pytest.mark.parametrize(
    ("reach", "says"),
    [
        (["--since", "1970-01-01T00:00:00Z"], "3653 days"),
        (["--since", "1960-01-01T00:00:00Z"], "3653 days"),
        (["--since", "100d", "--window", "1m"], "larger --window"),
        (["--since", "1d", "--until", "9999-12-31T00:00:00Z"], "is more than a day from now"),
    ],
    ids=["back to 1970", "before 1970", "100 days a minute at a time", "until the year 9999"],
)
def test_a_range_past_cloudwatchs_retention_or_of_too_many_windows_is_refused_before_any_call(
    moto_endpoint, log_group, tmp_path, capsys, reach: list[str], says: str
) -> None:
    db = tmp_path / "slo.db"
    run_import(capsys, moto_endpoint, db, "--log-group", log_group, "--since", "1h")
    before = store_rows(db)
    code = main(["import", "--log-group", log_group, *reach, "--logs-endpoint-url", moto_endpoint,
                 "--db", str(db), "--no-backtest"])
    out, err = capsys.readouterr()
    assert (code, out, err.count("\n")) == (2, "", 1) and says in err, err
    assert store_rows(db) == before


class SmallPages:
    """A thin wrapper over a real client: FilterLogEvents pages of `size` events (moto honours `limit`)."""

    def __init__(self, client: Any, size: int) -> None:
        self.client = client
        self.size = size
        self.pages = 0

    def filter_log_events(self, **kwargs: Any) -> Any:
        self.pages += 1
        return self.client.filter_log_events(**{**kwargs, "limit": self.size})


class ThrottlingLogs:
    """Models CloudWatch Logs' API throttling (moto never throttles): the first `times` calls of
    FilterLogEvents / DescribeLogGroups raise ThrottlingException, as the real API does under load."""

    def __init__(self, client: Any, times: int) -> None:
        self.client = client
        self.times = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _maybe_throttle(self, operation: str) -> None:
        if self.times > 0:
            self.times -= 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)

    def filter_log_events(self, **kwargs: Any) -> Any:
        self._maybe_throttle("FilterLogEvents")
        return self.client.filter_log_events(**kwargs)

    def describe_log_groups(self, **kwargs: Any) -> Any:
        self._maybe_throttle("DescribeLogGroups")
        return self.client.describe_log_groups(**kwargs)


def test_the_summary_names_the_log_groups_it_read_and_the_journeys_unit_as_slo_replay_does(
    moto_endpoint, tmp_path, capsys
) -> None:
    """It said `replayed N records from 0 file(s)` and `orphan sweep: 1 unit(s)`, where slo replay says job(s)."""
    group, now = f"/ecs/gha-import-{uuid.uuid4().hex[:8]}", time.time()
    logs = client(moto_endpoint, "logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM, logEvents=[  # a runner never resolved
        {"timestamp": int(at * 1000), "message": log_line(action, at, cid(n))}
        for n, (action, at) in enumerate([("runner_started", now - 7 * 3600), ("cache_hit", now - 60)])
    ])
    capsys.readouterr()
    code = main(["import", "--log-group", group, "--since", "8h", "--logs-endpoint-url", moto_endpoint,
                 "--db", str(tmp_path / "slo.db")])
    out = capsys.readouterr().out
    assert code == 0
    assert "records from 1 log group(s):" in out and "file(s)" not in out, out
    assert "orphan sweep: 1 job(s) past max runtime" in out, out
