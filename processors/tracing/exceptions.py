"""Errors of the tracing package."""

from __future__ import annotations

EXAMPLE_ID = "3f2b8c1e-9a4d-4c7e-8b21-6d5e0f1a2b3c"


class TracingError(Exception):
    """Base class of the tracing package's errors."""


class MalformedCorrelationIdError(TracingError, ValueError):
    """The ID is not a UUID: it is refused before any store read."""

    def __init__(self, value: str) -> None:
        shown = value if len(value) <= 64 else value[:64] + "…"
        super().__init__(f"not a correlation ID: {shown!r} (expected a UUID, e.g. {EXAMPLE_ID})")
        self.value = value
