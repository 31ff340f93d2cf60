"""Builders for test inputs: structured logs, CloudWatch payloads, Lambda Kinesis records (plain and KPL)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aws_kinesis_agg
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import messages_pb2

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/test"
T0 = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
# API Gateway requests for the trace API live with the stack (sam local invoke -e), where `slo replay events/`
# does not read them.
API_EVENTS_DIR = EVENTS_DIR.parent / "sam" / "events"


def cid(n: int) -> str:
    return str(uuid.UUID(int=n + 1, version=4))


def iso(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def log_line(action: str, at: float, correlation_id: str | None, service: str = "Runner", **metadata: Any) -> str:
    line: dict[str, Any] = {"timestamp": iso(at), "level": "INFO", "service": service, "message": action}
    if correlation_id is not None:
        line["correlationId"] = correlation_id
    line["metadata"] = {"action": action, **metadata}
    return json.dumps(line)


def cw_payload(messages: list[str], *, group: str = "/aws/lambda/svc", stream: str = "s", t_ms: int | None = None,
               message_type: str = "DATA_MESSAGE") -> dict[str, Any]:
    base = t_ms if t_ms is not None else int(T0 * 1000)
    return {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["slo"],
        "logEvents": [{"id": str(i), "timestamp": base + i, "message": m} for i, m in enumerate(messages)],
    }


def gz(document: Any) -> bytes:
    return gzip.compress(json.dumps(document).encode(), mtime=0)


def kinesis_record(data: bytes, sequence: int, *, shard: str = "shardId-000000000000", arrival: float = T0,
                   stream_arn: str = STREAM_ARN) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "pk",
            "sequenceNumber": str(sequence),
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/x",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream_arn,
    }


def kpl_record(payloads: list[bytes], sequence: int, **kwargs: Any) -> dict[str, Any]:
    """One KPL-aggregated Kinesis record holding `payloads` as user records."""
    aggregator = RecordAggregator()
    for index, payload in enumerate(payloads):
        assert aggregator.add_user_record(f"pk-{index}", payload) is None
    _partition_key, _hash_key, data = aggregator.clear_and_get().get_contents()
    return kinesis_record(data, sequence, **kwargs)


def kpl_aggregate(payloads: list[bytes], sequence: int, *, partition_key_indexes: list[int] | None = None,
                  body: bytes | None = None) -> dict[str, Any]:
    """A KPL record with a good digest, as a broken producer could write one: `payloads` as user records against a
    table of one partition key, each naming the key at its `partition_key_indexes` entry (0: the key), or `body`
    as the whole aggregate."""
    if body is None:
        aggregate = messages_pb2.AggregatedRecord()
        aggregate.partition_key_table.append("pk")
        for index, payload in zip(partition_key_indexes or [0] * len(payloads), payloads, strict=True):
            aggregate.records.add(partition_key_index=index, data=payload)
        body = aggregate.SerializeToString()
    return kinesis_record(aws_kinesis_agg.MAGIC + body + hashlib.md5(body).digest(), sequence)


def kinesis_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, or an API Gateway request from sam/events/ (one loader)."""
    path = EVENTS_DIR / name
    return json.loads((path if path.exists() else API_EVENTS_DIR / name).read_text())


def _shipped_journey() -> Any:
    from importlib import resources

    from processors.spec import load_spec

    return load_spec(str(resources.files("processors").joinpath("slos.yaml"))).journey


SPEC_JOURNEY = _shipped_journey()  # the shipped spec's journey (the runner platform)


def series(name: str, spec: Any = None) -> str:
    """The stored counter series of an SLO or built-in counter (name@revision) in `spec`, the shipped one by default."""
    from processors.spec import load_spec

    return (spec or load_spec()).series_of(name)


def sketch_series(name: str, spec: Any = None) -> str:
    """The stored digest series of a latency sketch in `spec`, the shipped one by default."""
    from processors.spec import load_spec

    return (spec or load_spec()).sketch_series(name)
