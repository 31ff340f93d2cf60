"""Errors of the rendering package."""

from __future__ import annotations


class RenderingError(Exception):
    """The data to render is unusable (e.g. a report asset is missing from the install)."""
