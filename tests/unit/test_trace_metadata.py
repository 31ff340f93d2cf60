"""What of an event's metadata its trace keeps: the engine's own keys, the journey's fields and outcomes, and
the keys the spec lists under `traces.metadata`. The spec decides the domain's keys; a secret-looking one is
refused when the spec is read, so it can never be stored."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from processors.decoding.types import LogEvent, Position
from processors.spec import Spec, SpecError, parse_spec
from processors.stitching.model import TraceHead
from processors.stitching.stitch import Stitcher

SHIPPED = resources.files("processors").joinpath("slos.yaml").read_text(encoding="utf-8")
LISTED = "traces:\n  metadata: [runId, jobId, runnerId, taskArn, cluster, queue, cacheKey]\n"
CID = "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01"
T0 = 1_790_812_800.0


def with_traces(section: str) -> str:
    assert LISTED in SHIPPED
    return SHIPPED.replace(LISTED, section, 1)


def stored_metadata(spec: Spec, **metadata: Any) -> dict[str, Any]:
    log = {"timestamp": T0, "level": "INFO", "correlationId": CID, "service": "Runner", "message": "m",
           "metadata": {"action": "runner_started", **metadata}}
    head = TraceHead(correlation_id=CID)
    Stitcher(spec).apply(head, LogEvent(Position(1), T0, CID, "runner_started", "Runner", log), "stream", "shard")
    return head.events[0].metadata


def test_a_trace_keeps_the_keys_the_spec_lists_and_drops_the_others() -> None:
    spec = parse_spec(with_traces("traces:\n  metadata: [orderTotal]\n"), "slos.yaml")
    stored = stored_metadata(spec, orderTotal=12.5, runnerId="r-1", headers={"x": "y"}, status=200)
    assert stored == {"action": "runner_started", "orderTotal": 12.5, "status": 200}


def test_the_shipped_spec_lists_the_runner_platform_keys_the_engine_does_not_name() -> None:
    shipped = parse_spec(SHIPPED, "slos.yaml")
    without = parse_spec(with_traces(""), "slos.yaml")
    ids = {"runId": 7, "jobId": 8, "runnerId": "r-1", "taskArn": "arn:aws:ecs:task/1", "cluster": "c",
           "queue": "q", "cacheKey": "k"}
    assert stored_metadata(shipped, **ids) == {"action": "runner_started", **ids}
    assert stored_metadata(without, **ids) == {"action": "runner_started"}


def test_the_journey_fields_and_outcomes_are_kept_without_being_listed() -> None:
    spec = parse_spec(with_traces(""), "slos.yaml")
    stored = stored_metadata(spec, workflowId="w-1", repository="octo/app", conclusion="success")
    assert stored == {"action": "runner_started", "workflowId": "w-1", "repository": "octo/app",
                      "conclusion": "success"}


def test_an_outcome_field_the_journey_does_not_declare_is_not_kept() -> None:
    """The engine names no outcome key (GitHub's `conclusion`): the spec's journey decides which one is kept."""
    assert ", outcome: conclusion" in SHIPPED
    spec = parse_spec(with_traces("").replace(", outcome: conclusion", "", 1), "slos.yaml")
    assert stored_metadata(spec, conclusion="success", status=200) == {"action": "runner_started", "status": 200}


@pytest.mark.parametrize(
    ("case", "section", "message"),
    [
        ("a secret-looking key", "traces:\n  metadata: [runId, apiToken]\n", "'apiToken' looks like a secret's key"),
        ("a key in another case and spelling", "traces:\n  metadata: [X-Session-Id]\n", "looks like a secret's key"),
        ("not a list", "traces:\n  metadata: runId\n", "must be a list of non-empty strings"),
        ("a key listed twice", "traces:\n  metadata: [runId, runId]\n", "lists a name twice"),
        ("an unknown field", "traces:\n  keep: [runId]\n", "unknown"),
        ("a control character", 'traces:\n  metadata: ["run\\u0007Id"]\n', "printable characters"),
        ("too many keys", "traces:\n  metadata: [" + ", ".join(f"k{i}" for i in range(101)) + "]\n",
         "more than 100 keys"),
        ("not a mapping", "traces: [runId]\n", "traces"),
    ],
)
def test_a_bad_traces_section_is_refused_naming_the_line_and_the_field(case: str, section: str, message: str) -> None:
    text = with_traces(section)
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "slos.yaml")
    error = str(caught.value)
    assert message in error, case
    assert error.startswith("slos.yaml:") and "\n" not in error, case
    assert caught.value.line is not None and "traces" in text.splitlines()[caught.value.line - 1] + (
        text.splitlines()[caught.value.line - 2] if caught.value.line > 1 else ""), case


def test_slo_validate_refuses_a_secret_looking_trace_key_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "slos.yaml"
    spec.write_text(with_traces("traces:\n  metadata: [client_secret]\n"))
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "traces.metadata" in err and "client_secret" in err
