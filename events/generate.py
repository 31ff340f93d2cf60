#!/usr/bin/env python3
"""Generate deterministic sample traffic for the GitHub Actions runner platform, as Lambda Kinesis events.

A healthy platform from 2026-10-01T00:00Z with one short incident: workflows through the whole vocabulary
(~60 an hour), cache lookups, API requests, reconciler runs, orphans (some reported, one silent and swept
after max_runtime), Lambda platform noise, and a few malformed lines. The incident lasts 6 minutes (API 5xx,
slow runner starts, cache misses, failed workflows): at 03:00 in a sample of up to 8 hours (the docs' sample),
5 hours before the end of a longer one. CloudWatch Logs batches each log stream's events into gzip payloads;
the stream's name is the partition key, so payloads land on one of two shards.

    python events/generate.py --out events --days 4            # what `make demo` runs
    python events/generate.py --out /tmp/ev                    # the docs' 8-hour sample
    python events/generate.py --out /tmp/e --hours 48 --seed 7
    python events/generate.py --out /tmp/h2 --days 2 --rate 1.6  # a 2-day history, ~140k log events
    python events/generate.py --out /tmp/h30 --days 30           # a month, written as it is generated

Generation streams: each minute's lines are flushed once no later line can precede them, so memory stays
flat and a month takes a few minutes. `--rate` scales API requests and workflow arrivals (1.0 keeps the
sample byte for byte).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import heapq
import json
import random
import uuid
import zlib
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 10, 1, tzinfo=UTC)
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/slo-pipeline-logs"
SHARDS = ("shardId-000000000000", "shardId-000000000001")
FIRST_SEQUENCE = int("49654" + "0" * 51)  # Kinesis sequence numbers are 56-digit decimals
INCIDENT_MINUTES = 6
# A healthy platform's rates, outside the incident: each SLO stays well inside its budget.
FAILED_RUN = 0.00002  # workflow failures (besides 1% cancelled runs, which the deploy SLO ignores)
CACHE_HIT = 0.92
API_5XX = 0.0001
# During the incident
INCIDENT_QUEUE_DELAY_MS = 1000
INCIDENT_FAILED_RUN = 0.25
INCIDENT_CACHE_HIT = 0.25
INCIDENT_API_5XX = 0.3
PAYLOAD_SECONDS = 10  # CloudWatch Logs delivers each stream's events in ~10 s payloads
BATCH_SECONDS = 60  # one Lambda batch per shard per minute
REPOSITORIES = ("acme/web", "acme/api", "acme/infra", "acme/mobile", "acme/data")
GROUPS = {
    "WebhookHandlerGHA": "/aws/lambda/gha-webhook-handler",
    "QueueProcessor": "/aws/lambda/gha-queue-processor",
    "Runner": "/ecs/gha-runner",
    "Reconciler": "/aws/lambda/gha-reconciler",
    "Api": "/aws/apigateway/gha-api",
}


Line = tuple[datetime, str, str, str]  # (time, log group, log stream, message)
# A line is never written earlier than this before the minute being generated (platform START lines).
LOOKBEHIND = timedelta(seconds=1)


class Traffic:
    def __init__(self, seed: int, hours: int, rate: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.hours = hours
        self.rate = rate
        self.lines: list[Line] = []  # generate() keeps every line here, in generation order
        self._pending: list[tuple[datetime, int, Line]] = []  # iter_lines(): a heap by (time, generation order)
        self._emitted = 0
        self.flushed = 0  # lines iter_lines() has yielded
        self._keep = True
        self.incident = incident_window(hours)
        self.orphans = orphan_minutes(hours)
        # Lambda writes one log stream per concurrent execution environment: three each here
        self.instances = {
            service: [f"2026/10/01/[$LATEST]{self.rng.getrandbits(128):032x}" for _ in range(3)] for service in GROUPS
        }

    def stream(self, service: str) -> str:
        return self.rng.choice(self.instances[service])

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def in_incident(self, moment: datetime) -> bool:
        return self.incident[0] <= moment < self.incident[1]

    def log(self, moment: datetime, service: str, cid: str | None, action: str, message: str, stream: str = "",
            level: str = "INFO", **metadata: object) -> None:
        line: dict[str, object] = {
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": level,
        }
        if cid is not None:
            line["correlationId"] = cid
        line |= {"service": service, "message": message, "metadata": {"action": action, **metadata}}
        self.emit((moment, GROUPS[service], stream or self.stream(service), json.dumps(line)))

    def emit(self, line: Line) -> None:
        if self._keep:
            self.lines.append(line)
        else:
            heapq.heappush(self._pending, (line[0], self._emitted, line))
        self._emitted += 1

    def scaled(self, count: int) -> int:
        return count if self.rate == 1.0 else round(count * self.rate)

    def platform_noise(self, moment: datetime, service: str, duration_ms: float) -> None:
        request = self.uuid()
        stream = self.stream(service)
        group = GROUPS[service]
        self.emit((moment - timedelta(milliseconds=2), group, stream,
                   f"START RequestId: {request} Version: $LATEST"))
        end = moment + timedelta(milliseconds=duration_ms)
        self.emit((end, group, stream, f"END RequestId: {request}"))
        self.emit((end, group, stream, f"REPORT RequestId: {request}\tDuration: {duration_ms:.2f} ms\t"
                   f"Billed Duration: {int(duration_ms) + 1} ms\tMemory Size: 256 MB\tMax Memory Used: 91 MB"))

    def workflow(self, at: datetime, orphan: str | None = None) -> None:
        rng = self.rng
        cid = self.uuid()
        workflow_id = str(rng.randrange(10**9, 10**10))
        repository = rng.choice(REPOSITORIES)
        ids = {"workflowId": workflow_id, "repository": repository}
        incident = self.in_incident(at)
        self.platform_noise(at, "WebhookHandlerGHA", rng.uniform(40, 120))
        self.log(at, "WebhookHandlerGHA", cid, "webhook_received", "webhook accepted", **ids,
                 headers={"X-Hub-Signature-256": "sha256=deadbeef", "authorization": "token ghp_secret"})
        t = at + timedelta(milliseconds=rng.uniform(30, 150))
        self.log(t, "WebhookHandlerGHA", cid, "job_queued", "message sent to SQS", **ids, queue="gha-jobs")
        t += timedelta(milliseconds=rng.uniform(200, 900) + (INCIDENT_QUEUE_DELAY_MS if incident else 0))
        task = f"arn:aws:ecs:us-east-1:123456789012:task/gha/{rng.getrandbits(64):016x}"
        self.log(t, "QueueProcessor", cid, "task_launched", "ECS RunTask accepted", **ids, taskArn=task)
        t += timedelta(milliseconds=rng.uniform(1200, 3400))
        runner_stream = f"runner/runner/{task.rsplit('/', 1)[1]}"
        self.log(t, "Runner", cid, "runner_started", "runner picked the job", runner_stream, **ids)
        build_ms = rng.uniform(90_000, 420_000)
        for _ in range(rng.choice((1, 2, 2, 3))):
            t_lookup = t + timedelta(milliseconds=rng.uniform(2000, 20000))
            hit = rng.random() < (INCIDENT_CACHE_HIT if incident else CACHE_HIT)
            self.log(t_lookup, "Runner", cid, "cache_hit" if hit else "cache_miss", "build cache lookup",
                     runner_stream, **ids, cacheKey=f"deps-{repository.split('/')[1]}",
                     bytes=rng.randrange(10**6, 10**8))
            build_ms += 0 if hit else rng.uniform(30_000, 90_000)
        if orphan == "silent":
            return
        if orphan == "reported":
            found = t + timedelta(minutes=rng.uniform(40, 90))
            self.log(found, "Reconciler", cid, "runner_orphaned", "runner has no job", level="WARNING", **ids,
                     reason="instance terminated")
            return
        end = t + timedelta(milliseconds=build_ms)
        roll = rng.random()
        failed = 0.01 + (INCIDENT_FAILED_RUN if incident else FAILED_RUN)
        conclusion = "cancelled" if roll < 0.01 else "failure" if roll < failed else "success"
        error = {"type": "StepFailed", "step": "test"} if conclusion == "failure" else None
        self.log(end, "Runner", cid, "workflow_completed", f"workflow {conclusion}", runner_stream,
                 "ERROR" if error else "INFO", **ids, conclusion=conclusion, duration=round(build_ms), error=error)

    def api_requests(self, minute: datetime) -> None:
        rng = self.rng
        for _ in range(self.scaled(rng.randrange(15, 26))):
            at = minute + timedelta(seconds=rng.uniform(0, 60))
            bad_rate = INCIDENT_API_5XX if self.in_incident(at) else API_5XX
            status = 503 if rng.random() < bad_rate else rng.choice((200, 200, 200, 200, 201, 204, 404))
            duration = rng.lognormvariate(3.6, 0.5) + (800 if status >= 500 else 0)
            self.log(at, "Api", self.uuid(), "api_request", f"GET /runners -> {status}", level="ERROR" if status >= 500
                     else "INFO", status=status, duration=round(duration, 1), method="GET", path="/runners")

    def reconciler(self, at: datetime) -> None:
        cid = self.uuid()
        status = "failure" if self.rng.random() < 0.03 else "success"
        self.platform_noise(at, "Reconciler", self.rng.uniform(300, 900))
        self.log(at, "Reconciler", cid, "reconcile_completed", f"reconciliation {status}", status=status,
                 duration=round(self.rng.uniform(300, 900), 1))

    def malformed(self, at: datetime) -> None:
        self.emit((at, GROUPS["QueueProcessor"], self.stream("QueueProcessor"), "Task timed out after 3.00 seconds"))
        self.log(at, "QueueProcessor", None, "task_launched", "ECS RunTask accepted (correlation lost)")
        self.log(at, "QueueProcessor", "not-a-uuid", "task_launched", "ECS RunTask accepted (bad id)")

    def generate(self) -> None:
        """Every line in memory, in generation order (the tests' oracle); iter_lines() streams instead."""
        self._keep = True
        orphans = dict(self.orphans)
        for minute_index in range(self.hours * 60):
            self.minute(minute_index, orphans)
        end = START + timedelta(hours=self.hours)
        self.lines = [line for line in self.lines if line[0] < end]

    def iter_lines(self) -> Iterator[Line]:
        """Lines in time order (ties in generation order), flushed minute by minute in bounded memory."""
        self._keep = False
        orphans = dict(self.orphans)
        end = START + timedelta(hours=self.hours)
        for minute_index in range(self.hours * 60):
            self.minute(minute_index, orphans)
            final = START + timedelta(minutes=minute_index) - LOOKBEHIND  # nothing later can precede this
            while self._pending and self._pending[0][0] < final:
                self.flushed += 1
                yield heapq.heappop(self._pending)[2]
        while self._pending and self._pending[0][0] < end:
            self.flushed += 1
            yield heapq.heappop(self._pending)[2]
        self._pending.clear()

    def minute(self, minute_index: int, orphans: dict[int, str]) -> None:
        minute = START + timedelta(minutes=minute_index)
        self.api_requests(minute)
        if minute_index % 5 == 0:
            self.reconciler(minute + timedelta(seconds=self.rng.uniform(0, 30)))
        if minute_index in (77, 203, 401):
            self.malformed(minute + timedelta(seconds=17))
        arrivals = 2 if self.in_incident(minute) else self.rng.choice((0, 1, 1, 1, 2))
        arrivals = max(self.scaled(arrivals), int(minute_index in orphans))
        for _ in range(arrivals):
            self.workflow(minute + timedelta(seconds=self.rng.uniform(0, 60)), orphans.pop(minute_index, None))


def incident_window(hours: int) -> tuple[datetime, datetime]:
    """03:00 in a sample of up to 8 hours; 5 hours before the end of a longer one (recent enough to show)."""
    start = START + (timedelta(hours=3) if hours <= 8 else timedelta(hours=hours - 5))
    return start, start + timedelta(minutes=INCIDENT_MINUTES)


def orphan_minutes(hours: int) -> dict[int, str]:
    """The minutes whose workflow is orphaned: one silent (swept after max_runtime), the others reported."""
    if hours <= 8:
        return {12: "silent", 95: "reported", 301: "reported"}
    minutes = hours * 60
    return {int(minutes * 0.45): "silent", int(minutes * 0.8): "reported"}


def shard_for(stream: str) -> str:
    return SHARDS[zlib.crc32(stream.encode()) % len(SHARDS)]


def kinesis_events(traffic: Traffic) -> Iterator[tuple[str, dict[str, object]]]:
    """(shard, Lambda Kinesis event) in arrival order: each log stream's lines in 10 s gzip payloads, one
    event per shard per minute. Streams: a payload window is closed once a later window's line is seen."""
    writer = _KinesisWriter()
    window: int | None = None
    payloads: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for moment, group, stream, message in traffic.iter_lines():
        index = int((moment - START).total_seconds()) // PAYLOAD_SECONDS
        if index != window:
            if window is not None:
                yield from writer.window(window, payloads)
            window, payloads = index, defaultdict(list)
        payloads[(group, stream)].append((moment, message))
    if window is not None:
        yield from writer.window(window, payloads)
    yield from writer.flush()


class _KinesisWriter:
    """Numbers records per shard (sequence) and globally (CloudWatch event IDs); groups them per minute."""

    def __init__(self) -> None:
        self.event_id = 36_000_000_000_000_000_000_000_000_000_000_000_000
        self.sequences = {shard: FIRST_SEQUENCE + index * 10**40 for index, shard in enumerate(SHARDS)}
        self.batches: dict[str, tuple[int, list[dict[str, object]]]] = {}

    def window(
        self, window: int, payloads: dict[tuple[str, str], list[tuple[datetime, str]]]
    ) -> Iterator[tuple[str, dict[str, object]]]:
        arrival = START + timedelta(seconds=(window + 1) * PAYLOAD_SECONDS + 1.5)
        minute = int(arrival.timestamp() - START.timestamp()) // BATCH_SECONDS
        for (group, stream), lines in sorted(payloads.items()):
            document = {
                "messageType": "DATA_MESSAGE",
                "owner": "123456789012",
                "logGroup": group,
                "logStream": stream,
                "subscriptionFilters": ["slo-pipeline"],
                "logEvents": [
                    {"id": str(self.event_id + index), "timestamp": int(moment.timestamp() * 1000), "message": message}
                    for index, (moment, message) in enumerate(lines)
                ],
            }
            self.event_id += len(lines)
            data = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
            shard = shard_for(stream)
            self.sequences[shard] += 1_000_000
            sequence = self.sequences[shard]
            current = self.batches.get(shard)
            if current is not None and current[0] != minute:
                yield shard, {"Records": current[1]}
                current = None
            if current is None:
                current = self.batches[shard] = (minute, [])
            current[1].append(
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": stream,
                        "sequenceNumber": str(sequence),
                        "data": base64.b64encode(data).decode(),
                        "approximateArrivalTimestamp": round(arrival.timestamp(), 3),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{shard}:{sequence}",
                    "eventName": "aws:kinesis:record",
                    "invokeIdentityArn": "arn:aws:iam::123456789012:role/slo-pipeline-ingest",
                    "awsRegion": "us-east-1",
                    "eventSourceARN": STREAM_ARN,
                }
            )

    def flush(self) -> Iterator[tuple[str, dict[str, object]]]:
        for shard in SHARDS:
            if shard in self.batches:
                yield shard, {"Records": self.batches.pop(shard)[1]}


def sample_event() -> dict[str, object]:
    """One small, hand-checkable event for `sam local invoke -e`: a webhook's first two milestones."""
    cid = "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01"
    messages = [
        "START RequestId: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 Version: $LATEST",
        json.dumps({"timestamp": "2026-10-01T00:00:01.234Z", "level": "INFO", "correlationId": cid,
                    "service": "WebhookHandlerGHA", "message": "webhook accepted",
                    "metadata": {"action": "webhook_received", "workflowId": "4242424242", "repository": "acme/web"}}),
        json.dumps({"timestamp": "2026-10-01T00:00:01.301Z", "level": "INFO", "correlationId": cid,
                    "service": "WebhookHandlerGHA", "message": "message sent to SQS",
                    "metadata": {"action": "job_queued", "workflowId": "4242424242", "repository": "acme/web"}}),
    ]
    document = {
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": GROUPS["WebhookHandlerGHA"],
        "logStream": "2026/10/01/[$LATEST]0123456789abcdef0123456789abcdef", "subscriptionFilters": ["slo-pipeline"],
        "logEvents": [{"id": str(36_000_000_000_000_000_000_000_000_000_000_000_000 + i),
                       "timestamp": int(START.timestamp() * 1000) + 1234 + 67 * i, "message": m}
                      for i, m in enumerate(messages)],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode(), mtime=0)).decode()
    sequence = str(FIRST_SEQUENCE + 1)
    return {"Records": [{
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": document["logStream"], "sequenceNumber": sequence,
                    "data": data, "approximateArrivalTimestamp": START.timestamp() + 3.5},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{SHARDS[0]}:{sequence}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/slo-pipeline-ingest",
        "awsRegion": "us-east-1", "eventSourceARN": STREAM_ARN}]}


def write(out: Path, seed: int, hours: int, rate: float = 1.0) -> dict[str, int]:
    traffic = Traffic(seed, hours, rate)
    stream_dir = out / "stream"
    stream_dir.mkdir(parents=True, exist_ok=True)
    files = {shard: (stream_dir / f"{shard}.jsonl").open("w") for shard in SHARDS}
    counts = dict.fromkeys(SHARDS, 0)
    try:
        for shard, event in kinesis_events(traffic):
            files[shard].write(json.dumps(event, separators=(",", ":")) + "\n")
            counts[shard] += len(event["Records"])  # type: ignore[arg-type]
    finally:
        for handle in files.values():
            handle.close()
    (out / "sample-kinesis-event.json").write_text(json.dumps(sample_event(), indent=2) + "\n")
    return {"log_lines": traffic.flushed, **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="events", help="output folder (default events/)")
    parser.add_argument("--seed", type=int, default=20261001)
    parser.add_argument("--hours", type=int, default=8)
    parser.add_argument("--days", type=int, help="generate this many days instead of --hours")
    parser.add_argument("--rate", type=float, default=1.0, help="scale API requests and workflow arrivals")
    args = parser.parse_args()
    hours = args.days * 24 if args.days else args.hours
    if hours <= 0 or args.rate <= 0:
        parser.error("--hours/--days and --rate must be positive")
    counts = write(Path(args.out), args.seed, hours, args.rate)
    print(f"generated {counts['log_lines']} log lines as " +
          ", ".join(f"{v} records on {k}" for k, v in counts.items() if k != "log_lines") + f" in {args.out}/stream/")


if __name__ == "__main__":
    main()
