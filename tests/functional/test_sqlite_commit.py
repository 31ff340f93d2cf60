"""SQLite's set-wise commit: digests and new trace heads are written a statement per table, and a write
that raced another writer is still refused as a conflict that names the item and changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from processors import conventions
from processors.sketch import TDigest
from processors.stitching import TraceHead
from processors.store import Commit, CommitConflictError, DigestKey, HeadWrite, SqliteStore
from tests.builders import T0, cid

HOUR0 = int(T0)
KEY = DigestKey("queue-latency", conventions.RESOLUTION_MINUTE, HOUR0)


class StaleReads(SqliteStore):
    """A store whose digest reads miss what another writer committed after them."""

    def _get_digests(self, keys: list[DigestKey]) -> dict[DigestKey, tuple[bytes, int]]:
        return {}


def test_a_digest_created_by_another_writer_since_the_read_is_refused_and_nothing_lands(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(path).commit(Commit(digests={KEY: TDigest.from_values([1.0])}))
    stale = StaleReads(path)
    with pytest.raises(CommitConflictError, match="created concurrently"):
        stale.commit(Commit(digests={KEY: TDigest.from_values([2.0])}, gauges={"open": 1}))
    assert stale.gauge("open") == 0
    merged = SqliteStore(path).digest("queue-latency", HOUR0, HOUR0 + 60)
    assert merged is not None and merged.count == 1


def test_digests_merge_across_commits_and_many_keys_are_read_in_one_pass(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    keys = [DigestKey("queue-latency", conventions.RESOLUTION_MINUTE, HOUR0 + 60 * i) for i in range(700)]
    for value in (1.0, 2.0):
        store.commit(Commit(digests={key: TDigest.from_values([value]) for key in keys}))
    stored = store._get_digests(keys)
    assert {key: version for key, (_blob, version) in stored.items()} == dict.fromkeys(keys, 2)
    assert {TDigest.from_bytes(blob).count for blob, _version in stored.values()} == {2}


def test_a_new_trace_head_that_another_writer_created_is_refused_by_name(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    first = {cid(n): HeadWrite(TraceHead(correlation_id=cid(n), first_seen_ms=int(T0 * 1000)), ttl=0) for n in (1, 2)}
    store.commit(Commit(heads={cid(2): first[cid(2)]}))
    with pytest.raises(CommitConflictError, match=f"trace {cid(2)} was created concurrently"):
        store.commit(Commit(heads=first, gauges={"open": 1}))
    assert store.trace(cid(1)) is None and store.gauge("open") == 0


def test_in_a_group_of_commits_a_refused_commit_lands_nothing_and_the_others_land(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqliteStore(path).commit(Commit(digests={KEY: TDigest.from_values([1.0])}))
    stale = StaleReads(path)
    with stale.grouped_commits(size=10):
        stale.commit(Commit(gauges={"open": 1}))
        with pytest.raises(CommitConflictError, match="created concurrently"):
            stale.commit(Commit(digests={KEY: TDigest.from_values([2.0])}, gauges={"open": 10}))
        stale.commit(Commit(gauges={"open": 100}))
        assert SqliteStore(path).gauge("open") == 0  # the group is one transaction, not committed yet
    assert SqliteStore(path).gauge("open") == 101
    merged = SqliteStore(path).digest("queue-latency", HOUR0, HOUR0 + 60)
    assert merged is not None and merged.count == 1


def test_a_group_of_commits_commits_each_time_it_is_full_and_a_lost_connection_loses_only_the_open_group(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    with pytest.raises(sqlite3.ProgrammingError), store.grouped_commits(size=2):  # the closing commit fails
        for _ in range(5):
            store.commit(Commit(gauges={"open": 1}))
        store.db.close()  # the process dies with the fifth commit in the open group
    assert SqliteStore(path).gauge("open") == 4


def test_a_grouping_store_merges_into_the_digests_it_wrote_and_reads_again_after_a_conflict(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    with store.grouped_commits(size=1):  # each commit its own transaction, so another writer can come between
        store.commit(Commit(digests={KEY: TDigest.from_values([1.0])}))
        store.commit(Commit(digests={KEY: TDigest.from_values([2.0])}))  # merged into the kept digest
        SqliteStore(path).commit(Commit(digests={KEY: TDigest.from_values([3.0])}))
        with pytest.raises(CommitConflictError, match="moved"):  # what it kept is stale: refused, forgotten
            store.commit(Commit(digests={KEY: TDigest.from_values([4.0])}, gauges={"open": 1}))
        store.commit(Commit(digests={KEY: TDigest.from_values([4.0])}, gauges={"open": 1}))  # the retry reads
    merged = SqliteStore(path).digest("queue-latency", HOUR0, HOUR0 + 60)
    assert merged is not None and merged.count == 4 and store.gauge("open") == 1
    ((_blob, version),) = store._get_digests([KEY]).values()
    assert version == 4
