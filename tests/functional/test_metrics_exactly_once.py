"""Operator metrics are exactly once: replays, bisected retries and crashes of the real ingest leave every
minute's metrics equal to one clean pass, on both store adapters."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.cli.metrics import metric_entries
from processors.decoding import decode_record
from processors.evaluating.service import minute_readings
from processors.ingest import Ingestor
from processors.metrics import operator_metric_points
from processors.store import SqliteStore
from processors.store.view import StoreView
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record, kpl_record, log_line

SHARD = "shardId-000000000000"
MINUTES = range(int(T0), int(T0) + 8 * 60, 60)


def build_records() -> list[dict[str, Any]]:
    """One shard: 24 journeys over six minutes with cache bytes, reconciliations, a KPL record and junk."""
    rng = random.Random(11)
    lines: list[list[str]] = [[] for _ in range(16)]
    for n in range(24):
        t = T0 + n * 15 + rng.uniform(0, 5)
        ids = {"workflowId": str(n), "repository": "o/r"}
        conclusion = "cancelled" if n == 9 else "failure" if n % 7 == 3 else "success"
        journey = [
            ("job_queued", 0.0, "WebhookHandlerGHA", {}),
            ("task_launched", rng.uniform(0.2, 2.0), "QueueProcessor", {}),
            ("runner_started", rng.uniform(3.0, 6.0), "Runner", {}),
            ("cache_hit" if n % 4 else "cache_miss", 7.0, "Runner", {"bytes": rng.randrange(10**6, 10**8)}),
            ("workflow_completed", rng.uniform(40, 120), "Runner", {"conclusion": conclusion}),
        ]
        if n == 13:
            journey.pop()  # never completes: RunnersActive keeps it
        for action, offset, service, metadata in journey:
            lines[rng.randrange(len(lines))].append(log_line(action, t + offset, cid(n), service, **ids, **metadata))
    for n in range(6):
        status = "failure" if n == 2 else "success"
        lines[rng.randrange(len(lines))].append(
            log_line("reconcile_completed", T0 + n * 60 + 30, cid(200 + n), "Reconciler", status=status)
        )
    records = []
    for index, messages in enumerate(lines):
        sequence = 1000 + 10 * index
        if index == 5:
            half = len(messages) // 2
            records.append(kpl_record([gz(cw_payload(messages[:half])), gz(cw_payload(messages[half:]))], sequence))
        else:
            records.append(kinesis_record(gz(cw_payload(["START RequestId: x", *messages])), sequence))
    records.append(kinesis_record(b"not gzip", 1000 + 10 * len(lines)))
    return records


RECORDS = build_records()


def deliver(store: Any, spec: Any, records: list[dict[str, Any]]) -> None:
    Ingestor(store, spec).apply_batch(STREAM_ARN, SHARD, [decode_record(r) for r in records])


def metrics_by_minute(store: Any, spec: Any) -> dict[int, list[dict[str, Any]]]:
    view = StoreView(store)
    readings = {end: minute_readings(view, spec, end) for end in MINUTES[1:]}
    return {end: metric_entries(operator_metric_points(minute, spec, [])) for end, minute in readings.items()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict[int, list[dict[str, Any]]]:
    from processors.spec import load_spec

    spec = load_spec()
    store = SqliteStore(tmp_path_factory.mktemp("clean") / "slo.db")
    deliver(store, spec, RECORDS)
    try:
        return metrics_by_minute(store, spec)
    finally:
        store.close()


def test_the_clean_pass_has_traffic_in_every_minute_so_the_comparisons_mean_something(
    clean: dict[int, list[dict[str, Any]]],
) -> None:
    started = [next(e["value"] for e in entries if e["name"] == "RunnersStarted") for entries in clean.values()]
    assert sum(started) == 24
    names = {e["name"] for entries in clean.values() for e in entries}
    assert {"CacheHitRate", "CacheEntrySize", "QueueAgeP95", "RunnerExecutionTimeP95", "FailedWorkflowRate",
            "CostPerBuild", "ReconciliationFailures"} <= names


def test_replaying_the_same_input_twice_leaves_every_operator_metric_identical(
    store: Any, spec: Any, clean: dict[int, list[dict[str, Any]]]
) -> None:
    deliver(store, spec, RECORDS)
    assert metrics_by_minute(store, spec) == clean
    deliver(store, spec, RECORDS)
    assert metrics_by_minute(store, spec) == clean
    assert store.gauge("open-units") == 1


def test_a_bisected_retry_leaves_every_operator_metric_identical(
    store: Any, spec: Any, clean: dict[int, list[dict[str, Any]]]
) -> None:
    half = len(RECORDS) // 2
    deliver(store, spec, RECORDS[:half])  # the batch "failed" after its first half committed
    deliver(store, spec, RECORDS[: half // 2])  # Lambda bisects: the first quarter again
    deliver(store, spec, RECORDS[half // 2 : half])  # the second quarter again
    deliver(store, spec, RECORDS[half:])
    deliver(store, spec, RECORDS)  # and a late duplicate delivery of everything
    assert metrics_by_minute(store, spec) == clean


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries=st.lists(st.tuples(st.integers(0, len(RECORDS)), st.integers(0, len(RECORDS))), max_size=8))
def test_any_schedule_of_partial_and_repeated_deliveries_gives_the_clean_metrics(
    tmp_path_factory: pytest.TempPathFactory, spec: Any, clean: dict[int, list[dict[str, Any]]],
    deliveries: list[tuple[int, int]]
) -> None:
    """Lambda's schedules: each delivery starts at or before the first record not yet delivered (a retry,
    a bisected half, a duplicate), ends anywhere after; then the shard catches up."""
    store = SqliteStore(tmp_path_factory.mktemp("schedule") / "slo.db")
    try:
        progress = 0
        for start_draw, end_draw in deliveries:
            start = start_draw % (progress + 1)
            end = max(start, end_draw)
            deliver(store, spec, RECORDS[start:end])
            progress = max(progress, end)
        deliver(store, spec, RECORDS[progress:])
        assert metrics_by_minute(store, spec) == clean
    finally:
        store.close()
