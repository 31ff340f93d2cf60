"""DynamoDB-only mechanics behind the contract: the rollup's watermark and lease, and the sweep cursor.

Reads are the same whatever these do (tests/contract); these tests pin down what they cost and when they act."""

from __future__ import annotations

import math

from processors import conventions
from processors.decoding import Position
from processors.stitching import TraceHead
from processors.store import CheckpointAdvance, Commit, CounterKey, DynamoDBStore, HeadWrite
from tests.builders import T0, cid

M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
HOUR0 = int(T0)


def chunk(shard: str, expected: int | None, to: int, minute: int) -> Commit:
    bucket = HOUR0 + minute * 60
    return Commit(
        checkpoint=CheckpointAdvance(
            "s", shard, None if expected is None else Position(expected), Position(to), newest_event=bucket + 30
        ),
        counters={
            CounterKey("api", M, bucket): {"good": 1, "total": 1},
            CounterKey("api", H, HOUR0): {"good": 1, "total": 1},
        },
    )


def test_partials_newer_than_the_slowest_active_shard_stay_pending_until_it_catches_up(dynamodb_store: DynamoDBStore):
    dynamodb_store.commit(chunk("fast", None, 1, 5))
    dynamodb_store.commit(chunk("fast", 1, 2, 20))
    dynamodb_store.commit(chunk("slow", None, 1, 10))
    report = dynamodb_store.rollup(HOUR0 + 3600)
    # watermark = slow shard's newest (minute 10) - 2 min lateness: only minute 5's partial is closed
    assert report.watermark == HOUR0 + 10 * 60 + 30 - 120
    assert (report.folded, report.pending) == (1, 2)
    dynamodb_store.commit(chunk("slow", 1, 2, 40))
    report = dynamodb_store.rollup(HOUR0 + 3600)
    assert (report.folded, report.pending) == (2, 1)  # minutes 10 and 20; minute 40 is within the lateness
    assert dynamodb_store.window_counts("api", HOUR0, HOUR0 + 3600).total == 4


def test_an_idle_shard_does_not_hold_the_watermark_back(dynamodb_store: DynamoDBStore):
    dynamodb_store.commit(chunk("idle", None, 1, 0))
    dynamodb_store.commit(chunk("busy", None, 1, 50))
    report = dynamodb_store.rollup(HOUR0 + 3600)
    assert report.watermark == HOUR0 + 50 * 60 + 30 - 120  # idle > 15 min behind the newest shard: not counted
    assert report.folded == 1


def test_a_rollup_waits_while_another_holds_the_lease(dynamodb_store: DynamoDBStore):
    other = DynamoDBStore(dynamodb_store.client, dynamodb_store.table)
    dynamodb_store.commit(chunk("a", None, 1, 0))
    dynamodb_store.commit(chunk("a", 1, 2, 10))
    assert other._acquire_lease()
    report = dynamodb_store.rollup(HOUR0 + 3600)
    assert report.skipped == "another rollup holds the lease" and report.folded == 0
    other._release_lease()
    assert dynamodb_store.rollup(HOUR0 + 3600).folded == 1


def open_head(n: int, started_ms: int) -> dict[str, HeadWrite]:
    head = TraceHead(correlation_id=cid(n), milestones={"runner_started": started_ms}, open_since_ms=started_ms,
                     first_seen_ms=started_ms)
    return {cid(n): HeadWrite(head, ttl=0)}


def sweep_reads(store: DynamoDBStore, before: float) -> tuple[list[str], int]:
    reads = store.stats.read_requests
    found = store.open_units(before)
    return found, store.stats.read_requests - reads


def test_the_sweep_reads_from_its_cursor_not_the_whole_trace_ttl(dynamodb_store: DynamoDBStore):
    dynamodb_store.commit(Commit(heads=open_head(1, HOUR0 * 1000)))
    first, cold = sweep_reads(dynamodb_store, T0 + 7 * 3600)
    second, warm = sweep_reads(dynamodb_store, T0 + 7 * 3600 + 300)
    assert first == second == [cid(1)]
    assert cold == 14 * 24 + 1 + 1  # no cursor yet: every hour of the trace TTL (today: 337), and the cursor
    assert warm == 25 + 1  # the late-arrival floor (24 h) back to the current hour, and the cursor read
    resolved = dynamodb_store.trace(cid(1))
    resolved.open_since_ms = None
    dynamodb_store.commit(Commit(heads={cid(1): HeadWrite(resolved, ttl=0)}))
    assert sweep_reads(dynamodb_store, T0 + 8 * 3600)[0] == []


def test_a_sweep_told_what_was_applied_since_reads_from_the_oldest_open_hour_or_that_event(
    dynamodb_store: DynamoDBStore,
):
    sweep_reads(dynamodb_store, T0 + 30 * 3600)  # nothing open: the cursor moves to the current hour
    nothing_new = dynamodb_store.open_units(T0 + 30 * 3600 + 60, math.inf)
    reads = dynamodb_store.stats.read_requests
    assert dynamodb_store.open_units(T0 + 30 * 3600 + 120, math.inf) == nothing_new == []
    assert dynamodb_store.stats.read_requests - reads == 1 + 1  # the cursor, and its own hour: not 24 h again
    late = (HOUR0 + 10 * 3600) * 1000
    dynamodb_store.commit(Commit(heads=open_head(3, late)))  # its start event arrives 20 h late
    reads = dynamodb_store.stats.read_requests
    assert dynamodb_store.open_units(T0 + 30 * 3600 + 180, late / 1000) == [cid(3)]
    assert dynamodb_store.stats.read_requests - reads == 1 + 21  # the cursor, then hours 10..30
    reads = dynamodb_store.stats.read_requests
    assert dynamodb_store.open_units(T0 + 30 * 3600 + 240, math.inf) == [cid(3)]  # the cursor is at its hour
    assert dynamodb_store.stats.read_requests - reads == 1 + 21


def test_a_unit_that_opens_late_but_within_the_allowance_is_still_swept(dynamodb_store: DynamoDBStore):
    sweep_reads(dynamodb_store, T0 + 30 * 3600)  # the cursor moves to the current hour: nothing is open
    dynamodb_store.commit(Commit(heads=open_head(2, (HOUR0 + 10 * 3600) * 1000)))  # arrives 20 h late
    assert sweep_reads(dynamodb_store, T0 + 30 * 3600 + 60)[0] == [cid(2)]


def test_a_unit_a_new_spec_opens_again_after_it_was_due_is_swept_as_sqlite_sweeps_it(  # type: ignore[no-untyped-def]
    dynamodb_store: DynamoDBStore, sqlite_store, spec
) -> None:
    """A replay into a store written under a spec with no resolution SLO: a unit's later event opens it (the new
    spec resolves units) with the time of its old opening milestone, below the sweep cursor. The sweep reads
    from where that unit opened, not only from the events the replay applied."""
    import dataclasses

    from processors.decoding import decode_record
    from processors.replay import Replayer, ShardBatch
    from tests.builders import cw_payload, gz, kinesis_record, log_line

    without = dataclasses.replace(spec, slos=tuple(slo for slo in spec.slos if slo.kind != "resolution"))
    old, start = cid(1), HOUR0 + 600  # the unit opens at 00:10

    def batch(sequence: int, at: float, correlation_id: str, action: str) -> ShardBatch:
        record = kinesis_record(gz(cw_payload([log_line(action, at, correlation_id, "Runner")], t_ms=int(at * 1000))),
                                sequence, arrival=at)
        return ShardBatch("s", "shardId-0", [decode_record(record)], order_time=at)

    swept = []
    for store in (sqlite_store, dynamodb_store):
        Replayer(store, without).run([batch(1, start, old, "runner_started")])
        later = start + 7 * 3600  # past max_runtime (6 h)
        batches = [batch(2 + n, later + 60 * n, cid(10 + n), "api_request") for n in range(3)]
        batches.insert(2, batch(9, later + 90, old, "cache_hit"))  # after the replay's first sweep
        swept.append(Replayer(store, spec).run(batches).orphans_swept)
    assert swept == [1, 1]
