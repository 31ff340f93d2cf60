"""An objective changed while one group of a grouped SLO is left out of the minute (a damaged item) is recorded
once, at the minute its other groups first used it: the group that comes back later carries the old settings in
its state, and must not record the change a second time."""

from __future__ import annotations

from dataclasses import replace

from processors import conventions
from processors.alerting import record_evaluation
from processors.counting import Rows
from processors.evaluating import Evaluation, Unevaluated
from processors.evaluating.evaluate import evaluate_slo
from processors.spec.model import Slo
from processors.store.exceptions import CorruptItemError
from processors.store.view import StoreView
from tests.fakes.alerting import MemoryAlertStore, MemoryNotifier
from tests.grouped import grouped_spec
from tests.unit.test_store_view import HOUR0, CountingBuckets

SLO = grouped_spec().slo("deploy-success")
NOW = HOUR0 + 2 * conventions.HOUR + 17 * conventions.MINUTE


class ThreeGroups(CountingBuckets):
    damaged = ""  # the group whose reads meet a damaged item

    def groups(self, series: str) -> set[str]:
        return {"acme/api", "acme/ops", "acme/web"}

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        if self.damaged and sli == SLO.series(self.damaged):
            raise CorruptItemError(f"a damaged store: the good counter of {sli} holds 'x'")
        return super().buckets(sli, resolution, start, end)

    def exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        return []


def record(alerts: MemoryAlertStore, slo: Slo, now: int, damaged: str = "") -> None:
    store = ThreeGroups()
    store.damaged = damaged
    left_out: list[Unevaluated] = []
    view = StoreView(store)  # type: ignore[arg-type]
    evaluated = evaluate_slo(view, slo, now, isolate=(CorruptItemError,), unevaluated=left_out)
    record_evaluation(alerts, view, Evaluation(now, (evaluated,), tuple(left_out)), MemoryNotifier())


def test_an_objective_change_is_recorded_once_though_a_group_left_out_at_that_minute_comes_back_later() -> None:
    alerts = MemoryAlertStore()
    record(alerts, SLO, NOW)
    changed = replace(SLO, objective=0.95)
    record(alerts, changed, NOW + conventions.MINUTE, damaged="acme/ops")
    record(alerts, changed, NOW + 2 * conventions.MINUTE)

    changes = [t for t in alerts.log if t["kind"] == "spec_change"]
    assert [(t["slo"], t["at_epoch"]) for t in changes] == [(SLO.name, NOW + conventions.MINUTE)]
    assert {state["evaluated_with"]["objective"] for state in alerts.states.values()} == {0.95}
