"""Apply one shard's batch of decoded records to the store, exactly once.

The shard's checkpoint (highest applied position) is committed atomically with the counters, digests
and trace heads it covers. Records at or below the checkpoint are skipped, so a Lambda retry, a bisected
retry, a retry after ReportBatchItemFailures, a duplicate record or a replayed file changes nothing.
Commits that would exceed the store's transaction limit are cut into chunks (chunking.py), each with its
own checkpoint.

One bad event never fails a batch. An unexpected exception while applying an event, or a store that refuses
a chunk for good (DynamoDB's ValidationException: an item too large), discards the uncommitted chunk and
applies the batch again from the checkpoint with the offending event skipped as `processing_error` (a refused
chunk of several events is first retried one event per commit, to find which one). The events of a trace whose
stored head does not decode (Store.read_heads) are `processing_error` skips as well, and its item is left as it
is. When the caller asks (`isolate`, the ingest Lambda), a grouped SLO whose group registry does not decode is
counted without its groups, the rest of the batch as usual (GroupCounter.load, `BatchReport.damaged`). Only
transient store errors (throttling, conflicts, timeouts) fail the batch for Lambda to retry.
"""

from __future__ import annotations

import copy
import gc
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from processors import conventions
from processors.classifying.classify import Classifier, LatencySample, SliEvent
from processors.decoding.types import DecodedRecord, LogEvent, Position
from processors.ingest.chunking import Chunk, items_per_event, time_slices, write_chunk
from processors.ingest.grouping import GroupCounter
from processors.spec.model import Spec
from processors.stitching.model import TraceHead, is_open
from processors.stitching.stitch import Stitcher, sweep_orphan
from processors.store.base import Store
from processors.store.exceptions import StoreError, StoreUnavailableError, TransientStoreError
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
    error_kind: str | None = None  # conflict | throttle | transient: how a retry counts it
    # damaged items the batch was applied without, each the CorruptItemError's text (a group registry: its SLO's
    # events were counted without their groups, the note group_registry_damaged)
    damaged: list[str] = field(default_factory=list)
    # a transient error on a commit: what that commit would have counted, and its end (it may have landed, its
    # response lost: the checkpoint tells; see Replayer.apply)
    unconfirmed: BatchReport | None = None
    unconfirmed_until: Position | None = None

    def copy(self) -> BatchReport:
        """A copy that shares nothing mutable (copy.deepcopy's result, at a fraction of its cost per batch)."""
        return replace(self, skips=Counter(self.skips), notes=Counter(self.notes), damaged=list(self.damaged),
                       unconfirmed=None if self.unconfirmed is None else self.unconfirmed.copy())

    def merge(self, other: BatchReport) -> None:
        for name in ("records", "records_already_applied", "events", "sli_events", "latency_samples", "commits"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.heads_written += other.heads_written
        self.skips.update(other.skips)
        self.notes.update(other.notes)
        self.damaged.extend(item for item in other.damaged if item not in self.damaged)
        if other.newest_event is not None:
            self.newest_event = max(self.newest_event or other.newest_event, other.newest_event)


logger = logging.getLogger(__name__)


class _Retry(Exception):
    """Abandon this pass over the batch: `committed` is the report of what did land before it."""

    def __init__(self, committed: BatchReport, reason: str, event: Position | None, chunk: list[Position]) -> None:
        super().__init__(reason)
        self.committed = committed
        self.reason = reason
        self.event = event  # the event that raised, or None when the store refused a chunk
        self.chunk = chunk  # the refused chunk's events


class Ingestor:
    """The domain stage chain (classify → stitch → aggregate) bound to a store and a spec."""

    def __init__(
        self,
        store: Store,
        spec: Spec,
        *,
        counting_only: bool = False,
        stitch_in_memory: bool = False,
        window: tuple[float, float] | None = None,
    ) -> None:
        self.store = store
        self.spec = spec
        # `slo backfill`: count the spec's SLIs, and nothing else (no trace heads, open-unit gauge or trace
        # coverage: those were written once, by the live ingest). With `stitch_in_memory`, stitched SLIs stitch
        # into heads kept in `memory` only; only SLI events and samples timed inside `window` count.
        self.counting_only = counting_only
        self.memory: dict[str, TraceHead] | None = {} if stitch_in_memory else None
        self._open: set[str] = set()  # memory heads of units still open: what sweep_in_memory looks at
        self._swept: tuple[Position | None] | None = None  # the sweep checkpoint, once read
        self.window = window
        self.classifier = Classifier(spec)
        self.stitcher = Stitcher(spec)
        self.slices = time_slices(spec)
        self.groups = GroupCounter(spec)
        self.items_per_event = items_per_event(spec, self.classifier.max_matches()) + self.groups.items_per_event()
        self.trace_ttl_seconds = spec.trace_ttl_days * conventions.DAY
        self.vocabulary = frozenset(spec.vocabulary)
        self._arrival: float | None = None
        self._isolate = False  # apply_batch's `isolate`
        self._damaged_logged: set[str] = set()  # damaged trace heads this batch has logged
        # the oldest opening time of a unit this ingestor opened since take_oldest_opened() last asked: its opening
        # milestone can be older than any event applied since (a spec that resolves units differently opens an
        # old one again), and a replay's sweep must read from there
        self._oldest_opened = math.inf

    def apply_batch(
        self, stream: str, shard: str, records: Sequence[DecodedRecord], arrival: float | None = None,
        *, isolate: bool = False,
    ) -> BatchReport:
        """Apply `records` exactly once; an event that cannot be applied is skipped, never fails the batch.
        `arrival` (when the batch arrived) goes with each checkpoint, for a later `slo backtest`.

        With `isolate` (the ingest Lambda's), a grouped SLO's group registry that does not decode leaves out only
        that SLO's per-group counting (`group_registry_damaged`, one note an event) and is named in the report's
        `damaged`; without it (`slo replay`, `slo backfill`) its CorruptItemError is raised before anything of the
        batch is applied. A damaged checkpoint is raised either way: nothing of the batch can be applied without it."""
        self._arrival = arrival
        self._isolate = isolate
        self._damaged_logged.clear()
        with _collector_paused():
            return self._apply_batch(stream, shard, records)

    def landed(self, report: BatchReport, stream: str, shard: str) -> bool:
        """Whether the commit whose response `report` lost (a timeout, `unconfirmed`) landed after all: the
        checkpoint says. Its counts then belong to this batch, since a retry skips its records as applied."""
        if report.unconfirmed is None or report.unconfirmed_until is None:
            return False
        checkpoint = self.store.checkpoint(stream, shard)
        return checkpoint is not None and checkpoint.position >= report.unconfirmed_until

    def take_oldest_opened(self) -> float:
        """The oldest opening time (epoch seconds) of the units this ingestor opened since the previous call, in
        commits that landed or not (math.inf: none); the next call starts afresh."""
        oldest, self._oldest_opened = self._oldest_opened, math.inf
        return oldest

    def _apply_batch(self, stream: str, shard: str, records: Sequence[DecodedRecord]) -> BatchReport:
        poisoned: set[Position] = set()
        isolate = False  # one event per commit, to find the event a store refuses
        landed = BatchReport()  # what passes abandoned by a bad event committed before it
        first_already_applied: int | None = None
        while True:
            try:
                report = self._apply(stream, shard, records, poisoned, isolate)
            except _Retry as retry:
                landed.merge(retry.committed)
                if first_already_applied is None:
                    first_already_applied = retry.committed.records_already_applied
                suspect = retry.event
                if suspect is None and (isolate or len(retry.chunk) == 1):
                    suspect = retry.chunk[-1]  # one event per commit: the chunk holds the last one's changes
                if suspect is None:
                    isolate = True
                elif suspect in poisoned:  # no progress possible: let the error surface
                    raise StoreError(f"cannot isolate the failure at {suspect.encode()}: {retry.reason}") from retry
                else:
                    poisoned.add(suspect)
                    landed.skips[conventions.SKIP_PROCESSING_ERROR] += 1
                    logger.error(
                        "event skipped as processing_error",
                        extra={"stream": stream, "shard": shard, "position": suspect.encode(), "error": retry.reason},
                    )
                continue
            if first_already_applied is not None:
                report.records_already_applied = first_already_applied
            landed.records = landed.records_already_applied = 0
            report.merge(landed)
            report.records = len(records)
            return report

    def _apply(
        self,
        stream: str,
        shard: str,
        records: Sequence[DecodedRecord],
        poisoned: set[Position],
        isolate: bool,
    ) -> BatchReport:
        report = BatchReport(records=len(records))
        checkpoint = self.store.checkpoint(stream, shard)
        applied = checkpoint.position if checkpoint else None
        newest_known = checkpoint.newest_event if checkpoint else None
        pending: list[DecodedRecord] = []
        seen_sequences: set[int] = set()
        for index, record in enumerate(records):
            if record.sequence < 0 and _fresh_neighbour(records, index, applied):
                report.skips.update(record.skips or Counter({conventions.SKIP_NO_SEQUENCE: 1}))
        for record in sorted(records, key=lambda r: r.sequence):
            if record.sequence < 0:
                continue
            if record.sequence in seen_sequences:
                report.skips[conventions.SKIP_IN_BATCH_DUPLICATE] += 1
                continue
            seen_sequences.add(record.sequence)
            if applied is not None and record.last_position <= applied:
                report.records_already_applied += 1
                continue
            pending.append(record)
        if self.memory is not None and applied is not None:
            self._restitch_applied(stream, shard, records, applied)
        if not pending:
            return report
        if self.groups.grouped:
            unreadable: dict[str, str] | None = {} if self._isolate else None
            self.groups.load(self.store, unreadable)
            if unreadable:
                report.damaged.extend(unreadable.values())

        fresh_events = {
            record.sequence: [e for e in record.events if applied is None or e.position > applied] for record in pending
        }
        wanted = {e.correlation_id for events in fresh_events.values() for e in events if e.correlation_id}
        damaged: frozenset[str] = frozenset()  # traces whose stored head does not decode: their events are skipped
        if self.memory is not None:  # this pass's working copies: a pass abandoned part way leaves memory as it was
            heads = {cid: copy.deepcopy(self.memory[cid]) for cid in wanted if cid in self.memory}
        elif self.counting_only:
            heads = {}
        else:
            read = self.store.read_heads(wanted)
            heads, damaged = read.heads, read.damaged
            if damaged:
                self._log_damaged(stream, shard, damaged, fresh_events.values())

        chunk = Chunk(self.slices)
        in_chunk: list[Position] = []
        committed = report.copy()
        expected = applied
        limit = self.store.max_items_per_commit
        for record in pending:
            first_apply = applied is None or Position(record.sequence) > applied
            if first_apply:  # skips are counted once, on the record's first application
                if record.skips:  # Counter.update costs a Python-level call even when empty
                    report.skips.update(record.skips)
                if record.notes:
                    report.notes.update(record.notes)
            for event in fresh_events[record.sequence]:
                full = limit is not None and chunk.item_count() + self.items_per_event > limit
                if (full or isolate) and not chunk.is_empty():
                    if not self._commit(stream, shard, chunk, expected, newest_known, report, pending, committed,
                                        in_chunk):
                        return _failed_after(committed, report, chunk.last_position)
                    committed = report.copy()
                    expected = chunk.last_position
                    newest_known = _newest(newest_known, chunk.newest_event)
                    chunk, in_chunk = Chunk(self.slices), []
                if damaged and event.correlation_id in damaged:  # never written: the damaged item stays as it is
                    report.skips[conventions.SKIP_PROCESSING_ERROR] += 1
                elif not poisoned or event.position not in poisoned:
                    try:
                        self._add_event(event, stream, shard, chunk, heads, report)
                    except Exception as exc:  # a bug or a hostile event: isolate it, never fail the batch
                        raise _Retry(committed, repr(exc), event.position, []) from exc
                    in_chunk.append(event.position)
                chunk.last_position = event.position
        chunk.last_position = pending[-1].last_position
        if not self._commit(stream, shard, chunk, expected, newest_known, report, pending, committed, in_chunk):
            return _failed_after(committed, report, chunk.last_position)
        if self.memory is not None:
            self._remember(heads)  # every event of the batch is committed: the copies are the truth now
        return report

    def _log_damaged(
        self, stream: str, shard: str, damaged: frozenset[str], fresh_events: Iterable[list[LogEvent]]
    ) -> None:
        """Log each damaged trace once per batch (a pass after an isolated event reads it again), without its
        stored bytes: the ID and how many of the batch's events are skipped for it."""
        skipped = Counter(e.correlation_id for events in fresh_events for e in events if e.correlation_id in damaged)
        for cid in sorted(damaged - self._damaged_logged):
            self._damaged_logged.add(cid)
            logger.error(
                "stored trace head %s does not decode; its %d event(s) of this batch are skipped as processing_error",
                cid, skipped[cid],
                extra={"stream": stream, "shard": shard, "correlation_id": cid, "events": skipped[cid]},
            )

    def _remember(self, heads: dict[str, TraceHead]) -> None:
        assert self.memory is not None
        for cid, head in heads.items():
            self.memory[cid] = head
            if is_open(head):
                self._open.add(cid)
            else:
                self._open.discard(cid)

    def sweep_in_memory(self, now: int, stream: str, shard: str) -> int:
        """Backfill of a resolution SLI: sweep the in-memory heads at minute `now` as the orphan sweeper would.

        The sweep's counts commit with a checkpoint of their own (`stream`/`shard`, position `now`), so each
        minute's are counted once; at or below that checkpoint (a resumed run) the sweep changes memory only,
        which leaves it as the earlier run left it. Returns how many SLI events it counted."""
        assert self.memory is not None
        if self._swept is None:  # read once: this backfill is the stream's one writer
            checkpoint = self.store.checkpoint(stream, shard)
            self._swept = (checkpoint.position if checkpoint else None,)
        applied = self._swept[0]
        at = Position(now)
        counts = applied is None or at > applied
        chunk = Chunk(self.slices)
        counted = 0
        for cid in sorted(self._open):
            result = sweep_orphan(self.memory[cid], self.spec, now)
            if result is None:
                continue
            self._remember({cid: result.head})
            if counts:
                for sli_event in self._inside(result.sli_events):
                    chunk.count(sli_event.sli, sli_event.time, sli_event.good, sli_event.correlation_id)
                    counted += 1
        if counted:
            write_chunk(self.store, chunk, CheckpointAdvance(stream, shard, applied, at), self.trace_ttl_seconds)
            self._swept = (at,)
        return counted

    def _inside(self, items: list[Any]) -> list[Any]:
        """The SLI events or latency samples timed inside the backfill's window (all of them without one)."""
        if self.window is None:
            return items
        low, high = self.window
        return [item for item in items if low <= item.time < high]

    def _restitch_applied(self, stream: str, shard: str, records: Sequence[DecodedRecord], applied: Position) -> None:
        """Backfill of a stitched SLI: events at or below the checkpoint were counted by an earlier run or pass,
        but their heads live in memory only, so they are stitched into it again and nothing is counted (the
        stitcher's first-wins marks and claims make a repeated event change nothing)."""
        assert self.memory is not None
        for record in records:
            for event in record.events:
                if record.sequence >= 0 and event.position <= applied and event.correlation_id:
                    head = self.memory.get(event.correlation_id) or TraceHead(correlation_id=event.correlation_id)
                    self.stitcher.apply(head, event, stream, shard)
                    self._remember({event.correlation_id: head})

    def _add_event(
        self, event: LogEvent, stream: str, shard: str, chunk: Chunk, heads: dict[str, TraceHead], report: BatchReport
    ) -> None:
        report.events += 1
        time = event.time  # _newest, inline: it runs per event
        if chunk.newest_event is None or time > chunk.newest_event:
            chunk.newest_event = time
        if report.newest_event is None or time > report.newest_event:
            report.newest_event = time
        sli_events = self.classifier.classify(event)
        samples = self.classifier.latency_samples(event)
        if self.counting_only:
            if self.memory is not None and event.correlation_id:
                head = heads.get(event.correlation_id)
                if head is None:
                    head = heads[event.correlation_id] = TraceHead(correlation_id=event.correlation_id)
                stitched = self.stitcher.apply(head, event, stream, shard)
                sli_events.extend(stitched.sli_events)
                samples.extend(stitched.latency_samples)
            _count_all(chunk, self._inside(sli_events), self._inside(samples), report, self.groups)
            return
        cid = event.correlation_id
        if event.action in self.vocabulary:  # an ID the producer had to mint is no propagation
            # event.metadata, inline: it runs per event
            propagated = bool(cid) and not (
                isinstance(metadata := event.log.get("metadata"), dict) and metadata.get("correlationIdMinted") is True
            )
            chunk.count(conventions.TRACE_COVERAGE_SLI, time, propagated)
        if not cid:  # counts for event-ratio and time-slice SLIs; joins no trace
            _count_all(chunk, sli_events, samples, report, self.groups)
            return
        head = heads.get(cid)
        if head is None:
            head = heads[cid] = TraceHead(cid)
        was_open = head.open_since_ms is not None  # is_open, inline: it runs per event
        stitched = self.stitcher.apply(head, event, stream, shard)  # in place: `heads` is this batch's working copy
        if stitched.changed:
            chunk.heads[cid] = head
            delta = (head.open_since_ms is not None) - was_open
            if delta:
                chunk.gauge(conventions.OPEN_UNITS_GAUGE, delta)
                if delta > 0 and head.open_since_ms is not None and head.open_since_ms / 1000 < self._oldest_opened:
                    self._oldest_opened = head.open_since_ms / 1000
            if stitched.sli_events or stitched.latency_samples or delta:
                chunk.decisions.add(cid)
        if stitched.sli_events:
            sli_events.extend(stitched.sli_events)
        if stitched.latency_samples:
            samples.extend(stitched.latency_samples)
        _count_all(chunk, sli_events, samples, report, self.groups)

    def _commit(
        self,
        stream: str,
        shard: str,
        chunk: Chunk,
        expected: Position | None,
        newest_known: float | None,
        report: BatchReport,
        pending: Sequence[DecodedRecord],
        committed: BatchReport,
        in_chunk: list[Position],
    ) -> bool:
        assert chunk.last_position is not None
        advance = CheckpointAdvance(
            stream, shard, expected, chunk.last_position, _newest(newest_known, chunk.newest_event), self._arrival
        )

        def written(count: int) -> None:
            report.heads_written += count

        try:
            write_chunk(self.store, chunk, advance, self.trace_ttl_seconds, written)
        except TransientStoreError as exc:
            report.error = str(exc)
            report.error_kind = exc.kind
            report.failed_from_sequence = _first_unapplied(pending, expected)
            return False
        except StoreUnavailableError:
            raise
        except StoreError as exc:  # refused for good (an item too large): find the event, skip it
            if not in_chunk:
                raise
            raise _Retry(committed, str(exc), None, list(in_chunk)) from exc
        report.commits += 1
        return True


def _failed_after(committed: BatchReport, attempt: BatchReport, chunk_end: Position | None) -> BatchReport:
    """A pass a transient error stopped counts what landed before the failed commit, with the failure, and
    holds that commit's own counts apart (`unconfirmed`): a retry counts whatever did not land, so a summary
    over retries that merged the whole attempt would count the failed commit's events and skips twice."""
    committed.error, committed.error_kind = attempt.error, attempt.error_kind
    committed.failed_from_sequence = attempt.failed_from_sequence
    committed.unconfirmed = BatchReport(
        events=attempt.events - committed.events,
        sli_events=attempt.sli_events - committed.sli_events,
        latency_samples=attempt.latency_samples - committed.latency_samples,
        skips=attempt.skips - committed.skips,
        notes=attempt.notes - committed.notes,
        heads_written=attempt.heads_written - committed.heads_written,
        commits=1,
    )
    committed.unconfirmed_until = chunk_end
    return committed


def _count_all(
    chunk: Chunk, sli_events: list[SliEvent], samples: list[LatencySample], report: BatchReport, groups: GroupCounter
) -> None:
    if sli_events:  # most events feed one SLI or none, and no sketch: each loop costs only when it has work
        count = chunk.count
        for sli_event in sli_events:
            count(sli_event.sli, sli_event.time, sli_event.good, sli_event.correlation_id)
            if sli_event.group is not None:  # a grouped SLO counts the whole and the group
                groups.count(chunk, sli_event, report.notes)
        report.sli_events += len(sli_events)
    if samples:
        sample = chunk.sample
        for one in samples:
            sample(one)
        report.latency_samples += len(samples)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while a batch is applied. The batch allocates many objects that
    live until its commit (decoded events, heads, their stored JSON) and makes almost no cycles, so the
    collections the allocations trigger walk the whole batch again and again for nothing (about a tenth of
    the CPU of a 5,000-record batch); reference counting still frees everything else as it goes."""
    if not gc.isenabled():  # the caller's choice stands
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _newest(current: float | None, candidate: float | None) -> float | None:
    if candidate is None:
        return current
    return candidate if current is None else max(current, candidate)


def _fresh_neighbour(records: Sequence[DecodedRecord], index: int, applied: Position | None) -> bool:
    """Whether a record without a sequence number arrives for the first time: it has no position of its own,
    so it goes by its nearest neighbour in delivery order (the next one, else the previous one)."""
    later = [r for r in records[index + 1 :] if r.sequence >= 0]
    earlier = [r for r in records[:index] if r.sequence >= 0]
    neighbour = later[0] if later else (earlier[-1] if earlier else None)
    return neighbour is None or applied is None or neighbour.last_position > applied


def _first_unapplied(pending: Sequence[DecodedRecord], applied: Position | None) -> int:
    for record in pending:
        if applied is None or record.last_position > applied:
            return record.sequence
    return pending[-1].sequence
