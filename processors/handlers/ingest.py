"""Kinesis → ingest Lambda: decode each record, apply the shard batch exactly once, report failures.

Data errors are counted skips and never fail a record. Transient store errors (throttling, a conflict)
report the first unapplied record and everything after it as batch item failures (ReportBatchItemFailures),
so Lambda retries from there; the per-shard checkpoint makes that retry apply each record once. A damaged item
the batch cannot be applied without (its shard's checkpoint) reports the whole batch the same way, in one ERROR
line. A damaged item that only part of the counting reads (a grouped SLO's group registry: its per-group
counting) costs only that part: the batch is applied and checkpointed without it (apply_batch's `isolate`), with
one ERROR line a batch naming it. DamagedItems counts both (docs/store.md, Damaged checkpoints, Damaged group
registries). The response is built from the ingest report alone: no batch-processor internals, so a Powertools
upgrade cannot break it.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any, TypedDict

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from processors import conventions
from processors.decoding import (
    DecodedRecord,
    DecodeLimits,
    decode_record,
    parser_for,
    sequence_of,
    shard_of,
    stream_of,
)
from processors.handlers.tracing import LazyTracer
from processors.ingest import BatchReport, Ingestor
from processors.store.exceptions import CorruptItemError, StoreError

logger = Logger()
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", conventions.METRICS_NAMESPACE_DEFAULT)
metrics = Metrics(namespace=NAMESPACE)
tracer = LazyTracer()  # no aws_xray_sdk at import (processors/handlers/tracing.py)
clock = time.time  # "now" for judging event times; tests replace it to replay fixed-date samples


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


@cache
def ingestor() -> Ingestor:
    """Created once per container: the store client and the compiled spec."""
    from processors.spec import load_spec
    from processors.store import open_dynamodb_store

    table = os.environ[conventions.ENV_TABLE_NAME]
    return Ingestor(open_dynamodb_store(table, endpoint_url=os.environ.get(conventions.ENV_ENDPOINT_URL)), load_spec())


def decode_batch(records: list[KinesisStreamRecord]) -> list[DecodedRecord]:
    """Every record decoded. decode_record counts bad input as skips; a record on which it raises anyway (a bug,
    or input no one foresaw) is a `processing_error` skip at its position, logged, so it never blocks the
    shard (without a sequence number it is placed at -1, which the ingestor counts as no_sequence).
    """
    decoded: list[DecodedRecord] = []
    limits = DecodeLimits.from_env(now=clock())
    parser = parser_for(ingestor().spec.log_format)  # the spec's log format
    for record in records:
        try:
            one = decode_record(record.raw_event, limits, parser)
        except Exception:
            sequence = sequence_of(record)
            logger.exception("record failed to decode; skipped as processing_error", extra={"sequence": sequence})
            one = DecodedRecord(sequence=sequence if sequence is not None else -1, arrival=None)
            one.skips[conventions.SKIP_PROCESSING_ERROR] += 1
        decoded.append(one)
        if one.events:
            logger.set_correlation_id(one.events[0].correlation_id)
        if one.skips:
            logger.debug("skipped log events", extra={"sequence": one.sequence, "skips": dict(one.skips)})
    return decoded


def landed(report: BatchReport, stream: str, shard: str) -> bool:
    """Ingestor.landed, for metrics only: a store error reading the checkpoint counts as not landed (the retry is
    reported either way). The commit's events then count in this invocation, since the retry skips them."""
    try:
        return ingestor().landed(report, stream, shard)
    except StoreError:
        return False


def not_applied(exc: CorruptItemError, stream: str, shard: str, decoded: list[DecodedRecord]) -> BatchReport:
    """A damaged item the batch cannot be applied without: its shard's checkpoint (docs/store.md, Damaged items).
    Nothing can tell what the shard applied, and applying would count again what the checkpoint covers, so nothing
    of the batch is applied and all of it is reported for retry, as a transient failure is. One ERROR line names
    it and DamagedItems counts it (its alarm tickets): raising added a traceback, and a retry reads the same item."""
    logger.error(
        "damaged item in the store: the batch is not applied and is reported for retry",
        extra={"stream": stream, "shard": shard, "damaged": str(exc), "records": len(decoded)},
    )
    metrics.add_metric(name=conventions.METRIC_DAMAGED_ITEMS, unit=MetricUnit.Count, value=1)
    sequences = [record.sequence for record in decoded if record.sequence >= 0]
    return BatchReport(failed_from_sequence=min(sequences) if sequences else None, error=str(exc))


def left_out(report: BatchReport, stream: str, shard: str) -> None:
    """The damaged items the batch was applied without (a grouped SLO's group registry: its events counted in the
    SLO's whole series and every other SLI, not in their groups), in one ERROR line a batch, not one an event, and
    counted in DamagedItems (its alarm tickets). Retrying would not help: the next batch reads the same item."""
    logger.error(
        "damaged item in the store: the batch is applied without what it touches (a grouped SLO's per-group counting)",
        extra={
            "stream": stream,
            "shard": shard,
            "damaged": report.damaged,
            "count": len(report.damaged),
            "events": report.notes[conventions.NOTE_GROUP_REGISTRY_DAMAGED],  # their group left out
        },
    )
    metrics.add_metric(name=conventions.METRIC_DAMAGED_ITEMS, unit=MetricUnit.Count, value=len(report.damaged))


def batch_response(records: list[KinesisStreamRecord], failed_from: int | None) -> BatchResponse:
    """Every record at or after `failed_from` (Lambda resumes the shard at the lowest one)."""
    if failed_from is None:
        return {"batchItemFailures": []}
    return {
        "batchItemFailures": [
            {"itemIdentifier": record.kinesis.sequence_number}
            for record in records
            if (sequence_of(record) or 0) >= failed_from
        ]
    }


def emit_batch_metrics(report: BatchReport, decoded: list[DecodedRecord], now: float) -> None:
    metrics.add_metric(name=conventions.METRIC_RECORDS_PROCESSED, unit=MetricUnit.Count, value=report.records)
    metrics.add_metric(name=conventions.METRIC_EVENTS_PROCESSED, unit=MetricUnit.Count, value=report.events)
    skipped = sum(report.skips.values())
    metrics.add_metric(name=conventions.METRIC_EVENTS_SKIPPED, unit=MetricUnit.Count, value=skipped)
    malformed = sum(count for kind, count in report.skips.items() if kind in conventions.MALFORMED_KINDS)
    metrics.add_metric(name=conventions.METRIC_MALFORMED_RECORDS, unit=MetricUnit.Count, value=malformed)
    arrivals = [d.arrival for d in decoded if d.arrival is not None]
    if arrivals:
        lag_ms = max(0.0, (now - min(arrivals)) * 1000)
        metrics.add_metric(name=conventions.METRIC_ITERATOR_LAG, unit=MetricUnit.Milliseconds, value=lag_ms)
    for kind, count in sorted(report.skips.items()):  # one EMF document per kind: dimension Kind
        with single_metric(
            name=conventions.METRIC_EVENTS_SKIPPED_BY_KIND, unit=MetricUnit.Count, value=count, namespace=NAMESPACE
        ) as metric:
            metric.add_dimension(name="Kind", value=kind)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = list(KinesisStreamEvent(event).records)
    decoded = decode_batch(records)
    report = BatchReport()
    if decoded:
        stream, shard = stream_of(records[0]), shard_of(records[0])
        try:
            report = ingestor().apply_batch(stream, shard, decoded, isolate=True)
        except CorruptItemError as exc:
            report = not_applied(exc, stream, shard, decoded)
        else:
            if report.failed_from_sequence is not None:
                logger.warning("store commit failed; reporting for retry", extra={"error": report.error})
                if landed(report, stream, shard):
                    report.merge(report.unconfirmed)  # type: ignore[arg-type]  # the retry will skip what it counted
            if report.damaged:
                left_out(report, stream, shard)
    response = batch_response(records, report.failed_from_sequence)
    emit_batch_metrics(report, decoded, time.time())
    logger.info(
        "batch applied",
        extra={
            "records": report.records,
            "events": report.events,
            "already_applied": report.records_already_applied,
            "skips": dict(report.skips),
            "commits": report.commits,
            "failures": len(response["batchItemFailures"]),
        },
    )
    return dict(response)
