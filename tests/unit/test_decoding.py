"""Decoding: every kind of bad input is a counted skip; good input survives KPL, gzip and noise."""

from __future__ import annotations

import base64
import gzip
import json
import pickle
import random
import struct
from datetime import UTC, datetime

import aws_kinesis_agg
import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import conventions
from processors.classifying.classify import LatencySample, SliEvent
from processors.decoding import LineParser, LogEvent, Position, decode_record, parse_log_time
from processors.decoding.records import _deaggregate
from processors.spec.model import LogFormat
from processors.timeutil import iso8601_epoch, parse_iso8601
from tests.builders import T0, cid, cw_payload, gz, kinesis_record, kpl_aggregate, kpl_record, log_line

GOOD = log_line("api_request", T0, cid(1), "Api", status=200)


def raw_record(data_b64: str, sequence: int = 1) -> dict:
    record = kinesis_record(b"", sequence)
    record["kinesis"]["data"] = data_b64
    return record


def bad_kpl_digest() -> dict:
    record = kpl_record([gz(cw_payload([GOOD]))], 5)
    data = bytearray(base64.b64decode(record["kinesis"]["data"]))
    data[-1] ^= 0xFF  # corrupt the trailing MD5
    record["kinesis"]["data"] = base64.b64encode(bytes(data)).decode()
    return record


BAD_RECORDS = [
    ("data that is not base64 is skipped as not_base64", raw_record("%%%not base64%%%"), conventions.SKIP_NOT_BASE64),
    ("bytes that are not gzip are skipped as not_gzip", kinesis_record(b"\x00\x01binary", 1),
     conventions.SKIP_NOT_GZIP),
    (
        "a truncated gzip stream is skipped as truncated_gzip",
        kinesis_record(gz(cw_payload([GOOD]))[:-12], 1),
        conventions.SKIP_TRUNCATED_GZIP,
    ),
    ("gzip of non-JSON is skipped as payload_not_json", kinesis_record(gzip.compress(b"{nope"), 1),
     conventions.SKIP_PAYLOAD_NOT_JSON),
    (
        "a payload without logEvents is skipped as payload_wrong_shape",
        kinesis_record(gz({"messageType": "DATA_MESSAGE", "logGroup": "g"}), 1),
        conventions.SKIP_PAYLOAD_SHAPE,
    ),
    ("a JSON array payload is skipped as payload_wrong_shape", kinesis_record(gz([1, 2]), 1),
     conventions.SKIP_PAYLOAD_SHAPE),
    ("a KPL record whose MD5 does not match is skipped as kpl_bad_digest", bad_kpl_digest(),
     conventions.SKIP_KPL_BAD_DIGEST),
    ("a KPL aggregate whose second user record names a partition key it lacks is skipped whole as kpl_bad_digest",
     kpl_aggregate([gz(cw_payload([GOOD]))] * 3, 5, partition_key_indexes=[0, 7, 0]), conventions.SKIP_KPL_BAD_DIGEST),
    ("a KPL aggregate whose only user record names a partition key it lacks is skipped as kpl_bad_digest",
     kpl_aggregate([gz(cw_payload([GOOD]))], 5, partition_key_indexes=[3]), conventions.SKIP_KPL_BAD_DIGEST),
    ("a KPL aggregate of no user records is skipped as kpl_bad_digest", kpl_aggregate([], 5),
     conventions.SKIP_KPL_BAD_DIGEST),
    ("a good digest over bytes that are not a KPL protobuf is skipped as kpl_bad_digest",
     kpl_aggregate([], 5, body=b"\xff\xff\xff\xff\x0f not a protobuf"), conventions.SKIP_KPL_BAD_DIGEST),
    ("a KPL record of its magic alone is skipped as kpl_bad_digest", kinesis_record(aws_kinesis_agg.MAGIC, 5),
     conventions.SKIP_KPL_BAD_DIGEST),
    ("a CONTROL_MESSAGE is skipped", kinesis_record(gz(cw_payload(["CWL CONTROL MESSAGE"],
                                                                  message_type="CONTROL_MESSAGE")), 1),
     conventions.SKIP_CONTROL_MESSAGE),
]


@pytest.mark.parametrize(("case", "record", "kind"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_bad_records_are_counted_by_kind_and_never_raise(case: str, record: dict, kind: str) -> None:
    decoded = decode_record(record)
    assert decoded.events == []
    assert decoded.skips == {kind: 1}


BAD_MESSAGES = [
    ("a Lambda START line is message_not_json", "START RequestId: 1 Version: $LATEST",
     conventions.SKIP_MESSAGE_NOT_JSON),
    ("a JSON array message is message_not_json", "[1, 2]", conventions.SKIP_MESSAGE_NOT_JSON),
    ("broken JSON is message_not_json", '{"timestamp": ', conventions.SKIP_MESSAGE_NOT_JSON),
    ("JSON without metadata.action is no_action", json.dumps({"correlationId": cid(1), "metadata": {}}),
     conventions.SKIP_NO_ACTION),
]


@pytest.mark.parametrize(("case", "message", "kind"), BAD_MESSAGES, ids=[c[0] for c in BAD_MESSAGES])
def test_bad_messages_are_skipped_and_the_rest_of_the_record_proceeds(case: str, message: str, kind: str) -> None:
    decoded = decode_record(kinesis_record(gz(cw_payload([message, GOOD])), 9))
    assert decoded.skips == {kind: 1}
    assert [e.action for e in decoded.events] == ["api_request"]
    assert decoded.events[0].position == Position(9, 0, 1)


def test_a_malformed_kpl_aggregate_never_prints_its_raw_data(capsys: pytest.CaptureFixture[str]) -> None:
    """aws_kinesis_agg's iterator printed such an aggregate whole (the logs in it, unredacted) to stderr."""
    record = kpl_aggregate([gz(cw_payload([GOOD]))] * 2, 5, partition_key_indexes=[0, 7])
    assert decode_record(record).skips == {conventions.SKIP_KPL_BAD_DIGEST: 1}
    assert capsys.readouterr() == ("", "")


def test_a_valid_kpl_aggregate_reads_as_aws_kinesis_aggs_own_deaggregation_reads_it() -> None:
    """decode_record reads an aggregate itself (99451af): on aggregates the library's own aggregator writes, with
    several partition keys and explicit hash keys, it yields the user records the library's iterator yields."""
    rng = random.Random(7)
    checked = 0
    for _ in range(60):
        aggregator, aggregates = RecordAggregator(), []
        for _ in range(rng.randint(1, 30)):
            key = rng.choice(["a", "b", f"k{rng.randint(0, 40)}"])
            hash_key = rng.choice([None, None, str(rng.randint(0, 2**127))])
            full = aggregator.add_user_record(key, rng.randbytes(rng.randint(0, 300)), hash_key)
            aggregates += [full] if full else []
        aggregates += [aggregator.clear_and_get()]
        for aggregate in aggregates:
            data = aggregate.get_contents()[2]
            record = kinesis_record(data, 5)
            record["kinesis"] |= {"kinesisSchemaVersion": "1.0", "approximateArrivalTimestamp": 1.0}
            theirs = [(int(r["kinesis"]["subSequenceNumber"]), base64.b64decode(r["kinesis"]["data"]))
                      for r in iter_deaggregate_records([record])]
            assert _deaggregate(data) == theirs
            checked += len(theirs)
    assert checked > 500


def test_a_kpl_record_yields_every_user_record_with_its_sub_sequence() -> None:
    payloads = [gz(cw_payload([GOOD, GOOD])), gz(cw_payload([log_line("cache_hit", T0 + 1, cid(2))]))]
    decoded = decode_record(kpl_record(payloads, 77))
    assert [e.position for e in decoded.events] == [Position(77, 0, 0), Position(77, 0, 1), Position(77, 1, 0)]
    assert decoded.skips == {}


def test_the_log_timestamp_is_the_event_time_and_the_cloudwatch_time_is_the_fallback() -> None:
    no_stamp = json.dumps({"correlationId": cid(3), "service": "Api", "metadata": {"action": "api_request"}})
    decoded = decode_record(kinesis_record(gz(cw_payload([GOOD, no_stamp], t_ms=int(T0 * 1000) + 5000)), 1))
    assert decoded.events[0].time == pytest.approx(T0)
    assert decoded.events[1].time == pytest.approx(T0 + 5.001)


def test_plain_json_payloads_are_accepted_as_well_as_gzip() -> None:
    decoded = decode_record(kinesis_record(json.dumps(cw_payload([GOOD])).encode(), 1))
    assert len(decoded.events) == 1


UNCORRELATED = [
    ("a line without correlationId is an event without an ID, noted no_correlation_id",
     log_line("api_request", T0, None), conventions.NOTE_NO_CORRELATION_ID),
    ("a correlationId that is not a UUID is an event without an ID, noted bad_correlation_id",
     log_line("api_request", T0, "abc"), conventions.NOTE_BAD_CORRELATION_ID),
    ("API Gateway's '-' for a request that never reached the ID hop is noted bad_correlation_id",
     log_line("api_request", T0, "-"), conventions.NOTE_BAD_CORRELATION_ID),
]


@pytest.mark.parametrize(("case", "message", "note"), UNCORRELATED, ids=[c[0] for c in UNCORRELATED])
def test_lines_without_a_usable_correlation_id_are_events_without_one(case: str, message: str, note: str) -> None:
    decoded = decode_record(kinesis_record(gz(cw_payload([message, GOOD])), 1))
    assert decoded.skips == {}
    assert [e.correlation_id for e in decoded.events] == ["", cid(1)]
    assert decoded.notes == {note: 1}


NOT_SEQUENCES = ["not-a-number", "", " 12", "12 ", "+12", "-12", "1_000", "\u0661\u0662", "012", "1" * 61,
                 10**60, 12.0, -1, True, None, ["12"]]


@pytest.mark.parametrize("sequence", NOT_SEQUENCES, ids=repr)
def test_a_record_without_a_kinesis_shaped_sequence_number_is_a_counted_skip(sequence: object) -> None:
    record = kinesis_record(gz(cw_payload([GOOD])), 1)
    record["kinesis"]["sequenceNumber"] = sequence
    decoded = decode_record(record)
    assert decoded.events == [] and decoded.skips == {conventions.SKIP_NO_SEQUENCE: 1}


KINESIS_SEQUENCES = ["0", "7", "49590338271490256608559692538361571095921575989136588898", "9" * 60, 7]


@pytest.mark.parametrize("sequence", KINESIS_SEQUENCES)
def test_a_kinesis_shaped_sequence_number_is_the_record_s_position(sequence: object) -> None:
    record = kinesis_record(gz(cw_payload([GOOD])), 1)
    record["kinesis"]["sequenceNumber"] = sequence
    decoded = decode_record(record)
    assert decoded.sequence == int(str(sequence)) and len(decoded.events) == 1 and decoded.skips == {}


TIMESTAMPS = [
    "2026-10-01T00:00:06.943Z", "1970-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
    "2028-02-29T12:00:00.500Z", "2026-10-01t00:00:06.943z", "2026-10-01 00:00:06.943Z", " 2026-10-01T00:00:06.94Z",
    "2026-10-01T00:00:06.943+02:00", "2026-10-01T00:00:06Z", "2026-W40-1T00:00:06.94Z", "2026-13-01T00:00:06.943Z",
    "2026-02-30T00:00:06.943Z", "2026-10-01T24:00:00.000Z", "2026-10-01T00:00:60.000Z", "2026-10-01T00:00:06.9a3Z",
    "2026-10-01T00:00:06.\u0663\u0663\u0663Z", "2026-10-01T00:00:06,943Z", "", "not a time", None, 1790000000,
]


@pytest.mark.parametrize("text", TIMESTAMPS)
def test_the_fast_timestamp_parse_gives_the_general_parse_s_exact_epoch_or_none(text: object) -> None:
    parsed = parse_iso8601(text)
    assert iso8601_epoch(text) == (parsed.timestamp() if parsed is not None else None)


def _with_cloudwatch_time(message: str, t_ms: object) -> dict:
    payload = cw_payload([message])
    payload["logEvents"][0]["timestamp"] = t_ms
    return kinesis_record(gzip.compress(json.dumps(payload).encode(), mtime=0), 1)


def _access_line(status: str) -> str:
    return json.dumps({"requestId": "r", "requestTime": "01/Oct/2026:00:00:01 +0000", "httpMethod": "GET",
                       "status": status, "responseLatency": "7"})


def _line_at(stamp: str) -> str:
    return json.dumps({"timestamp": stamp, "correlationId": cid(1), "service": "Api",
                       "metadata": {"action": "api_request", "status": 200}})


def _arriving_at(arrival: object) -> dict:
    record = kinesis_record(gz(cw_payload([GOOD])), 1)
    record["kinesis"]["approximateArrivalTimestamp"] = arrival
    return record


# (case, record, its skips, its events' times): what no float or int can hold is bad input, never an exception
OUT_OF_RANGE = [
    ("a log time an offset takes before year 1 falls back to the CloudWatch time",
     kinesis_record(gz(cw_payload([_line_at("0001-01-01T00:00:00+01:00")])), 1), {}, [T0]),
    ("a log time an offset takes past year 9999 falls back to the CloudWatch time",
     kinesis_record(gz(cw_payload([_line_at("9999-12-31T23:59:59-01:00")])), 1), {}, [T0]),
    ("a CloudWatch time too large for a float is a bad timestamp",
     _with_cloudwatch_time('{"metadata": {"action": "a"}}', 10**400), {conventions.SKIP_BAD_TIMESTAMP: 1}, []),
    ("a CloudWatch time too small for a float is a bad timestamp",
     _with_cloudwatch_time('{"metadata": {"action": "a"}}', -(10**400)), {conventions.SKIP_BAD_TIMESTAMP: 1}, []),
    ("a CloudWatch time of 20 digits, read from the payload without the long-number scan, is a bad timestamp",
     _with_cloudwatch_time('{"metadata": {"action": "a"}}', 2 * 10**19), {conventions.SKIP_BAD_TIMESTAMP: 1}, []),
    ("a CloudWatch time below -2**63 is a bad timestamp as well",
     _with_cloudwatch_time('{"metadata": {"action": "a"}}', -(2**63) - 1), {conventions.SKIP_BAD_TIMESTAMP: 1}, []),
    ("an access log's status in superscript digits stays text",
     kinesis_record(gz(cw_payload([_access_line("\u00b2")])), 1), {}, [T0 + 1]),
    ("an access log's status of 5,000 digits stays text",
     kinesis_record(gz(cw_payload([_access_line("9" * 5000)])), 1), {}, [T0 + 1]),
    ("an arrival time too large for a float is no arrival", _arriving_at(10**400), {}, [T0]),
]


@pytest.mark.parametrize(("case", "record", "skips", "times"), OUT_OF_RANGE, ids=[c[0] for c in OUT_OF_RANGE])
def test_numbers_and_times_out_of_every_range_are_counted_never_raised(
    case: str, record: dict, skips: dict, times: list
) -> None:
    decoded = decode_record(record)
    assert decoded.skips == skips
    assert [event.time for event in decoded.events] == times


BIG = 18446744073709551616  # 2**64: orjson reads it as the float 1.8446744073709552e+19
SMALL = -9223372036854775809  # -2**63 - 1: a float to orjson too


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip payload", "plain payload"])
def test_integers_beyond_64_bits_in_a_message_s_metadata_decode_and_are_stored_as_the_exact_ints(
    compressed: bool, spec, sqlite_store  # type: ignore[no-untyped-def]
) -> None:
    from processors.ingest import Ingestor

    message = log_line("api_request", T0, cid(1), "Api", status=200, bytes=BIG, attempt=SMALL, runId=10**30)
    payload = cw_payload([message])
    data = gz(payload) if compressed else json.dumps(payload).encode()
    decoded = decode_record(kinesis_record(data, 1))
    assert decoded.skips == {}
    metadata = decoded.events[0].metadata
    assert [(metadata[k], type(metadata[k])) for k in ("bytes", "attempt", "runId")] == [
        (BIG, int), (SMALL, int), (10**30, int)]
    Ingestor(sqlite_store, spec).apply_batch("stream", "shardId-0", [decoded])
    stored = sqlite_store.heads([cid(1)])[cid(1)].events[0].metadata
    assert [(stored[k], type(stored[k])) for k in ("bytes", "attempt", "runId")] == [
        (BIG, int), (SMALL, int), (10**30, int)]


@pytest.mark.parametrize("text", [
    '{"a": 18446744073709551616}', '{"a": -9223372036854775809}', '[1, 18446744073709551615, 2]',
    '{"a":\n\t-18446744073709551616}', "18446744073709551616", ' {"a": [123456789012345678901234567890]}',
    '{"a": "18446744073709551616", "b": 1}', '{"a": 1234567890123456789.5}', '{"a": 1e400, "b": NaN}',
    '{"a": "\\ud800"}', '{"a": "\\ud83d\\ude00", "b": "\\u2028"}', "-0", '{"a": 1, "a": [2.5e-324, -0.0]}',
    "1" * 4300, '[' * 900 + ']' * 900,
])
def test_loads_returns_what_json_loads_returns(text: str) -> None:
    from processors.decoding.formats import loads

    for data in (text, text.encode()):
        assert repr(loads(data)) == repr(json.loads(text))


def test_loads_takes_a_str_with_a_lone_surrogate_as_json_loads_does() -> None:
    from processors.decoding.formats import loads

    assert loads('{"a": "\ud800"}') == json.loads('{"a": "\ud800"}') == {"a": "\ud800"}


@pytest.mark.parametrize("text", [
    '{"a": "x\x01y"}', "1" * 4301, "[" * 5000 + "]" * 5000, '{"a": 1} x', "\ufeff{}", '{"a": tru}', "01",
], ids=["control character", "4301 digits", "nested 5000 deep", "trailing text", "BOM", "bad literal", "zero-led"])
def test_loads_refuses_what_json_loads_refuses_with_the_same_kind_of_error(text: str) -> None:
    from processors.decoding.formats import loads

    with pytest.raises((ValueError, RecursionError)) as expected:
        json.loads(text)
    with pytest.raises(expected.type):
        loads(text)


# Differential: any JSON document, written in any of json.dumps's styles and then perhaps broken by one edit,
# reads through loads exactly as through json.loads (the same value, or an error of the same kind).
_json_values = st.recursive(
    st.none() | st.booleans() | st.text() | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(min_value=-(10**40), max_value=10**40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_edits = st.one_of(
    st.just(None),
    st.tuples(st.integers(min_value=0), st.sampled_from(['"', "\\", "}", "]", ",", ":", "-", "0", "e", " ", "\x00",
                                                         "\ud800", "\\ud800", "NaN", "1" * 25, "\u2028"])),
)


@settings(max_examples=600, deadline=None, derandomize=True)
@given(value=_json_values, ascii_only=st.booleans(), compact=st.booleans(), edit=_edits)
def test_loads_reads_any_json_text_as_json_loads_does(
    value: object, ascii_only: bool, compact: bool, edit: tuple[int, str] | None
) -> None:
    from processors.decoding.formats import loads

    text = json.dumps(value, ensure_ascii=ascii_only, separators=(",", ":") if compact else None)
    if edit is not None:
        at, piece = edit
        at %= len(text) + 1
        text = text[:at] + piece + text[at:]
    try:
        expected: object = ("value", repr(json.loads(text)))
    except (ValueError, RecursionError) as error:
        expected = ("error", type(error))
    try:
        got: object = ("value", repr(loads(text)))
    except (ValueError, RecursionError) as error:
        got = ("error", type(error))
    assert got == expected


def _stamps_around_edges() -> list[str]:
    """Logger-shaped times (`YYYY-MM-DDTHH:MM:SS.mmmZ`) at leap days, year and month ends, with every kind of
    fraction, from a fixed seed."""
    rng = random.Random(15)
    days = ["2024-02-28", "2024-02-29", "2024-03-01", "2025-12-31", "2026-01-01", "2000-02-29", "1970-01-01",
            "2099-12-31", "2038-01-19", "2026-10-01"]
    clocks = ["00:00:00", "23:59:59", "12:30:45", "03:14:07"]
    stamps = [f"{day}T{clock}.{ms:03d}Z" for day in days for clock in clocks for ms in (0, 1, 5, 123, 500, 999)]
    for _ in range(2000):
        second = datetime.fromtimestamp(rng.randrange(4102444800), UTC).strftime("%Y-%m-%dT%H:%M:%S")
        stamps.append(f"{second}.{rng.randrange(1000):03d}Z")
    return stamps


def test_a_schema_v1_line_s_time_is_parse_log_time_of_its_timestamp_to_the_bit() -> None:
    # the parser's schema-v1 fast path inlines iso8601_epoch's: it must give what parse_log_time gives, or the
    # CloudWatch time where that gives none
    parser = LineParser(LogFormat())
    for stamp in [*_stamps_around_edges(), *TIMESTAMPS]:
        line = json.dumps({"timestamp": stamp, "correlationId": cid(1), "metadata": {"action": "a"}})
        event = parser.parse(line, 1_790_812_800_000, Position(1))
        expected = parse_log_time(stamp)
        assert not isinstance(event, str)
        assert struct.pack("<d", event.time) == struct.pack("<d", expected if expected is not None else T0), stamp


def test_positions_and_sli_events_compare_hash_and_print_as_the_dataclasses_they_were() -> None:
    position, later = Position(7, 1, 2), Position(7, 2, 0)
    assert position == Position(7, 1, 2) and position < later and sorted([later, position]) == [position, later]
    assert hash(position) == hash((7, 1, 2)) and {position: 1}[Position(7, 1, 2)] == 1
    assert repr(position) == "Position(sequence=7, sub_sequence=1, event_index=2)"
    assert pickle.loads(pickle.dumps(position)) == position and Position.decode(position.encode()) == position
    sli_event = SliEvent("s", 1.5, True, cid(1), None)
    assert hash(sli_event) == hash(("s", 1.5, True, cid(1), None)) and sli_event == SliEvent("s", 1.5, True, cid(1))
    assert repr(LatencySample("k", 1.0, 2.0)) == "LatencySample(sketch='k', time=1.0, value_ms=2.0)"
    event = LogEvent(position, 1.0, "", "a", "", {"metadata": {"action": "a"}})
    assert event.log_group == "" and event.metadata == {"action": "a"}
    with pytest.raises(TypeError):  # its log is a dict, as the dataclass's hash found
        hash(event)
