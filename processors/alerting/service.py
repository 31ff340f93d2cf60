"""Evaluate, decide, notify, record: the one sequence the evaluator Lambda and `slo replay` both run.

Delivery is at least once. Notifications are published before the evaluation is saved; a publish that
fails keeps that (SLO, kind) at its previous state, so the next evaluation (or Lambda's retry of this one)
sends it again. A retry after a successful save finds the new state already stored and sends nothing; an
evaluation older than the stored one is skipped.

Two evaluations of the same minute that overlap publish once: before publishing, each claims
(slo, group, transition, minute) with a conditional write (Store.claim_notification), and only the winner
publishes. A claim is a short lease, so a claimant that crashed before publishing delays the page, never loses it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, cast

from processors.alerting.exceptions import NotificationError, NotificationsFailedError
from processors.alerting.notify import MAX_EXEMPLARS, Notifier
from processors.alerting.policy import Signals, read_signals
from processors.alerting.state import (
    KINDS,
    advance,
    alerting_name,
    apply_silence,
    coerce_state,
    evaluated_with,
    silenced_at,
    spec_change,
)
from processors.alerting.types import Transition
from processors.evaluating import AlertStore, Evaluation, SliView, SloEvaluation
from processors.evaluating.service import evaluate_at
from processors.spec.model import Spec
from processors.store.keys import alert_state_sk

_STATE_PART = {"burn_rate": "burn", "budget": "budget", "no_data": "no_data"}
_WITH_EXEMPLARS = ("firing", "downgraded", "escalated")


def attach_exemplars(view: SliView, signals: Signals, transition: Transition, now: int, series: str) -> None:
    """Up to five recent bad correlation IDs of counter `series`: from the tier's short window, else its long
    window."""
    if transition["kind"] != "burn_rate" or transition["state"] not in _WITH_EXEMPLARS:
        return
    reading = signals.reading(transition.get("tier"))
    if reading is None:
        return
    ids: list[str] = []
    for length in (reading.tier.short_window, reading.tier.long_window):
        ids = view.bad_exemplars(series, now - length, now, MAX_EXEMPLARS)
        if ids:
            break
    transition["exemplars"] = list(ids[:MAX_EXEMPLARS])


def publish_once(
    store: Any, notifier: Notifier, transition: Transition, owner: str, clock: Callable[[], float]
) -> None:
    """Publish `transition` unless another evaluation claimed it first (stores without claims just publish).

    A notifier with several routes (RoutedNotifier) is claimed per route, so a retry re-sends only the routes
    that failed, and every route is tried before the failures are raised together.
    """
    targets = getattr(notifier, "targets", None)
    if targets is None:
        _publish_claimed(store, transition, None, owner, clock, lambda: notifier.publish(transition))
        return
    send_to: Callable[[str, Transition], None] = notifier.send_to  # type: ignore[attr-defined]
    errors = []
    for name in targets(transition):
        try:
            _publish_claimed(store, transition, name, owner, clock, partial(send_to, name, transition))
        except NotificationError as exc:
            errors.append(f"{name}: {exc}")
    if errors:
        raise NotificationError("; ".join(errors))


def _publish_claimed(
    store: Any, transition: Transition, route: str | None, owner: str, clock: Callable[[], float],
    publish: Callable[[], None],
) -> None:
    claim_notification = getattr(store, "claim_notification", None)
    if claim_notification is None:  # an AlertStore double without the claim port
        publish()
        return
    from processors.store.types import NotificationClaim

    parts = [transition["kind"], transition["severity"], transition.get("tier") or "-", transition["state"]]
    claim = NotificationClaim(
        slo=transition["slo"],
        transition="#".join([*parts, route] if route else parts),
        minute=int(transition["at_epoch"]),
        group=str(cast(dict[str, Any], transition).get("group") or ""),
    )
    if not claim_notification(claim, owner, clock()):
        return  # an overlapping evaluation of this minute publishes it
    try:
        publish()
    except NotificationError:
        store.settle_notification(claim, owner, published=False)  # a retry may claim and publish it
        raise
    store.settle_notification(claim, owner, published=True)


def alerting_units(evaluation: Evaluation) -> list[SloEvaluation]:
    """What alerts are kept for: each SLO, except that a grouped SLO alerts per group (one incident per
    (SLO, group)), never on its whole, so one failing group pages alone."""
    return [unit for slo in evaluation.slos for unit in (slo.groups if slo.slo.group_by else (slo,))]


def record_evaluation(
    store: AlertStore, view: SliView, evaluation: Evaluation, notifier: Notifier,
    clock: Callable[[], float] = time.time,
) -> list[Transition]:
    """Advance every SLO's alert state, publish what changed, save; returns the newly recorded transitions.

    Raises NotificationsFailedError (after saving everything else) when some publishes failed.
    `clock` times the notification claims' leases (the wall clock, not the evaluated minute).
    """
    now = evaluation.now
    owner = uuid.uuid4().hex  # this evaluation, as the owner of the claims it makes
    previous = store.load_alert_states()
    silences = list(getattr(store, "silences", list)())  # AlertStore doubles without silences have none
    states: dict[str, dict[str, Any]] = {}
    kept: list[Transition] = []
    failures: list[tuple[str, str, str]] = []
    changed: set[str] = set()  # SLOs whose objective or window change is recorded (once, not per group)
    for slo in alerting_units(evaluation):
        key = alert_state_sk(slo.name, slo.group)
        stored = previous.get(key)
        if stored and isinstance(stored.get("evaluated_at"), int) and stored["evaluated_at"] > now:
            continue  # a newer evaluation has already run; this one is stale
        change = spec_change(slo, stored)
        if change is not None and slo.name not in changed:
            changed.add(slo.name)
            kept.append(change)
        before = coerce_state(stored)
        signals = read_signals(slo, before["budget"]["level"])
        state, transitions = advance(slo, signals, before)
        transitions = apply_silence(slo, signals, state, transitions, silenced_at(silences, slo.name, now))
        for kind in KINDS:
            of_kind = [t for t in transitions if t["kind"] == kind]
            try:
                for transition in of_kind:
                    attach_exemplars(view, signals, transition, now, slo.slo.series(slo.group))
                    if transition["notify"]:
                        publish_once(store, notifier, transition, owner, clock)
            except NotificationError as exc:
                failures.append((alerting_name(slo), kind, str(exc)))
                part = _STATE_PART[kind]
                cast(dict[str, Any], state)[part] = cast(dict[str, Any], before)[part]
                continue
            kept.extend(of_kind)
        state["evaluated_with"] = evaluated_with(slo)
        states[key] = cast(dict[str, Any], state)
    recorded = store.save_alert_evaluation(states, cast(list[dict[str, Any]], kept), now)
    if failures:
        raise NotificationsFailedError(failures, recorded)
    return cast(list[Transition], recorded)


def evaluate_and_record(
    store: AlertStore, view: SliView, spec: Spec, now: int, notifier: Notifier
) -> list[dict[str, Any]]:
    """evaluate_at `now` (no metrics readings), then record_evaluation; the replay backtest's minute."""
    evaluation = evaluate_at(view, spec, now, readings=False).evaluation
    return cast(list[dict[str, Any]], record_evaluation(store, view, evaluation, notifier))
