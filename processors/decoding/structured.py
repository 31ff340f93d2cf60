"""Parse one CloudWatch log message with the default log format (schema v1 and the shapes it reads).

The format layer itself is processors/decoding/formats.py; this keeps the short names callers use.
"""

from __future__ import annotations

from typing import Any

from processors.decoding.formats import DEFAULT_PARSER, is_correlation_id
from processors.decoding.types import LogEvent, Position

__all__ = ["is_correlation_id", "parse_structured_log"]


def parse_structured_log(
    message: str, fallback_time_ms: Any, position: Position, log_group: str = ""
) -> LogEvent | str:
    """The LogEvent, or the skip kind (a conventions.SKIP_* string) when the message isn't one."""
    return DEFAULT_PARSER.parse(message, fallback_time_ms, position, log_group)
