"""The alert state machine (pure): previous state + signals → new state + transitions.

Burn-rate alerts are one incident per SLO with a level: ok, ticket or page.
  ok/ticket → page    page firing (notified on the page topic), naming the most severe firing tier;
                      every other firing tier is listed in "suppressed"
  page → page         the most severe tier changes: a higher factor records "escalated" (never notified),
                      a lower one just updates the state; nothing is re-sent
  page → ticket       "downgraded" (one notification, on the page topic: the paged responder stands down)
  page → ok           page resolved;  ok → ticket: ticket firing;  ticket → ok: ticket resolved
Budget alerts fire once per level reached (warning, critical, exhausted) and resolve when consumption falls
back below the level (with hysteresis). No-data alerts fire after `no_data_after` of silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from processors.alerting.policy import Signals, TierReading, most_severe
from processors.alerting.types import (
    AlertState,
    BudgetState,
    BurnLevel,
    BurnState,
    Kind,
    NoDataState,
    Route,
    Severity,
    State,
    Transition,
)
from processors.evaluating.types import SloEvaluation
from processors.timeutil import format_duration, iso_seconds

KINDS: tuple[Kind, ...] = ("burn_rate", "budget", "no_data")


def initial_state() -> AlertState:
    return {
        "burn": {"level": "ok", "tier": None, "since": None, "suppressed": []},
        "budget": {"level": None, "since": None},
        "no_data": {"firing": False, "since": None},
        "evaluated_at": 0,
    }


def coerce_state(document: Mapping[str, Any] | None) -> AlertState:
    """A stored document as an AlertState; missing or unknown parts start from the initial state."""
    state = initial_state()
    if not document:
        return state
    burn = document.get("burn") or {}
    if burn.get("level") in ("ok", "ticket", "page"):
        state["burn"] = {
            "level": burn["level"],
            "tier": burn.get("tier"),
            "since": burn.get("since"),
            "suppressed": list(burn.get("suppressed") or []),
        }
    budget = document.get("budget") or {}
    state["budget"] = {"level": budget.get("level"), "since": budget.get("since")}
    no_data = document.get("no_data") or {}
    state["no_data"] = {"firing": bool(no_data.get("firing")), "since": no_data.get("since")}
    if isinstance(document.get("evaluated_at"), int):
        state["evaluated_at"] = document["evaluated_at"]
    return state


def transition_id(slo: str, kind: str, severity: str, tier: str | None, state: str, at: int) -> str:
    return f"{slo}#{kind}#{severity}#{tier or '-'}#{state}#{at}"


def _base(
    evaluation: SloEvaluation,
    kind: Kind,
    severity: Severity,
    state: State,
    tier: str | None = None,
    *,
    route: Route,
    notify: bool = True,
) -> Transition:
    now = evaluation.now
    transition: Transition = {
        "id": transition_id(evaluation.name, kind, severity, tier, state, now),
        "slo": evaluation.name,
        "kind": kind,
        "severity": severity,
        "state": state,
        "at": iso_seconds(now),
        "at_epoch": now,
        "notify": notify,
        "route": route,
        "objective": evaluation.slo.objective,
        "budget": {"consumed": round(evaluation.consumed, 4), "remaining": round(evaluation.remaining, 4)},
        "forecast": {k: None if v is None else round(v) for k, v in evaluation.forecast.items()},
        "runbook": evaluation.slo.runbook,
    }
    if tier is not None:
        transition["tier"] = tier
    return transition


def _burn_transition(
    evaluation: SloEvaluation,
    severity: Severity,
    state: State,
    reading: TierReading | None,
    tier_name: str | None,
    *,
    route: Route,
    notify: bool = True,
) -> Transition:
    transition = _base(evaluation, "burn_rate", severity, state, tier_name, route=route, notify=notify)
    if reading is not None:
        tier = reading.tier
        transition["burn_rates"] = {
            format_duration(tier.long_window): round(reading.long_burn, 4),
            format_duration(tier.short_window): round(reading.short_burn, 4),
        }
        transition["thresholds"] = {
            "factor": tier.factor,
            "long_window": format_duration(tier.long_window),
            "short_window": format_duration(tier.short_window),
            "min_bad_events": reading.min_bad_events,
        }
        transition["long_window_bad_events"] = reading.long_bad
    return transition


def advance_burn(
    evaluation: SloEvaluation, signals: Signals, previous: BurnState
) -> tuple[BurnState, list[Transition]]:
    page = most_severe(signals.firing("page"))
    ticket = most_severe(signals.firing("ticket"))
    top = page or ticket
    level: BurnLevel = "page" if page else "ticket" if ticket else "ok"
    suppressed = [r.name for r in signals.firing() if top is not None and r.name != top.name]
    before, before_tier = previous["level"], previous["tier"]
    since = previous["since"] if level == before else evaluation.now
    state: BurnState = {
        "level": level,
        "tier": top.name if top else None,
        "since": since if level != "ok" else None,
        "suppressed": suppressed,
    }
    transitions: list[Transition] = []
    if level == "page" and before != "page":
        transition = _burn_transition(evaluation, "page", "firing", top, state["tier"], route="page")
        transition["suppressed"] = suppressed
        if before == "ticket" and before_tier:
            transition["from_tier"] = before_tier
        transitions.append(transition)
    elif level == "page" and top is not None and top.name != before_tier:
        was = signals.reading(before_tier)
        if was is None or top.tier.factor > was.tier.factor:
            escalated = _burn_transition(
                evaluation, "page", "escalated", top, top.name, route="page", notify=False
            )
            escalated["suppressed"] = suppressed
            if before_tier:
                escalated["from_tier"] = before_tier
            transitions.append(escalated)
    elif level == "ticket" and before == "page":
        transition = _burn_transition(evaluation, "page", "downgraded", top, state["tier"], route="page")
        transition["downgrade"] = True
        transition["suppressed"] = suppressed
        if before_tier:
            transition["from_tier"] = before_tier
        transitions.append(transition)
    elif level == "ticket" and before == "ok":
        transition = _burn_transition(evaluation, "ticket", "firing", top, state["tier"], route="ticket")
        transition["suppressed"] = suppressed
        transitions.append(transition)
    elif level == "ok" and before in ("page", "ticket"):
        route: Route = "page" if before == "page" else "ticket"
        transitions.append(
            _burn_transition(
                evaluation, route, "resolved", signals.reading(before_tier), before_tier, route=route
            )
        )
    return state, transitions


def advance_budget(
    evaluation: SloEvaluation, signals: Signals, previous: BudgetState
) -> tuple[BudgetState, list[Transition]]:
    thresholds = dict(signals.policy.budget_thresholds)
    level, before = signals.budget_level, previous["level"]
    if level == before:
        return previous, []
    state: BudgetState = {"level": level, "since": evaluation.now if level else None}
    rank = {name: i for i, (name, _) in enumerate(sorted(thresholds.items(), key=lambda item: item[1]))}
    rising = before is None or (level is not None and rank.get(level, -1) > rank.get(before, -1))
    severity = cast(Severity, level if rising else before)
    transition = _base(evaluation, "budget", severity, "firing" if rising else "resolved", route="ticket")
    transition["thresholds"] = {"consumed": thresholds.get(severity, 0.0)}
    return state, [transition]


def advance_no_data(
    evaluation: SloEvaluation, signals: Signals, previous: NoDataState
) -> tuple[NoDataState, list[Transition]]:
    if signals.silent == previous["firing"]:
        return previous, []
    state: NoDataState = {"firing": signals.silent, "since": evaluation.now if signals.silent else None}
    transition = _base(
        evaluation, "no_data", "ticket", "firing" if signals.silent else "resolved", route="ticket"
    )
    if signals.policy.no_data_after:
        transition["silent_for_seconds"] = signals.policy.no_data_after
    return state, [transition]


def advance(
    evaluation: SloEvaluation, signals: Signals, previous: Mapping[str, Any] | None
) -> tuple[AlertState, list[Transition]]:
    """The SLO's next state and the transitions that lead there (in kind order: burn, budget, no-data)."""
    before = coerce_state(previous)
    burn, burn_transitions = advance_burn(evaluation, signals, before["burn"])
    budget, budget_transitions = advance_budget(evaluation, signals, before["budget"])
    no_data, no_data_transitions = advance_no_data(evaluation, signals, before["no_data"])
    state: AlertState = {"burn": burn, "budget": budget, "no_data": no_data, "evaluated_at": evaluation.now}
    return state, [*burn_transitions, *budget_transitions, *no_data_transitions]
