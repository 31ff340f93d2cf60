"""Time parsing and formatting shared by every stage: ISO 8601 in, epoch seconds inside, ISO 8601 out."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_DURATION_DIGITS = 100
DURATION_TOO_LONG = 10**_MAX_DURATION_DIGITS


def parse_iso8601(text: object) -> datetime | None:
    """An aware UTC datetime, or None when `text` is not ISO 8601. A naive time is taken as UTC."""
    if not isinstance(text, str) or not text or len(text) > 64:
        return None
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # an offset takes it before year 1 or past 9999: no datetime holds it
        return None


def iso8601_epoch(text: object) -> float | None:
    """`parse_iso8601(text).timestamp()`, or None: decoding's per-event parse.

    What loggers write, `YYYY-MM-DDTHH:MM:SS.mmmZ`, is read by fromisoformat as it stands (a `Z` is UTC);
    anything else, or what that refuses, takes parse_iso8601's way.
    """
    if type(text) is str and len(text) == 24 and text[23] == "Z":
        try:
            return datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    parsed = parse_iso8601(text)
    return parsed.timestamp() if parsed is not None else None


def parse_duration(text: object) -> int | None:
    """Seconds in a duration such as `5m`, `1h`, `30d`; None when it is not one.

    A number of more than _MAX_DURATION_DIGITS digits (which int() refuses past 4300) reads as
    DURATION_TOO_LONG: longer than any span a caller accepts, so each refuses it with its own bound."""
    if not isinstance(text, str):
        return None
    match = _DURATION.match(text.strip())
    digits = match.group(1).lstrip("0") if match else ""
    if not match or not digits:
        return None
    if len(digits) > _MAX_DURATION_DIGITS:
        return DURATION_TOO_LONG
    return int(digits) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """The shortest exact form: 300 -> 5m, 86400 -> 1d."""
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


# datetime's range; decoding refuses times outside [now - retention, now + 1 day], but formatting and
# bucketing never raise on whatever reaches them (NaN, inf, 1e30): they clamp.
MIN_EPOCH = -62135596800.0  # 0001-01-01T00:00:00Z
MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z


_NUMBER = (int, float)  # isinstance against a constant tuple, not an `int | float` union built per call


def finite_seconds(value: Any) -> float | None:
    """A number (not a bool) as a finite float, or None: an int beyond any float, infinity, NaN and anything
    else are none (a record's arrival, a stored partial's)."""
    if isinstance(value, _NUMBER) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            return None
        return seconds if math.isfinite(seconds) else None
    return None


def clamp_epoch(seconds: float) -> float:
    """`seconds` inside datetime's range; NaN becomes 0 (1970)."""
    if math.isnan(seconds):
        return 0.0
    return min(max(float(seconds), MIN_EPOCH), MAX_EPOCH)


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(clamp_epoch(seconds), tz=UTC)


def transition_epoch(record: Mapping[str, Any]) -> int | None:
    """An alert transition's time in epoch seconds: its `at_epoch`, else its ISO `at`; None without either."""
    at = record.get("at_epoch")
    if isinstance(at, int | float) and not isinstance(at, bool):
        return int(at)
    parsed = parse_iso8601(record.get("at"))
    return int(parsed.timestamp()) if parsed else None


def iso_seconds(seconds: float) -> str:
    """2026-10-01T06:00:00Z: whole-second times such as window edges."""
    return _iso_to_the_second(from_epoch(seconds)) + "Z"


def iso_millis(seconds: float) -> str:
    """2026-10-01T06:00:00.123Z: event times, with milliseconds."""
    moment = from_epoch(seconds)
    return _iso_to_the_second(moment) + f".{moment.microsecond // 1000:03d}Z"


def _iso_to_the_second(moment: datetime) -> str:
    # strftime's %Y does not pad (year 1 prints as `1-01-01` on glibc): ISO 8601 wants four digits
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
            f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")


def floor_to(seconds: float, step: int) -> int:
    if MIN_EPOCH <= seconds <= MAX_EPOCH:  # the usual case, called per event and bucket: clamping changes nothing
        return int(seconds // step) * step  # (NaN fails the test and is clamped below)
    return int(clamp_epoch(seconds) // step) * step
