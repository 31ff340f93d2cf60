"""N shard workers in separate processes through the real ingest path, over the conflict model on moto's server.

Shared by tests/functional/test_concurrency.py (exactness, zero conflicts on counter and digest items) and
bench/bench_concurrency.py (failed-transaction share, retries per commit, CPU ÷ one pass, evaluator reads).
The workload is the generated sample (events/generate.py), decoded by the real decoder, re-partitioned by
correlation ID onto N shards, and delivered in Lambda-sized batches with Lambda-style retries.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processors.decoding.types import DecodedRecord, LogEvent, Position
from processors.spec import load_spec
from tests import runner_platform as conventions

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/slo-pipeline-logs"
EVENTS_PER_RECORD = 4  # a CloudWatch payload carries a few events of one log stream
RECORDS_PER_BATCH = 100  # the template's BatchSize
MAX_ATTEMPTS = 200  # Lambda retries the batch; the suite wants to see every one succeed
SKETCHES = ("queue-latency", "api-latency", "runner-startup")
SPEC = load_spec()
SERIES = (*conventions.SLO_NAMES, conventions.TRACE_COVERAGE_SLI, *(slo.name for slo in load_spec().counters))


def sample_events(hours: int = 1, seed: int = 20261001) -> list[LogEvent]:
    """The generated sample's log events, decoded from its real Kinesis records, in arrival order."""
    from processors.replay import read_batches

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, str(root / "events" / "generate.py"), "--out", out, "--hours", str(hours), "--seed",
             str(seed)],
            check=True, capture_output=True,
        )
        batches = [b for path in sorted(Path(out, "stream").glob("*")) for b in read_batches(path)]
    batches.sort(key=lambda b: b.order_time)
    return [event for batch in batches for record in batch.records for event in record.events]


def shard_name(index: int) -> str:
    return f"shardId-{index:012d}"


def partition(events: list[LogEvent], shards: int, by: str = "correlation") -> dict[str, list[DecodedRecord]]:
    """Events onto `shards` shards, re-sequenced per shard: by correlation ID (as the issue measured), or by
    service (as a subscription filter's log-stream partition key does: one trace then spans several shards)."""
    by_shard: dict[str, list[LogEvent]] = {shard_name(i): [] for i in range(shards)}
    for event in events:
        key = event.correlation_id if by == "correlation" else f"{event.log_group}/{event.service}"
        by_shard[shard_name(zlib.crc32(key.encode()) % shards)].append(event)
    records: dict[str, list[DecodedRecord]] = {}
    for shard, mine in by_shard.items():
        out: list[DecodedRecord] = []
        for offset in range(0, len(mine), EVENTS_PER_RECORD):
            sequence = len(out) + 1
            group = mine[offset : offset + EVENTS_PER_RECORD]
            moved = [
                LogEvent(Position(sequence, 0, i), e.time, e.correlation_id, e.action, e.service, e.log, e.log_group)
                for i, e in enumerate(group)
            ]
            record = DecodedRecord(sequence=sequence, arrival=group[-1].time, events=moved, log_events_seen=len(moved))
            out.append(record)
        records[shard] = out
    return records


@dataclass(frozen=True)
class WorkerJob:
    endpoint: str
    table: str
    registry: str
    shard: str
    records: list[DecodedRecord]
    out: str
    seed: int = 0
    throttle_rate: float = 0.0
    timeout_rate: float = 0.0


def run_worker(job: WorkerJob) -> None:
    """One shard's Lambda: batches of 100 records, each retried (from its checkpoint) until it commits."""
    import boto3
    from botocore.config import Config

    from processors.ingest import Ingestor
    from processors.spec import load_spec
    from processors.store import DynamoDBStore
    from tests.conflict_model import ConflictModelClient

    client = boto3.client(
        "dynamodb", endpoint_url=job.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60),
    )
    model = ConflictModelClient(
        client, job.registry, throttle_rate=job.throttle_rate, timeout_rate=job.timeout_rate, seed=job.seed
    )
    ingestor = Ingestor(DynamoDBStore(model, job.table), load_spec())
    warm_up()
    started = time.process_time()
    attempts = commits = failed_batches = 0
    for offset in range(0, len(job.records), RECORDS_PER_BATCH):
        batch = job.records[offset : offset + RECORDS_PER_BATCH]
        for _attempt in range(MAX_ATTEMPTS):
            attempts += 1
            report = ingestor.apply_batch(STREAM, job.shard, batch)
            commits += report.commits
            if report.failed_from_sequence is None:
                break
            time.sleep(0.001 * (1 + _attempt % 8))  # Lambda's retry is not immediate
        else:
            failed_batches += 1
    cpu = time.process_time() - started
    result = {
        "shard": job.shard,
        "cpu": cpu,
        "attempts": attempts,
        "commits": commits,
        "failed_batches": failed_batches,
        "model": model.stats.to_json(),
    }
    Path(job.out).write_text(json.dumps(result))


def warm_up() -> None:
    """Pay the one-time costs (lazy imports, first digest) before the clock starts: they are per process, not
    per batch, and would otherwise be counted N times."""
    from processors.sketch import TDigest

    TDigest.merge([TDigest.from_values([1.0, 2.0]), TDigest.from_values([3.0])]).to_bytes()


def run_workers(jobs: list[WorkerJob]) -> list[dict[str, Any]]:
    """Each job in its own process (spawned: nothing shared but the server and the registry file)."""
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=run_worker, args=(job,)) for job in jobs]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    if any(p.exitcode != 0 for p in processes):
        raise RuntimeError(f"worker exit codes {[p.exitcode for p in processes]}")
    return [json.loads(Path(job.out).read_text()) for job in jobs]


def reference(records: dict[str, list[DecodedRecord]], path: str) -> Any:
    """The same shards' records, one process, one after another, into SQLite."""
    from processors.ingest import Ingestor
    from processors.spec import load_spec
    from processors.store import SqliteStore

    store = SqliteStore(path)
    ingestor = Ingestor(store, load_spec())
    for shard, mine in records.items():
        for offset in range(0, len(mine), RECORDS_PER_BATCH):
            report = ingestor.apply_batch(STREAM, shard, mine[offset : offset + RECORDS_PER_BATCH])
            assert report.failed_from_sequence is None
    return store


def snapshot(store: Any, start: int, end: int) -> dict[str, Any]:
    """What the evaluator can read: every series' minute and hour rows, digest counts, the gauge."""
    store.refresh()
    state: dict[str, Any] = {}
    for series in SERIES:
        for resolution in (conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR):
            rows = store.buckets(SPEC.series_of(series), resolution, start, end)
            state[f"{series}/{resolution}"] = {bucket: dict(fields) for bucket, fields in rows.items()}
    for sketch in SKETCHES:
        digest = store.digest(SPEC.sketch_series(sketch), start, end)
        state[f"digest/{sketch}"] = digest.count if digest else 0
    state["open-units"] = store.gauge("open-units")
    return state
