"""Parse one CloudWatch log message as a schema-v1 structured log, or name why it is skipped."""

from __future__ import annotations

import json
import re
from typing import Any

from processors import conventions
from processors.decoding.types import LogEvent, Position
from processors.timeutil import parse_iso8601

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_correlation_id(value: object) -> bool:
    # fullmatch, not `$`: `$` also matches before a trailing newline, which would accept "<uuid>\n"
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def parse_structured_log(
    message: str, fallback_time_ms: Any, position: Position, log_group: str = ""
) -> LogEvent | str:
    """The LogEvent, or the skip kind (a conventions.SKIP_* string) when the message isn't one."""
    text = message.strip() if isinstance(message, str) else ""
    if not text.startswith("{"):
        return conventions.SKIP_MESSAGE_NOT_JSON
    try:
        log = json.loads(text)
    except (ValueError, RecursionError):
        return conventions.SKIP_MESSAGE_NOT_JSON
    if not isinstance(log, dict):
        return conventions.SKIP_MESSAGE_NOT_JSON
    metadata = log.get("metadata")
    action = metadata.get("action") if isinstance(metadata, dict) else None
    if not isinstance(action, str) or not action:
        return conventions.SKIP_NO_ACTION
    correlation_id = log.get("correlationId")
    if correlation_id is None or correlation_id == "":
        return conventions.SKIP_NO_CORRELATION_ID
    if not is_correlation_id(correlation_id):
        return conventions.SKIP_BAD_CORRELATION_ID
    parsed = parse_iso8601(log.get("timestamp"))
    if parsed is not None:
        time = parsed.timestamp()
    elif isinstance(fallback_time_ms, int | float) and not isinstance(fallback_time_ms, bool):
        time = float(fallback_time_ms) / 1000.0
    else:
        return conventions.SKIP_PAYLOAD_SHAPE
    service = log.get("service")
    return LogEvent(
        position=position,
        time=time,
        correlation_id=correlation_id.lower(),
        action=action,
        service=service if isinstance(service, str) else "",
        log=log,
        log_group=log_group,
    )
