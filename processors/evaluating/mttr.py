"""Mean time to recover, from the alert log: the mean of page firing → resolved (or downgraded) durations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from processors.timeutil import transition_epoch

PAGE_ENDS = ("resolved", "downgraded")


@dataclass(frozen=True)
class PageIncident:
    opened: int  # the page's first firing
    cleared: int | None  # where its condition cleared (durations and MTTR end here); None while open
    closed: int | None  # when the page ended, after any hold (when the log learned it ended)


def page_incident_spans(log: Iterable[Mapping[str, Any]], slo_name: str, group: str = "") -> list[PageIncident]:
    """Each page incident of one SLO (of one group of a grouped SLO), oldest first.

    An incident ends where its condition cleared (`cleared_at_epoch`), not where a hold let the page go, and a
    re-trigger within the cool-off reopens the same incident rather than starting another.
    """
    incidents: list[PageIncident] = []
    opened: int | None = None
    cleared: int | None = None
    closed: int | None = None
    for transition in log:
        if transition.get("slo") != slo_name or transition.get("kind") != "burn_rate":
            continue
        if transition.get("group", "") != group:
            continue
        if transition.get("severity") != "page":
            continue
        at = transition_epoch(transition)
        if at is None:
            continue
        state = transition.get("state")
        if state in ("firing", "retriggered") and (opened is None or closed is not None):
            if state == "retriggered" and opened is not None:
                cleared = closed = None  # the same incident, open again
                continue
            if opened is not None:
                incidents.append(PageIncident(opened, cleared, closed))
            opened, cleared, closed = at, None, None
        elif state in PAGE_ENDS and opened is not None and closed is None:
            value = transition.get("cleared_at_epoch")
            cleared = int(value) if isinstance(value, int | float) and not isinstance(value, bool) else at
            closed = at
    if opened is not None:
        incidents.append(PageIncident(opened, cleared, closed))
    return incidents


def page_incidents(log: Iterable[Mapping[str, Any]], slo_name: str) -> list[tuple[int, int | None]]:
    """(fired, cleared) of each page incident of one SLO, oldest first; cleared is None while still open."""
    return [(i.opened, i.cleared) for i in page_incident_spans(log, slo_name)]


def incident_durations(
    log: Iterable[Mapping[str, Any]], slo_name: str, start: int, end: int, group: str | None = ""
) -> list[int]:
    """Durations (fired → condition cleared) of the page incidents whose page ended within [start, end).
    A grouped SLO's incidents are per group; `group=None` takes every group's."""
    log = list(log)
    groups = [group] if group is not None else sorted(
        {str(t.get("group", "")) for t in log if t.get("slo") == slo_name}
    )
    return [
        i.cleared - i.opened
        for name in groups
        for i in page_incident_spans(log, slo_name, name)
        if i.cleared is not None and i.closed is not None and start <= i.closed < end
    ]


def mttr_seconds(
    log: Iterable[Mapping[str, Any]], slo_name: str, start: int, end: int, group: str | None = ""
) -> float | None:
    """Mean duration of the page incidents whose page ended within [start, end); None when none did."""
    durations = incident_durations(log, slo_name, start, end, group)
    if not durations:
        return None
    return sum(durations) / len(durations)
