"""DynamoDB write and read units per million log events with per-shard partials and the rollup, at 1/16/64 shards.

    python bench/bench_store_cost.py [--hours 2]

The generated sample is partitioned by correlation ID onto N shards and ingested shard by shard (in one process:
units don't depend on parallelism) into `slo local-dynamodb`; the rollup runs every minute of event time, as the
evaluator does. Every transaction the adapter sends is sized with DynamoDB's rules (a transactional write costs
2 WRU per started KB per item; an item also written to GSI4, the pending index, costs 1 WRU per KB there on
insert and 1 on removal). Reads: the evaluator's and rollup's read requests per minute, at 4 KB or less each
(1 RRU strongly consistent, 0.5 eventually). Prices: on-demand us-east-1, $0.625 per million WRU, $0.125 per
million RRU.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processors.cli.local_dynamodb import LOCAL_CREDENTIALS, LocalDynamoDB
from processors.ingest import Ingestor
from processors.spec import load_spec
from processors.store import DynamoDBStore, dynamodb_client
from processors.store.tables import table_definition
from tests.concurrency import RECORDS_PER_BATCH, STREAM, partition, sample_events

WRU_PRICE, RRU_PRICE = 0.625e-6, 0.125e-6  # on-demand, us-east-1 (docs/deploy.md §6)
EVALUATIONS_PER_MINUTE = 1


def item_bytes(item: dict[str, Any]) -> int:
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        (kind, raw), = value.items()
        if kind == "S":
            size += len(raw.encode())
        elif kind == "B":
            size += len(raw)
        elif kind == "N":
            size += 1 + math.ceil(len(str(raw).lstrip("-").replace(".", "")) / 2)
        elif kind == "L":
            size += 3 + sum(len(v.get("S", "").encode()) + 1 for v in raw)
        else:
            size += 8
    return size


class Metered:
    """Passes everything through, sizing each transaction's items (a Put's item; an Update's key + values)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.wru = Counter[str]()  # "phase/kind" -> write units
        self.transactions = 0
        self.phase = "ingest"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.transactions += 1
        for entry in kwargs["TransactItems"]:
            (op, body), = entry.items()
            item = body.get("Item") or {**body["Key"], **body.get("ExpressionAttributeValues", {})}
            kind = (body.get("Item") or body["Key"])["PK"]["S"].split("#", 1)[0]
            units = 2 * max(1, math.ceil(item_bytes(item) / 1024))
            if kind == "PART":  # GSI4 holds the pending partial (insert), and drops it when rolled
                units += max(1, math.ceil(item_bytes(item) / 1024)) if op == "Put" else 1
            self.wru[f"{self.phase}/{kind}"] += units
        return self.client.transact_write_items(**kwargs)


def measure(endpoint: str, events: list[Any], shards: int) -> dict[str, Any]:
    table = f"cost-{shards}-{time.time_ns()}"
    dynamodb_client(endpoint).create_table(**table_definition(table))
    metered = Metered(dynamodb_client(endpoint))
    store = DynamoDBStore(metered, table)
    ingestor = Ingestor(store, load_spec())
    records = partition(events, shards)
    batches = []  # a shard's Lambda is invoked within its batching window: records of one arrival minute, ≤ 100
    for shard, mine in records.items():
        by_minute: dict[int, list[Any]] = {}
        for record in mine:
            by_minute.setdefault(int(record.arrival or 0) // 60, []).append(record)
        for group in by_minute.values():
            for i in range(0, len(group), RECORDS_PER_BATCH):
                batches.append((group[i].arrival or 0.0, shard, group[i : i + RECORDS_PER_BATCH]))
    batches.sort(key=lambda b: b[0])
    minutes = 0
    next_minute = int(batches[0][0]) // 60 * 60 + 60
    for arrival, shard, batch in batches:
        while arrival >= next_minute:
            metered.phase = "rollup"
            store.rollup(next_minute)
            metered.phase = "ingest"
            next_minute += 60
            minutes += 1
        ingestor.apply_batch(STREAM, shard, batch)
    metered.phase = "rollup"
    store.rollup(next_minute)
    minutes += 1
    reads_before = store.stats.read_requests
    store.rollup(next_minute + 60)
    rollup_reads = store.stats.read_requests - reads_before
    return {"shards": shards, "wru": dict(metered.wru), "transactions": metered.transactions, "minutes": minutes,
            "rollup_reads_per_run": rollup_reads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=1)
    parser.add_argument("--rate", type=float, default=50.0, help="events/s to spread per-minute costs over")
    parser.add_argument("--evaluator-reads", type=int, default=23, help="read requests of one evaluation "
                        "(bench_concurrency.py prints it)")
    args = parser.parse_args()
    for name, value in LOCAL_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    events = sample_events(hours=args.hours)
    server = LocalDynamoDB("127.0.0.1", 0)
    server.start()
    try:
        rows = [measure(server.endpoint, events, shards) for shards in (1, 16, 64)]
    finally:
        server.stop()
    per_million = 1_000_000 / len(events)
    minutes_per_million = rows[0]["minutes"] * per_million
    rate = len(events) / (rows[0]["minutes"] * 60)
    print(f"{len(events)} events over {rows[0]['minutes']} minutes ({rate:.2f} events/s). Per million events: ingest "
          "units scale with events; rollup writes and evaluator reads happen per minute, so they are shown at the "
          f"sample's rate and at {args.rate:g} events/s (the same per-minute work spread over more events)")
    print("| shards | ingest WRU | rollup WRU (sample / at rate) | RCU, evaluator + rollup (sample / at rate) "
          "| $ per million events (sample / at rate) |")
    print("|---|---|---|---|---|")
    for row in rows:
        wru = row["wru"]
        rollup = sum(v for k, v in wru.items() if k.startswith("rollup/")) * per_million
        ingest = (sum(wru.values()) * per_million) - rollup
        scale = rate / args.rate  # per-minute work at the higher rate, per event
        rcu = (args.evaluator_reads + row["rollup_reads_per_run"]) * minutes_per_million
        cost = (ingest + rollup) * WRU_PRICE + rcu * RRU_PRICE
        cost_at = (ingest + rollup * scale) * WRU_PRICE + rcu * scale * RRU_PRICE
        print(f"| {row['shards']} | {ingest:,.0f} | {rollup:,.0f} / {rollup * scale:,.0f} | {rcu:,.0f} / "
              f"{rcu * scale:,.0f} | ${cost:.2f} / ${cost_at:.2f} |")
    print("WRU by item kind at 1 shard (per million events): "
          + ", ".join(f"{k} {v * per_million:,.0f}" for k, v in sorted(rows[0]["wru"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
