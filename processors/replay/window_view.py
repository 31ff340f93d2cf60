"""The backtest's read view: SLI data over windows that end at the replay's current minute, kept in memory.

It is fed the same Commit objects the store applies, and implements the evaluator's SliView, so `slo
replay` evaluates every minute without reading the store: evaluating minute m+1 after minute m costs
O(SLOs x windows), whatever the length of the history. Counts are prefix sums per series (any window is two
lookups); what leaves the longest window (HORIZON) is evicted. It answers no latency query: the alert policy
reads counts only, and a month of a busy sketch's minute digests would not fit in memory (quantiles are the
store's, read by `slo status` after the replay). It is not a store adapter: the evaluator
Lambda and `slo status` read the store (processors.store.view.StoreView), and a test proves both views
give the same alert transitions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from processors import conventions
from processors.counting import Counts
from processors.evaluating.types import AlertStore
from processors.spec.model import Slo, Spec, TimeSliceSli
from processors.store import keys
from processors.store.types import Commit
from processors.timeutil import floor_to

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
        keep = HORIZON // self.step + 1
        if now - self.cursor > keep * self.step:  # a jump past the horizon (a line from 1970 in a 2026 log)
            self._jump(now - keep * self.step)
        good_sums, total_sums, step, pending = self.good, self.total, self.step, self.pending
        cursor = self.cursor
        if cursor < now:
            due = sorted(b for b in pending if cursor <= b < now and not (b - cursor) % step) if pending else ()
            for bucket in due:
                _repeat_last(good_sums, total_sums, (bucket - cursor) // step)  # the minutes without data before it
                waiting = pending.pop(bucket)
                good_sums.append(good_sums[-1] + waiting[0])
                total_sums.append(total_sums[-1] + waiting[1])
                cursor = bucket + step
            _repeat_last(good_sums, total_sums, -(-(now - cursor) // step))
        if len(good_sums) > 2 * keep:
            drop = len(good_sums) - keep
            del good_sums[:drop], total_sums[:drop]
            self.base += drop * self.step

    def _jump(self, to: int) -> None:
        """Move the cursor to the last bucket start at or before `to` at once, its sums restarting from the
        totals so far: no window reads the buckets skipped, which walking would append one by one (29 million
        minutes, 750 MB and a minute of CPU, for a 56-year gap)."""
        cursor = self.cursor + (to - self.cursor) // self.step * self.step
        good, total = self.good[-1], self.total[-1]
        for bucket in [b for b in self.pending if b < cursor]:
            waiting = self.pending.pop(bucket)
            good += waiting[0]
            total += waiting[1]
        self.base, self.good, self.total = cursor, [good], [total]

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


def _repeat_last(good_sums: list[int], total_sums: list[int], count: int) -> None:
    """Sums for `count` buckets without data, at once (a log of one line a month appended 44,640 a line)."""
    if count > 0:
        good_sums.extend(itertools.repeat(good_sums[-1], count))
        total_sums.extend(itertools.repeat(total_sums[-1], count))


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

    def _minute_series(self, series: str, bucket: int) -> _Prefix:
        prefix = self._minutes.get(series)
        if prefix is None:
            prefix = self._minutes[series] = _Prefix(conventions.MINUTE, min(bucket, self.now or bucket))
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
        for slices in self._slices.values():
            slices.advance(now)
        if now % conventions.HOUR == 0:
            self._evict(now - HORIZON)

    def _evict(self, oldest: int) -> None:
        for minutes in self._exemplars.values():
            for minute in [m for m in minutes if m < oldest]:
                del minutes[minute]

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
        """None: the view keeps no digest (the module's docstring says why)."""
        return None

    def digest(self, sketch: str, start: int, end: int) -> None:
        return None
