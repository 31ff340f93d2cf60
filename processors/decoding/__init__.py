"""Decoding: Lambda Kinesis records (KPL-aggregated or not) → CloudWatch Logs payloads → log lines → events.

A line is mapped onto the internal event by the spec's log format (formats.py).
"""

from processors.decoding.formats import DEFAULT_PARSER, LineParser, parse_log_time, parser_for
from processors.decoding.records import (
    decode_log_events,
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
    "DEFAULT_PARSER",
    "DecodeLimits",
    "DecodedRecord",
    "LineParser",
    "LogEvent",
    "Position",
    "decode_log_events",
    "decode_message",
    "decode_payload",
    "decode_record",
    "inflate",
    "is_correlation_id",
    "parse_log_time",
    "parse_structured_log",
    "parser_for",
    "sequence_of",
    "shard_of",
    "stream_of",
]
