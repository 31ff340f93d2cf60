"""Log schema v1 (schema/log-v1.schema.json): the schema is valid Draft 2020-12, the sample traffic satisfies it,
and malformed lines do not. docs/log-schema.md describes every field."""

from __future__ import annotations

import copy
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from processors.decoding.structured import is_correlation_id
from tests import runner_platform as conventions

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schema" / "log-v1.schema.json"
GENERATOR_PATH = ROOT / "events" / "generate.py"
SEED = 20261001

VALID_LINE: dict[str, Any] = {
    "timestamp": "2026-10-01T06:00:00.123Z",
    "level": "INFO",
    "correlationId": "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
    "service": "QueueProcessor",
    "message": "ECS RunTask accepted",
    "metadata": {"action": "task_launched", "workflowId": "4242424242", "repository": "acme/web"},
}


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def sample_lines() -> tuple[tuple[Any, str, str, str], ...]:
    """One hour of events/generate.py's sample traffic: (time, log group, log stream, message)."""
    spec = importlib.util.spec_from_file_location("slo_sample_generator", GENERATOR_PATH)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    traffic = generator.Traffic(SEED, hours=1)
    traffic.generate()
    return tuple(traffic.lines)


def structured_lines_with_a_uuid() -> list[dict[str, Any]]:
    lines = []
    for _time, _group, _stream, message in sample_lines():
        if not message.startswith("{"):
            continue  # Lambda platform lines (START/END/REPORT, timeouts)
        line = json.loads(message)
        if is_correlation_id(line.get("correlationId")):
            lines.append(line)
    return lines


def mutated(change: Any) -> dict[str, Any]:
    line = copy.deepcopy(VALID_LINE)
    change(line)
    return line


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema())


def test_the_reference_line_validates() -> None:
    assert list(validator().iter_errors(VALID_LINE)) == []


def test_every_structured_sample_line_with_a_uuid_correlation_id_validates() -> None:
    lines = structured_lines_with_a_uuid()
    assert len(lines) > 1000
    problems = [
        f"{line['metadata'].get('action')}: {error.json_path}: {error.message}"
        for line in lines
        for error in validator().iter_errors(line)
    ]
    assert problems == []


def test_the_sample_hour_covers_the_whole_event_vocabulary_except_the_reported_orphan() -> None:
    actions = {line["metadata"]["action"] for line in structured_lines_with_a_uuid()}
    # the first reported orphan is at minute 95: one hour of traffic has every other action but cache_evicted,
    # which the generator does not emit (CacheEvictions stays 0 on the sample)
    assert actions == set(conventions.VOCABULARY) - {conventions.RUNNER_ORPHANED, conventions.CACHE_EVICTED}


def test_the_schema_and_the_decoder_agree_on_what_a_correlation_id_is() -> None:
    pattern = schema()["properties"]["correlationId"]["pattern"]
    for candidate in (VALID_LINE["correlationId"], VALID_LINE["correlationId"].upper(), "not-a-uuid", ""):
        line = {**VALID_LINE, "correlationId": candidate}
        assert validator().is_valid(line) == is_correlation_id(candidate), (candidate, pattern)


INVALID_LINES = [
    pytest.param(mutated(lambda line: line["metadata"].pop("action")), id="missing metadata.action"),
    pytest.param(mutated(lambda line: line["metadata"].update(action="")), id="empty metadata.action"),
    pytest.param(mutated(lambda line: line.update(correlationId="not-a-uuid")), id="correlationId not a UUID"),
    pytest.param(
        mutated(lambda line: line.update(correlationId="6f1c1d2e3a4b4c5d8e9f0a1b2c3d4e5f")), id="UUID without dashes"
    ),
    pytest.param(mutated(lambda line: line.pop("correlationId")), id="missing correlationId"),
    pytest.param(mutated(lambda line: line.update(workflowId="4242")), id="extra top-level key"),
    pytest.param(mutated(lambda line: line.pop("metadata")), id="missing metadata"),
    pytest.param(mutated(lambda line: line.update(metadata="task_launched")), id="metadata not an object"),
    pytest.param(mutated(lambda line: line.update(timestamp="2026-10-01T06:00:00")), id="timestamp without a zone"),
    pytest.param(mutated(lambda line: line.update(timestamp=1790000000123)), id="timestamp as epoch millis"),
    pytest.param(mutated(lambda line: line.update(level="info")), id="lower-case level"),
    pytest.param(mutated(lambda line: line.update(service="")), id="empty service"),
    pytest.param(mutated(lambda line: line["metadata"].update(duration=-1)), id="negative duration"),
    pytest.param(mutated(lambda line: line["metadata"].update(conclusion="skipped")), id="unknown conclusion"),
    pytest.param(mutated(lambda line: line["metadata"].update(workflowId=[1])), id="workflowId a list"),
]


@pytest.mark.parametrize("line", INVALID_LINES)
def test_a_malformed_line_fails_validation(line: dict[str, Any]) -> None:
    assert not validator().is_valid(line)


def test_extra_metadata_keys_are_allowed() -> None:
    line = mutated(lambda line: line["metadata"].update(taskArn="arn:aws:ecs:...", cold_start=True))
    assert validator().is_valid(line)
