"""The journey, vocabulary and metrics sections of the spec: what they compile to, and errors that name
file:line and the field like every other spec error."""

from __future__ import annotations

from importlib import resources

import pytest

from processors.spec import SpecError, parse_spec

SHIPPED = resources.files("processors").joinpath("slos.yaml").read_text(encoding="utf-8")


def swap(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_journey_compiles_to_the_runner_platform() -> None:
    spec = parse_spec(SHIPPED, "slos.yaml")
    journey = spec.journey
    assert journey is not None
    assert journey.path == ("webhook_received", "job_queued", "task_launched", "runner_started")
    assert journey.terminal == ("workflow_completed", "runner_orphaned")
    assert journey.opens == "runner_started" and journey.max_runtime == 6 * 3600
    assert journey.sweep is not None and journey.sweep.name == "orphaned"
    assert [p.name for p in journey.phases] == ["dispatch", "queue", "startup", "execution"]
    assert journey.workflow_field == ("metadata", "workflowId")
    assert set(spec.vocabulary) >= {"cache_hit", "api_request", "runner_orphaned"}
    counters = {c.name for c in spec.counters}
    assert {m.counter for m in spec.metrics if m.counter and m.counter.startswith("_")} == counters
    assert len(counters) < sum(1 for m in spec.metrics if m.counter and m.counter.startswith("_"))  # shared


def test_a_journey_without_fields_keeps_no_workflow_or_repository() -> None:
    spec = parse_spec(swap("  fields: {workflow: workflowId, repository: repository}\n", ""), "slos.yaml")
    assert spec.journey is not None and spec.journey.workflow_field is None and spec.journey.repository_field is None


@pytest.mark.parametrize(
    ("case", "old", "new", "field"),
    [
        ("opens names no milestone", "  opens: runner_started", "  opens: runner_startd", "journey.opens"),
        (
            "a phase ends at an unknown action",
            "{name: queue, from: job_queued, to: task_launched}",
            "{name: queue, from: job_queued, to: task_lanched}",
            "journey.phases[1].to",
        ),
        ("a resolution without an action", "{name: completed, action: workflow_completed,", "{name: completed,",
         "journey.resolutions[0].action"),
        ("an unknown journey field", "  max_runtime: 6h             # an open", "  max_runtim: 6h  # an open",
         "journey.max_runtim"),
        ("a metric of an unknown kind", "{name: RunnersStarted, kind: count,", "{name: RunnersStarted, kind: tally,",
         "metrics[RunnersStarted].kind"),
        ("a metric reading an unknown sketch", "source: {sketch: queue-age}", "source: {sketch: queue-ages}",
         "metrics[QueueAge].source"),
        ("a utilization without capacity", "capacity: 20, ", "", "metrics[RunnerUtilization].capacity"),
        ("a vocabulary that is not a list of names", "vocabulary: [cache_hit,", "vocabulary: [7, cache_hit,",
         "vocabulary"),
    ],
)
def test_journey_and_metric_errors_name_the_line_and_the_field(case: str, old: str, new: str, field: str) -> None:
    text = swap(old, new)
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "slos.yaml")
    assert caught.value.field == field, case
    needle = new.strip().split("#")[0].strip() or old.strip().split(",")[0]
    assert caught.value.line is not None, case
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"slos.yaml:{caught.value.line}: "), case
    if needle and needle in text:
        assert abs(caught.value.line - line_of(text, needle)) <= 1, case
