"""Exactly once through the ingest handler's own path, with botocore-level faults and hostile input (#12).

The input mixes correlated and uncorrelated vocabulary lines, hostile times (NaN, year 9999) and platform
noise, spread over enough records that DynamoDB's real 100-item transaction limit cuts each batch into many
chunks. A thin wrapper over the real boto3 client (moto's server behind it) injects what moto never does:
throttling before a TransactWriteItems, a read timeout *after* it landed, and the Lambda process dying right
after one. Lambda is modelled as it behaves: a raised handler retries the same batch; batch item failures
resume from the lowest failed record. The final counts must equal an independent count of the input made
with plain Python from the log lines, sharing no code with the pipeline.
"""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from processors.handlers import ingest
from processors.ingest import Ingestor
from processors.store import DynamoDBStore, dynamodb_client
from tests import runner_platform as conventions
from tests.builders import T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line, series
from tests.conftest import create_table

VOCABULARY = set(conventions.VOCABULARY)


class Died(BaseException):
    """The Lambda process died (timeout, OOM): nothing after the write ran. BaseException, as a kill is."""


class FaultyClient:
    """The real DynamoDB client, with faults on chosen TransactWriteItems calls (1-based)."""

    def __init__(self, client: Any, plan: dict[int, str]) -> None:
        self.client = client
        self.plan = plan
        self.calls = 0
        self.fired: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self.calls += 1
        fault = self.plan.get(self.calls)
        if fault:
            self.fired.append(fault)
        if fault == "throttle":
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected"}}, "TransactWriteItems")
        result = self.client.transact_write_items(**kwargs)
        if fault == "timeout-after-commit":
            raise ReadTimeoutError(endpoint_url="http://moto/")
        if fault == "die-after-commit":
            raise Died
        return result


def build_input(seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Kinesis records of one shard, and every log line they hold (for the independent count)."""
    rng = random.Random(seed)
    records, lines = [], []
    for sequence in range(1, 25):
        messages = ["START RequestId: x Version: $LATEST"]
        for _ in range(rng.randrange(4, 12)):
            n = rng.randrange(10_000)
            at = T0 + rng.uniform(0, 3 * 3600)
            status = 503 if rng.random() < 0.2 else 200
            kind = rng.random()
            if kind < 0.6:
                messages.append(log_line("api_request", at, cid(n), "Api", status=status))
            elif kind < 0.75:  # no correlation ID: counts for the API SLO, and as bad trace coverage
                messages.append(log_line(rng.choice(["api_request", "job_queued"]), at, None, "Api", status=status))
            elif kind < 0.85:
                line = json.loads(log_line("api_request", at, cid(n), "Api", status=status))
                line["timestamp"] = "9999-12-31T23:59:59Z"
                messages.append(json.dumps(line))
            else:  # no ISO timestamp and a NaN CloudWatch timestamp: bad_timestamp
                messages.append(json.dumps({"correlationId": cid(n), "service": "Api",
                                            "metadata": {"action": "api_request", "status": status}, "nan": True}))
        payload = cw_payload(messages)
        for event in payload["logEvents"]:
            if '"nan": true' in event["message"]:
                event["timestamp"] = math.nan
        records.append(kinesis_record(json.dumps(payload).encode() if sequence % 2 else gz(payload), sequence))
        lines.extend(messages)
    return records, lines


def independent_count(lines: list[str]) -> dict[str, tuple[int, int]]:
    """(good, total) of api-availability and trace coverage, straight from the lines."""
    api_good = api_total = cov_good = cov_total = 0
    for message in lines:
        try:
            log = json.loads(message)
        except ValueError:
            continue
        if log.get("nan") or log.get("timestamp", "").startswith("9999"):
            continue  # unbelievable times are skipped
        action = log["metadata"]["action"]
        if action == "api_request":
            api_total += 1
            api_good += log["metadata"]["status"] < 500
        if action in VOCABULARY:
            cov_total += 1
            cov_good += len(log.get("correlationId", "")) == 36
    return {"api": (api_good, api_total), "coverage": (cov_good, cov_total)}


def deliver_until_caught_up(records: list[dict[str, Any]], context: Any) -> int:
    """Lambda's retries: the same batch after a raise, from the lowest failure after a partial response."""
    start, invocations = 0, 0
    while start < len(records):
        invocations += 1
        assert invocations < 200, "the shard never caught up"
        batch = records[start:]
        try:
            response = ingest.lambda_handler(kinesis_event(batch), context)
        except Died:
            continue
        failed = [int(f["itemIdentifier"]) for f in response["batchItemFailures"]]
        if not failed:
            start = len(records)
        else:
            start = next(i for i, r in enumerate(records) if int(r["kinesis"]["sequenceNumber"]) == min(failed))
    return invocations


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_botocore_faults_through_the_handler_leave_exactly_the_independent_count(
    seed: int, moto_endpoint: str, spec: Any, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    records, lines = build_input(seed)
    rng = random.Random(seed)
    kinds = ["throttle", "timeout-after-commit", "die-after-commit", rng.choice(["throttle", "die-after-commit"])]
    rng.shuffle(kinds)
    plan = dict(zip(sorted(rng.sample(range(1, 10), len(kinds))), kinds, strict=True))
    client = FaultyClient(dynamodb_client(moto_endpoint), plan)
    store = DynamoDBStore(client, create_table(moto_endpoint))
    assert store.max_items_per_commit == 100  # the real limit, not a test's smaller one
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(store, spec))
    monkeypatch.setattr(ingest, "clock", lambda: T0 + 4 * 3600)

    invocations = deliver_until_caught_up(records, lambda_context)
    assert ingest.lambda_handler(kinesis_event(records), lambda_context) == {"batchItemFailures": []}  # replayed

    expected = independent_count(lines)
    start, end = int(T0) - 3600, int(T0) + 5 * 3600
    api = store.window_counts(series(conventions.API_AVAILABILITY), start, end)
    coverage = store.window_counts(conventions.TRACE_COVERAGE_SLI, start, end)
    assert (api.good, api.total) == expected["api"]
    assert (coverage.good, coverage.total) == expected["coverage"]
    assert expected["coverage"][0] < expected["coverage"][1]  # uncorrelated lines were in the input
    assert sorted(client.fired) == sorted(plan.values()) and invocations > 1  # every fault fired, was retried
