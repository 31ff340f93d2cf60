"""Commits within the store's item limit: a Chunk gathers one commit's changes, `write_chunk` lands it.

A batch is cut into chunks so that no transaction exceeds the store's limit (DynamoDB: 100 items); each
chunk carries its own checkpoint advance, so a crash between two chunks resumes after the first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from math import isfinite

from processors import conventions
from processors.classifying.classify import LatencySample
from processors.counting import slice_field_index
from processors.decoding.types import Position
from processors.spec.model import Spec, TimeSliceSli
from processors.stitching.model import TraceHead
from processors.store.base import Store
from processors.store.keys import trace_expires_at
from processors.store.types import CheckpointAdvance, Commit, CounterKey, DigestKey, HeadWrite, commit_item_count
from processors.timeutil import MAX_EPOCH as _MAX_EPOCH
from processors.timeutil import MIN_EPOCH as _MIN_EPOCH
from processors.timeutil import floor_to

_MINUTE = conventions.MINUTE


def time_slices(spec: Spec) -> dict[str, TimeSliceSli]:
    """Series -> its time-slice SLI, for the per-slice fields of hour buckets."""
    return {slo.series(): slo.sli for slo in spec.slos if isinstance(slo.sli, TimeSliceSli)}


def items_per_event(spec: Spec, max_matches: int) -> int:
    """An upper bound on the items one event can add to a commit, to cut chunks before the limit: minute and
    hour items for each SLI or sketch it can feed (`max_matches` from the classifier), coverage, its head, the
    gauge."""
    stitched = sum(1 for slo in spec.slos if slo.kind in ("resolution", "latency"))
    stitched += sum(1 for sketch in spec.latency if sketch.stitched or sketch.between)
    return 2 * (max_matches + stitched + 1) + 2


class Chunk:
    """One commit under construction: counters, exemplars, latency values, trace heads and gauge deltas."""

    def __init__(self, slices: Mapping[str, TimeSliceSli]) -> None:
        self.slices = slices
        # count() makes its rows plain dicts (_counter); rows written directly (grouping's registry) are Counters
        self.counters: dict[CounterKey, dict[str, int]] = defaultdict(Counter)
        # (sli, minute) -> its minute and hour counters, and its time-slice SLI: `count` runs per SLI event
        self._buckets: dict[tuple[str, int], tuple[dict[str, int], dict[str, int], TimeSliceSli | None]] = {}
        self._values: dict[tuple[str, int], tuple[list[float], list[float]]] = {}  # the same for `sample`
        self.exemplars: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.latency: dict[DigestKey, list[float]] = defaultdict(list)
        self.heads: dict[str, TraceHead] = {}
        self.decisions: set[str] = set()  # heads whose change counted something: they commit with the counters
        self.gauges: Counter[str] = Counter()
        self.last_position: Position | None = None
        self.newest_event: float | None = None

    def count(self, sli: str, moment: float, good: bool, correlation_id: str = "") -> None:
        # floor_to(moment, MINUTE), its usual case inline (this runs per SLI event); any other moment goes through it
        minute = int(moment // _MINUTE) * _MINUTE if _MIN_EPOCH <= moment <= _MAX_EPOCH else floor_to(moment, _MINUTE)
        buckets = self._buckets.get((sli, minute))
        if buckets is None:
            hour = minute // conventions.HOUR * conventions.HOUR
            buckets = self._buckets[(sli, minute)] = (
                self._counter(CounterKey(sli, conventions.RESOLUTION_MINUTE, minute)),
                self._counter(CounterKey(sli, conventions.RESOLUTION_HOUR, hour)),
                self.slices.get(sli),
            )
        minutely, hourly, time_slice = buckets
        minutely["total"] += 1  # item arithmetic on plain dicts: a Counter's items cost twice as much
        hourly["total"] += 1
        if good:
            minutely["good"] += 1
            hourly["good"] += 1
        if time_slice is not None:
            good_count = int(good)
            index = slice_field_index(moment, time_slice.slice_seconds)
            good_field, total_field = f"g{index}", f"t{index}"
            hourly[good_field] = hourly.get(good_field, 0) + good_count
            hourly[total_field] = hourly.get(total_field, 0) + 1
        if not good and correlation_id:
            ids = self.exemplars[(sli, minute)]
            if len(ids) < conventions.EXEMPLARS_PER_BUCKET_PER_COMMIT and correlation_id not in ids:
                ids.append(correlation_id)

    def _counter(self, key: CounterKey) -> dict[str, int]:
        """The fields of `key`, "good" and "total" first (to_commit drops the zero ones)."""
        fields = self.counters.get(key)
        if fields is None:
            fields = self.counters[key] = {"good": 0, "total": 0}
        else:
            fields.setdefault("good", 0)
            fields.setdefault("total", 0)
        return fields

    def sample(self, sample: LatencySample) -> None:
        value, moment = sample.value_ms, sample.time
        if not isfinite(value):
            return
        minute = int(moment // _MINUTE) * _MINUTE if _MIN_EPOCH <= moment <= _MAX_EPOCH else floor_to(moment, _MINUTE)
        values = self._values.get((sample.sketch, minute))
        if values is None:
            hour = minute // conventions.HOUR * conventions.HOUR
            values = self._values[(sample.sketch, minute)] = (
                self.latency[DigestKey(sample.sketch, conventions.RESOLUTION_MINUTE, minute)],
                self.latency[DigestKey(sample.sketch, conventions.RESOLUTION_HOUR, hour)],
            )
        values[0].append(value)
        values[1].append(value)

    def gauge(self, name: str, delta: int) -> None:
        if delta:
            self.gauges[name] += delta

    def item_count(self) -> int:
        """Items of the checkpointed commit (heads that decided nothing are written ahead of it)."""
        return commit_item_count(
            checkpoint=True,
            counters=len(self.counters),
            digests=len(self.latency),
            heads=len(self.decisions),
            gauges=len(self.gauges),
        )

    def split_heads(self) -> tuple[dict[str, TraceHead], dict[str, TraceHead]]:
        """(heads that only recorded events, heads that made a claim or moved the gauge)."""
        plain = {cid: head for cid, head in self.heads.items() if cid not in self.decisions}
        decided = {cid: head for cid, head in self.heads.items() if cid in self.decisions}
        return plain, decided

    def is_empty(self) -> bool:
        return not (self.counters or self.latency or self.heads or self.gauges)

    def to_commit(
        self, advance: CheckpointAdvance | None, trace_ttl: int, heads: Mapping[str, TraceHead] | None = None
    ) -> Commit:
        """The store's Commit of this chunk, with `heads` (default: all of the chunk's) expiring `trace_ttl`
        seconds after they were first seen."""
        digests = {}
        if self.latency:
            from processors.sketch import TDigest  # numpy only when a chunk has values to sketch

            digests = {key: TDigest.from_values(values) for key, values in self.latency.items()}
        return Commit(
            checkpoint=advance,
            counters={key: {name: n for name, n in fields.items() if n} for key, fields in self.counters.items()},
            exemplars={key: ids for key, ids in self.exemplars.items() if ids},
            digests=digests,
            gauges={name: delta for name, delta in self.gauges.items() if delta},
            heads={
                cid: HeadWrite(head=head, ttl=trace_expires_at(head.first_seen_ms, trace_ttl))
                for cid, head in (self.heads if heads is None else heads).items()
            },
        )


def write_chunk(
    store: Store,
    chunk: Chunk,
    advance: CheckpointAdvance | None,
    trace_ttl: int,
    heads_written: Callable[[int], None] = lambda count: None,
) -> None:
    """Land one chunk; `heads_written` hears of each group of heads as it lands.

    With a limit, heads that decided nothing only recorded events: re-applying those is a no-op, so they land
    ahead of the checkpoint, packed densely, instead of crowding the counters' transactions. The store's
    errors propagate; a TransientStoreError after some of the ahead-of-checkpoint groups is harmless.
    """
    limit = store.max_items_per_commit
    groups: list[Mapping[str, TraceHead]] = []
    if limit is None:  # one transaction holds everything
        decided: Mapping[str, TraceHead] = chunk.heads
    else:
        plain, decided = chunk.split_heads()
        cids = list(plain)
        groups = [{cid: plain[cid] for cid in cids[offset : offset + limit]} for offset in range(0, len(cids), limit)]
    for group in groups:
        store.commit(Chunk(chunk.slices).to_commit(None, trace_ttl, group))
        _written(group, heads_written)
    store.commit(chunk.to_commit(advance, trace_ttl, decided))
    _written(decided, heads_written)


def _written(heads: Mapping[str, TraceHead], heads_written: Callable[[int], None]) -> None:
    for head in heads.values():
        head.version += 1  # the batch's working copy now matches what the store holds
    heads_written(len(heads))
