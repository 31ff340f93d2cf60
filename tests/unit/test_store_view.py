"""StoreView's memoised reads: every window counts as a direct read of the store would, in fewer queries."""

from __future__ import annotations

import random
import threading

import pytest

from processors import conventions
from processors.counting import Rows, window_counts
from processors.evaluating.evaluate import counted_ranges, evaluate_slo, windows_to_read
from processors.evaluating.types import Unevaluated
from processors.store.exceptions import CorruptItemError, TransientStoreError
from processors.store.view import WARM_GROUPS, StoreView
from tests.builders import T0
from tests.grouped import grouped_spec

MINUTE, HOUR, DAY = conventions.MINUTE, conventions.HOUR, conventions.DAY
HOUR0 = int(T0) // HOUR * HOUR
SLO = grouped_spec().slo("deploy-success")
GROUP = "acme/web"


class CountingBuckets:
    """A store whose every series holds the same counter rows (seeded), counting its `buckets` reads."""

    def __init__(self) -> None:
        rng = random.Random(11)
        self.rows: dict[str, dict[int, dict[str, int]]] = {conventions.RESOLUTION_MINUTE: {},
                                                            conventions.RESOLUTION_HOUR: {}}
        for minute in range(HOUR0 - 40 * DAY, HOUR0 + 3 * HOUR, MINUTE):
            if rng.random() < 0.7:  # some minutes without events, as in a quiet group
                total = rng.randint(1, 9)
                row = {"good": total - int(rng.random() < 0.2), "total": total}
                self.rows[conventions.RESOLUTION_MINUTE][minute] = row
                hour = self.rows[conventions.RESOLUTION_HOUR].setdefault(minute // HOUR * HOUR, {"good": 0, "total": 0})
                hour["good"] += row["good"]
                hour["total"] += row["total"]
        self.reads: list[tuple[str, str, int, int]] = []

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        self.reads.append((sli, resolution, start, end))
        rows, step = self.rows[resolution], conventions.RESOLUTIONS[resolution]
        first = -(-max(start, HOUR0 - 41 * DAY) // step) * step
        return {bucket: dict(rows[bucket]) for bucket in range(first, min(end, HOUR0 + 4 * HOUR), step)
                if bucket in rows}


@pytest.mark.parametrize("past_the_hour", [0, 1, 17, 59])
def test_every_window_counts_through_the_view_as_read_directly(past_the_hour: int) -> None:
    now = HOUR0 + 2 * HOUR + past_the_hour * MINUTE
    store = CountingBuckets()
    view = StoreView(store)  # type: ignore[arg-type]
    series = SLO.series(GROUP)
    for length in (*windows_to_read(SLO), SLO.window, 31 * DAY, 7 * MINUTE, 90 * MINUTE):
        assert view.counts(SLO, now - length, now, GROUP) == window_counts(store.buckets, series, now - length, now)


@pytest.mark.parametrize(("past_the_hour", "reads"), [
    (17, 6),  # hours, recent minutes (tail, 5m, 30m, 1h, 2h), and the heads of 6h, 1d, 3d and 30 days
    (0, 3),  # on the hour: hours, and the 5m and 30m windows' minutes; every other window is whole hours
])
def test_a_groups_evaluation_reads_its_hours_its_recent_minutes_and_the_long_windows_heads(
    past_the_hour: int, reads: int
) -> None:
    store = CountingBuckets()
    evaluate_slo(StoreView(store), SLO, HOUR0 + 2 * HOUR + past_the_hour * MINUTE, group=GROUP)  # type: ignore[arg-type]
    assert len(store.reads) == reads


class ConcurrentBuckets(CountingBuckets):
    """The same rows for several groups, read by several threads at once."""

    read_concurrency = 4

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        with self.lock:
            return super().buckets(sli, resolution, start, end)

    def groups(self, series: str) -> set[str]:
        return {f"acme/repo-{n}" for n in range(WARM_GROUPS + 7)}  # more than one read-ahead


def test_groups_read_ahead_by_several_threads_evaluate_as_read_one_by_one_and_read_nothing_twice() -> None:
    now = HOUR0 + 2 * HOUR + 17 * MINUTE
    ahead, alone = ConcurrentBuckets(), ConcurrentBuckets()
    alone.read_concurrency = 1
    assert evaluate_slo(StoreView(ahead), SLO, now) == evaluate_slo(StoreView(alone), SLO, now)  # type: ignore[arg-type]
    assert sorted(ahead.reads) == sorted(alone.reads)
    assert len(ahead.reads) == 6 * (WARM_GROUPS + 7 + 1)  # six per group and six for the whole SLO


def test_reading_a_group_ahead_reads_everything_its_evaluation_counts() -> None:
    now = HOUR0 + 2 * HOUR + 17 * MINUTE
    store = ConcurrentBuckets()
    view = StoreView(store)  # type: ignore[arg-type]
    view.warm(SLO, [GROUP], counted_ranges(SLO, now))
    view.counts(SLO, now - MINUTE, now, GROUP)  # its first count reads the group ahead
    ahead = len(store.reads)
    evaluate_slo(view, SLO, now, group=GROUP)
    assert (ahead, len(store.reads)) == (6, 6)


class FailsForOneGroup(ConcurrentBuckets):
    """A store whose minute reads of one group, read ahead by a worker thread, fail (a throttle after retries)."""

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        if sli == SLO.series("acme/repo-200") and resolution == conventions.RESOLUTION_MINUTE:
            raise TransientStoreError("query: ProvisionedThroughputExceededException")
        return super().buckets(sli, resolution, start, end)


def test_a_group_read_ahead_that_fails_in_a_worker_thread_fails_the_evaluation_and_caches_nothing_of_it() -> None:
    """Read ahead, the failing group is not the one being counted: its error must still reach the evaluation,
    never leave it counting the group from a half-filled memo."""
    view = StoreView(FailsForOneGroup())  # type: ignore[arg-type]
    with pytest.raises(TransientStoreError):
        evaluate_slo(view, SLO, HOUR0 + 2 * HOUR + 17 * MINUTE)
    assert SLO.series("acme/repo-200") not in view._recent


class DamagedForOneGroup(ConcurrentBuckets):
    """A store one of whose groups holds an item that does not decode, read ahead by a worker thread."""

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        if sli == SLO.series("acme/repo-200"):
            raise CorruptItemError("a damaged store: the good counter of acme/repo-200 holds 'x'")
        return super().buckets(sli, resolution, start, end)


def test_a_damaged_group_read_ahead_leaves_out_that_group_alone_and_every_other_evaluates_as_before() -> None:
    """The group being counted when the read-ahead meets the damage (acme/repo-0) is not the damaged one: it must
    not be blamed for it."""
    now = HOUR0 + 2 * HOUR + 17 * MINUTE
    left_out: list[Unevaluated] = []
    damaged = evaluate_slo(StoreView(DamagedForOneGroup()), SLO, now,  # type: ignore[arg-type]
                           isolate=(CorruptItemError,), unevaluated=left_out)
    healthy = evaluate_slo(StoreView(ConcurrentBuckets()), SLO, now)  # type: ignore[arg-type]
    assert left_out == [Unevaluated(SLO.name, "acme/repo-200",
                                    "a damaged store: the good counter of acme/repo-200 holds 'x'")]
    assert damaged.groups == tuple(g for g in healthy.groups if g.group != "acme/repo-200")
    assert damaged.counts == healthy.counts  # the whole reads its own series
    with pytest.raises(CorruptItemError):  # without isolation, as every caller but the evaluator Lambda
        evaluate_slo(StoreView(DamagedForOneGroup()), SLO, now)  # type: ignore[arg-type]


class DamagedFirstGroup(ConcurrentBuckets):
    """A store whose first group (in evaluation order) holds an item that does not decode; it notes which groups
    the evaluating thread reads itself."""

    def __init__(self) -> None:
        super().__init__()
        self.read_in_line: set[str] = set()

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        if threading.current_thread() is threading.main_thread():
            self.read_in_line.add(sli)
        if sli == SLO.series("acme/repo-0"):
            raise CorruptItemError("a damaged store: the good counter of acme/repo-0 holds 'x'")
        return super().buckets(sli, resolution, start, end)


def test_the_groups_after_a_damaged_one_that_heads_a_read_ahead_are_still_read_ahead() -> None:
    """The damaged group is read first and alone, before its read-ahead's worker threads start: the groups it
    headed must still be read several at a time, not one by one by the evaluating thread (255 groups' Queries
    in line, a quarter of the evaluator's minute on DynamoDB)."""
    now = HOUR0 + 2 * HOUR + 17 * MINUTE
    store = DamagedFirstGroup()
    left_out: list[Unevaluated] = []
    damaged = evaluate_slo(StoreView(store), SLO, now, isolate=(CorruptItemError,),  # type: ignore[arg-type]
                           unevaluated=left_out)
    assert [u.group for u in left_out] == ["acme/repo-0"]
    assert damaged.groups == evaluate_slo(StoreView(ConcurrentBuckets()), SLO, now).groups[1:]  # type: ignore[arg-type]
    # the whole SLO, the damaged group, and the head of each read-ahead after it
    assert len(store.read_in_line) == 1 + 1 + 2
