"""Error-budget arithmetic: attainment, budget consumed, burn rate, exhaustion forecast, SLO window bounds.

Pure functions of counts and ratios. None of them can return NaN or infinity: no traffic means no
attainment (None), nothing consumed and no burn.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, datetime

from processors.counting import Counts
from processors.spec.model import Slo

# An objective is validated into (0, 1); this floor only keeps a hand-built Slo(objective=1.0) finite.
_MIN_ALLOWED_ERROR = 1e-12


def attainment(counts: Counts) -> float | None:
    """good / total, or None when there were no events (an empty window has no attainment)."""
    if counts.total <= 0:
        return None
    return counts.good / counts.total


def allowed_error(objective: float) -> float:
    """The error budget as a ratio of events: 1 − objective."""
    return max(1.0 - objective, _MIN_ALLOWED_ERROR)


def burn_rate(counts: Counts, objective: float) -> float:
    """(bad / total) / (1 − objective): 1.0 spends the budget exactly over the SLO period; 0 with no events.

    The same formula over the whole SLO window is the fraction of the budget consumed.
    """
    if counts.total <= 0:
        return 0.0
    return (max(counts.bad, 0) / counts.total) / allowed_error(objective)


def budget_consumed(counts: Counts, objective: float) -> float:
    return burn_rate(counts, objective)


def exhaustion_seconds(remaining: float, rate: float, period_seconds: int) -> float | None:
    """Seconds until the remaining budget is gone at a steady `rate`; None when not burning or already gone.

    A burn rate of 1 spends the whole budget (1.0) in one period, so `remaining` lasts
    remaining × period / rate seconds.
    """
    if rate <= 0 or remaining <= 0:
        return None
    return remaining * period_seconds / rate


def window_bounds(slo: Slo, now: int) -> tuple[int, int]:
    """(start, budget period in seconds) of the SLO window that ends at `now`.

    Rolling windows are [now − window, now). A calendar-month SLO reads from the first instant of the
    UTC month holding `now`; its budget period is the whole month, so forecasts use the month's length.
    """
    if not slo.calendar_month:
        return now - slo.window, slo.window
    return month_bounds(now)


def month_bounds(now: int) -> tuple[int, int]:
    """(first instant of the UTC month holding `now`, the month's length in seconds)."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    start = int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp())
    return start, monthrange(moment.year, moment.month)[1] * 86400
