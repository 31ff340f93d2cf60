"""Errors of the evaluating stage."""

from __future__ import annotations


class EvaluationError(Exception):
    """An SLO could not be evaluated (a view failed or returned something impossible)."""
