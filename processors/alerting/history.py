"""Alert history: the burn-rate alert log folded into one row per incident, for the report.

An incident is every transition that carries the same `incident` id (firing, re-triggers, escalation,
downgrade, the final resolve). Its duration runs from opening to where the condition last cleared, as MTTR does.
Pure: a function of the alert log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from processors.evaluating.mttr import transition_epoch

_SEVERITY_RANK = {"ticket": 1, "page": 2}


@dataclass(frozen=True)
class IncidentRow:
    slo: str
    incident: str
    opened: int
    closed: int | None  # when the last page/ticket ended (after any hold); None while open
    cleared: int | None  # where the condition last cleared: the incident's end for durations
    peak_severity: str
    peak_tier: str
    notifications: int  # transitions actually sent (silenced ones and unsent escalations excluded)
    retriggers: int
    silenced: bool

    @property
    def duration(self) -> int | None:
        return None if self.cleared is None else self.cleared - self.opened


def incident_history(log: Iterable[Mapping[str, Any]]) -> list[IncidentRow]:
    """One row per burn-rate incident, in the order they opened."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for transition in log:
        if transition.get("kind") != "burn_rate" or not transition.get("incident"):
            continue
        groups.setdefault(str(transition["incident"]), []).append(transition)
    rows = []
    for incident, transitions in groups.items():
        times = [transition_epoch(t) or 0 for t in transitions]
        last = transitions[-1]
        ended = last.get("state") == "resolved"
        peak = max(transitions, key=lambda t: (_SEVERITY_RANK.get(str(t.get("severity")), 0),
                                               float((t.get("thresholds") or {}).get("factor") or 0)))
        cleared = last.get("cleared_at_epoch") if ended else None
        rows.append(IncidentRow(
            slo=str(last.get("slo")),
            incident=incident,
            opened=min(times),
            closed=max(times) if ended else None,
            cleared=int(cleared) if isinstance(cleared, int | float) else (max(times) if ended else None),
            peak_severity=str(peak.get("severity")),
            peak_tier=str(peak.get("tier") or ""),
            notifications=sum(1 for t in transitions if t.get("notify") and not t.get("silenced")),
            retriggers=sum(1 for t in transitions if t.get("state") == "retriggered"),
            silenced=any(t.get("silenced") for t in transitions),
        ))
    return sorted(rows, key=lambda r: (r.opened, r.slo))


def damaged_field(transition: Any) -> str | None:
    """What in a stored transition is not of the shape the evaluator writes, where `slo alerts` and the report
    read it (formats, len(), .items()); None when it reads. A hand edit or another program can store anything."""
    if not isinstance(transition, Mapping):
        return "the transition is not a JSON object"
    checks: tuple[tuple[str, Any], ...] = (
        ("burn_rates", lambda v: isinstance(v, Mapping) and all(_number(rate) for rate in v.values())),
        ("suppressed", lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v)),
        ("exemplars", lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v)),
        ("budget", lambda v: isinstance(v, Mapping) and all(_number(v.get(k, 0)) for k in ("consumed", "remaining"))),
        ("changes", lambda v: isinstance(v, Mapping) and all(isinstance(p, list) and len(p) == 2 for p in v.values())),
        ("thresholds", lambda v: isinstance(v, Mapping)),
    )
    for field, holds in checks:
        value = transition.get(field)
        if value is not None and not holds(value):
            return f"{field} is {type(value).__name__} {str(value)[:40]!r}"
    return None


def _number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
