"""record_evaluation delivers the outbox of what `evaluate(isolate=…)` left out (an SLO, a whole grouped SLO, one
group), and nothing else's: what waits there was decided from earlier, healthy reads."""

from __future__ import annotations

from typing import Any

from processors.alerting import record_evaluation
from processors.evaluating import Evaluation, Unevaluated
from tests.fakes.alerting import MemoryAlertStore, MemoryNotifier

NOW = 1_790_000_040


def waiting(name: str, slo: str, group: str = "") -> dict[str, Any]:
    transition = {"id": name, "slo": slo, "group": group, "kind": "burn_rate", "severity": "page",
                  "state": "firing", "route": "page", "at_epoch": NOW - 60, "notify": True}
    return {"evaluated_at": NOW - 60, "outbox": [{"transition": transition, "routes": [""]}]}


def test_only_the_outboxes_of_what_was_left_out_are_delivered_and_the_states_keep_their_time() -> None:
    store = MemoryAlertStore()
    store.states = {
        "checkout": waiting("checkout", "checkout"),
        "per-region#eu": waiting("per-region[eu]", "per-region", "eu"),
        "per-region#us": waiting("per-region[us]", "per-region", "us"),
        "per-host#a": waiting("per-host[a]", "per-host", "a"),
        "per-host#b": waiting("per-host[b]", "per-host", "b"),
        "removed": waiting("removed", "removed"),  # an SLO the spec no longer has: not this change's to send
    }
    store.evaluated_at = dict.fromkeys(store.states, NOW - 60)
    notifier = MemoryNotifier()
    evaluation = Evaluation(NOW, (), (Unevaluated("checkout", "", "damaged"), Unevaluated("per-region", "", "damaged"),
                                      Unevaluated("per-host", "b", "damaged")))

    record_evaluation(store, None, evaluation, notifier)  # type: ignore[arg-type]

    assert sorted(t["id"] for t in notifier.sent) == ["checkout", "per-host[b]", "per-region[eu]", "per-region[us]"]
    assert [key for key, state in store.states.items() if "outbox" in state] == ["per-host#a", "removed"]
    assert {state["evaluated_at"] for state in store.states.values()} == {NOW - 60}
