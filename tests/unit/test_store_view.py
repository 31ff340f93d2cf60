"""StoreView's memoised reads: every window counts as a direct read of the store would, in fewer queries."""

from __future__ import annotations

import random

import pytest

from processors import conventions
from processors.counting import Rows, window_counts
from processors.evaluating.evaluate import evaluate_slo, windows_to_read
from processors.store.view import StoreView
from tests.builders import T0
from tests.grouped import grouped_spec

MINUTE, HOUR, DAY = conventions.MINUTE, conventions.HOUR, conventions.DAY
HOUR0 = int(T0) // HOUR * HOUR
SLO = grouped_spec().slo("deploy-success")
GROUP = "acme/web"


class CountingBuckets:
    """A store of one group's counter rows (seeded) that counts its `buckets` reads."""

    def __init__(self) -> None:
        rng = random.Random(11)
        self.rows: dict[tuple[str, int], dict[str, int]] = {}
        for minute in range(HOUR0 - 40 * DAY, HOUR0 + 3 * HOUR, MINUTE):
            if rng.random() < 0.7:  # some minutes without events, as in a quiet group
                total = rng.randint(1, 9)
                row = {"good": total - int(rng.random() < 0.2), "total": total}
                self.rows[(conventions.RESOLUTION_MINUTE, minute)] = row
                hour_key = (conventions.RESOLUTION_HOUR, minute // HOUR * HOUR)
                hour = self.rows.setdefault(hour_key, {"good": 0, "total": 0})
                hour["good"] += row["good"]
                hour["total"] += row["total"]
        self.reads: list[tuple[str, int, int]] = []

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        self.reads.append((resolution, start, end))
        return {bucket: dict(row) for (res, bucket), row in self.rows.items()
                if res == resolution and start <= bucket < end}


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
