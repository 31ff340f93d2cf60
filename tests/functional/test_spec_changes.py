"""An objective or window change is evaluation-only: the SLI keeps its revision and series, and the change is
recorded once in the alert log, at the first evaluation that used it (both store adapters)."""

from __future__ import annotations

from typing import Any

from processors.alerting import record_evaluation
from processors.cli.alerts import render_table, wire
from processors.evaluating.service import evaluate_at
from processors.spec import parse_spec
from processors.store.view import StoreView
from tests.builders import T0
from tests.fakes.alerting import MemoryNotifier
from tests.grouped import GROUPED_SPEC, Deploys, deliver

MINUTE = 60
BEFORE = parse_spec(GROUPED_SPEC.format(limit=100), "before.yaml")
AFTER = parse_spec(
    GROUPED_SPEC.format(limit=100)
    .replace("objective: 0.995", "objective: 0.99")  # deploy-success (grouped): a new objective
    .replace("objective: 0.999\n", "objective: 0.999\n    window: 7d\n"),  # api-availability: a new window
    "after.yaml",
)


def evaluate(store: Any, spec: Any, minute: int) -> list[dict[str, Any]]:
    view = StoreView(store)
    now = int(T0) + minute * MINUTE
    return list(record_evaluation(store, view, evaluate_at(view, spec, now, readings=False).evaluation,
                                  MemoryNotifier()))


def spec_changes(store: Any) -> list[dict[str, Any]]:
    return [t for t in store.alert_log() if t["kind"] == "spec_change"]


def test_an_objective_or_window_change_keeps_the_revision_and_is_logged_once_when_it_took_effect(store) -> None:  # type: ignore[no-untyped-def]
    assert [s.revision for s in AFTER.slos] == [s.revision for s in BEFORE.slos]
    deploys = Deploys(minutes=20)
    for minute in range(deploys.minutes):
        deliver(store, BEFORE, list(deploys.lines(minute)), 1000 + minute)
    evaluate(store, BEFORE, 10)
    assert spec_changes(store) == []  # a first evaluation has nothing to compare with
    evaluate(store, AFTER, 15)
    evaluate(store, AFTER, 15)  # a retried evaluation of the same minute
    evaluate(store, AFTER, 20)
    changes = spec_changes(store)
    assert sorted((t["slo"], t["at"], t["changes"]) for t in changes) == [
        ("api-availability", "2026-10-01T00:15:00Z", {"window": ["30d", "1w"]}),
        ("deploy-success", "2026-10-01T00:15:00Z", {"objective": [0.995, 0.99]}),
    ]
    assert all("group" not in t and t["notify"] is False for t in changes)  # one record per SLO, never sent
    assert len(store.revisions("deploy-success")) == 1  # the counts stay in the one series
    evaluate(store, BEFORE, 25)  # changing back is a change too
    back = sorted((t["slo"], t["changes"]) for t in spec_changes(store) if t["at"] == "2026-10-01T00:25:00Z")
    assert back == [("api-availability", {"window": ["1w", "30d"]}), ("deploy-success", {"objective": [0.99, 0.995]})]


def test_slo_alerts_shows_a_spec_change_with_what_changed() -> None:
    record = {
        "id": "api#spec_change#info#-#changed#1790813700", "slo": "api", "kind": "spec_change", "severity": "info",
        "state": "changed", "at": "2026-10-01T00:15:00Z", "at_epoch": 1790813700, "notify": False,
        "route": "ticket", "objective": 0.99, "changes": {"objective": [0.999, 0.99], "window": ["30d", "1w"]},
    }
    table = render_table([record]).splitlines()
    assert table[1].split() == ["2026-10-01T00:15:00Z", "api", "spec_change", "info", "changed", "objective",
                                "99.9%", "->", "99%;", "window", "30d", "->", "1w;", "(not", "notified)"]
    assert list(wire(record))[:5] == ["slo", "kind", "severity", "state", "at"]
    assert wire(record)["changes"] == record["changes"]
