"""The backtest's read view: SLI data over windows that end at the replay's current minute, kept in memory.

It is fed the same Commit objects the store applies, and implements the evaluator's SliView, so `slo
replay` evaluates every minute without reading the store: evaluating minute m+1 after minute m costs
O(SLOs x windows), whatever the length of the history. Counts are prefix sums per series (any window is two
lookups); what leaves the longest window (HORIZON) is evicted. It is not a store adapter: the evaluator
Lambda and `slo status` read the store (processors.store.view.StoreView), and a test proves both views
give the same alert transitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from processors import conventions
from processors.counting import Counts, plan_window
from processors.evaluating.types import AlertStore
from processors.spec.model import Slo, Spec, TimeSliceSli
from processors.store import keys
from processors.store.types import Commit
from processors.timeutil import floor_to

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
HORIZON = 32 * conventions.DAY  # the longest window the evaluator asks for (a calendar month, 31 days)


class _Prefix:
    """(good, total) per bucket of `step` seconds as prefix sums over buckets before the cursor.

    sums[i] holds the totals of the buckets [base, base + i * step). A window ending at or before the cursor
    is two lookups. A late delta (a bucket before the cursor) shifts the sums after it: O(lateness in
    buckets), a minute or two in a replay. Buckets at or after the cursor wait in `pending`.
    """

    __slots__ = ("base", "good", "pending", "step", "total")

    def __init__(self, step: int, base: int) -> None:
        self.step = step
        self.base = base
        self.good = [0]
        self.total = [0]
        self.pending: dict[int, list[int]] = {}

    @property
    def cursor(self) -> int:
        return self.base + (len(self.good) - 1) * self.step

    def add(self, bucket: int, good: int, total: int) -> None:
        if bucket >= self.cursor:
            waiting = self.pending.setdefault(bucket, [0, 0])
            waiting[0] += good
            waiting[1] += total
            return
        if bucket < self.base:
            if bucket < self.cursor - HORIZON:
                return  # older than any window: nothing will read it
            grow = (self.base - bucket) // self.step
            self.good[:0] = [self.good[0]] * grow
            self.total[:0] = [self.total[0]] * grow
            self.base -= grow * self.step
        good_sums, total_sums = self.good, self.total
        for index in range((bucket - self.base) // self.step + 1, len(good_sums)):
            good_sums[index] += good
            total_sums[index] += total

    def advance(self, now: int) -> None:
        """Take every bucket before `now` into the sums; forget what is older than HORIZON."""
        good_sums, total_sums = self.good, self.total
        while self.cursor < now:
            waiting = self.pending.pop(self.cursor, None)
            good_sums.append(good_sums[-1] + (waiting[0] if waiting else 0))
            total_sums.append(total_sums[-1] + (waiting[1] if waiting else 0))
        keep = HORIZON // self.step + 1
        if len(good_sums) > 2 * keep:
            drop = len(good_sums) - keep
            del good_sums[:drop], total_sums[:drop]
            self.base += drop * self.step

    def sum(self, start: int, end: int) -> tuple[int, int]:
        """Totals of the buckets b with start <= b < end."""
        last = len(self.good) - 1
        low = min(max(-(-(start - self.base) // self.step), 0), last)
        high = min(max(-(-(end - self.base) // self.step), 0), last)
        good = self.good[high] - self.good[low] if high > low else 0
        total = self.total[high] - self.total[low] if high > low else 0
        if end > self.cursor and self.pending:
            for bucket, (g, t) in self.pending.items():
                if max(start, self.cursor) <= bucket < end:
                    good += g
                    total += t
        return good, total


class _Slices:
    """A time-slice SLI: raw counts per slice, and prefix sums of (good slice, slice with data)."""

    __slots__ = ("min_ratio", "prefix", "raw")

    def __init__(self, slice_seconds: int, min_ratio: float, base: int) -> None:
        self.min_ratio = min_ratio
        self.raw: dict[int, list[int]] = {}
        self.prefix = _Prefix(slice_seconds, base)

    def add(self, slice_start: int, good: int, total: int) -> None:
        counts = self.raw.setdefault(slice_start, [0, 0])
        before = self._state(counts)
        counts[0] += good
        counts[1] += total
        after = self._state(counts)
        if after != before:
            self.prefix.add(slice_start, after[0] - before[0], after[1] - before[1])

    def _state(self, counts: list[int]) -> tuple[int, int]:
        if counts[1] <= 0:
            return 0, 0
        return int(counts[0] >= self.min_ratio * counts[1]), 1

    def advance(self, now: int) -> None:
        self.prefix.advance(now)
        if len(self.raw) > 2 * (HORIZON // self.prefix.step + 1):
            oldest = now - HORIZON - self.prefix.step
            self.raw = {start: counts for start, counts in self.raw.items() if start >= oldest}


class WindowView:
    """An SliView over the commits seen so far, at the minute last passed to `advance`."""

    def __init__(self, spec: Spec, alerts: AlertStore | None = None) -> None:
        self.spec = spec
        self._alerts = alerts  # the alert log lives in the store: the backtest writes it every minute
        self._gauges: dict[str, int] = {}
        self._slice_specs = {slo.series(): slo.sli for slo in spec.slos if isinstance(slo.sli, TimeSliceSli)}
        self._minutes: dict[str, _Prefix] = {}
        self._slices: dict[str, _Slices] = {}
        self._exemplars: dict[str, dict[int, list[str]]] = {}  # series -> minute -> ids, in commit order
        self._samples: dict[str, _Prefix] = {}  # sketch -> latency samples per minute (is there any data?)
        self._digests: dict[tuple[str, str], dict[int, Any]] = {}  # (sketch, resolution) -> bucket -> TDigest
        self.now: int | None = None
        self._registries = {  # a grouped SLO's registry series -> SLO name
            keys.group_registry_series(slo.series()): slo.name for slo in spec.slos if slo.group_by
        }
        self._groups: dict[str, set[str]] = {}  # SLO name -> admitted groups (never evicted, as in the store)

    # --- fed by commits -------------------------------------------------------------------------------

    def apply(self, commit: Commit) -> None:
        """Fold one applied commit in (call it only after the store accepted the commit)."""
        for (series, resolution, bucket), fields in commit.counters.items():
            if resolution == conventions.RESOLUTION_MINUTE:
                self._minute_series(series, bucket).add(bucket, fields.get("good", 0), fields.get("total", 0))
            elif series in self._registries:
                self._groups.setdefault(self._registries[series], set()).update(keys.groups_of_rows({0: fields}))
            elif series in self._slice_specs:
                self._slice_fields(series, bucket, fields)
        for name, delta in commit.gauges.items():
            self._gauges[name] = self._gauges.get(name, 0) + delta
        for (series, minute), ids in commit.exemplars.items():
            self._exemplars.setdefault(series, {}).setdefault(minute, []).extend(ids)
        for (sketch, resolution, bucket), delta in commit.digests.items():
            from processors.sketch import TDigest

            stored = self._digests.setdefault((sketch, resolution), {})
            previous = stored.get(bucket)
            stored[bucket] = delta if previous is None else TDigest.merge([previous, delta])  # as the store does
            if resolution == conventions.RESOLUTION_MINUTE:
                self._sample_series(sketch, bucket).add(bucket, 0, delta.count)

    def _minute_series(self, series: str, bucket: int) -> _Prefix:
        prefix = self._minutes.get(series)
        if prefix is None:
            prefix = self._minutes[series] = _Prefix(conventions.MINUTE, min(bucket, self.now or bucket))
        return prefix

    def _sample_series(self, sketch: str, bucket: int) -> _Prefix:
        prefix = self._samples.get(sketch)
        if prefix is None:
            prefix = self._samples[sketch] = _Prefix(conventions.MINUTE, min(bucket, self.now or bucket))
        return prefix

    def _slice_fields(self, series: str, hour: int, fields: Mapping[str, int]) -> None:
        sli = self._slice_specs[series]
        slices = self._slices.get(series)
        if slices is None:
            base = floor_to(min(hour, self.now or hour), sli.slice_seconds)
            slices = self._slices[series] = _Slices(sli.slice_seconds, sli.min_ratio, base)
        indexes = {name[1:] for name in fields if name[:1] in ("g", "t") and name[1:].isdigit()}
        for index in indexes:
            slices.add(hour + int(index) * sli.slice_seconds, fields.get(f"g{index}", 0), fields.get(f"t{index}", 0))

    def advance(self, now: int) -> None:
        """Move the view to `now` (minute-aligned): later evaluations read windows ending here."""
        self.now = now
        for prefix in self._minutes.values():
            prefix.advance(now)
        for prefix in self._samples.values():
            prefix.advance(now)
        for slices in self._slices.values():
            slices.advance(now)
        if now % conventions.HOUR == 0:
            self._evict(now - HORIZON)

    def _evict(self, oldest: int) -> None:
        for minutes in self._exemplars.values():
            for minute in [m for m in minutes if m < oldest]:
                del minutes[minute]
        for buckets in self._digests.values():
            for bucket in [b for b in buckets if b < oldest - conventions.HOUR]:
                del buckets[bucket]

    # --- the SliView ----------------------------------------------------------------------------------

    def counts(self, slo: Slo, start: int, end: int, group: str = "") -> Counts:
        return self.counts_for(slo.series(group), slo.sli, start, end)

    def groups(self, slo: Slo) -> tuple[str, ...]:
        return tuple(sorted(self._groups.get(slo.name, ())))

    def counts_for(self, name: str, sli: object, start: int, end: int) -> Counts:
        if isinstance(sli, TimeSliceSli):
            slices = self._slices.get(name)
            if slices is None:
                return Counts()
            first = -(-start // sli.slice_seconds) * sli.slice_seconds
            last = end - sli.slice_seconds  # the last slice start that ends by `end`
            return Counts(*slices.prefix.sum(first, last + 1))
        prefix = self._minutes.get(name)
        if prefix is None:
            return Counts()
        return Counts(*prefix.sum(floor_to(start, conventions.MINUTE), floor_to(end, conventions.MINUTE)))

    def trace_coverage(self, start: int, end: int) -> Counts:
        return self.counts_for(conventions.TRACE_COVERAGE_SLI, None, start, end)

    def minute_bucket(self, sli: str, start: int) -> Counts:
        prefix = self._minutes.get(sli)
        return Counts(*prefix.sum(start, start + conventions.MINUTE)) if prefix else Counts()

    def gauge(self, name: str) -> int:
        """The sum of the replay's deltas (a fresh store starts every gauge at zero)."""
        return self._gauges.get(name, 0)

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        return self._alerts.alert_log(since=since) if self._alerts is not None else []

    def bad_exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        """Newest first, without repeats: as Store.exemplars reads them."""
        minutes = self._exemplars.get(series, {})
        seen: list[str] = []
        for minute in sorted((m for m in minutes if start <= m < end), reverse=True):
            for correlation_id in reversed(minutes[minute]):
                if correlation_id not in seen:
                    seen.append(correlation_id)
                if len(seen) >= limit:
                    return seen
        return seen

    def latency_quantiles(self, sketch: str, start: int, end: int) -> Mapping[str, float] | None:
        """None without samples in the window (two lookups); else the quantiles, computed when first read.

        The backtest's alerting never reads them, so the merge of the window's digests is not paid per minute.
        """
        samples = self._samples.get(sketch)
        minute = conventions.MINUTE
        if samples is None or not samples.sum(floor_to(start, minute), floor_to(end, minute))[1]:
            return None
        return _LazyQuantiles(self, sketch, start, end)

    def digest(self, sketch: str, start: int, end: int) -> Any:
        """The merged digest over [start, end): hour digests plus minute edges, as Store.digest merges them."""
        from processors.sketch import TDigest

        plan = plan_window(start, end)
        parts: list[Any] = []
        for resolution, (low, high) in (
            (conventions.RESOLUTION_MINUTE, plan.head_minutes),
            (conventions.RESOLUTION_HOUR, plan.hours),
            (conventions.RESOLUTION_MINUTE, plan.tail_minutes),
        ):
            buckets = self._digests.get((sketch, resolution), {})
            parts.extend(buckets[b] for b in sorted(buckets) if low <= b < high)
        if not parts:
            return None
        merged = TDigest.merge(parts)
        return merged if merged.count else None


class _LazyQuantiles(Mapping[str, float]):
    """{"p50", "p95", "p99"} of a window's digest, merged on first access."""

    def __init__(self, view: WindowView, sketch: str, start: int, end: int) -> None:
        self._args = (sketch, start, end)
        self._view: WindowView | None = view
        self._values: dict[str, float] = {}

    def _load(self) -> dict[str, float]:
        if self._view is not None:
            digest = self._view.digest(*self._args)
            self._view = None
            if digest is not None:
                values = {name: digest.quantile(q) for name, q in QUANTILES.items()}
                self._values = {name: round(float(v), 3) for name, v in values.items() if v is not None}
        return self._values

    def __getitem__(self, key: str) -> float:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
