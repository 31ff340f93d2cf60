"""Tracing: spans derived at read time from a stored trace head; the JSON view, the waterfall, OTLP export."""

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
from processors.tracing.waterfall import print_waterfall, waterfall_lines

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
