"""A stored trace head that does not decode never blocks a shard, on both adapters.

The head is damaged behind the store's back (raw bytes through the adapter's own table, tests/stored_items.py),
as an older or newer writer, a partial manual edit or a bug could leave it. A batch holding events of that trace
and of others must complete: the damaged trace's events are `processing_error` skips, every other event counts
exactly as it would without the damaged trace (a reference store fed the batch without them, and counts taken
from the input itself), and the damaged item stays byte for byte as it was, however often the batch comes again.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter
from typing import Any

import pytest

from processors.decoding import decode_record
from processors.handlers import ingest, sweeper
from processors.ingest import Ingestor
from processors.spec import Spec
from processors.store import SqliteStore
from processors.sweeping import Sweeper
from tests import runner_platform as conventions
from tests.builders import T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line, series, sketch_series
from tests.stored_items import delete_head, lower_open_units, overwrite_doc, stored_item

STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/test"
SHARD = "shardId-000000000000"
DAMAGED = cid(2)
DAMAGE = b"\x00\xffa damaged head"
JOURNEYS = range(5)  # cid(0)..cid(4): opened by the first batch, resolved by the second; cid(2) is damaged
NEW_JOURNEY = 5  # opened and resolved in the second batch
SLIS = (*conventions.SLO_NAMES, conventions.TRACE_COVERAGE_SLI)
SKETCHES = ("queue-latency", "api-latency", "runner-startup")


def opening(n: int) -> list[str]:
    t = T0 + n * 60
    return [log_line("webhook_received", t, cid(n), "WebhookHandlerGHA", workflowId=str(n), repository="o/r"),
            log_line("job_queued", t + 0.1, cid(n), "WebhookHandlerGHA"),
            log_line("task_launched", t + 1, cid(n), "QueueProcessor"),
            log_line("runner_started", t + 3 + 4 * (n % 2), cid(n), "Runner")]


def resolution(n: int) -> list[str]:
    t = T0 + n * 60
    return [log_line("cache_hit" if n % 2 else "cache_miss", t + 9, cid(n), "Runner"),
            log_line("workflow_completed", t + 200, cid(n), "Runner", conclusion="failure" if n == 4 else "success")]


def api(n: int, status: int = 200) -> str:
    return log_line("api_request", T0 + 20 + n, cid(100 + n), "Api", status=status, duration=40.0)


def records(groups: list[list[str]], first_sequence: int) -> list[dict[str, Any]]:
    return [kinesis_record(gz(cw_payload(lines)), first_sequence + index, shard=SHARD)
            for index, lines in enumerate(groups)]


FIRST = records([[*opening(0), *opening(1), api(0, 503), api(1)], [*opening(2), api(2), *opening(3)],
                 [*opening(4), api(3)]], 10)
# The damaged trace's three events sit in two records, between events of other traces (never last in a record:
# the reference batch below leaves them out and must end its records at the same positions).
DAMAGED_EVENTS = [*resolution(2), log_line("api_request", T0 + 130, DAMAGED, "Api", status=200, duration=40.0)]


def second_batch(with_damaged_trace: bool = True) -> list[dict[str, Any]]:
    first, rest = (DAMAGED_EVENTS[:1], DAMAGED_EVENTS[1:]) if with_damaged_trace else ([], [])
    return records([[*resolution(0), *first, api(4)],
                    [*resolution(1), *rest, *opening(NEW_JOURNEY), api(5, 503)],
                    [*resolution(NEW_JOURNEY), *resolution(3), *resolution(4), api(6)]], 20)


# Counted from the input, not by the pipeline: api requests 503 are bad; of the journeys resolved in the second
# batch, cid(4) failed and the damaged cid(2) is never resolved.
API_TRUTH = (5, 7)  # good, total: api(0) and api(5) are 503; the damaged trace's request is skipped
DEPLOY_TRUTH = (4, 5)  # cid(0), (1), (3), (5) succeeded, cid(4) failed


def deliver(ingestor: Ingestor, batch: list[dict[str, Any]]) -> Any:
    return ingestor.apply_batch(STREAM, SHARD, [decode_record(record) for record in batch])


def counts(store: Any, slo: str) -> tuple[int, int]:
    window = store.window_counts(series(slo), int(T0) - 3600, int(T0) + 8 * 3600)
    return window.good, window.total


def snapshot(store: Any, spec: Spec) -> dict[str, Any]:
    """Everything the batches count, and every head but the damaged one."""
    start, end = int(T0) - 3600, int(T0) + 8 * 3600
    state: dict[str, Any] = {}
    for sli in SLIS:
        for resolution_name in (conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR):
            rows = store.buckets(spec.series_of(sli), resolution_name, start, end)
            state[f"{sli}/{resolution_name}"] = {bucket: dict(fields) for bucket, fields in rows.items()}
    for sketch in SKETCHES:
        digest = store.digest(sketch_series(sketch), start, end)
        state[f"digest/{sketch}"] = (digest.count, digest.quantile(0.5), digest.quantile(0.99)) if digest else None
    others = [cid(n) for n in (*JOURNEYS, NEW_JOURNEY) if cid(n) != DAMAGED] + [cid(100 + n) for n in range(7)]
    state["heads"] = {c: (h.milestones, h.marks, sorted(h.claims), [e.key for e in h.events], h.open_since_ms)
                      for c, h in store.heads(others).items()}
    state["open-units"] = store.gauge(conventions.OPEN_UNITS_GAUGE)
    state["exemplars"] = {sli: store.exemplars(series(sli), start, end, limit=50) for sli in conventions.SLO_NAMES}
    return state


@pytest.fixture
def damaged_store(store: Any, spec: Spec) -> Any:
    """The store after the first batch, with the damaged trace's head overwritten by bytes that do not decode."""
    deliver(Ingestor(store, spec), FIRST)
    overwrite_doc(store, DAMAGED, DAMAGE)
    return store


@pytest.fixture
def reference(tmp_path: Any, spec: Spec) -> Any:
    """A SQLite store fed the same batches without the damaged trace's events in the second."""
    store = SqliteStore(tmp_path / "reference.db")
    deliver(Ingestor(store, spec), FIRST)
    deliver(Ingestor(store, spec), second_batch(with_damaged_trace=False))
    yield store
    store.close()


def test_a_batch_through_a_damaged_head_skips_only_that_traces_events_and_leaves_the_item_as_it_was(
    damaged_store, reference, spec, caplog
) -> None:
    before = stored_item(damaged_store, DAMAGED)
    with caplog.at_level(logging.ERROR, logger="processors.ingest.service"):
        report = deliver(Ingestor(damaged_store, spec), second_batch())
    assert report.error is None and report.failed_from_sequence is None
    assert report.skips == Counter({conventions.SKIP_PROCESSING_ERROR: len(DAMAGED_EVENTS)})
    assert counts(damaged_store, conventions.API_AVAILABILITY) == API_TRUTH
    assert counts(damaged_store, conventions.DEPLOY_SUCCESS) == DEPLOY_TRUTH
    assert snapshot(damaged_store, spec) == snapshot(reference, spec)
    assert stored_item(damaged_store, DAMAGED) == before
    logged = [r for r in caplog.records if getattr(r, "correlation_id", None) == DAMAGED]
    assert len(logged) == 1 and logged[0].events == len(DAMAGED_EVENTS)  # type: ignore[attr-defined]
    assert DAMAGED in logged[0].getMessage()  # the CLI prints the message alone: the ID must be in it
    assert "damaged head" not in caplog.text  # the ID and a count, never the stored bytes


def test_a_second_delivery_of_that_batch_changes_nothing(damaged_store, spec) -> None:
    deliver(Ingestor(damaged_store, spec), second_batch())
    after_first, item = snapshot(damaged_store, spec), stored_item(damaged_store, DAMAGED)
    again = deliver(Ingestor(damaged_store, spec), second_batch())  # a Lambda retry, or a replayed file
    assert again.records_already_applied == 3 and not again.skips and again.events == 0
    assert snapshot(damaged_store, spec) == after_first
    assert stored_item(damaged_store, DAMAGED) == item


def test_later_events_of_the_trace_are_skipped_until_its_item_is_deleted_then_it_starts_afresh(
    damaged_store, spec
) -> None:
    deliver(Ingestor(damaged_store, spec), second_batch())
    item = stored_item(damaged_store, DAMAGED)
    late = log_line("api_request", T0 + 400, DAMAGED, "Api", status=200, duration=40.0)
    report = deliver(Ingestor(damaged_store, spec), records([[api(7), late, api(8)]], 30))
    assert report.skips == Counter({conventions.SKIP_PROCESSING_ERROR: 1}) and report.events == 2
    assert stored_item(damaged_store, DAMAGED) == item
    delete_head(damaged_store, DAMAGED)  # the repair docs/store.md gives
    report = deliver(Ingestor(damaged_store, spec), records([[api(9), late, api(10)]], 40))
    assert not report.skips and report.events == 3
    head = damaged_store.trace(DAMAGED)
    assert head is not None and [e.action for e in head.events] == ["api_request"]


def test_the_documented_repair_of_a_damaged_open_unit_leaves_the_gauge_counting_only_the_open_units_left(
    damaged_store, spec
) -> None:
    deliver(Ingestor(damaged_store, spec), second_batch())  # resolves every journey but the damaged one
    assert damaged_store.gauge(conventions.OPEN_UNITS_GAUGE) == 1  # the damaged unit, which nothing can resolve
    delete_head(damaged_store, DAMAGED)
    lower_open_units(damaged_store)
    others = [cid(n) for n in (*JOURNEYS, NEW_JOURNEY) if cid(n) != DAMAGED] + [cid(100 + n) for n in range(7)]
    still_open = sum(head.open_since_ms is not None for head in damaged_store.heads(others).values())
    assert damaged_store.gauge(conventions.OPEN_UNITS_GAUGE) == still_open == 0


def test_the_ingest_lambda_completes_the_batch_and_reports_the_skips(
    damaged_store, spec, monkeypatch, capsys, lambda_context
) -> None:
    monkeypatch.setattr(ingest, "clock", lambda: T0 + 12 * 3600)
    monkeypatch.setattr(ingest, "ingestor", lambda: Ingestor(damaged_store, spec))
    capsys.readouterr()
    response = ingest.lambda_handler(kinesis_event(second_batch()), lambda_context)
    assert response == {"batchItemFailures": []}
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    skipped = {d["Kind"]: d["EventsSkippedByKind"] for d in documents if "EventsSkippedByKind" in d}
    assert skipped == {conventions.SKIP_PROCESSING_ERROR: [float(len(DAMAGED_EVENTS))]}
    assert counts(damaged_store, conventions.API_AVAILABILITY) == API_TRUTH


def test_the_orphan_sweep_skips_an_open_unit_whose_head_does_not_decode_and_sweeps_the_rest(
    damaged_store, spec, monkeypatch, lambda_context, caplog
) -> None:
    item = stored_item(damaged_store, DAMAGED)
    swept = Sweeper(damaged_store, spec)
    monkeypatch.setattr(sweeper, "_sweeper", lambda: swept)
    past_max_runtime = {"time": "2026-10-01T06:10:00Z", "detail-type": "Scheduled Event", "source": "aws.events",
                        "version": "0", "id": "e", "account": "123456789012", "region": "us-east-1",
                        "resources": [], "detail": {}}
    with caplog.at_level(logging.ERROR, logger="processors.sweeping.service"):
        result = sweeper.lambda_handler(past_max_runtime, lambda_context)
    assert result["swept"] == len(JOURNEYS) - 1 and result["damaged"] == 1
    assert swept.damaged == {DAMAGED}
    assert counts(damaged_store, conventions.ORPHAN_RATE) == (0, len(JOURNEYS) - 1)
    assert stored_item(damaged_store, DAMAGED) == item
    assert [getattr(r, "correlation_id", None) for r in caplog.records] == [DAMAGED]
    assert DAMAGED in caplog.records[0].getMessage()  # the CLI prints the message alone: the ID must be in it
    assert "damaged head" not in caplog.text


def test_a_replay_through_a_damaged_head_completes_and_its_sweeps_pass_the_unit_by(damaged_store, spec) -> None:
    from processors.replay import Replayer, ShardBatch

    item = stored_item(damaged_store, DAMAGED)
    later = T0 + spec.max_runtime + 15 * 60  # the replay sweeps each minute on the way: the damaged unit is due
    batches = [ShardBatch(STREAM, SHARD, [decode_record(record)], order_time=T0 + 300 + index)
               for index, record in enumerate(second_batch())]
    batches.append(ShardBatch(STREAM, SHARD, [decode_record(kinesis_record(
        gz(cw_payload([log_line("api_request", later, cid(120), "Api", status=200)], t_ms=int(later * 1000))),
        40, shard=SHARD))], order_time=later))
    replayer = Replayer(damaged_store, spec)
    report = replayer.run(batches)
    assert report.failed_batches == 0 and report.batches == len(batches)
    assert report.skips == Counter({conventions.SKIP_PROCESSING_ERROR: len(DAMAGED_EVENTS)})
    assert report.orphans_swept == 0  # every other unit resolved; the damaged one is passed by, not swept
    assert replayer.sweeper.damaged == {DAMAGED}
    assert counts(damaged_store, conventions.API_AVAILABILITY) == (API_TRUTH[0] + 1, API_TRUTH[1] + 1)
    assert stored_item(damaged_store, DAMAGED) == item


# Documents that are JSON objects but not what the stitcher writes: each decoded once, and then failed the batch
# (OverflowError, RecursionError: the shard blocked), the sweep, or `slo trace` and `slo report` with a traceback.
WRONG_SHAPES = {
    "a milestone too large for an int": b'{"milestones": {"webhook_received": 1e999}}',
    "JSON nested too deep": zlib.compress(b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "a workflow ID not a string": zlib.compress(b'{"workflowId": [1], "openSince": 0}'),
    "a first-seen time not a number": zlib.compress(b'{"firstSeen": "x", "openSince": 0}'),
    "an event's metadata not an object": zlib.compress(b'{"events": [{"t": 1, "s": "s", "a": "a", "m": [1]}]}'),
}


@pytest.mark.parametrize("document", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
def test_a_head_of_the_wrong_shape_is_damaged_for_ingest_the_sweep_and_trace(store, spec, document, capsys) -> None:
    from processors.cli import main

    deliver(Ingestor(store, spec), FIRST)
    overwrite_doc(store, DAMAGED, document)
    item = stored_item(store, DAMAGED)
    report = deliver(Ingestor(store, spec), second_batch())
    assert report.error is None and report.skips == Counter({conventions.SKIP_PROCESSING_ERROR: len(DAMAGED_EVENTS)})
    sweep = Sweeper(store, spec)
    sweep.sweep(T0 + 24 * 3600)
    assert sweep.damaged == {DAMAGED}
    assert stored_item(store, DAMAGED) == item
    flags = (["--db", str(store.path)] if isinstance(store, SqliteStore) else
             ["--store", "dynamodb", "--table", store.table, "--endpoint-url", store.client.meta.endpoint_url])
    capsys.readouterr()
    assert main(["trace", *flags, DAMAGED]) == 2
    assert capsys.readouterr().err.startswith(f"slo: error: the stored trace {DAMAGED} does not decode")
