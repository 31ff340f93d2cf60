"""Wire shapes of the trace view: the JSON that `slo trace --json` prints and the trace API returns."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

SpanKind = Literal["phase", "duration", "point"]
SpanStatus = Literal["ok", "error"]


class SpanDocument(TypedDict):
    service: str
    action: str
    kind: SpanKind
    start: str
    end: str
    durationMs: int
    status: SpanStatus


class ErrorDocument(TypedDict):
    service: str
    action: str
    time: str
    error: dict[str, Any]


class TraceDocument(TypedDict):
    correlationId: str
    found: bool
    workflowId: str | None
    repository: str | None
    firstSeen: str | None
    outcome: str
    truncated: bool
    milestones: dict[str, str | None]
    breakdownMs: dict[str, int | None]
    spans: list[SpanDocument]
    errors: list[ErrorDocument]


class NotFoundDocument(TypedDict):
    correlationId: str
    found: bool


class TraceSummary(TypedDict):
    """One row of a search: `slo trace --workflow/--repository`."""

    correlationId: str
    firstSeen: str
    workflowId: str | None
    repository: str | None
    outcome: str
