"""The waterfall (fits 100 columns, ASCII and colourless fallbacks) and the OTLP/JSON export's structure."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from processors.tracing import otlp_trace, print_waterfall, waterfall_lines
from processors.tracing.waterfall import human_ms
from tests import runner_platform as c
from tests.builders import SPEC_JOURNEY
from tests.unit.test_tracing_view import CID, FAILED, JOURNEY, ORPHANED, head_of

ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*3[0-9]m|\x1b\[[0-9;]*38;")


def rendered(head, *, width=100, unicode=True) -> list[str]:  # type: ignore[no-untyped-def]
    return [line.plain for line in waterfall_lines(head, SPEC_JOURNEY, width=width, unicode=unicode)]


@pytest.mark.parametrize("width", [100, 140, 80, 60])
@pytest.mark.parametrize("events", [JOURNEY, FAILED, ORPHANED], ids=["journey", "failed", "orphaned"])
def test_every_waterfall_line_fits_the_width_and_never_more_than_100(width, events):
    lines = rendered(head_of(events), width=width)
    assert max(len(line) for line in lines) <= min(width, 100)


def test_the_waterfall_shows_each_span_with_its_duration():
    lines = rendered(head_of(JOURNEY))
    completed = next(line for line in lines if " workflow_completed " in line)
    assert completed.rstrip().endswith("4m00s")
    assert "█" in completed
    assert any("◆" in line and " cache_hit " in line for line in lines)
    assert CID in lines[0] and "success" in lines[0]


def test_a_failed_span_is_marked_and_the_errors_name_service_and_action():
    lines = rendered(head_of(FAILED))
    assert any(line.split()[2:4] == ["✗", "workflow_completed"] for line in lines if len(line.split()) > 3)
    errors = lines[lines.index("errors (1)") + 1 :]
    assert errors[0].strip().startswith("✗ Runner workflow_completed  StepFailed")


def test_without_unicode_the_waterfall_is_pure_ascii():
    lines = rendered(head_of(FAILED), unicode=False)
    assert all(line.isascii() for line in lines)
    assert any(" x workflow_completed " in line for line in lines)
    assert any("execution: runner_started->" in line for line in lines)


def test_no_color_drops_the_colours_but_keeps_the_marks(monkeypatch):
    def render() -> str:
        out = io.StringIO()
        print_waterfall(head_of(FAILED), SPEC_JOURNEY, Console(file=out, width=100, force_terminal=True))
        return out.getvalue()

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ANSI_COLOUR.search(render())
    monkeypatch.setenv("NO_COLOR", "1")
    plain = render()
    assert not ANSI_COLOUR.search(plain)
    assert "✗ workflow_completed" in plain


def test_a_non_utf8_console_gets_the_ascii_waterfall():
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    print_waterfall(head_of(FAILED), SPEC_JOURNEY, Console(file=out, width=100, color_system=None))
    out.flush()
    text = out.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    assert "x workflow_completed" in text


@pytest.mark.parametrize("width", [100, 80, 60])
@pytest.mark.parametrize("events", [JOURNEY, FAILED, ORPHANED], ids=["journey", "failed", "orphaned"])
def test_a_narrow_header_wraps_and_keeps_the_outcome_and_every_phase(width, events):
    from processors.tracing.view import outcome

    head = head_of(events)
    lines = rendered(head, width=width)
    header = " ".join(lines[: lines.index(next(line for line in lines if line.lstrip().startswith("offset")))])
    assert f"  {outcome(head, SPEC_JOURNEY)}" in f" {header}"
    for phase in ("total", "queue", "startup", "execution"):
        assert f" {phase} " in header
    assert "…" not in header


def test_under_an_ascii_stdout_encoding_the_cli_waterfall_is_pure_ascii(tmp_path):
    """docs/tracing.md: the fallback follows stdout's encoding (PYTHONIOENCODING=ascii), not LANG=C, which
    Python 3.7+ coerces to UTF-8 (PEP 538)."""
    import os
    import subprocess
    import sys

    from tests.builders import T0, cw_payload, gz, kinesis_event, kinesis_record, log_line

    lines = [log_line("webhook_received", T0, CID, "WebhookHandlerGHA"),
             log_line("runner_orphaned", T0 + 5, CID, "Reconciler")]
    source = tmp_path / "event.json"
    source.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload(lines)), 1)])))
    db = str(tmp_path / "slo.db")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    run = [sys.executable, "-m", "processors.cli"]
    subprocess.run([*run, "replay", str(source), "--db", db, "--no-backtest"], check=True, capture_output=True, env=env)
    out = subprocess.run([*run, "trace", CID, "--db", db], check=True, capture_output=True, env=env).stdout
    assert out.decode("ascii").count("\n") >= 4 and "*" in out.decode("ascii")


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0, "0ms"),
        (312, "312ms"),
        (1104, "1.10s"),
        (42_500, "42.5s"),
        (240_512, "4m00s"),
        (4_088_347, "1h08m"),
        (-30, "-30ms"),
    ],
)
def test_durations_are_short_and_human(ms, expected):
    assert human_ms(ms) == expected


# --- OTLP -------------------------------------------------------------------------------------------------

HEX16 = re.compile(r"^[0-9a-f]{16}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def all_spans(document):  # type: ignore[no-untyped-def]
    for resource_spans in document["resourceSpans"]:
        service = {a["key"]: a["value"] for a in resource_spans["resource"]["attributes"]}["service.name"]
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                yield service["stringValue"], span


@pytest.mark.parametrize("events", [JOURNEY, FAILED, ORPHANED], ids=["journey", "failed", "orphaned"])
def test_otlp_ids_are_hex_and_every_span_hangs_off_one_root(events):
    document = otlp_trace(head_of(events), SPEC_JOURNEY)
    spans = [span for _, span in all_spans(document)]
    assert {s["traceId"] for s in spans} == {CID.replace("-", "")}
    assert all(HEX32.match(s["traceId"]) and HEX16.match(s["spanId"]) for s in spans)
    assert len({s["spanId"] for s in spans}) == len(spans)
    roots = [s for s in spans if "parentSpanId" not in s]
    assert len(roots) == 1
    assert {s["parentSpanId"] for s in spans if s is not roots[0]} == {roots[0]["spanId"]}


def test_otlp_times_are_nanosecond_strings_and_the_root_covers_the_trace():
    head = head_of(JOURNEY)
    spans = [span for _, span in all_spans(otlp_trace(head, SPEC_JOURNEY))]
    for span in spans:
        assert isinstance(span["startTimeUnixNano"], str) and span["startTimeUnixNano"].isdigit()
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
    root = next(s for s in spans if "parentSpanId" not in s)
    assert int(root["startTimeUnixNano"]) == head.milestones[c.WEBHOOK_RECEIVED] * 1_000_000
    assert int(root["startTimeUnixNano"]) == min(int(s["startTimeUnixNano"]) for s in spans)
    assert int(root["endTimeUnixNano"]) == max(int(s["endTimeUnixNano"]) for s in spans)
    completed = next(s for s in spans if s["name"] == c.WORKFLOW_COMPLETED)
    assert int(completed["endTimeUnixNano"]) - int(completed["startTimeUnixNano"]) == 240_512 * 1_000_000


def test_otlp_groups_spans_by_service_into_resources():
    document = otlp_trace(head_of(JOURNEY), SPEC_JOURNEY)
    services = [rs["resource"]["attributes"][0]["value"]["stringValue"] for rs in document["resourceSpans"]]
    assert sorted(services) == sorted({c.SERVICE_WEBHOOK, c.SERVICE_QUEUE, c.SERVICE_RUNNER})
    for service, span in all_spans(document):
        action = {a["key"]: a["value"] for a in span["attributes"]}.get("slo.action")
        if action and "→" not in action["stringValue"]:  # an event span lives in its event's service
            assert any(e[1] == service and e[2] == span["name"] for e in JOURNEY)


def test_otlp_failed_spans_have_status_error_and_the_others_ok():
    spans = [span for _, span in all_spans(otlp_trace(head_of(FAILED), SPEC_JOURNEY))]
    by_name = {s["name"]: s for s in spans}
    assert by_name[c.WORKFLOW_COMPLETED]["status"] == {"code": 2, "message": "StepFailed"}
    assert by_name["execution: runner_started→workflow_completed"]["status"]["code"] == 2
    assert by_name[c.CACHE_HIT]["status"] == {"code": 1}
    assert all(s["kind"] == 1 for s in spans)


def test_otlp_export_is_deterministic_and_json():
    first, second = otlp_trace(head_of(FAILED), SPEC_JOURNEY), otlp_trace(head_of(FAILED), SPEC_JOURNEY)
    assert json.dumps(first) == json.dumps(second)
    assert json.loads(json.dumps(first)) == first


def test_otlp_attribute_values_follow_the_proto_json_mapping():
    spans = {s["name"]: s for _, s in all_spans(otlp_trace(head_of(JOURNEY), SPEC_JOURNEY))}
    attributes = {a["key"]: a["value"] for a in spans[c.CACHE_HIT]["attributes"]}
    assert attributes["slo.metadata.bytes"] == {"intValue": "1234"}  # int64 as a string
    assert attributes["slo.correlation_id"] == {"stringValue": CID}
    assert attributes["slo.repository"] == {"stringValue": "acme/web"}  # the journey's field name


def test_a_trace_outside_the_journey_shows_its_outcome_and_no_phases():
    head = head_of([(0, "Api", "api_request", {"status": 503})], level={"api_request": "ERROR"})
    header = rendered(head)[:2]
    assert header[0].endswith("failure")
    assert not any(word in " ".join(header) for word in ("total", "queue", "startup"))
