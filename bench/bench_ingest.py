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

    def _get_head_items(self, ids):  # type: ignore[no-untyped-def]
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
    _find_traces = _open_units = _alert_log = lambda self, *a: []  # type: ignore[assignment]
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


def dense_records(seconds: int = 60, per_second: int = 50) -> list[dict[str, Any]]:
    """Production density: `per_second` log events for `seconds`, 20 per CloudWatch payload. Two thirds are
    API requests (each its own correlation ID), the rest whole workflow journeys and cache lookups."""
    import gzip
    import uuid
    from datetime import UTC, datetime

    start = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    lines: list[tuple[float, str]] = []

    def log(at: float, cid: str, service: str, action: str, **metadata: Any) -> None:
        moment = datetime.fromtimestamp(at, tz=UTC)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        line = {"timestamp": stamp, "level": "INFO", "correlationId": cid, "service": service, "message": action,
                "metadata": {"action": action, **metadata}}
        lines.append((at, json.dumps(line)))

    total, n = seconds * per_second, 0
    while len(lines) < total:
        n += 1
        at = start + (len(lines) / per_second)
        cid = str(uuid.UUID(int=n, version=4))
        if n % 3:
            log(at, cid, "Api", "api_request", status=200 if n % 97 else 503, duration=40.0)
            continue
        for offset, (service, action) in enumerate((
            ("WebhookHandlerGHA", "webhook_received"), ("WebhookHandlerGHA", "job_queued"),
            ("QueueProcessor", "task_launched"), ("Runner", "runner_started"), ("Runner", "cache_hit"),
            ("Runner", "workflow_completed"),
        )):
            extra = {"conclusion": "success", "duration": 1000.0} if action == "workflow_completed" else {}
            log(at + offset * 0.5, cid, service, action, workflowId=str(n), repository="acme/web", **extra)
    lines.sort()
    records = []
    for index in range(0, len(lines), 20):
        chunk = lines[index : index + 20]
        payload = {"messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "/bench", "logStream": "s",
                   "subscriptionFilters": ["slo"],
                   "logEvents": [{"id": str(i), "timestamp": int(at * 1000), "message": m} for i, (at, m) in
                                 enumerate(chunk)]}
        data = base64.b64encode(gzip.compress(json.dumps(payload).encode(), mtime=0)).decode()
        sequence = 10**20 + index
        records.append({"kinesis": {"sequenceNumber": str(sequence), "data": data, "partitionKey": "s",
                                    "approximateArrivalTimestamp": start},
                        "eventID": f"shardId-0:{sequence}", "eventSourceARN": "bench"})
    return records


class CountingStore:
    """Counts TransactWriteItems by kind: checkpointed (the SLI path) or heads-only (trace writes)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.max_items_per_commit = inner.max_items_per_commit
        self.checkpointed = self.heads_only = self.items = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def commit(self, commit: Any) -> None:
        self.inner.commit(commit)
        self.items += commit.item_count()
        if commit.checkpoint is None:
            self.heads_only += 1
        else:
            self.checkpointed += 1


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
        table = f"bench-{time.time_ns()}"  # one moto backend per process: a fresh table each run
        client.create_table(**table_definition(table))
        store = CountingStore(DynamoDBStore(dynamodb_client(endpoint, read_timeout=300), table))  # moto is slow
        decoded = [decode_record(record) for record in records]
        events = sum(len(d.events) for d in decoded)
        correlation_ids = len({e.correlation_id for d in decoded for e in d.events})
        started = time.perf_counter()
        report = Ingestor(store, spec).apply_batch("bench", "shardId-0", decoded)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - started
        if report.failed_from_sequence is not None:
            raise SystemExit(f"the DynamoDB commit failed: {report.error}")
        return {
            "events": events,
            "correlation_ids": correlation_ids,
            "heads": report.heads_written,
            "sli_requests_per_1000": 1000 * store.checkpointed / events,
            "trace_requests_per_1000": 1000 * store.heads_only / events,
            "items_per_1000": 1000 * store.items / events,
            "seconds_on_moto": elapsed,
        }
    finally:
        server.stop()


def print_writes(title: str, writes: dict[str, float]) -> None:
    print(f"DynamoDB on moto's server, {title}: {writes['events']:,.0f} events, "
          f"{writes['correlation_ids']:,.0f} correlation IDs")
    print(f"  SLI path: checkpointed TransactWriteItems per 1,000 events   {writes['sli_requests_per_1000']:.2f}")
    print(f"  traces: heads-only TransactWriteItems per 1,000 events       {writes['trace_requests_per_1000']:.2f}"
          f"   (trace heads written: {writes['heads']:,.0f})")
    print(f"  items written per 1,000 events (a transactional item = 2 WRU) {writes['items_per_1000']:.0f}")


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
    print_writes("production density (50 events/s for 60 s)", dynamodb_writes(dense_records(), spec))
    print_writes(f"the sample's first {args.dynamodb_records} records (low traffic, ~40 events/min)",
                 dynamodb_writes(records[: args.dynamodb_records], spec))


if __name__ == "__main__":
    main()
