"""Window arithmetic over time buckets: which buckets a window reads, and good/total over a window.

Pure functions of bucket rows. A window [start, end) counts exactly the minute buckets inside it; whole
hours inside it are read from hour buckets, the ragged edges from minute buckets. Time-slice SLIs keep
per-slice sub-counters (g{i}, t{i}) in their hour buckets, so any window's slices come from hour rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from processors import conventions
from processors.timeutil import MAX_EPOCH, MIN_EPOCH, clamp_epoch, floor_to

Rows = Mapping[int, Mapping[str, int]]  # bucket start -> {field: value}


@dataclass(frozen=True)
class Counts:
    good: int = 0
    total: int = 0

    @property
    def bad(self) -> int:
        return self.total - self.good

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.good + other.good, self.total + other.total)


@dataclass(frozen=True)
class WindowPlan:
    """[start, end) split into minute edges and whole hours; each range is half-open, possibly empty."""

    head_minutes: tuple[int, int]
    hours: tuple[int, int]
    tail_minutes: tuple[int, int]


def plan_window(start: int, end: int) -> WindowPlan:
    start = floor_to(start, conventions.MINUTE)
    end = floor_to(end, conventions.MINUTE)
    first_hour = -(-start // conventions.HOUR) * conventions.HOUR
    last_hour = floor_to(end, conventions.HOUR)
    if first_hour >= last_hour:
        return WindowPlan((start, end), (first_hour, first_hour), (end, end))
    return WindowPlan((start, first_hour), (first_hour, last_hour), (last_hour, end))


def sum_rows(rows: Rows, start: int, end: int) -> Counts:
    good = total = 0
    for bucket, fields in rows.items():
        if start <= bucket < end:
            good += fields.get("good", 0)
            total += fields.get("total", 0)
    return Counts(good, total)


def slice_field_index(moment: float, slice_seconds: int) -> int:
    """Index of the slice holding `moment` within its hour. A moment outside datetime's range (NaN, inf) is
    clamped first, as floor_to clamps it, so the slice lies in the hour bucket floor_to gives."""
    if not MIN_EPOCH <= moment <= MAX_EPOCH:  # NaN fails the test too
        moment = clamp_epoch(moment)
    return int(moment - floor_to(moment, conventions.HOUR)) // slice_seconds


def slice_outcomes(hour_rows: Rows, slice_seconds: int, min_ratio: float) -> dict[int, bool]:
    """slice start -> whether it was good, for every slice with lookups (empty slices don't count)."""
    outcomes: dict[int, bool] = {}
    for hour, fields in hour_rows.items():  # only hours with data: a 30-day window has 8,640 slices
        for name, lookups in fields.items():
            if name[0] != "t" or not name[1:].isdigit() or lookups <= 0:
                continue
            index = int(name[1:])
            outcomes[hour + index * slice_seconds] = fields.get(f"g{index}", 0) >= min_ratio * lookups
    return outcomes


def count_slices(hour_rows: Rows, start: int, end: int, slice_seconds: int, min_ratio: float) -> Counts:
    """Good and total slices wholly inside [start, end); slices with no lookups don't count."""
    first = -(-start // slice_seconds) * slice_seconds
    last = end - slice_seconds  # the last slice start that ends by `end`
    good = total = 0
    for slice_start, is_good in slice_outcomes(hour_rows, slice_seconds, min_ratio).items():
        if first <= slice_start <= last:
            total += 1
            good += is_good
    return Counts(good, total)


BucketReader = Callable[[str, str, int, int], Rows]  # (sli, resolution, start, end) -> rows


def window_counts(read: BucketReader, sli: str, start: int, end: int) -> Counts:
    """good/total of a ratio SLI over [start, end), reading hour buckets plus minute edges."""
    plan = plan_window(start, end)
    counts = Counts()
    for resolution, (low, high) in (
        (conventions.RESOLUTION_MINUTE, plan.head_minutes),
        (conventions.RESOLUTION_HOUR, plan.hours),
        (conventions.RESOLUTION_MINUTE, plan.tail_minutes),
    ):
        if low < high:
            counts += sum_rows(read(sli, resolution, low, high), low, high)
    return counts
