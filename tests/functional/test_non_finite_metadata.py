"""A log's number beyond a float (1e400, or json's Infinity/NaN) reaches the trace as text, on both adapters."""

from __future__ import annotations

import json

from processors.decoding import decode_record
from processors.ingest import Ingestor
from processors.tracing import trace_view
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record

LINE = (
    '{"timestamp": "2026-10-01T00:00:00Z", "correlationId": "%s", "service": "Api", '
    '"metadata": {"action": "api_request", "status": 200, "duration": 1e400, "error": {"retryAfter": NaN}}}'
)


def _strict(name: str) -> None:
    raise AssertionError(f"{name} in the trace's JSON")


def test_a_duration_beyond_a_float_is_stored_as_text_and_the_trace_still_renders(store, spec):
    record = kinesis_record(gz(cw_payload([LINE % cid(1)], t_ms=int(T0 * 1000))), 1)
    report = Ingestor(store, spec).apply_batch(STREAM_ARN, "shardId-000000000000", [decode_record(record)])
    assert (report.events, dict(report.skips)) == (1, {})
    head = store.heads([cid(1)])[cid(1)]
    stored = head.events[0].metadata
    assert (stored["duration"], stored["error"]) == ("Infinity", {"retryAfter": "NaN"})
    assert json.loads(head.compact_json(), parse_constant=_strict)["events"][0]["m"] == stored
    view = json.loads(json.dumps(trace_view(head, spec.journey)), parse_constant=_strict)
    assert (view["spans"][0]["kind"], view["spans"][0]["durationMs"]) == ("point", 0)
