"""Sweep open units of work (the spec's journey) past max_runtime into bad resolutions, once each.

Each swept trace head is written under its version with its counters in one commit, so a retried or
overlapping sweep finds the claim already made and counts nothing twice. The scheduled sweeper Lambda and
`slo replay` (at each minute of event time) both call `Sweeper.sweep`. A unit whose stored head does not
decode is left as it is, logged and skipped (`damaged`), so it never stalls the sweep.
"""

from __future__ import annotations

import logging

from processors.classifying.classify import Classifier
from processors.conventions import DAY, OPEN_UNITS_GAUGE
from processors.ingest.chunking import Chunk, items_per_event, time_slices, write_chunk
from processors.spec.model import Spec
from processors.stitching.model import is_open
from processors.stitching.stitch import sweep_orphan
from processors.store.base import Store
from processors.store.exceptions import TransientStoreError

logger = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, store: Store, spec: Spec) -> None:
        self.store = store
        self.spec = spec
        self.slices = time_slices(spec)
        self.items_per_event = items_per_event(spec, Classifier(spec).max_matches())
        self.trace_ttl_seconds = spec.trace_ttl_days * DAY
        self.damaged: frozenset[str] = frozenset()  # the due units the last sweep skipped: their heads do not decode

    def sweep(self, now: float, oldest_applied: float | None = None) -> int:
        """Count open units past max_runtime as bad resolutions, once each. Returns how many. `oldest_applied`:
        the oldest event time applied since the previous sweep, when the caller knows it (Store.open_units)."""
        due = self.store.open_units(now - self.spec.max_runtime, oldest_applied)
        swept = 0
        read = self.store.read_heads(due)
        heads, self.damaged = read.heads, read.damaged
        for cid in sorted(self.damaged):
            logger.error("stored trace head %s does not decode; its open unit is not swept", cid,
                         extra={"correlation_id": cid})
        chunk = Chunk(self.slices)
        limit = self.store.max_items_per_commit
        for cid in due:
            head = heads.get(cid)
            result = sweep_orphan(head, self.spec, now) if head else None
            if result is None:
                continue
            if limit and chunk.item_count() + self.items_per_event > limit:
                swept += self._commit(chunk)
                chunk = Chunk(self.slices)
            chunk.heads[cid] = result.head
            chunk.decisions.add(cid)
            chunk.gauge(OPEN_UNITS_GAUGE, int(is_open(result.head)) - int(is_open(head)))
            for sli_event in result.sli_events:
                chunk.count(sli_event.sli, sli_event.time, sli_event.good, sli_event.correlation_id)
        return swept + self._commit(chunk)

    def _commit(self, chunk: Chunk) -> int:
        if chunk.is_empty():
            return 0
        try:
            write_chunk(self.store, chunk, None, self.trace_ttl_seconds)
        except TransientStoreError:
            return 0  # a racing writer moved a head; the next sweep sees the new state
        return len(chunk.heads)
