"""Spec errors: each names the file, the line and the field, in one line."""

from __future__ import annotations


class SpecError(Exception):
    """The SLO spec is invalid. str() is the one-line message shown to users."""

    def __init__(self, message: str, *, path: str = "<spec>", line: int | None = None, field: str = "") -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")
