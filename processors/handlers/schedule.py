"""The minute a scheduled invocation (EventBridge) stands for: shared by the evaluator and the sweeper."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from processors import conventions
from processors.timeutil import floor_to, parse_iso8601

# EventBridge dates a scheduled event at its schedule, never after the run it starts; beyond clock skew, a later
# `time` is a hand-made event, and evaluating or sweeping the future would change the store for good: each alert
# state saved as evaluated then refuses every real evaluation until that time as stale, and every unit open now
# and past max_runtime by then is swept as an orphan.
MAX_SKEW_SECONDS = conventions.CLOCK_SKEW_SECONDS


def scheduled_minute(event: dict[str, Any], wall_clock: float) -> int:
    """The scheduled event's `time` floored to the minute; the wall clock when the event has none, or one later
    than the wall clock by more than MAX_SKEW_SECONDS. An earlier one is believed: a retried invocation runs late."""
    moment = parse_iso8601(EventBridgeEvent(event).get("time")) if isinstance(event, dict) else None
    seconds = moment.timestamp() if moment is not None else wall_clock
    return floor_to(seconds if seconds <= wall_clock + MAX_SKEW_SECONDS else wall_clock, conventions.MINUTE)
