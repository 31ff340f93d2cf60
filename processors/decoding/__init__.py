"""Decoding: Lambda Kinesis records (KPL-aggregated or not) → CloudWatch Logs payloads → structured logs."""

from processors.decoding.records import decode_payload, decode_record, sequence_of, shard_of, stream_of
from processors.decoding.structured import is_correlation_id, parse_structured_log
from processors.decoding.types import DecodedRecord, LogEvent, Position

__all__ = [
    "DecodedRecord",
    "LogEvent",
    "Position",
    "decode_payload",
    "decode_record",
    "is_correlation_id",
    "parse_structured_log",
    "sequence_of",
    "shard_of",
    "stream_of",
]
