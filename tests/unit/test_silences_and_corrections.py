"""Silences (evaluated and logged, not sent; one notification when a silence ends mid-incident) and budget
corrections (excluded from good/total everywhere evaluate_at is used), on generated streams."""

from __future__ import annotations

from typing import Any

import pytest

from processors.alerting import evaluate_and_record
from processors.counting import Counts
from processors.evaluating.corrections import CorrectedView, Correction, merged_windows
from processors.evaluating.service import evaluate_at
from processors.spec import Slo, Spec, load_spec
from tests import runner_platform as conventions
from tests.alert_fakes import MemoryAlertStore, MemoryNotifier, Phase, SeriesView, minute_counts
from tests.alert_scenarios import HISTORY, RATE, STEP, T0


class SilencedStore(MemoryAlertStore):
    """The in-memory alert store with the store's silence list (what Store.silences returns)."""

    def __init__(self, silences: list[dict[str, Any]]) -> None:
        super().__init__()
        self._silences = silences

    def silences(self, damaged: list[str] | None = None) -> list[dict[str, Any]]:
        return list(self._silences)


@pytest.fixture(scope="module")
def slo() -> Slo:
    return load_spec().slo(conventions.API_AVAILABILITY)


def run(
    slo: Slo, silences: list[dict[str, Any]], phases: list[Phase], minutes: int
) -> tuple[SilencedStore, MemoryNotifier]:
    view = SeriesView(T0 - HISTORY * STEP, {slo.name: minute_counts([Phase(HISTORY, RATE), *phases])})
    store, notifier = SilencedStore(silences), MemoryNotifier()
    for minute in range(minutes):
        evaluate_and_record(store, view, Spec(slos=(slo,)), T0 + minute * STEP, notifier)
    return store, notifier


def silence(slo: str, starts: int, ends: int) -> dict[str, Any]:
    return {"id": "s", "slo": slo, "starts": T0 + starts * STEP, "ends": T0 + ends * STEP, "reason": "maintenance"}


def test_a_silenced_slo_is_still_evaluated_and_logged_but_nothing_is_sent(slo: Slo) -> None:
    store, notifier = run(slo, [silence("*", 0, 600)], [Phase(2, RATE, 1.0), Phase(600, RATE)], 60)
    burn = [t for t in store.log if t["kind"] == "burn_rate"]
    assert [t["state"] for t in burn] == ["firing", "resolved"]
    assert all(t["silenced"] for t in store.log)
    assert notifier.sent == []


def test_a_silence_for_another_slo_changes_nothing(slo: Slo) -> None:
    store, notifier = run(slo, [silence("deploy-success", 0, 600)], [Phase(2, RATE, 1.0), Phase(600, RATE)], 60)
    assert [t["state"] for t in notifier.sent if t["kind"] == "burn_rate"] == ["firing", "resolved"]
    assert not any(t.get("silenced") for t in store.log)


def test_when_a_silence_ends_while_a_page_fires_one_notification_goes_out(slo: Slo) -> None:
    store, notifier = run(slo, [silence("*", 0, 20)], [Phase(60, RATE, 1.0), Phase(600, RATE)], 40)
    sent = [t for t in notifier.sent if t["kind"] == "burn_rate"]
    assert [(t["state"], t["at_epoch"] - T0, t.get("after_silence")) for t in sent] == [("firing", 20 * STEP, True)]
    (first,) = [t for t in store.log if t["kind"] == "burn_rate" and t["state"] == "firing" and t.get("silenced")]
    assert first["at_epoch"] == T0 + STEP and first["incident"] == sent[0]["incident"]
    assert store.states[slo.name]["burn"].get("unnotified") is False


def test_a_page_sent_before_a_silence_still_gets_its_resolve(slo: Slo) -> None:
    _, notifier = run(slo, [silence("*", 5, 600)], [Phase(2, RATE, 1.0), Phase(600, RATE)], 60)
    assert [(t["state"], bool(t.get("silenced"))) for t in notifier.sent if t["kind"] == "burn_rate"] == [
        ("firing", False),
        ("resolved", True),
    ]


def test_an_incident_wholly_inside_a_silence_is_never_sent_or_resolved_later(slo: Slo) -> None:
    _, notifier = run(slo, [silence("*", 0, 30)], [Phase(2, RATE, 1.0), Phase(600, RATE)], 60)
    assert notifier.sent == []


def test_overlapping_corrections_are_merged_so_nothing_is_subtracted_twice() -> None:
    spans = [(0, 10), (5, 20), (30, 40)]
    corrections = [Correction(str(i), "a", start, end, "", "", 0, 1) for i, (start, end) in enumerate(spans)]
    assert merged_windows(corrections, "a") == [(0, 20), (30, 40)]
    assert merged_windows(corrections, "b") == []


def test_a_correction_removes_its_window_from_the_budget_and_the_burn_rates(slo: Slo) -> None:
    series = minute_counts([Phase(HISTORY, RATE), Phase(10, RATE, 1.0), Phase(50, RATE)])
    view = SeriesView(T0 - HISTORY * STEP, {slo.name: series})
    now = T0 + 60 * STEP
    before = evaluate_at(view, Spec(slos=(slo,)), now, readings=False).evaluation.slos[0]
    fix = Correction("api-v1", slo.name, T0, T0 + 10 * STEP, "load test", "ann", 0, 1)
    after_view = CorrectedView(view, [fix])
    after = evaluate_at(after_view, Spec(slos=(slo,)), now, readings=False).evaluation.slos[0]  # type: ignore[arg-type]
    assert before.counts.total - after.counts.total == 10 * RATE
    assert before.consumed > 0.2 and after.consumed == 0.0  # 200 bad of 30 days at 20/min: 23% of the budget
    assert before.burn(3600) > 14.4 and after.burn(3600) == 0.0
    assert after_view.counts(slo, T0 + 5 * STEP, T0 + 20 * STEP) == Counts(10 * RATE, 10 * RATE)
