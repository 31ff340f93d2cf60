"""Stitching across shards: milestones of one correlation ID arrive on different shards, in any order,
duplicated and retried; the queue-latency SLI and every trace must still equal the truth."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.decoding import decode_record
from processors.ingest import Ingestor
from processors.store import DynamoDBStore, SqliteStore, dynamodb_client
from processors.store.dynamodb import TRANSACTION_LIMIT
from processors.timeutil import parse_iso8601
from tests import runner_platform as conventions
from tests.builders import T0, cid, cw_payload, gz, iso, kinesis_record, log_line, series, sketch_series
from tests.conftest import create_table

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/test"
JOURNEY = (
    ("webhook_received", "WebhookHandlerGHA"),
    ("job_queued", "WebhookHandlerGHA"),
    ("task_launched", "QueueProcessor"),
    ("runner_started", "Runner"),
    ("workflow_completed", "Runner"),
)

workflows = st.lists(
    st.tuples(st.integers(0, 3600), st.integers(100, 9000), st.integers(0, 2000)),  # start s, queue ms, jitter
    min_size=1,
    max_size=6,
)


def milestone_times(start: int, queue_ms: int, jitter: int) -> dict[str, float]:
    webhook = T0 + start + jitter / 1000
    started = webhook + queue_ms / 1000
    return {
        "webhook_received": webhook,
        "job_queued": webhook + 0.05,
        "task_launched": webhook + queue_ms / 2000,
        "runner_started": started,
        "workflow_completed": started + 120,
    }


@st.composite
def deliveries(draw: Any) -> dict[str, Any]:
    journeys = draw(workflows)
    shard_count = draw(st.integers(2, 4))
    shard_of_service = {service: draw(st.integers(0, shard_count - 1)) for _, service in JOURNEY}
    lines: dict[int, list[str]] = {shard: [] for shard in range(shard_count)}
    truth: dict[str, dict[str, float]] = {}
    for n, (start, queue_ms, jitter) in enumerate(journeys):
        times = milestone_times(start, queue_ms, jitter)
        truth[cid(n)] = times
        for action, service in JOURNEY:
            lines[shard_of_service[service]].append(log_line(action, times[action], cid(n), service))
    records: dict[int, list[dict[str, Any]]] = {}
    for shard, shard_lines in lines.items():
        order = draw(st.permutations(shard_lines))  # any order within the shard
        size = draw(st.integers(1, 3))
        chunks = [order[i : i + size] for i in range(0, len(order), size)]
        records[shard] = [
            kinesis_record(gz(cw_payload(chunk)), 100 + i, shard=f"shardId-{shard:012d}")
            for i, chunk in enumerate(chunks)
        ]
    # the interleaving of shard batches, each a slice that starts at or before the first unapplied record
    steps = draw(
        st.lists(st.tuples(st.integers(0, shard_count - 1), st.floats(0, 1), st.integers(1, 4), st.booleans()),
                 max_size=12)
    )
    return {"records": records, "truth": truth, "steps": steps}


def apply(ingestor: Ingestor, shard: int, records: list[dict[str, Any]]) -> Any:
    return ingestor.apply_batch(STREAM, f"shardId-{shard:012d}", [decode_record(r) for r in records])


def first_unapplied(store: SqliteStore, shard: int, records: list[dict[str, Any]]) -> int:
    checkpoint = store.checkpoint(STREAM, f"shardId-{shard:012d}")
    for index, record in enumerate(records):
        if checkpoint is None or decode_record(record).last_position > checkpoint.position:
            return index
    return len(records)


def logged_ms(moment: float) -> int:
    parsed = parse_iso8601(iso(moment))
    assert parsed is not None
    return round(parsed.timestamp() * 1000)


def queue_truth(truth: dict[str, dict[str, float]]) -> tuple[int, int]:
    good = sum(logged_ms(t["runner_started"]) - logged_ms(t["webhook_received"]) <= 5000 for t in truth.values())
    return good, len(truth)


class ChunkedAsDynamoDB:
    """SQLite cut into commits of DynamoDB's real transaction limit (SQLite alone commits a batch at once)."""

    max_items_per_commit = TRANSACTION_LIMIT

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_queue_latency_and_every_trace_equal_the_truth_whatever_the_shards_order_and_retries(tmp_path_factory, spec,
                                                                                          case) -> None:
    check_against_the_truth(ChunkedAsDynamoDB(SqliteStore(tmp_path_factory.mktemp("stitch") / "slo.db")), spec, case)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_on_dynamodb_queue_latency_and_every_trace_equal_the_truth_whatever_the_shards_order_and_retries(
    moto_endpoint, spec, case
) -> None:
    check_against_the_truth(DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint)), spec, case)


def check_against_the_truth(store: Any, spec: Any, case: dict[str, Any]) -> None:
    ingestor = Ingestor(store, spec)
    records = case["records"]
    for shard, where, length, duplicate in case["steps"]:
        if not records[shard]:  # no service logs to this shard
            continue
        start = min(int(where * first_unapplied(store, shard, records[shard])), len(records[shard]) - 1)
        batch = records[shard][start : start + length]
        apply(ingestor, shard, [*batch, batch[0]] if duplicate else batch)
    for shard, shard_records in records.items():  # Lambda catches every shard up, then everything replays
        apply(ingestor, shard, shard_records[first_unapplied(store, shard, shard_records):])
        apply(ingestor, shard, shard_records)
    counts = store.window_counts(series(conventions.QUEUE_LATENCY), int(T0) - 3600, int(T0) + 3 * 3600)
    assert (counts.good, counts.total) == queue_truth(case["truth"])
    for correlation_id, times in case["truth"].items():
        head = store.trace(correlation_id)
        assert head is not None
        logged = {action: logged_ms(moment) for action, moment in times.items()}  # as the log line wrote it
        assert head.milestones == logged
        expected = sorted((moment, action) for action, moment in logged.items())
        assert [(e.time_ms, e.action) for e in head.events] == expected
    digest = store.digest(sketch_series("queue-latency"), int(T0) - 3600, int(T0) + 3 * 3600)
    assert digest is not None and digest.count == len(case["truth"])


class RacingStore:
    """Lets another shard's batch commit between this batch's reads and its commit."""

    def __init__(self, inner: Any, before_first_commit: Any) -> None:
        self.inner = inner
        self.before_first_commit = before_first_commit
        self.max_items_per_commit = inner.max_items_per_commit

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def commit(self, commit: Any) -> None:
        if self.before_first_commit is not None:
            race, self.before_first_commit = self.before_first_commit, None
            race()
        self.inner.commit(commit)


def test_two_shards_completing_the_same_pair_concurrently_count_it_once(sqlite_store, spec) -> None:
    times = milestone_times(0, 3000, 0)
    webhook = kinesis_record(gz(cw_payload([log_line("webhook_received", times["webhook_received"], cid(1))])), 1,
                             shard="shardId-000000000000")
    runner = kinesis_record(gz(cw_payload([log_line("runner_started", times["runner_started"], cid(1))])), 1,
                            shard="shardId-000000000001")
    other = Ingestor(sqlite_store, spec)
    racing = Ingestor(RacingStore(sqlite_store, lambda: apply(other, 1, [runner])), spec)  # type: ignore[arg-type]
    first = apply(racing, 0, [webhook])  # read the head (empty), then lose the race to shard 1
    assert first.failed_from_sequence == 1  # its commit was refused: reported for retry
    assert apply(racing, 0, [webhook]).failed_from_sequence is None  # Lambda's retry re-reads the head
    counts = sqlite_store.window_counts(series(conventions.QUEUE_LATENCY), int(T0) - 60, int(T0) + 3600)
    assert (counts.good, counts.total) == (1, 1)


def test_trace_writes_per_batch_equal_the_distinct_correlation_ids(sqlite_store, spec) -> None:
    lines = []
    for n in range(20):
        for action, service in JOURNEY:  # five events per correlation ID
            lines.append(log_line(action, T0 + n + 0.1 * len(lines), cid(n), service))
    records = [kinesis_record(gz(cw_payload(lines[i : i + 7])), 10 + i) for i in range(0, len(lines), 7)]
    decoded = [decode_record(r) for r in records]
    report = Ingestor(sqlite_store, spec).apply_batch(STREAM, "shardId-000000000000", decoded)
    assert report.events == 100
    assert report.heads_written == 20
