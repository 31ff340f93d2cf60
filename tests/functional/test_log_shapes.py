"""Every real log shape, made by the tool that makes it, counted through the real ingest handler (Kinesis
envelope) and through `slo replay` (file); the SLI events counted are asserted from the store.

Expected counts follow from what each tool was made to log (tests/shapes.py, tests/history.py): e.g. the
Powertools handler answers 4 API requests, 2 of them 5xx, one without a correlation ID.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from processors.handlers import ingest
from processors.ingest import Ingestor
from processors.store import SqliteStore
from tests import runner_platform as conventions
from tests import shapes
from tests.builders import T0, cid, series
from tests.history import ROLE_ARN, client, history_files, history_messages, seed_log_group

WINDOW = (int(T0) - 3600, int(T0) + 3600)

# shape, lines, (good, total) api-availability, (good, total) deploy-success
LINE_SHAPES: list[tuple[str, Callable[[], list[str]], tuple[int, int], tuple[int, int]]] = [
    ("schema v1", shapes.schema_v1_lines, (1, 2), (0, 0)),
    ("Powertools Logger output captured from a handler run", shapes.powertools_lines, (2, 4), (1, 2)),
    ("Powertools Logger dict messages (an object in message) captured from a handler run",
     shapes.powertools_dict_message_lines, (2, 5), (1, 1)),
    ("Lambda's JSON log format with a JSON-string message", shapes.lambda_json_lines, (1, 2), (0, 0)),
    ("Lambda platform lines, JSON and text", shapes.platform_lines, (0, 0), (0, 0)),
    ("API Gateway access logs, incl. correlationId '-' and AWS's JSON preset", shapes.access_log_lines, (2, 5),
     (0, 0)),
]


def counts(store: SqliteStore) -> tuple[tuple[int, int], tuple[int, int]]:
    api = store.window_counts(series(conventions.API_AVAILABILITY), *WINDOW)
    deploy = store.window_counts(series(conventions.DEPLOY_SUCCESS), *WINDOW)
    return (api.good, api.total), (deploy.good, deploy.total)


@pytest.fixture
def handler_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spec: Any) -> SqliteStore:
    """The real ingest handler, its store a SQLite file, its clock on the samples' day."""
    store = SqliteStore(tmp_path / "ingest.db")
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, spec))
    monkeypatch.setattr(ingest, "clock", lambda: T0 + 12 * 3600)
    return store


@pytest.mark.parametrize(("shape", "make", "api", "deploy"), LINE_SHAPES, ids=[s[0] for s in LINE_SHAPES])
def test_each_line_shape_counts_through_the_ingest_handler(
    shape: str, make: Callable[[], list[str]], api: tuple[int, int], deploy: tuple[int, int],
    handler_store: SqliteStore, lambda_context: Any,
) -> None:
    response = ingest.lambda_handler(shapes.as_kinesis_event(make()), lambda_context)
    assert response == {"batchItemFailures": []}
    assert counts(handler_store) == (api, deploy)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(("shape", "make", "api", "deploy"), LINE_SHAPES, ids=[s[0] for s in LINE_SHAPES])
def test_each_line_shape_counts_through_slo_replay_of_a_json_lines_file(
    shape: str, make: Callable[[], list[str]], api: tuple[int, int], deploy: tuple[int, int], gzipped: bool,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    data = shapes.as_json_lines(make())
    path = tmp_path / ("app.log.gz" if gzipped else "app.log")
    path.write_bytes(shapes.gzip_bytes(data) if gzipped else data)
    db = tmp_path / "slo.db"
    code = main(["replay", str(path), "--db", str(db), "--no-backtest", "--json"])
    out = capsys.readouterr()
    if api == (0, 0):  # nothing but platform lines: refused as nothing decodable, one line, exit 2
        assert code == 2 and "nothing decodable" in out.err
        return
    assert code == 0, out.err
    assert json.loads(out.out)["formats"] == {"json-lines": 1}
    store = SqliteStore(db)
    try:
        assert counts(store) == (api, deploy)
    finally:
        store.close()


def test_an_id_less_line_counts_for_availability_and_as_uncorrelated_trace_coverage(
    handler_store: SqliteStore, lambda_context: Any,
) -> None:
    ingest.lambda_handler(shapes.as_kinesis_event(shapes.access_log_lines()), lambda_context)
    coverage = handler_store.window_counts(conventions.TRACE_COVERAGE_SLI, *WINDOW)
    assert (coverage.good, coverage.total) == (2, 5)  # 3 requests never reached the ID hop
    assert handler_store.window_counts(series(conventions.API_AVAILABILITY), *WINDOW).total == 5


def test_a_powertools_dict_messages_secrets_are_redacted_or_dropped_on_the_stored_trace(
    handler_store: SqliteStore, lambda_context: Any,
) -> None:
    """A dict message's fields become metadata, so they pass the trace head's allow-list and redaction."""
    line = shapes.powertools_dict_message_with_secrets()
    ingest.lambda_handler(shapes.as_kinesis_event([line]), lambda_context)
    head = handler_store.trace(cid(44))
    assert head is not None and [e.action for e in head.events] == ["api_request"]
    assert head.events[0].metadata == {
        "action": "api_request", "status": 503, "path": "/secrets",
        "error": {"api_key": "[REDACTED]", "password=[REDACTED]": "[REDACTED]"},
    }
    assert "hunter2" not in json.dumps(head.events[0].metadata) and "AIza" not in json.dumps(head.events[0].metadata)


# --- history files -----------------------------------------------------------------------------------------

HISTORY_EXPECTED = {
    # 6 api_request lines (tests.history.history_messages), 3 of them 5xx
    "filter-log-events.json": ("filter-log-events", (3, 6)),
    "filter-log-events-pages.jsonl": ("filter-log-events", (3, 6)),
    "filter-log-events.json.gz": ("filter-log-events", (3, 6)),
    "get-log-events.json": ("get-log-events", (3, 6)),
    "firehose-s3-object.gz": ("cloudwatch-payload", (3, 6)),
    "awslogs-envelope.json": ("awslogs", (3, 6)),
    # the tools' own samples carry no structured line: read, counted as skips, nothing counted
    "powertools-cloudWatchLogEvent.json": ("awslogs", (0, 0)),
    "sam-cloudwatch-logs-event.json": ("awslogs", (0, 0)),
    "sam-firehose-cloudwatch-logs-processor-event.json": ("firehose", (0, 0)),
    "powertools-kinesisFirehosePutEvent.json": ("firehose", (0, 0)),
}


@pytest.fixture(scope="module")
def history(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, tuple[str, ...]]]:
    folder = tmp_path_factory.mktemp("history")
    return {name: (path, extra) for name, path, extra in history_files(folder, moto_endpoint)}


def test_every_history_shape_has_an_expectation(history: dict[str, Any]) -> None:
    assert set(history) == set(HISTORY_EXPECTED)


@pytest.mark.parametrize("name", sorted(HISTORY_EXPECTED))
def test_each_history_file_is_detected_and_counted_by_slo_replay(
    name: str, history: dict[str, tuple[Path, tuple[str, ...]]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path, extra = history[name]
    expected_format, api = HISTORY_EXPECTED[name]
    db = tmp_path / "slo.db"
    code = main(["replay", str(path), *extra, "--db", str(db), "--no-backtest", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out)
    assert summary["formats"] == {expected_format: 1}
    store = SqliteStore(db)
    try:
        assert counts(store)[0] == api
    finally:
        store.close()
    capsys.readouterr()
    assert main(["replay", str(path), *extra, "--db", str(db), "--no-backtest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 0  # a second replay applies nothing


def test_moto_subscription_delivery_of_powertools_lines_counts_through_the_ingest_handler(
    moto_endpoint: str, handler_store: SqliteStore, lambda_context: Any,
) -> None:
    """CloudWatch Logs → subscription filter → Kinesis (moto, over HTTP) → the Lambda's event → the handler."""
    from tests.e2e_system import lambda_kinesis_event

    kinesis, logs = client(moto_endpoint, "kinesis"), client(moto_endpoint, "logs")
    name = "logs-shapes"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
    group = "/aws/lambda/gha-shapes"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(logGroupName=group, filterName="slo", filterPattern="", destinationArn=arn,
                                 roleArn=ROLE_ARN)
    seed_log_group(logs, group, history_messages(), create=False)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert len(records) == len(history_messages())  # one subscription record per put
    response = ingest.lambda_handler(lambda_kinesis_event(records, arn, shard), lambda_context)
    assert response == {"batchItemFailures": []}
    assert counts(handler_store)[0] == (3, 6)
