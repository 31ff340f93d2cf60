"""Decode one Lambda Kinesis record: KPL de-aggregation, gzip CloudWatch Logs payload, structured messages.

Bad input never raises: each problem is counted by kind in `DecodedRecord.skips` and the rest proceeds.
Decoding is bounded (DecodeLimits): a payload inflates to at most 8 MiB by default and holds at most
CloudWatch's 10,000 log events, a message at most 256 KiB, and an event time must be believable.
"""

from __future__ import annotations

import binascii
import hashlib
import math
import zlib
from typing import Any

import aws_kinesis_agg
from aws_kinesis_agg.deaggregator import messages_pb2  # through the deaggregator: it puts config_pb2 on the path
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from google.protobuf.message import DecodeError

from processors import conventions
from processors.decoding.formats import DEFAULT_PARSER, LineParser, loads_envelope
from processors.decoding.types import DEFAULT_LIMITS, DecodedRecord, DecodeLimits, LogEvent, Position
from processors.timeutil import finite_seconds

GZIP_MAGIC = b"\x1f\x8b"


def shard_of(record: KinesisStreamRecord) -> str:
    """shardId-000000000000 from eventID `shardId-000000000000:4959...`."""
    event_id = record.get("eventID")
    return event_id.split(":", 1)[0] if isinstance(event_id, str) and ":" in event_id else "shardId-unknown"


def stream_of(record: KinesisStreamRecord) -> str:
    return str(record.get("eventSourceARN") or "unknown-stream")


def sequence_of(record: KinesisStreamRecord) -> int | None:
    try:
        return _sequence(record.kinesis.sequence_number)
    except (KeyError, TypeError, ValueError):
        return None


def decode_record(
    raw_record: dict[str, Any], limits: DecodeLimits = DEFAULT_LIMITS, parser: LineParser = DEFAULT_PARSER
) -> DecodedRecord:
    """`limits.now` judges event times (the Lambda's clock); None judges them by the record's arrival.
    `parser` is the spec's log format (decoding/formats.py).

    The hot path reads the record's dict directly (the handler's BatchProcessor still wraps it): the
    fields KinesisStreamRecord's properties read, without a wrapper object per record.
    """
    kinesis = raw_record.get("kinesis") if isinstance(raw_record, dict) else None
    if not isinstance(kinesis, dict):
        kinesis = {}
    sequence = _sequence(kinesis.get("sequenceNumber"))
    arrival = kinesis.get("approximateArrivalTimestamp")
    if type(arrival) is not float or not math.isfinite(arrival):  # a float: the usual arrival, taken as it is
        arrival = finite_seconds(arrival)
    now = limits.now if limits.now is not None else arrival
    decoded = DecodedRecord(sequence if sequence is not None else -1, arrival)
    if sequence is None:
        decoded.skips[conventions.SKIP_NO_SEQUENCE] += 1
        return decoded
    try:  # base64.b64decode(validate=True) without its Python wrapper (a2b_base64 takes ASCII str too)
        data = binascii.a2b_base64(kinesis["data"], strict_mode=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        decoded.skips[conventions.SKIP_NOT_BASE64] += 1
        return decoded
    if data.startswith(aws_kinesis_agg.MAGIC):
        user_records = _deaggregate(data)
        if user_records is None:
            decoded.skips[conventions.SKIP_KPL_BAD_DIGEST] += 1
            return decoded
        max_inflated, max_events = limits.aggregate_bounds(len(data))
        low, high = limits.bounds(now)
        for sub_sequence, payload in user_records:
            if decoded.inflated_bytes >= max_inflated or decoded.log_events_seen >= max_events:
                decoded.skips[conventions.SKIP_PAYLOAD_TOO_LARGE] += 1  # past the aggregate's shared bounds
                continue
            _decode_payload(payload, sequence, sub_sequence, decoded, limits, parser, low, high)
    else:
        _decode_payload(data, sequence, 0, decoded, limits, parser, *limits.bounds(now))
    return decoded


_SEQUENCE_LIMIT = 10**conventions.MAX_SEQUENCE_DIGITS


def _sequence(value: Any) -> int | None:
    """Kinesis' sequence number: decimal digits without leading zeros (its API's pattern), of at most the
    MAX_SEQUENCE_DIGITS the store's keys sort by (real ones have 56), or such a non-negative int; anything else
    (a sign, spaces, `1_000`, other scripts' digits, a float or bool) is no sequence."""
    if type(value) is int:
        return value if 0 <= value < _SEQUENCE_LIMIT else None
    # bytes.isdigit, once isascii holds: str.isdigit looks each character up in the Unicode tables
    shaped = (type(value) is str and 0 < len(value) <= conventions.MAX_SEQUENCE_DIGITS and value.isascii()
              and value.encode().isdigit())
    return int(value) if shaped and (value[0] != "0" or value == "0") else None


def _arrival(record: KinesisStreamRecord) -> float | None:
    try:
        arrival = record.kinesis.approximate_arrival_timestamp
    except (KeyError, TypeError, ValueError):
        return None
    return finite_seconds(arrival)


def _deaggregate(data: bytes) -> list[tuple[int, bytes]] | None:
    """KPL user records as (sub-sequence, bytes) of an aggregate (magic, protobuf, MD5 of the protobuf); None when
    the digest or the protobuf is bad, it holds no user record, or one names a key its tables lack. Read here with
    the library's message class, not its iterator: on a bad key index that printed the whole aggregate (the logs
    in it, unredacted) to stderr and yielded the user records before it as if they were all."""
    body, digest = data[len(aws_kinesis_agg.MAGIC):-aws_kinesis_agg.DIGEST_SIZE], data[-aws_kinesis_agg.DIGEST_SIZE:]
    if len(data) <= len(aws_kinesis_agg.MAGIC) + aws_kinesis_agg.DIGEST_SIZE or hashlib.md5(body).digest() != digest:
        return None
    aggregate = messages_pb2.AggregatedRecord()
    try:
        aggregate.ParseFromString(body)
    except DecodeError:
        return None
    keys, hash_keys = len(aggregate.partition_key_table), len(aggregate.explicit_hash_key_table)
    for record in aggregate.records:
        if record.partition_key_index >= keys or (hash_keys and record.explicit_hash_key_index >= hash_keys):
            return None
    return [(sub_sequence, record.data) for sub_sequence, record in enumerate(aggregate.records)] or None


def inflate(data: bytes, max_length: int) -> bytes | str:
    """The gunzipped bytes, or the skip kind: a streaming decompressor never holds more than `max_length`."""
    return _inflate(data, max_length)[0]


_INFLATE_STEP = 1 << 20


def _inflate(data: bytes, max_length: int) -> tuple[bytes | str, int]:
    """inflate's answer and how many bytes it inflated to reach it, a failed stream's too (its trailer cut off, a
    wrong CRC: found only at its end): an aggregate's user records share a bound on that work. Inflated a MiB at
    a time, so a stream that fails has counted what it inflated before."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    if max_length > 0:  # the usual payload ends within the first step: the loop below without its bookkeeping
        try:
            first = inflater.decompress(data, max_length if max_length < _INFLATE_STEP else _INFLATE_STEP)
        except zlib.error:
            return conventions.SKIP_TRUNCATED_GZIP, 0
        if inflater.eof:
            return first, len(first)
        parts, size, pending = [first], len(first), inflater.unconsumed_tail
        if not first and not pending:
            return conventions.SKIP_TRUNCATED_GZIP, 0
    else:
        parts, size, pending = [], 0, data
    try:
        while not inflater.eof and size < max_length:
            part = inflater.decompress(pending, min(max_length - size, _INFLATE_STEP))
            parts.append(part)
            size += len(part)
            pending = inflater.unconsumed_tail
            if not part and not pending:
                break  # the input is used up before the stream's end
    except zlib.error:
        return conventions.SKIP_TRUNCATED_GZIP, size
    if inflater.eof:
        return b"".join(parts), size
    if size >= max_length:
        return conventions.SKIP_PAYLOAD_TOO_LARGE, size
    return conventions.SKIP_TRUNCATED_GZIP, size


def decode_payload(
    data: bytes,
    sequence: int,
    sub_sequence: int,
    into: DecodedRecord,
    log_group: str = "",
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
    now: float | None = None,
    parser: LineParser = DEFAULT_PARSER,
) -> None:
    """A CloudWatch Logs subscription payload (gzip JSON, or plain JSON) into `into`.

    `now` judges event times (DecodeLimits.believable); beyond a size cap the payload is one counted skip.
    """
    _decode_payload(data, sequence, sub_sequence, into, limits, parser, *limits.bounds(now))


def _decode_payload(
    data: bytes, sequence: int, sub_sequence: int, into: DecodedRecord, limits: DecodeLimits, parser: LineParser,
    low: float, high: float,
) -> None:
    """decode_payload with the believable times unpacked (DecodeLimits.bounds), called by position: a record's
    payloads take them once."""
    if data.startswith(GZIP_MAGIC):
        inflated, size = _inflate(data, limits.max_payload_bytes)
        into.inflated_bytes += size  # a stream that fails counts what it inflated too
        if isinstance(inflated, str):
            into.skips[inflated] += 1
            return
        data = inflated
    elif not data.lstrip().startswith(b"{"):
        into.skips[conventions.SKIP_NOT_GZIP] += 1
        return
    elif len(data) > limits.max_payload_bytes:
        into.skips[conventions.SKIP_PAYLOAD_TOO_LARGE] += 1
        return
    try:
        payload = loads_envelope(data)
    except (ValueError, RecursionError):
        into.skips[conventions.SKIP_PAYLOAD_NOT_JSON] += 1
        return
    try:  # the fields CloudWatchLogsDecodedData's properties read, without the wrapper
        message_type = payload["messageType"]
        if message_type == "CONTROL_MESSAGE":
            into.skips[conventions.SKIP_CONTROL_MESSAGE] += 1
            return
        log_group = payload["logGroup"]
        log_events = payload["logEvents"]
        if message_type != "DATA_MESSAGE" or not isinstance(log_events, list):
            raise TypeError(message_type)
    except (KeyError, TypeError, AttributeError):
        into.skips[conventions.SKIP_PAYLOAD_SHAPE] += 1
        return
    _decode_log_events(log_events, sequence, sub_sequence, into, log_group, limits, parser, low, high)


def decode_log_events(
    log_events: list[Any],
    sequence: int,
    sub_sequence: int,
    into: DecodedRecord,
    log_group: str = "",
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
    now: float | None = None,
    parser: LineParser = DEFAULT_PARSER,
) -> None:
    """CloudWatch log events ({timestamp, message}) into `into`, at positions (sequence, sub_sequence, index)."""
    _decode_log_events(log_events, sequence, sub_sequence, into, log_group, limits, parser, *limits.bounds(now))


def _decode_log_events(
    log_events: list[Any], sequence: int, sub_sequence: int, into: DecodedRecord, log_group: str,
    limits: DecodeLimits, parser: LineParser, low: float, high: float,
) -> None:
    """decode_log_events with the believable times unpacked, as _decode_payload."""
    if len(log_events) > limits.max_events_per_payload:
        into.skips[conventions.SKIP_PAYLOAD_TOO_LARGE] += 1
        return
    cap = limits.max_message_bytes
    into.log_events_seen += len(log_events)
    parse, skips, events, notes = parser.parse, into.skips, into.events, into.notes
    for index, log_event in enumerate(log_events):  # _decode_message inlined: one call less per log event
        if not isinstance(log_event, dict):
            skips[conventions.SKIP_PAYLOAD_SHAPE] += 1
            continue
        message = log_event.get("message", "")
        if isinstance(message, str) and len(message) * 4 > cap and _too_large(message, cap):
            skips[conventions.SKIP_MESSAGE_TOO_LARGE] += 1
            continue
        result = parse(message, log_event.get("timestamp"), Position(sequence, sub_sequence, index), log_group, notes)
        if isinstance(result, str):
            skips[result] += 1
        elif low <= result.time <= high:
            events.append(result)
        else:
            skips[conventions.SKIP_BAD_TIMESTAMP] += 1


def decode_message(
    message: Any,
    fallback_time_ms: Any,
    position: Position,
    into: DecodedRecord,
    log_group: str = "",
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
    now: float | None = None,
    parser: LineParser = DEFAULT_PARSER,
) -> LogEvent | None:
    """One log message (a CloudWatch log event's, or a replayed file's line) into `into`: an event or a skip.

    A line without a usable correlation ID is an event all the same (with an empty ID, noted in `into.notes`).
    """
    low, high = limits.bounds(now)
    return _decode_message(message, fallback_time_ms, position, into, log_group, parser, limits.max_message_bytes,
                           low, high)


def _decode_message(
    message: Any, fallback_time_ms: Any, position: Position, into: DecodedRecord, log_group: str, parser: LineParser,
    cap: int, low: float, high: float,
) -> LogEvent | None:
    """decode_message with its limits unpacked: the message cap and the believable times (DecodeLimits.bounds)."""
    if isinstance(message, str) and len(message) * 4 > cap and _too_large(message, cap):
        into.skips[conventions.SKIP_MESSAGE_TOO_LARGE] += 1
        return None
    result = parser.parse(message, fallback_time_ms, position, log_group, into.notes)
    if isinstance(result, str):
        into.skips[result] += 1
        return None
    if not low <= result.time <= high:
        into.skips[conventions.SKIP_BAD_TIMESTAMP] += 1
        return None
    into.events.append(result)
    return result


def _too_large(message: str, cap: int) -> bool:
    # characters <= UTF-8 bytes <= 4 x characters: encode only when the answer is in doubt
    return len(message) > cap or (len(message) * 4 > cap and len(message.encode("utf-8", "surrogatepass")) > cap)
