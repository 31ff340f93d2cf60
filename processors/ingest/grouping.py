"""Grouped SLOs at ingest: the series an event of a grouped SLO counts in, under the SLO's group_limit.

The first `group_limit` distinct values an SLO meets get a series each (Slo.series); later values fold
into GROUP_OTHER and are counted as the note `group_folded`. The admitted values are a registry series in the
store (keys.group_registry_series), written in the same commit as the counts they admit, so an admission is
applied exactly once like the counts. Shards that admit at the same moment can each take the last free place:
the limit is exceeded by at most one value per concurrent writer (docs/store.md). A registry that does not decode
costs only its SLO's per-group counting, when the caller asks (docs/store.md, Damaged group registries).
"""

from __future__ import annotations

from collections import Counter

from processors import conventions
from processors.classifying.classify import SliEvent
from processors.ingest.chunking import Chunk
from processors.spec.model import Spec
from processors.stitching.redaction import storable_id
from processors.store import keys
from processors.store.base import Store
from processors.store.exceptions import CorruptItemError
from processors.store.types import CounterKey
from processors.timeutil import floor_to


def admit(known: set[str], value: str, limit: int) -> tuple[str, bool]:
    """(the group `value` counts under, whether that group is new to `known`). GROUP_OTHER takes no place."""
    if value in known:
        return value, False
    if value != conventions.GROUP_OTHER and len(known - {conventions.GROUP_OTHER}) >= limit:
        return conventions.GROUP_OTHER, conventions.GROUP_OTHER not in known
    return value, True


class GroupCounter:
    """Counts the SLI events of grouped SLOs into their group series, admitting new values as it goes."""

    def __init__(self, spec: Spec) -> None:
        self.grouped = {slo.series(): slo for slo in spec.slos if slo.group_by}  # SliEvent.sli is the series
        self.known: dict[str, set[str]] = {}
        self.unreadable: frozenset[str] = frozenset()  # series whose registry did not decode at the last load

    def load(self, store: Store, damaged: dict[str, str] | None = None) -> None:
        """Read every grouped SLO's registry: at the start of each pass over a batch, so a retried pass starts
        from what the store holds, not from what an abandoned pass admitted.

        Given `damaged` (the ingest Lambda's), a registry that does not decode is named there (series: the
        CorruptItemError's text) and its SLO's events are counted without their groups until the next load: which
        values it admitted is unknown, so no group can be counted, or admitted, without counting past
        `group_limit` or admitting a value twice. Without it the CorruptItemError is raised."""
        known: dict[str, set[str]] = {}
        unreadable: set[str] = set()
        for series in self.grouped:
            try:
                known[series] = store.groups(series)
            except CorruptItemError as exc:
                if damaged is None:
                    raise
                damaged[series] = str(exc)
                unreadable.add(series)
        self.known, self.unreadable = known, frozenset(unreadable)

    def count(self, chunk: Chunk, event: SliEvent, notes: Counter[str]) -> None:
        slo = self.grouped.get(event.sli)
        if slo is None or event.group is None:
            return
        if event.sli in self.unreadable:  # the whole SLO is counted (the caller's): only the group is left out
            notes[conventions.NOTE_GROUP_REGISTRY_DAMAGED] += 1
            return
        # the value names a series, an alert, a notification and a metric dimension: text from the log, redacted
        # as a trace's metadata is, then cut
        value = storable_id(event.group, conventions.MAX_GROUP_CHARS)
        known = self.known.setdefault(event.sli, set())
        group, new = admit(known, value, slo.group_limit)
        if group != value:
            notes[conventions.NOTE_GROUP_FOLDED] += 1
        if new:
            known.add(group)
            hour = floor_to(event.time, conventions.HOUR)
            registry = keys.group_registry_series(event.sli)
            chunk.counters[CounterKey(registry, conventions.RESOLUTION_HOUR, hour)][keys.group_field(group)] += 1
        chunk.count(slo.series(group), event.time, event.good, event.correlation_id)

    def items_per_event(self) -> int:
        """Items one event can add beyond the SLO's own: its group's minute and hour, and a registry row."""
        return 3 * len(self.grouped)
