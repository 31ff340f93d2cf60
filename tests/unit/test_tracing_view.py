"""The trace view: spans derived from a head, the breakdown, errors, outcome and the JSON document. Pure."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from processors.stitching.model import TraceEvent, TraceHead
from processors.tracing import MalformedCorrelationIdError, check_correlation_id, derive_spans, outcome, trace_view
from processors.tracing.view import error_of, event_duration_ms
from tests import runner_platform as c
from tests.builders import SPEC_JOURNEY

CID = "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01"
T = 1_790_812_801_234  # 2026-10-01T00:00:01.234Z in epoch ms

JOURNEY = [
    (0, c.SERVICE_WEBHOOK, c.WEBHOOK_RECEIVED, {}),
    (80, c.SERVICE_WEBHOOK, c.JOB_QUEUED, {}),
    (392, c.SERVICE_QUEUE, c.TASK_LAUNCHED, {}),
    (1496, c.SERVICE_RUNNER, c.RUNNER_STARTED, {}),
    (9_000, c.SERVICE_RUNNER, c.CACHE_HIT, {"bytes": 1234}),
    (242_008, c.SERVICE_RUNNER, c.WORKFLOW_COMPLETED, {"conclusion": "success", "duration": 240_512}),
]


def head_of(events: list[tuple[int, str, str, dict[str, Any]]], *, level: dict[str, str] | None = None) -> TraceHead:
    """A head as stitching leaves it: milestones first-seen, events sorted."""
    head = TraceHead(correlation_id=CID, workflow_id="4242424242", repository="acme/web")
    for offset, service, action, metadata in events:
        time_ms = T + offset
        if action in c.TRACKED_MILESTONES and action not in head.milestones:
            head.milestones[action] = time_ms
        head.first_seen_ms = min(head.first_seen_ms or time_ms, time_ms)
        head.events.append(TraceEvent(time_ms, service, action, (level or {}).get(action, "INFO"), dict(metadata)))
    head.events.sort(key=lambda e: e.key)
    return head


def without(action: str) -> list[tuple[int, str, str, dict[str, Any]]]:
    return [e for e in JOURNEY if e[2] != action]


def replaced(action: str, metadata: dict[str, Any]) -> list[tuple[int, str, str, dict[str, Any]]]:
    return [(o, s, a, metadata if a == action else m) for o, s, a, m in JOURNEY]


ORPHANED = [*without(c.WORKFLOW_COMPLETED), (4_000_000, c.SERVICE_RECONCILER, c.RUNNER_ORPHANED, {"reason": "gone"})]
FAILED = replaced(
    c.WORKFLOW_COMPLETED, {"conclusion": "failure", "duration": 240_512, "error": {"type": "StepFailed", "step": "t"}}
)


@pytest.mark.parametrize(
    ("case", "events", "expected"),
    [
        (
            "a whole journey gives every part of the breakdown",
            JOURNEY,
            {"dispatch": 80, "queue": 312, "startup": 1104, "execution": 240512, "total": 242008},
        ),
        (
            "a missing task_launched gives null queue and startup",
            without(c.TASK_LAUNCHED),
            {"dispatch": 80, "queue": None, "startup": None, "execution": 240512, "total": 242008},
        ),
        (
            "a missing webhook_received gives null dispatch and total",
            without(c.WEBHOOK_RECEIVED),
            {"dispatch": None, "queue": 312, "startup": 1104, "execution": 240512, "total": None},
        ),
        (
            "an orphaned runner has no execution and no total",
            ORPHANED,
            {"dispatch": 80, "queue": 312, "startup": 1104, "execution": None, "total": None},
        ),
        (
            "clock skew between services shows as a negative part, not hidden",
            [*without(c.TASK_LAUNCHED), (50, c.SERVICE_QUEUE, c.TASK_LAUNCHED, {})],
            {"dispatch": 80, "queue": -30, "startup": 1446, "execution": 240512, "total": 242008},
        ),
    ],
)
def test_the_breakdown_is_milestone_differences_with_nulls_for_missing_ends(case, events, expected):
    assert trace_view(head_of(events), SPEC_JOURNEY)["breakdownMs"] == expected, case


@pytest.mark.parametrize(
    ("case", "events", "nulls", "orphaned_key"),
    [
        ("a whole journey has all five milestones and no orphan key", JOURNEY, [], False),
        ("a missing milestone is present as null", without(c.RUNNER_STARTED), [c.RUNNER_STARTED], False),
        ("an orphaned runner adds runner_orphaned", ORPHANED, [c.WORKFLOW_COMPLETED], True),
        ("a trace of one event has four nulls", JOURNEY[:1], list(c.MILESTONES[1:]), False),
    ],
)
def test_milestones_always_list_the_five_keys(case, events, nulls, orphaned_key):
    milestones = trace_view(head_of(events), SPEC_JOURNEY)["milestones"]
    assert list(milestones)[:5] == list(c.MILESTONES), case
    assert [k for k, v in milestones.items() if v is None] == nulls, case
    assert (c.RUNNER_ORPHANED in milestones) is orphaned_key, case


def test_timestamps_are_iso_utc_with_milliseconds():
    document = trace_view(head_of(JOURNEY), SPEC_JOURNEY)
    assert document["milestones"][c.WEBHOOK_RECEIVED] == "2026-10-01T00:00:01.234Z"
    assert document["milestones"][c.JOB_QUEUED] == "2026-10-01T00:00:01.314Z"
    assert document["firstSeen"] == "2026-10-01T00:00:01.234Z"


def spans_by_action(events: list[tuple[int, str, str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {s["action"]: dict(s) for s in trace_view(head_of(events), SPEC_JOURNEY)["spans"]}


@pytest.mark.parametrize(
    ("case", "events", "action", "expected"),
    [
        (
            "a phase spans two consecutive milestones and belongs to the later one's service",
            JOURNEY,
            "queue: job_queued→task_launched",
            {"service": c.SERVICE_QUEUE, "kind": "phase", "durationMs": 312, "status": "ok"},
        ),
        (
            "a phase skips a missing milestone",
            without(c.TASK_LAUNCHED),
            "startup: job_queued→runner_started",
            {"service": c.SERVICE_RUNNER, "kind": "phase", "durationMs": 1416, "status": "ok"},
        ),
        (
            "an event with metadata.duration is a span ending at its time",
            JOURNEY,
            c.WORKFLOW_COMPLETED,
            {
                "kind": "duration",
                "durationMs": 240512,
                "start": "2026-10-01T00:00:02.730Z",
                "end": "2026-10-01T00:04:03.242Z",
            },
        ),
        (
            "an event without a duration is a zero-length point",
            JOURNEY,
            c.CACHE_HIT,
            {"kind": "point", "durationMs": 0, "start": "2026-10-01T00:00:10.234Z", "end": "2026-10-01T00:00:10.234Z"},
        ),
        (
            "a milestone event is a point too",
            JOURNEY,
            c.RUNNER_STARTED,
            {"service": c.SERVICE_RUNNER, "kind": "point", "durationMs": 0, "status": "ok"},
        ),
        (
            "the orphan is a terminal phase after the last journey milestone, in error",
            ORPHANED,
            "orphaned: runner_started→runner_orphaned",
            {"service": c.SERVICE_RECONCILER, "kind": "phase", "durationMs": 4_000_000 - 1496, "status": "error"},
        ),
        (
            "a failed workflow's execution phase is in error",
            FAILED,
            "execution: runner_started→workflow_completed",
            {"service": c.SERVICE_RUNNER, "status": "error", "durationMs": 240512},
        ),
        (
            "a negative duration is ignored: the event is a point",
            replaced(c.CACHE_HIT, {"duration": -5}),
            c.CACHE_HIT,
            {"kind": "point", "durationMs": 0},
        ),
        (
            "a non-numeric duration is ignored: the event is a point",
            replaced(c.CACHE_HIT, {"duration": "5s"}),
            c.CACHE_HIT,
            {"kind": "point", "durationMs": 0},
        ),
        (
            "clock skew never draws a negative phase",
            [*without(c.TASK_LAUNCHED), (50, c.SERVICE_QUEUE, c.TASK_LAUNCHED, {})],
            "queue: job_queued→task_launched",
            {"durationMs": 0},
        ),
    ],
)
def test_spans_are_derived_from_milestones_and_events(case, events, action, expected):
    span = spans_by_action(events)[action]
    assert {k: span[k] for k in expected} == expected, case


def test_every_event_gives_one_span_and_every_milestone_gap_one_phase():
    spans = derive_spans(head_of(JOURNEY), SPEC_JOURNEY)
    assert sum(s.kind != "phase" for s in spans) == len(JOURNEY)
    assert [s.action.split(":")[0] for s in spans if s.kind == "phase"] == ["dispatch", "queue", "startup", "execution"]
    assert [s.start_ms for s in spans] == sorted(s.start_ms for s in spans)


@pytest.mark.parametrize(
    ("case", "events", "levels", "expected"),
    [
        ("a successful journey has no errors", JOURNEY, {}, []),
        (
            "a failed workflow lists the logged error with service and action",
            FAILED,
            {},
            [{"service": "Runner", "action": "workflow_completed", "error": {"type": "StepFailed", "step": "t"}}],
        ),
        (
            "an orphan is an error of the reconciler with its reason",
            ORPHANED,
            {},
            [
                {
                    "service": "Reconciler",
                    "action": "runner_orphaned",
                    "error": {"type": "RunnerOrphaned", "reason": "gone"},
                }
            ],
        ),
        (
            "an ERROR-level event without an error field is still listed",
            JOURNEY,
            {c.CACHE_HIT: "ERROR"},
            [{"service": "Runner", "action": "cache_hit", "error": {"type": "Error"}}],
        ),
        (
            "a failed conclusion without an error field is a WorkflowFailed",
            replaced(c.WORKFLOW_COMPLETED, {"conclusion": "failure"}),
            {},
            [{"service": "Runner", "action": "workflow_completed", "error": {"type": "WorkflowFailed"}}],
        ),
    ],
)
def test_errors_list_every_failed_event(case, events, levels, expected):
    errors = trace_view(head_of(events, level=levels), SPEC_JOURNEY)["errors"]
    assert [{k: e[k] for k in ("service", "action", "error")} for e in errors] == expected, case


@pytest.mark.parametrize(("declared", "expected"), [("DeployFailed", "DeployFailed"), ("", "Failed")])
def test_a_failed_conclusion_is_named_by_its_resolution_s_error_in_the_spec(declared, expected):
    resolutions = tuple(
        dataclasses.replace(r, error=declared) if r.action == c.WORKFLOW_COMPLETED else r
        for r in SPEC_JOURNEY.resolutions
    )
    journey = dataclasses.replace(SPEC_JOURNEY, resolutions=resolutions)
    event = TraceEvent(T, "Runner", c.WORKFLOW_COMPLETED, "INFO", {"conclusion": "failure"})
    assert error_of(event, journey) == {"type": expected}


def with_completion_outcome(field: tuple[str, ...] | None) -> Any:
    """The shipped journey with the completion's `outcome` field replaced (None: the spec declares none)."""
    resolutions = tuple(
        dataclasses.replace(r, outcome_field=field) if r.action == c.WORKFLOW_COMPLETED else r
        for r in SPEC_JOURNEY.resolutions
    )
    return dataclasses.replace(SPEC_JOURNEY, resolutions=resolutions)


@pytest.mark.parametrize(
    ("case", "field", "events", "errors", "expected_outcome"),
    [
        ("the shipped outcome field reading failure fails the completion", ("metadata", "conclusion"),
         replaced(c.WORKFLOW_COMPLETED, {"conclusion": "failure"}), [c.WORKFLOW_COMPLETED], "failure"),
        ("an outcome field the spec renames decides in its place", ("metadata", "result"),
         replaced(c.WORKFLOW_COMPLETED, {"result": "failure"}), [c.WORKFLOW_COMPLETED], "failure"),
        ("a key the spec does not name as the outcome decides nothing", ("metadata", "result"),
         replaced(c.WORKFLOW_COMPLETED, {"conclusion": "failure"}), [], "success"),
        ("a resolution without an outcome field fails only as any event does", None,
         replaced(c.WORKFLOW_COMPLETED, {"conclusion": "failure"}), [], "success"),
        ("another outcome is no failure", ("metadata", "conclusion"),
         replaced(c.WORKFLOW_COMPLETED, {"conclusion": "cancelled"}), [], "cancelled"),
        ("the outcome field of an event no resolution names decides nothing", ("metadata", "conclusion"),
         replaced(c.CACHE_HIT, {"conclusion": "failure"}), [], "success"),
    ],
)
def test_an_event_fails_by_the_outcome_its_resolution_declares_in_the_spec_not_by_a_key_the_engine_names(
    case, field, events, errors, expected_outcome
):
    journey = with_completion_outcome(field)
    document = trace_view(head_of(events), journey)
    assert [(e["action"], e["error"]) for e in document["errors"]] == [
        (action, {"type": "WorkflowFailed"}) for action in errors], case
    assert document["outcome"] == expected_outcome, case


@pytest.mark.parametrize(
    ("case", "metadata", "expected"),
    [
        ("a server error status names the status", {"status": 503}, {"type": "HTTP503"}),
        ("a string error becomes a message", {"error": "boom"}, {"type": "Error", "message": "boom"}),
        ("an error object without a type gets one", {"error": {"code": 7}}, {"type": "Error", "code": 7}),
    ],
)
def test_an_error_always_has_a_type(case, metadata, expected):
    assert error_of(TraceEvent(T, "Api", c.API_REQUEST, "ERROR", metadata), SPEC_JOURNEY) == expected, case


@pytest.mark.parametrize(
    ("case", "events", "expected"),
    [
        ("a completed success", JOURNEY, "success"),
        ("a completed failure", FAILED, "failure"),
        ("a cancelled run", replaced(c.WORKFLOW_COMPLETED, {"conclusion": "cancelled"}), "cancelled"),
        ("a reported orphan", ORPHANED, "orphaned"),
        ("a started runner not yet resolved", without(c.WORKFLOW_COMPLETED), "running"),
        ("a queued job", JOURNEY[:2], "pending"),
    ],
)
def test_the_outcome_says_how_the_journey_ended(case, events, expected):
    assert outcome(head_of(events), SPEC_JOURNEY) == expected, case


def test_a_silent_orphan_claimed_by_the_sweeper_is_orphaned():
    head = head_of(without(c.WORKFLOW_COMPLETED))
    head.claims[c.ORPHAN_RATE] = "sweeper/1790834400"
    assert outcome(head, SPEC_JOURNEY) == "orphaned"


def test_the_document_carries_identity_fields_and_is_json():
    document = trace_view(head_of(JOURNEY), SPEC_JOURNEY)
    assert {k: document[k] for k in ("correlationId", "found", "workflowId", "repository", "truncated")} == {
        "correlationId": CID,
        "found": True,
        "workflowId": "4242424242",
        "repository": "acme/web",
        "truncated": False,
    }
    assert json.loads(json.dumps(document)) == document


@pytest.mark.parametrize(
    "value",
    ["not-a-uuid", "", "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a0", "7d3f9a52_1c4e_4b8a_9f21_5e6d7c8b9a01", "x" * 500],
)
def test_a_malformed_id_is_refused_with_a_short_message(value):
    with pytest.raises(MalformedCorrelationIdError) as raised:
        check_correlation_id(value)
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 200


def test_a_uuid_is_accepted_as_is():
    assert check_correlation_id(CID) == CID


@pytest.mark.parametrize(
    ("case", "level", "expected"),
    [("a failed API request", "ERROR", "failure"), ("a served API request", "INFO", "success")],
)
def test_a_trace_outside_the_journey_ends_as_its_events_did_not_pending(case, level, expected):
    status = 503 if level == "ERROR" else 200
    head = head_of([(0, "Api", "api_request", {"status": status})], level={"api_request": level})
    assert outcome(head, SPEC_JOURNEY) == expected, case


def test_a_trace_that_reached_a_milestone_is_judged_by_the_journey():
    assert outcome(head_of(JOURNEY[:1]), SPEC_JOURNEY) == "pending"


@pytest.mark.parametrize("duration", [float("inf"), float("nan"), -1, 1e300, 2 * 1_790_812_800_000],
                         ids=["inf", "nan", "negative", "huge", "before-the-epoch"])
def test_a_duration_that_is_no_span_makes_a_point_event_not_an_error(duration: float) -> None:
    # heads stored before redaction turned non-finite numbers to text can hold them
    event = TraceEvent(1_790_812_800_000, "Api", "api_request", "INFO", {"duration": duration})
    assert event_duration_ms(event) is None
    assert event_duration_ms(TraceEvent(1_790_812_800_000, "Api", "api_request", "INFO", {"duration": 250.4})) == 250
