"""The concurrency suite: N = 1, 4, 16 shard workers in separate processes, through the real ingest path, over the
conflict model (tests/conflict_model.py) on moto's server. Counts must equal a single-process SQLite replay, and no
counter, digest or partial item may ever see a TransactionConflict or a ConditionalCheckFailed."""

from __future__ import annotations

import pytest

from processors.store import DynamoDBStore, dynamodb_client
from tests.concurrency import WorkerJob, partition, reference, run_workers, sample_events, snapshot
from tests.conflict_model import ModelStats
from tests.conftest import create_table

SHARED_KINDS = ("CNT", "DIG", "GAUGE", "PART")  # items that, before partials, every shard wrote


@pytest.fixture(scope="module")
def events():  # type: ignore[no-untyped-def]
    return sample_events(hours=1)


# Four and sixteen worker processes over one moto server take minutes on two cores: the slow tier (CI) runs them.
@pytest.mark.parametrize(
    "shards",
    [
        pytest.param(1, id="one shard"),
        pytest.param(4, id="four shards", marks=pytest.mark.slow),
        pytest.param(16, id="sixteen shards", marks=pytest.mark.slow),
    ],
)
def test_shard_workers_in_parallel_count_exactly_what_one_sqlite_pass_counts_without_a_shared_item_conflict(
    shards, events, moto_endpoint, tmp_path
):
    records = partition(events, shards)
    table = create_table(moto_endpoint)
    jobs = [
        WorkerJob(moto_endpoint, table, str(tmp_path / "inflight.db"), shard, mine, str(tmp_path / f"{shard}.json"),
                  seed=n, throttle_rate=0.02, timeout_rate=0.02)
        for n, (shard, mine) in enumerate(records.items())
    ]
    results = run_workers(jobs)
    stats = ModelStats()
    for result in results:
        stats.add(result["model"])
        assert result["failed_batches"] == 0
    assert stats.throttles > 0 and stats.timeouts_after_commit > 0  # the faults were really injected
    for kind in SHARED_KINDS:
        assert stats.conflict_items[kind] == 0, (kind, stats)
        assert stats.condition_items[kind] == 0, (kind, stats)

    start = int(min(e.time for e in events)) // 3600 * 3600 - 3600
    end = int(max(e.time for e in events)) // 3600 * 3600 + 2 * 3600
    store = DynamoDBStore(dynamodb_client(moto_endpoint), table)
    expected = snapshot(reference(records, str(tmp_path / "reference.db")), start, end)
    assert snapshot(store, start, end) == expected
    store.rollup(end)  # folding changes the cost of a read, never its answer
    assert snapshot(store, start, end) == expected
    assert sum(v["total"] for v in expected["api-availability/h"].values()) > 0
