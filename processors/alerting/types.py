"""Wire shapes of the alerting stage: the persisted per-SLO state document and the transition record."""

from __future__ import annotations

from typing import Literal, TypedDict

Kind = Literal["burn_rate", "budget", "no_data", "spec_change"]
Severity = Literal["page", "ticket", "warning", "critical", "exhausted", "info"]
State = Literal["firing", "resolved", "downgraded", "escalated", "retriggered", "changed"]
Route = Literal["page", "ticket"]
BurnLevel = Literal["ok", "ticket", "page"]


class _BurnRequired(TypedDict):
    level: BurnLevel
    tier: str | None  # the most severe firing tier, e.g. "1h/5m"
    since: int | None
    suppressed: list[str]


class BurnState(_BurnRequired, total=False):
    open_tiers: list[str]  # tiers that fired and still hold above their clear threshold (or are being held)
    incident: int | None  # when the current (or last) incident opened: its identity across re-triggers
    cleared_at: int | None  # the first evaluation where the open level stopped holding; the hold runs from here
    page_ended_at: int | None  # when a page last ended (cool-off)
    ended_at: int | None  # when an incident last closed to ok (cool-off)
    unnotified: bool  # the open incident was opened under a silence and nothing was sent yet


class BudgetState(TypedDict):
    level: str | None  # warning | critical | exhausted
    since: int | None


class NoDataState(TypedDict):
    firing: bool
    since: int | None


class EvaluatedWith(TypedDict):
    """The evaluation-only settings an SLO was last evaluated with: a change is a spec_change record."""

    objective: float
    window: str  # e.g. 30d, calendar-month


class _AlertStateRequired(TypedDict):
    burn: BurnState
    budget: BudgetState
    no_data: NoDataState
    evaluated_at: int


class AlertState(_AlertStateRequired, total=False):
    """What the store keeps per SLO between evaluations (AlertStore.load_alert_states values)."""

    evaluated_with: EvaluatedWith  # absent in states saved before spec_change records existed


class _TransitionRequired(TypedDict):
    id: str  # deterministic: slo#kind#severity#tier#state#at[#group], so a retried evaluation is deduplicated
    slo: str
    kind: Kind
    severity: Severity
    state: State
    at: str  # ISO 8601, e.g. 2026-10-01T04:01:00Z
    at_epoch: int
    notify: bool  # False for records that send nothing (an escalation while already paging)
    route: Route  # the SNS topic: page or ticket


class Transition(_TransitionRequired, total=False):
    group: str  # one group of a grouped SLO: its alerts are per (SLO, group)
    tier: str
    from_tier: str
    downgrade: bool
    burn_rates: dict[str, float]
    thresholds: dict[str, float | int | str]
    long_window_bad_events: int
    suppressed: list[str]
    exemplars: list[str]
    objective: float
    budget: dict[str, float]
    forecast: dict[str, float | None]
    runbook: str
    silent_for_seconds: int
    # "{slo}#{opened epoch}" ("{slo}[{group}]#…" for a group): stable across re-triggers (PagerDuty's dedup_key)
    incident: str
    cleared_at: str  # when the condition cleared (ISO), on resolved/downgraded: MTTR ends here, not at the hold
    cleared_at_epoch: int
    held_seconds: int  # how long the page was held open after the condition cleared
    silenced: bool  # logged while a silence covered the SLO: not sent
    after_silence: bool  # the one notification of an incident that opened under a silence that has ended
    # spec_change: {field: [before, after]} of the evaluation-only settings that changed (objective, window)
    changes: dict[str, list[float | str]]
