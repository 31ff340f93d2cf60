"""Hostile input through the real ingest handler, over DynamoDB (moto's server) and SQLite.

For every category of issue #12 the batch is [good neighbour, hostile record, good neighbour]. Each case
asserts: the batch completes (no batch item failures), the hostile record is a counted skip of the right
kind (the EventsSkippedByKind EMF the handler prints), and both neighbours are counted in the store.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import math
import os
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from processors.handlers import ingest
from processors.ingest import Ingestor
from processors.stitching import stitch
from processors.store import DynamoDBStore, SqliteStore
from tests import runner_platform as conventions
from tests.builders import (
    T0,
    cid,
    cw_payload,
    gz,
    kinesis_event,
    kinesis_record,
    kpl_aggregate,
    kpl_record,
    log_line,
    series,
)
from tests.unit.test_decode_bounds import gzip_bomb

GOOD_STATUS = 200
HOSTILE_CID = cid(666)


def api_line(n: int, correlation_id: str | None = None, **metadata: Any) -> str:
    return log_line("api_request", T0 + n, correlation_id or cid(n), "Api", status=GOOD_STATUS, **metadata)


def neighbour(sequence: int) -> dict[str, Any]:
    return kinesis_record(gz(cw_payload([api_line(sequence)])), sequence)


def with_data(data: bytes) -> dict[str, Any]:
    return kinesis_record(data, 2)


def cloudwatch_time(stamp_ms: float) -> dict[str, Any]:
    """A line without its own timestamp: the CloudWatch event's (hostile) timestamp is its time."""
    line = json.dumps({"correlationId": cid(2), "service": "Api", "metadata": {"action": "api_request", "status": 200}})
    payload = cw_payload([line])
    payload["logEvents"][0]["timestamp"] = stamp_ms
    return with_data(json.dumps(payload).encode())


def iso_time(text: str) -> dict[str, Any]:
    line = json.loads(api_line(2))
    line["timestamp"] = text
    return with_data(gz(cw_payload([json.dumps(line)])))


def bad_digest() -> dict[str, Any]:
    record = kpl_record([gz(cw_payload([api_line(2)]))], 2)
    data = bytearray(base64.b64decode(record["kinesis"]["data"]))
    data[-1] ^= 0xFF
    record["kinesis"]["data"] = base64.b64encode(bytes(data)).decode()
    return record


HOSTILE: list[tuple[str, Callable[[], dict[str, Any]], str]] = [
    ("a gzip bomb inflating to 64 MiB", lambda: with_data(gzip_bomb(64 << 20)), conventions.SKIP_PAYLOAD_TOO_LARGE),
    ("a payload of 10,001 log events", lambda: with_data(gz(cw_payload(["x"] * 10_001))),
     conventions.SKIP_PAYLOAD_TOO_LARGE),
    ("a 300 KiB message", lambda: with_data(gz(cw_payload([api_line(2, pad="z" * 300_000)]))),
     conventions.SKIP_MESSAGE_TOO_LARGE),
    ("a NaN CloudWatch timestamp", lambda: cloudwatch_time(math.nan), conventions.SKIP_BAD_TIMESTAMP),
    ("an infinite CloudWatch timestamp", lambda: cloudwatch_time(math.inf), conventions.SKIP_BAD_TIMESTAMP),
    ("a CloudWatch timestamp of 1e30", lambda: cloudwatch_time(1e30), conventions.SKIP_BAD_TIMESTAMP),
    ("a log timestamp in year 9999", lambda: iso_time("9999-12-31T23:59:59Z"), conventions.SKIP_BAD_TIMESTAMP),
    ("a log timestamp 60 days old", lambda: iso_time("2026-08-02T00:00:00Z"), conventions.SKIP_BAD_TIMESTAMP),
    ("data that is not base64", lambda: {**with_data(b""), "kinesis": {**with_data(b"")["kinesis"],
                                                                      "data": "%%%"}},
     conventions.SKIP_NOT_BASE64),
    ("bytes that are neither gzip nor JSON", lambda: with_data(b"\x00\x01binary"), conventions.SKIP_NOT_GZIP),
    ("a truncated gzip stream", lambda: with_data(gz(cw_payload([api_line(2)]))[:-12]),
     conventions.SKIP_TRUNCATED_GZIP),
    ("gzip of text that is not JSON", lambda: with_data(gzip.compress(b"{nope")),
     conventions.SKIP_PAYLOAD_NOT_JSON),
    ("a payload without logEvents", lambda: with_data(gz({"messageType": "DATA_MESSAGE", "logGroup": "g"})),
     conventions.SKIP_PAYLOAD_SHAPE),
    ("JSON nested 100,000 deep", lambda: with_data(b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
     conventions.SKIP_PAYLOAD_NOT_JSON),
    ("a KPL aggregate with a bad digest", bad_digest, conventions.SKIP_KPL_BAD_DIGEST),
    ("a KPL aggregate whose second user record names a partition key it lacks",
     lambda: kpl_aggregate([gz(cw_payload([api_line(2)]))] * 2, 2, partition_key_indexes=[0, 7]),
     conventions.SKIP_KPL_BAD_DIGEST),
    ("a record without a sequence number",
     lambda: {**neighbour(2), "kinesis": {**neighbour(2)["kinesis"], "sequenceNumber": "x"}},
     conventions.SKIP_NO_SEQUENCE),
]


@pytest.fixture(autouse=True)
def clock_at_the_sample_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "clock", lambda: T0 + 12 * 3600)


def run(store: Any, spec: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        hostile: dict[str, Any], lambda_context: Any) -> tuple[dict[str, Any], dict[str, float]]:
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, spec))
    capsys.readouterr()
    response = ingest.lambda_handler(kinesis_event([neighbour(1), hostile, neighbour(3)]), lambda_context)
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    by_kind = {d["Kind"]: d["EventsSkippedByKind"] for d in documents if "EventsSkippedByKind" in d}
    return response, {kind: (v[0] if isinstance(v, list) else v) for kind, v in by_kind.items()}


def api_counts(store: Any) -> tuple[int, int]:
    counts = store.window_counts(series(conventions.API_AVAILABILITY), int(T0) - 3600, int(T0) + 3600)
    return counts.good, counts.total


@pytest.mark.parametrize(("case", "make", "kind"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_a_hostile_record_is_a_counted_skip_and_both_neighbours_count(store, spec, monkeypatch, capsys,
                                                                      lambda_context, case, make, kind) -> None:
    response, skipped = run(store, spec, monkeypatch, capsys, make(), lambda_context)
    assert response == {"batchItemFailures": []}
    assert skipped.get(kind) == 1.0, skipped
    assert api_counts(store) == (2, 2)


def test_incompressible_metadata_truncates_the_trace_head_instead_of_failing_its_commit(
    store, spec, monkeypatch, capsys, lambda_context
) -> None:
    """Before #12 the head passed DynamoDB's 400 KB item limit: ValidationException failed the whole batch."""
    lines = [api_line(2, HOSTILE_CID, error={f"k{i}": os.urandom(200).hex() for i in range(40)}, path="/x" * 300)]
    lines += [log_line("api_request", T0 + 2 + i, HOSTILE_CID, "Api", status=200, reason=os.urandom(240).hex())
              for i in range(1, 400)]
    hostile = kinesis_record(gz(cw_payload(lines)), 2)
    response, skipped = run(store, spec, monkeypatch, capsys, hostile, lambda_context)
    assert response == {"batchItemFailures": []} and skipped == {}
    assert api_counts(store) == (402, 402)  # every event counts; only the stored trace is capped
    head = store.trace(HOSTILE_CID)
    assert head.truncated
    assert len(json.dumps(head.to_json())) < 80 * 1024
    assert head.events[0].metadata.get("_truncated") is True


class RefusesOneItem:
    """A thin wrapper over the real DynamoDB client: TransactWriteItems holding the hostile trace is refused
    with ValidationException, as DynamoDB refuses an item over 400 KB (moto's server does too, but the caps
    now keep real heads far below it, so the refusal is modelled here)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if HOSTILE_CID in json.dumps(kwargs, default=str):
            self.refused += 1
            raise ClientError({"Error": {"Code": "ValidationException",
                                         "Message": "Item size has exceeded the maximum allowed size"}},
                              "TransactWriteItems")
        return self.client.transact_write_items(**kwargs)


def test_a_store_that_refuses_one_item_for_good_skips_that_event_as_processing_error(
    dynamodb_store, spec, monkeypatch, capsys, lambda_context
) -> None:
    refusing = RefusesOneItem(dynamodb_store.client)
    store = DynamoDBStore(refusing, dynamodb_store.table)
    hostile = kinesis_record(gz(cw_payload([api_line(20), api_line(21, HOSTILE_CID), api_line(22)])), 2)
    response, skipped = run(store, spec, monkeypatch, capsys, hostile, lambda_context)
    assert response == {"batchItemFailures": []}
    assert skipped == {conventions.SKIP_PROCESSING_ERROR: 1.0}
    assert refusing.refused >= 2  # the whole chunk, then the event alone
    assert api_counts(store) == (4, 4)  # both neighbours and the hostile record's two other events
    assert store.trace(HOSTILE_CID) is None


def test_an_event_whose_stored_digest_does_not_decode_is_a_processing_error_skip_that_never_blocks_the_shard(
    sqlite_store, spec, monkeypatch, capsys, lambda_context
) -> None:
    """A hand-edited SQLite store: the api-latency digest of the minute is not a t-digest."""
    timed = kinesis_record(gz(cw_payload([api_line(2, duration=12)])), 2)
    run(sqlite_store, spec, monkeypatch, capsys, timed, lambda_context)
    sqlite_store.close()
    with contextlib.closing(sqlite3.connect(sqlite_store.path)) as db:
        assert db.execute("UPDATE digests SET data = x'deadbeef'").rowcount > 0
        db.commit()
    reopened = SqliteStore(sqlite_store.path)  # not the writer's cache of its digests: the stored bytes
    hostile = kinesis_record(gz(cw_payload([api_line(20, duration=12)])), 4)
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(reopened, spec))
    capsys.readouterr()
    response = ingest.lambda_handler(kinesis_event([hostile]), lambda_context)
    assert response == {"batchItemFailures": []}
    assert '"Kind":"processing_error"' in capsys.readouterr().out


def test_an_exception_on_one_event_skips_it_as_processing_error_and_a_redelivery_changes_nothing(
    store, spec, monkeypatch, capsys, lambda_context
) -> None:
    """Models a bug the stitcher hits on one event: the batch completes, the event is a counted skip."""
    real_apply = stitch.Stitcher.apply

    def buggy(self: Any, head: Any, event: Any, stream: str, shard: str) -> Any:
        if event.correlation_id == HOSTILE_CID:
            raise KeyError("a bug that only this event reaches")
        return real_apply(self, head, event, stream, shard)

    monkeypatch.setattr(stitch.Stitcher, "apply", buggy)
    hostile = kinesis_record(gz(cw_payload([api_line(20), api_line(21, HOSTILE_CID), api_line(22)])), 2)
    response, skipped = run(store, spec, monkeypatch, capsys, hostile, lambda_context)
    assert response == {"batchItemFailures": []}
    assert skipped == {conventions.SKIP_PROCESSING_ERROR: 1.0}
    assert api_counts(store) == (4, 4)
    response, _ = run(store, spec, monkeypatch, capsys, hostile, lambda_context)  # Lambda redelivers it
    assert response == {"batchItemFailures": []} and api_counts(store) == (4, 4)


def test_a_record_the_decoder_raises_on_is_a_processing_error_skip(store, spec, monkeypatch, capsys,
                                                                  lambda_context) -> None:
    """Models a decoder bug on one record: it is skipped at its position, the shard moves on."""
    real_decode = ingest.decode_record

    def buggy(raw: dict[str, Any], *args: Any) -> Any:
        if raw["kinesis"]["sequenceNumber"] == "2":
            raise RecursionError("a bug that only this record reaches")
        return real_decode(raw, *args)

    monkeypatch.setattr(ingest, "decode_record", buggy)
    response, skipped = run(store, spec, monkeypatch, capsys, neighbour(2), lambda_context)
    assert response == {"batchItemFailures": []}
    assert skipped == {conventions.SKIP_PROCESSING_ERROR: 1.0}
    assert api_counts(store) == (2, 2)


def test_a_record_without_a_sequence_number_is_counted_once_across_redeliveries(store, spec, monkeypatch, capsys,
                                                                                lambda_context) -> None:
    hostile = {**neighbour(2), "kinesis": {**neighbour(2)["kinesis"], "sequenceNumber": "x"}}
    counted = [run(store, spec, monkeypatch, capsys, hostile, lambda_context)[1] for _ in range(3)]
    assert [c.get(conventions.SKIP_NO_SEQUENCE, 0) for c in counted] == [1.0, 0, 0]


@pytest.mark.parametrize("field", ["workflowId", "repository"])
def test_a_lone_surrogate_where_the_store_keeps_text_skips_its_event_as_processing_error(
    store, spec, monkeypatch, capsys, lambda_context, field: str
) -> None:
    """JSON may escape a lone surrogate (`"\\ud800"`), which json.loads keeps and neither SQLite nor boto3 can
    encode: the commit raised UnicodeEncodeError, which failed the whole batch, and Lambda retried it forever."""
    lines = [api_line(20), api_line(21, HOSTILE_CID, **{field: "\ud800"}), api_line(22)]
    hostile = kinesis_record(gz(cw_payload(lines)), 2)
    response, skipped = run(store, spec, monkeypatch, capsys, hostile, lambda_context)
    assert response == {"batchItemFailures": []}
    assert skipped == {conventions.SKIP_PROCESSING_ERROR: 1.0}
    assert api_counts(store) == (4, 4)


FIELD_CAP = 256  # an event's service, action and level are kept as a trace's workflowId and repository are


def with_field(line: str, field: str, value: str) -> str:
    document = json.loads(line)
    if field == "action":
        document["metadata"]["action"] = value
    else:
        document[field] = value
    return json.dumps(document)


@pytest.mark.parametrize(("field", "kept"), [("service", "S" * FIELD_CAP), ("action", "a" * FIELD_CAP),
                                             ("level", "W" * FIELD_CAP)])
def test_a_sixty_kilobyte_service_action_or_level_is_stored_cut_to_its_cap_and_the_trace_is_not_truncated(
    sqlite_store, spec, monkeypatch, capsys, lambda_context, field: str, kept: str
) -> None:
    """Before, only the trace head's 64 KB cap bounded them: one 60 KB `service` filled a head by itself."""
    hostile_line = with_field(api_line(21, HOSTILE_CID), field, kept[0].lower() * 60_000 if field == "level"
                              else kept[0] * 60_000)
    lines = [api_line(20), hostile_line, api_line(22, HOSTILE_CID)]
    response, skipped = run(sqlite_store, spec, monkeypatch, capsys, kinesis_record(gz(cw_payload(lines)), 2),
                            lambda_context)
    assert response == {"batchItemFailures": []} and skipped == {}
    head = sqlite_store.trace(HOSTILE_CID)
    assert head is not None and not head.truncated and len(head.events) == 2
    stored = next(event for event in head.events if event.time_ms == round((T0 + 21) * 1000))
    assert getattr(stored, field) == kept
    (document,) = sqlite_store.db.execute("SELECT doc FROM traces WHERE correlation_id = ?", (HOSTILE_CID,)).fetchone()
    assert len(document) < 2048
