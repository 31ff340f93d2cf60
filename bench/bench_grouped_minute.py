"""What one evaluator minute of grouped SLOs at their group_limit costs on DynamoDB: requests and wall time.

    python bench/bench_grouped_minute.py                       # 2 SLOs x 1,000 groups (about eight minutes)
    python bench/bench_grouped_minute.py --slos 2 --groups 200 --latency-ms 4 --threads 1

Two grouped SLOs of 1,000 groups each are stored in `slo local-dynamodb` through the adapter's own commits and
rollup: a long healthy history (one hour item per group, ten days back) and five healthy minutes. Then the
evaluator's minute runs as the Lambda runs it (rollup, evaluate_at, record_evaluation with two routes per page)
three times: the first evaluation (every state is new), a steady minute (nothing changes), and the minute every
group starts paging (its last minute fails half its events). Requests come from the adapter's StoreStats; the
hash of the stored alert states and log shows that a change to the adapter changed no output.

Wall times on moto are not DynamoDB's: moto's Query reads every item of the table (here ~20,000) and its
TransactWriteItems copies the table once per item, while its server answers one request at a time and adds no
network. `--latency-ms` adds that much sleep to every request (an emulated round trip, which threads overlap);
`--threads` sets the adapter's read_concurrency and write_concurrency (groups read ahead, staged puts in flight).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processors import conventions
from processors.alerting import record_evaluation
from processors.alerting.routes import RoutedNotifier
from processors.cli.local_dynamodb import LOCAL_CREDENTIALS, LocalDynamoDB
from processors.evaluating.service import evaluate_at
from processors.spec import parse_spec
from processors.spec.model import Spec
from processors.store import DynamoDBStore, dynamodb_client, keys
from processors.store.tables import table_definition
from processors.store.types import Commit, CounterKey
from processors.store.view import StoreView
from tests.builders import T0 as _T0

MINUTE, HOUR, DAY = conventions.MINUTE, conventions.HOUR, conventions.DAY
T0 = int(_T0) // HOUR * HOUR + 17 * MINUTE  # the first evaluation: not on an hour, so every window has edges
RATE = 20  # events per group per minute
HISTORY = 1_000_000  # healthy events per group ten days back: a failing minute barely touches the budget
ROUTES = {"page": ["pagerduty", "sns"], "ticket": ["slack", "sns"]}
COUNTERS_PER_COMMIT = 90  # a partial the rollup folds in one transaction (≤ 100 items)
REGISTRY_FIELDS = 50  # group values admitted per registry hour item


def spec_of(slos: int, groups: int) -> Spec:
    lines = ["apiVersion: slo-pipeline/v1", "kind: SLOSpec", "slos:"]
    for i in range(slos):
        lines += [f"  - name: svc-{i}-deploy-success", "    objective: 0.999", "    group_by: [repository]",
                  f"    group_limit: {groups}", "    sli:", "      events:",
                  "        match: {action: workflow_completed}", "        good: {conclusion: success}"]
    return parse_spec("\n".join(lines) + "\n", "bench.yaml")


class Sent:
    def __init__(self, name: str) -> None:
        self.name, self.sent = name, 0

    def send(self, transition: Any) -> None:
        self.sent += 1


def store_counts(store: DynamoDBStore, counters: dict[CounterKey, dict[str, int]], now: int) -> None:
    """Commit `counters` in partials the rollup can fold, then fold them."""
    items = sorted(counters.items())
    for offset in range(0, len(items), COUNTERS_PER_COMMIT):
        store.commit(Commit(counters=dict(items[offset : offset + COUNTERS_PER_COMMIT])))
    store.rollup(now + 10 * MINUTE)


def minute_counts(spec: Spec, groups: list[str], minute: int, bad: int) -> dict[CounterKey, dict[str, int]]:
    counters: dict[CounterKey, dict[str, int]] = {}
    for slo in spec.slos:
        for series in [slo.series(), *(slo.series(g) for g in groups)]:
            events = RATE * (len(groups) if series == slo.series() else 1)
            failed = bad * (len(groups) if series == slo.series() else 1)
            for resolution, bucket in (("m", minute), ("h", minute // HOUR * HOUR)):
                row = counters.setdefault(CounterKey(series, resolution, bucket), {"good": 0, "total": 0})
                row["good"] += events - failed
                row["total"] += events
    return counters


def populate(store: DynamoDBStore, spec: Spec, groups: list[str]) -> None:
    counters: dict[CounterKey, dict[str, int]] = {}
    history = (T0 - 10 * DAY) // HOUR * HOUR
    for slo in spec.slos:
        registry = keys.group_registry_series(slo.series())
        for n in range(0, len(groups), REGISTRY_FIELDS):  # admitted over some hours, as ingest admits them
            admitted = {keys.group_field(g): 1 for g in groups[n : n + REGISTRY_FIELDS]}
            counters[CounterKey(registry, "h", history + n // REGISTRY_FIELDS * HOUR)] = admitted
        for series in [slo.series(), *(slo.series(g) for g in groups)]:
            counters[CounterKey(series, "h", history)] = {"good": HISTORY, "total": HISTORY}
    for minute in range(T0 - 5 * MINUTE, T0, MINUTE):
        for key, row in minute_counts(spec, groups, minute, 0).items():
            stored = counters.setdefault(key, {"good": 0, "total": 0})
            stored["good"] += row["good"]
            stored["total"] += row["total"]
    store_counts(store, counters, T0)


def evaluator_minute(store: DynamoDBStore, spec: Spec, now: int, notifier: RoutedNotifier) -> dict[str, Any]:
    """The evaluator Lambda's minute (processors/handlers/evaluator.py) without its metrics: requests and time."""
    reads, writes, items = store.stats.read_requests, store.stats.write_requests, store.stats.items_written
    started = time.perf_counter()
    store.rollup(now)
    view = StoreView(store)
    evaluation = evaluate_at(view, spec, now).evaluation
    read_at, evaluated = store.stats.read_requests, time.perf_counter()
    recorded = record_evaluation(store, view, evaluation, notifier)
    done = time.perf_counter()
    return {
        "evaluate reads": read_at - reads,
        "record reads": store.stats.read_requests - read_at,
        "writes": store.stats.write_requests - writes,
        "items written": store.stats.items_written - items,
        "transitions": len(recorded),
        "evaluate s": evaluated - started,
        "record s": done - evaluated,
        "total s": done - started,
    }


def outputs(store: DynamoDBStore) -> str:
    """A hash of the stored alert states and the alert log: equal before and after a change to the adapter."""
    document = json.dumps([store.load_alert_states(), store.alert_log()], sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest()[:16]


class Latency:
    """The boto3 client, each request `seconds` later (a network round trip, which other threads may overlap)."""

    def __init__(self, client: Any, seconds: float) -> None:
        self._client, self._seconds = client, seconds

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method) or name.startswith(("get_paginator", "_", "meta")):
            return method

        def call(**kwargs: Any) -> Any:
            time.sleep(self._seconds)
            return method(**kwargs)

        return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=2)
    parser.add_argument("--groups", type=int, default=1000, help="groups per SLO")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=DynamoDBStore.read_concurrency)
    args = parser.parse_args()
    slos, groups_per_slo = args.slos, args.groups
    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    server = LocalDynamoDB("127.0.0.1", 0)
    server.start()
    try:
        client = dynamodb_client(server.endpoint)
        client.create_table(**table_definition("grouped-minute"))
        store = DynamoDBStore(client, "grouped-minute")
        spec = spec_of(slos, groups_per_slo)
        groups = [f"acme-platform/service-{n:04d}" for n in range(groups_per_slo)]
        started = time.perf_counter()
        populate(store, spec, groups)
        print(f"{slos} SLOs x {groups_per_slo:,} groups stored in {time.perf_counter() - started:.0f} s; "
              f"{args.latency_ms:g} ms added per request, {args.threads} threads reading ahead and putting")
        store.client = Latency(client, args.latency_ms / 1000) if args.latency_ms else client
        store.read_concurrency = store.write_concurrency = args.threads
        senders = {name: Sent(name) for name in ("pagerduty", "sns", "slack")}
        notifier = RoutedNotifier(ROUTES, senders, attempts=1)
        rows = [("first evaluation", evaluator_minute(store, spec, T0, notifier)),
                ("steady minute", evaluator_minute(store, spec, T0 + MINUTE, notifier))]
        store_counts(store, minute_counts(spec, groups, T0 + MINUTE, RATE // 2), T0 + 2 * MINUTE)
        rows.append(("every group pages", evaluator_minute(store, spec, T0 + 2 * MINUTE, notifier)))
        columns = list(rows[0][1])
        print("| minute | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
        for name, row in rows:
            cells = [f"{value:.1f}" if isinstance(value, float) else f"{value:,}" for value in row.values()]
            print(f"| {name} | " + " | ".join(cells) + " |")
        print(f"sent: {', '.join(f'{name} {sender.sent:,}' for name, sender in senders.items())}; "
              f"outputs {outputs(store)}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
