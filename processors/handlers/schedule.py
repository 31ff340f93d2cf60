"""The minute a scheduled invocation (EventBridge) stands for: shared by the evaluator and the sweeper."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from processors import conventions
from processors.timeutil import floor_to, parse_iso8601


def scheduled_minute(event: dict[str, Any], wall_clock: float) -> int:
    """The scheduled event's `time` floored to the minute; the wall clock when the event has none."""
    moment = parse_iso8601(EventBridgeEvent(event).get("time")) if isinstance(event, dict) else None
    seconds = moment.timestamp() if moment is not None else wall_clock
    return floor_to(seconds, conventions.MINUTE)
