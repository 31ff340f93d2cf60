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
from typing import Any, cast

from processors.alerting.exceptions import NotificationError, NotificationsFailedError
from processors.alerting.notify import MAX_EXEMPLARS, LocalNotifier, Notifier
from processors.alerting.policy import Signals, read_signals
from processors.alerting.state import KINDS, advance, coerce_state
from processors.alerting.types import AlertState, Transition
from processors.evaluating import AlertStore, Evaluation, SliView, evaluate
from processors.evaluating.budget import window_bounds
from processors.spec.model import Spec

# Incidents that opened up to this long before an SLO window still count towards its MTTR.
MTTR_LOOKBACK_MARGIN = 7 * 86400
_STATE_PART = {"burn_rate": "burn", "budget": "budget", "no_data": "no_data"}
_WITH_EXEMPLARS = ("firing", "downgraded", "escalated")


def open_view(store: Any) -> SliView:
    """The store's SliView for one evaluation (the one place that knows how a store hands one out)."""
    factory = getattr(store, "view", None)
    if callable(factory):
        return cast(SliView, factory())
    from processors.store.view import StoreView

    return cast(SliView, StoreView(store))


def alert_log_since(spec: Spec, now: int) -> int:
    starts = [window_bounds(slo, now)[0] for slo in spec.slos] or [now]
    return min(starts) - MTTR_LOOKBACK_MARGIN


def attach_exemplars(view: SliView, signals: Signals, transition: Transition, now: int) -> None:
    """Up to five recent bad correlation IDs: from the tier's short window, else its long window."""
    if transition["kind"] != "burn_rate" or transition["state"] not in _WITH_EXEMPLARS:
        return
    reading = signals.reading(transition.get("tier"))
    if reading is None:
        return
    ids: list[str] = []
    for length in (reading.tier.short_window, reading.tier.long_window):
        ids = view.bad_exemplars(transition["slo"], now - length, now, MAX_EXEMPLARS)
        if ids:
            break
    transition["exemplars"] = list(ids[:MAX_EXEMPLARS])


def publish_once(
    store: Any, notifier: Notifier, transition: Transition, owner: str, clock: Callable[[], float]
) -> None:
    """Publish `transition` unless another evaluation claimed it first (stores without claims just publish)."""
    claim_notification = getattr(store, "claim_notification", None)
    if claim_notification is None:  # an AlertStore double without the claim port
        notifier.publish(transition)
        return
    from processors.store.types import NotificationClaim

    claim = NotificationClaim(
        slo=transition["slo"],
        transition="#".join(
            (transition["kind"], transition["severity"], transition.get("tier") or "-", transition["state"])
        ),
        minute=int(transition["at_epoch"]),
        group=str(cast(dict[str, Any], transition).get("group") or ""),
    )
    if not claim_notification(claim, owner, clock()):
        return  # an overlapping evaluation of this minute publishes it
    try:
        notifier.publish(transition)
    except NotificationError:
        store.settle_notification(claim, owner, published=False)  # a retry may claim and publish it
        raise
    store.settle_notification(claim, owner, published=True)


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
    states: dict[str, dict[str, Any]] = {}
    kept: list[Transition] = []
    failures: list[tuple[str, str, str]] = []
    for slo in evaluation.slos:
        stored = previous.get(slo.name)
        if stored and isinstance(stored.get("evaluated_at"), int) and stored["evaluated_at"] > now:
            continue  # a newer evaluation has already run; this one is stale
        before = coerce_state(stored)
        signals = read_signals(slo, before["budget"]["level"])
        state, transitions = advance(slo, signals, before)
        for kind in KINDS:
            of_kind = [t for t in transitions if t["kind"] == kind]
            try:
                for transition in of_kind:
                    attach_exemplars(view, signals, transition, now)
                    if transition["notify"]:
                        publish_once(store, notifier, transition, owner, clock)
            except NotificationError as exc:
                failures.append((slo.name, kind, str(exc)))
                part = _STATE_PART[kind]
                cast(dict[str, Any], state)[part] = cast(dict[str, Any], before)[part]
                continue
            kept.extend(of_kind)
        states[slo.name] = cast(dict[str, Any], state)
    recorded = store.save_alert_evaluation(states, cast(list[dict[str, Any]], kept), now)
    if failures:
        raise NotificationsFailedError(failures, recorded)
    return cast(list[Transition], recorded)


def evaluate_and_record(
    store: AlertStore, view: SliView, spec: Spec, now: int, notifier: Notifier
) -> list[dict[str, Any]]:
    """Evaluate every SLO at `now`, then record_evaluation; the backtest hook of `slo replay`."""
    evaluation = evaluate(view, spec, now, store.alert_log(since=alert_log_since(spec, now)))
    return cast(list[dict[str, Any]], record_evaluation(store, view, evaluation, notifier))


def backtest_hook(store: Any, spec: Spec) -> Callable[[int], None]:
    """A replay minute hook: evaluate at each minute boundary of event time; transitions go to the log."""
    notifier = LocalNotifier()

    def hook(minute: int) -> None:
        evaluate_and_record(store, open_view(store), spec, minute, notifier)

    return hook


def current_states(store: AlertStore) -> dict[str, AlertState]:
    return {name: coerce_state(doc) for name, doc in store.load_alert_states().items()}
