"""History files as people have them, made by moto's CloudWatch Logs, Firehose and S3 over HTTP.

- filter-log-events / get-log-events output: boto3's responses written the way `aws logs ... --output json`
  writes them (pages merged into one document), or one page per line;
- Firehose: the S3 object a CloudWatch Logs → Firehose subscription delivered (gzip payloads, concatenated);
- the awslogs envelope: the payload moto's CloudWatch Logs → Kinesis subscription delivered, wrapped as
  CloudWatch Logs hands it to a Lambda subscriber;
plus the checked-in samples in tests/samples/ (Powertools' own fixtures; `sam local generate-event`).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from tests.shapes import SAMPLES, gzip_bytes, powertools_lines, schema_v1_lines

LOG_GROUP = "/aws/lambda/gha-api"
LOG_STREAM = "2026/10/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/CloudWatchLogsToDestination"
HISTORY_MESSAGES = 6  # schema_v1_lines() + powertools_lines(): 2 + 4 api_request, 2 + 1 of them 5xx


@contextmanager
def moto_server(endpoint: str | None = None) -> Iterator[str]:
    if endpoint:
        yield endpoint
        return
    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def ingestion_ms(n: int, count: int) -> int:
    """CloudWatch Logs refuses events older than 14 days, so the events are put as of now; the lines keep
    their own `timestamp`, which is the event time."""
    return int(time.time() * 1000) - (count - n) * 1000


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def history_messages() -> list[str]:
    return schema_v1_lines() + [line for line in powertools_lines() if '"api_request"' in line]


def seed_log_group(logs: Any, group: str, messages: list[str], create: bool = True) -> None:
    """One stream, one put per message (CloudWatch Logs orders by timestamp within a put)."""
    if create:
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
    for n, message in enumerate(messages):
        logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM,
                            logEvents=[{"timestamp": ingestion_ms(n, len(messages)), "message": message}])


def filter_log_events_output(endpoint: str, messages: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the merged document `aws logs filter-log-events` prints, the raw pages of 2 events each)."""
    logs = client(endpoint, "logs")
    group = f"/aws/lambda/gha-{uuid.uuid4().hex[:8]}"
    seed_log_group(logs, group, messages)
    pages = [
        _jsonable(page) for page in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, PaginationConfig={"PageSize": 2})
    ]
    merged = {"events": [e for page in pages for e in page["events"]],
              "searchedLogStreams": pages[0].get("searchedLogStreams", [])}
    return merged, pages


def get_log_events_output(endpoint: str, messages: list[str]) -> dict[str, Any]:
    logs = client(endpoint, "logs")
    group = f"/aws/lambda/gha-{uuid.uuid4().hex[:8]}"
    seed_log_group(logs, group, messages)
    return _jsonable(logs.get_log_events(logGroupName=group, logStreamName=LOG_STREAM, startFromHead=True))


def firehose_s3_object(endpoint: str, messages: list[str]) -> bytes:
    """CloudWatch Logs → Firehose (subscription filter) → S3: the object Firehose wrote."""
    suffix = uuid.uuid4().hex[:8]
    s3, firehose, logs = client(endpoint, "s3"), client(endpoint, "firehose"), client(endpoint, "logs")
    bucket = f"history-{suffix}"
    s3.create_bucket(Bucket=bucket)
    stream = firehose.create_delivery_stream(
        DeliveryStreamName=f"logs-{suffix}",
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE_ARN, "BucketARN": f"arn:aws:s3:::{bucket}"},
    )["DeliveryStreamARN"]
    group = f"/aws/lambda/gha-{suffix}"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(logGroupName=group, filterName="archive", filterPattern="",
                                 destinationArn=stream, roleArn=ROLE_ARN)
    logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM, logEvents=[
        {"timestamp": ingestion_ms(n, len(messages)), "message": m} for n, m in enumerate(messages)])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return b"".join(s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in sorted(keys))


def kinesis_subscription_payload(endpoint: str, messages: list[str]) -> bytes:
    """The gzip payload moto's CloudWatch Logs → Kinesis subscription delivered."""
    suffix = uuid.uuid4().hex[:8]
    kinesis, logs = client(endpoint, "kinesis"), client(endpoint, "logs")
    name = f"logs-{suffix}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
    group = f"/aws/lambda/gha-{suffix}"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(logGroupName=group, filterName="slo", filterPattern="",
                                 destinationArn=arn, roleArn=ROLE_ARN)
    logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM, logEvents=[
        {"timestamp": ingestion_ms(n, len(messages)), "message": m} for n, m in enumerate(messages)])
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    (record,) = kinesis.get_records(ShardIterator=iterator)["Records"]
    return bytes(record["Data"])


def _jsonable(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def history_files(folder: Path, endpoint: str | None = None) -> list[tuple[str, Path, tuple[str, ...]]]:
    """(shape, file, extra replay arguments) for every history shape; expected: 6 api_request, 3 of them 5xx,
    except the checked-in tool samples, which carry no structured lines."""
    messages = history_messages()
    files: list[tuple[str, Path, tuple[str, ...]]] = []

    def write(name: str, data: bytes, *extra: str) -> None:
        path = folder / name
        path.write_bytes(data)
        files.append((name, path, extra))

    with moto_server(endpoint) as url:
        merged, pages = filter_log_events_output(url, messages)
        write("filter-log-events.json", json.dumps(merged, indent=4).encode(), "--log-group", LOG_GROUP)
        write("filter-log-events-pages.jsonl", "\n".join(json.dumps(p) for p in pages).encode(),
              "--log-group", LOG_GROUP)
        write("filter-log-events.json.gz", gzip_bytes(json.dumps(merged).encode()), "--log-group", LOG_GROUP)
        write("get-log-events.json", json.dumps(get_log_events_output(url, messages), indent=4).encode(),
              "--log-group", LOG_GROUP)
        write("firehose-s3-object.gz", firehose_s3_object(url, messages))
        payload = kinesis_subscription_payload(url, messages)
        write("awslogs-envelope.json", json.dumps({"awslogs": {"data": base64.b64encode(payload).decode()}}).encode())
    for sample in sorted(SAMPLES.glob("*.json")):
        files.append((sample.name, sample, ()))
    return files
