"""In-memory fakes of the alerting ports, for tests, backtests of generated streams and the benchmark.

MemoryAlertStore keeps the AlertStore contract (deduplicated transition ids, stale saves ignored);
MemoryNotifier remembers what it was asked to send and can be told to fail; RecordingSns stands in for SNS.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from processors.alerting.exceptions import NotificationError
from processors.alerting.types import Transition


class MemoryAlertStore:
    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.evaluated_at: dict[str, int] = {}
        self.log: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.saves = 0
        self.judged_at: dict[str, int] = {}

    def alert_floors(self) -> dict[str, int]:
        return dict(self.judged_at)

    def load_alert_states(self, damaged: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.states)

    def save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int,
        judged: Collection[str] | Mapping[str, int] = (),
    ) -> list[dict[str, Any]]:
        self.saves += 1
        read = judged if isinstance(judged, Mapping) else dict.fromkeys(judged, evaluated_at)
        if any(self.judged_at.get(slo, 0) > min(evaluated_at, read[slo]) for slo in read):
            return []
        self.judged_at.update(dict.fromkeys(judged, evaluated_at))
        for slo, state in states.items():
            if self.evaluated_at.get(slo, evaluated_at) <= evaluated_at:
                self.states[slo] = copy.deepcopy(state)
                self.evaluated_at[slo] = evaluated_at
        recorded = []
        for transition in transitions:
            if transition["id"] in self.ids:
                continue
            self.ids.add(transition["id"])
            self.log.append(copy.deepcopy(transition))
            recorded.append(transition)
        self.log.sort(key=lambda t: t.get("at_epoch", 0))
        return recorded

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(t) for t in self.log if since is None or t.get("at_epoch", 0) >= since]


class MemoryNotifier:
    def __init__(self) -> None:
        self.sent: list[Transition] = []
        self.fail_routes: set[str] = set()

    def publish(self, transition: Transition) -> None:
        if transition["route"] in self.fail_routes:
            raise NotificationError(f"{transition['route']} topic unavailable")
        self.sent.append(copy.deepcopy(transition))


class RecordingSns:
    """A boto3 SNS client's publish, recorded: SnsNotifier formats the subject and message itself."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.sent.append(kwargs)
        return {"MessageId": str(len(self.sent))}
