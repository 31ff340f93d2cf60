"""The trace view: a stored TraceHead → spans, the latency breakdown, errors and the JSON document. Pure.

Spans are not stored; they are derived here at read time from the head's milestones and events:

* a **phase** span between consecutive milestones of the spec's journey (then to a resolution), named
  "{phase}: {from}→{to}" and attributed to the service of the later milestone; a missing milestone is
  skipped, so the phase spans the gap;
* a **duration** span `[time − metadata.duration, time]` for every event that reports a duration (ms);
* a **point** span (durationMs 0) for every other event.

A span's status is "error" when its event failed (TraceEvent.failed, or the journey's sweep resolution);
a phase takes its later milestone's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from processors.decoding.structured import is_correlation_id
from processors.spec.model import Journey, Resolution
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

ARROW = "→"
FAILURE = "failure"  # a failed unit's outcome, and the outcome value that makes a resolution's event fail


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


def derive_spans(head: TraceHead, journey: Journey | None) -> list[Span]:
    """Phase, point and duration spans, ordered by start (phases, then points, first on ties), then end."""
    spans = phase_spans(head, journey) + [event_span(event, journey) for event in head.events]
    order = {PHASE: 0, POINT: 1, DURATION: 2}
    return sorted(spans, key=lambda s: (s.start_ms, order[s.kind], s.end_ms, s.action, s.service))


def phase_spans(head: TraceHead, journey: Journey | None) -> list[Span]:
    if journey is None:
        return []
    milestones = head.milestones
    path = list(journey.path)
    spans = []
    for milestone in (*journey.milestones[1:], *(a for a in journey.terminal if a not in journey.milestones)):
        name = journey.phase_ending(milestone)
        if milestone not in milestones or name is None:
            continue
        # A path milestone follows the last one present before it; a resolution, the last present at all.
        earlier = path[: path.index(milestone)] if milestone in path else path
        previous = next((m for m in reversed(earlier) if m in milestones), None)
        if previous is None:
            continue
        event = milestone_event(head, milestone)
        failed = bool(event and failed_event(event, journey))
        start, end = milestones[previous], milestones[milestone]
        spans.append(
            Span(
                service=event.service if event else journey.service_of(milestone),
                action=f"{name}: {previous}{ARROW}{milestone}",
                kind=PHASE,
                start_ms=start,
                end_ms=max(start, end),  # clock skew between services must not draw a negative bar
                failed=failed,
                error=error_of(event, journey) if event and failed else None,
            )
        )
    return spans


def failed_event(event: TraceEvent, journey: Journey | None) -> bool:
    """The event failed on its own, its resolution's outcome says failure, or it is the journey's sweep
    resolution (e.g. an orphaned unit)."""
    if event.failed:
        return True
    sweep = journey.sweep if journey else None
    return (sweep is not None and event.action == sweep.action) or failed_resolution(event, journey) is not None


def failed_resolution(event: TraceEvent, journey: Journey | None) -> Resolution | None:
    """The resolution of the event's action whose outcome field (as the spec declares it) reads `failure`, the
    word outcome() itself gives a failed unit; the engine names no outcome key."""
    for resolution in journey.resolutions if journey else ():
        field = resolution.outcome_field
        if resolution.action == event.action and field and _event_field(event, field) == FAILURE:
            return resolution
    return None


def milestone_event(head: TraceHead, milestone: str) -> TraceEvent | None:
    """The event that set the milestone (first seen wins), if the head kept it."""
    time_ms = head.milestones.get(milestone)
    candidates = [e for e in head.events if e.action == milestone]
    exact = [e for e in candidates if e.time_ms == time_ms]
    found = exact or candidates
    return found[0] if found else None


def event_duration_ms(event: TraceEvent) -> int | None:
    value = event.metadata.get("duration")
    # a duration reaching before the epoch is no span (NaN fails both comparisons, ±inf the second; heads stored
    # before redaction turned them to text can hold them)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= max(event.time_ms, 0):
        return None
    return round(value)


def event_span(event: TraceEvent, journey: Journey | None) -> Span:
    duration = event_duration_ms(event)
    failed = failed_event(event, journey)
    return Span(
        service=event.service,
        action=event.action,
        kind=POINT if duration is None else DURATION,
        start_ms=event.time_ms - (duration or 0),
        end_ms=event.time_ms,
        failed=failed,
        error=error_of(event, journey) if failed else None,
        metadata=event.metadata,
    )


# --- breakdown, errors, outcome ---------------------------------------------------------------------------


def breakdown(milestones: Mapping[str, int], journey: Journey | None) -> dict[str, int | None]:
    """Milliseconds per phase, then `total` (first to last milestone); None when either end is missing.
    Negative means clock skew, shown as is."""
    if journey is None:
        return {}
    pairs = [(phase.name, phase.start, phase.end) for phase in journey.phases]
    pairs.append(("total", journey.milestones[0], journey.milestones[-1]))
    return {
        name: milestones[end] - milestones[start] if start in milestones and end in milestones else None
        for name, start, end in pairs
    }


def error_of(event: TraceEvent, journey: Journey | None = None) -> dict[str, Any]:
    """The logged `metadata.error` as an object with a `type`, or one made from why the event failed."""
    error = event.error
    if isinstance(error, dict) and error:
        return {"type": "Error", **error} if "type" not in error else dict(error)
    if isinstance(error, str | int | float) and not isinstance(error, bool) and error != "":
        return {"type": "Error", "message": str(error)}
    metadata = event.metadata
    sweep = journey.sweep if journey else None
    if sweep is not None and event.action == sweep.action:
        found: dict[str, Any] = {"type": sweep.error or "Unresolved"}
    elif (failed := failed_resolution(event, journey)) is not None:
        found = {"type": failed.error or "Failed"}
    elif isinstance(metadata.get("status"), int) and not isinstance(metadata.get("status"), bool):
        found = {"type": f"HTTP{metadata['status']}"} if metadata["status"] >= 500 else {"type": event.level.title()}
    else:
        found = {"type": event.level.title()}
    if isinstance(metadata.get("reason"), str):
        found["reason"] = metadata["reason"]
    return found


def trace_errors(head: TraceHead, journey: Journey | None) -> list[ErrorDocument]:
    return [
        {"service": e.service, "action": e.action, "time": iso_ms(e.time_ms), "error": error_of(e, journey)}
        for e in head.events
        if failed_event(e, journey)
    ]


def in_journey(head: TraceHead, journey: Journey | None) -> bool:
    """The trace reached one of the journey's milestones or resolutions (an API request's trace does not)."""
    if journey is None:
        return False
    actions = {*journey.milestones, *journey.terminal}
    return any(action in actions for action in head.milestones)


def outcome(head: TraceHead, journey: Journey | None) -> str:
    """How the unit ended, so far: the sweep resolution's name (e.g. orphaned) when swept or reported; else a
    resolution's outcome field (e.g. the conclusion), or failure / success; else running once it opened,
    else pending. A trace outside the journey ends as its events did: failure if one failed, else success."""
    if not in_journey(head, journey):
        return FAILURE if any(failed_event(event, journey) for event in head.events) else "success"
    assert journey is not None
    sweep = journey.sweep
    if sweep is not None and (
        sweep.action in head.milestones or any(str(claim).startswith("sweeper/") for claim in head.claims.values())
    ):
        return sweep.name
    for resolution in journey.resolutions:
        if resolution.sweep or resolution.action not in head.milestones:
            continue
        event = milestone_event(head, resolution.action)
        value = _event_field(event, resolution.outcome_field) if event and resolution.outcome_field else None
        if isinstance(value, str) and value:
            return value
        return FAILURE if event and failed_event(event, journey) else "success"
    if journey.opens in head.milestones:
        return "running"
    return "pending"


def _event_field(event: TraceEvent, path: tuple[str, ...]) -> Any:
    """A field of a stored event, addressed as in a matcher (metadata.x, level, service, action)."""
    value: Any = {"metadata": event.metadata, "level": event.level, "service": event.service}
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


# --- documents --------------------------------------------------------------------------------------------


def trace_view(head: TraceHead, journey: Journey | None) -> TraceDocument:
    """The trace as the JSON document shared by `slo trace --json` and GET /traces/{id}."""
    declared = journey.milestones if journey else ()
    milestones: dict[str, str | None] = {
        m: iso_ms(head.milestones[m]) if m in head.milestones else None for m in declared
    }
    for action in journey.terminal if journey else ():  # a resolution off the path shows only when it happened
        if action not in milestones and action in head.milestones:
            milestones[action] = iso_ms(head.milestones[action])
    return {
        "correlationId": head.correlation_id,
        "found": True,
        "workflowId": head.workflow_id,
        "repository": head.repository,
        "firstSeen": iso_ms(head.first_seen_ms) if head.first_seen_ms is not None else None,
        "outcome": outcome(head, journey),
        "truncated": head.truncated,
        "milestones": milestones,
        "breakdownMs": breakdown(head.milestones, journey),
        "spans": [span.to_json() for span in derive_spans(head, journey)],
        "errors": trace_errors(head, journey),
    }


def not_found_view(correlation_id: str) -> NotFoundDocument:
    return {"correlationId": correlation_id, "found": False}


def trace_summary(
    correlation_id: str, first_seen_ms: int, head: TraceHead | None, journey: Journey | None
) -> TraceSummary:
    return {
        "correlationId": correlation_id,
        "firstSeen": iso_ms(first_seen_ms),
        "workflowId": head.workflow_id if head else None,
        "repository": head.repository if head else None,
        "outcome": outcome(head, journey) if head else "unknown",
    }
