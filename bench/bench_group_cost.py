"""What one group of a grouped SLO costs in DynamoDB: items written, reads per ingest batch and per evaluation.

    python bench/bench_group_cost.py

The same deploys (two per repository per minute for two hours, tests/grouped.py) are ingested into `slo
local-dynamodb` under the grouped spec and under the same spec without `group_by`, then rolled up and
evaluated once (with alerts recorded). The difference, divided by the number of groups, is the cost of a
group. Item and request counts come from the adapter's own StoreStats.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processors.alerting import record_evaluation
from processors.cli.local_dynamodb import LOCAL_CREDENTIALS, LocalDynamoDB
from processors.evaluating.service import evaluate_at
from processors.spec import parse_spec
from processors.store import DynamoDBStore, dynamodb_client
from processors.store.tables import table_definition
from processors.store.view import StoreView
from tests.builders import T0
from tests.fakes.alerting import MemoryNotifier
from tests.grouped import GROUPED_SPEC, MINUTE, Deploys, deliver

MINUTES = 120


def measure(endpoint: str, groups: int, grouped: bool) -> dict[str, Any]:
    text = GROUPED_SPEC.format(limit=1000)
    spec = parse_spec(text if grouped else text.replace("    group_by: [repository]\n    group_limit: 1000\n", ""))
    table = f"groups-{groups}-{int(grouped)}"
    client = dynamodb_client(endpoint)
    client.create_table(**table_definition(table))
    store = DynamoDBStore(client, table)
    deploys = Deploys(repositories=tuple(f"org/repo-{n:03d}" for n in range(groups)), minutes=MINUTES)
    events = 0
    for minute in range(MINUTES):
        lines = list(deploys.lines(minute))
        events += len(lines)
        deliver(store, spec, lines, 1000 + minute)
    ingest_reads = store.stats.read_requests
    now = int(T0) + MINUTES * MINUTE
    written = store.stats.items_written
    store.rollup(now + MINUTE)  # the rollup writes the rolled counter items: where a group's items show
    rolled = store.stats.items_written - written
    now -= 17 * MINUTE  # not on an hour: every window has minute edges, as at most evaluations
    before = store.stats.read_requests
    view = StoreView(store)
    record_evaluation(store, view, evaluate_at(view, spec, now, readings=False).evaluation, MemoryNotifier())
    return {
        "events": events,
        "rolled_items": rolled,
        "ingest_reads_per_batch": ingest_reads / MINUTES,
        "evaluation_reads": store.stats.read_requests - before,
    }


def main() -> int:
    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    server = LocalDynamoDB("127.0.0.1", 0)
    server.start()
    try:
        print(f"two deploys per repository per minute for {MINUTES} minutes; one ingest batch per minute")
        print("| groups | items the rollup writes (plain / grouped) | reads per ingest batch (plain / grouped) "
              "| reads per evaluation (plain / grouped) | extra reads per group and evaluation |")
        print("|---|---|---|---|---|")
        for groups in (1, 10, 50):
            plain = measure(server.endpoint, groups, grouped=False)
            grouped = measure(server.endpoint, groups, grouped=True)
            extra = (grouped["evaluation_reads"] - plain["evaluation_reads"]) / groups
            print(f"| {groups} | {plain['rolled_items']:,} / {grouped['rolled_items']:,} "
                  f"| {plain['ingest_reads_per_batch']:.2f} / {grouped['ingest_reads_per_batch']:.2f} "
                  f"| {plain['evaluation_reads']} / {grouped['evaluation_reads']} | {extra:.1f} |")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
