"""OpenSLO v1 in and out: fixtures written from the specification's field definitions (every kind, inline and
by reference, good/total and bad/total, thresholdMetric, Timeslices) compile to the SLIs the native syntax
gives; `slo export --format openslo` round-trips to an identical compiled spec; what can't be mapped is refused
with one line naming the field."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from processors.spec import Spec, SpecError, load_spec, parse_spec
from processors.spec.openslo import SPEC_ANNOTATION, export_openslo
from tests.builders import EVENTS_DIR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openslo"
SHIPPED = str(resources.files("processors").joinpath("slos.yaml"))
HEADER = "apiVersion: slo-pipeline/v1\nkind: SLOSpec\n"


def native(slos: str) -> Spec:
    return parse_spec(HEADER + "slos:\n" + slos, "native.yaml")


def same(a: Spec, b: Spec) -> bool:
    return dataclasses.replace(a, source="") == dataclasses.replace(b, source="")


@pytest.mark.parametrize(
    ("fixture", "equivalent"),
    [
        (
            "ratio-good-total-inline.yaml",
            """  - name: api-availability
    description: API requests answered without a server error.
    objective: 0.999
    window: 4w
    sli: {events: {match: {action: api_request}, good: {status: {lt: 500}}}}
""",
        ),
        (
            "ratio-bad-total-by-reference.yaml",
            """  - name: deploy-success
    objective: 0.995
    window: calendar-month
    sli:
      events:
        match: {action: workflow_completed}
        exclude: {conclusion: cancelled}
        bad: {conclusion: failure}
    alerting:
      tiers:
        - {severity: page, long: 1h, short: 5m, factor: 14.4}
        - {severity: ticket, long: 1d, short: 2h, factor: 3}
""",
        ),
        (
            "threshold-latency.yaml",
            """  - name: queue-latency
    objective: 0.999
    sli: {latency: {start: {action: webhook_received}, end: {action: runner_started}, threshold_ms: 5000}}
""",
        ),
        (
            "timeslices.yaml",
            """  - name: cache-hit-rate
    objective: 0.95
    sli: {time_slice: {slice: 5m, min_ratio: 0.6, good: {action: cache_hit}, bad: {action: cache_miss}}}
  - name: orphan-rate
    description: "First resolution of each runner: total {first: [GOOD, BAD]}."
    objective: 0.999
    window: 4w
    sli: {resolution: {good: {action: workflow_completed}, bad: {action: runner_orphaned}}}
""",
        ),
    ],
)
def test_each_openslo_fixture_compiles_to_what_the_native_syntax_gives(fixture: str, equivalent: str) -> None:
    assert same(load_spec(FIXTURES / fixture), native(equivalent))


def test_a_bad_total_sli_counts_good_when_the_bad_matcher_does_not_match() -> None:
    sli: Any = load_spec(FIXTURES / "ratio-bad-total-by-reference.yaml").slo("deploy-success").sli
    assert sli.is_good({"metadata": {"action": "workflow_completed", "conclusion": "success"}})
    assert not sli.is_good({"metadata": {"action": "workflow_completed", "conclusion": "failure"}})


EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "order-pipeline" / "slos.yaml")


@pytest.mark.parametrize("source", [SHIPPED, EXAMPLE, *sorted(str(p) for p in FIXTURES.glob("*.yaml"))])
def test_export_then_import_gives_an_identical_compiled_spec(source: str) -> None:
    original = load_spec(source)
    text = export_openslo(original)
    assert "apiVersion: openslo/v1" in text and "slo-pipeline/v1" not in text
    assert same(parse_spec(text, "exported.yaml"), original)
    assert export_openslo(parse_spec(text, "exported.yaml")) == text  # and the export is stable


def test_slo_export_writes_the_shipped_spec_and_every_command_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "openslo.yaml"
    assert main(["export", "--format", "openslo", "--spec", SHIPPED, "--out", str(out)]) == 0
    assert main(["validate", str(out), "--strict"]) == 0
    assert "valid, 5 SLOs, 7 latency sketches" in capsys.readouterr().out
    db = tmp_path / "slo.db"
    sample = str(EVENTS_DIR / "sample-kinesis-event.json")
    assert main(["replay", sample, "--db", str(db), "--spec", str(out), "--no-backtest"]) == 0
    capsys.readouterr()
    assert main(["status", "--db", str(db), "--spec", str(out), "--json"]) == 0
    assert '"queue-latency"' in capsys.readouterr().out


def test_slo_export_refuses_in_one_line_to_write_what_no_command_would_read_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped spec's OpenSLO form is a little longer than the spec itself: with the size bound between
    # the two, the spec loads and its export would be refused by every command that reads a spec.
    spec_size = Path(SHIPPED).stat().st_size
    export_size = len(export_openslo(load_spec(SHIPPED)).encode())
    assert spec_size < export_size
    monkeypatch.setattr("processors.spec.loader.MAX_SPEC_BYTES", (spec_size + export_size) // 2)
    out = tmp_path / "openslo.yaml"
    assert main(["export", "--spec", SHIPPED, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the OpenSLO form of this spec is" in err and "split the spec" in err and len(err.splitlines()) == 1
    assert not out.exists()


FIXTURE = (FIXTURES / "ratio-bad-total-by-reference.yaml").read_text()
INLINE = (FIXTURES / "ratio-good-total-inline.yaml").read_text()
THRESHOLD = (FIXTURES / "threshold-latency.yaml").read_text()
SLICES = (FIXTURES / "timeslices.yaml").read_text()


def swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("case", "text", "field"),
    [
        (
            "RatioTimeslices budgeting",
            swap(INLINE, "budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices"),
            "budgetingMethod",
        ),
        (
            "a second objective",
            swap(INLINE, "      target: 0.999", "      target: 0.999\n    - target: 0.99"),
            "spec.objectives",
        ),
        ("a metric source of another product", swap(INLINE, "type: slo-pipeline", "type: Prometheus"), "good"),
        (
            "a raw ratio",
            swap(INLINE, "        counter: true\n", "        counter: true\n        rawType: success\n"),
            "ratioMetric.rawType",
        ),
        ("both target and targetPercent", swap(INLINE, "target: 0.999", "target: 0.999\n      targetPercent: 99"),
         "objectives[0].target"),
        ("a quarter calendar window", swap(FIXTURE, "duration: 1M", "duration: 1Q"), "timeWindow[0].duration"),
        ("a threshold good above the value", swap(THRESHOLD, "op: lte", "op: gte"), "objectives[0].op"),
        ("a burn-rate condition on lte", swap(FIXTURE, "op: gte", "op: lte"), "condition.op"),
        ("a severity this product has no route for", swap(FIXTURE, "severity: page", "severity: sev1"),
         "severity"),
        ("an SLI reference to nothing", swap(FIXTURE, "indicatorRef: failed-deploys", "indicatorRef: nope"),
         "indicatorRef"),
        ("an unknown kind", swap(INLINE, "kind: SLO", "kind: Composite"), "kind"),
        ("bad/total with Timeslices", swap(SLICES, "        good:\n", "        bad:\n"), "ratioMetric.bad"),
        (
            "a field this product can't map",
            swap(INLINE, "  budgetingMethod", "  compositeSlo: {}\n  budgetingMethod"),
            "spec.compositeSlo",
        ),
    ],
)
def test_what_cannot_be_mapped_is_refused_in_one_line_naming_the_field(case: str, text: str, field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "openslo.yaml")
    message = str(caught.value)
    assert "\n" not in message, case
    assert field in message, (case, message)
    assert message.startswith("openslo.yaml:"), case


def test_the_cli_refuses_an_unmappable_document_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(swap(INLINE, "budgetingMethod: Occurrences", "budgetingMethod: RatioTimeslices"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "budgetingMethod" in err


def with_embedded_line(line: str) -> str:
    """The shipped spec exported as OpenSLO, with `line` added to its embedded spec annotation."""
    key = f"    {SPEC_ANNOTATION}: |\n"
    return swap(export_openslo(load_spec(SHIPPED)), key, f"{key}      {line}\n")


@pytest.mark.parametrize(
    ("case", "line", "reason"),
    [
        ("deep nesting", "x: " + "[" * 20000 + "]" * 20000, "nested too deeply"),
        ("an unclosed bracket", "x: [unclosed", "expected ',' or ']'"),
        ("an alias", "x: &a 1\n      y: *a", "anchors are not allowed"),
        ("a number too long", "x: " + "9" * 5000, "a number longer than"),
    ],
)
def test_the_embedded_spec_goes_through_the_loaders_yaml_checks_and_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, line: str, reason: str
) -> None:
    path = tmp_path / "openslo.yaml"
    path.write_text(with_embedded_line(line))
    assert main(["validate", str(path)]) == 2, case
    err = capsys.readouterr().err
    assert err.count("\n") == 1, (case, err[:2000])
    assert reason in err and SPEC_ANNOTATION in err, (case, err)


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_error_in_the_exported_annotation_names_its_own_line_in_the_file(tmp_path: Path) -> None:
    text = swap(export_openslo(load_spec(SHIPPED)), "trace_ttl_days: 14", "trace_ttl_days: 500")
    path = tmp_path / "openslo.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}:{line_of(text, 'trace_ttl_days: 500')}: defaults.trace_ttl_days:")


def test_a_yaml_error_in_the_exported_annotation_names_its_own_line_in_the_file(tmp_path: Path) -> None:
    text = with_embedded_line("x: [unclosed")
    path = tmp_path / "openslo.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.line == line_of(text, "x: [unclosed") and "expected ',' or ']'" in str(caught.value)


@pytest.mark.parametrize(
    "opening",
    [f"    {SPEC_ANNOTATION}:\n      |\n", f"    ? {SPEC_ANNOTATION}\n    : |\n",
     f"    {SPEC_ANNOTATION}: |  # the spec\n"],
    ids=["its | on the next line", "an explicit key", "a comment after its |"],
)
def test_an_error_in_a_literal_block_opened_on_another_line_names_its_own_line_in_the_file(
    tmp_path: Path, opening: str
) -> None:
    text = swap(export_openslo(load_spec(SHIPPED)), f"    {SPEC_ANNOTATION}: |\n", opening)
    text = swap(text, "trace_ttl_days: 14", "trace_ttl_days: 500")
    path = tmp_path / "openslo.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.line == line_of(text, "trace_ttl_days: 500")


def test_an_error_in_an_annotation_that_is_not_a_literal_block_names_the_annotations_line(tmp_path: Path) -> None:
    key = f"    {SPEC_ANNOTATION}: |\n"
    text = swap(export_openslo(load_spec(SHIPPED)), key, f'    {SPEC_ANNOTATION}: "defaults: {{trace_ttl_days: 500}}"\n'
                "    unused: |\n")
    path = tmp_path / "openslo.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.line == line_of(text, SPEC_ANNOTATION) and "trace_ttl_days" in str(caught.value)
