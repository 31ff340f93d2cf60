"""The dashboards' errors."""

from __future__ import annotations


class DashboardError(Exception):
    """The template has no (or broken) GENERATED markers for a dashboard."""
