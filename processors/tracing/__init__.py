"""Tracing: spans derived at read time from a stored trace head; the JSON view, the waterfall, OTLP export."""

from typing import Any

from processors.tracing.exceptions import MalformedCorrelationIdError, TracingError
from processors.tracing.otlp import otlp_trace
from processors.tracing.types import ErrorDocument, NotFoundDocument, SpanDocument, TraceDocument, TraceSummary
from processors.tracing.view import (
    Span,
    breakdown,
    check_correlation_id,
    derive_spans,
    not_found_view,
    outcome,
    trace_summary,
    trace_view,
)

__all__ = [
    "ErrorDocument",
    "MalformedCorrelationIdError",
    "NotFoundDocument",
    "Span",
    "SpanDocument",
    "TraceDocument",
    "TraceSummary",
    "TracingError",
    "breakdown",
    "check_correlation_id",
    "derive_spans",
    "not_found_view",
    "otlp_trace",
    "outcome",
    "print_waterfall",
    "trace_summary",
    "trace_view",
    "waterfall_lines",
]


def __getattr__(name: str) -> Any:
    """The waterfall (and rich, which it needs) loads on first use: the trace API never draws one (cold start)."""
    if name in ("print_waterfall", "waterfall_lines"):
        from processors.tracing import waterfall

        return getattr(waterfall, name)
    raise AttributeError(f"module 'processors.tracing' has no attribute {name!r}")
