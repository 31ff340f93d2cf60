"""Decoding: Lambda Kinesis records (KPL-aggregated or not) → CloudWatch Logs payloads → structured logs."""

from processors.decoding.records import (
    decode_message,
    decode_payload,
    decode_record,
    inflate,
    sequence_of,
    shard_of,
    stream_of,
)
from processors.decoding.structured import is_correlation_id, parse_structured_log
from processors.decoding.types import DEFAULT_LIMITS, DecodedRecord, DecodeLimits, LogEvent, Position

__all__ = [
    "DEFAULT_LIMITS",
    "DecodeLimits",
    "DecodedRecord",
    "LogEvent",
    "Position",
    "decode_message",
    "decode_payload",
    "decode_record",
    "inflate",
    "is_correlation_id",
    "parse_structured_log",
    "sequence_of",
    "shard_of",
    "stream_of",
]
