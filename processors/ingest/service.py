"""Apply one shard's batch of decoded records to the store, exactly once.

The shard's checkpoint (highest applied position) is committed atomically with the counters, digests
and trace heads it covers. Records at or below the checkpoint are skipped, so a Lambda retry, a bisected
retry, a retry after ReportBatchItemFailures, a duplicate record or a replayed file changes nothing.
Commits that would exceed the store's transaction limit are cut into chunks (chunking.py), each with its
own checkpoint.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from processors import conventions
from processors.classifying.builtin import RUNNERS_ACTIVE_GAUGE
from processors.classifying.classify import Classifier, LatencySample, SliEvent
from processors.decoding.types import DecodedRecord, LogEvent, Position
from processors.ingest.chunking import Chunk, items_per_event, time_slices, write_chunk
from processors.spec.model import Spec
from processors.stitching.model import TraceHead, is_open
from processors.stitching.stitch import Stitcher
from processors.store.base import Store
from processors.store.exceptions import TransientStoreError
from processors.store.types import CheckpointAdvance


@dataclass
class BatchReport:
    records: int = 0
    records_already_applied: int = 0
    events: int = 0
    sli_events: int = 0
    latency_samples: int = 0
    skips: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)  # accepted with a remark (decoding/formats.py)
    commits: int = 0
    heads_written: int = 0
    newest_event: float | None = None
    failed_from_sequence: int | None = None  # first record to report as a batch item failure
    error: str | None = None

    def merge(self, other: BatchReport) -> None:
        for name in ("records", "records_already_applied", "events", "sli_events", "latency_samples", "commits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.heads_written += other.heads_written
        self.skips.update(other.skips)
        self.notes.update(other.notes)
        if other.newest_event is not None:
            self.newest_event = max(self.newest_event or other.newest_event, other.newest_event)


class Ingestor:
    """The domain stage chain (classify → stitch → aggregate) bound to a store and a spec."""

    def __init__(self, store: Store, spec: Spec) -> None:
        self.store = store
        self.spec = spec
        self.classifier = Classifier(spec)
        self.stitcher = Stitcher(spec)
        self.slices = time_slices(spec)
        self.items_per_event = items_per_event(spec, self.classifier.max_matches())
        self.trace_ttl_seconds = spec.trace_ttl_days * conventions.DAY

    def apply_batch(self, stream: str, shard: str, records: Sequence[DecodedRecord]) -> BatchReport:
        report = BatchReport(records=len(records))
        checkpoint = self.store.checkpoint(stream, shard)
        applied = checkpoint.position if checkpoint else None
        newest_known = checkpoint.newest_event if checkpoint else None
        pending: list[DecodedRecord] = []
        seen_sequences: set[int] = set()
        for record in sorted(records, key=lambda r: r.sequence):
            if record.sequence < 0 or record.sequence in seen_sequences:
                report.skips[conventions.SKIP_DUPLICATE if record.sequence >= 0 else "no_sequence"] += 1
                continue
            seen_sequences.add(record.sequence)
            if applied is not None and record.last_position <= applied:
                report.records_already_applied += 1
                continue
            pending.append(record)
        if not pending:
            return report

        fresh_events = {
            record.sequence: [e for e in record.events if applied is None or e.position > applied] for record in pending
        }
        heads = self.store.heads(
            e.correlation_id for events in fresh_events.values() for e in events if e.correlation_id
        )

        chunk = Chunk(self.slices)
        expected = applied
        limit = self.store.max_items_per_commit
        for record in pending:
            first_apply = applied is None or Position(record.sequence) > applied
            if first_apply:  # skips are counted once, on the record's first application
                report.skips.update(record.skips)
                report.notes.update(record.notes)
            for event in fresh_events[record.sequence]:
                if limit is not None and chunk.item_count() + self.items_per_event > limit and not chunk.is_empty():
                    if not self._commit(stream, shard, chunk, expected, newest_known, report, pending):
                        return report
                    expected = chunk.last_position
                    newest_known = _newest(newest_known, chunk.newest_event)
                    chunk = Chunk(self.slices)
                self._add_event(event, stream, shard, chunk, heads, report)
                chunk.last_position = event.position
        chunk.last_position = pending[-1].last_position
        self._commit(stream, shard, chunk, expected, newest_known, report, pending)
        return report

    def _add_event(
        self, event: LogEvent, stream: str, shard: str, chunk: Chunk, heads: dict[str, TraceHead], report: BatchReport
    ) -> None:
        report.events += 1
        chunk.newest_event = _newest(chunk.newest_event, event.time)
        report.newest_event = _newest(report.newest_event, event.time)
        sli_events = self.classifier.classify(event)
        samples = self.classifier.latency_samples(event)
        if event.action in conventions.VOCABULARY:  # an ID the producer had to mint is no propagation
            propagated = bool(event.correlation_id) and event.metadata.get("correlationIdMinted") is not True
            chunk.count(conventions.TRACE_COVERAGE_SLI, event.time, good=propagated)
        if not event.correlation_id:  # counts for event-ratio and time-slice SLIs; joins no trace
            _count_all(chunk, sli_events, samples, report)
            return
        identity = event.position.identity(stream, shard)
        head = heads.get(event.correlation_id)
        if head is None:
            head = heads[event.correlation_id] = TraceHead(correlation_id=event.correlation_id)
        was_open = is_open(head)
        stitched = self.stitcher.apply(head, event, identity)  # in place: `heads` is this batch's working copy
        if stitched.changed:
            chunk.heads[event.correlation_id] = head
            delta = int(is_open(head)) - int(was_open)
            chunk.gauge(RUNNERS_ACTIVE_GAUGE, delta)
            if stitched.sli_events or stitched.latency_samples or delta:
                chunk.decisions.add(event.correlation_id)
        sli_events.extend(stitched.sli_events)
        samples.extend(stitched.latency_samples)
        _count_all(chunk, sli_events, samples, report)

    def _commit(
        self,
        stream: str,
        shard: str,
        chunk: Chunk,
        expected: Position | None,
        newest_known: float | None,
        report: BatchReport,
        pending: Sequence[DecodedRecord],
    ) -> bool:
        assert chunk.last_position is not None
        advance = CheckpointAdvance(
            stream, shard, expected, chunk.last_position, _newest(newest_known, chunk.newest_event)
        )

        def written(count: int) -> None:
            report.heads_written += count

        try:
            write_chunk(self.store, chunk, advance, self.trace_ttl_seconds, written)
        except TransientStoreError as exc:
            report.error = str(exc)
            report.failed_from_sequence = _first_unapplied(pending, expected)
            return False
        report.commits += 1
        return True


def _count_all(chunk: Chunk, sli_events: list[SliEvent], samples: list[LatencySample], report: BatchReport) -> None:
    for sli_event in sli_events:
        chunk.count(sli_event.sli, sli_event.time, sli_event.good, sli_event.correlation_id)
    for sample in samples:
        chunk.sample(sample)
    report.sli_events += len(sli_events)
    report.latency_samples += len(samples)


def _newest(current: float | None, candidate: float | None) -> float | None:
    if candidate is None:
        return current
    return candidate if current is None else max(current, candidate)


def _first_unapplied(pending: Sequence[DecodedRecord], applied: Position | None) -> int:
    for record in pending:
        if applied is None or record.last_position > applied:
            return record.sequence
    return pending[-1].sequence
