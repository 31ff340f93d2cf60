#!/usr/bin/env python3
"""Generate deterministic sample traffic for the GitHub Actions runner platform, as Lambda Kinesis events.

Eight hours from 2026-10-01T00:00Z: ~480 workflows through the whole vocabulary, cache lookups, API
requests, reconciler runs, three orphans (two reported, one silent and swept after max_runtime), Lambda
platform noise, a few malformed lines, and one short incident at 03:00-03:08 (API 5xx, slow runner
starts, cache misses, failed workflows). CloudWatch Logs batches each log stream's events into gzip
payloads; the stream's name is the partition key, so payloads land on one of two shards.

    python events/generate.py --out events            # what `make demo` runs
    python events/generate.py --out /tmp/e --hours 48 --seed 7
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import uuid
import zlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 10, 1, tzinfo=UTC)
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/slo-pipeline-logs"
SHARDS = ("shardId-000000000000", "shardId-000000000001")
FIRST_SEQUENCE = int("49654" + "0" * 51)  # Kinesis sequence numbers are 56-digit decimals
INCIDENT = (timedelta(hours=3), timedelta(hours=3, minutes=8))
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


class Traffic:
    def __init__(self, seed: int, hours: int) -> None:
        self.rng = random.Random(seed)
        self.hours = hours
        self.lines: list[tuple[datetime, str, str, str]] = []  # (time, group, stream, message)
        # Lambda writes one log stream per concurrent execution environment: three each here
        self.instances = {
            service: [f"2026/10/01/[$LATEST]{self.rng.getrandbits(128):032x}" for _ in range(3)] for service in GROUPS
        }

    def stream(self, service: str) -> str:
        return self.rng.choice(self.instances[service])

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def in_incident(self, moment: datetime) -> bool:
        return START + INCIDENT[0] <= moment < START + INCIDENT[1]

    def log(self, moment: datetime, service: str, cid: str | None, action: str, message: str, stream: str = "",
            level: str = "INFO", **metadata: object) -> None:
        line: dict[str, object] = {
            "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": level,
        }
        if cid is not None:
            line["correlationId"] = cid
        line |= {"service": service, "message": message, "metadata": {"action": action, **metadata}}
        self.lines.append((moment, GROUPS[service], stream or self.stream(service), json.dumps(line)))

    def platform_noise(self, moment: datetime, service: str, duration_ms: float) -> None:
        request = self.uuid()
        stream = self.stream(service)
        group = GROUPS[service]
        self.lines.append((moment - timedelta(milliseconds=2), group, stream,
                           f"START RequestId: {request} Version: $LATEST"))
        end = moment + timedelta(milliseconds=duration_ms)
        self.lines.append((end, group, stream, f"END RequestId: {request}"))
        self.lines.append((end, group, stream, f"REPORT RequestId: {request}\tDuration: {duration_ms:.2f} ms\t"
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
        t += timedelta(milliseconds=rng.uniform(200, 900) + (4000 if incident else 0))
        task = f"arn:aws:ecs:us-east-1:123456789012:task/gha/{rng.getrandbits(64):016x}"
        self.log(t, "QueueProcessor", cid, "task_launched", "ECS RunTask accepted", **ids, taskArn=task)
        slow = rng.random() < 0.002
        t += timedelta(milliseconds=rng.uniform(1200, 3400) + (rng.uniform(2500, 6000) if slow else 0))
        runner_stream = f"runner/runner/{task.rsplit('/', 1)[1]}"
        self.log(t, "Runner", cid, "runner_started", "runner picked the job", runner_stream, **ids)
        build_ms = rng.uniform(90_000, 420_000)
        for _ in range(rng.choice((1, 2, 2, 3))):
            t_lookup = t + timedelta(milliseconds=rng.uniform(2000, 20000))
            hit = rng.random() < (0.25 if incident else 0.82)
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
        conclusion = "cancelled" if roll < 0.01 else "failure" if roll < (0.25 if incident else 0.013) else "success"
        error = {"type": "StepFailed", "step": "test"} if conclusion == "failure" else None
        self.log(end, "Runner", cid, "workflow_completed", f"workflow {conclusion}", runner_stream,
                 "ERROR" if error else "INFO", **ids, conclusion=conclusion, duration=round(build_ms), error=error)

    def api_requests(self, minute: datetime) -> None:
        rng = self.rng
        for _ in range(rng.randrange(15, 26)):
            at = minute + timedelta(seconds=rng.uniform(0, 60))
            bad_rate = 0.3 if self.in_incident(at) else 0.0003
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
        self.lines.append((at, GROUPS["QueueProcessor"], self.stream("QueueProcessor"),
                           "Task timed out after 3.00 seconds"))
        self.log(at, "QueueProcessor", None, "task_launched", "ECS RunTask accepted (correlation lost)")
        self.log(at, "QueueProcessor", "not-a-uuid", "task_launched", "ECS RunTask accepted (bad id)")

    def generate(self) -> None:
        minutes = self.hours * 60
        orphans = {12: "silent", 95: "reported", 301: "reported"}
        for minute_index in range(minutes):
            minute = START + timedelta(minutes=minute_index)
            self.api_requests(minute)
            if minute_index % 5 == 0:
                self.reconciler(minute + timedelta(seconds=self.rng.uniform(0, 30)))
            if minute_index in (77, 203, 401):
                self.malformed(minute + timedelta(seconds=17))
            arrivals = 2 if self.in_incident(minute) else self.rng.choice((0, 1, 1, 1, 2))
            arrivals = max(arrivals, int(minute_index in orphans))
            for _ in range(arrivals):
                self.workflow(minute + timedelta(seconds=self.rng.uniform(0, 60)), orphans.pop(minute_index, None))
        end = START + timedelta(minutes=minutes)
        self.lines = [line for line in self.lines if line[0] < end]


def shard_for(stream: str) -> str:
    return SHARDS[zlib.crc32(stream.encode()) % len(SHARDS)]


def kinesis_events(traffic: Traffic) -> dict[str, list[dict[str, object]]]:
    """Lambda Kinesis events per shard: each log stream's lines in 10 s gzip payloads, batched per minute."""
    payloads: dict[tuple[str, str, int], list[tuple[datetime, str]]] = defaultdict(list)
    for moment, group, stream, message in sorted(traffic.lines, key=lambda line: line[0]):
        window = int((moment - START).total_seconds()) // PAYLOAD_SECONDS
        payloads[(group, stream, window)].append((moment, message))
    records: dict[str, list[tuple[float, dict[str, object]]]] = defaultdict(list)
    event_id = 36_000_000_000_000_000_000_000_000_000_000_000_000
    by_time = sorted(payloads.items(), key=lambda item: (item[0][2], item[0][0], item[0][1]))
    for (group, stream, window), lines in by_time:
        arrival = START + timedelta(seconds=(window + 1) * PAYLOAD_SECONDS + 1.5)
        document = {
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": group,
            "logStream": stream,
            "subscriptionFilters": ["slo-pipeline"],
            "logEvents": [
                {"id": str(event_id + index), "timestamp": int(moment.timestamp() * 1000), "message": message}
                for index, (moment, message) in enumerate(lines)
            ],
        }
        event_id += len(lines)
        data = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), mtime=0)
        shard = shard_for(stream)
        records[shard].append((arrival.timestamp(), {"data": base64.b64encode(data).decode(), "partitionKey": stream}))
    events: dict[str, list[dict[str, object]]] = {}
    for shard_index, shard in enumerate(SHARDS):
        sequence = FIRST_SEQUENCE + shard_index * 10**40
        batches: dict[int, list[dict[str, object]]] = defaultdict(list)
        for arrival, record in sorted(records[shard], key=lambda item: item[0]):
            sequence += 1_000_000
            batches[int(arrival - START.timestamp()) // BATCH_SECONDS].append(
                {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": record["partitionKey"],
                        "sequenceNumber": str(sequence),
                        "data": record["data"],
                        "approximateArrivalTimestamp": round(arrival, 3),
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
        events[shard] = [{"Records": batch} for _, batch in sorted(batches.items())]
    return events


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


def write(out: Path, seed: int, hours: int) -> dict[str, int]:
    traffic = Traffic(seed, hours)
    traffic.generate()
    stream_dir = out / "stream"
    stream_dir.mkdir(parents=True, exist_ok=True)
    counts = {"log_lines": len(traffic.lines)}
    for shard, events in kinesis_events(traffic).items():
        path = stream_dir / f"{shard}.jsonl"
        path.write_text("".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events))
        counts[shard] = sum(len(event["Records"]) for event in events)  # type: ignore[arg-type]
    (out / "sample-kinesis-event.json").write_text(json.dumps(sample_event(), indent=2) + "\n")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="events", help="output folder (default events/)")
    parser.add_argument("--seed", type=int, default=20261001)
    parser.add_argument("--hours", type=int, default=8)
    args = parser.parse_args()
    counts = write(Path(args.out), args.seed, args.hours)
    print(f"generated {counts['log_lines']} log lines as " +
          ", ".join(f"{v} records on {k}" for k, v in counts.items() if k != "log_lines") + f" in {args.out}/stream/")


if __name__ == "__main__":
    main()
