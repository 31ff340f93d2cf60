"""Mean time to recover, from the alert log: the mean of page firing → resolved (or downgraded) durations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PAGE_ENDS = ("resolved", "downgraded")


def transition_epoch(transition: Mapping[str, Any]) -> int | None:
    at = transition.get("at_epoch")
    if isinstance(at, int | float) and not isinstance(at, bool):
        return int(at)
    from processors.timeutil import parse_iso8601

    parsed = parse_iso8601(transition.get("at"))
    return int(parsed.timestamp()) if parsed else None


def page_incidents(log: Iterable[Mapping[str, Any]], slo_name: str) -> list[tuple[int, int | None]]:
    """(fired, ended) of each page incident of one SLO, oldest first; ended is None while still firing.

    An incident ends where its condition cleared (`cleared_at_epoch`), not where a hold let the page go, and a
    re-trigger within the cool-off reopens the same incident rather than starting another.
    """
    incidents: list[tuple[int, int | None]] = []
    opened: int | None = None
    ended: int | None = None
    for transition in log:
        if transition.get("slo") != slo_name or transition.get("kind") != "burn_rate":
            continue
        if transition.get("severity") != "page":
            continue
        at = transition_epoch(transition)
        if at is None:
            continue
        state = transition.get("state")
        if state in ("firing", "retriggered") and (opened is None or ended is not None):
            if state == "retriggered" and opened is not None:
                ended = None  # the same incident, open again
                continue
            if opened is not None:
                incidents.append((opened, ended))
            opened, ended = at, None
        elif state in PAGE_ENDS and opened is not None and ended is None:
            cleared = transition.get("cleared_at_epoch")
            ended = int(cleared) if isinstance(cleared, int | float) and not isinstance(cleared, bool) else at
    if opened is not None:
        incidents.append((opened, ended))
    return incidents


def mttr_seconds(log: Iterable[Mapping[str, Any]], slo_name: str, start: int, end: int) -> float | None:
    """Mean duration of the page incidents that ended within [start, end); None when none did."""
    durations = [
        ended - fired
        for fired, ended in page_incidents(log, slo_name)
        if ended is not None and start <= ended < end
    ]
    if not durations:
        return None
    return sum(durations) / len(durations)
