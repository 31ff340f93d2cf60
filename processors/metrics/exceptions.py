"""Errors of the operator-metrics stage."""

from __future__ import annotations


class MetricsError(Exception):
    """Base class for operator-metric errors."""


class EmfError(MetricsError):
    """A point or document that CloudWatch would reject (non-finite value, unknown unit, over a limit)."""
