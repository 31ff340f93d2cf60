#!/usr/bin/env python3
"""Ingest throughput against the decode floor, and DynamoDB writes per 1,000 log events. Run by hand:

    .venv/bin/python bench/bench_ingest.py [--records 10000]

Floor: base64 + gzip + JSON parse of the same batch. Ours: decode (incl. each message's JSON) + classify +
stitch + aggregate into commits, with the store's reads and writes stubbed out so only the domain is timed.
Then the same batch goes through the DynamoDB adapter on moto's server to count write requests.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import statistics
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from processors.decoding import decode_record  # noqa: E402
from processors.ingest import Ingestor  # noqa: E402
from processors.spec import load_spec  # noqa: E402
from processors.store.base import Store  # noqa: E402


class DiscardingStore(Store):
    """No reads, commits counted and dropped: isolates the domain's cost."""

    max_items_per_commit = 100

    def _get_checkpoint(self, stream, shard):  # type: ignore[no-untyped-def]
        return None

    def _list_checkpoints(self):  # type: ignore[no-untyped-def]
        return []

    def _get_heads(self, ids):  # type: ignore[no-untyped-def]
        return {}

    def _get_digests(self, keys):  # type: ignore[no-untyped-def]
        return {}

    def _commit(self, commit, digests):  # type: ignore[no-untyped-def]
        self.stats.write_requests += 1
        self.stats.items_written += commit.item_count()

    def commit(self, commit):  # type: ignore[no-untyped-def]
        self._commit(commit, {})  # skip the digest merge read: there is nothing stored to merge with

    def _noop(self, *args: Any, **kwargs: Any) -> Any:
        return {}

    _query_buckets = _query_exemplars = _query_digests = _noop  # type: ignore[assignment]
    _find_traces = _open_runners = _alert_log = lambda self, *a: []  # type: ignore[assignment]
    _load_alert_states = _noop  # type: ignore[assignment]
    _save_alert_evaluation = lambda self, *a: []  # type: ignore[assignment]  # noqa: E731
    _get_gauge = lambda self, name: 0  # type: ignore[assignment]  # noqa: E731


def sample_records(count: int) -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("generate", ROOT / "events" / "generate.py")
    generator = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(generator)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as out:
        generator.write(Path(out), 20261001, 12)
        lines = (Path(out) / "stream" / "shardId-000000000000.jsonl").read_text().splitlines()
    records = [record for line in lines for record in json.loads(line)["Records"]]
    while len(records) < count:
        records += records
    return records[:count]


def floor_pass(records: list[dict[str, Any]]) -> int:
    events = 0
    for record in records:
        payload = json.loads(zlib.decompress(base64.b64decode(record["kinesis"]["data"]), zlib.MAX_WBITS | 32))
        events += len(payload["logEvents"])
    return events


def floor_with_messages(records: list[dict[str, Any]]) -> int:
    """The floor plus parsing each log message's own JSON: work any structured-log pipeline must do."""
    events = 0
    for record in records:
        payload = json.loads(zlib.decompress(base64.b64decode(record["kinesis"]["data"]), zlib.MAX_WBITS | 32))
        for log_event in payload["logEvents"]:
            message = log_event["message"]
            if message.startswith("{"):
                json.loads(message)
            events += 1
    return events


def our_pass(records: list[dict[str, Any]], spec: Any) -> tuple[int, DiscardingStore]:
    store = DiscardingStore()
    decoded = [decode_record(record) for record in records]
    Ingestor(store, spec).apply_batch("bench", "shard", decoded)
    return sum(len(d.events) + sum(d.skips.values()) for d in decoded), store


def sli_pass(records: list[dict[str, Any]], spec: Any) -> int:
    """The issue's measure: decode + classify + aggregate into (SLI, minute) counters; no trace stitching."""
    from collections import Counter

    from processors.classifying import Classifier

    classifier = Classifier(spec)
    counters: Counter[tuple[str, int, bool]] = Counter()
    events = 0
    for record in records:
        decoded = decode_record(record)
        events += len(decoded.events) + sum(decoded.skips.values())
        for event in decoded.events:
            for sli_event in classifier.classify(event):
                counters[(sli_event.sli, int(sli_event.time // 60), sli_event.good)] += 1
    return events


def best_of(runs: int, fn: Any) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def dynamodb_writes(records: list[dict[str, Any]], spec: Any) -> dict[str, float]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from processors.store import DynamoDBStore, dynamodb_client
    from processors.store.tables import table_definition

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        client.create_table(**table_definition("bench"))
        store = DynamoDBStore(dynamodb_client(endpoint, read_timeout=300), "bench")  # moto is slow
        decoded = [decode_record(record) for record in records]
        events = sum(len(d.events) for d in decoded)
        started = time.perf_counter()
        report = Ingestor(store, spec).apply_batch("bench", "shardId-0", decoded)
        elapsed = time.perf_counter() - started
        if report.failed_from_sequence is not None:
            raise SystemExit(f"the DynamoDB commit failed: {report.error}")
        return {
            "events": events,
            "write_requests": store.stats.write_requests,
            "items": store.stats.items_written,
            "heads": report.heads_written,
            "requests_per_1000": 1000 * store.stats.write_requests / events,
            "items_per_1000": 1000 * store.stats.items_written / events,
            "seconds_on_moto": elapsed,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dynamodb-records", type=int, default=2000, help="moto is slow: a smaller batch")
    args = parser.parse_args()
    import os

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    spec = load_spec(ROOT / "processors" / "slos.yaml")
    records = sample_records(args.records)
    floor_s, floor_events = best_of(args.runs, lambda: floor_pass(records))
    floor2_s, _ = best_of(args.runs, lambda: floor_with_messages(records))
    sli_s, sli_events = best_of(args.runs, lambda: sli_pass(records, spec))
    ours_s, (our_events, _store) = best_of(args.runs, lambda: our_pass(records, spec))
    assert floor_events == our_events == sli_events, (floor_events, our_events, sli_events)
    floor_rate, sli_rate, our_rate = floor_events / floor_s, sli_events / sli_s, our_events / ours_s
    print(f"batch: {len(records):,} Kinesis records, {floor_events:,} log events (best of {args.runs})")
    print(f"  decode floor (base64+gzip+JSON)            {floor_rate:>10,.0f} events/s")
    print(f"  floor + each message's JSON                {floor_events / floor2_s:>10,.0f} events/s   "
          f"{floor_s / floor2_s:.2f}x floor")
    print(f"  decode+classify+aggregate (SLI path)       {sli_rate:>10,.0f} events/s   "
          f"{sli_rate / floor_rate:.2f}x floor")
    print(f"  full ingest: + stitch, sketches, commits   {our_rate:>10,.0f} events/s   "
          f"{our_rate / floor_rate:.2f}x floor")
    print(f"  full ingest CPU per 1,000 log events       {1e6 * ours_s / our_events:>10.1f} ms")
    writes = dynamodb_writes(records[: args.dynamodb_records], spec)
    print(f"DynamoDB (moto server) for {writes['events']:,} structured events:")
    print(f"  TransactWriteItems requests per 1,000 events  {writes['requests_per_1000']:.2f}")
    print(f"  items written per 1,000 events                {writes['items_per_1000']:.1f}"
          f"   (trace heads: {writes['heads']:,})")
    print(f"  wall time on moto                             {writes['seconds_on_moto']:.1f} s")
    _ = statistics


if __name__ == "__main__":
    main()
