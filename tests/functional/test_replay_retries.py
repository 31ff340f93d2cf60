"""`slo replay` retries transient store errors with capped, jittered backoff, and counts what it retried.

The store is DynamoDB on moto's server behind the conflict model (tests/conflict_model.py), which throttles
writes and times out after commits at a fixed seeded rate: what real DynamoDB does and moto never does."""

from __future__ import annotations

import pytest

from processors.replay import Replayer
from processors.replay.sources import ShardBatch
from processors.store import DynamoDBStore, SqliteStore, dynamodb_client
from tests.concurrency import STREAM, partition, reference, sample_events, snapshot
from tests.conflict_model import ConflictModelClient
from tests.conftest import create_table


@pytest.fixture(scope="module")
def events():  # type: ignore[no-untyped-def]
    return sample_events(hours=1)[:400]  # a quarter hour: enough batches to see every kind of fault


def test_a_replay_through_throttles_and_lost_responses_retries_counts_them_and_counts_every_event_once(
    events, moto_endpoint, tmp_path
):
    records = partition(events, 2)
    batches = [
        ShardBatch(STREAM, shard, mine[offset : offset + 50], order_time=mine[offset].arrival or 0.0)
        for shard, mine in records.items()
        for offset in range(0, len(mine), 50)
    ]
    model = ConflictModelClient(
        dynamodb_client(moto_endpoint), tmp_path / "inflight.db", throttle_rate=0.15, timeout_rate=0.1, seed=3
    )
    table = create_table(moto_endpoint)
    replayer = Replayer(DynamoDBStore(model, table), spec=_spec())
    pauses: list[float] = []
    replayer.sleep = pauses.append
    report = replayer.run(batches)

    assert report.failed_batches == 0
    assert report.throttle_retries > 0 and report.transient_retries > 0
    assert report.throttle_retries + report.transient_retries >= model.stats.timeouts_after_commit
    assert pauses and max(pauses) <= 2.0  # capped
    assert len(set(pauses)) > 1  # jittered
    start = int(min(e.time for e in events)) // 3600 * 3600 - 3600
    end = start + 4 * 3600
    expected = snapshot(reference(records, str(tmp_path / "reference.db")), start, end)
    assert snapshot(DynamoDBStore(dynamodb_client(moto_endpoint), table), start, end) == expected
    # the summary counts what landed, once: a pass a fault stopped counts only its committed chunks
    clean = Replayer(SqliteStore(tmp_path / "clean.db"), spec=_spec()).run(batches)
    assert (report.events, report.sli_events, report.skips, report.notes) == (
        clean.events,
        clean.sli_events,
        clean.skips,
        clean.notes,
    )


def _spec():  # type: ignore[no-untyped-def]
    from processors.spec import load_spec

    return load_spec()
