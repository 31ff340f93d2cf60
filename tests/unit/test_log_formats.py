"""The log-format layer: each shape a line can take maps onto the internal event; the spec says where fields live."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from processors import conventions
from processors.decoding import DEFAULT_PARSER, LineParser, Position, parse_log_time
from processors.spec import SpecError
from processors.spec.loader import parse_spec
from processors.spec.model import LogFormat
from tests.builders import T0, cid, log_line

HEADER = (
    "apiVersion: slo-pipeline/v1\nslos:\n"
    "  - {name: a, objective: 0.99, sli: {events: {match: {action: x}, good: {status: 200}}}}\n"
)


def parse(message: str, parser: LineParser = DEFAULT_PARSER, fallback_ms: Any = None) -> tuple[Any, Counter[str]]:
    notes: Counter[str] = Counter()
    return parser.parse(message, fallback_ms, Position(1), "g", notes), notes


TIMES = [
    ("ISO 8601 with Z", "2026-10-01T00:00:01.500Z", T0 + 1.5),
    ("Powertools' default timestamp", "2026-10-01 00:00:01,500+0000", T0 + 1.5),
    ("CLF, API Gateway's requestTime", "01/Oct/2026:02:00:01 +0200", T0 + 1),
    ("epoch milliseconds", int((T0 + 1) * 1000), T0 + 1),
    ("epoch seconds", T0 + 1, T0 + 1),
]


@pytest.mark.parametrize(("case", "value", "expected"), TIMES, ids=[t[0] for t in TIMES])
def test_every_time_format_a_shipped_shape_uses_parses(case: str, value: Any, expected: float) -> None:
    assert parse_log_time(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["yesterday", "32/Oct/2026:00:00:00 +0000", "01/Foo/2026:00:00:00 +0000", True, None])
def test_what_is_not_a_time_is_none(value: Any) -> None:
    assert parse_log_time(value) is None


POWERTOOLS = json.dumps({
    "level": "INFO", "location": "handler:3", "message": "GET /runs", "timestamp": "2026-10-01 00:00:01,000+0000",
    "service": "Api", "cold_start": True, "correlation_id": cid(1).upper(), "action": "api_request",
    "status": 503, "xray_trace_id": "1-5759e988-bd862e3fe1be46a994272793",
})
LAMBDA_JSON = json.dumps({"timestamp": "2026-10-01T00:00:09Z", "level": "INFO", "requestId": cid(9),
                          "message": log_line("api_request", T0 + 1, cid(1), "Api", status=200)})
ACCESS_DEFAULT = json.dumps({"requestId": "JKJaXmPLvHcESHA=", "requestTime": "01/Oct/2026:00:00:01 +0000",
                             "httpMethod": "GET", "routeKey": "GET /runs", "status": "503", "responseLatency": "7"})

SHAPES = [
    ("schema v1 is read as it is", log_line("api_request", T0 + 1, cid(1), "Api", status=200),
     ("api_request", cid(1), T0 + 1, "Api", 200)),
    ("Powertools: correlation_id, extra= at top level, its timestamp", POWERTOOLS,
     ("api_request", cid(1), T0 + 1, "Api", 503)),
    ("Lambda's JSON log format: a JSON message is unwrapped once", LAMBDA_JSON,
     ("api_request", cid(1), T0 + 1, "Api", 200)),
    ("an API Gateway access log in AWS's JSON preset is one api_request with a numeric status", ACCESS_DEFAULT,
     ("api_request", "", T0 + 1, "", 503)),
    ("the stack's access-log format with correlationId '-' counts without an ID",
     json.dumps({"timestamp": "01/Oct/2026:00:00:01 +0000", "level": "INFO", "correlationId": "-", "service": "Api",
                 "message": "GET", "metadata": {"action": "api_request", "status": 500}}),
     ("api_request", "", T0 + 1, "Api", 500)),
]


@pytest.mark.parametrize(("case", "line", "expected"), SHAPES, ids=[s[0] for s in SHAPES])
def test_each_shipped_shape_maps_onto_the_internal_event(case: str, line: str, expected: tuple) -> None:
    event, _notes = parse(line)
    assert not isinstance(event, str), event
    action, correlation_id, time, service, status = expected
    assert (event.action, event.correlation_id, event.service) == (action, correlation_id, service)
    assert event.time == pytest.approx(time)
    assert event.log["metadata"]["status"] == status
    assert event.log["metadata"]["action"] == action  # matchers read metadata.action on every shape


def test_powertools_fields_land_in_metadata_including_the_xray_trace_id() -> None:
    event, _ = parse(POWERTOOLS)
    assert event.log["metadata"]["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert event.log["metadata"]["cold_start"] is True
    assert "correlation_id" not in event.log["metadata"]


def powertools_dict(message: Any, **top: Any) -> str:
    """A Powertools line as its Logger writes `logger.info(<dict>, extra=top)`: the dict is an object in `message`
    (tests/shapes.py captures the real thing), extra= keys at top level."""
    return json.dumps({"level": "INFO", "location": "handler:3", "message": message,
                       "timestamp": "2026-10-01 00:00:01,000+0000", "service": "Api", **top})


# case, line, (action, correlation ID, status)
DICT_MESSAGES = [
    ("a dict message's action, ID and fields are read when the line has none",
     powertools_dict({"action": "api_request", "status": 503, "correlation_id": cid(1)}), ("api_request", cid(1), 503)),
    ("a dict message's correlationId is read too",
     powertools_dict({"action": "api_request", "status": 503, "correlationId": cid(2)}), ("api_request", cid(2), 503)),
    ("a top-level action (extra=, append_keys) wins over the message's",
     powertools_dict({"action": "api_request", "status": 200}, action="cache_hit"), ("cache_hit", "", 200)),
    ("a metadata object's action wins over the message's",
     powertools_dict({"action": "api_request"}, metadata={"action": "cache_hit"}), ("cache_hit", "", None)),
    ("a top-level key (extra=) wins over the message's",
     powertools_dict({"action": "api_request", "status": 200}, status=504), ("api_request", "", 504)),
    ("a metadata object's key wins over the message's and the line's",
     powertools_dict({"action": "api_request", "status": 200}, status=201, metadata={"status": 502}),
     ("api_request", "", 502)),
    ("the line's correlation_id wins over the message's",
     powertools_dict({"action": "api_request", "correlation_id": cid(2)}, correlation_id=cid(1)),
     ("api_request", cid(1), None)),
]


@pytest.mark.parametrize(("case", "line", "expected"), DICT_MESSAGES, ids=[c[0] for c in DICT_MESSAGES])
def test_a_powertools_dict_message_is_read_under_the_lines_own_fields(case: str, line: str, expected: tuple) -> None:
    event, _ = parse(line)
    assert not isinstance(event, str), event
    assert (event.action, event.correlation_id, event.log["metadata"].get("status")) == expected
    assert event.log["metadata"]["action"] == event.action and event.service == "Api"


def test_a_string_message_is_not_read_for_fields_and_a_dict_message_without_an_action_is_no_action() -> None:
    assert parse(powertools_dict("action=api_request status=503"))[0] == conventions.SKIP_NO_ACTION
    assert parse(powertools_dict({"status": 503, "event": "api_request"}))[0] == conventions.SKIP_NO_ACTION
    event, _ = parse(powertools_dict("GET /runs", action="api_request", status=503))
    assert event.log["metadata"] == {"location": "handler:3", "action": "api_request", "status": 503}
    assert event.log["message"] == "GET /runs"


def test_a_spec_whose_paths_leave_out_message_does_not_read_a_dict_message() -> None:
    spec = parse_spec(HEADER + "log_format:\n  fields:\n    action: [metadata.action, action]\n")
    line = powertools_dict({"action": "api_request", "status": 503})
    assert parse(line, LineParser(spec.log_format))[0] == conventions.SKIP_NO_ACTION
    spec = parse_spec(HEADER + "log_format:\n  fields:\n    metadata: metadata\n")
    event, _ = parse(line, LineParser(spec.log_format))
    assert event.action == "api_request" and "status" not in event.log["metadata"]


def test_every_metadata_object_is_merged_the_first_over_the_lines_keys_the_later_under_them() -> None:
    spec = parse_spec(HEADER + "log_format:\n  fields:\n    action: event\n    metadata: [ctx, defaults]\n")
    line = json.dumps({"timestamp": "2026-10-01T00:00:01Z", "event": "x", "a": "line", "b": "line",
                       "ctx": {"a": "ctx"}, "defaults": {"a": "defaults", "b": "defaults", "c": "defaults"}})
    event, _ = parse(line, LineParser(spec.log_format))
    assert event.log["metadata"] == {"action": "x", "a": "ctx", "b": "line", "c": "defaults"}


SKIPS = [
    ("a Lambda platform line in the JSON format is message_not_json",
     json.dumps({"time": "2026-10-01T00:00:00Z", "type": "platform.start", "record": {"requestId": cid(1)}}),
     conventions.SKIP_MESSAGE_NOT_JSON),
    ("a text platform line is message_not_json", f"REPORT RequestId: {cid(1)}\tDuration: 2.50 ms",
     conventions.SKIP_MESSAGE_NOT_JSON),
    ("a Powertools line without an action is no_action", json.dumps({"level": "INFO", "message": "hi"}),
     conventions.SKIP_NO_ACTION),
    ("a line with an action but no time at all is payload_wrong_shape",
     json.dumps({"action": "api_request"}), conventions.SKIP_PAYLOAD_SHAPE),
]


@pytest.mark.parametrize(("case", "line", "kind"), SKIPS, ids=[s[0] for s in SKIPS])
def test_lines_that_are_not_service_events_are_counted_skips(case: str, line: str, kind: str) -> None:
    assert parse(line)[0] == kind


def test_a_powertools_line_without_an_id_is_an_event_noted_no_correlation_id() -> None:
    line = json.loads(POWERTOOLS)
    del line["correlation_id"]
    event, notes = parse(json.dumps(line))
    assert event.correlation_id == "" and notes == {conventions.NOTE_NO_CORRELATION_ID: 1}


def test_a_firelens_line_is_read_once_the_spec_unwraps_log() -> None:
    firelens = json.dumps({"container_id": "0f3a", "container_name": "runner", "source": "stdout",
                           "log": log_line("cache_hit", T0 + 1, cid(4), "Runner"), "ecs_cluster": "gha"})
    assert parse(firelens)[0] == conventions.SKIP_NO_ACTION  # the default unwraps `message` only
    spec = parse_spec(HEADER + "log_format:\n  unwrap: [message, log]\n")
    event, _ = parse(firelens, LineParser(spec.log_format))
    assert (event.action, event.correlation_id) == ("cache_hit", cid(4))


def test_a_users_own_logger_is_read_through_the_spec_field_paths() -> None:
    own = json.dumps({"ts": "2026-10-01T00:00:01Z", "severity": "info", "app": "billing", "event": "api_request",
                      "requestContext": {"requestId": cid(5)}, "ctx": {"status": 502}})
    spec = parse_spec(HEADER + (
        "log_format:\n  fields:\n"
        "    correlation_id: [correlationId, correlation_id, requestContext.requestId]\n"
        "    action: [metadata.action, action, event]\n"
        "    time: ts\n    service: app\n    level: severity\n    metadata: ctx\n"))
    event, _ = parse(own, LineParser(spec.log_format))
    assert (event.action, event.correlation_id, event.service) == ("api_request", cid(5), "billing")
    assert event.time == pytest.approx(T0 + 1)
    assert event.log["level"] == "INFO" and event.log["metadata"]["status"] == 502


def test_renamed_paths_still_read_schema_v1_when_v1_paths_come_later() -> None:
    spec = parse_spec(HEADER + "log_format:\n  fields:\n    action: [event, metadata.action]\n")
    event, _ = parse(log_line("cache_hit", T0, cid(1)), LineParser(spec.log_format))
    assert (event.action, event.correlation_id) == ("cache_hit", cid(1))


INVALID = json.dumps({"timestamp": "2026-10-01T00:00:00Z", "level": "info", "correlationId": cid(1), "service": "",
                      "message": "m", "extra": 1, "metadata": {"action": "api_request", "status": 200}})


@pytest.mark.parametrize(
    ("mode", "is_event", "notes"),
    [
        ("lax", True, {}),
        ("warn", True, {"schema_enum": 1, "schema_minLength": 1, "schema_additionalProperties": 1}),
        ("strict", False, {}),
    ],
)
def test_the_validation_mode_decides_what_a_schema_violation_does(mode: str, is_event: bool, notes: dict) -> None:
    parser = LineParser(LogFormat(validation=mode))  # type: ignore[arg-type]
    event, counted = parse(INVALID, parser)
    assert (not isinstance(event, str)) is is_event
    if mode == "strict":
        assert event == conventions.SKIP_SCHEMA_INVALID
    assert dict(counted) == notes


def test_a_valid_line_draws_no_warning_in_warn_mode() -> None:
    line = log_line("api_request", T0, cid(1), "Api", status=200)
    event, notes = parse(line, LineParser(LogFormat(validation="warn")))
    assert not isinstance(event, str) and notes == {}


SPEC_ERRORS = [
    ("log_format:\n  validation: loose\n", 5, "log_format.validation"),
    ("log_format:\n  fields:\n    correlation: [x]\n", 6, "log_format.fields.correlation"),
    ("log_format:\n  fields:\n    action: [metadata..action]\n", 6, "log_format.fields.action"),
    ("log_format:\n  unwrap: 3\n", 5, "log_format.unwrap"),
    ("log_format:\n  access_log: {action: ''}\n", 5, "log_format.access_log.action"),
    ("log_format:\n  colour: blue\n", 5, "log_format.colour"),
]


@pytest.mark.parametrize(("section", "line", "field"), SPEC_ERRORS, ids=[e[2] for e in SPEC_ERRORS])
def test_a_bad_log_format_section_names_file_line_and_field(section: str, line: int, field: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(HEADER + section, "spec.yaml")
    assert (raised.value.line, raised.value.field) == (line, field)
    assert str(raised.value).startswith(f"spec.yaml:{line}")


def test_the_shipped_spec_without_a_section_gets_the_default_format() -> None:
    assert parse_spec(HEADER).log_format == LogFormat()
