"""How large the DynamoDB adapter's staged alert save gets, for grouped SLOs at their group_limit.

    python bench/bench_staged_save.py            # every case of docs/store.md's table (a few minutes)
    python bench/bench_staged_save.py incident   # one case

Real states and transitions: grouped SLOs of 1,000 groups each (plus `__other__`) are evaluated by evaluate_at
over an in-memory view whose error ratios are given per group as phases, and recorded by record_evaluation
with a RoutedNotifier whose routes can be down. Each save is staged as DynamoDBStore._save_alert_evaluation
stages a save too large for one transaction, and measured with keys.encode_staged_alert_save. The staged
size is compared with one item's piece (STAGED_PART_LIMIT): a larger save is staged in several items.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processors.alerting import record_evaluation
from processors.alerting.exceptions import NotificationError, NotificationsFailedError
from processors.alerting.routes import RoutedNotifier
from processors.counting import Counts
from processors.evaluating.service import evaluate_at
from processors.spec import parse_spec
from processors.store import keys
from processors.store.base import transition_time
from processors.store.dynamodb import STAGED_PART_LIMIT
from tests.builders import T0 as _T0
from tests.fakes.alerting import MemoryAlertStore
from tests.fakes.evaluating import QuietOperatorReads

MINUTE = 60
T0 = int(_T0)  # the first evaluation's minute
GROUPS = 1000
RATE = 20.0  # events per group per minute
HEALTHY = 0.0002  # error ratio outside incidents
HISTORY = 40 * 86400  # healthy before T0, past the 30-day window
ROUTES = {"page": ["pagerduty", "sns"], "ticket": ["slack", "sns"]}
Phases = Callable[[str, str], list[tuple[int, int, float]]]  # (slo, group) -> [(start, end, error ratio)]


def spec_text(slos: int, long_names: bool) -> str:
    lines = ["apiVersion: slo-pipeline/v1", "kind: SLOSpec", "slos:"]
    for i in range(slos):
        name = (f"s{i}-" + "x" * 200)[:200] if long_names else f"svc-{i}-deploy-success"
        lines += [f"  - name: {name}", "    objective: 0.999", "    group_by: [repository]",
                  f"    group_limit: {GROUPS}", "    sli:", "      events:",
                  "        match: {action: workflow_completed}", "        good: {conclusion: success}"]
    return "\n".join(lines) + "\n"


def group_name(slo: int, n: int, long_names: bool) -> str:
    if long_names:  # 200 characters (MAX_GROUP_CHARS), little shared between groups
        return (f"org-{n}/" + hashlib.sha256(f"{slo}/{n}".encode()).hexdigest() * 4)[:200]
    return f"acme-platform/service-{n:04d}"


class PhasedView(QuietOperatorReads):
    """An SliView whose groups' counts come from error-ratio phases (a 30-day window is a few products)."""

    def __init__(self, store: MemoryAlertStore, groups: dict[str, tuple[str, ...]], phases: Phases) -> None:
        self.store, self._groups, self.phases = store, groups, phases

    def counts(self, slo: Any, start: int, end: int, group: str = "") -> Counts:
        if not group:
            parts = [self.counts(slo, start, end, g) for g in self._groups[slo.name]]
            return Counts(sum(c.good for c in parts), sum(c.total for c in parts))
        bad = total = 0.0
        for low, high, ratio in self.phases(slo.name, group):
            minutes = max(0, min(end, high) - max(start, low)) / MINUTE
            total += minutes * RATE
            bad += minutes * RATE * ratio
        return Counts(int(total) - int(bad), int(total))

    def groups(self, slo: Any) -> tuple[str, ...]:
        return self._groups.get(slo.name, ())

    def bad_exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        digests = (hashlib.md5(f"{series}{end}{i}".encode()).digest() for i in range(limit))
        return [str(uuid.UUID(bytes=digest, version=4)) for digest in digests]

    def latency_quantiles(self, sketch: str, start: int, end: int) -> None:
        return None

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        return self.store.alert_log(since)


class StagingStore(MemoryAlertStore):
    """The in-memory alert store, measuring each save as the DynamoDB adapter would stage it."""

    def __init__(self) -> None:
        super().__init__()
        self.measured: list[dict[str, Any]] = []

    def save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int
    ) -> list[dict[str, Any]]:
        new = [t for t in transitions if t["id"] not in self.ids]
        recorded_ns = time.time_ns()
        docs = {keys.alert_state_sk(key): keys.encode_json(state) for key, state in states.items()}
        log = [(keys.alert_log_sk(transition_time(t, evaluated_at), t["id"]), keys.alert_log_recorded(recorded_ns, i),
                keys.encode_json(t)) for i, t in enumerate(new)]
        staged = keys.encode_staged_alert_save(keys.StagedAlertSave(uuid.uuid4().hex, evaluated_at, docs, log))
        self.measured.append({
            "at": evaluated_at, "states": len(docs), "new": len(log),
            "outbox": sum(len(state.get("outbox") or []) for state in states.values()),
            "json": sum(len(k) + len(d) for k, d in docs.items()) + sum(sum(map(len, entry)) for entry in log),
            "staged": len(staged),
        })
        return super().save_alert_evaluation(states, transitions, evaluated_at)


class Route:
    def __init__(self, name: str, down: set[str]) -> None:
        self.name, self.down = name, down

    def send(self, transition: Any) -> None:
        if self.name in self.down:
            raise NotificationError(f"{self.name} unavailable")


def healthy(slo: str, group: str) -> list[tuple[int, int, float]]:
    return [(T0 - HISTORY, T0 + 10**7, HEALTHY)]


def mass(slo: str, group: str) -> list[tuple[int, int, float]]:
    """Every group of every SLO fails half its events from T0 on (a shared dependency down)."""
    return [(T0 - HISTORY, T0, HEALTHY), (T0, T0 + 10**7, 0.5)]


def hour_long(slo: str, group: str) -> list[tuple[int, int, float]]:
    """Every group fails half its events for an hour from T0, then recovers."""
    return [(T0 - HISTORY, T0, HEALTHY), (T0, T0 + 60 * MINUTE, 0.5), (T0 + 60 * MINUTE, T0 + 10**7, HEALTHY)]


def run(slos: int, phases: Phases, minutes: range, down: set[str], long_names: bool = False) -> list[dict[str, Any]]:
    """Evaluate and record each minute; the measured saves, in order."""
    spec = parse_spec(spec_text(slos, long_names), "bench.yaml")
    groups = {slo.name: tuple(sorted([group_name(i, n, long_names) for n in range(GROUPS)] + ["__other__"]))
              for i, slo in enumerate(spec.slos)}
    store = StagingStore()
    view = PhasedView(store, groups, phases)
    notifier = RoutedNotifier(ROUTES, {name: Route(name, down) for name in ("pagerduty", "sns", "slack")}, attempts=1)
    for minute in minutes:
        evaluation = evaluate_at(view, spec, T0 + minute * MINUTE, readings=False).evaluation
        with contextlib.suppress(NotificationsFailedError):  # the outboxes keep what failed
            record_evaluation(store, view, evaluation, notifier)
    return store.measured


def row(case: str, save: dict[str, Any]) -> str:
    return (f"| {case} | {save['states']:,} | {save['new']:,} | {save['outbox']:,} | {save['json'] / 1024:,.0f} KiB"
            f" | {save['staged'] / 1024:,.1f} KiB | {-(-save['staged'] // STAGED_PART_LIMIT)} |")


def first_with_transitions(saves: list[dict[str, Any]]) -> dict[str, Any]:
    return next(save for save in saves if save["new"])


def cases() -> dict[str, Callable[[], list[str]]]:
    def healthy_case() -> list[str]:
        return [row("5 SLOs, all healthy", run(5, healthy, range(2), set())[-1]),
                row("the same, SLO names and group values of 200 characters",
                    run(5, healthy, range(2), set(), long_names=True)[-1])]

    def mass_case() -> list[str]:
        out = [row(f"{n} SLO{'s' if n > 1 else ''}, every group pages in the same minute",
                   first_with_transitions(run(n, mass, range(3), set()))) for n in (1, 2)]
        saves = run(5, mass, range(4), {"pagerduty", "slack"})
        out.append(row("5 SLOs, the same", first_with_transitions(saves)))
        out.append(row("5 SLOs, the same minute after, PagerDuty and Slack down", saves[-1]))
        return out

    def incident_case() -> list[str]:
        saves = run(1, hour_long, range(150), {"pagerduty", "slack"})
        last_change = [save for save in saves if save["new"]][-1]
        return [row("1 SLO, an hour's incident in every group, PagerDuty and Slack down: the minute it resolves",
                    last_change),
                row("the same, every minute after until a route is back", saves[-1])]

    return {"healthy": healthy_case, "mass": mass_case, "incident": incident_case}


def main() -> None:
    chosen = sys.argv[1:] or list(cases())
    items = f"items of {STAGED_PART_LIMIT // 1024} KiB"
    print(f"| case | states | new transitions | outbox entries | JSON | staged | {items} |")
    print("|---|---|---|---|---|---|---|")
    for name in chosen:
        for line in cases()[name]():
            print(line, flush=True)


if __name__ == "__main__":
    main()
