"""ISO 8601 out: every time formats with a four-digit year, at both ends of the range a datetime holds."""

from __future__ import annotations

import pytest

from processors.timeutil import MAX_EPOCH, MIN_EPOCH, iso_millis, iso_seconds


@pytest.mark.parametrize(
    ("case", "seconds", "to_the_second", "to_the_milli"),
    [
        ("the first instant of year 1", MIN_EPOCH, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("a time in year 999", -30641760000.0, "0999-01-01T00:00:00Z", "0999-01-01T00:00:00.000Z"),
        ("an ordinary time with milliseconds", 1790839230.123, "2026-10-01T07:20:30Z", "2026-10-01T07:20:30.123Z"),
        ("the last second of year 9999", MAX_EPOCH, "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000Z"),
        ("a time before year 1 clamps to its first instant", -1e30, "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
    ],
)
def test_times_format_as_iso_8601_with_a_four_digit_year(
    case: str, seconds: float, to_the_second: str, to_the_milli: str
) -> None:
    assert iso_seconds(seconds) == to_the_second
    assert iso_millis(seconds) == to_the_milli
