"""Decoding is bounded: a bomb, a flood of events, a huge message or an unbelievable time is one counted skip."""

from __future__ import annotations

import base64
import gzip
import json
import math
import zlib

import pytest

from processors import conventions
from processors.decoding import DecodeLimits, Position, decode_record, inflate
from processors.store.keys import bucket_key
from processors.timeutil import clamp_epoch, floor_to, from_epoch, iso_millis, iso_seconds
from tests.builders import T0, cid, cw_payload, gz, kinesis_record, kpl_record, log_line

GOOD = log_line("api_request", T0, cid(1), "Api", status=200)
NOW = DecodeLimits(now=T0 + 3600)


def gzip_bomb(inflated_bytes: int) -> bytes:
    """A valid gzip stream of `inflated_bytes` spaces: ~1,000x smaller than what it inflates to."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b" " * (1 << 20)
    parts = [compressor.compress(b'{"messageType": "DATA_MESSAGE", "logEvents": [')]
    parts += [compressor.compress(chunk) for _ in range(inflated_bytes >> 20)]
    return b"".join(parts) + compressor.compress(b"]}") + compressor.flush()


def test_a_gzip_bomb_inflates_no_further_than_the_cap_and_is_payload_too_large() -> None:
    bomb = gzip_bomb(64 << 20)
    assert len(bomb) < 200_000
    assert inflate(bomb, 8 << 20) == conventions.SKIP_PAYLOAD_TOO_LARGE
    decoded = decode_record(kpl_record([bomb, gz(cw_payload([GOOD]))], 3), NOW)
    assert decoded.skips == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}
    assert [event.position for event in decoded.events] == [Position(3, 1, 0)]  # the neighbour survives


def test_a_kpl_aggregate_of_gzip_bombs_inflates_no_further_than_200_times_its_size() -> None:
    """Each user record stopped at the 8 MiB payload cap, but a 1 MB aggregate of them inflated to ~1 GB (5.6 s)."""
    record = kpl_record([gzip_bomb(7 << 20)] * 30, 3)
    size = len(base64.b64decode(record["kinesis"]["data"]))
    decoded = decode_record(record, NOW)
    assert decoded.inflated_bytes <= 200 * size + (8 << 20)
    read = decoded.skips[conventions.SKIP_PAYLOAD_SHAPE]
    assert 0 < read < 30 and decoded.skips == {conventions.SKIP_PAYLOAD_SHAPE: read,
                                               conventions.SKIP_PAYLOAD_TOO_LARGE: 30 - read}


@pytest.mark.parametrize("damage", ["its trailer cut off", "a wrong CRC"])
def test_a_kpl_aggregate_of_damaged_gzip_bombs_inflates_no_further_than_200_times_its_size(damage: str) -> None:
    """A bomb that fails at its end (no trailer, a wrong CRC) inflated all it held and then counted nothing of it
    against the aggregate's bound: 30 of 7 MiB each in a 217 KB aggregate inflated 210 MB, not 44 MB."""
    bomb = gzip_bomb(7 << 20)
    damaged = bomb[:-8] if damage == "its trailer cut off" else bomb[:-8] + b"\0\0\0\0" + bomb[-4:]
    assert inflate(damaged, 8 << 20) == conventions.SKIP_TRUNCATED_GZIP
    record = kpl_record([damaged] * 30, 3)
    size = len(base64.b64decode(record["kinesis"]["data"]))
    decoded = decode_record(record, NOW)
    assert 0 < decoded.inflated_bytes <= 200 * size + (8 << 20)
    read = decoded.skips[conventions.SKIP_TRUNCATED_GZIP]
    assert 0 < read < 30 and decoded.skips == {conventions.SKIP_TRUNCATED_GZIP: read,
                                               conventions.SKIP_PAYLOAD_TOO_LARGE: 30 - read}


def tiny_events() -> bytes:
    """A payload of 10,000 identical one-letter log events: under 1 KB of gzip."""
    event = {"id": "0", "timestamp": int(T0 * 1000), "message": "x"}
    return gz({**cw_payload([]), "logEvents": [event] * conventions.MAX_LOG_EVENTS_PER_PAYLOAD})


def test_a_kpl_aggregate_holds_no_more_log_events_than_one_per_byte_of_it() -> None:
    """A 1 MB aggregate of 1,164 payloads of 10,000 one-letter lines each held 11.6 million log events (18 s)."""
    record = kpl_record([tiny_events()] * 50, 3)
    size = len(base64.b64decode(record["kinesis"]["data"]))
    decoded = decode_record(record, NOW)
    assert size < decoded.log_events_seen <= size + conventions.MAX_LOG_EVENTS_PER_PAYLOAD
    read = decoded.log_events_seen // conventions.MAX_LOG_EVENTS_PER_PAYLOAD
    assert decoded.skips == {conventions.SKIP_MESSAGE_NOT_JSON: decoded.log_events_seen,
                             conventions.SKIP_PAYLOAD_TOO_LARGE: 50 - read}


def test_a_kpl_aggregate_smaller_than_its_bounds_reads_as_much_as_one_payload_may() -> None:
    decoded = decode_record(kpl_record([tiny_events(), gz(cw_payload([GOOD]))], 3), NOW)  # 1 KB: 10,000 events
    assert decoded.skips == {conventions.SKIP_MESSAGE_NOT_JSON: conventions.MAX_LOG_EVENTS_PER_PAYLOAD,
                             conventions.SKIP_PAYLOAD_TOO_LARGE: 1}


def test_the_payload_cap_is_configurable_and_a_payload_just_under_it_decodes() -> None:
    payload = gz(cw_payload([GOOD]))
    size = len(gzip.decompress(payload))
    assert len(decode_record(kinesis_record(payload, 1), DecodeLimits(max_payload_bytes=size, now=T0)).events) == 1
    small = decode_record(kinesis_record(payload, 1), DecodeLimits(max_payload_bytes=size - 1, now=T0))
    assert small.skips == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}
    plain = decode_record(kinesis_record(json.dumps(cw_payload([GOOD])).encode(), 1),
                          DecodeLimits(max_payload_bytes=50, now=T0))
    assert plain.skips == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}


def test_the_lambda_reads_its_caps_from_the_environment_and_ignores_nonsense() -> None:
    limits = DecodeLimits.from_env({conventions.ENV_MAX_PAYLOAD_BYTES: "1024", conventions.ENV_MAX_MESSAGE_BYTES: "x"})
    assert limits.max_payload_bytes == 1024
    assert limits.max_message_bytes == conventions.MAX_MESSAGE_BYTES_DEFAULT
    assert DecodeLimits.from_env({}).max_payload_bytes == 8 * 1024 * 1024


def test_a_payload_with_more_log_events_than_cloudwatch_sends_is_payload_too_large() -> None:
    flood = cw_payload(["x"] * (conventions.MAX_LOG_EVENTS_PER_PAYLOAD + 1))
    decoded = decode_record(kpl_record([gz(flood), gz(cw_payload([GOOD]))], 4), NOW)
    assert decoded.skips == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}
    assert len(decoded.events) == 1
    at_limit = decode_record(kinesis_record(gz(cw_payload(["x"] * conventions.MAX_LOG_EVENTS_PER_PAYLOAD)), 5), NOW)
    assert at_limit.skips == {conventions.SKIP_MESSAGE_NOT_JSON: conventions.MAX_LOG_EVENTS_PER_PAYLOAD}


@pytest.mark.parametrize("filler", ["a", "é", "😀"], ids=["ascii", "two-byte", "four-byte"])
def test_a_message_over_the_byte_cap_is_message_too_large_and_its_neighbours_decode(filler: str) -> None:
    cap = 4096
    big = json.dumps({"correlationId": cid(2), "metadata": {"action": "api_request", "pad": filler * cap}},
                     ensure_ascii=False)
    limits = DecodeLimits(max_message_bytes=cap, now=T0)
    decoded = decode_record(kinesis_record(gz(cw_payload([GOOD, big, GOOD])), 6), limits)
    assert decoded.skips == {conventions.SKIP_MESSAGE_TOO_LARGE: 1}
    assert [event.position.event_index for event in decoded.events] == [0, 2]



HOSTILE_TIMES = [
    ("a NaN CloudWatch timestamp", None, math.nan),
    ("an infinite CloudWatch timestamp", None, math.inf),
    ("a minus infinite CloudWatch timestamp", None, -math.inf),
    ("a CloudWatch timestamp of 1e30", None, 1e30),
    ("a log timestamp in year 9999", "9999-12-31T23:59:59Z", T0 * 1000),
    ("a time older than the counters' retention", None, (T0 - 41 * 86400) * 1000),
    ("a time more than a day ahead of now", None, (T0 + 3600 + 86400 + 60) * 1000),
]


@pytest.mark.parametrize(("case", "iso", "stamp_ms"), HOSTILE_TIMES, ids=[c[0] for c in HOSTILE_TIMES])
def test_an_unbelievable_event_time_is_bad_timestamp_and_never_raises(case: str, iso: str | None,
                                                                      stamp_ms: float) -> None:
    line = {"correlationId": cid(3), "service": "Api", "metadata": {"action": "api_request"}}
    if iso:
        line["timestamp"] = iso
    payload = cw_payload([GOOD, json.dumps(line), GOOD])
    payload["logEvents"][1]["timestamp"] = stamp_ms
    decoded = decode_record(kinesis_record(json.dumps(payload).encode(), 7), NOW)
    assert decoded.skips == {conventions.SKIP_BAD_TIMESTAMP: 1}
    assert [event.position.event_index for event in decoded.events] == [0, 2]


def test_a_replayed_record_is_judged_by_its_arrival_time_when_no_clock_is_given() -> None:
    old = log_line("api_request", T0 - 50 * 86400, cid(4), "Api", status=200)
    decoded = decode_record(kinesis_record(gz(cw_payload([GOOD, old])), 8, arrival=T0))
    assert decoded.skips == {conventions.SKIP_BAD_TIMESTAMP: 1} and len(decoded.events) == 1
    assert decode_record(kinesis_record(gz(cw_payload([old])), 8, arrival=T0 - 50 * 86400)).skips == {}


MOMENTS = [math.nan, math.inf, -math.inf, -0.0, 0.0, -1.0, 1e30, T0, T0 - 40 * 86400, T0 + 86400, T0 + 86401,
           4102444800.0, math.nextafter(4102444800.0, 0.0), 4102444799, 4102444800]


@pytest.mark.parametrize("now", [None, T0, 0.0, -1e9, math.inf, -math.inf, math.nan, 1e308])
@pytest.mark.parametrize("retention", [None, 40 * 86400])
def test_a_time_is_believable_exactly_when_it_is_finite_and_inside_the_window(now: float | None,
                                                                                retention: int | None) -> None:
    limits = DecodeLimits(retention_seconds=retention)
    for moment in MOMENTS:
        if now is None:
            expected = math.isfinite(moment) and 0.0 <= moment < 4102444800.0
        else:
            low = max(-math.inf if retention is None else now - retention, 0.0)
            expected = math.isfinite(moment) and low <= moment <= now + limits.future_seconds
        assert limits.believable(moment, now) is expected, (moment, now)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e30, -1e30, 1e300])
def test_time_formatting_and_bucketing_never_raise(value: float) -> None:
    iso_seconds(value)
    iso_millis(value)
    from_epoch(value)
    assert isinstance(bucket_key(floor_to(value, 3600)), str)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e30, -1e30, -62135596800.5, 253402300799.5,
                                   -62135596800.0, 253402300799.0, -0.5, 0, 59.999, 60, T0 + 0.25, int(T0) + 61])
def test_floor_to_is_the_floor_of_the_clamped_time(value: float) -> None:
    for step in (1, 60, 3600):
        floored = floor_to(value, step)
        assert type(floored) is int and floored == int(clamp_epoch(value) // step) * step
