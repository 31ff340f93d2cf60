"""Kinesis → ingest Lambda. Decodes each record (BatchProcessor), then applies the shard batch exactly once.

Data errors are counted skips and never fail a record. Transient store errors (throttling, a conflict)
report the first unapplied record and everything after it as batch item failures, so Lambda retries
from there; the per-shard checkpoint makes that retry apply each record once.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from processors import conventions
from processors.decoding import (
    DEFAULT_PARSER,
    DecodedRecord,
    DecodeLimits,
    LineParser,
    decode_record,
    parser_for,
    shard_of,
    stream_of,
)
from processors.ingest import BatchReport, Ingestor

logger = Logger()
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", conventions.METRICS_NAMESPACE_DEFAULT)
metrics = Metrics(namespace=NAMESPACE)
tracer = Tracer()
clock = time.time  # "now" for judging event times; tests replace it to replay fixed-date samples


@cache
def ingestor() -> Ingestor:
    """Created once per container: the store client and the compiled spec."""
    from processors.spec import load_spec
    from processors.store import open_dynamodb_store

    table = os.environ[conventions.ENV_TABLE_NAME]
    return Ingestor(open_dynamodb_store(table, endpoint_url=os.environ.get(conventions.ENV_ENDPOINT_URL)), load_spec())


class CheckpointedKinesisProcessor(BatchProcessor):
    """BatchProcessor whose records are applied together, after decoding, under the shard checkpoint."""

    def __init__(self) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
        self.decoded: list[tuple[dict[str, Any], DecodedRecord]] = []
        self.report = BatchReport()
        self.parser: LineParser = DEFAULT_PARSER

    def _prepare(self) -> None:
        super()._prepare()
        self.decoded = []
        self.report = BatchReport()
        self.parser = parser_for(ingestor().spec.log_format)  # the spec's log format, compiled once

    def process(self) -> list[tuple]:
        results = super().process()
        failed = {int(cast(KinesisStreamRecord, m).kinesis.sequence_number) for m in self.fail_messages}
        first_failed = min(failed) if failed else None
        applicable = [d for _, d in self.decoded if first_failed is None or d.sequence < first_failed]
        if applicable:
            record = KinesisStreamRecord(self.decoded[0][0])
            self.report = ingestor().apply_batch(stream_of(record), shard_of(record), applicable)
            if self.report.failed_from_sequence is not None:
                logger.warning("store commit failed; reporting for retry", extra={"error": self.report.error})
                self._fail_from(self.report.failed_from_sequence)
        return results

    def _fail_from(self, sequence: int) -> None:
        """Move every succeeded record at or after `sequence` to the failures Powertools reports."""
        keep = []
        for message in self.success_messages:  # raw dicts here; Powertools reports data classes
            record = message if isinstance(message, KinesisStreamRecord) else KinesisStreamRecord(cast(Any, message))
            if int(record.kinesis.sequence_number) >= sequence:
                self.fail_messages.append(record)
                self.exceptions.append((None, None, None))
            else:
                keep.append(message)
        self.success_messages[:] = keep


processor = CheckpointedKinesisProcessor()


def record_handler(record: KinesisStreamRecord) -> None:
    decoded = decode_record(record.raw_event, DecodeLimits.from_env(now=clock()), processor.parser)
    processor.decoded.append((record.raw_event, decoded))
    if decoded.events:
        logger.set_correlation_id(decoded.events[0].correlation_id)
    if decoded.skips:
        logger.debug("skipped log events", extra={"sequence": decoded.sequence, "skips": dict(decoded.skips)})


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
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    emit_batch_metrics(processor.report, [d for _, d in processor.decoded], time.time())
    logger.info(
        "batch applied",
        extra={
            "records": processor.report.records,
            "events": processor.report.events,
            "already_applied": processor.report.records_already_applied,
            "skips": dict(processor.report.skips),
            "commits": processor.report.commits,
            "failures": len(response.get("batchItemFailures", [])),
        },
    )
    return dict(response)
