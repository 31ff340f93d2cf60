"""Spec lint: an action that one matcher alone uses, and that neither the journey nor the vocabulary declares,
is a likely typo; `slo validate` warns about it, and `--strict` makes the warning an error (exit 2)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from processors.cli import main
from processors.spec import parse_spec
from processors.spec.lint import lint

SHIPPED = resources.files("processors").joinpath("slos.yaml").read_text(encoding="utf-8")


def first(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        ("the shipped spec has no warning", SHIPPED, []),
        (
            "a typo in one latency end is matched nowhere else",
            first(SHIPPED, "end: {action: runner_started}", "end: {action: runner_startd}"),
            [("slos[queue-latency].sli", "runner_startd")],
        ),
        (
            "a typo in an events SLO's match is reported under the SLO",
            first(SHIPPED, "match: {action: api_request}", "match: {action: api_requests}"),
            [("slos[api-availability].sli", "api_requests")],
        ),
        (
            "a typo in a metric source is reported on the metric",
            first(SHIPPED, "source: {match: {action: task_launched}}", "source: {match: {action: task_lanched}}"),
            [("metrics[QueueProcessingRate].source", "task_lanched")],
        ),
        (
            "an action declared in the vocabulary is meant, even if one matcher uses it",
            first(
                first(SHIPPED, "match: {action: api_request}", "match: {action: api_call}"),
                "vocabulary: [cache_hit,",
                "vocabulary: [api_call, cache_hit,",
            ),
            [],
        ),
        (
            "an action two SLOs use is no typo",
            first(
                first(SHIPPED, "match: {action: api_request}", "match: {action: api_call}"),
                "match: {action: api_request}",
                "match: {action: api_call}",
            ),
            [],
        ),
    ],
)
def test_lint_warns_about_likely_action_typos(case: str, text: str, expected: list[tuple[str, str]]) -> None:
    warnings = lint(parse_spec(text, "slos.yaml"))
    assert [(w.field, w.message.split("'")[1]) for w in warnings] == expected, case
    assert all(w.line is not None for w in warnings), case


def line_of(text: str, fragment: str) -> int:
    (line,) = [n for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return line


BLOCK_STYLE = first(SHIPPED, "        end: {action: runner_started}\n",
                    "        end:\n          action: runner_startd\n")
LISTED = first(SHIPPED, "match: {action: api_request}", "match: {action: {in: [api_request, api_requets]}}")


@pytest.mark.parametrize(
    ("case", "text", "typo"),
    [
        ("in a latency SLO's end", first(SHIPPED, "end: {action: runner_started}", "end: {action: runner_startd}"),
         "runner_startd"),
        ("in a block-style matcher", BLOCK_STYLE, "runner_startd"),
        ("in an events SLO's match", first(SHIPPED, "match: {action: api_request}", "match: {action: api_requests}"),
         "api_requests"),
        ("in an `in` list", LISTED, "api_requets"),
        ("in a metric source",
         first(SHIPPED, "source: {match: {action: task_launched}}", "source: {match: {action: task_lanched}}"),
         "task_lanched"),
        ("in a latency sketch", first(SHIPPED, "    start: {action: task_launched}\n    end: {action: runner_started}",
                                      "    start: {action: task_launched}\n    end: {action: runner_startd}"),
         "runner_startd"),
    ],
)
def test_a_likely_typo_is_reported_at_the_line_of_the_misspelt_action_not_its_owners_first_line(
    case: str, text: str, typo: str
) -> None:
    (warning,) = [w for w in lint(parse_spec(text, "slos.yaml")) if typo in w.message]
    assert warning.line == line_of(text, typo), case


def test_validate_warns_on_stderr_and_strict_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(first(SHIPPED, "end: {action: runner_started}", "end: {action: runner_startd}"))
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert "valid" in captured.out
    assert captured.err.count("\n") == 1 and "warning: action 'runner_startd'" in captured.err
    assert f"{path}:" in captured.err

    assert main(["validate", str(path), "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "runner_startd" in captured.err and "(--strict)" in captured.err


def test_strict_validation_of_the_shipped_spec_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(resources.files("processors").joinpath("slos.yaml")), "--strict"]) == 0
    assert capsys.readouterr().err == ""
