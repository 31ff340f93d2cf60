"""A read view of the store for one evaluation: SLI counts, exemplars and latency over any window.

Reads are memoised per view, so the evaluator's many windows over one `now` share bucket queries.
"""

from __future__ import annotations

from functools import lru_cache

from processors import conventions
from processors.counting import Counts, Rows, count_slices, window_counts
from processors.spec.model import Slo, TimeSliceSli
from processors.store.base import Store
from processors.timeutil import floor_to

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


class StoreView:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._rows = lru_cache(maxsize=4096)(self._read_rows)

    def _read_rows(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        return self.store.buckets(sli, resolution, start, end)

    def counts(self, slo: Slo, start: int, end: int) -> Counts:
        return self.counts_for(slo.name, slo.sli, start, end)

    def counts_for(self, name: str, sli: object, start: int, end: int) -> Counts:
        if isinstance(sli, TimeSliceSli):
            hours = self._rows(name, conventions.RESOLUTION_HOUR, floor_to(start, conventions.HOUR), end)
            return count_slices(hours, start, end, sli.slice_seconds, sli.min_ratio)
        return window_counts(self._rows, name, start, end)

    def bad_exemplars(self, slo_name: str, start: int, end: int, limit: int) -> list[str]:
        return self.store.exemplars(slo_name, start, end, limit)

    def latency_quantiles(self, sketch: str, start: int, end: int) -> dict[str, float] | None:
        digest = self.store.digest(sketch, start, end)
        if digest is None:
            return None
        values = {name: digest.quantile(q) for name, q in QUANTILES.items()}
        return {name: round(float(value), 3) for name, value in values.items() if value is not None} or None

    def trace_coverage(self, start: int, end: int) -> Counts:
        return window_counts(self._rows, conventions.TRACE_COVERAGE_SLI, start, end)
