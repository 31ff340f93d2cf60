"""The trace view: a stored TraceHead → spans, the latency breakdown, errors and the JSON document. Pure.

Spans are not stored; they are derived here at read time from the head's milestones and events:

* a **phase** span between consecutive milestones (webhook_received → job_queued → task_launched →
  runner_started → workflow_completed | runner_orphaned), named "{phase}: {from}→{to}" and attributed to
  the service of the later milestone; a missing milestone is skipped, so the phase spans the gap;
* a **duration** span `[time − metadata.duration, time]` for every event that reports a duration (ms);
* a **point** span (durationMs 0) for every other event.

A span's status is "error" when its event failed (TraceEvent.failed); a phase takes its later milestone's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from processors import conventions
from processors.decoding.structured import is_correlation_id
from processors.stitching.model import TraceEvent, TraceHead
from processors.timeutil import iso_millis
from processors.tracing.exceptions import MalformedCorrelationIdError
from processors.tracing.types import (
    ErrorDocument,
    NotFoundDocument,
    SpanDocument,
    SpanKind,
    SpanStatus,
    TraceDocument,
    TraceSummary,
)

PHASE: SpanKind = "phase"
DURATION: SpanKind = "duration"
POINT: SpanKind = "point"

# Phase names, keyed by the milestone that ends the phase. queue/startup/execution are the breakdown's keys.
PHASE_NAMES: Mapping[str, str] = {
    conventions.JOB_QUEUED: "dispatch",
    conventions.TASK_LAUNCHED: "queue",
    conventions.RUNNER_STARTED: "startup",
    conventions.WORKFLOW_COMPLETED: "execution",
    conventions.RUNNER_ORPHANED: "orphaned",
}
# Who logs each milestone, for a phase whose milestone event was dropped (a truncated trace).
MILESTONE_SERVICES: Mapping[str, str] = {
    conventions.WEBHOOK_RECEIVED: conventions.SERVICE_WEBHOOK,
    conventions.JOB_QUEUED: conventions.SERVICE_WEBHOOK,
    conventions.TASK_LAUNCHED: conventions.SERVICE_QUEUE,
    conventions.RUNNER_STARTED: conventions.SERVICE_RUNNER,
    conventions.WORKFLOW_COMPLETED: conventions.SERVICE_RUNNER,
    conventions.RUNNER_ORPHANED: conventions.SERVICE_RECONCILER,
}
# breakdownMs: name -> (from milestone, to milestone).
BREAKDOWN: Mapping[str, tuple[str, str]] = {
    "dispatch": (conventions.WEBHOOK_RECEIVED, conventions.JOB_QUEUED),
    "queue": (conventions.JOB_QUEUED, conventions.TASK_LAUNCHED),
    "startup": (conventions.TASK_LAUNCHED, conventions.RUNNER_STARTED),
    "execution": (conventions.RUNNER_STARTED, conventions.WORKFLOW_COMPLETED),
    "total": (conventions.WEBHOOK_RECEIVED, conventions.WORKFLOW_COMPLETED),
}
ARROW = "→"


@dataclass(frozen=True)
class Span:
    service: str
    action: str
    kind: SpanKind
    start_ms: int
    end_ms: int
    failed: bool = False
    error: dict[str, Any] | None = field(default=None, compare=False)
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms

    @property
    def status(self) -> SpanStatus:
        return "error" if self.failed else "ok"

    def to_json(self) -> SpanDocument:
        return {
            "service": self.service,
            "action": self.action,
            "kind": self.kind,
            "start": iso_ms(self.start_ms),
            "end": iso_ms(self.end_ms),
            "durationMs": self.duration_ms,
            "status": self.status,
        }


def iso_ms(time_ms: int) -> str:
    return iso_millis(time_ms / 1000)


def check_correlation_id(value: str) -> str:
    """`value` lower-cased (as ingest stores it) when it is a UUID; MalformedCorrelationIdError otherwise."""
    if not is_correlation_id(value):
        raise MalformedCorrelationIdError(value)
    return value.lower()


# --- spans ------------------------------------------------------------------------------------------------


def derive_spans(head: TraceHead) -> list[Span]:
    """Phase, point and duration spans, ordered by start (phases, then points, first on ties), then end."""
    spans = phase_spans(head) + [event_span(event) for event in head.events]
    order = {PHASE: 0, POINT: 1, DURATION: 2}
    return sorted(spans, key=lambda s: (s.start_ms, order[s.kind], s.end_ms, s.action, s.service))


def phase_spans(head: TraceHead) -> list[Span]:
    milestones = head.milestones
    journey = [m for m in conventions.TRACKED_MILESTONES if m not in conventions.TERMINAL_MILESTONES]
    spans = []
    for milestone in PHASE_NAMES:
        if milestone not in milestones:
            continue
        # A journey milestone follows the last one present before it; a terminal one, the last present at all.
        earlier = journey[: journey.index(milestone)] if milestone in journey else journey
        previous = next((m for m in reversed(earlier) if m in milestones), None)
        if previous is None:
            continue
        event = milestone_event(head, milestone)
        start, end = milestones[previous], milestones[milestone]
        spans.append(
            Span(
                service=event.service if event else MILESTONE_SERVICES[milestone],
                action=f"{PHASE_NAMES[milestone]}: {previous}{ARROW}{milestone}",
                kind=PHASE,
                start_ms=start,
                end_ms=max(start, end),  # clock skew between services must not draw a negative bar
                failed=bool(event and event.failed),
                error=error_of(event) if event and event.failed else None,
            )
        )
    return spans


def milestone_event(head: TraceHead, milestone: str) -> TraceEvent | None:
    """The event that set the milestone (first seen wins), if the head kept it."""
    time_ms = head.milestones.get(milestone)
    candidates = [e for e in head.events if e.action == milestone]
    exact = [e for e in candidates if e.time_ms == time_ms]
    found = exact or candidates
    return found[0] if found else None


def event_duration_ms(event: TraceEvent) -> int | None:
    value = event.metadata.get("duration")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        return None
    return round(value)


def event_span(event: TraceEvent) -> Span:
    duration = event_duration_ms(event)
    return Span(
        service=event.service,
        action=event.action,
        kind=POINT if duration is None else DURATION,
        start_ms=event.time_ms - (duration or 0),
        end_ms=event.time_ms,
        failed=event.failed,
        error=error_of(event) if event.failed else None,
        metadata=event.metadata,
    )


# --- breakdown, errors, outcome ---------------------------------------------------------------------------


def breakdown(milestones: Mapping[str, int]) -> dict[str, int | None]:
    """Milliseconds per phase; None when either end is missing. Negative means clock skew, shown as is."""
    return {
        name: milestones[end] - milestones[start] if start in milestones and end in milestones else None
        for name, (start, end) in BREAKDOWN.items()
    }


def error_of(event: TraceEvent) -> dict[str, Any]:
    """The logged `metadata.error` as an object with a `type`, or one made from why the event failed."""
    error = event.error
    if isinstance(error, dict) and error:
        return {"type": "Error", **error} if "type" not in error else dict(error)
    if isinstance(error, str | int | float) and not isinstance(error, bool) and error != "":
        return {"type": "Error", "message": str(error)}
    metadata = event.metadata
    if event.action == conventions.RUNNER_ORPHANED:
        found: dict[str, Any] = {"type": "RunnerOrphaned"}
    elif metadata.get("conclusion") == "failure":
        found = {"type": "WorkflowFailed"}
    elif isinstance(metadata.get("status"), int) and not isinstance(metadata.get("status"), bool):
        found = {"type": f"HTTP{metadata['status']}"} if metadata["status"] >= 500 else {"type": event.level.title()}
    else:
        found = {"type": event.level.title()}
    if isinstance(metadata.get("reason"), str):
        found["reason"] = metadata["reason"]
    return found


def trace_errors(head: TraceHead) -> list[ErrorDocument]:
    return [
        {"service": e.service, "action": e.action, "time": iso_ms(e.time_ms), "error": error_of(e)}
        for e in head.events
        if e.failed
    ]


def outcome(head: TraceHead) -> str:
    """success | failure | cancelled | orphaned | running | pending: how the journey ended, so far."""
    if conventions.RUNNER_ORPHANED in head.milestones or any(
        str(claim).startswith("sweeper/") for claim in head.claims.values()
    ):
        return "orphaned"
    if conventions.WORKFLOW_COMPLETED in head.milestones:
        event = milestone_event(head, conventions.WORKFLOW_COMPLETED)
        conclusion = event.metadata.get("conclusion") if event else None
        if isinstance(conclusion, str) and conclusion:
            return conclusion
        return "failure" if event and event.failed else "success"
    if conventions.RUNNER_STARTED in head.milestones:
        return "running"
    return "pending"


# --- documents --------------------------------------------------------------------------------------------


def trace_view(head: TraceHead) -> TraceDocument:
    """The trace as the JSON document shared by `slo trace --json` and GET /traces/{id}."""
    milestones: dict[str, str | None] = {
        m: iso_ms(head.milestones[m]) if m in head.milestones else None for m in conventions.MILESTONES
    }
    if conventions.RUNNER_ORPHANED in head.milestones:
        milestones[conventions.RUNNER_ORPHANED] = iso_ms(head.milestones[conventions.RUNNER_ORPHANED])
    return {
        "correlationId": head.correlation_id,
        "found": True,
        "workflowId": head.workflow_id,
        "repository": head.repository,
        "firstSeen": iso_ms(head.first_seen_ms) if head.first_seen_ms is not None else None,
        "outcome": outcome(head),
        "truncated": head.truncated,
        "milestones": milestones,
        "breakdownMs": breakdown(head.milestones),
        "spans": [span.to_json() for span in derive_spans(head)],
        "errors": trace_errors(head),
    }


def not_found_view(correlation_id: str) -> NotFoundDocument:
    return {"correlationId": correlation_id, "found": False}


def trace_summary(correlation_id: str, first_seen_ms: int, head: TraceHead | None) -> TraceSummary:
    return {
        "correlationId": correlation_id,
        "firstSeen": iso_ms(first_seen_ms),
        "workflowId": head.workflow_id if head else None,
        "repository": head.repository if head else None,
        "outcome": outcome(head) if head else "unknown",
    }
