"""A read view of the store for one evaluation (or one report): the evaluator's SliView over a Store.

Reads are memoised per view, so the evaluator's many windows over one `now` share bucket queries (one Query of
hour rows and one of recent minutes per series serve every window's hours and short edges), and a report's many
steps share one alert-log read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from processors import conventions
from processors.counting import Counts, Rows, count_slices, slice_outcomes, window_counts
from processors.spec.model import Slo, TimeSliceSli
from processors.stitching.model import TraceHead
from processors.store.base import Store, transition_time
from processors.store.exceptions import StoreError
from processors.timeutil import floor_to

if TYPE_CHECKING:
    from processors.sketch import TDigest

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


HOUR_HORIZON = 32 * conventions.DAY  # the longest window the evaluator asks for (a calendar month, 31 days)
# The minutes read with a window's tail: every minute edge of the windows up to 2h ends within this span of whole
# hours before the hour of `now` (the 2h window's head starts in the second), so their edges share one Query.
RECENT_MINUTES = 2 * conventions.HOUR
# Groups read ahead at a time (`warm`): their long windows' minute heads, 4 each, stay in the 4,096-entry memo.
WARM_GROUPS = 256


class _WarmPlan:
    """What `warm` was told of one grouped SLO: its groups (in evaluation order), the ranges each counts, and the
    groups read ahead so far."""

    def __init__(self, groups: Sequence[str], ranges: Sequence[tuple[int, int]]) -> None:
        self.groups = tuple(groups)
        self.index = {group: n for n, group in enumerate(self.groups)}
        self.ranges = tuple(ranges)
        self.warmed: set[str] = set()


class StoreView:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._minutes = lru_cache(maxsize=4096)(self.store.buckets)
        self._hours: dict[str, tuple[int, int, Rows]] = {}  # sli -> (start, end, rows) of one wide read
        self._recent: dict[str, tuple[int, int, Rows]] = {}  # sli -> (start, end, rows): minutes up to `now`
        self._alert_log: tuple[int | None, list[dict[str, Any]]] | None = None  # (since, log) of the widest read
        self._groups: dict[str, tuple[str, ...]] = {}
        self._plans: dict[str, _WarmPlan] = {}  # grouped SLO name -> what `warm` was told
        self._concurrency = int(getattr(store, "read_concurrency", 1))

    def _rows(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        """Hour buckets are read once per SLI over the horizon, so the eight windows of one evaluation share a
        single Query. A minute range that ends off the hour ends at `now` (a head ends on an hour): it is read
        from RECENT_MINUTES before its hour, which holds the short windows' edges too; other minute ranges (the
        long windows' heads) are read as asked."""
        if resolution != conventions.RESOLUTION_HOUR:
            recent = self._recent.get(sli)
            if recent is not None and recent[0] <= start and end <= recent[1]:
                return {bucket: fields for bucket, fields in recent[2].items() if start <= bucket < end}
            if end % conventions.HOUR == 0:
                return self._minutes(sli, resolution, start, end)
            low = min(start, floor_to(end, conventions.HOUR) - RECENT_MINUTES)
            recent = self._recent[sli] = (low, end, self.store.buckets(sli, resolution, low, end))
            return {bucket: fields for bucket, fields in recent[2].items() if start <= bucket < end}
        cached = self._hours.get(sli)
        if cached is None or not (cached[0] <= start and end <= cached[1]):
            low = min(start, floor_to(end - HOUR_HORIZON, conventions.HOUR))
            high = max(end, cached[1]) if cached else end
            cached = (low, high, self.store.buckets(sli, resolution, low, high))
            self._hours[sli] = cached
        return {bucket: fields for bucket, fields in cached[2].items() if start <= bucket < end}

    def counts(self, slo: Slo, start: int, end: int, group: str = "") -> Counts:
        if group and self._plans:
            self._read_ahead(slo, group)
        return self.counts_for(slo.series(group), slo.sli, start, end)

    def warm(self, slo: Slo, groups: Sequence[str], ranges: Sequence[tuple[int, int]]) -> None:
        """Read ahead what counting `ranges` of each of `groups` reads, `store.read_concurrency` groups at a time,
        WARM_GROUPS groups before they are counted: each group's six Queries (or so) are one request's latency
        apiece, and a grouped SLO has up to a thousand groups. A store read by one thread (SQLite) reads nothing
        ahead. What is read is what the counts would read, so every count is the same."""
        if self._concurrency > 1:
            self._plans[slo.name] = _WarmPlan(groups, ranges)

    def _read_ahead(self, slo: Slo, group: str) -> None:
        plan = self._plans.get(slo.name)
        if plan is None or group in plan.warmed or group not in plan.index:
            return
        start = plan.index[group]
        chunk = [g for g in plan.groups[start : start + WARM_GROUPS] if g not in plan.warmed]
        plan.warmed.add(chunk[0])  # the rest once it is read: if it raises, the next group counted reads them ahead

        def read(name: str) -> None:
            for low, high in plan.ranges:
                self.counts_for(slo.series(name), slo.sli, low, high)

        def read_ahead(name: str) -> None:
            with suppress(StoreError):  # that group's own count reads again and raises it: its error, not ours
                read(name)

        read(chunk[0])  # alone first: what every read shares (the store's pending partials) is read once
        plan.warmed.update(chunk[1:])
        with ThreadPoolExecutor(max_workers=self._concurrency) as pool:
            list(pool.map(read_ahead, chunk[1:]))

    def groups(self, slo: Slo) -> tuple[str, ...]:
        """The registry's group values (one query per grouped SLO and view)."""
        cached = self._groups.get(slo.name)
        if cached is None:
            cached = self._groups[slo.name] = tuple(sorted(self.store.groups(slo.series())))
        return cached

    def counts_for(self, name: str, sli: object, start: int, end: int) -> Counts:
        if isinstance(sli, TimeSliceSli):
            hours = self._rows(name, conventions.RESOLUTION_HOUR, floor_to(start, conventions.HOUR), end)
            return count_slices(hours, start, end, sli.slice_seconds, sli.min_ratio)
        return window_counts(self._rows, name, start, end)

    def minute_counts(self, slo: Slo, start: int, end: int) -> dict[int, Counts]:
        """Per-minute counts in [start, end) in one read, for scorecards; a time-slice SLI gives one slice
        (good or not) at each slice's start minute, its slices with no lookups left out."""
        sli = slo.sli
        if isinstance(sli, TimeSliceSli):
            low = floor_to(start, conventions.HOUR)
            hours = self.store.buckets(slo.series(), conventions.RESOLUTION_HOUR, low, end)
            outcomes = slice_outcomes(hours, sli.slice_seconds, sli.min_ratio)
            return {moment: Counts(int(good), 1) for moment, good in outcomes.items() if start <= moment < end}
        rows = self.store.buckets(slo.series(), conventions.RESOLUTION_MINUTE, start, end)
        return {
            minute: Counts(int(fields.get("good", 0)), int(fields.get("total", 0)))
            for minute, fields in rows.items()
            if fields.get("total", 0)
        }

    def bad_exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        return self.store.exemplars(series, start, end, limit)

    def latency_quantiles(self, sketch: str, start: int, end: int) -> dict[str, float] | None:
        digest = self.store.digest(sketch, start, end)
        if digest is None:
            return None
        values = {name: digest.quantile(q) for name, q in QUANTILES.items()}
        return {name: round(float(value), 3) for name, value in values.items() if value is not None} or None

    def trace_coverage(self, start: int, end: int) -> Counts:
        return window_counts(self._rows, conventions.TRACE_COVERAGE_SLI, start, end)

    def minute_bucket(self, sli: str, start: int) -> Counts:
        row = self._minutes(sli, conventions.RESOLUTION_MINUTE, start, start + conventions.MINUTE).get(start, {})
        return Counts(int(row.get("good", 0)), int(row.get("total", 0)))

    def hour_rows(self, sli: str, start: int, end: int) -> Rows:
        """Hour buckets in [start, end): the time-slice fields a report draws."""
        return self._rows(sli, conventions.RESOLUTION_HOUR, start, end)

    def digest(self, sketch: str, start: int, end: int) -> TDigest | None:
        return self.store.digest(sketch, start, end)

    def gauge(self, name: str) -> int:
        return self.store.gauge(name)

    def silences(self) -> list[dict[str, Any]]:
        """Silence documents, for the monthly report's notes (the evaluator reads the store's directly)."""
        return self.store.silences()

    def corrections(self, slos: list[str]) -> list[dict[str, Any]]:
        """Budget corrections of these SLOs (processors.evaluating.corrections reads them through the view)."""
        return self.store.corrections(slos)

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        """One read serves every later `since` of this view (a report asks once per step)."""
        cached = self._alert_log
        if cached is None or (cached[0] is not None and (since is None or since < cached[0])):
            cached = self._alert_log = (since, self.store.alert_log(since=since))
        if since is None or since == cached[0]:
            return list(cached[1])
        return [t for t in cached[1] if transition_time(t, since) >= since]

    def default_at(self) -> int | None:
        return self.store.default_at()

    def trace(self, correlation_id: str) -> TraceHead | None:
        return self.store.trace(correlation_id)

    def heads_and_damaged(self, correlation_ids: Iterable[str]) -> tuple[dict[str, TraceHead], frozenset[str]]:
        read = self.store.read_heads(correlation_ids)
        return read.heads, read.damaged
