"""Correlation IDs: validating, minting, and the current ID of this thread or task (a ContextVar).

The formatter reads the current ID at format time, so every logger of the process picks it up.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from correlation.exceptions import InvalidCorrelationIdError

# The schema's pattern: canonical 8-4-4-4-12 hex. uuid.UUID() alone would also accept braces and urn: forms.
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def is_correlation_id(value: object) -> bool:
    return isinstance(value, str) and _UUID.match(value) is not None


def parse_correlation_id(value: object) -> str | None:
    """The ID with surrounding whitespace removed, or None when it is not a canonical UUID.

    Case is kept, so an echoed header matches what the client sent; the pipeline lowercases on ingest.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if is_correlation_id(text) else None


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def _checked(value: str) -> str:
    parsed = parse_correlation_id(value)
    if parsed is None:
        raise InvalidCorrelationIdError(f"not a correlation ID (canonical UUID expected): {value!r}")
    return parsed


def set_correlation_id(correlation_id: str | None) -> None:
    """Make `correlation_id` the ID of every line logged from now on in this context; None clears it.

    In a Lambda handler call it at the start of each invocation: the context outlives the invocation.
    """
    _current.set(None if correlation_id is None else _checked(correlation_id))


def get_correlation_id() -> str | None:
    return _current.get()


@contextmanager
def bound(correlation_id: str | None) -> Iterator[str | None]:
    """Set the current ID for the block and restore the previous one after it (e.g. per SQS record)."""
    token = _current.set(None if correlation_id is None else _checked(correlation_id))
    try:
        yield _current.get()
    finally:
        _current.reset(token)
