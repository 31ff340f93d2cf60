"""The ingest Lambda over DynamoDB on moto's server: partial batch responses, throttling, bad records."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from processors.handlers import ingest
from processors.ingest import Ingestor
from processors.store import DynamoDBStore, SqliteStore, dynamodb_client, keys
from tests import runner_platform as conventions
from tests.builders import (
    STREAM_ARN,
    T0,
    cid,
    cw_payload,
    gz,
    kinesis_event,
    kinesis_record,
    load_event,
    log_line,
    series,
)
from tests.conftest import create_table
from tests.functional.test_evaluator_handler import emf_documents, metric_values


class ThrottlingClient:
    """A thin wrapper over a real client: the first `times` TransactWriteItems calls are throttled."""

    def __init__(self, client: Any, times: int) -> None:
        self.client = client
        self.times = times

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.times > 0:
            self.times -= 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "TransactWriteItems"
            )
        return self.client.transact_write_items(**kwargs)


@pytest.fixture(autouse=True)
def clock_at_the_sample_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler judges event times by its clock; these fixtures are dated 2026-10-01."""
    monkeypatch.setattr(ingest, "clock", lambda: T0 + 12 * 3600)


@pytest.fixture
def table(moto_endpoint: str) -> str:
    return create_table(moto_endpoint)


def use_store(monkeypatch: pytest.MonkeyPatch, client: Any, table: str, spec: Any) -> DynamoDBStore:
    store = DynamoDBStore(client, table)
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, spec))
    return store


def api_record(n: int, sequence: int, status: int = 200) -> dict[str, Any]:
    line = log_line("api_request", T0 + n, cid(n), "Api", status=status, duration=12.5)
    return kinesis_record(gz(cw_payload([line])), sequence)


def api_counts(store: DynamoDBStore | SqliteStore) -> tuple[int, int]:
    counts = store.window_counts(series(conventions.API_AVAILABILITY), int(T0) - 3600, int(T0) + 3600)
    return counts.good, counts.total


def test_the_sample_event_is_applied_and_reports_no_failures(monkeypatch, moto_endpoint, table, spec, lambda_context):
    store = use_store(monkeypatch, dynamodb_client(moto_endpoint), table, spec)
    response = ingest.lambda_handler(load_event("sample-kinesis-event.json"), lambda_context)
    assert response == {"batchItemFailures": []}
    head = store.trace("7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01")
    assert head is not None and set(head.milestones) == {"webhook_received", "job_queued"}


def test_bad_records_are_skipped_and_never_fail_the_batch(monkeypatch, moto_endpoint, table, spec, lambda_context):
    store = use_store(monkeypatch, dynamodb_client(moto_endpoint), table, spec)
    event = kinesis_event([api_record(1, 10), kinesis_record(b"garbage", 11), api_record(2, 12, status=503)])
    assert ingest.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert api_counts(store) == (1, 2)


def test_a_throttled_commit_reports_the_batch_for_retry_and_the_retry_applies_it_once(
    monkeypatch, moto_endpoint, table, spec, lambda_context
):
    client = ThrottlingClient(dynamodb_client(moto_endpoint), times=1)
    store = use_store(monkeypatch, client, table, spec)
    event = kinesis_event([api_record(1, 10), api_record(2, 11), api_record(3, 12)])
    first = ingest.lambda_handler(event, lambda_context)
    assert first == {"batchItemFailures": [{"itemIdentifier": str(s)} for s in (10, 11, 12)]}
    assert api_counts(store) == (0, 0)
    assert ingest.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert ingest.lambda_handler(event, lambda_context) == {"batchItemFailures": []}  # a duplicate delivery
    assert api_counts(store) == (3, 3)


def damage_dynamodb_checkpoint(store: Any) -> Callable[[], None]:
    """The checkpoint's position edited into what the store never writes; returns how to restore it."""
    (checkpoint,) = store.client.scan(TableName=store.table, ConsistentRead=True, FilterExpression="PK = :pk",
                                      ExpressionAttributeValues={":pk": {"S": keys.PK_CHECKPOINT}})["Items"]
    store.client.put_item(TableName=store.table, Item={**checkpoint, "pos": {"S": "10:0:x"}})
    return lambda: store.client.put_item(TableName=store.table, Item=checkpoint)


def damage_sqlite_checkpoint(store: Any) -> Callable[[], None]:
    """The checkpoint's shard made a blob of its own bytes (its read then found no row: the shard looked new)."""
    assert store.db.execute("UPDATE checkpoints SET shard = CAST(shard AS BLOB)").rowcount == 1
    return lambda: store.db.execute("UPDATE checkpoints SET shard = CAST(shard AS TEXT)")


# (case, the damage, what the ERROR line names)
DAMAGED_CHECKPOINTS = [
    ("a DynamoDB position that is not one", damage_dynamodb_checkpoint,
     r"TABLE: a damaged store: the position of the checkpoint of .*/shardId-000000000000 holds \{'S': '10:0:x'\}"),
    ("a SQLite shard that is a blob", damage_sqlite_checkpoint,
     r"slo.db: a damaged store: the shard of a checkpoint holds b'shardId-000000000000'"),
]


@pytest.mark.parametrize(("damage", "names"), [case[1:] for case in DAMAGED_CHECKPOINTS],
                         ids=[case[0] for case in DAMAGED_CHECKPOINTS])
def test_a_damaged_checkpoint_reports_every_batch_of_its_shard_for_retry_in_one_error_line_until_it_is_restored(
    monkeypatch, moto_endpoint, table, spec, lambda_context, capsys, caplog, tmp_path, damage, names
):
    """Nothing can tell what the shard applied, so nothing of a batch is applied (applying it would count again
    what the checkpoint covered): each batch is reported whole for retry, as a transient failure is, with one
    ERROR line naming the stream, the shard and the item, no traceback, and DamagedItems counted (its alarm
    tickets). It raised the CorruptItemError: a traceback beside the line, and Lambda's Errors. Restored, the
    batch applies once."""
    if damage is damage_sqlite_checkpoint:
        store: Any = SqliteStore(tmp_path / "slo.db")
        monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, spec))
    else:
        store = use_store(monkeypatch, dynamodb_client(moto_endpoint), table, spec)
    counts = lambda: api_counts(store)  # noqa: E731
    assert ingest.lambda_handler(kinesis_event([api_record(1, 10)]), lambda_context) == {"batchItemFailures": []}
    restore = damage(store)
    event = kinesis_event([api_record(1, 10), api_record(2, 11), api_record(3, 12)])  # a redelivery and two more
    for _delivery in range(2):
        capsys.readouterr()
        caplog.clear()
        response = ingest.lambda_handler(event, lambda_context)
        assert response == {"batchItemFailures": [{"itemIdentifier": str(s)} for s in (10, 11, 12)]}
        ((dimensions, counted),) = metric_values(emf_documents(capsys.readouterr().out),
                                                 conventions.METRIC_DAMAGED_ITEMS)
        assert counted == 1 and set(dimensions) == {"service"}  # DamagedItemsAlarm's dimensions
        (error,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert error.levelname == "ERROR" and error.exc_info is None  # one line: no traceback
        assert error.stream == STREAM_ARN and error.shard == "shardId-000000000000"
        assert re.search(names, error.damaged.replace(str(table), "TABLE"))
    assert counts() == (1, 1)
    restore()
    assert ingest.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    assert counts() == (3, 3)


class TimeoutAfterCommitOnce:
    """Models what moto never does: the server applies the first TransactWriteItems that advances a checkpoint,
    and its response is lost (a read timeout), so the caller cannot tell whether it landed."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.timed_out = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        response = self.client.transact_write_items(**kwargs)
        advances = any(action.get("Put", {}).get("Item", {}).get("PK", {}).get("S") == keys.PK_CHECKPOINT
                       for action in kwargs["TransactItems"])
        if advances and not self.timed_out:
            from botocore.exceptions import ReadTimeoutError

            self.timed_out = True
            raise ReadTimeoutError(endpoint_url="http://dynamodb")
        return response


def test_events_of_a_commit_whose_response_was_lost_are_counted_once_in_the_metrics(
    monkeypatch, moto_endpoint, table, spec, lambda_context, capsys
):
    import json

    store = use_store(monkeypatch, TimeoutAfterCommitOnce(dynamodb_client(moto_endpoint)), table, spec)
    event = kinesis_event([api_record(1, 10), api_record(2, 11), api_record(3, 12)])
    capsys.readouterr()
    assert ingest.lambda_handler(event, lambda_context)["batchItemFailures"], "the outcome was unknown: retried"
    assert ingest.lambda_handler(event, lambda_context) == {"batchItemFailures": []}
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    processed = [d["EventsProcessed"] for d in documents if "EventsProcessed" in d]
    assert sum(v[0] if isinstance(v, list) else v for v in processed) == 3  # not 0: the retry skips them
    assert api_counts(store) == (3, 3)


def test_unprocessed_keys_are_retried_until_read(monkeypatch, moto_endpoint, table, spec, lambda_context):
    real = dynamodb_client(moto_endpoint)

    class UnprocessedOnce:
        def __init__(self) -> None:
            self.calls = 0

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def batch_get_item(self, RequestItems: dict[str, Any]) -> Any:
            self.calls += 1
            if self.calls == 1:
                return {"Responses": {}, "UnprocessedKeys": RequestItems}
            return real.batch_get_item(RequestItems=RequestItems)

    client = UnprocessedOnce()
    store = use_store(monkeypatch, client, table, spec)
    assert ingest.lambda_handler(kinesis_event([api_record(1, 10)]), lambda_context) == {"batchItemFailures": []}
    assert client.calls >= 2
    assert api_counts(store) == (1, 1)


def test_skips_are_emitted_by_kind_as_emf(monkeypatch, moto_endpoint, table, spec, lambda_context, capsys):
    import json

    use_store(monkeypatch, dynamodb_client(moto_endpoint), table, spec)
    capsys.readouterr()
    ingest.lambda_handler(kinesis_event([api_record(1, 10), kinesis_record(b"garbage", 11)]), lambda_context)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_kind = {d["Kind"]: d["EventsSkippedByKind"] for d in documents if "EventsSkippedByKind" in d}
    assert {kind: (v[0] if isinstance(v, list) else v) for kind, v in by_kind.items()} == {"not_gzip": 1.0}
    totals = next(d for d in documents if "EventsProcessed" in d)
    assert totals["MalformedRecords"] in (1.0, [1.0])


def damage_sqlite_registry(store: Any, registry: str, hour: int) -> Callable[[], None]:
    """One admission of a group registry's hour row made text, as no commit writes it; returns how to mend it."""
    where = "sli = ? AND resolution = ? AND bucket = ? AND field = ?"
    row = (registry, conventions.RESOLUTION_HOUR, hour, keys.group_field("acme/web"))
    assert store.db.execute(f"UPDATE counters SET value = 'abc' WHERE {where}", row).rowcount == 1
    return lambda: store.db.execute(f"UPDATE counters SET value = 1 WHERE {where}", row)


def damage_dynamodb_registry(store: Any, registry: str, hour: int) -> Callable[[], None]:
    """A rolled registry item of the hour before holding an admission that is not an integer (the batch's own
    admissions are still in its pending partial, whose bad piece would be lost, not raised)."""
    key = {"PK": {"S": keys.counter_pk(registry, conventions.RESOLUTION_HOUR)},
           "SK": {"S": keys.bucket_key(hour - 3600)}}

    def admission(value: str) -> None:
        store.client.update_item(TableName=store.table, Key=key, UpdateExpression="SET #g = :v",
                                 ExpressionAttributeNames={"#g": keys.group_field("acme/web")},
                                 ExpressionAttributeValues={":v": {"N": value}})

    admission("1.5")
    return lambda: admission("1")


# (case, the damage, what the ERROR line names)
DAMAGED_REGISTRIES = [
    ("SQLite", damage_sqlite_registry,
     r"slo.db: a damaged store: the =acme/web counter of _groups!deploy-success@\w+ at \d+ holds 'abc'"),
    ("DynamoDB", damage_dynamodb_registry,
     r"TABLE: a damaged store: the =acme/web counter of _groups!deploy-success@\w+ at [\dT:-]+Z holds \{'N': '1\.5'\}"),
]


@pytest.mark.parametrize(("damage", "names"), [case[1:] for case in DAMAGED_REGISTRIES],
                         ids=[case[0] for case in DAMAGED_REGISTRIES])
def test_a_damaged_group_registry_leaves_out_only_its_slos_group_counts_and_every_batch_is_applied_once(
    monkeypatch, moto_endpoint, table, lambda_context, capsys, caplog, tmp_path, damage, names
):
    """The registry says which values a grouped SLO admitted; one that does not decode made every batch of every
    shard fail (reported whole for retry, then the DLQ: every SLO's counts of it lost). Now its SLO's events are
    counted in the SLO's whole series, every other SLI is counted, the batch is checkpointed (a redelivery changes
    nothing), and only their groups are left out: one note an event, one ERROR line a batch naming the item, no
    traceback, DamagedItems counted. Mended, the groups are counted again."""
    from tests.grouped import Deploys, grouped_spec

    spec = grouped_spec()
    if damage is damage_sqlite_registry:
        store: Any = SqliteStore(tmp_path / "slo.db")
    else:
        store = DynamoDBStore(dynamodb_client(moto_endpoint), table)
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, spec))
    deploys = Deploys(minutes=3)  # acme/web, acme/api and acme/docs deploy twice a minute
    deploy, api = spec.slo("deploy-success"), spec.slo("api-availability").series()
    registry = keys.group_registry_series(deploy.series())

    def delivery(minute: int) -> dict[str, Any]:
        lines = [*deploys.lines(minute), log_line("api_request", T0 + minute * 60 + 50, cid(900 + minute), "Api",
                                                   status=200 if minute else 503, duration=12.5)]
        return kinesis_event([kinesis_record(gz(cw_payload(lines)), 1000 + minute)])

    def counts(name: str) -> tuple[int, int]:
        found = store.window_counts(name, int(T0) - 3600, int(T0) + 3600)
        return found.good, found.total

    def groups() -> dict[str, int]:
        return {repository: counts(deploy.series(repository))[1] for repository in deploys.repositories}

    assert ingest.lambda_handler(delivery(0), lambda_context) == {"batchItemFailures": []}
    mend = damage(store, registry, int(T0))
    for _delivery in range(2):  # the batch, and a redelivery of it
        capsys.readouterr()
        caplog.clear()
        assert ingest.lambda_handler(delivery(1), lambda_context) == {"batchItemFailures": []}
        damaged = [(set(dimensions), counted) for dimensions, counted in
                   metric_values(emf_documents(capsys.readouterr().out), conventions.METRIC_DAMAGED_ITEMS)]
        errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
        if _delivery == 0:
            assert damaged == [({"service"}, 1)]  # DamagedItemsAlarm's dimensions
            (error,) = errors
            assert error.levelname == "ERROR" and error.exc_info is None  # one line, not one an event: no traceback
            assert error.stream == STREAM_ARN and error.shard == "shardId-000000000000"
            assert error.count == 1 and error.events == 6  # the six deploys of minute 1 are counted without a group
            (named,) = error.damaged
            assert re.search(names, named.replace(str(table), "TABLE"))
        else:  # applied once: the redelivery is skipped by the checkpoint and reads no registry
            assert damaged == [] and errors == []
    assert counts(deploy.series()) == (12, 12)  # the whole SLO counts every deploy of both minutes, once
    assert counts(api) == (1, 2)  # every other SLO too
    assert groups() == {"acme/web": 2, "acme/api": 2, "acme/docs": 2}  # minute 1's groups are left out
    mend()
    caplog.clear()
    assert ingest.lambda_handler(delivery(2), lambda_context) == {"batchItemFailures": []}
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert counts(deploy.series()) == (18, 18)
    assert groups() == {"acme/web": 4, "acme/api": 4, "acme/docs": 4}
