"""The evaluation stage: every SLO's counts, attainment, budget, burn rates and forecasts at one `now`.

Pure: a function of (view, spec, now, alert log). It reads through the SliView port and never looks at
a clock, so the Lambda, the CLI and `slo replay` backtests all evaluate the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from processors import conventions
from processors.counting import Counts
from processors.evaluating.budget import (
    attainment,
    budget_consumed,
    burn_rate,
    exhaustion_seconds,
    month_bounds,
    window_bounds,
)
from processors.evaluating.mttr import mttr_seconds
from processors.evaluating.types import Evaluation, SliView, SloEvaluation, Unevaluated
from processors.spec import default_tiers
from processors.spec.model import AlertPolicy, Slo, Spec
from processors.timeutil import parse_duration

BURN_WINDOWS: tuple[int, ...] = tuple(parse_duration(w) or 0 for w in conventions.BURN_RATE_WINDOWS)
FORECAST_WINDOWS: tuple[str, ...] = ("1h", "6h")
RECENT_LATENCY_WINDOW = 5 * conventions.MINUTE
Isolated = tuple[type[Exception], ...]  # errors that leave one SLO or group out, not the whole evaluation


def alert_policy(slo: Slo) -> AlertPolicy:
    """The SLO's alerting policy; a hand-built Slo without one gets the Workbook defaults."""
    if slo.alerting is not None:
        return slo.alerting
    return AlertPolicy(tiers=default_tiers(slo.window))


def windows_to_read(slo: Slo) -> tuple[int, ...]:
    """The standard burn-rate windows plus any the SLO's tiers or no-data rule use, shortest first."""
    policy = alert_policy(slo)
    lengths = set(BURN_WINDOWS)
    for tier in policy.tiers:
        lengths.update((tier.long_window, tier.short_window))
    if policy.no_data_after:
        lengths.add(policy.no_data_after)
    return tuple(sorted(lengths))


def counted_ranges(slo: Slo, now: int) -> tuple[tuple[int, int], ...]:
    """Every [start, now) evaluate_slo counts: the SLO window, each window to read and the calendar month."""
    month = () if slo.calendar_month else ((month_bounds(now)[0], now),)
    return ((window_bounds(slo, now)[0], now), *((now - length, now) for length in windows_to_read(slo)), *month)


def evaluate_slo(
    view: SliView, slo: Slo, now: int, alert_log: Iterable[Mapping[str, Any]] = (), group: str | None = None,
    *, isolate: Isolated = (), unevaluated: list[Unevaluated] | None = None,
) -> SloEvaluation:
    """One SLO at `now`. A grouped SLO is the whole (all groups) with each group evaluated alike in `groups`;
    `group` evaluates just that group. A view with `warm` is told the groups and ranges first: it may read
    them ahead, several groups at a time (StoreView over DynamoDB does). With `unevaluated`, a group whose reads
    raise an error of a type in `isolate` is left out of `groups` and named there."""
    log = alert_log if isinstance(alert_log, list | tuple) else list(alert_log)

    def count(low: int, high: int) -> Counts:
        return _sane(view.counts(slo, low, high) if not group else view.counts(slo, low, high, group))

    start, period = window_bounds(slo, now)
    counts = count(start, now)
    consumed = budget_consumed(counts, slo.objective)
    remaining = 1.0 - consumed
    windows: dict[int, Counts] = {}
    for length in windows_to_read(slo):
        windows[length] = count(now - length, now)
    burn_rates = {length: burn_rate(c, slo.objective) for length, c in windows.items()}
    forecast = {
        label: exhaustion_seconds(remaining, burn_rates.get(parse_duration(label) or 0, 0.0), period)
        for label in FORECAST_WINDOWS
    }
    month_start = month_bounds(now)[0]  # the calendar month so far, whatever the SLO's own window
    month = counts if slo.calendar_month else count(month_start, now)
    latency = recent = None
    if slo.kind == "latency":
        # the sketch named after a latency SLO stitches from it: its digest series is the SLO's series name
        latency = view.latency_quantiles(slo.series(), start, now)
        recent = view.latency_quantiles(slo.series(), now - RECENT_LATENCY_WINDOW, now)
    return SloEvaluation(
        slo=slo,
        now=now,
        window_start=start,
        window_seconds=period,
        counts=counts,
        attainment=attainment(counts),
        consumed=consumed,
        remaining=remaining,
        windows=windows,
        burn_rates=burn_rates,
        forecast=forecast,
        mttr_seconds=mttr_seconds(log, slo.name, start, now + 1, _incidents_of(slo, group)),
        latency_ms=latency,
        recent_latency_ms=recent,
        month_counts=month,
        group=group or "",
        groups=_evaluate_groups(view, slo, now, log, _groups(view, slo, group), isolate, unevaluated),
    )


def _evaluate_groups(
    view: SliView, slo: Slo, now: int, log: Iterable[Mapping[str, Any]], names: tuple[str, ...],
    isolate: Isolated, unevaluated: list[Unevaluated] | None,
) -> tuple[SloEvaluation, ...]:
    warm = getattr(view, "warm", None)
    if names and callable(warm):
        warm(slo, names, counted_ranges(slo, now))
    evaluated = []
    for name in names:
        try:
            evaluated.append(evaluate_slo(view, slo, now, log, name))
        except isolate as exc:
            if unevaluated is None:
                raise
            unevaluated.append(Unevaluated(slo.name, name, str(exc)))
    return tuple(evaluated)


def _groups(view: SliView, slo: Slo, group: str | None) -> tuple[str, ...]:
    return view.groups(slo) if slo.group_by and group is None else ()


def _incidents_of(slo: Slo, group: str | None) -> str | None:
    """Whose incidents make the MTTR: the group's; a grouped SLO's whole takes every group's (None)."""
    if group is not None:
        return group
    return None if slo.group_by else ""


def evaluate(
    view: SliView, spec: Spec, now: int, alert_log: Iterable[Mapping[str, Any]] = (), isolate: Isolated = ()
) -> Evaluation:
    """Every SLO of the spec at `now` (epoch seconds, minute-aligned); MTTR comes from `alert_log`.

    An error of a type in `isolate` (the evaluator Lambda passes the store's CorruptItemError) while reading one
    SLO, or one group of a grouped SLO, leaves just that one out, named in `unevaluated`: one damaged item stops
    the paging it touches, not every SLO's. Without `isolate` it is raised."""
    log = list(alert_log)
    evaluated: list[SloEvaluation] = []
    unevaluated: list[Unevaluated] = []
    for slo in spec.slos:
        try:
            evaluated.append(evaluate_slo(view, slo, now, log, isolate=isolate, unevaluated=unevaluated))
        except isolate as exc:
            unevaluated.append(Unevaluated(slo.name, "", str(exc)))
    return Evaluation(now=now, slos=tuple(evaluated), unevaluated=tuple(unevaluated))


def _sane(counts: Counts) -> Counts:
    """Counts a store can't produce (negative, good > total) are clamped rather than failing every SLO."""
    total = max(counts.total, 0)
    if 0 <= counts.good <= total == counts.total:
        return counts
    return Counts(min(max(counts.good, 0), total), total)
