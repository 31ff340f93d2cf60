"""The producer-facing logging helpers: a schema-v1 Powertools Logger, milestones and timed spans."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from aws_lambda_powertools import Logger

from correlation.exceptions import InvalidMetadataError
from correlation.formatter import SchemaV1Formatter, exception_error
from correlation.vocabulary import LEVELS, check_action, metadata_problems

_default: Logger | None = None


def default_service() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or os.environ.get("SERVICE_NAME") or "service_undefined"


def logger(
    service: str | None = None, *, level: str | int | None = None, stream: IO[str] | None = None
) -> Logger:
    """A Powertools Logger that writes schema v1 (see SchemaV1Formatter); the first one becomes the default
    that milestone() and span() use when no `log=` is given.

    Powertools keeps one logging.Logger per service name: a second call for the same service returns a
    logger sharing the first one's handler (and stream).
    """
    global _default
    name = service or default_service()
    log = Logger(service=name, level=level, stream=stream, logger_formatter=SchemaV1Formatter(name))
    if _default is None:
        _default = log
    return log


def _resolve(log: Logger | None) -> Logger:
    return log if log is not None else (_default or logger())


def _write(log: Logger, level: str, message: str, metadata: dict[str, Any]) -> None:
    # Metadata travels as one `metadata` extra: keys such as `name` or `module` would clash with LogRecord.
    getattr(log, level.lower())(message, metadata=metadata)


def _checked_level(level: str) -> str:
    name = "WARNING" if level.upper() == "WARN" else level.upper()
    if name not in LEVELS:
        raise ValueError(f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
    return name


def _checked_metadata(action: str, metadata: dict[str, Any]) -> dict[str, Any]:
    check_action(action)
    fields = {**metadata, "action": action}
    problems = metadata_problems(fields)
    if problems:
        raise InvalidMetadataError("; ".join(problems.values()))
    return fields


def milestone(
    action: str,
    *,
    log: Logger | None = None,
    message: str | None = None,
    level: str = "INFO",
    **metadata: Any,
) -> None:
    """Log one vocabulary event, e.g. milestone("job_queued", workflowId=42, repository="org/repo").

    An action outside the vocabulary raises UnknownActionError (a ValueError): the pipeline would skip the
    line, so a typo must fail loudly in tests rather than quietly in production. Use log.info() for
    free-form lines. Ill-typed schema fields (duration, status, conclusion, ...) raise InvalidMetadataError.
    """
    fields = _checked_metadata(action, metadata)
    _write(_resolve(log), _checked_level(level), message or action, fields)


@contextmanager
def span(
    action: str, *, log: Logger | None = None, message: str | None = None, **metadata: Any
) -> Iterator[dict[str, Any]]:
    """Time the block and log `action` when it ends, with metadata.duration in milliseconds.

    Yields the metadata dict, so the block can add fields (status, bytes, ...). When the block raises an
    Exception the line is ERROR with metadata.error = {"type", "message"}, and the exception propagates.
    The action and metadata are checked before the block runs.
    """
    fields = _checked_metadata(action, metadata)
    resolved = _resolve(log)
    started = time.perf_counter()
    try:
        yield fields
    except Exception as exc:
        fields["duration"] = round((time.perf_counter() - started) * 1000.0, 3)
        fields["error"] = exception_error(exc)
        _write(resolved, "ERROR", message or action, fields)
        raise
    fields["duration"] = round((time.perf_counter() - started) * 1000.0, 3)
    _write(resolved, "INFO", message or action, fields)
