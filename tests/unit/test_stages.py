"""The pure stages on their own, as tables: classify (log event -> SLI events) and stitch (events of one
correlation ID -> pair claims, first resolutions, latency). No store, no decoding: events are built here.

A redelivered milestone (a producer retry, or the same line delivered twice) never moves a mark that was
already set: the FIRST PROCESSED copy wins, even when the later copy carries an earlier timestamp. A claim
counts something exactly once, and a count cannot be taken back, so a mark must not change once a claim may
have read it. Within a shard the processing order is the sequence order, so the winner is the same on every
replay; the copies of one service's milestone travel in one log stream, hence one shard.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from processors.classifying.classify import Classifier, SliEvent
from processors.decoding.types import LogEvent, Position
from processors.spec import Spec, load_spec, parse_spec
from processors.spec.model import EventsSli, TimeSliceSli
from processors.stitching.model import TraceHead
from processors.stitching.stitch import Stitcher
from tests import runner_platform as conventions

T0 = 1_790_812_800.0  # 2026-10-01T00:00:00Z
CID = "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01"
SPEC = load_spec(None)
SPEC_TEXT = (Path(__file__).resolve().parents[2] / "processors" / "slos.yaml").read_text()


def event(action: str, at: float = T0, sequence: int = 1, **metadata: Any) -> LogEvent:
    log = {"timestamp": at, "level": "INFO", "correlationId": CID, "service": "Svc", "message": action,
           "metadata": {"action": action, **metadata}}
    return LogEvent(Position(sequence), at, CID, action, "Svc", log)


def spec_slis(spec: Spec) -> set[str]:
    return set(spec.names)


CLASSIFY: list[tuple[str, LogEvent, set[tuple[str, bool]]]] = [
    ("a successful api request is a good api-availability event", event("api_request", status=200),
     {("api-availability", True)}),
    ("a 503 is a bad api-availability event", event("api_request", status=503), {("api-availability", False)}),
    ("a 499 is still good: only 5xx burn the budget", event("api_request", status=499), {("api-availability", True)}),
    ("a successful workflow is good for deploy-success", event("workflow_completed", conclusion="success"),
     {("deploy-success", True)}),
    ("a failed workflow is bad for deploy-success", event("workflow_completed", conclusion="failure"),
     {("deploy-success", False)}),
    ("a cancelled workflow is excluded from deploy-success", event("workflow_completed", conclusion="cancelled"),
     set()),
    ("a cache hit is a good lookup of the cache-hit-rate slice", event("cache_hit"), {("cache-hit-rate", True)}),
    ("a cache miss is a bad lookup of the cache-hit-rate slice", event("cache_miss"), {("cache-hit-rate", False)}),
    ("an action no SLI names counts for nothing", event("something_else"), set()),
    ("a milestone with no ratio SLI counts for nothing here (stitching decides it)", event("webhook_received"),
     set()),
]


@pytest.mark.parametrize(("case", "log_event", "expected"), CLASSIFY, ids=[c[0] for c in CLASSIFY])
def test_classify(case: str, log_event: LogEvent, expected: set[tuple[str, bool]]) -> None:
    results = Classifier(SPEC).classify(log_event)
    # only the spec's SLIs; the built-in operator counters (names starting with "_") are not the spec's
    names = {SPEC.series_of(name): name for name in spec_slis(SPEC)}  # events name the series: name@revision
    assert {(names[r.sli], r.good) for r in results if r.sli in names} == expected
    assert all(r.time == log_event.time and r.correlation_id == CID for r in results)


HALF_NAMED_SLICES = [
    ("bad: {action: cache_miss}", "bad: {status: 500}"),  # good names an action, bad does not
    ("good: {action: cache_hit}", "good: {hit: true}"),  # bad names an action, good does not
]


@pytest.mark.parametrize(("named", "unnamed"), HALF_NAMED_SLICES)
def test_a_slice_whose_matchers_name_an_action_on_one_side_only_counts_each_event_once(
    named: str, unnamed: str
) -> None:
    spec = parse_spec(SPEC_TEXT.replace(named, unnamed))
    classifier, series = Classifier(spec), spec.series_of("cache-hit-rate")
    for action, fields in (("cache_hit", {"hit": True}), ("cache_miss", {"status": 500})):
        planned = event(action, **fields)  # metadata.action is the event's action: the planned path
        unplanned = event(action, **fields)
        unplanned.log["metadata"]["action"] = "".join(action)  # equal, not the same object: the closures
        for log_event in (planned, unplanned):
            assert [r.sli for r in classifier.classify(log_event)].count(series) == 1, (action, log_event.log)
    assert classifier.max_matches() == most_matches(spec)


def most_matches(spec: Spec) -> int:
    """Classifier.max_matches from its definition: the most events or slice SLOs and field sketches whose
    matchers can match one action (name it, or name none)."""
    matchers = [(slo.name, [slo.sli.match] if isinstance(slo.sli, EventsSli) else [slo.sli.good, slo.sli.bad])
                for slo in (*spec.slos, *spec.counters) if isinstance(slo.sli, EventsSli | TimeSliceSli)]
    matchers += [(sketch.name, [sketch.match]) for sketch in spec.latency if sketch.match is not None]
    named = {key for _, sides in matchers for matcher in sides for key in matcher.dispatch_keys} - {None}
    return max(sum(any(action in m.dispatch_keys or None in m.dispatch_keys for m in sides) for _, sides in matchers)
               for action in (*named, "an action no matcher names"))


def stitch(events: list[LogEvent], spec: Spec = SPEC) -> tuple[TraceHead, list[SliEvent], list[Any]]:
    """Apply `events` in order to one head, as ingest does; every SLI event and latency sample they caused."""
    stitcher, head = Stitcher(spec), TraceHead(correlation_id=CID)
    slis: list[SliEvent] = []
    samples: list[Any] = []
    for e in events:
        result = stitcher.apply(head, e, "stream", "shard")
        slis += result.sli_events
        samples += result.latency_samples
    return head, slis, samples


def queue_latency(slis: list[SliEvent]) -> list[tuple[float, bool]]:
    return [(s.time - T0, s.good) for s in slis if s.sli == SPEC.series_of(conventions.QUEUE_LATENCY)]


STITCH: list[tuple[str, list[LogEvent], list[tuple[float, bool]]]] = [
    ("a runner starting 3 s after the webhook is a good queue-latency event at the start",
     [event("webhook_received"), event("runner_started", T0 + 3, 2)], [(3.0, True)]),
    ("a runner starting 6 s after the webhook is a bad one (threshold 5 s)",
     [event("webhook_received"), event("runner_started", T0 + 6, 2)], [(6.0, False)]),
    ("the end arriving before the start still pairs them, once",
     [event("runner_started", T0 + 2, 1), event("webhook_received", T0, 2)], [(2.0, True)]),
    ("a start alone decides nothing", [event("webhook_received")], []),
    ("a redelivered start with a later timestamp does not move the start: first processed wins",
     [event("webhook_received"), event("webhook_received", T0 + 4, 2), event("runner_started", T0 + 6, 3)],
     [(6.0, False)]),
    ("a redelivered start with an earlier timestamp does not move it either: first processed wins",
     [event("webhook_received", T0 + 4), event("webhook_received", T0, 2), event("runner_started", T0 + 6, 3)],
     [(6.0, True)]),
    ("a redelivered end after the claim counts nothing again",
     [event("webhook_received"), event("runner_started", T0 + 3, 2), event("runner_started", T0 + 9, 3)],
     [(3.0, True)]),
]


@pytest.mark.parametrize(("case", "events", "expected"), STITCH, ids=[c[0] for c in STITCH])
def test_stitch_queue_latency(case: str, events: list[LogEvent], expected: list[tuple[float, bool]]) -> None:
    _head, slis, _samples = stitch(events)
    assert queue_latency(slis) == expected


def test_a_redelivered_milestone_keeps_the_first_processed_time_on_the_head() -> None:
    head, _slis, _samples = stitch([event("webhook_received", T0 + 4), event("webhook_received", T0, 2)])
    assert head.milestones["webhook_received"] == round((T0 + 4) * 1000)
    assert head.first_seen_ms == round(T0 * 1000)  # first seen is a minimum, not a mark: the earliest line
    assert len(head.events) == 2  # both lines stay visible in the trace


RESOLUTION: list[tuple[str, list[LogEvent], list[bool]]] = [
    ("a completed runner resolves orphan-rate as good",
     [event("runner_started"), event("workflow_completed", T0 + 60, 2, conclusion="success")], [True]),
    ("an orphaned runner resolves orphan-rate as bad",
     [event("runner_started"), event("runner_orphaned", T0 + 60, 2)], [False]),
    ("the first resolution wins: an orphan report after completion counts nothing",
     [event("runner_started"), event("workflow_completed", T0 + 60, 2, conclusion="failure"),
      event("runner_orphaned", T0 + 90, 3)], [True]),
]


@pytest.mark.parametrize(("case", "events", "expected"), RESOLUTION, ids=[c[0] for c in RESOLUTION])
def test_stitch_first_resolution(case: str, events: list[LogEvent], expected: list[bool]) -> None:
    head, slis, _samples = stitch(events)
    assert [s.good for s in slis if s.sli == SPEC.series_of(conventions.ORPHAN_RATE)] == expected
    assert head.open_since_ms is None  # resolved: no longer an open runner for the sweep


# Cross-event rules whose matchers name no action: the stitcher meets them on every action, and on an action one
# of their matchers names they come up twice (its own and the wildcard's), still deciding once.
WILDCARD_SPEC = parse_spec("""\
apiVersion: slo-pipeline/v1
kind: SLOSpec
slos:
  - name: resolved
    objective: 0.99
    sli:
      resolution:
        good: {conclusion: success}
        bad: {action: orphaned}
  - name: answered
    objective: 0.99
    sli:
      latency:
        start: {action: received}
        end: {status: {ge: 200}}
        threshold_ms: 1000
latency:
  - name: get-to-error
    start: {method: GET}
    end: {status: {ge: 500}}
""", "wildcard.yaml")

WILDCARD: list[tuple[str, list[LogEvent], list[tuple[str, float, bool]], list[tuple[str, float]]]] = [
    ("a good resolution that names no action resolves on an action no rule names, once",
     [event("deployed", T0, 1, conclusion="success"), event("orphaned", T0 + 5, 2)], [("resolved", 0, True)], []),
    ("a resolution on an action named by its bad matcher and matched by its good one is good, once",
     [event("orphaned", T0, 1, conclusion="success"), event("orphaned", T0 + 5, 2)], [("resolved", 0, True)], []),
    ("a latency ends at the first event of any action matching its end",
     [event("received", T0, 1), event("replied", T0 + 0.5, 2, status=200), event("replied", T0 + 2, 3, status=200)],
     [("answered", 0.5, True)], []),
    ("an event matching a latency's start and end is both, claimed once",
     [event("received", T0, 1, status=204), event("received", T0 + 3, 2, status=200)], [("answered", 0, True)], []),
    ("an end before any start is kept: the start claims the pair, timed at the end",
     [event("replied", T0, 1, status=200), event("received", T0 + 2, 2)], [("answered", 0, True)], []),
    ("a sketch between two matchers that name no action is sampled once",
     [event("fetch", T0, 1, method="GET"), event("fail", T0 + 2, 2, status=503), event("fail", T0 + 3, 3, status=500)],
     [], [("get-to-error", 2000.0)]),
    ("rules that name no action still meet an action other rules name",
     [event("received", T0, 1, method="GET"), event("orphaned", T0 + 1, 2, status=500)],
     [("resolved", 1, False), ("answered", 1, True)], [("get-to-error", 1000.0)]),
]


@pytest.mark.parametrize(("case", "events", "slis", "samples"), WILDCARD, ids=[c[0] for c in WILDCARD])
def test_stitch_rules_whose_matchers_name_no_action(
    case: str, events: list[LogEvent], slis: list[tuple[str, float, bool]], samples: list[tuple[str, float]]
) -> None:
    _head, sli_events, latency_samples = stitch(events, WILDCARD_SPEC)
    names = {WILDCARD_SPEC.series_of(slo.name): slo.name for slo in WILDCARD_SPEC.slos}
    assert [(names[s.sli], s.time - T0, s.good) for s in sli_events] == slis
    sketches = {WILDCARD_SPEC.sketch_series(sketch.name): sketch.name for sketch in WILDCARD_SPEC.latency}
    assert [(sketches[s.sketch], s.value_ms) for s in latency_samples] == samples


def test_an_empty_workflow_id_is_not_recorded_and_a_later_one_is() -> None:
    """As for the repository: an empty ID would be kept for good (the first one wins) and found by no search."""
    head, _slis, _samples = stitch([event("webhook_received", workflowId="", repository=""),
                                    event("runner_started", T0 + 1, 2, workflowId=42, repository="acme/web")])
    assert (head.workflow_id, head.repository) == ("42", "acme/web")


def test_a_blank_workflow_id_or_repository_is_not_recorded_and_a_later_one_is() -> None:
    head, _slis, _samples = stitch([event("webhook_received", workflowId="  ", repository="\t\n"),
                                    event("runner_started", T0 + 1, 2, workflowId=" 42 ", repository="acme/web")])
    assert (head.workflow_id, head.repository) == (" 42 ", "acme/web")


def test_a_stitcher_remembers_the_stored_fields_of_short_logged_text_only() -> None:
    """An event's stored service, action and level are kept per triple as logged, to skip their redaction next
    time; a long one is redacted again each time and never held, even when what is stored of it is short (a
    secret redacted away), so hostile lines cannot fill the stitcher's memory."""
    stitcher = Stitcher(SPEC)
    long_action = "token=" + "x" * 5_000
    for sequence, action in enumerate(["api_request", long_action, "api_request", long_action], start=1):
        stitcher.apply(TraceHead(correlation_id=CID), event(action, T0, sequence), "stream", "shard")
    assert list(stitcher._fields) == [("Svc", "api_request", "INFO")]
    head = TraceHead(correlation_id=CID)
    stitcher.apply(head, event(long_action, T0, 5), "stream", "shard")
    assert (head.events[0].service, head.events[0].action, head.events[0].level) == ("Svc", "token=[REDACTED]", "INFO")
