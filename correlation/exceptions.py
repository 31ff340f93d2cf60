"""Errors of the correlation package; each is also a ValueError, since each means a bad value."""

from __future__ import annotations


class CorrelationError(ValueError):
    """Base class: a value the correlation helpers refuse to log or propagate."""


class InvalidCorrelationIdError(CorrelationError):
    """A correlation ID that is not a canonical 8-4-4-4-12 hex UUID."""


class UnknownActionError(CorrelationError):
    """A milestone action outside the event vocabulary: no SLI of the pipeline would count it."""


class InvalidMetadataError(CorrelationError):
    """A metadata field that schema v1 types (duration, status, conclusion...) has a wrong value."""


class InvalidPairError(CorrelationError):
    """A `slo emit` argument that is not KEY=VALUE."""
