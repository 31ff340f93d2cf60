"""The store contract: every adapter (SQLite, DynamoDB over moto's server) must pass these, unchanged."""

from __future__ import annotations

import pytest

from processors import conventions
from processors.decoding import Position
from processors.stitching import TraceHead
from processors.store import CheckpointAdvance, Commit, CommitConflictError, CounterKey, HeadWrite
from tests.builders import T0, cid

M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
HOUR0 = int(T0)  # 2026-10-01T00:00Z, hour-aligned


def advance(expected: Position | None, to: Position, shard: str = "shard-0") -> CheckpointAdvance:
    return CheckpointAdvance("stream", shard, expected, to, newest_event=to.sequence + T0)


def counters(*rows: tuple[str, str, int, int, int]) -> dict[CounterKey, dict[str, int]]:
    return {CounterKey(sli, res, bucket): {"good": good, "total": total} for sli, res, bucket, good, total in rows}


def test_a_commit_adds_counters_and_moves_the_checkpoint(store):
    store.commit(Commit(checkpoint=advance(None, Position(5)), counters=counters(("api", M, HOUR0, 3, 4))))
    store.commit(Commit(checkpoint=advance(Position(5), Position(9)), counters=counters(("api", M, HOUR0, 1, 2))))
    assert store.buckets("api", M, HOUR0, HOUR0 + 60) == {HOUR0: {"good": 4, "total": 6}}
    assert store.checkpoint("stream", "shard-0").position == Position(9)


def test_a_commit_against_a_stale_checkpoint_is_refused_and_changes_nothing(store):
    store.commit(Commit(checkpoint=advance(None, Position(5)), counters=counters(("api", M, HOUR0, 1, 1))))
    with pytest.raises(CommitConflictError):
        store.commit(Commit(checkpoint=advance(None, Position(7)), counters=counters(("api", M, HOUR0, 1, 1))))
    with pytest.raises(CommitConflictError):
        store.commit(Commit(checkpoint=advance(Position(4), Position(7)), counters=counters(("api", M, HOUR0, 1, 1))))
    assert store.buckets("api", M, HOUR0, HOUR0 + 60) == {HOUR0: {"good": 1, "total": 1}}
    assert store.checkpoint("stream", "shard-0").position == Position(5)


def test_checkpoints_are_kept_per_shard_and_the_newest_event_is_their_maximum(store):
    store.commit(Commit(checkpoint=advance(None, Position(5), "a")))
    store.commit(Commit(checkpoint=advance(None, Position(9), "b")))
    assert {c.shard: c.position for c in store.checkpoints()} == {"a": Position(5), "b": Position(9)}
    assert store.newest_event_time() == pytest.approx(T0 + 9)


def test_bucket_reads_are_half_open_and_per_resolution(store):
    store.commit(
        Commit(
            counters=counters(
                ("api", M, HOUR0 - 60, 1, 1), ("api", M, HOUR0, 2, 2), ("api", M, HOUR0 + 60, 4, 4),
                ("api", H, HOUR0, 6, 6), ("other", M, HOUR0, 100, 100),
            )
        )
    )
    assert set(store.buckets("api", M, HOUR0, HOUR0 + 60)) == {HOUR0}
    assert set(store.buckets("api", M, HOUR0 - 60, HOUR0 + 120)) == {HOUR0 - 60, HOUR0, HOUR0 + 60}
    assert store.buckets("api", H, HOUR0, HOUR0 + 3600) == {HOUR0: {"good": 6, "total": 6}}
    assert store.buckets("api", M, HOUR0 + 120, HOUR0 + 3600) == {}


def test_a_window_reads_whole_hours_from_hour_buckets_and_the_edges_from_minutes(store):
    rows = []
    for minute in range(180):  # three hours, one bad event in each minute divisible by 7
        bucket = HOUR0 + minute * 60
        rows.append(("api", M, bucket, int(minute % 7 != 0), 1))
    hours = {}
    for _sli, _res, bucket, good, total in rows:
        hour = bucket - bucket % 3600
        g, t = hours.get(hour, (0, 0))
        hours[hour] = (g + good, t + total)
    rows += [("api", H, hour, g, t) for hour, (g, t) in hours.items()]
    for offset in range(0, len(rows), 90):  # within DynamoDB's 100-item transaction
        store.commit(Commit(counters=counters(*rows[offset : offset + 90])))
    start, end = HOUR0 + 25 * 60, HOUR0 + 160 * 60
    counts = store.window_counts("api", start, end)
    expected_bad = sum(1 for minute in range(25, 160) if minute % 7 == 0)
    assert (counts.total, counts.bad) == (135, expected_bad)


def test_a_trace_head_is_written_under_its_version_and_a_stale_writer_loses(store):
    head = TraceHead(correlation_id=cid(1), milestones={"webhook_received": 1}, workflow_id="42", repository="o/r",
                     first_seen_ms=int(T0 * 1000))
    store.commit(Commit(heads={cid(1): HeadWrite(head, ttl=int(T0) + 86400)}))
    stored = store.trace(cid(1))
    assert stored is not None and stored.version == 1 and stored.milestones == {"webhook_received": 1}
    stale = TraceHead(correlation_id=cid(1), milestones={"runner_started": 2})  # version 0: thinks it's new
    with pytest.raises(CommitConflictError):
        store.commit(Commit(heads={cid(1): HeadWrite(stale, ttl=0)}, counters=counters(("q", M, HOUR0, 1, 1))))
    assert store.buckets("q", M, HOUR0, HOUR0 + 60) == {}
    stored.milestones["runner_started"] = 2
    store.commit(Commit(heads={cid(1): HeadWrite(stored, ttl=0)}))
    assert store.trace(cid(1)).milestones == {"webhook_received": 1, "runner_started": 2}
    assert store.trace(cid(1)).version == 2


def test_an_unknown_trace_is_none(store):
    assert store.trace(cid(404)) is None
    assert store.heads([]) == {}


def test_traces_are_found_by_workflow_and_by_repository_newest_first(store):
    heads = {}
    for n in range(3):
        heads[cid(n)] = HeadWrite(
            TraceHead(correlation_id=cid(n), workflow_id="wf-1" if n < 2 else "wf-2", repository="acme/web",
                      first_seen_ms=int((T0 + n * 60) * 1000)),
            ttl=0,
        )
    store.commit(Commit(heads=heads))
    assert [c for c, _ in store.find_traces(workflow_id="wf-1")] == [cid(1), cid(0)]
    assert [c for c, _ in store.find_traces(repository="acme/web", since=int(T0) + 60)] == [cid(2), cid(1)]
    assert store.find_traces(workflow_id="nope") == []


@pytest.mark.parametrize(
    "search",
    [{"workflow_id": ""}, {"repository": ""}, {"workflow_id": " \t"}, {"repository": "  "}],
    ids=["workflow", "repository", "blank-workflow", "blank-repository"],
)
def test_a_trace_search_for_an_empty_value_is_refused_by_every_adapter(store, search):
    # DynamoDB's trace indexes are sparse (no item for an empty value), SQLite's column holds '': one answer for both
    head = TraceHead(correlation_id=cid(1), workflow_id="", repository="", first_seen_ms=int(T0 * 1000))
    store.commit(Commit(heads={cid(1): HeadWrite(head, ttl=0)}))
    with pytest.raises(ValueError, match="empty"):
        store.find_traces(**search)


def test_a_trace_search_with_an_end_leaves_out_traces_first_seen_after_its_second(store):
    heads = {
        cid(n): HeadWrite(
            TraceHead(correlation_id=cid(n), workflow_id="wf-1", repository="acme/web",
                      first_seen_ms=int(T0 * 1000) + offset_ms),
            ttl=0,
        )
        for n, offset_ms in enumerate((0, 60_500, 61_000, 120_000))
    }
    store.commit(Commit(heads=heads))
    found = store.find_traces(repository="acme/web", since=int(T0), until=int(T0) + 60)
    assert [c for c, _ in found] == [cid(1), cid(0)]  # 60.5 s is in the second of `until`; 61 s is not


def test_open_units_are_listed_until_they_resolve(store):
    started = int(T0 * 1000)
    head = TraceHead(correlation_id=cid(7), milestones={"runner_started": started}, open_since_ms=started,
                     first_seen_ms=started)
    store.commit(Commit(heads={cid(7): HeadWrite(head, ttl=0)}))
    assert store.open_units(T0 + 1) == [cid(7)]
    assert store.open_units(T0 - 1) == []
    resolved = store.trace(cid(7))
    resolved.open_since_ms = None
    store.commit(Commit(heads={cid(7): HeadWrite(resolved, ttl=0)}))
    assert store.open_units(T0 + 1) == []


def test_exemplars_come_back_newest_first_without_repeats(store):
    store.commit(Commit(counters=counters(("api", M, HOUR0, 0, 2)), exemplars={("api", HOUR0): [cid(1), cid(2)]}))
    store.commit(Commit(exemplars={("api", HOUR0 + 60): [cid(3), cid(1)]}))
    assert store.exemplars("api", HOUR0, HOUR0 + 120, limit=5) == [cid(1), cid(3), cid(2)]
    assert store.exemplars("api", HOUR0, HOUR0 + 120, limit=2) == [cid(1), cid(3)]
    assert store.exemplars("api", HOUR0 + 120, HOUR0 + 180) == []


def test_alert_transitions_are_recorded_once_and_states_never_go_back_in_time(store):
    transition = {"id": "api#burn_rate#page#1h/5m#firing#100", "slo": "api", "state": "firing", "at_epoch": 100}
    assert store.save_alert_evaluation({"api": {"page": "firing"}}, [transition], 100) == [transition]
    assert store.save_alert_evaluation({"api": {"page": "firing"}}, [transition], 100) == []
    store.save_alert_evaluation({"api": {"page": "stale"}}, [], 40)
    assert store.load_alert_states() == {"api": {"page": "firing"}}
    later = {"id": "api#burn_rate#page#1h/5m#resolved#400", "slo": "api", "state": "resolved", "at_epoch": 400}
    store.save_alert_evaluation({"api": {"page": "ok"}}, [later], 400)
    assert [t["state"] for t in store.alert_log()] == ["firing", "resolved"]
    assert [t["state"] for t in store.alert_log(since=200)] == ["resolved"]


def test_gauges_move_by_their_deltas_and_start_at_zero(store):
    assert store.gauge("open-units") == 0
    store.commit(Commit(gauges={"open-units": 3}))
    store.commit(Commit(gauges={"open-units": -1}))
    assert store.gauge("open-units") == 2


def test_an_hour_read_that_ends_mid_hour_still_sees_the_current_hour(store):
    store.commit(Commit(counters=counters(("cache", H, HOUR0, 3, 4), ("cache", H, HOUR0 + 3600, 1, 1))))
    assert store.buckets("cache", H, HOUR0, HOUR0 + 1800) == {HOUR0: {"good": 3, "total": 4}}
    assert set(store.buckets("cache", H, HOUR0, HOUR0 + 3601)) == {HOUR0, HOUR0 + 3600}


def _reads(store, start: int, end: int) -> dict[str, object]:
    """Everything the evaluator can read, as plain values."""
    store.refresh()
    digest = store.digest("lat", start, end)
    return {
        "minutes": store.buckets("api", M, start, end),
        "hours": store.buckets("api", H, start, end),
        "window": store.window_counts("api", start, end),
        "exemplars": store.exemplars("api", start, end, limit=10),
        "digest": None if digest is None else (digest.count, digest.quantile(0.5), digest.quantile(0.99)),
        "gauge": store.gauge("open-units"),
    }


def _chunk(expected: Position | None, to: Position, minute: int, bad_id: str, values: list[float]) -> Commit:
    from processors.sketch import TDigest
    from processors.store import DigestKey

    bucket = HOUR0 + minute * 60
    return Commit(
        checkpoint=CheckpointAdvance("stream", "shard-0", expected, to, newest_event=bucket + 30),
        counters=counters(("api", M, bucket, 1, 2), ("api", H, HOUR0 + (minute // 60) * 3600, 1, 2)),
        exemplars={("api", bucket): [bad_id]},
        digests={
            DigestKey("lat", M, bucket): TDigest.from_values(values),
            DigestKey("lat", H, HOUR0 + (minute // 60) * 3600): TDigest.from_values(values),
        },
        gauges={"open-units": 1},
    )


def test_reads_are_the_same_before_and_after_a_rollup_and_a_second_rollup_changes_nothing(store):
    position: Position | None = None
    for minute in range(0, 90, 3):
        to = Position(minute + 1)
        store.commit(_chunk(position, to, minute, cid(minute), [float(minute), float(minute) + 0.5]))
        position = to
    before = _reads(store, HOUR0, HOUR0 + 2 * 3600)
    first = store.rollup(HOUR0 + 2 * 3600)
    assert _reads(store, HOUR0, HOUR0 + 2 * 3600) == before
    store.rollup(HOUR0 + 2 * 3600)
    assert _reads(store, HOUR0, HOUR0 + 2 * 3600) == before
    assert before["window"].total == 60 and before["gauge"] == 30 and before["digest"][0] == 60
    assert first.skipped is None


def test_a_late_chunk_for_an_already_rolled_minute_is_counted_exactly_once(store):
    store.commit(_chunk(None, Position(1), 0, cid(1), [10.0]))
    store.commit(_chunk(Position(1), Position(2), 30, cid(2), [20.0]))
    store.rollup(HOUR0 + 3600)
    store.commit(_chunk(Position(2), Position(3), 0, cid(3), [30.0]))  # minute 0 again, after its rollup
    late = _reads(store, HOUR0, HOUR0 + 3600)
    store.rollup(HOUR0 + 3600)
    store.rollup(HOUR0 + 3600)
    assert _reads(store, HOUR0, HOUR0 + 3600) == late
    assert late["minutes"][HOUR0] == {"good": 2, "total": 4}
    assert late["digest"][0] == 3 and late["gauge"] == 3
    assert late["exemplars"] == [cid(2), cid(3), cid(1)]  # newest minute first; within a minute, newest first


def test_silences_are_insert_only_listed_and_removed_by_id(store):
    silence = {"id": "s1", "slo": "*", "starts": 100, "ends": 200, "reason": "maintenance", "created_by": "ann"}
    assert store.add_silence(silence)
    assert not store.add_silence({**silence, "reason": "changed"})  # an id is never overwritten
    assert store.add_silence({**silence, "id": "s2", "slo": "api-availability"})
    assert [s["id"] for s in store.silences()] == ["s1", "s2"]
    assert store.silences()[0] == silence
    assert store.remove_silence("s1") and not store.remove_silence("s1")
    assert [s["id"] for s in store.silences()] == ["s2"]


def test_corrections_are_versioned_audit_records_listed_per_slo_by_window_start(store):
    first = {"id": "api-v1", "slo": "api", "version": 1, "start": 300, "end": 400, "reason": "bad deploy",
             "created_by": "ann", "created_at": 1000}
    later = {**first, "id": "api-v2", "version": 2, "start": 100, "end": 200, "reason": "load test"}
    assert store.add_correction(first) and store.add_correction(later)
    assert not store.add_correction({**first, "reason": "rewritten"})  # history cannot be edited
    assert store.add_correction({**first, "id": "other-v1", "slo": "other"})
    assert [c["id"] for c in store.corrections(["api"])] == ["api-v2", "api-v1"]
    assert [c["id"] for c in store.corrections(["api", "other", "none"])] == ["api-v2", "api-v1", "other-v1"]
    assert store.corrections(["api"])[1] == first


# --- spec revisions: one item per (SLI, revision) with the first minute counted under it ---------------------


def another_writer(store):  # type: ignore[no-untyped-def]
    """A second adapter over the same data (another Lambda container): it has recorded nothing yet itself."""
    from processors.store import DynamoDBStore, SqliteStore

    if isinstance(store, SqliteStore):
        return SqliteStore(store.path)
    return DynamoDBStore(store.client, store.table)


def test_a_commit_records_each_revision_it_counts_with_its_first_minute(store):
    store.commit(Commit(counters=counters(
        ("api@aaaa1111", M, HOUR0 + 120, 1, 1), ("api@aaaa1111", M, HOUR0 + 60, 1, 1),
        ("api@aaaa1111", H, HOUR0, 2, 2), ("deploy@bbbb2222/repo%2Fa", M, HOUR0 + 300, 0, 1),
        ("deploy@bbbb2222/repo%2Fb", M, HOUR0 + 240, 1, 1), ("_trace-coverage", M, HOUR0, 1, 1),
    )))
    assert store.revisions("api") == {"aaaa1111": HOUR0 + 60}  # minute buckets decide; the hour is coarser
    assert store.revisions("deploy") == {"bbbb2222": HOUR0 + 240}  # one item for all of a grouped SLO's groups
    assert store.revisions("_trace-coverage") == {}  # a plain series is not revisioned


def test_a_revisions_first_minute_only_moves_earlier_whoever_writes_it(store):
    store.commit(Commit(counters=counters(("api@aaaa1111", M, HOUR0 + 600, 1, 1))))
    other = another_writer(store)
    other.commit(Commit(counters=counters(("api@aaaa1111", M, HOUR0 + 900, 1, 1))))  # later data: no change
    assert store.revisions("api") == {"aaaa1111": HOUR0 + 600}
    other.commit(Commit(counters=counters(("api@aaaa1111", M, HOUR0 + 60, 1, 1))))  # late data: earlier
    store.commit(Commit(counters=counters(("api@aaaa1111", M, HOUR0 + 300, 1, 1))))  # this writer's cache is stale
    assert store.revisions("api") == {"aaaa1111": HOUR0 + 60}


def test_an_slis_revisions_are_listed_oldest_first(store):
    store.commit(Commit(counters=counters(("api@bbbb2222", M, HOUR0 + 3600, 1, 1))))
    store.commit(Commit(counters=counters(("api@aaaa1111", M, HOUR0, 1, 1), ("other@cccc3333", M, HOUR0, 1, 1))))
    assert list(store.revisions("api").items()) == [("aaaa1111", HOUR0), ("bbbb2222", HOUR0 + 3600)]
    assert store.revisions("missing") == {}


# --- slo backfill: its plan, and checkpoints of its own ------------------------------------------------------


def test_a_backfill_plan_is_recorded_once_and_every_rerun_gets_the_first_runs(store):
    first = {"slo": "api", "revision": "bbbb2222", "since": HOUR0 - 86400, "until": HOUR0}
    assert store.backfill_plan("api", "bbbb2222") is None
    assert store.begin_backfill(first) == first
    assert store.begin_backfill({**first, "since": HOUR0 - 3600, "until": HOUR0 + 60}) == first
    assert another_writer(store).backfill_plan("api", "bbbb2222") == first
    other = {**first, "revision": "cccc3333"}  # another revision plans on its own
    assert store.begin_backfill(other) == other


def test_a_backfills_checkpoints_never_move_the_newest_event(store):
    from processors.store import keys

    store.commit(Commit(checkpoint=advance(None, Position(5))))
    live = store.newest_event_time()
    backfill = CheckpointAdvance(keys.backfill_stream("api@bbbb2222", "stream"), "shard-0", None, Position(9),
                                 newest_event=T0 + 3600)
    store.commit(Commit(checkpoint=backfill))
    assert store.newest_event_time() == pytest.approx(live) == pytest.approx(T0 + 5)
    assert {c.stream for c in store.checkpoints()} == {"stream", keys.backfill_stream("api@bbbb2222", "stream")}
    assert store.checkpoint("stream", "shard-0").position == Position(5)  # the live checkpoint is its own


@pytest.mark.parametrize("length", [1_000, 3_000])
def test_a_shard_whose_names_pass_the_key_limits_commits_rolls_up_and_lists_under_its_full_names(store, length):
    """DynamoDB keys hold at most 1,024 bytes (sort) and 2,048 (partition): a replayed file's stream is its path,
    and a hand-made event's ARN can be anything, so such a shard's items are keyed by a digest of its names."""
    stream, shard = "file:/" + "s" * length, "shard-" + "é" * (length // 4)
    first = CheckpointAdvance(stream, shard, None, Position(5), newest_event=HOUR0 + 30)
    store.commit(Commit(checkpoint=first, counters=counters(("api", M, HOUR0, 3, 4))))
    second = CheckpointAdvance(stream, shard, Position(5), Position(9), newest_event=HOUR0 + 90)
    store.commit(Commit(checkpoint=second, counters=counters(("api", M, HOUR0 + 60, 1, 2))))
    with pytest.raises(CommitConflictError):  # exactly once: a stale writer of the same shard is refused
        store.commit(Commit(checkpoint=first, counters=counters(("api", M, HOUR0, 3, 4))))
    store.commit(Commit(checkpoint=advance(None, Position(1)), counters=counters(("api", M, HOUR0, 1, 1))))
    assert store.checkpoint(stream, shard).position == Position(9)
    assert {(c.stream, c.shard) for c in store.checkpoints()} == {(stream, shard), ("stream", "shard-0")}
    assert store.newest_event_time() == pytest.approx(T0 + 5)
    store.rollup(HOUR0 + 3600)
    assert store.buckets("api", M, HOUR0, HOUR0 + 120) == {HOUR0: {"good": 4, "total": 5},
                                                          HOUR0 + 60: {"good": 1, "total": 2}}
