"""Evaluate, decide, notify, record: the one sequence the evaluator Lambda and `slo replay` both run.

Delivery is at least once, and once per incident transition and route. The evaluation is saved first, with every
notification still to send in its SLO's state (`outbox`: the transition and the routes it has not reached); then
the outbox is delivered and saved again without what went out. So a state change is decided once, whatever fails:
a route that fails, a save that fails, or an invocation killed between a page and its save leaves the transition
in the outbox (or the whole evaluation unsaved, nothing sent), and the next evaluation (or Lambda's retry of this
one) delivers the same transition, with the same incident and PagerDuty dedup_key, to the routes still missing it.
A retry after a successful save finds the new state already stored; an evaluation older than the stored one is
skipped. Only states that changed are saved: the SLOs an evaluation judged make every older evaluation of theirs
stale in the store (its per-SLO floors), so an unchanged state need not be rewritten with the new minute.

Two evaluations that overlap publish once: before publishing, each claims (slo, group, transition, route, minute)
with a conditional write (Store.claim_notification), and only the winner publishes. A claim is a short lease, so a
claimant that crashed before publishing delays the page, never loses it: the outbox keeps it until the store says
the claim was published. An evaluation of the next minute that read the states before this one's save is stale
(the floors it read moved): else it would advance them again and page the same incident a minute later.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

from processors.alerting.exceptions import NotificationError, NotificationsFailedError
from processors.alerting.notify import MAX_EXEMPLARS, Notifier, unreadable_details
from processors.alerting.policy import Signals, read_signals
from processors.alerting.state import (
    advance,
    alert_label,
    apply_silence,
    coerce_state,
    evaluated_with,
    silenced_at,
    spec_change,
)
from processors.alerting.types import Transition
from processors.evaluating import AlertStore, Evaluation, SliView, SloEvaluation, Unevaluated
from processors.evaluating.service import evaluate_at
from processors.spec.model import Spec
from processors.store.exceptions import CorruptItemError
from processors.store.keys import alert_state_sk

OUTBOX_MAX_AGE = 86400  # a notification no route took for a day is given up (reported), not retried for ever
# An SLO's state holds its outbox, and a DynamoDB item at most 400 KB: an entry is 0.5 to 1 KB, and a page tier
# without hold flapping every minute while its route is down adds one a minute (1,440 a day, a 1 MB state).
OUTBOX_MAX_ENTRIES = 100  # past this, the oldest are given up (reported) as those older than OUTBOX_MAX_AGE
_WITHOUT_ROUTES = ""  # the outbox route of a notifier without routes (SNS alone, replay's LocalNotifier)
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
    errors = []
    for route in _routes(notifier, transition):
        try:
            _publish_claimed(store, notifier, transition, route, owner, clock)
        except NotificationError as exc:
            errors.append(f"{route}: {exc}" if route else str(exc))
    if errors:
        raise NotificationError("; ".join(errors))


def _routes(notifier: Notifier, transition: Transition) -> list[str]:
    targets = getattr(notifier, "targets", None)
    return [_WITHOUT_ROUTES] if targets is None else list(targets(transition))


def _publish_claimed(
    store: Any, notifier: Notifier, transition: Transition, route: str, owner: str, clock: Callable[[], float]
) -> bool:
    """Deliver `transition` to `route` once: True when it is out (now, or by an earlier evaluation), False when
    another evaluation holds the claim and has not published yet (still to be delivered). NotificationError when
    the route failed; the claim is given back."""
    def publish() -> None:
        if route == _WITHOUT_ROUTES:
            notifier.publish(transition)
        else:
            notifier.send_to(route, transition)  # type: ignore[attr-defined]

    claim_notification = getattr(store, "claim_notification", None)
    if claim_notification is None:  # an AlertStore double without the claim port
        publish()
        return True
    from processors.store.types import NotificationClaim

    parts = [transition["kind"], transition["severity"], transition.get("tier") or "-", transition["state"]]
    claim = NotificationClaim(
        slo=transition["slo"],
        transition="#".join([*parts, route] if route else parts),
        minute=int(transition["at_epoch"]),
        group=str(cast(dict[str, Any], transition).get("group") or ""),
    )
    if not claim_notification(claim, owner, clock()):
        published = getattr(store, "notification_published", None)
        return True if published is None else bool(published(claim))  # else a live lease: its holder may crash
    try:
        publish()
    except NotificationError:
        store.settle_notification(claim, owner, published=False)  # a retry may claim and publish it
        raise
    store.settle_notification(claim, owner, published=True)
    return True


def alerting_units(evaluation: Evaluation) -> list[SloEvaluation]:
    """What alerts are kept for: each SLO, except that a grouped SLO alerts per group (one incident per
    (SLO, group)), never on its whole, so one failing group pages alone."""
    return [unit for slo in evaluation.slos for unit in (slo.groups if slo.slo.group_by else (slo,))]


def record_evaluation(
    store: AlertStore, view: SliView, evaluation: Evaluation, notifier: Notifier,
    clock: Callable[[], float] = time.time, deadline: float | None = None,
    left_out: list[Unevaluated] | None = None,
) -> list[Transition]:
    """Advance every SLO's alert state, save it with the notifications to send (its outbox), deliver them, save
    what is still undelivered; returns the newly recorded transitions.

    Raises NotificationsFailedError (after saving everything) when some deliveries failed: they stay in the
    outbox, and the next evaluation delivers them to the routes that missed them.
    `clock` times the notification claims' leases (the wall clock, not the evaluated minute). `deadline`
    (time.monotonic) is when no delivery may start any more (the Lambda's timeout minus one route's retries).
    Given `left_out` (the evaluator Lambda's), an SLO or group whose stored state does not decode is named there
    and left alone (not advanced, not saved, nothing sent): a state read wrongly could page an incident twice; and
    a transition whose exemplars do not decode is sent without them, and a silence that does not decode is read
    as absent (both named there too). Without it each is a CorruptItemError.
    """
    now = evaluation.now
    owner = uuid.uuid4().hex  # this evaluation, as the owner of the claims it makes
    damaged: dict[str, str] | None = {} if left_out is not None else None
    # before the states: a save that lands between the two makes this one stale (an adjacent minute overlapping)
    floors = getattr(store, "alert_floors", None)  # AlertStore doubles without floors judge as before
    read_floors = floors() if floors is not None else None
    previous = store.load_alert_states(damaged) if damaged is not None else store.load_alert_states()
    silences = _silences(store, left_out)
    states: dict[str, dict[str, Any]] = {}
    kept: list[Transition] = []
    changed: set[str] = set()  # SLOs whose objective or window change is recorded (once, not per group)
    given_up: list[tuple[str, str, str]] = []  # outbox entries past OUTBOX_MAX_ENTRIES
    judged: set[str] = set()  # SLOs this evaluation judged: an older one is stale for them, states unwritten too
    for slo in alerting_units(evaluation):
        key = alert_state_sk(slo.name, slo.group)
        if damaged and key in damaged and left_out is not None:
            left_out.append(Unevaluated(slo.name, slo.group, damaged[key]))
            continue
        judged.add(slo.name)
        stored = previous.get(key)
        if stored and isinstance(stored.get("evaluated_at"), int) and stored["evaluated_at"] > now:
            continue  # a newer evaluation has already run; this one is stale
        change = spec_change(slo, stored)
        if change is not None and slo.name not in changed:
            changed.add(slo.name)
            if not _used_before(previous, slo):
                kept.append(change)
        before = coerce_state(stored)
        signals = read_signals(slo, before["budget"]["level"])
        state, transitions = advance(slo, signals, before)
        transitions = apply_silence(slo, signals, state, transitions, silenced_at(silences, slo.name, now))
        outbox = _outbox(stored, key, left_out)
        for transition in transitions:
            try:
                attach_exemplars(view, signals, transition, now, slo.slo.series(slo.group))
            except CorruptItemError as exc:  # exemplars that do not decode: the page goes without them
                if left_out is None:
                    raise
                transition["exemplars"] = []
                left_out.append(Unevaluated(slo.name, slo.group, f"exemplars left off: {exc}"))
            routes = _routes(notifier, transition) if transition["notify"] else []
            if routes:
                outbox.append({"transition": dict(transition), "routes": routes})
        kept.extend(transitions)
        if len(outbox) > OUTBOX_MAX_ENTRIES:
            given_up += [_given_up(entry, f"{OUTBOX_MAX_ENTRIES} newer notifications wait")
                         for entry in outbox[:-OUTBOX_MAX_ENTRIES]]
            outbox = outbox[-OUTBOX_MAX_ENTRIES:]
        state["evaluated_with"] = evaluated_with(slo)
        if outbox:
            cast(dict[str, Any], state)["outbox"] = outbox
        elif unchanged(stored, cast(dict[str, Any], state)):
            continue  # not written: `judged` makes every older evaluation of its SLO stale all the same
        states[key] = cast(dict[str, Any], state)
    recorded = store.save_alert_evaluation(
        states, cast(list[dict[str, Any]], kept), now,
        judged if read_floors is None else {slo: read_floors.get(slo, 0) for slo in judged})
    unevaluated = [k for k in _unevaluated_states(evaluation, previous)
                   if k not in states and previous[k].get("outbox")]
    failures = given_up + deliver_outbox(store, notifier, [k for k, state in states.items() if state.get("outbox")]
                                         + unevaluated, now, owner, clock, deadline, isolated=damaged is not None,
                                         unevaluated=set(unevaluated), damage=left_out)
    if failures:
        raise NotificationsFailedError(failures, recorded)
    return cast(list[Transition], recorded)


def _silences(store: AlertStore, left_out: list[Unevaluated] | None) -> list[Mapping[str, Any]]:
    """The stored silences. Given `left_out`, one that does not decode is named there and read as absent: a silence
    only holds pages back, and a damaged one may not say whose, so without it the worst is a page it would have
    held (named, and DamagedItems tickets); holding its SLOs back instead (every SLO, for one that names none)
    would keep pages nobody asked to hold for as long as it stays, and silences are kept after they end."""
    read = getattr(store, "silences", None)
    if read is None:  # AlertStore doubles without silences have none
        return []
    if left_out is None:
        return list(read())
    damaged: list[str] = []
    silences = list(read(damaged))
    left_out += [Unevaluated("silences", "", why) for why in damaged]
    return silences


def unchanged(stored: dict[str, Any] | None, state: dict[str, Any]) -> bool:
    """True when `state` is `stored` but for its evaluation time: a steady minute of a thousand groups saves
    none of them (each would be a write unit a minute). Compared as stored, JSON, so a tuple equals its list."""
    if stored is None:
        return False
    return {k: v for k, v in stored.items() if k != "evaluated_at"} == json.loads(
        json.dumps({k: v for k, v in state.items() if k != "evaluated_at"}))


def _used_before(previous: dict[str, dict[str, Any]], unit: SloEvaluation) -> bool:
    """Whether another group's stored state already carries this group's settings: their change was recorded when
    that group first used them, while this one was left out (a damaged item in its reads)."""
    if not unit.group:
        return False
    settings, prefix = evaluated_with(unit), f"{unit.name}#"
    return any(key.startswith(prefix) and state.get("evaluated_with") == settings for key, state in previous.items())


def _unevaluated_states(evaluation: Evaluation, previous: dict[str, dict[str, Any]]) -> list[str]:
    """The stored states of the SLOs and groups `evaluate(isolate=…)` left out (a damaged item in their reads).
    Their outboxes are still delivered: what waits there was decided from earlier, healthy reads."""
    found = []
    for unit in evaluation.unevaluated:
        if unit.group:
            found.append(alert_state_sk(unit.what, unit.group))
        else:  # the whole SLO: its state, or every group's
            found += [key for key in previous if key == unit.what or key.startswith(f"{unit.what}#")]
    return [key for key in dict.fromkeys(found) if key in previous]


def _outbox(stored: dict[str, Any] | None, key: str = "",
            damage: list[Unevaluated] | None = None) -> list[dict[str, Any]]:
    """The stored outbox's entries that delivery can read. One of another shape (a hand edit, another program or
    version) is left out, as it was when not an object: delivering it raised out of every evaluation, with the
    entry carried into each. One whose transition reads but some of whose details do not (a budget that is text,
    an infinite forecast) is kept without those: the page goes out, with less to say. Given `damage`, each is
    named there (the evaluator Lambda's ERROR line and DamagedItems)."""
    entries = (stored or {}).get("outbox")
    if not isinstance(entries, list):
        return []
    readable = []
    for entry in entries:
        if not isinstance(entry, dict) or not _deliverable(entry.get("transition"), entry.get("routes")):
            if damage is not None:
                why = f"an outbox entry that does not read is left out: {str(entry)[:80]}"
                damage.append(Unevaluated(key, "", why))
            continue
        transition = entry["transition"]
        if unread := unreadable_details(transition):
            entry = {**entry, "transition": {k: v for k, v in transition.items() if k not in unread}}
            if damage is not None:
                damage.append(Unevaluated(transition["slo"], str(transition.get("group") or ""),
                                          f"its {transition['kind']} {transition['state']} notification is sent "
                                          f"without what does not read: {'; '.join(unread.values())}"))
        readable.append(dict(entry))
    return readable


def _deliverable(transition: Any, routes: Any) -> bool:
    """What delivery reads of an outbox entry: the claim's text fields and minute, the topic (`route`: SNS's), and
    routes it can name."""
    if not isinstance(transition, dict) or not isinstance(routes, list):
        return False
    at = transition.get("at_epoch")
    return (all(isinstance(transition.get(name), str) for name in ("slo", "kind", "severity", "state"))
            and isinstance(transition.get("tier") or "", str)
            and transition.get("route") in ("page", "ticket")
            and (type(at) is int or (type(at) is float and math.isfinite(at)))
            and all(isinstance(route, str) for route in routes))


def _given_up(entry: dict[str, Any], why: str) -> tuple[str, str, str]:
    """The failure an outbox entry given up is reported as: (alerting name, kind, why and the routes it missed)."""
    transition = cast(Transition, entry["transition"])
    routes = ", ".join(route for route in entry["routes"] if route)
    reason = f"gave up: {why}" + (f" ({routes})" if routes else "")
    return alert_label(transition["slo"], transition.get("group")), transition["kind"], reason


def deliver_outbox(
    store: AlertStore, notifier: Notifier, keys: list[str], now: int, owner: str, clock: Callable[[], float],
    deadline: float | None = None, isolated: bool = False, unevaluated: Collection[str] = (),
    damage: list[Unevaluated] | None = None,
) -> list[tuple[str, str, str]]:
    """Deliver the saved outboxes of `keys` (as the store holds them: a newer evaluation's are its own), oldest
    first and in order per route (a resolve never overtakes its trigger), then save what is left; returns the
    failures as (alerting name, kind, error). The keys in `unevaluated` were not evaluated at `now` (a damaged item):
    their states, saved earlier, are delivered unless a newer evaluation saved them.

    Time is bounded: a route that failed (after its retries: up to 3 timeouts) is not tried again in this pass,
    whatever else is waiting for it, and nothing starts after `deadline`; what waits stays in the outbox.
    An entry that does not read, or the details of one that do not, are left out (and named in `damage`, given
    it), and the outbox saved without them, as when the state is evaluated (_outbox)."""
    if not keys:
        return []
    saved = store.load_alert_states({}) if isolated else store.load_alert_states()  # `keys` were just saved whole
    updates: dict[str, dict[str, Any]] = {}
    failures: list[tuple[str, str, str]] = []
    down: set[str] = set()  # routes that failed in this pass, or that the deadline stopped
    for key in keys:
        doc = saved.get(key)
        at = (doc or {}).get("evaluated_at")
        if not doc or (isinstance(at, int) and at > now if key in unevaluated else at != now):
            continue  # not saved (a newer evaluation was first): that evaluation delivers the outbox
        entries = _outbox(doc, key, damage)
        left: list[dict[str, Any]] = []
        waiting = set(down)  # routes with an earlier undelivered entry: later ones wait behind it
        for entry in entries:
            transition = cast(Transition, entry["transition"])
            name = alert_label(transition["slo"], transition.get("group"))
            if now - int(transition.get("at_epoch") or now) > OUTBOX_MAX_AGE:
                failures.append(_given_up(entry, "no route took it for a day"))
                continue
            missing = []
            for route in entry["routes"]:
                if route in waiting:
                    missing.append(route)
                    continue
                if deadline is not None and time.monotonic() >= deadline:
                    failures.append((name, transition["kind"], f"{route}: not sent, out of time; next minute"))
                    missing.append(route)
                    waiting.add(route)
                    down.add(route)
                    continue
                try:
                    out = _publish_claimed(store, notifier, transition, route, owner, clock)
                except NotificationError as exc:
                    failures.append((name, transition["kind"], f"{route}: {exc}" if route else str(exc)))
                    down.add(route)  # down for every SLO of this pass: one route's retries cost time once
                    out = False
                if not out:  # failed, or another evaluation holds its claim: later entries wait
                    missing.append(route)
                    waiting.add(route)
            if missing:
                left.append({**entry, "routes": missing})
        if left != entries or entries != doc.get("outbox"):  # delivered, or some of it did not read
            if left:
                doc["outbox"] = left
            else:
                doc.pop("outbox", None)
            updates[key] = doc
    if updates:
        store.save_alert_evaluation(updates, [], now)
    return failures


def evaluate_and_record(
    store: AlertStore, view: SliView, spec: Spec, now: int, notifier: Notifier
) -> list[dict[str, Any]]:
    """evaluate_at `now` (no metrics readings), then record_evaluation; the replay backtest's minute."""
    evaluation = evaluate_at(view, spec, now, readings=False).evaluation
    return cast(list[dict[str, Any]], record_evaluation(store, view, evaluation, notifier))
