"""Scenario backtests: generated request streams, evaluated every minute, against the Workbook's arithmetic.

Every expected time is computed from the formulas here, never hard-coded, and asserted to within one
evaluation step (60 s), because the evaluator only looks once a minute.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from functools import cache

import pytest

from processors.alerting import NotificationsFailedError, evaluate_and_record, read_signals
from processors.evaluating import evaluate, mttr_seconds, status_document
from processors.spec import Slo, Spec, load_spec
from tests import runner_platform as conventions
from tests.alert_fakes import MemoryAlertStore, MemoryNotifier, Phase, SeriesView, minute_counts
from tests.alert_scenarios import (
    HISTORY,
    RATE,
    SCENARIOS,
    STEP,
    T0,
    Run,
    Scenario,
    detection_seconds,
    first_evaluation_at_or_after,
    summary,
)
from tests.alert_scenarios import backtest as run_scenario


@pytest.fixture(scope="module")
def slo() -> Slo:
    return load_spec().slo(conventions.API_AVAILABILITY)  # objective 0.999, Workbook tiers


def backtest(
    slo: Slo,
    phases: list[Phase],
    *,
    first: int = 0,
    minutes: int,
    seed: int | None = None,
    history: int = HISTORY,
    history_rate: float = RATE,
) -> Run:
    """Healthy history, then `phases` from T0; evaluate every minute from T0 + first for `minutes`."""
    scenario = Scenario("ad hoc", tuple(phases), minutes, first, seed, False, history_rate, history)
    return run_scenario(scenario, slo)


@pytest.mark.parametrize(
    ("error_ratio", "case"),
    [
        (1.0, "a full outage pages at the first evaluation after 1h/5m crosses 14.4x (52 s at 99.9%)"),
        (0.1, "a 10% error rate pages when 14.4 × 0.1% / 10% of an hour has passed"),
    ],
)
def test_a_fast_burn_pages_when_the_workbook_formula_says(slo: Slo, error_ratio: float, case: str) -> None:
    run = backtest(slo, [Phase(120, RATE, error_ratio)], minutes=60)
    tier = run.tier("1h/5m")
    predicted = detection_seconds(tier.factor, slo.objective, error_ratio, tier.long_window)
    detected = run.first(kind="burn_rate", severity="page", state="firing")
    assert predicted <= detected < predicted + STEP, case
    assert detected == first_evaluation_at_or_after(predicted), case
    if error_ratio == 1.0:
        assert detected <= 60 and predicted == pytest.approx(51.84)


def hold_until(run: Run, outage_minutes: int, severity: str) -> int:
    """When tiers of `severity` stop firing after a full outage of `outage_minutes` ending at recovery.

    A tier keeps firing while its long-window burn holds ≥ factor and the outage is still inside its short
    window, i.e. until recovery + short window.
    """
    recovery = outage_minutes * STEP
    bad = outage_minutes * RATE
    ends = [
        recovery + tier.short_window
        for tier in run.slo.alerting.tiers  # type: ignore[union-attr]
        if tier.severity == severity
        and bad / (RATE * tier.long_window / STEP) / (1 - run.slo.objective) >= tier.factor
    ]
    return max(ends)


def hold_of(run: Run, tier_name: str) -> int:
    return int(run.tier(tier_name).hold)


def cleared(transition: dict) -> int:  # type: ignore[type-arg]
    return int(transition["cleared_at_epoch"]) - T0


def test_a_short_outage_clears_when_it_leaves_the_five_minute_window_and_ends_one_hold_later(slo: Slo) -> None:
    run = backtest(slo, [Phase(2, RATE, 1.0), Phase(600, RATE)], minutes=120)
    expected = hold_until(run, 2, "page")
    assert expected == 2 * STEP + 5 * conventions.MINUTE  # only 1h/5m fires for 2 minutes at 99.9%
    (resolved,) = run.transitions(kind="burn_rate", severity="page", state="resolved")
    assert abs(cleared(resolved) - expected) <= STEP
    assert resolved["at_epoch"] - T0 - cleared(resolved) == hold_of(run, "1h/5m") == 5 * conventions.MINUTE
    assert not run.transitions(severity="ticket")


def test_a_longer_outage_pages_while_6h_30m_holds_then_downgrades_one_hold_later(slo: Slo) -> None:
    run = backtest(slo, [Phase(10, RATE, 1.0), Phase(1000, RATE)], minutes=13 * 60)
    page_end = hold_until(run, 10, "page")
    ticket_end = hold_until(run, 10, "ticket")
    assert page_end == 10 * STEP + 30 * conventions.MINUTE and ticket_end == 10 * STEP + 6 * conventions.HOUR
    burn = run.transitions(kind="burn_rate")
    assert [(t["severity"], t["state"]) for t in burn] == [
        ("page", "firing"),
        ("page", "downgraded"),
        ("ticket", "resolved"),
    ]
    downgraded, resolved = burn[1], burn[2]
    assert abs(cleared(downgraded) - page_end) <= STEP
    assert run.first(state="downgraded") == cleared(downgraded) + hold_of(run, "6h/30m")
    assert downgraded["downgrade"] is True and downgraded["from_tier"] in ("1h/5m", "6h/30m")
    assert abs(cleared(resolved) - ticket_end) <= STEP
    assert resolved["at_epoch"] - T0 == cleared(resolved) + hold_of(run, "3d/6h")
    sent = [t["state"] for t in run.notifier.sent if t["kind"] == "burn_rate"]
    assert sent == ["firing", "downgraded", "resolved"]
    (incident,) = {t["incident"] for t in burn}
    assert incident == f"{slo.name}#{T0 + STEP}"


@cache
def scenario_run(name: str) -> Run:
    return run_scenario(next(s for s in SCENARIOS if s.name == name))


SCENARIO_NAMES = [s.name for s in SCENARIOS]
SHARP = ["2-minute outage", "10-minute outage", "45-minute outage", "slow burn (10x) turning into an outage"]
HOVERING = [
    "flapping: 8x for 10 h, Poisson 20/min",
    "near threshold at low traffic: 7x for 10 h, Poisson 5/min",
    "alternating: 30 min at 30x, 30 min healthy, for 6 h",
]


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_a_page_opens_at_the_first_evaluation_where_the_workbook_condition_holds(name: str) -> None:
    run = scenario_run(name)
    opened = [t for t in run.transitions(kind="burn_rate", severity="page") if t["state"] == "firing"]
    if not run.condition:
        assert not opened, name
        return
    assert int(opened[0]["at_epoch"]) - T0 == run.condition[0], name


@pytest.mark.parametrize("name", SHARP)
def test_a_sharp_incident_pages_once_and_ends_within_a_short_window_of_the_condition_clearing(name: str) -> None:
    run = scenario_run(name)
    row = summary(run)
    ends = [t for t in run.transitions(kind="burn_rate", severity="page") if t["state"] != "firing"]
    last_tier = run.tier(ends[-1]["from_tier"] if ends[-1]["state"] == "downgraded" else ends[-1]["tier"])
    assert row["pages"] == 1, name
    assert 0 <= row["reset_after_clear"] <= last_tier.short_window, name
    assert cleared(ends[-1]) == row["condition_cleared"], name


@pytest.mark.parametrize("name", HOVERING)
def test_a_burn_hovering_around_a_threshold_for_hours_sends_one_page(name: str) -> None:
    run = scenario_run(name)
    assert run.pages == 1, name
    assert len({t["incident"] for t in run.transitions(kind="burn_rate")}) == 1, name
    assert all(t["state"] != "firing" for t in run.sent(route="page")[1:]), name


def test_the_flapping_scenario_of_the_issue_still_flaps_without_hysteresis() -> None:
    """Proves the scenario reproduces the report: with the Workbook's bare rule (no clear ratio, no hold, no
    cool-off) the same stream pages several times."""
    scenario = next(s for s in SCENARIOS if s.name == HOVERING[0])
    slo = load_spec().slo(conventions.API_AVAILABILITY)
    bare = tuple(dataclasses.replace(t, keep_firing_for=0, clear_ratio=1.0) for t in slo.alerting.tiers)  # type: ignore[union-attr]
    slo = dataclasses.replace(slo, alerting=dataclasses.replace(slo.alerting, tiers=bare, cool_off=0))  # type: ignore[arg-type]
    assert run_scenario(scenario, slo).pages >= 5


def test_a_re_fire_within_the_cool_off_re_triggers_the_incident_and_a_later_one_pages_again(slo: Slo) -> None:
    outage = Phase(2, RATE, 1.0)
    run = backtest(slo, [outage, Phase(40, RATE), outage, Phase(180, RATE), outage, Phase(60, RATE)], minutes=300)
    burn = [(t["state"], t["incident"]) for t in run.sent(kind="burn_rate")]
    first, later = f"{slo.name}#{T0 + STEP}", f"{slo.name}#{T0 + 225 * STEP}"
    assert burn == [
        ("firing", first),
        ("resolved", first),
        ("retriggered", first),
        ("resolved", first),
        ("firing", later),
        ("downgraded", later),  # three outages in a day are enough for 1d/2h: the ticket carries on
    ]
    assert run.pages == 2


def test_mttr_counts_from_when_the_condition_cleared_not_from_the_held_resolve(slo: Slo) -> None:
    run = backtest(slo, [Phase(10, RATE, 1.0), Phase(1000, RATE)], minutes=2 * 60)
    (end,) = run.transitions(state="downgraded")
    mttr = mttr_seconds(run.store.log, slo.name, T0, T0 + conventions.DAY)
    assert mttr == cleared(end) - STEP
    assert mttr < end["at_epoch"] - T0 - STEP


def test_an_incident_sends_one_page_however_many_tiers_fire(slo: Slo) -> None:
    run = backtest(slo, [Phase(45, RATE, 1.0), Phase(600, RATE)], minutes=3 * 60)
    pages = [t for t in run.notifier.sent if t["severity"] == "page" and t["state"] == "firing"]
    assert len(pages) == 1
    assert len({t["id"] for t in run.store.log}) == len(run.store.log)


def test_an_evaluator_starting_mid_outage_pages_once_and_labels_the_suppressed_tiers(slo: Slo) -> None:
    run = backtest(slo, [Phase(60, RATE, 1.0)], first=10, minutes=5)
    (page,) = run.transitions(kind="burn_rate", state="firing")
    assert page["tier"] == "1h/5m"
    assert page["suppressed"] == ["6h/30m", "1d/2h", "3d/6h"]
    assert len(page["exemplars"]) == 5


def test_a_slow_burn_that_turns_into_an_outage_escalates_without_a_second_page(slo: Slo) -> None:
    slow = 0.01  # 10x: fires 6h/30m (factor 6) but never 1h/5m (factor 14.4)
    rate = 100  # one bad event a minute, so detection is not held back by sparse failures
    phases = [Phase(300, rate, slow), Phase(10, rate, 1.0)]
    run = backtest(slo, phases, first=200, minutes=110, history_rate=rate)
    tier = run.tier("6h/30m")
    predicted = detection_seconds(tier.factor, slo.objective, slow, tier.long_window)
    assert abs(run.first(state="firing", severity="page") - first_evaluation_at_or_after(predicted)) <= STEP
    escalated = run.transitions(state="escalated")
    assert [(t["from_tier"], t["tier"], t["notify"]) for t in escalated] == [("6h/30m", "1h/5m", False)]
    assert [t["state"] for t in run.notifier.sent if t["kind"] == "burn_rate"] == ["firing"]


def test_two_days_at_30_percent_of_budget_pace_never_page(slo: Slo) -> None:
    pace = 0.3 * (1 - slo.objective)
    run = backtest(slo, [Phase(2 * 1440, RATE, pace)], minutes=2 * 1440, seed=7)
    assert run.view.counts(slo, T0, T0 + 2 * conventions.DAY).bad > 0
    assert not run.transitions(kind="burn_rate")
    assert not run.notifier.sent


def test_one_failure_at_ten_requests_an_hour_is_gated_and_pages_nobody(slo: Slo) -> None:
    rate = 10 / 60
    series = minute_counts([Phase(HISTORY + 180, rate)])
    failed = next(i for i in range(HISTORY + 5, len(series)) if series[i].total)
    series[failed] = dataclasses.replace(series[failed], good=series[failed].total - 1)
    view = SeriesView(T0 - HISTORY * STEP, {slo.name: series})
    store, notifier = MemoryAlertStore(), MemoryNotifier()
    spec = Spec(slos=(slo,))
    gated = 0
    for minute in range(0, 180):
        now = T0 + minute * STEP
        evaluate_and_record(store, view, spec, now, notifier)
        gated += any(r.gated for r in read_signals(evaluate(view, spec, now).slos[0]).tiers)
    assert gated, "the failure burns fast enough to page; only the min_bad_events gate stops it"
    assert not [t for t in store.log if t["kind"] == "burn_rate"]
    assert not notifier.sent


def test_zero_traffic_gives_no_nan_no_burn_and_no_alert_until_the_no_data_rule(slo: Slo) -> None:
    quiet = dataclasses.replace(slo, alerting=dataclasses.replace(slo.alerting, no_data_after=10 * 60))
    run = backtest(quiet, [Phase(30, 0), Phase(30, RATE)], minutes=60)
    evaluation = evaluate(run.view, Spec(slos=(quiet,)), T0 + 20 * STEP)
    json.dumps(status_document(evaluation), allow_nan=False)
    assert [(t["kind"], t["state"], t["at_epoch"] - T0) for t in run.store.log] == [
        ("no_data", "firing", 10 * STEP),
        ("no_data", "resolved", 31 * STEP),
    ]
    never = backtest(slo, [Phase(60, 0)], minutes=60, history=60, history_rate=0)
    assert not never.store.log
    doc = status_document(evaluate(never.view, Spec(slos=(slo,)), T0 + 30 * STEP))
    (status,) = doc["slos"]
    assert status["attainment"] is None and status["budget"] == {"consumed": 0.0, "remaining": 1.0}
    assert set(status["burn_rates"].values()) == {0.0}


def test_re_evaluating_every_minute_twice_records_and_sends_nothing_twice(slo: Slo) -> None:
    series = minute_counts([Phase(HISTORY, RATE), Phase(10, RATE, 1.0), Phase(120, RATE)])
    view = SeriesView(T0 - HISTORY * STEP, {slo.name: series})
    store, notifier = MemoryAlertStore(), MemoryNotifier()
    spec = Spec(slos=(slo,))
    recorded = []
    for minute in range(0, 100):
        recorded += evaluate_and_record(store, view, spec, T0 + minute * STEP, notifier)
        again = evaluate_and_record(store, view, spec, T0 + minute * STEP, notifier)
        assert again == [], f"minute {minute} recorded {again} a second time"
    assert [t["state"] for t in recorded] == ["firing", "downgraded"]
    stale = evaluate_and_record(store, view, spec, T0 + 5 * STEP, notifier)
    assert stale == []
    assert len(notifier.sent) == len(store.log) == 2  # page firing, downgraded... within 100 minutes
    assert [t["state"] for t in notifier.sent] == ["firing", "downgraded"]


def test_a_page_that_fails_to_publish_is_sent_again_at_the_next_evaluation(slo: Slo) -> None:
    series = minute_counts([Phase(HISTORY, RATE), Phase(30, RATE, 1.0)])
    view = SeriesView(T0 - HISTORY * STEP, {slo.name: series})
    store, notifier = MemoryAlertStore(), MemoryNotifier()
    spec = Spec(slos=(slo,))
    notifier.fail_routes = {"page"}
    with pytest.raises(NotificationsFailedError) as failed:
        evaluate_and_record(store, view, spec, T0 + STEP, notifier)
    assert failed.value.failures[0][:2] == (slo.name, "burn_rate")
    # the state change is decided once: logged, and kept in the outbox until a route takes it
    assert [t["state"] for t in store.log] == ["firing"] and store.states[slo.name]["burn"]["level"] == "page"
    assert [e["transition"]["id"] for e in store.states[slo.name]["outbox"]] == [store.log[0]["id"]]
    notifier.fail_routes = set()
    evaluate_and_record(store, view, spec, T0 + 2 * STEP, notifier)
    evaluate_and_record(store, view, spec, T0 + 3 * STEP, notifier)
    assert [(t["state"], t["at_epoch"] - T0) for t in notifier.sent] == [("firing", STEP)]  # the same transition
    assert "outbox" not in store.states[slo.name] and len(store.log) == 1


def test_an_outbox_a_failing_route_cannot_empty_keeps_its_newest_entries_and_reports_the_oldest_given_up(
    slo: Slo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DynamoDB item holds at most 400 KB. A page tier without hold (keep_firing_for: 0) over a 1m short window,
    flapping every minute while its route is down, added one entry (0.5 to 0.9 KB) a minute: 1,441 in a day, a
    1 MB state. The outbox keeps OUTBOX_MAX_ENTRIES (lowered here), gives up the oldest and says so."""
    from processors.alerting import service
    from processors.spec.model import AlertPolicy, BurnRateTier

    monkeypatch.setattr(service, "OUTBOX_MAX_ENTRIES", 4)
    tier = BurnRateTier(severity="page", long_window=3600, short_window=60, factor=14.4, keep_firing_for=0)
    flapping = dataclasses.replace(slo, alerting=AlertPolicy(tiers=(tier,)))
    view = SeriesView(T0 - 120 * STEP, {slo.name: minute_counts([Phase(120, RATE)]
                                                                 + [Phase(1, RATE, 1.0), Phase(1, RATE)] * 10)})
    store, notifier = MemoryAlertStore(), MemoryNotifier()
    notifier.fail_routes = {"page", "ticket"}
    given_up: list[tuple[str, str, str]] = []
    for minute in range(14):
        try:
            evaluate_and_record(store, view, Spec(slos=(flapping,)), T0 + minute * STEP, notifier)
        except NotificationsFailedError as failed:
            given_up += [failure for failure in failed.failures if "gave up" in failure[2]]
        assert len(store.states[slo.name].get("outbox", [])) <= 4
    notified = [t["id"] for t in store.log if t["notify"]]
    assert len(notified) > 8
    kept = [entry["transition"]["id"] for entry in store.states[slo.name]["outbox"]]
    assert kept == notified[-4:]  # the newest, in order
    assert len(given_up) == len(notified) - 4
    assert given_up[0] == (slo.name, "burn_rate", "gave up: 4 newer notifications wait")
    notifier.fail_routes = set()  # back: the newest four of all go out, oldest first, and nothing waits
    with contextlib.suppress(NotificationsFailedError):  # this minute's flap may give up one more
        evaluate_and_record(store, view, Spec(slos=(flapping,)), T0 + 14 * STEP, notifier)
    notified = [t["id"] for t in store.log if t["notify"]]
    assert [t["id"] for t in notifier.sent] == notified[-4:] and "outbox" not in store.states[slo.name]
