"""One schema-v1 line from an action and KEY=VALUE pairs: `render` and `parse_pairs`, the library behind
`slo emit` (processors/cli/emit.py). The line is formatted by the same SchemaV1Formatter the Python logger
uses. Nothing here imports `processors`: services install this package without the pipeline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from correlation.exceptions import InvalidMetadataError, InvalidPairError
from correlation.formatter import SchemaV1Formatter
from correlation.vocabulary import LEVELS, check_action, metadata_problems

DEFAULT_SERVICE = "Runner"

# JSON-style numbers only: "007", "1_000", "nan" and "0x10" stay strings (IDs and codes keep their text).
_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def parse_value(text: str) -> Any:
    """Integers and decimals become numbers, true/false/null become JSON literals, the rest stays a string,
    as does a number too large to hold (an exponent past a float's range, an integer past int()'s 4300 digits)."""
    if text in _LITERALS:
        return _LITERALS[text]
    if _INT.match(text):
        try:
            return int(text)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            return text
    if _FLOAT.match(text):
        value = float(text)
        return value if value not in (float("inf"), float("-inf")) else text
    return text


def parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """KEY=VALUE arguments as metadata; the value may contain '=', a repeated key keeps its last value."""
    metadata: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidPairError(f"expected KEY=VALUE, got {pair!r}")
        if key == "action":
            raise InvalidPairError("action is the first argument, not a KEY=VALUE pair")
        metadata[key] = parse_value(value)
    return metadata


def parse_level(text: str) -> str:
    name = "WARNING" if text.upper() == "WARN" else text.upper()
    if name not in LEVELS:
        raise InvalidPairError(f"--level: expected one of {', '.join(LEVELS)}, got {text!r}")
    return name


def render(
    action: str,
    *,
    correlation_id: str,
    service: str,
    message: str | None = None,
    level: str = "INFO",
    metadata: dict[str, Any] | None = None,
    created: float | None = None,
) -> str:
    """The schema-v1 JSON line; an unknown action or an ill-typed schema field raises CorrelationError."""
    check_action(action)
    fields = {**(metadata or {}), "action": action}
    problems = metadata_problems(fields)
    if problems:
        raise InvalidMetadataError("; ".join(problems.values()))
    record = logging.LogRecord(
        service, getattr(logging, parse_level(level)), "", 0, message or action, None, None
    )
    if created is not None:
        record.created = created
    record.metadata = fields
    record.correlationId = correlation_id
    return SchemaV1Formatter(service).format(record)
