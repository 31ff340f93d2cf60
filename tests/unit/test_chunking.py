"""Chunk.count and Chunk.sample bucket a moment as timeutil.floor_to does, including the moments it clamps;
a time-slice SLI's slice index agrees with them."""

from __future__ import annotations

import math

import pytest

from processors import conventions
from processors.classifying.classify import LatencySample
from processors.counting import slice_field_index
from processors.ingest.chunking import Chunk, time_slices
from processors.spec import load_spec
from processors.store.types import CounterKey, DigestKey
from processors.timeutil import MAX_EPOCH, MIN_EPOCH, floor_to

MOMENTS = [1_790_812_859.999, 1_790_812_860.0, 0.0, -0.0, -0.5, -61.0, 59, True, MIN_EPOCH, MAX_EPOCH,
           math.nextafter(MIN_EPOCH, -math.inf), math.nextafter(MAX_EPOCH, math.inf), 1e300, -1e300, math.inf,
           -math.inf, math.nan]


@pytest.mark.parametrize("moment", MOMENTS, ids=[repr(m) for m in MOMENTS])
def test_a_moment_counts_and_samples_in_the_minute_and_hour_floor_to_gives(moment: float) -> None:
    chunk = Chunk({})
    chunk.count("s", moment, True, "c")
    chunk.count("s", moment, False, "c")
    chunk.sample(LatencySample("k", moment, 5.0))
    minute, hour = floor_to(moment, conventions.MINUTE), floor_to(moment, conventions.HOUR)
    expected = {"good": 1, "total": 2}
    assert chunk.counters == {CounterKey("s", conventions.RESOLUTION_MINUTE, minute): expected,
                              CounterKey("s", conventions.RESOLUTION_HOUR, hour): expected}
    assert chunk.latency == {DigestKey("k", conventions.RESOLUTION_MINUTE, minute): [5.0],
                             DigestKey("k", conventions.RESOLUTION_HOUR, hour): [5.0]}


@pytest.mark.parametrize("moment", MOMENTS, ids=[repr(m) for m in MOMENTS])
def test_a_moment_counts_in_the_slice_of_the_hour_floor_to_gives(moment: float) -> None:
    series, time_slice = next(iter(time_slices(load_spec(None)).items()))
    seconds = time_slice.slice_seconds
    chunk = Chunk({series: time_slice})
    chunk.count(series, moment, True)
    hour = floor_to(moment, conventions.HOUR)
    index = (floor_to(moment, seconds) - hour) // seconds
    assert 0 <= index < conventions.HOUR // seconds
    assert slice_field_index(moment, seconds) == index
    assert chunk.counters[CounterKey(series, conventions.RESOLUTION_HOUR, hour)] == {
        "good": 1, "total": 1, f"g{index}": 1, f"t{index}": 1
    }
