"""`slo emit`: value parsing, the environment's correlation ID, one-line errors, schema-valid output."""

from __future__ import annotations

import argparse
import json
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import correlation
import processors.cli
from correlation import InvalidMetadataError, InvalidPairError, UnknownActionError, emit
from processors.cli import emit as emit_command

VALIDATOR = Draft202012Validator(
    json.loads((Path(__file__).parents[2] / "schema" / "log-v1.schema.json").read_text())
)
CID = "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CORRELATION_ID", "SERVICE_NAME", "POWERTOOLS_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)


def slo(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """The real `slo` entry point."""
    return processors.cli.main(["emit", *argv])


def run_emit(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="slo")
    emit_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["emit", *argv])
    return int(args.func(args))


VALUES: list[tuple[str, str, Any]] = [
    ("an integer stays an integer", "123", 123),
    ("a negative integer stays an integer", "-5", -5),
    ("a decimal becomes a float", "1520.5", 1520.5),
    ("an exponent becomes a float", "1e3", 1000.0),
    ("true becomes JSON true", "true", True),
    ("false becomes JSON false", "false", False),
    ("null becomes JSON null", "null", None),
    ("a leading zero keeps the text, as IDs and codes need", "007", "007"),
    ("an underscore number keeps the text", "1_000", "1_000"),
    ("nan keeps the text", "nan", "nan"),
    ("infinity keeps the text", "inf", "inf"),
    ("an overflowing exponent keeps the text", "1e999", "1e999"),
    ("an integer of more digits than int() reads keeps the text", "9" * 5000, "9" * 5000),
    ("an integer of as many digits as int() reads stays an integer", "9" * 4300, int("9" * 4300)),
    ("True with a capital keeps the text", "True", "True"),
    ("a repository stays a string", "org/repo", "org/repo"),
    ("an empty value is an empty string", "", ""),
]


@pytest.mark.parametrize(("case", "text", "expected"), VALUES, ids=[c for c, _, _ in VALUES])
def test_values_are_parsed_like_json_scalars(case: str, text: str, expected: Any) -> None:
    value = emit.parse_value(text)
    assert value == expected and type(value) is type(expected)


@settings(max_examples=200, derandomize=True)
@given(st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_any_number_printed_by_python_parses_back_to_itself(number: float) -> None:
    assert emit.parse_value(repr(number)) == number


def test_pairs_split_on_the_first_equals_sign_and_the_last_repeat_wins() -> None:
    pairs = ["url=https://x/?a=b", "n=1", "n=2"]
    assert emit.parse_pairs(pairs) == {"url": "https://x/?a=b", "n": 2}


BAD_PAIRS = [
    ("a word without equals", ["workflowId"], "expected KEY=VALUE"),
    ("an empty key", ["=5"], "expected KEY=VALUE"),
    ("the action as a pair", ["action=job_queued"], "action is the first argument"),
]


@pytest.mark.parametrize(("case", "pairs", "match"), BAD_PAIRS, ids=[c for c, _, _ in BAD_PAIRS])
def test_malformed_pairs_are_refused(case: str, pairs: list[str], match: str) -> None:
    with pytest.raises(InvalidPairError, match=match):
        emit.parse_pairs(pairs)


def test_the_documented_runner_example_prints_one_valid_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CORRELATION_ID", CID)
    code = run_emit(["runner_started", "--service", "Runner", "workflowId=123", "repository=org/repo"])
    out, err = capsys.readouterr()
    line = json.loads(out)
    VALIDATOR.validate(line)
    assert (code, err, out.count("\n")) == (0, "", 1)
    assert list(line) == ["timestamp", "level", "correlationId", "service", "message", "metadata"]
    assert (line["correlationId"], line["service"], line["level"], line["message"]) == (
        CID,
        "Runner",
        "INFO",
        "runner_started",
    )
    assert line["metadata"] == {"action": "runner_started", "workflowId": 123, "repository": "org/repo"}


def test_options_may_come_before_or_after_the_action(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CORRELATION_ID", CID)
    run_emit(["--level", "warn", "workflow_completed", "conclusion=failure", "--message", "job failed"])
    line = json.loads(capsys.readouterr().out)
    assert (line["level"], line["message"], line["metadata"]["conclusion"]) == (
        "WARNING",
        "job failed",
        "failure",
    )


SERVICES = [
    ("--service wins", {"SERVICE_NAME": "A", "POWERTOOLS_SERVICE_NAME": "B"}, ["--service", "C"], "C"),
    ("SERVICE_NAME comes next", {"SERVICE_NAME": "A", "POWERTOOLS_SERVICE_NAME": "B"}, [], "A"),
    ("then POWERTOOLS_SERVICE_NAME", {"POWERTOOLS_SERVICE_NAME": "B"}, [], "B"),
    ("the default is Runner", {}, [], "Runner"),
]


@pytest.mark.parametrize(("case", "env", "flags", "expected"), SERVICES, ids=[c for c, *_ in SERVICES])
def test_the_service_default(
    case: str,
    env: dict[str, str],
    flags: list[str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CORRELATION_ID", CID)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    run_emit(["cache_hit", *flags])
    assert json.loads(capsys.readouterr().out)["service"] == expected


def test_an_unset_correlation_id_is_minted_with_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_emit(["runner_started"]) == 0
    out, err = capsys.readouterr()
    minted = json.loads(out)["correlationId"]
    assert uuid.UUID(minted).version == 4
    assert err == f"slo emit: warning: CORRELATION_ID is not set; minted {minted}\n"


USAGE_ERRORS = [
    ("a correlation ID that is not a UUID", {"CORRELATION_ID": "job-42"}, ["runner_started"], "not a UUID"),
    ("a pair without equals", {"CORRELATION_ID": CID}, ["runner_started", "oops"], "expected KEY=VALUE"),
    ("an unknown action", {"CORRELATION_ID": CID}, ["runner_booted"], "not in the event vocabulary"),
    ("an unknown level", {"CORRELATION_ID": CID}, ["cache_hit", "--level", "loud"], "--level"),
    ("a negative duration", {"CORRELATION_ID": CID}, ["cache_hit", "duration=-4"], "metadata.duration"),
    ("an unknown conclusion", {"CORRELATION_ID": CID}, ["workflow_completed", "conclusion=ok"], "conclusion"),
    ("an unknown option after the action", {"CORRELATION_ID": CID}, ["cache_hit", "--bogus"], "--bogus"),
]


@pytest.mark.parametrize(("case", "env", "argv", "match"), USAGE_ERRORS, ids=[c for c, *_ in USAGE_ERRORS])
def test_user_mistakes_are_one_line_errors_with_exit_2(
    case: str,
    env: dict[str, str],
    argv: list[str],
    match: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert slo(argv, monkeypatch) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("slo: error: ") and match in err


def test_render_refuses_what_the_pipeline_would_not_classify() -> None:
    with pytest.raises(UnknownActionError):
        emit.render("nope", correlation_id=CID, service="Runner")
    with pytest.raises(InvalidMetadataError):
        emit.render("cache_hit", correlation_id=CID, service="Runner", metadata={"bytes": -1})


def test_render_uses_the_given_time() -> None:
    line = json.loads(emit.render("cache_hit", correlation_id=CID, service="Runner", created=0.25))
    assert line["timestamp"] == "1970-01-01T00:00:00.250Z"


keys = st.text(st.characters(blacklist_characters="=", blacklist_categories=("Cs",)), min_size=1, max_size=10)
raw_values = st.text(max_size=12) | st.integers().map(str) | st.floats().map(repr)


def any_pairs_either_print_a_valid_line_or_are_refused(action: str, pairs: dict[str, str]) -> None:
    argv = [f"{key}={value}" for key, value in pairs.items()]
    try:
        metadata = emit.parse_pairs(argv)
        text = emit.render(action, correlation_id=CID, service="Runner", metadata=metadata)
    except (InvalidPairError, InvalidMetadataError):
        return
    line = json.loads(text)
    VALIDATOR.validate(line)
    for key, value in metadata.items():
        if value is not None:
            got = line["metadata"][key]
            assert got == value or (isinstance(value, float) and math.isclose(got, value))


def _untimed(examples: int) -> settings:
    """Wall-clock health checks fail on a busy machine, not on a wrong property: these runs are untimed."""
    untimed = [HealthCheck.too_slow]
    return settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=untimed)


# A quick run in `make test`, the long one in the slow tier (same property, same derandomized examples first).
_pairs = given(action=st.sampled_from(correlation.VOCABULARY), pairs=st.dictionaries(keys, raw_values, max_size=6))
_property = any_pairs_either_print_a_valid_line_or_are_refused
test_any_pairs_either_print_a_valid_line_or_are_refused = _untimed(40)(_pairs(_property))
test_any_pairs_over_many_more_examples_print_a_valid_line_or_are_refused = pytest.mark.slow(
    _untimed(300)(_pairs(_property))
)
