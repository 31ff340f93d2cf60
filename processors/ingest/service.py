"""Apply one shard's batch of decoded records to the store, exactly once.

The shard's checkpoint (highest applied position) is committed atomically with the counters, digests
and trace heads it covers. Records at or below the checkpoint are skipped, so a Lambda retry, a bisected
retry, a retry after ReportBatchItemFailures, a duplicate record or a replayed file changes nothing.
Commits that would exceed the store's transaction limit are cut into chunks, each with its own checkpoint.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from processors import conventions
from processors.classifying.builtin import RUNNERS_ACTIVE_GAUGE
from processors.classifying.classify import Classifier, LatencySample, SliEvent
from processors.counting import slice_field_index
from processors.decoding.types import DecodedRecord, LogEvent, Position
from processors.spec.model import Spec, TimeSliceSli
from processors.stitching.model import TraceHead
from processors.stitching.stitch import Stitcher, sweep_orphan
from processors.store.base import Store
from processors.store.exceptions import TransientStoreError
from processors.store.keys import trace_expires_at
from processors.store.types import CheckpointAdvance, Commit, CounterKey, DigestKey, HeadWrite
from processors.timeutil import floor_to


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


class _Chunk:
    """One commit under construction: counters, exemplars, latency values, heads."""

    def __init__(self) -> None:
        self.counters: dict[CounterKey, Counter[str]] = defaultdict(Counter)
        self.exemplars: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.latency: dict[DigestKey, list[float]] = defaultdict(list)
        self.heads: dict[str, TraceHead] = {}
        self.decisions: set[str] = set()  # heads whose change counted something: they commit with the counters
        self.gauges: Counter[str] = Counter()
        self.last_position: Position | None = None
        self.newest_event: float | None = None

    def gauge(self, name: str, delta: int) -> None:
        if delta:
            self.gauges[name] += delta

    def item_count(self) -> int:
        """Items of the checkpointed commit; heads that decided nothing are written ahead of it."""
        return len(self.counters) + len(self.latency) + len(self.decisions) + len(self.gauges) + 1

    def split_heads(self) -> tuple[dict[str, TraceHead], dict[str, TraceHead]]:
        """(heads that only recorded events, heads that made a claim or moved the gauge)."""
        plain = {cid: head for cid, head in self.heads.items() if cid not in self.decisions}
        decided = {cid: head for cid, head in self.heads.items() if cid in self.decisions}
        return plain, decided

    def is_empty(self) -> bool:
        return not (self.counters or self.latency or self.heads or self.gauges)


class Ingestor:
    """The domain stage chain (classify → stitch → aggregate) bound to a store and a spec."""

    def __init__(self, store: Store, spec: Spec) -> None:
        self.store = store
        self.spec = spec
        self.classifier = Classifier(spec)
        self.stitcher = Stitcher(spec)
        self.slices = {slo.name: slo.sli for slo in spec.slos if isinstance(slo.sli, TimeSliceSli)}
        # an upper bound on the items one event can add to a commit, to cut chunks before the limit:
        # minute + hour items for each SLI or sketch it can feed, coverage, its trace head and the gauge
        stitched = sum(1 for slo in spec.slos if slo.kind in ("resolution", "latency"))
        stitched += sum(1 for sketch in spec.latency if sketch.stitched or sketch.between)
        self.items_per_event = 2 * (self.classifier.max_matches() + stitched + 1) + 2
        self.trace_ttl_seconds = spec.trace_ttl_days * conventions.DAY

    # --- the batch ------------------------------------------------------------------------------------

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

        chunk = _Chunk()
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
                    chunk = _Chunk()
                self._add_event(event, stream, shard, chunk, heads, report)
                chunk.last_position = event.position
        chunk.last_position = pending[-1].last_position
        self._commit(stream, shard, chunk, expected, newest_known, report, pending)
        return report

    def _add_event(
        self, event: LogEvent, stream: str, shard: str, chunk: _Chunk, heads: dict[str, TraceHead], report: BatchReport
    ) -> None:
        report.events += 1
        chunk.newest_event = _newest(chunk.newest_event, event.time)
        report.newest_event = _newest(report.newest_event, event.time)
        sli_events = self.classifier.classify(event)
        samples = self.classifier.latency_samples(event)
        if event.action in conventions.VOCABULARY:  # an ID the producer had to mint is no propagation
            propagated = bool(event.correlation_id) and event.metadata.get("correlationIdMinted") is not True
            self._count(chunk, conventions.TRACE_COVERAGE_SLI, event.time, good=propagated)
        if not event.correlation_id:  # counts for event-ratio and time-slice SLIs; joins no trace
            self._count_all(chunk, sli_events, samples, report)
            return
        identity = event.position.identity(stream, shard)
        head = heads.get(event.correlation_id)
        if head is None:
            head = heads[event.correlation_id] = TraceHead(correlation_id=event.correlation_id)
        was_open = _open(head)
        stitched = self.stitcher.apply(head, event, identity)  # in place: `heads` is this batch's working copy
        if stitched.changed:
            chunk.heads[event.correlation_id] = head
            delta = _open(head) - was_open
            chunk.gauge(RUNNERS_ACTIVE_GAUGE, delta)
            if stitched.sli_events or stitched.latency_samples or delta:
                chunk.decisions.add(event.correlation_id)
        sli_events.extend(stitched.sli_events)
        samples.extend(stitched.latency_samples)
        self._count_all(chunk, sli_events, samples, report)

    def _count_all(
        self, chunk: _Chunk, sli_events: list[SliEvent], samples: list[LatencySample], report: BatchReport
    ) -> None:
        for sli_event in sli_events:
            self._count(chunk, sli_event.sli, sli_event.time, sli_event.good, sli_event.correlation_id)
        for sample in samples:
            self._sample(chunk, sample)
        report.sli_events += len(sli_events)
        report.latency_samples += len(samples)

    def _count(self, chunk: _Chunk, sli: str, moment: float, good: bool, correlation_id: str = "") -> None:
        minute = floor_to(moment, conventions.MINUTE)
        hour = floor_to(moment, conventions.HOUR)
        increment = {"good": int(good), "total": 1}
        chunk.counters[CounterKey(sli, conventions.RESOLUTION_MINUTE, minute)].update(increment)
        hourly = chunk.counters[CounterKey(sli, conventions.RESOLUTION_HOUR, hour)]
        hourly.update(increment)
        time_slice = self.slices.get(sli)
        if time_slice is not None:
            index = slice_field_index(moment, time_slice.slice_seconds)
            hourly.update({f"g{index}": int(good), f"t{index}": 1})
        if not good and correlation_id:
            ids = chunk.exemplars[(sli, minute)]
            if len(ids) < conventions.EXEMPLARS_PER_BUCKET_PER_COMMIT and correlation_id not in ids:
                ids.append(correlation_id)

    def _sample(self, chunk: _Chunk, sample: LatencySample) -> None:
        if not math.isfinite(sample.value_ms):
            return
        for resolution, step in conventions.RESOLUTIONS.items():
            chunk.latency[DigestKey(sample.sketch, resolution, floor_to(sample.time, step))].append(sample.value_ms)

    def _to_commit(
        self, chunk: _Chunk, advance: CheckpointAdvance | None, heads: dict[str, TraceHead] | None = None
    ) -> Commit:
        digests = {}
        if chunk.latency:
            from processors.sketch import TDigest

            digests = {key: TDigest.from_values(values) for key, values in chunk.latency.items()}
        return Commit(
            checkpoint=advance,
            counters={
                key: {name: value for name, value in fields.items() if value} for key, fields in chunk.counters.items()
            },
            exemplars={key: ids for key, ids in chunk.exemplars.items() if ids},
            digests=digests,
            gauges={name: delta for name, delta in chunk.gauges.items() if delta},
            heads={
                cid: HeadWrite(head=head, ttl=trace_expires_at(head.first_seen_ms, self.trace_ttl_seconds))
                for cid, head in (chunk.heads if heads is None else heads).items()
            },
        )

    def _commit(
        self,
        stream: str,
        shard: str,
        chunk: _Chunk,
        expected: Position | None,
        newest_known: float | None,
        report: BatchReport,
        pending: Sequence[DecodedRecord],
    ) -> bool:
        assert chunk.last_position is not None
        advance = CheckpointAdvance(
            stream, shard, expected, chunk.last_position, _newest(newest_known, chunk.newest_event)
        )
        limit = self.store.max_items_per_commit
        try:
            if limit is None:  # one transaction holds everything
                self.store.commit(self._to_commit(chunk, advance))
                committed = list(chunk.heads.values())
            else:
                # Heads that decided nothing only recorded events: re-applying those is a no-op, so they may
                # land ahead of the checkpoint, packed densely, instead of crowding the counters' transactions.
                plain, decided = chunk.split_heads()
                cids = list(plain)
                for offset in range(0, len(cids), limit):
                    group = {cid: plain[cid] for cid in cids[offset : offset + limit]}
                    self.store.commit(self._to_commit(_Chunk(), None, group))
                    for head in group.values():
                        head.version += 1
                    report.heads_written += len(group)
                self.store.commit(self._to_commit(chunk, advance, decided))
                committed = list(decided.values())
        except TransientStoreError as exc:
            report.error = str(exc)
            report.failed_from_sequence = _first_unapplied(pending, expected)
            return False
        report.commits += 1
        report.heads_written += len(committed)
        for head in committed:
            head.version += 1
        return True

    # --- the orphan sweep -----------------------------------------------------------------------------

    def sweep(self, now: float) -> int:
        """Count open runners past max_runtime as bad resolutions, once each. Returns how many."""
        due = self.store.open_runners(now - self.spec.max_runtime)
        swept = 0
        heads = self.store.heads(due)
        chunk = _Chunk()
        for cid in due:
            head = heads.get(cid)
            result = sweep_orphan(head, self.spec, now) if head else None
            if result is None:
                continue
            if (limit := self.store.max_items_per_commit) and chunk.item_count() + self.items_per_event > limit:
                swept += self._commit_sweep(chunk)
                chunk = _Chunk()
            chunk.heads[cid] = result.head
            chunk.decisions.add(cid)
            chunk.gauge(RUNNERS_ACTIVE_GAUGE, _open(result.head) - _open(head))
            for sli_event in result.sli_events:
                self._count(chunk, sli_event.sli, sli_event.time, sli_event.good, sli_event.correlation_id)
        return swept + self._commit_sweep(chunk)

    def _commit_sweep(self, chunk: _Chunk) -> int:
        if chunk.is_empty():
            return 0
        try:
            self.store.commit(self._to_commit(chunk, None))
        except TransientStoreError:
            return 0  # a racing writer moved a head; the next sweep sees the new state
        return len(chunk.heads)


def _open(head: TraceHead | None) -> int:
    return int(head is not None and head.open_since_ms is not None)


def _newest(current: float | None, candidate: float | None) -> float | None:
    if candidate is None:
        return current
    return candidate if current is None else max(current, candidate)


def _first_unapplied(pending: Sequence[DecodedRecord], applied: Position | None) -> int:
    for record in pending:
        if applied is None or record.last_position > applied:
            return record.sequence
    return pending[-1].sequence
