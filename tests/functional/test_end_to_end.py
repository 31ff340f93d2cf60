"""One correlation ID from an API Gateway webhook to the runner's last line, through the real delivery path
(CloudWatch Logs → subscription filter → Kinesis → the ingest Lambda), all on moto's server over HTTP.

What moto emulates and what it does not (moto 5.2.5, moto/logs/models.py and moto/kinesis/models.py):
- CloudWatch Logs *does* forward put_log_events to a Kinesis subscription destination, as AWS does: one
  gzip JSON record per put (messageType DATA_MESSAGE, owner, logGroup, logStream, subscriptionFilters,
  logEvents[{id, timestamp, message}]), put into the stream under a random partition key. So no hop is
  faked here: the test reads back exactly what moto's logs backend wrote into Kinesis.
- moto ignores the filter pattern (every event is forwarded), numbers event ids 0, 1, ... instead of AWS's
  56-digit strings, and does not check the subscription's role. The pipeline reads none of these.
- The Lambda event source mappings (SQS → consumer, Kinesis → ingest) are not emulated: the test turns
  receive_message / get_records output into the Lambda event shapes (tests/e2e_system.py) and calls the
  handlers. ECS RunTask is a recording fake; the runner is the real `slo emit` CLI run in a subprocess with
  the CORRELATION_ID the RunTask overrides carry.
"""

from __future__ import annotations

import json
import time
import uuid
from functools import cache
from typing import Any

import boto3
import pytest
from jsonschema import Draft202012Validator

from correlation import HEADER
from processors.handlers import ingest
from processors.ingest import Ingestor
from processors.spec import load_spec
from processors.store import DynamoDBStore, dynamodb_client
from processors.store.view import StoreView
from tests import e2e_system as system
from tests import runner_platform as conventions
from tests.builders import series
from tests.conftest import create_table

MILESTONES = ("webhook_received", "job_queued", "task_launched", "runner_started", "workflow_completed")
WORKFLOW_ID = 4242424242
REPOSITORY = "acme/web"


@cache
def log_schema_validator() -> Draft202012Validator:
    schema = json.loads((system.ROOT / "schema" / "log-v1.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def client(endpoint: str, service: str) -> Any:
    session: Any = boto3.session.Session(region_name=system.REGION)
    return session.client(service, endpoint_url=endpoint)


def github_workflow_job() -> dict[str, Any]:
    return {
        "action": "queued",
        "workflow_job": {"id": WORKFLOW_ID, "run_id": 987654321, "labels": ["self-hosted", "fargate"]},
        "repository": {"full_name": REPOSITORY},
    }


def run_the_system(endpoint: str, lambda_context: Any, headers: dict[str, str]) -> tuple[str, dict[str, list[str]]]:
    """Webhook → SQS → consumer → runner. Returns the correlation ID echoed to the caller and each service's lines."""
    for capture in (system.WEBHOOK, system.CONSUMER):
        capture.drain()  # nothing left over from an earlier test
    sqs = client(endpoint, "sqs")
    queue_url = sqs.create_queue(QueueName=f"jobs-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    response = system.make_webhook_handler(sqs, queue_url)(
        system.webhook_event(github_workflow_job(), headers), lambda_context
    )
    assert response["statusCode"] == 202
    correlation_id = response["headers"][HEADER]

    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    ecs = system.RecordingEcs()
    assert system.make_queue_consumer(ecs)(system.sqs_event(messages, queue_arn), lambda_context) == {
        "batchItemFailures": []
    }
    (run_task,) = ecs.calls
    assert system.container_environment(run_task["overrides"]) == {"CORRELATION_ID": correlation_id}

    lines = {
        system.WEBHOOK_SERVICE: system.WEBHOOK.drain(),
        system.CONSUMER_SERVICE: system.CONSUMER.drain(),
        system.RUNNER_SERVICE: system.run_runner(run_task["overrides"], WORKFLOW_ID, REPOSITORY),
    }
    return correlation_id, lines


def deliver(endpoint: str, lines: dict[str, list[str]]) -> dict[str, Any]:
    """The lines through CloudWatch Logs and its Kinesis subscription; the ingest Lambda's event read back."""
    kinesis = client(endpoint, "kinesis")
    stack = f"e2e{uuid.uuid4().hex[:8]}"  # moto's server lives for the session: names of its own
    stream_name = f"{stack}-logs"
    kinesis.create_stream(StreamName=stream_name, ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]["StreamARN"]
    system.ship_to_cloudwatch(client(endpoint, "logs"), lines, stream_arn, stack)
    shard_id, records = system.read_shard(kinesis, stream_name)
    assert len(records) == len(lines)  # one subscription record per put_log_events call, i.e. per service
    assert all(record["Data"][:2] == b"\x1f\x8b" for record in records)  # gzip, as AWS delivers it
    return system.lambda_kinesis_event(records, stream_arn, shard_id)


@pytest.mark.parametrize(
    "headers",
    [{}, {HEADER: "0b7e4c1a-5d2f-4e8b-9a6c-3f1d2e4b5a69"}],
    ids=["a webhook without the header gets a minted id", "a webhook with the header keeps its id"],
)
def test_one_correlation_id_carries_a_webhook_to_a_complete_trace_counted_once_with_full_coverage(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, lambda_context: Any, headers: dict[str, str]
) -> None:
    started = int(time.time()) - 60
    correlation_id, lines = run_the_system(moto_endpoint, lambda_context, headers)
    if headers:
        assert correlation_id == headers[HEADER]

    captured = [line for service_lines in lines.values() for line in service_lines]
    for line in captured:
        errors = [e.message for e in log_schema_validator().iter_errors(json.loads(line))]
        assert errors == [], line
    assert {json.loads(line)["correlationId"] for line in captured} == {correlation_id}

    event = deliver(moto_endpoint, lines)
    store = DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, load_spec()))
    for _delivery in range(2):  # Lambda may deliver a batch again: it must count once
        assert ingest.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    ended = int(time.time()) + 60
    head = store.trace(correlation_id.lower())
    assert head is not None
    assert set(MILESTONES) <= set(head.milestones)
    assert head.workflow_id == str(WORKFLOW_ID) and head.repository == REPOSITORY
    assert store.window_counts(series(conventions.QUEUE_LATENCY), started, ended).total == 1
    coverage = StoreView(store).trace_coverage(started, ended)
    assert coverage.good == coverage.total == len(captured) > 0
