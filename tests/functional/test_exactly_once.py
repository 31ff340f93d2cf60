"""Exactly once, proven by fault injection: any crash, retry, bisection or duplicate ends in the clean state.

Kinesis and Lambda deliver at least once. Here hypothesis draws delivery schedules the way Lambda can
produce them (a retry starts at or before the first unapplied record; a bisected retry is a shorter slice;
a record may repeat) and crashes the processor after any commit. The final store must equal one clean
pass, on both adapters.
"""

from __future__ import annotations

import contextlib
import gc
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.decoding import decode_record
from processors.ingest import Ingestor
from processors.spec import load_spec
from processors.store import DynamoDBStore, SqliteStore, TransientStoreError, dynamodb_client
from tests import runner_platform as conventions
from tests.builders import T0, cid, cw_payload, gz, kinesis_record, kpl_record, log_line
from tests.conftest import create_table

SHARD = "shardId-000000000000"
CHUNK_LIMIT = 30  # small, so one batch commits in several chunks and crashes can fall between them


class Crash(Exception):
    """The Lambda runtime died (timeout, OOM) right after a write."""


class FaultyStore:
    """Proxies a store; crashes after chosen commits or throttles them."""

    def __init__(self, inner: Any, crash_after: set[int], throttle: set[int]) -> None:
        self.inner = inner
        self.crash_after = crash_after
        self.throttle = throttle
        self.attempts = 0
        self.max_items_per_commit = CHUNK_LIMIT

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def commit(self, commit: Any) -> None:
        self.attempts += 1
        if self.attempts in self.throttle:
            raise TransientStoreError("ThrottlingException (injected)")
        self.inner.commit(commit)
        if self.attempts in self.crash_after:
            raise Crash


# What the generated input holds, counted as it is generated (not by the pipeline): SLO -> (good, total),
# and sketch -> values. The final state of every schedule is anchored to this, not only to a clean pass.
TRUTH: dict[str, list[int]] = {}
TRUTH_VALUES: dict[str, int] = {}


def _truth(slo: str, good: bool) -> None:
    counts = TRUTH.setdefault(slo, [0, 0])
    counts[0] += int(good)
    counts[1] += 1


def build_records() -> list[dict[str, Any]]:
    """One shard's records: workflows split across records, API traffic, cache lookups, KPL, junk."""
    TRUTH.clear()
    TRUTH_VALUES.clear()
    rng = random.Random(7)
    lines: list[list[str]] = [[] for _ in range(12)]
    for n in range(8):
        t = T0 + n * 50
        journey = [
            ("webhook_received", 0, "WebhookHandlerGHA", {}),
            ("job_queued", 0.1, "WebhookHandlerGHA", {}),
            ("task_launched", 1.0, "QueueProcessor", {}),
            ("runner_started", 3.0 + 4 * (n % 3 == 0), "Runner", {}),
            ("cache_hit" if n % 2 else "cache_miss", 9, "Runner", {}),
            ("workflow_completed", 200 + n, "Runner", {"conclusion": "failure" if n == 5 else "success",
                                                      "duration": 190000.0}),
        ]
        if n == 6:
            journey[-1] = ("runner_orphaned", 3000, "Reconciler", {})
        queue_seconds = journey[3][1] - journey[0][1]
        _truth(conventions.QUEUE_LATENCY, queue_seconds <= 5.0)  # the spec's 5 s threshold
        TRUTH_VALUES["queue-latency"] = TRUTH_VALUES.get("queue-latency", 0) + 1
        _truth(conventions.ORPHAN_RATE, n != 6)  # the first resolution: completed (good) or orphaned (bad)
        if n != 6:
            _truth(conventions.DEPLOY_SUCCESS, n != 5)  # one failure; no cancelled run to leave out
        for action, offset, service, metadata in journey:
            target = rng.randrange(len(lines))
            lines[target].append(log_line(action, t + offset, cid(n), service, workflowId=str(n), repository="o/r",
                                          **metadata))
    for n in range(40):
        target = rng.randrange(len(lines))
        status = 503 if n % 9 == 0 else 200
        _truth(conventions.API_AVAILABILITY, status < 500)
        TRUTH_VALUES["api-latency"] = TRUTH_VALUES.get("api-latency", 0) + 1
        lines[target].append(log_line("api_request", T0 + n * 17, cid(100 + n), "Api", status=status, duration=40.0))
    records = []
    sequence = 1000
    for index, messages in enumerate(lines):
        sequence += 10
        payload = gz(cw_payload(["START RequestId: x", *messages], t_ms=int(T0 * 1000)))
        if index == 4:
            half = len(messages) // 2
            parts = [gz(cw_payload(messages[:half])), gz(cw_payload(messages[half:]))]
            records.append(kpl_record(parts, sequence, shard=SHARD))
        else:
            records.append(kinesis_record(payload, sequence, shard=SHARD))
    records.insert(7, kinesis_record(b"not gzip at all", sequence + 1, shard=SHARD))
    records.sort(key=lambda r: int(r["kinesis"]["sequenceNumber"]))
    return records


RECORDS = build_records()
SPEC = load_spec()
SLIS = (*conventions.SLO_NAMES, conventions.TRACE_COVERAGE_SLI, *(slo.name for slo in load_spec().counters))
SKETCHES = ("queue-latency", "api-latency", "runner-startup")


def snapshot(store: Any) -> dict[str, Any]:
    start, end = int(T0) - 3600, int(T0) + 4 * 3600
    state: dict[str, Any] = {}
    for sli in SLIS:
        for resolution in (conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR):
            rows = store.buckets(SPEC.series_of(sli), resolution, start, end)
            state[f"{sli}/{resolution}"] = {k: dict(v) for k, v in rows.items()}
    heads = store.heads([cid(n) for n in range(8)] + [cid(100 + n) for n in range(40)])
    state["heads"] = {
        c: (h.milestones, sorted(h.claims), [e.key for e in h.events], h.open_since_ms) for c, h in heads.items()
    }
    checkpoint = store.checkpoint("arn:aws:kinesis:us-east-1:123456789012:stream/test", SHARD)
    state["checkpoint"] = checkpoint.position if checkpoint else None
    state["open-units"] = store.gauge("open-units")
    for sketch in SKETCHES:  # digests: same count and same quantiles as the clean pass
        digest = store.digest(SPEC.sketch_series(sketch), start, end)
        state[f"digest/{sketch}"] = (digest.count, digest.quantile(0.5), digest.quantile(0.99)) if digest else None
    return state


def deliver(ingestor: Ingestor, records: list[dict[str, Any]]) -> Any:
    return ingestor.apply_batch(
        "arn:aws:kinesis:us-east-1:123456789012:stream/test", SHARD, [decode_record(r) for r in records]
    )


def first_unapplied(store: Any) -> int:
    checkpoint = store.checkpoint("arn:aws:kinesis:us-east-1:123456789012:stream/test", SHARD)
    if checkpoint is None:
        return 0
    for index, record in enumerate(RECORDS):
        if decode_record(record).last_position > checkpoint.position:
            return index
    return len(RECORDS)


def drain(ingestor: Ingestor, store: Any) -> None:
    """Lambda keeps retrying from the first unapplied record until the shard is caught up."""
    for _ in range(50):
        start = first_unapplied(store)
        if start == len(RECORDS):
            return
        try:
            deliver(ingestor, RECORDS[start:])
        except Crash:
            continue
    raise AssertionError("the shard never caught up")


def clean_state(make_store: Any, spec: Any) -> dict[str, Any]:
    store = make_store()
    proxy = FaultyStore(store, set(), set())
    deliver(Ingestor(proxy, spec), RECORDS)  # type: ignore[arg-type]
    return snapshot(store)


deliveries = st.lists(
    st.tuples(
        st.floats(0, 1),  # where the retry starts, at or before the first unapplied record
        st.integers(1, len(RECORDS)),  # how many records it carries (a bisected retry carries fewer)
        st.booleans(),  # a duplicate record inside the batch
    ),
    min_size=1,
    max_size=8,
)
faults = st.tuples(st.sets(st.integers(1, 25), max_size=4), st.sets(st.integers(1, 25), max_size=3))


Schedule = list[tuple[float, int, bool]]


def run_schedule(store: Any, spec: Any, schedule: Schedule, fault: tuple[set[int], set[int]]) -> None:
    proxy = FaultyStore(store, *fault)
    ingestor = Ingestor(proxy, spec)  # type: ignore[arg-type]
    for where, length, duplicate in schedule:
        start = min(int(where * first_unapplied(store)), len(RECORDS) - 1)
        batch = RECORDS[start : start + length]
        if duplicate:
            batch = [*batch, batch[len(batch) // 2]]
        with contextlib.suppress(Crash):
            deliver(ingestor, batch)
    drain(ingestor, store)
    deliver(ingestor, RECORDS)  # the whole input replayed once more


@pytest.fixture(scope="module")
def sqlite_clean(tmp_path_factory: pytest.TempPathFactory, spec: Any) -> dict[str, Any]:
    return clean_state(lambda: SqliteStore(tmp_path_factory.mktemp("clean") / "slo.db"), spec)


def counted(state: dict[str, Any]) -> tuple[dict[str, list[int]], dict[str, int]]:
    """(SLO -> [good, total] summed over hour buckets, sketch -> values) of a snapshot, comparable to TRUTH."""
    slos = {
        slo: [sum(row.get("good", 0) for row in state[f"{slo}/h"].values()),
              sum(row["total"] for row in state[f"{slo}/h"].values())]
        for slo in TRUTH
    }
    return slos, {sketch: state[f"digest/{sketch}"][0] for sketch in TRUTH_VALUES}


def test_the_generated_input_holds_what_the_test_says() -> None:
    assert TRUTH[conventions.API_AVAILABILITY] == [35, 40]  # n % 9 == 0 for n < 40 is 5 errors
    assert TRUTH[conventions.QUEUE_LATENCY] == [5, 8]  # n % 3 == 0 starts its runner after 7 s
    assert TRUTH[conventions.ORPHAN_RATE] == [7, 8] and TRUTH[conventions.DEPLOY_SUCCESS] == [6, 7]


def test_the_clean_pass_counts_what_the_generator_put_in(sqlite_clean: dict[str, Any]) -> None:
    assert counted(sqlite_clean) == (TRUTH, TRUTH_VALUES)
    assert sqlite_clean["open-units"] == 0  # every started runner resolved (one orphaned)
    assert sqlite_clean["digest/queue-latency"][0] == 8
    assert sqlite_clean["digest/api-latency"][0] == 40


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=deliveries, fault=faults)
def test_any_schedule_of_retries_crashes_and_duplicates_ends_in_the_clean_state_on_sqlite(
    tmp_path_factory: pytest.TempPathFactory, spec: Any, sqlite_clean: dict[str, Any], schedule: Any, fault: Any
) -> None:
    store = SqliteStore(tmp_path_factory.mktemp("faulty") / "slo.db")
    run_schedule(store, spec, schedule, fault)
    final = snapshot(store)
    assert counted(final) == (TRUTH, TRUTH_VALUES)  # the independent count of the input
    assert final == sqlite_clean  # and every bucket, head and digest as one clean pass left them


def any_schedule_ends_in_the_clean_state_on_dynamodb(
    moto_endpoint: str, spec: Any, sqlite_clean: dict[str, Any], schedule: Any, fault: Any
) -> None:
    store = DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))
    run_schedule(store, spec, schedule, fault)
    final = snapshot(store)
    assert counted(final) == (TRUTH, TRUTH_VALUES)  # the independent count of the input
    assert final == sqlite_clean  # and every bucket, head and digest as one clean pass left them


# Each DynamoDB example is hundreds of HTTP calls to moto: a few in `make test`, many in the slow tier.
def _on_dynamodb(examples: int) -> Any:
    run = given(schedule=deliveries, fault=faults)(any_schedule_ends_in_the_clean_state_on_dynamodb)
    fixtures_ok = [HealthCheck.function_scoped_fixture]
    return settings(max_examples=examples, deadline=None, suppress_health_check=fixtures_ok)(run)


test_any_schedule_of_retries_crashes_and_duplicates_ends_in_the_clean_state_on_dynamodb = _on_dynamodb(3)
test_many_more_schedules_of_retries_crashes_and_duplicates_end_in_the_clean_state_on_dynamodb = pytest.mark.slow(
    _on_dynamodb(25)
)


def run_grouped_schedule(path: Any, spec: Any, schedule: Schedule, fault: tuple[set[int], set[int]],
                         size: int) -> SqliteStore:
    """run_schedule with SQLite's grouped commits (as `slo replay` applies them): a crash kills the process, so
    the open group is lost whole (its connection closes uncommitted) and a new process carries on."""
    crash_after, throttle = fault
    attempts = 0
    store: SqliteStore | None = None

    def deliveries_of_one_process(batches: list[list[dict[str, Any]]]) -> int:
        """Deliver until a crash; return how many batches were delivered before the one that crashed."""
        nonlocal attempts, store
        store = SqliteStore(path)
        proxy = FaultyStore(store, {n - attempts for n in crash_after}, {n - attempts for n in throttle})
        ingestor = Ingestor(proxy, spec)  # type: ignore[arg-type]
        done = 0
        try:
            with store.grouped_commits(size):
                for batch in batches:
                    deliver(ingestor, batch)
                    done += 1
        except Crash:
            store.db.close()  # the process died: nothing of the open group was committed
            store = None
        finally:
            attempts += proxy.attempts
        return done

    for where, length, duplicate in schedule:
        probe = SqliteStore(path)
        start = min(int(where * first_unapplied(probe)), len(RECORDS) - 1)
        probe.close()
        batch = RECORDS[start : start + length]
        deliveries_of_one_process([[*batch, batch[len(batch) // 2]] if duplicate else batch])
    for _ in range(50):
        probe = SqliteStore(path)
        start = first_unapplied(probe)
        probe.close()
        if start == len(RECORDS):
            break
        deliveries_of_one_process([RECORDS[start:]])
    else:
        raise AssertionError("the shard never caught up")
    while not deliveries_of_one_process([RECORDS]):  # the whole input replayed once more
        pass
    return SqliteStore(path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=deliveries, fault=faults, size=st.integers(1, 5))
def test_grouped_commits_on_sqlite_end_in_the_clean_state_when_a_crash_loses_the_open_group(
    tmp_path_factory: pytest.TempPathFactory, spec: Any, sqlite_clean: dict[str, Any], schedule: Any, fault: Any,
    size: int,
) -> None:
    store = run_grouped_schedule(tmp_path_factory.mktemp("grouped") / "slo.db", spec, schedule, fault, size)
    final = snapshot(store)
    assert counted(final) == (TRUTH, TRUTH_VALUES)
    assert final == sqlite_clean


@pytest.mark.parametrize("collecting", [True, False])
def test_a_batch_leaves_the_garbage_collector_as_it_found_it_even_when_a_crash_stops_it(
    tmp_path_factory: pytest.TempPathFactory, collecting: bool
) -> None:
    store = FaultyStore(SqliteStore(tmp_path_factory.mktemp("gc") / "slo.db"), crash_after={1}, throttle=set())
    decoded = [decode_record(record) for record in RECORDS]
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        with pytest.raises(Crash):
            Ingestor(store, load_spec()).apply_batch("s", SHARD, decoded)
        assert gc.isenabled() is collecting
        Ingestor(store, load_spec()).apply_batch("s", SHARD, decoded)  # the rest, after the crash
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()
