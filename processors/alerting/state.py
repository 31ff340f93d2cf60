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
from urllib.parse import quote

from processors.alerting.policy import Signals, TierReading, most_severe
from processors.alerting.types import (
    AlertState,
    BudgetState,
    BurnLevel,
    BurnState,
    EvaluatedWith,
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
        if isinstance(burn.get("open_tiers"), list):
            state["burn"]["open_tiers"] = [str(t) for t in burn["open_tiers"]]
        if burn.get("unnotified"):
            state["burn"]["unnotified"] = True
        for key in ("incident", "cleared_at", "page_ended_at", "ended_at"):
            if isinstance(burn.get(key), int):
                state["burn"][key] = burn[key]
    budget = document.get("budget") or {}
    state["budget"] = {"level": budget.get("level"), "since": budget.get("since")}
    no_data = document.get("no_data") or {}
    state["no_data"] = {"firing": bool(no_data.get("firing")), "since": no_data.get("since")}
    if isinstance(document.get("evaluated_at"), int):
        state["evaluated_at"] = document["evaluated_at"]
    return state


def transition_id(slo: str, kind: str, severity: str, tier: str | None, state: str, at: int, group: str = "") -> str:
    base = f"{slo}#{kind}#{severity}#{tier or '-'}#{state}#{at}"
    return f"{base}#{quote(group, safe='')}" if group else base


def alerting_name(evaluation: SloEvaluation) -> str:
    """Who an alert is about: the SLO, or `slo[group]` for one group of a grouped SLO."""
    return alert_label(evaluation.name, evaluation.group)


def alert_label(slo: str, group: str | None) -> str:
    """`slo`, or `slo[group]` for one group of a grouped SLO (alerting_name, from a transition's fields)."""
    return f"{slo}[{group}]" if group else slo


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
        "id": transition_id(evaluation.name, kind, severity, tier, state, now, evaluation.group),
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
    if evaluation.group:
        transition["group"] = evaluation.group
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


_RANK: dict[str, int] = {"ok": 0, "ticket": 1, "page": 2}


def _hold(signals: Signals, tier_name: str | None) -> int:
    reading = signals.reading(tier_name)
    if reading is not None:
        return reading.tier.hold
    tier = next((t for t in signals.policy.tiers if t.name == tier_name), None)
    return tier.hold if tier is not None else 0


def advance_burn(
    evaluation: SloEvaluation, signals: Signals, previous: BurnState
) -> tuple[BurnState, list[Transition]]:
    now = evaluation.now
    before, before_tier = previous["level"], previous["tier"]
    # A tier opens on the Workbook condition and stays open while it holds above its clear threshold.
    was_open = set(previous.get("open_tiers") or ([before_tier] if before_tier and before != "ok" else []))
    open_now = [r for r in signals.tiers if r.firing or (r.name in was_open and r.holding)]
    pages = tuple(r for r in open_now if r.tier.severity == "page")
    tickets = tuple(r for r in open_now if r.tier.severity == "ticket")
    level: BurnLevel = "page" if pages else "ticket" if tickets else "ok"
    top = most_severe(pages) if pages else most_severe(tickets)
    cleared_at = previous.get("cleared_at")
    held = False
    if _RANK[level] < _RANK[before]:
        # The open level stopped holding: keep it open for the tier's hold before letting go.
        cleared_at = now if cleared_at is None else cleared_at
        if now - cleared_at < _hold(signals, before_tier):
            level, held = before, True
            top = signals.reading(before_tier) if level == "page" else most_severe(tickets) or top
    else:
        cleared_at = None
    tier_name = before_tier if held else (top.name if top else None)
    suppressed = [r.name for r in signals.firing() if r.name != tier_name]
    state: BurnState = {
        "level": level,
        "tier": tier_name if level != "ok" else None,
        "since": previous["since"] if level == before else (now if level != "ok" else None),
        "suppressed": suppressed if level != "ok" else [],
        "open_tiers": sorted(was_open) if held else [r.name for r in open_now],
        "incident": previous.get("incident"),
        "cleared_at": cleared_at if held else None,
        "page_ended_at": previous.get("page_ended_at"),
        "ended_at": previous.get("ended_at"),
        "unnotified": bool(previous.get("unnotified")),
    }
    cool_off = signals.policy.cool_off
    transitions: list[Transition] = []

    def burn(severity: Severity, name: State, reading: TierReading | None, tier: str | None, **kw: Any) -> None:
        transition = _burn_transition(evaluation, severity, name, reading, tier, **kw)
        transition["incident"] = f"{alerting_name(evaluation)}#{state['incident']}"
        transitions.append(transition)

    def within_cool_off(ended: int | None) -> bool:
        return state["incident"] is not None and ended is not None and now - ended < cool_off

    if level == "page" and before != "page":
        retrigger = within_cool_off(previous.get("page_ended_at"))
        if not retrigger and before == "ok":
            state["incident"] = now
        burn("page", "retriggered" if retrigger else "firing", top, tier_name, route="page")
        transitions[-1]["suppressed"] = suppressed
        if before == "ticket" and before_tier:
            transitions[-1]["from_tier"] = before_tier
    elif level == "page" and top is not None and tier_name != before_tier and not held:
        was = signals.reading(before_tier)
        if was is None or top.tier.factor > was.tier.factor:
            burn("page", "escalated", top, tier_name, route="page", notify=False)
            transitions[-1]["suppressed"] = suppressed
            if before_tier:
                transitions[-1]["from_tier"] = before_tier
    elif level == "ticket" and before == "page":
        burn("page", "downgraded", top, tier_name, route="page")
        transitions[-1].update({"downgrade": True, "suppressed": suppressed})
        if before_tier:
            transitions[-1]["from_tier"] = before_tier
        _mark_cleared(transitions[-1], cleared_at, now)
        state["page_ended_at"] = now
    elif level == "ticket" and before == "ok":
        retrigger = within_cool_off(previous.get("ended_at"))
        if not retrigger:
            state["incident"] = now
        burn("ticket", "retriggered" if retrigger else "firing", top, tier_name, route="ticket")
        transitions[-1]["suppressed"] = suppressed
    elif level == "ok" and before in ("page", "ticket"):
        route: Route = "page" if before == "page" else "ticket"
        burn(route, "resolved", signals.reading(before_tier), before_tier, route=route)
        _mark_cleared(transitions[-1], cleared_at, now)
        state["ended_at"] = now
        if before == "page":
            state["page_ended_at"] = now
    return state, transitions


def _mark_cleared(transition: Transition, cleared_at: int | None, now: int) -> None:
    """Where the condition cleared: incident durations and MTTR end here, not at the held resolve."""
    at = now if cleared_at is None else cleared_at
    transition["cleared_at"] = iso_seconds(at)
    transition["cleared_at_epoch"] = at
    transition["held_seconds"] = now - at


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


def evaluated_with(evaluation: SloEvaluation) -> EvaluatedWith:
    return {"objective": evaluation.slo.objective, "window": evaluation.slo.window_label}


def spec_change(evaluation: SloEvaluation, stored: Mapping[str, Any] | None) -> Transition | None:
    """The alert-log record of an objective or window change (evaluation-only: the SLI's revision and series
    stay), at the first evaluation that used it; None when the stored state has no settings or the same ones.

    Its id is the SLO's (never a group's) and the minute's, so every group of a grouped SLO and every retried
    or overlapping evaluation of that minute record it once; the saved state then carries the new settings.
    """
    before = (stored or {}).get("evaluated_with")
    if not isinstance(before, dict):
        return None
    now, current = evaluation.now, evaluated_with(evaluation)
    changes = {name: [before.get(name), value] for name, value in current.items() if before.get(name) != value}
    if not changes:
        return None
    return {
        "id": transition_id(evaluation.name, "spec_change", "info", None, "changed", now),
        "slo": evaluation.name,
        "kind": "spec_change",
        "severity": "info",
        "state": "changed",
        "at": iso_seconds(now),
        "at_epoch": now,
        "notify": False,
        "route": "ticket",
        "objective": evaluation.slo.objective,
        "changes": cast(dict[str, list[float | str]], changes),
    }


def silenced_at(silences: list[Mapping[str, Any]], slo: str, now: int) -> bool:
    """True when a silence for this SLO (or for all, slo "*") covers `now`."""
    return any(
        s.get("slo") in ("*", slo) and int(s.get("starts", 0)) <= now < int(s.get("ends", 0)) for s in silences
    )


def apply_silence(
    evaluation: SloEvaluation, signals: Signals, state: AlertState, transitions: list[Transition], silenced: bool
) -> list[Transition]:
    """Silences change what is sent, never what is evaluated or logged.

    While silenced, transitions are logged with `silenced: true` and not sent; an incident opened under the
    silence is remembered as unsent (`burn.unnotified`). When the silence ends while it still fires, one
    `firing` notification (`after_silence: true`) goes out. A page that was sent before the silence still gets
    its resolve, so the pager does not keep an incident open forever; one never sent is never resolved.
    """
    burn = state["burn"]
    unnotified = bool(burn.get("unnotified"))
    for transition in transitions:
        opening = transition["kind"] == "burn_rate" and transition["state"] in ("firing", "retriggered")
        ending = transition["kind"] == "burn_rate" and transition["state"] in ("resolved", "downgraded")
        if silenced:
            transition["silenced"] = True
        if opening:
            unnotified = silenced
        if silenced and not ending:
            transition["notify"] = False
        elif ending and unnotified:
            transition["notify"] = False  # the pager never heard of it: nothing to close
            unnotified = transition["state"] == "downgraded"  # the ticket carries on, still unsent
    opened_now = any(t["kind"] == "burn_rate" and t["state"] in ("firing", "retriggered") for t in transitions)
    if not silenced and unnotified and burn["level"] != "ok" and not opened_now:
        level: Route = "page" if burn["level"] == "page" else "ticket"
        late = _burn_transition(evaluation, level, "firing", signals.reading(burn["tier"]), burn["tier"], route=level)
        late["after_silence"] = True
        late["incident"] = f"{alerting_name(evaluation)}#{burn.get('incident')}"
        transitions.append(late)
        unnotified = False
    burn["unnotified"] = unnotified
    return transitions
