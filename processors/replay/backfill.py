"""Re-derive one SLO's current revision from history (`slo backfill`), exactly once.

History (replay files or CloudWatch Logs, as `slo replay` and `slo import` read them) goes through the ingest
path in counting-only mode, with the spec narrowed to the one SLO: only that SLO's series under its current
revision (and a grouped SLO's group series and registry) are written; no other SLO, revision, trace head,
gauge or coverage counter is touched. Each source keeps its checkpoint under a stream of its own
(keys.backfill_stream), apart from the live ingest's, and the plan (the SLO, its revision and the time range)
is recorded by the first run at its first write (Store.begin_backfill), so a rerun or a run resumed after an
interruption applies each record once, over the same range.

The range ends where the live ingest began counting the revision (its first recorded minute), so the two never
count the same event; a revision nothing counted yet is backfilled up to the newest ingested minute. A latency
or resolution SLI is stitched by correlation ID into heads held in memory, never the store's: each run
stitches all of the history read again (events a checkpoint already covers are stitched, not counted), so a
resumed run decides every unit as an uninterrupted one would; a resolution SLI's orphan sweep runs on those
heads at each minute event time passes, its counts checkpointed by minute (keys.BACKFILL_SWEEP_STREAM).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from processors import conventions
from processors.ingest import Ingestor
from processors.replay.runner import Replayer
from processors.replay.sources import ShardBatch
from processors.spec.model import Spec
from processors.store import keys
from processors.store.base import Store
from processors.timeutil import floor_to

STITCHED_KINDS = ("latency", "resolution")  # decided per correlation ID: stitched in memory


class BackfillError(Exception):
    """A backfill that cannot be planned (an unknown or stitched SLO, an empty range): one line for the user."""


@dataclass(frozen=True)
class BackfillPlan:
    slo: str
    revision: str
    since: int  # epoch seconds: events with since <= time < until are counted
    until: int

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> BackfillPlan:
        return cls(str(document["slo"]), str(document["revision"]), int(document["since"]), int(document["until"]))


def backfill_spec(spec: Spec, name: str) -> Spec:
    """`spec` narrowed to SLO `name`: the classifier then derives that SLO's events and nothing else."""
    names = spec.names
    if name not in names:
        raise BackfillError(f"--slo: no SLO named {name!r}; the spec has: {', '.join(names)}")
    slo = spec.slo(name)
    sketches = tuple(sketch for sketch in spec.latency if sketch.stitched == name)  # revised with the SLO
    return dataclasses.replace(spec, slos=(slo,), counters=(), latency=sketches, vocabulary=())


def live_start(store: Store, spec: Spec, name: str) -> int | None:
    """Where the live ingest began counting SLO `name`'s current revision; else the end of the newest
    ingested minute (None for an empty store)."""
    slo = spec.slo(name)
    first = store.revisions(name).get(slo.revision)
    return first if first is not None else store.default_at()


def recorded_plan(store: Store, spec: Spec, name: str) -> BackfillPlan | None:
    """The plan a first run recorded for SLO `name`'s current revision, or None."""
    document = store.backfill_plan(name, spec.slo(name).revision)
    return None if document is None else BackfillPlan.from_document(document)


def begin(store: Store, plan: BackfillPlan) -> BackfillPlan:
    """The plan to follow: `plan` when this is the first run for (SLO, revision), else the first run's."""
    return BackfillPlan.from_document(store.begin_backfill(plan.to_document()))


class Backfiller(Replayer):
    """Applies shard batches to one SLO's current revision only, within the plan's range, exactly once. `run` is
    the replay's (arrival order, no backtest: history was evaluated when it was live), ending in `finish`."""

    def __init__(self, store: Store, spec: Spec, plan: BackfillPlan, *, recorded: bool = True) -> None:
        """`recorded`: whether `plan` is already the store's (a rerun); a first run's plan is recorded at its
        first write, so a run refused before it (bad input, no connection) leaves the store as it was."""
        super().__init__(store, spec)
        narrowed = backfill_spec(spec, plan.slo)
        if narrowed.slo(plan.slo).revision != plan.revision:
            raise BackfillError(f"the plan is for revision {plan.revision}, the spec's is "
                                f"{narrowed.slo(plan.slo).revision}")
        self.plan = plan
        self.series = narrowed.slo(plan.slo).series()
        # a latency SLI is stitched: every run stitches all of the history again, into heads held in memory
        kind = narrowed.slo(plan.slo).kind
        self.ingestor = Ingestor(store, narrowed, counting_only=True, window=(plan.since, plan.until),
                                 stitch_in_memory=kind in STITCHED_KINDS)
        self.sweeps = kind == "resolution"  # the orphan sweep resolves units too: swept in memory, minute by minute
        self.sweep_stream = keys.backfill_stream(self.series, keys.BACKFILL_SWEEP_STREAM)
        self.outside = 0  # events of the sources outside [since, until)
        self.newest: float | None = None  # the newest event read, applied before or not
        self._recorded = recorded

    def _record_plan(self) -> None:
        if self._recorded:
            return
        kept = begin(self.ingestor.store, self.plan)
        if kept != self.plan:
            raise BackfillError(f"another backfill of {self.plan.slo} began meanwhile, over "
                                f"[{kept.since}, {kept.until}): run this one again to follow its range")
        self._recorded = True

    def advance_to(self, moment: float) -> None:
        """A resolution SLI's in-memory orphan sweep at each minute event time passes, as a replay sweeps."""
        self._record_plan()
        for minute in self.due_minutes(moment):
            if self.sweeps:
                self.report.orphans_swept += self.ingestor.sweep_in_memory(minute, self.sweep_stream, "minutes")

    def finish(self) -> None:
        """The sweep of the minute after the newest event read (as a replay ends), then fold what the backfill
        wrote into the rolled items now (its events are past every watermark), so reads do not pay for its
        many partials until the next scheduled rollup (docs/store.md)."""
        self._record_plan()
        if self.newest is not None:
            self.advance_to(floor_to(self.newest, conventions.MINUTE) + conventions.MINUTE)
        self.ingestor.store.rollup(time.time()).checked()

    def apply(self, batch: ShardBatch) -> None:
        """Apply `batch` under the backfill's own stream; the ingestor counts only SLI events (and latency
        values) timed inside the plan's range, so a stitched unit that began before it still counts."""
        self._record_plan()
        since, until = self.plan.since, self.plan.until
        times = [event.time for record in batch.records for event in record.events]
        self.outside += sum(1 for moment in times if not since <= moment < until)
        if times:
            self.newest = max(self.newest or max(times), max(times))
        super().apply(dataclasses.replace(batch, stream=keys.backfill_stream(self.series, batch.stream)))
