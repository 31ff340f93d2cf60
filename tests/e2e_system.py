"""A small instrumented system for the end-to-end test: a webhook Lambda, SQS, a queue consumer, an ECS runner
that logs with `slo emit`, and the CloudWatch Logs → subscription → Kinesis path their lines take to ingest.

Only the `correlation` package and boto3 (pointed at moto's server) are used; nothing here is pipeline code.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, SQSEvent

import correlation
from correlation import ENV_VAR, bound, ecs_overrides, from_api_gateway, from_sqs_record, milestone, sqs_attributes
from subscriptions import SubscriptionConfig, subscribe_log_group
from tests.builders import load_event

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/CloudWatchLogsToKinesis"

WEBHOOK_SERVICE = "WebhookHandlerGHA"
CONSUMER_SERVICE = "QueueProcessor"
RUNNER_SERVICE = "Runner"
RUNNER_CONTAINER = "runner"



def log_destination(service: str, stack: str) -> tuple[str, str]:
    """(log group, log stream) of `service` in a deployment named `stack`, as Lambda and ECS awslogs name them."""
    if service == RUNNER_SERVICE:
        return f"/ecs/{stack}-runner", f"{RUNNER_CONTAINER}/{RUNNER_CONTAINER}/9d8c7b6a5f4e3d2c1b0a"
    return f"/aws/lambda/{stack}-{service}", "2026/10/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0"


class LogCapture:
    """A Powertools schema-v1 logger per service writing to a buffer, as Lambda's stdout would be captured.

    Powertools keeps one logging.Logger (and handler) per service name, so each is made once per process
    and `drain()` hands over what was written since the last call.
    """

    def __init__(self, service: str) -> None:
        self.stream = io.StringIO()
        self.log = correlation.logger(service, stream=self.stream)

    def drain(self) -> list[str]:
        text = self.stream.getvalue()
        self.stream.seek(0)
        self.stream.truncate()
        return [line for line in text.splitlines() if line.strip()]


WEBHOOK = LogCapture(WEBHOOK_SERVICE)
CONSUMER = LogCapture(CONSUMER_SERVICE)


# --- the webhook Lambda (API Gateway REST → SQS) ------------------------------------------------------------


def webhook_event(body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A REST (v1) proxy event for POST /webhook, shaped like the API Gateway samples in events/."""
    event = copy.deepcopy(load_event("apigw-get-trace.json"))
    event.update(
        resource="/webhook",
        path="/webhook",
        httpMethod="POST",
        pathParameters=None,
        headers={
            "Content-Type": "application/json",
            "Host": event["headers"]["Host"],
            "User-Agent": "GitHub-Hookshot/5c1b2a3",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-GitHub-Event": "workflow_job",
            **(headers or {}),
        },
        multiValueHeaders={},
        body=json.dumps(body),
    )
    event["requestContext"].update(resourcePath="/webhook", httpMethod="POST", path="/prod/webhook")
    return event


def make_webhook_handler(sqs: Any, queue_url: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @WEBHOOK.log.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = APIGatewayProxyEvent(event)
        inbound = from_api_gateway(request)
        job = request.json_body
        ids = {"workflowId": job["workflow_job"]["id"], "repository": job["repository"]["full_name"]}
        with bound(inbound.correlation_id) as cid:
            assert cid is not None
            # an ID minted here is the trace's origin (GitHub sends none), not a break in propagation
            milestone("webhook_received", log=WEBHOOK.log, **ids)
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(ids), MessageAttributes=sqs_attributes(cid))
            milestone("job_queued", log=WEBHOOK.log, **ids)
        return {
            "statusCode": 202,
            "headers": {"Content-Type": "application/json", **inbound.response_headers},
            "body": json.dumps({"queued": True}),
        }

    return handler


# --- the queue consumer Lambda (SQS → ECS RunTask) ----------------------------------------------------------


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the SQS event source mapping hands Lambda for messages from boto3's receive_message."""
    records = []
    for message in messages:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": message["MD5OfBody"],
                "md5OfMessageAttributes": message.get("MD5OfMessageAttributes"),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


@dataclass
class RecordingEcs:
    """A fake ECS client: RunTask calls are recorded (the runner is started by the test, not by ECS)."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def run_task(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(copy.deepcopy(kwargs))
        arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/runners/{len(self.calls):032x}"
        return {"tasks": [{"taskArn": arn, "lastStatus": "PROVISIONING"}], "failures": []}


def make_queue_consumer(ecs: Any) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @CONSUMER.log.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        for record in SQSEvent(event).records:
            with bound(from_sqs_record(record)) as cid:
                assert cid is not None, "the message lost its CorrelationId attribute"
                ids = json.loads(record.body)
                response = ecs.run_task(
                    cluster="runners",
                    taskDefinition="runner",
                    launchType="FARGATE",
                    overrides=ecs_overrides(cid, RUNNER_CONTAINER),
                )
                milestone("task_launched", log=CONSUMER.log, taskArn=response["tasks"][0]["taskArn"], **ids)
        return {"batchItemFailures": []}

    return handler


# --- the runner (ECS task; its entrypoint logs with `slo emit`) ---------------------------------------------


def container_environment(overrides: Mapping[str, Any], container: str = RUNNER_CONTAINER) -> dict[str, str]:
    """The environment RunTask's overrides give `container`."""
    (entry,) = [c for c in overrides["containerOverrides"] if c["name"] == container]
    return {variable["name"]: variable["value"] for variable in entry.get("environment", [])}


def slo_emit(action: str, environment: Mapping[str, str], *pairs: str) -> str:
    """`slo emit ACTION --service Runner KEY=VALUE ...` as the runner's shell entrypoint runs it: one line."""
    env = {**os.environ, **environment}
    result = subprocess.run(
        [sys.executable, "-m", "processors.cli", "emit", action, "--service", RUNNER_SERVICE, *pairs],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stderr == "", result.stderr  # no "minted a correlation ID" warning: it came through
    return result.stdout.strip()


def run_runner(overrides: Mapping[str, Any], workflow_id: int, repository: str) -> list[str]:
    """The runner task: started, a cache hit, the workflow's success with its duration in ms."""
    environment = {ENV_VAR: container_environment(overrides)[ENV_VAR]}
    ids = (f"workflowId={workflow_id}", f"repository={repository}")
    started = time.monotonic()
    lines = [slo_emit("runner_started", environment, *ids)]
    lines.append(slo_emit("cache_hit", environment, *ids, "bytes=1048576"))
    duration_ms = round((time.monotonic() - started) * 1000, 3)
    lines.append(slo_emit("workflow_completed", environment, *ids, "conclusion=success", f"duration={duration_ms}"))
    return lines


# --- CloudWatch Logs → subscription filter → Kinesis → the ingest Lambda's event ----------------------------


def log_timestamp_ms(line: str) -> int:
    return int(datetime.fromisoformat(json.loads(line)["timestamp"].replace("Z", "+00:00")).timestamp() * 1000)


def ship_to_cloudwatch(logs: Any, lines_by_service: Mapping[str, list[str]], stream_arn: str, stack: str) -> None:
    """Each service's lines into its log group, subscribed to `stream_arn` by the pipeline's own subscriber."""
    config = SubscriptionConfig(destination_arn=stream_arn, role_arn=ROLE_ARN)
    for service, lines in lines_by_service.items():
        group, stream = log_destination(service, stack)
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        outcome = subscribe_log_group(logs, config, group)
        assert outcome.action == "subscribed", outcome
        events = [{"timestamp": log_timestamp_ms(m), "message": m} for m in sorted(lines, key=log_timestamp_ms)]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def read_shard(kinesis: Any, stream_name: str) -> tuple[str, list[dict[str, Any]]]:
    """(shard ID, every record of the stream's only shard) from TRIM_HORIZON."""
    (shard,) = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]["Shards"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = []
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=100)
        records += page["Records"]
        if not page["Records"] or page.get("MillisBehindLatest", 0) == 0:
            break
        iterator = page.get("NextShardIterator")
    return shard["ShardId"], records


def lambda_kinesis_event(records: Iterable[Mapping[str, Any]], stream_arn: str, shard_id: str) -> dict[str, Any]:
    """What the Kinesis event source mapping hands Lambda for records from get_records."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record["PartitionKey"],
                    "sequenceNumber": record["SequenceNumber"],
                    "data": base64.b64encode(record["Data"]).decode(),
                    "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard_id}:{record['SequenceNumber']}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/slo-ingest",
                "awsRegion": REGION,
                "eventSourceARN": stream_arn,
            }
            for record in records
        ]
    }
