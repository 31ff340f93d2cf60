"""The schema-v1 logger: six top-level keys, metadata for the rest, milestones, spans, schema conformance."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import correlation
from correlation import (
    InvalidMetadataError,
    SchemaV1Formatter,
    UnknownActionError,
    bound,
    milestone,
    set_correlation_id,
    span,
)
from correlation.formatter import format_timestamp

SCHEMA = json.loads((Path(__file__).parents[2] / "schema" / "log-v1.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)
TOP_LEVEL = ["timestamp", "level", "correlationId", "service", "message", "metadata"]
CID = "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
OTHER = "0b9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c"
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# One Powertools logger per module: Powertools keeps one handler per service name, so the stream is fixed.
STREAM = io.StringIO()
LOG = correlation.logger("CorrelationTestSvc", level="DEBUG", stream=STREAM)


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    STREAM.seek(0)
    STREAM.truncate()
    LOG.clear_state()
    with bound(None):
        yield


def lines() -> list[dict[str, Any]]:
    # split on \n only: ensure_ascii=False keeps U+2028 and friends raw, which str.splitlines() would split on
    parsed = [json.loads(line) for line in STREAM.getvalue().split("\n") if line]
    for line in parsed:
        VALIDATOR.validate(line)
        assert list(line) == TOP_LEVEL
    STREAM.seek(0)
    STREAM.truncate()
    return parsed


def only_line() -> dict[str, Any]:
    (line,) = lines()
    return line


def record(msg: Any = "hello", level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("svc", level, __file__, 1, msg, None, None)
    made.created = 1790000000.1234
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_plain_line_has_the_six_fields_and_a_default_action() -> None:
    set_correlation_id(CID)
    LOG.info("hello %s", "world")
    line = only_line()
    assert line["level"] == "INFO" and line["message"] == "hello world" and line["correlationId"] == CID
    assert line["service"] == "CorrelationTestSvc"
    assert line["metadata"] == {"action": "log"}
    assert ISO_MS_Z.match(line["timestamp"])


TIMESTAMPS = [
    ("the epoch", 0.0, "1970-01-01T00:00:00.000Z"),
    ("milliseconds are truncated, not rounded", 1790000000.1239, "2026-09-21T14:13:20.123Z"),
    ("a time before the epoch", -0.5, "1969-12-31T23:59:59.500Z"),
]


@pytest.mark.parametrize(("case", "created", "expected"), TIMESTAMPS, ids=[c for c, _, _ in TIMESTAMPS])
def test_timestamps_are_utc_with_milliseconds_and_z(case: str, created: float, expected: str) -> None:
    assert format_timestamp(created) == expected


LEVELS = [
    ("debug", logging.DEBUG, "DEBUG"),
    ("info", logging.INFO, "INFO"),
    ("warning", logging.WARNING, "WARNING"),
    ("error", logging.ERROR, "ERROR"),
    ("critical", logging.CRITICAL, "CRITICAL"),
    ("a custom level between INFO and WARNING counts as INFO", 25, "INFO"),
    ("a custom level below DEBUG counts as DEBUG", 5, "DEBUG"),
]


@pytest.mark.parametrize(("case", "levelno", "expected"), LEVELS, ids=[c for c, _, _ in LEVELS])
def test_levels_are_upper_case_names_the_schema_allows(case: str, levelno: int, expected: str) -> None:
    line = SchemaV1Formatter("svc").to_line(record(level=levelno))
    assert line["level"] == expected
    VALIDATOR.validate(line)


def test_extra_keys_and_powertools_keys_go_under_metadata_never_top_level() -> None:
    set_correlation_id(CID)
    LOG.append_keys(cold_start=True, function_name="webhook", xray_trace_id="1-abc-def")
    LOG.thread_safe_append_keys(tenant="acme")
    LOG.warning("slow", workflowId=7, metadata={"name": "uses a LogRecord attribute name"})
    line = only_line()
    assert line["level"] == "WARNING"
    assert line["metadata"] == {
        "action": "log",
        "cold_start": True,
        "function_name": "webhook",
        "xray_trace_id": "1-abc-def",
        "tenant": "acme",
        "name": "uses a LogRecord attribute name",
        "workflowId": 7,
    }
    LOG.thread_safe_clear_keys()


def test_inject_lambda_context_adds_its_keys_under_metadata() -> None:
    context = SimpleNamespace(
        function_name="webhook",
        memory_limit_in_mb=256,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:webhook",
        aws_request_id="req-1",
    )

    @LOG.inject_lambda_context
    def handler(event: dict[str, Any], _context: Any) -> None:
        set_correlation_id(event["cid"])
        LOG.info("handled")

    handler({"cid": CID}, context)
    line = only_line()
    assert {"cold_start", "function_name", "function_request_id"} <= set(line["metadata"])
    assert line["metadata"]["function_name"] == "webhook"


def test_the_xray_trace_id_lands_under_metadata_as_producers_md_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    set_correlation_id(CID)
    LOG.info("handled")
    assert only_line()["metadata"]["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    monkeypatch.delenv("_X_AMZN_TRACE_ID")
    LOG.info("outside Lambda")
    assert "xray_trace_id" not in only_line()["metadata"]


def test_exception_info_goes_under_metadata_error() -> None:
    set_correlation_id(CID)
    try:
        raise KeyError("workflowId")
    except KeyError:
        LOG.exception("lookup failed")
    line = only_line()
    error = line["metadata"]["error"]
    assert (line["level"], error["type"], error["message"]) == ("ERROR", "KeyError", "'workflowId'")
    assert "Traceback" in error["stack"]
    assert not {"exception", "exception_name", "stack_trace", "location"} & set(line)


CORRELATION_SOURCES: list[tuple[str, dict[str, Any], str | None, str | None, str]] = [
    ("a per-call correlationId wins over the current ID", {"correlationId": OTHER}, CID, None, OTHER),
    ("a per-call correlation_id wins over the current ID", {"correlation_id": OTHER}, CID, None, OTHER),
    ("the current ID wins over Powertools' set_correlation_id", {}, CID, OTHER, CID),
    ("Powertools' set_correlation_id is used when nothing else is set", {}, None, OTHER, OTHER),
    ("an invalid per-call ID falls back to the current ID", {"correlationId": "nope"}, CID, None, CID),
]


@pytest.mark.parametrize(
    ("case", "extra", "current", "powertools", "expected"),
    CORRELATION_SOURCES,
    ids=[c for c, *_ in CORRELATION_SOURCES],
)
def test_correlation_id_sources_in_order(
    case: str, extra: dict[str, Any], current: str | None, powertools: str | None, expected: str
) -> None:
    set_correlation_id(current)
    LOG.set_correlation_id(powertools)
    LOG.info("x", **extra)
    line = only_line()
    assert line["correlationId"] == expected
    assert "correlationIdMinted" not in line["metadata"]
    assert not {"correlation_id"} & set(line["metadata"]) or extra.get("correlation_id") == "nope"


def test_an_invalid_per_call_id_is_kept_as_data() -> None:
    set_correlation_id(CID)
    LOG.info("x", correlationId="nope")
    assert only_line()["metadata"]["correlationId"] == "nope"


def test_a_line_without_any_id_gets_a_minted_one_and_a_flag() -> None:
    LOG.info("no id yet")
    line = only_line()
    assert line["metadata"]["correlationIdMinted"] is True


def test_ill_typed_schema_fields_are_moved_to_invalid_fields_so_the_line_still_validates() -> None:
    set_correlation_id(CID)
    LOG.info("x", duration=-3, conclusion="skipped", status=True, repository=5, bytes=float("nan"))
    metadata = only_line()["metadata"]
    assert metadata["invalidFields"] == {
        "duration": "-3",
        "conclusion": '"skipped"',
        "status": "true",
        "repository": "5",
        "bytes": '"nan"',
    }


def test_a_dict_message_becomes_metadata_and_the_action_is_the_message() -> None:
    set_correlation_id(CID)
    LOG.info({"action": "cache_hit", "bytes": 10})
    line = only_line()
    assert (line["message"], line["metadata"]) == ("cache_hit", {"action": "cache_hit", "bytes": 10})


def test_a_milestone_logs_the_action_as_message_and_metadata() -> None:
    set_correlation_id(CID)
    milestone("job_queued", log=LOG, workflowId=42, repository="org/repo")
    milestone("runner_orphaned", log=LOG, message="no heartbeat for 6h", level="warn", taskArn="arn:t")
    first, second = lines()
    assert (first["level"], first["message"]) == ("INFO", "job_queued")
    assert first["metadata"] == {"action": "job_queued", "workflowId": 42, "repository": "org/repo"}
    assert (second["level"], second["message"]) == ("WARNING", "no heartbeat for 6h")
    assert second["metadata"]["action"] == "runner_orphaned"


REFUSED_MILESTONES: list[tuple[str, str, dict[str, Any], type[Exception], str]] = [
    (
        "an action outside the vocabulary",
        "job_enqueued",
        {},
        UnknownActionError,
        "not in the event vocabulary",
    ),
    ("a negative duration", "cache_hit", {"duration": -1}, InvalidMetadataError, "metadata.duration"),
    (
        "an unknown conclusion",
        "workflow_completed",
        {"conclusion": "skipped"},
        InvalidMetadataError,
        "conclusion",
    ),
    ("a boolean status", "api_request", {"status": True}, InvalidMetadataError, "metadata.status"),
]


@pytest.mark.parametrize(
    ("case", "action", "metadata", "error", "match"),
    REFUSED_MILESTONES,
    ids=[c for c, *_ in REFUSED_MILESTONES],
)
def test_a_milestone_that_would_not_classify_raises_a_value_error(
    case: str, action: str, metadata: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match) as raised:
        milestone(action, log=LOG, **metadata)
    assert isinstance(raised.value, ValueError)
    assert lines() == []


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        milestone("cache_hit", log=LOG, level="verbose")


def test_a_span_logs_its_duration_and_fields_added_in_the_block() -> None:
    set_correlation_id(CID)
    with span("api_request", log=LOG, route="/trace") as fields:
        fields["status"] = 200
    line = only_line()
    assert line["level"] == "INFO" and line["message"] == "api_request"
    assert line["metadata"]["status"] == 200 and line["metadata"]["route"] == "/trace"
    assert isinstance(line["metadata"]["duration"], float) and line["metadata"]["duration"] >= 0
    assert "error" not in line["metadata"]


def test_a_failing_span_logs_error_and_re_raises_the_same_exception() -> None:
    set_correlation_id(CID)
    boom = TimeoutError("RunTask timed out")
    with pytest.raises(TimeoutError) as raised, span("task_launched", log=LOG, cluster="runners"):
        raise boom
    assert raised.value is boom
    line = only_line()
    assert line["level"] == "ERROR"
    assert line["metadata"]["error"] == {"type": "TimeoutError", "message": "RunTask timed out"}
    assert line["metadata"]["duration"] >= 0 and line["metadata"]["cluster"] == "runners"


def test_a_span_with_an_unknown_action_fails_before_the_block_runs() -> None:
    ran = []
    with pytest.raises(UnknownActionError), span("lunch", log=LOG):
        ran.append(True)
    assert ran == []


def test_the_formatter_writes_nothing_the_schema_forbids_even_for_powertools_defaults() -> None:
    line = SchemaV1Formatter().to_line(record())
    assert line["service"] == "service_undefined"
    VALIDATOR.validate(line)


# --- Properties: whatever the metadata, every line validates against schema/log-v1.schema.json ---

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
typed_keys = st.sampled_from(
    [
        "action",
        "workflowId",
        "repository",
        "duration",
        "status",
        "conclusion",
        "error",
        "bytes",
        "correlationId",
    ]
)
metadata_dicts = st.dictionaries(typed_keys | st.text(max_size=12), json_values, max_size=8)
levels = st.sampled_from(
    [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL, 15, 35]
)


def any_metadata_logs_a_line_that_validates(
    metadata: dict[str, Any], message: str, level: int, with_id: bool
) -> None:
    STREAM.seek(0)
    STREAM.truncate()
    with bound(CID if with_id else None):
        logging.getLogger(LOG.name).log(level, message, extra={"metadata": metadata})  # custom levels too
    (line,) = lines()
    assert line["message"] == message
    if with_id:
        assert line["correlationId"] == CID


valid_typed = st.fixed_dictionaries(
    {},
    optional={
        "workflowId": st.integers() | st.text(max_size=10),
        "repository": st.text(max_size=20),
        "duration": st.integers(min_value=0) | st.floats(min_value=0, allow_nan=False, allow_infinity=False),
        "status": st.integers() | st.text(max_size=5),
        "conclusion": st.sampled_from(["success", "failure", "cancelled"]),
        "error": st.none()
        | st.text(max_size=10)
        | st.dictionaries(st.text(max_size=5), json_scalars, max_size=2),
        "bytes": st.integers(min_value=0),
    },
)


_milestones = given(
    action=st.sampled_from(correlation.VOCABULARY),
    typed=valid_typed,
    free=st.dictionaries(
        st.text(min_size=1, max_size=12).filter(
            lambda k: k not in SCHEMA["properties"]["metadata"]["properties"]
        ),
        json_values,
        max_size=4,
    ),
)


def milestones_with_well_typed_metadata_validate_and_keep_every_field(
    action: str, typed: dict[str, Any], free: dict[str, Any]
) -> None:
    STREAM.seek(0)
    STREAM.truncate()
    with bound(CID):
        milestone(action, log=LOG, **{**free, **typed})
    (line,) = lines()
    assert line["metadata"]["action"] == action
    # None values are dropped, as Powertools does; everything else is kept
    assert {k for k, v in typed.items() if v is not None} <= set(line["metadata"])
    assert "invalidFields" not in line["metadata"]


def test_the_logger_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    log = correlation.logger(f"StdoutSvc{id(capsys)}")
    assert log.registered_handler.stream is sys.stdout  # type: ignore[attr-defined]


def _untimed(examples: int) -> settings:
    """Wall-clock health checks fail on a busy machine, not on a wrong property: these runs are untimed."""
    untimed = [HealthCheck.too_slow]
    return settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=untimed)


# Quick runs in `make test`, the long ones in the slow tier (derandomized: the same examples come first).
_any_metadata = given(metadata=metadata_dicts, message=st.text(max_size=40), level=levels, with_id=st.booleans())
test_any_metadata_logs_a_line_that_validates = _untimed(40)(_any_metadata(any_metadata_logs_a_line_that_validates))
test_any_metadata_over_many_more_examples_logs_a_line_that_validates = pytest.mark.slow(
    _untimed(300)(_any_metadata(any_metadata_logs_a_line_that_validates))
)
_milestone_property = milestones_with_well_typed_metadata_validate_and_keep_every_field
test_milestones_with_well_typed_metadata_validate_and_keep_every_field = _untimed(30)(_milestones(_milestone_property))
test_milestones_over_many_more_examples_validate_and_keep_every_field = pytest.mark.slow(
    _untimed(200)(_milestones(_milestone_property))
)
