"""A trace as OTLP/JSON (an ExportTraceServiceRequest), so it opens in Jaeger or Grafana Tempo.

Encoding follows opentelemetry-proto's JSON mapping: lowerCamelCase fields, traceId/spanId as hex (not
base64), 64-bit nanosecond times as decimal strings, enums as integers. One resourceSpans per service
(resource attribute service.name); every derived span is a child of one root span that covers the trace.
IDs are deterministic: traceId is the correlation UUID's 32 hex digits, spanId the first 16 hex digits of
sha256 over (correlation ID, service, name, kind, start, end), so exporting twice gives identical files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from processors.spec.model import Journey, id_labels
from processors.stitching.model import TraceHead
from processors.tracing.view import Span, derive_spans, outcome

SCOPE_NAME = "slo-pipeline.tracing"
SCOPE_VERSION = "1"
SPAN_KIND_INTERNAL = 1
STATUS_CODE_OK = 1
STATUS_CODE_ERROR = 2
ROOT_KIND = "root"


def trace_id(correlation_id: str) -> str:
    """The correlation UUID's 32 hex digits, lower case."""
    return correlation_id.replace("-", "").lower()


def span_id(correlation_id: str, service: str, name: str, kind: str, start_ms: int, end_ms: int) -> str:
    """16 hex digits, deterministic; never the invalid all-zero ID."""
    seed = f"{correlation_id}|{service}|{name}|{kind}|{start_ms}|{end_ms}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return digest if int(digest, 16) else "0000000000000001"


def nanos(time_ms: int) -> str:
    return str(time_ms * 1_000_000)


def attribute(key: str, value: Any) -> dict[str, Any]:
    """An OTLP KeyValue; int64 values are strings in JSON, anything not scalar becomes its string form."""
    if isinstance(value, bool):
        encoded: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        encoded = {"intValue": str(value)}
    elif isinstance(value, float):
        encoded = {"doubleValue": value}
    else:
        encoded = {"stringValue": value if isinstance(value, str) else str(value)}
    return {"key": key, "value": encoded}


def _metadata_attributes(metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Scalar metadata (already allow-listed and redacted at ingest) as `slo.metadata.*` attributes."""
    return [
        attribute(f"slo.metadata.{key}", value)
        for key, value in sorted(metadata.items())
        if key not in ("action", "error") and isinstance(value, str | int | float | bool)
    ]


def otlp_trace(head: TraceHead, journey: Journey | None) -> dict[str, Any]:
    """The ExportTraceServiceRequest JSON document for one stored trace."""
    cid = head.correlation_id
    spans = derive_spans(head, journey)
    common = [attribute("slo.correlation_id", cid)]
    workflow_label, repository_label = id_labels(journey)
    if head.workflow_id:
        common.append(attribute(f"slo.{workflow_label}", head.workflow_id))
    if head.repository:
        common.append(attribute(f"slo.{repository_label}", head.repository))

    start = min((s.start_ms for s in spans), default=head.first_seen_ms or 0)
    end = max((s.end_ms for s in spans), default=start)
    root_service = spans[0].service if spans else "slo-pipeline"
    unit = journey.name if journey is not None else "workflow"
    root_name = f"{head.repository} {unit} {head.workflow_id}" if head.workflow_id else f"trace {cid}"
    root_id = span_id(cid, root_service, root_name, ROOT_KIND, start, end)
    result = outcome(head, journey)
    root = {
        "traceId": trace_id(cid),
        "spanId": root_id,
        "name": root_name,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": nanos(start),
        "endTimeUnixNano": nanos(end),
        "attributes": [
            *common,
            attribute("slo.kind", ROOT_KIND),
            attribute("slo.outcome", result),
            attribute("slo.truncated", head.truncated),
        ],
        "status": {"code": STATUS_CODE_ERROR, "message": result}
        if any(s.failed for s in spans)
        else {"code": STATUS_CODE_OK},
    }
    by_service: dict[str, list[dict[str, Any]]] = {root_service: [root]}
    used = {root_id}
    for span in spans:
        encoded = _span(span, cid, root_id, common)
        while encoded["spanId"] in used:  # identical twins (same service, name and times): still unique IDs
            encoded["spanId"] = span_id(cid, span.service, span.action, span.kind, span.start_ms, len(used))
        used.add(encoded["spanId"])
        by_service.setdefault(span.service, []).append(encoded)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attribute("service.name", service)]},
                "scopeSpans": [{"scope": {"name": SCOPE_NAME, "version": SCOPE_VERSION}, "spans": encoded_spans}],
            }
            for service, encoded_spans in by_service.items()
        ]
    }


def _span(span: Span, cid: str, parent: str, common: list[dict[str, Any]]) -> dict[str, Any]:
    attributes = [*common, attribute("slo.action", span.action), attribute("slo.kind", span.kind)]
    attributes += _metadata_attributes(span.metadata)
    status: dict[str, Any] = {"code": STATUS_CODE_OK}
    if span.failed:
        error = span.error or {"type": "Error"}
        status = {"code": STATUS_CODE_ERROR, "message": str(error.get("type", "Error"))}
        attributes.append(attribute("error.type", str(error.get("type", "Error"))))
    return {
        "traceId": trace_id(cid),
        "spanId": span_id(cid, span.service, span.action, span.kind, span.start_ms, span.end_ms),
        "parentSpanId": parent,
        "name": span.action,
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": nanos(span.start_ms),
        "endTimeUnixNano": nanos(span.end_ms),
        "attributes": attributes,
        "status": status,
    }
