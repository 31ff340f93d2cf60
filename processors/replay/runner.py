"""Replay batches through the same ingest path the Lambda uses, in arrival order, with backtest hooks.

As event time passes each minute boundary, the orphan sweep, the rollup and the minute hooks (the
evaluator's backtest) run at that minute, exactly as the scheduled functions would have. Several processes
replaying one shard file each run without that schedule (`schedule=False`, the ingest Lambda's share);
`run_pending` then runs it once, over the partials they wrote, in their batches' arrival order.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from processors import conventions
from processors.ingest import BatchReport, Ingestor
from processors.replay.sources import ShardBatch
from processors.spec.model import Spec
from processors.store.base import Store
from processors.store.keys import PartialDelta, PendingPartial
from processors.store.types import Commit, CounterKey, DigestKey
from processors.sweeping import Sweeper
from processors.timeutil import floor_to

MinuteHook = Callable[[int], None]
MAX_ATTEMPTS = 8
BACKOFF_BASE = 0.05  # seconds; doubled per attempt, capped, with full jitter (AWS's advice for retries)
BACKOFF_CAP = 2.0
CommitListener = Callable[[Commit], None]
# a stretch of event time with no data longer than this is jumped, not walked minute by minute: the
# backtest never steps more minutes than the data spans (a year-long gap once took minutes of CPU)
GAP_SECONDS = conventions.HOUR


@dataclass
class ReplayReport(BatchReport):
    """The batches' totals plus what only a replay has: files, the sweep and the backtest."""

    files: int = 0
    batches: int = 0
    orphans_swept: int = 0
    minutes_evaluated: int = 0
    failed_batches: int = 0
    conflict_retries: int = 0  # attempts repeated after a lost race (checkpoint, head version, TransactionConflict)
    throttle_retries: int = 0
    transient_retries: int = 0  # timeouts and 5xx: the retry's conditions decide whether the first one committed

    def add(self, report: BatchReport) -> None:
        self.batches += 1
        self.merge(report)


class _Observed:
    """The store, with each commit it accepts also handed to a listener (the backtest's window view)."""

    def __init__(self, store: Store, listener: CommitListener) -> None:
        self._store = store
        self._listener = listener

    def commit(self, commit: Commit) -> None:
        self._store.commit(commit)  # raises when refused: the listener sees only what the store applied
        self._listener(commit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class Replayer:
    def __init__(
        self,
        store: Store,
        spec: Spec,
        minute_hooks: Iterable[MinuteHook] = (),
        on_commit: CommitListener | None = None,
        schedule: bool = True,
    ) -> None:
        observed = store if on_commit is None else cast(Store, _Observed(store, on_commit))
        self.schedule = schedule  # False: ingest only (no sweep, rollup or minute hooks)
        self.rollup_each_minute = True
        self.on_commit = on_commit
        self.ingestor = Ingestor(observed, spec)
        self.sweeper = Sweeper(observed, spec)
        self.minute_hooks = list(minute_hooks)
        self.report = ReplayReport()
        self.random = random.Random(0)  # jitter only: a fixed seed keeps replays reproducible
        self.sleep: Callable[[float], None] = time.sleep
        self._last_minute: int | None = None
        self._data_minutes: set[int] = set()  # minutes of applied events that the hooks have not passed yet
        # the oldest event time this replay applied since its last sweep, or the oldest start of a unit it opened
        # if older, where the next sweep re-reads from (units older than the sweep cursor can only be ones it
        # opened); None before its first sweep, which cannot know what other writers wrote since the cursor moved
        self._oldest_applied: float | None = None

    def run(
        self, batches: Iterable[ShardBatch], progress: Callable[[int, int], None] | None = None
    ) -> ReplayReport:
        """Apply `batches` in the order given (arrival order: see sources.arrival_order), one at a time, so
        memory holds one batch per input file. `progress(bytes_read, events)` follows each batch."""
        for batch in batches:
            if batch.order_time:
                self.advance_to(batch.order_time)
            self.apply(batch)
            if progress:
                progress(batch.bytes_read, self.report.events)
        self.finish()
        return self.report

    def run_pending(self, partials: Iterable[PendingPartial], newest_event: float | None) -> ReplayReport:
        """The schedule of a replay whose batches were applied without it (`schedule=False`, one process per
        shard file): the partials they wrote, in their batches' arrival order, go to the commit listener (the
        backtest's window view) with the sweep, the rollup and the minute hooks run at each minute boundary
        between them, as one process replaying every file would have run them. Then `finish` at the minute
        after `newest_event`. The rollup runs once, at the end: every minute it would re-read every partial
        still pending, and nothing here reads the rolled items (the hooks read the window view)."""
        self.rollup_each_minute = False
        for partial in sorted(partials, key=_arrival_order):
            arrival = _arrival(partial)
            if arrival:
                self.advance_to(arrival)
            if self.on_commit is not None:
                self.on_commit(_commit_of(partial.delta))
        self.report.newest_event = newest_event
        self.finish()
        if self._last_minute is not None:
            self.ingestor.store.rollup(self._last_minute).checked()
        return self.report

    def finish(self) -> None:
        """The minute hooks of the minute after the newest event (the replay's last evaluation)."""
        if self.report.newest_event is not None:
            self.advance_to(floor_to(self.report.newest_event, conventions.MINUTE) + conventions.MINUTE)

    def apply(self, batch: ShardBatch) -> None:
        applied = BatchReport()
        already_applied: int | None = None
        for attempt in range(MAX_ATTEMPTS):  # a retry resumes from the checkpoint, as Lambda's would
            report = self.ingestor.apply_batch(batch.stream, batch.shard, batch.records, batch.order_time or None)
            if already_applied is None:
                already_applied = report.records_already_applied  # later attempts also skip what earlier ones wrote
            applied.merge(report)
            if report.failed_from_sequence is None:
                break
            if report.unconfirmed is not None and self.ingestor.landed(report, batch.stream, batch.shard):
                applied.merge(report.unconfirmed)  # the commit landed, its response was lost: count it now
            kind = report.error_kind or "transient"
            setattr(self.report, f"{kind}_retries", getattr(self.report, f"{kind}_retries") + 1)
            if attempt + 1 < MAX_ATTEMPTS:
                self.sleep(self.random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)))
        else:
            self.report.failed_batches += 1
        times = [event.time for record in batch.records for event in record.events]
        oldest, newest = (min(times), max(times)) if times else (math.inf, -math.inf)
        opened = self.ingestor.take_oldest_opened()  # a unit opened again keeps its old opening time
        if self._oldest_applied is not None:
            self._oldest_applied = min(self._oldest_applied, oldest, opened)
        applied.records = len(batch.records)
        applied.records_already_applied = already_applied or 0
        self.report.add(applied)
        if self.schedule and times:
            self._note_data(oldest, newest, times)

    def _note_data(self, oldest: float, newest: float, times: list[float]) -> None:
        """Keep the minutes a batch's events reach for due_minutes: only its first and last when they are no
        more than GAP_SECONDS apart (every minute between is walked anyway), each one otherwise."""
        first, last = floor_to(oldest, conventions.MINUTE), floor_to(newest, conventions.MINUTE)
        minutes = {first, last} if last - first <= GAP_SECONDS else {floor_to(t, conventions.MINUTE) for t in times}
        passed = self._last_minute if self._last_minute is not None else -math.inf
        self._data_minutes.update(minute for minute in minutes if minute > passed)

    def advance_to(self, moment: float) -> None:
        """Run the minute hooks for every minute boundary up to `moment`."""
        if not self.schedule:
            return
        for minute in self.due_minutes(moment):
            self.report.orphans_swept += self.sweeper.sweep(minute, self._oldest_applied)
            self._oldest_applied = math.inf
            if self.rollup_each_minute:
                self.ingestor.store.rollup(minute).checked()  # what the scheduled evaluator does first (docs/store.md)
            for hook in self.minute_hooks:
                hook(minute)
            self.report.minutes_evaluated += 1

    def due_minutes(self, moment: float) -> list[int]:
        """The minute boundaries event time passes on its way to `moment` (none on the first call).

        A stretch of more than GAP_SECONDS without data is jumped, to its far end. The data is what the batches
        applied so far hold, not only where they start: a batch applies every event at its earliest (a quiet
        log stream's file of one batch can span days), so the minutes its events reach are walked too."""
        target = floor_to(moment, conventions.MINUTE)
        if self._last_minute is None:
            self._last_minute = target
            return []
        at = self._last_minute
        if target <= at:
            return []
        stops = sorted(minute for minute in self._data_minutes if minute <= target)
        self._data_minutes.difference_update(stops)
        due: list[int] = []
        for stop in (*stops, target):
            if stop <= at:
                continue
            if stop - at > GAP_SECONDS:
                due.append(stop)  # the sweep and the evaluation there see everything the gap held
            else:
                due.extend(range(at + conventions.MINUTE, stop + 1, conventions.MINUTE))
            at = stop
        self._last_minute = target
        return due


def _arrival(partial: PendingPartial) -> float:
    """When its batch arrived; 0 for a batch without an arrival time, which one replay applies first (the
    k-way merge sorts it first) without moving its clock."""
    return partial.delta.arrival if partial.delta.arrival is not None else 0.0


def _arrival_order(partial: PendingPartial) -> tuple[float, str, int]:
    """One process's order: batches by arrival (ties: the shard files' order), a batch's chunks as written."""
    return _arrival(partial), partial.writer, partial.written_ns


def _commit_of(delta: PartialDelta) -> Commit:
    """The commit a partial came from, as far as readers see it (its heads and checkpoint are elsewhere)."""
    from processors.sketch import TDigest

    return Commit(
        counters={CounterKey(*key): dict(fields) for key, fields in delta.counters.items()},
        exemplars={key: list(ids) for key, ids in delta.exemplars.items()},
        digests={DigestKey(*key): TDigest.from_bytes(blob) for key, blob in delta.digests.items()},
        gauges=dict(delta.gauges),
    )
