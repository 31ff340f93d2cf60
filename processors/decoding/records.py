"""Decode one Lambda Kinesis record: KPL de-aggregation, gzip CloudWatch Logs payload, structured messages.

Bad input never raises: each problem is counted by kind in `DecodedRecord.skips` and the rest proceeds.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

import aws_kinesis_agg
from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from aws_lambda_powertools.utilities.data_classes.cloud_watch_logs_event import CloudWatchLogsDecodedData
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from processors import conventions
from processors.decoding.structured import parse_structured_log
from processors.decoding.types import DecodedRecord, Position

GZIP_MAGIC = b"\x1f\x8b"
_VOCABULARY = frozenset(conventions.VOCABULARY)


def shard_of(record: KinesisStreamRecord) -> str:
    """shardId-000000000000 from eventID `shardId-000000000000:4959...`."""
    event_id = record.get("eventID") or ""
    return event_id.split(":", 1)[0] if ":" in event_id else "shardId-unknown"


def stream_of(record: KinesisStreamRecord) -> str:
    return str(record.get("eventSourceARN") or "unknown-stream")


def sequence_of(record: KinesisStreamRecord) -> int | None:
    try:
        return int(record.kinesis.sequence_number)
    except (KeyError, TypeError, ValueError):
        return None


def decode_record(raw_record: dict[str, Any]) -> DecodedRecord:
    record = KinesisStreamRecord(raw_record)
    sequence = sequence_of(record)
    arrival = _arrival(record)
    decoded = DecodedRecord(sequence=sequence if sequence is not None else -1, arrival=arrival)
    if sequence is None:
        decoded.skips[conventions.SKIP_PAYLOAD_SHAPE] += 1
        return decoded
    try:
        data = base64.b64decode(record.kinesis.data, validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        decoded.skips[conventions.SKIP_NOT_BASE64] += 1
        return decoded
    if data.startswith(aws_kinesis_agg.MAGIC):
        user_records = _deaggregate(raw_record)
        if user_records is None:
            decoded.skips[conventions.SKIP_KPL_BAD_DIGEST] += 1
            return decoded
        for sub_sequence, payload in user_records:
            decode_payload(payload, sequence, sub_sequence, decoded)
    else:
        decode_payload(data, sequence, 0, decoded)
    return decoded


def _arrival(record: KinesisStreamRecord) -> float | None:
    try:
        return record.kinesis.approximate_arrival_timestamp
    except (KeyError, TypeError, ValueError):
        return None


def _deaggregate(raw_record: dict[str, Any]) -> list[tuple[int, bytes]] | None:
    """KPL user records as (sub-sequence, bytes); None when the digest or protobuf is bad."""
    user_records = list(iter_deaggregate_records([raw_record]))
    if not user_records or not all(r["kinesis"].get("aggregated") for r in user_records):
        return None
    return [(int(r["kinesis"]["subSequenceNumber"]), base64.b64decode(r["kinesis"]["data"])) for r in user_records]


def decode_payload(data: bytes, sequence: int, sub_sequence: int, into: DecodedRecord, log_group: str = "") -> None:
    """A CloudWatch Logs subscription payload (gzip JSON, or plain JSON) into `into`."""
    if data.startswith(GZIP_MAGIC):
        try:
            data = zlib.decompress(data, zlib.MAX_WBITS | 32)
        except zlib.error:
            into.skips[conventions.SKIP_TRUNCATED_GZIP] += 1
            return
    elif not data.lstrip().startswith(b"{"):
        into.skips[conventions.SKIP_NOT_GZIP] += 1
        return
    try:
        payload = CloudWatchLogsDecodedData(json.loads(data))
    except (ValueError, RecursionError):
        into.skips[conventions.SKIP_PAYLOAD_NOT_JSON] += 1
        return
    try:
        message_type = payload.message_type
        if message_type == "CONTROL_MESSAGE":
            into.skips[conventions.SKIP_CONTROL_MESSAGE] += 1
            return
        log_group = payload.log_group
        log_events = payload["logEvents"]
        if message_type != "DATA_MESSAGE" or not isinstance(log_events, list):
            raise TypeError(message_type)
    except (KeyError, TypeError, AttributeError):
        into.skips[conventions.SKIP_PAYLOAD_SHAPE] += 1
        return
    for index, log_event in enumerate(log_events):
        into.log_events_seen += 1
        if not isinstance(log_event, dict):
            into.skips[conventions.SKIP_PAYLOAD_SHAPE] += 1
            continue
        result = parse_structured_log(
            log_event.get("message", ""),
            log_event.get("timestamp"),
            Position(sequence, sub_sequence, index),
            log_group,
        )
        if isinstance(result, str):
            into.skips[result] += 1
            uncorrelated = result in (conventions.SKIP_NO_CORRELATION_ID, conventions.SKIP_BAD_CORRELATION_ID)
            if uncorrelated and _is_vocabulary(log_event.get("message", "")):
                stamp = log_event.get("timestamp")
                if isinstance(stamp, int | float) and not isinstance(stamp, bool):
                    into.uncorrelated_times.append(stamp / 1000.0)
        else:
            into.events.append(result)


def _is_vocabulary(message: str) -> bool:
    try:
        action = json.loads(message)["metadata"]["action"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(action, str) and action in _VOCABULARY
