"""Shard workers in parallel on one table: contention, retries, CPU, and the evaluator's reads (issue #14).

    python bench/bench_concurrency.py             # N = 1, 4, 16 workers; reads also at 64 shards
    python bench/bench_concurrency.py --hours 2   # a longer slice of the generated sample

Each worker is a separate process running Ingestor.apply_batch with Lambda-style retries, through the conflict
model (tests/conflict_model.py: TransactionConflict on items of in-flight transactions, as DynamoDB does) on
`slo local-dynamodb` (moto, serialized, per-item rollback). The sample is partitioned by correlation ID.
- failed share: cancelled transactions ÷ attempted transactions (conflicts and failed conditions);
- retries per commit: failed transactions ÷ committed transactions;
- CPU ÷ one pass: the workers' summed process CPU time ÷ that of the N = 1 run (CPU, not wall);
- evaluator reads: store read requests of one evaluation (5 SLOs, 30-day windows) after the rollup, and the
  rollup's own reads, on the same data; the SQLite figure is the baseline measured in the same run.
- trace heads: the same workers with the sample partitioned by service (one trace spans shards), where the
  heads' conditional writes can race; their condition failures ÷ transactions is the head conflict rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processors.alerting import LocalNotifier, record_evaluation
from processors.cli.local_dynamodb import LOCAL_CREDENTIALS, LocalDynamoDB
from processors.evaluating.service import evaluate_at
from processors.ingest import Ingestor
from processors.spec import load_spec
from processors.store import DynamoDBStore, dynamodb_client
from processors.store.tables import table_definition
from processors.store.view import StoreView
from tests.concurrency import (
    RECORDS_PER_BATCH,
    STREAM,
    WorkerJob,
    partition,
    reference,
    run_workers,
    sample_events,
)
from tests.conflict_model import ModelStats

ISSUE_TABLE = {1: ("0%", 0.0, 1.00), 4: ("31%", 0.46, 1.49), 16: ("70%", 2.28, 3.32)}  # before: the issue's figures


def new_table(endpoint: str, name: str) -> str:
    dynamodb_client(endpoint).create_table(**table_definition(name))
    return name


def evaluation_reads(store: Any, now: int) -> tuple[int, int]:
    """(rollup reads, evaluation reads) of one scheduled evaluator run at `now`."""
    spec = load_spec()
    before = store.stats.read_requests
    store.rollup(now)
    rolled = store.stats.read_requests
    view = StoreView(store)
    evaluation = evaluate_at(view, spec, now, readings=False).evaluation
    record_evaluation(store, view, evaluation, LocalNotifier())
    return rolled - before, store.stats.read_requests - rolled


def run(endpoint: str, events: list[Any], shards: int, by: str, work: Path) -> dict[str, Any]:
    records = partition(events, shards, by)
    table = new_table(endpoint, f"bench-{by}-{shards}-{time.time_ns()}")
    jobs = [
        WorkerJob(endpoint, table, str(work / f"inflight-{table}.db"), shard, mine, str(work / f"{table}-{shard}.json"))
        for shard, mine in records.items()
    ]
    started = time.perf_counter()
    results = run_workers(jobs)
    wall = time.perf_counter() - started
    stats = ModelStats()
    for result in results:
        stats.add(result["model"])
    failed = stats.conflicts + stats.condition_failures
    now = int(max(e.time for e in events)) // 60 * 60 + 60
    store = DynamoDBStore(dynamodb_client(endpoint), table)
    rollup_reads, eval_reads = evaluation_reads(store, now)
    return {
        "shards": shards,
        "partition": by,
        "transactions": stats.transactions,
        "committed": stats.committed,
        "failed_share": failed / stats.transactions if stats.transactions else 0.0,
        "retries_per_commit": failed / stats.committed if stats.committed else 0.0,
        "cpu_s": sum(r["cpu"] for r in results),
        "wall_s": wall,
        "conflict_items": dict(stats.conflict_items),
        "condition_items": dict(stats.condition_items),
        "head_condition_share": stats.condition_items.get("TRACE", 0) / stats.transactions if stats.transactions else 0,
        "evaluator_reads": eval_reads,
        "rollup_reads": rollup_reads,
        "failed_batches": sum(r["failed_batches"] for r in results),
    }


def sequential_reads(endpoint: str, events: list[Any], shards: int) -> tuple[int, int]:
    """Reads at `shards` shards: the shards' batches applied in one process (reads don't depend on parallelism)."""
    records = partition(events, shards)
    table = new_table(endpoint, f"bench-seq-{shards}-{time.time_ns()}")
    store = DynamoDBStore(dynamodb_client(endpoint), table)
    ingestor = Ingestor(store, load_spec())
    for shard, mine in records.items():
        for offset in range(0, len(mine), RECORDS_PER_BATCH):
            ingestor.apply_batch(STREAM, shard, mine[offset : offset + RECORDS_PER_BATCH])
    now = int(max(e.time for e in events)) // 60 * 60 + 60
    return evaluation_reads(DynamoDBStore(dynamodb_client(endpoint), table), now)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=1)
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for name, value in LOCAL_CREDENTIALS.items():  # the local server takes any credentials
        os.environ.setdefault(name, value)
    events = sample_events(hours=args.hours)
    server = LocalDynamoDB("127.0.0.1", 0)
    server.start()
    rows, heads = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for shards in args.shards:
                rows.append(run(server.endpoint, events, shards, "correlation", work))
            for shards in args.shards[1:]:
                heads.append(run(server.endpoint, events, shards, "service", work))
            baseline = reference(partition(events, 1), str(work / "reference.db"))
            now = int(max(e.time for e in events)) // 60 * 60 + 60
            baseline.stats.read_requests = 0
            sqlite_reads = evaluation_reads(baseline, now)[1]
            reads_64 = sequential_reads(server.endpoint, events, 64)
    finally:
        server.stop()
    one = rows[0]["cpu_s"]
    result = {
        "events": len(events),
        "rows": rows,
        "heads_across_shards": heads,
        "sqlite_evaluator_reads": sqlite_reads,
        "reads_at_64_shards": {"rollup": reads_64[0], "evaluation": reads_64[1]},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{len(events)} events of the generated sample, partitioned by correlation ID; CPU = process time")
    print("| shards | failed transactions | retries per commit | CPU ÷ one pass | evaluator reads (+ rollup) "
          "| issue, before: failed / retries / CPU |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        before = ISSUE_TABLE.get(row["shards"])
        print(
            f"| {row['shards']} | {row['failed_share']:.1%} | {row['retries_per_commit']:.2f} "
            f"| {row['cpu_s'] / one:.2f}× | {row['evaluator_reads']} (+ {row['rollup_reads']}) "
            f"| {before[0] + ' / ' + str(before[1]) + ' / ' + format(before[2], '.2f') + '×' if before else '-'} |"
        )
    print("CPU and work behind each row: " + "; ".join(
        f"N={row['shards']}: {row['cpu_s']:.2f} s CPU, {row['transactions']} transactions ({row['committed']} "
        f"committed), {row['wall_s']:.1f} s wall" for row in rows))
    print(f"evaluator reads at 64 shards: {reads_64[1]} (+ {reads_64[0]} rollup); SQLite baseline, same data: "
          f"{sqlite_reads}; goal ≤ 2 × 47 = 94")
    for row in heads:
        print(f"trace heads across {row['shards']} shards (partitioned by service): "
              f"{row['head_condition_share']:.2%} of transactions lost a head's version race; "
              f"conflicts by item kind {row['conflict_items'] or '{}'}, "
              f"failed conditions {row['condition_items'] or '{}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
