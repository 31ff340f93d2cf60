"""The scorecard: each SLO set against the spec's targets (processors.spec.Targets) over one period.

Pure: functions of per-minute counts, the alert log, the spec and the period. Four measures, each with a
verdict of "met", "not met" or "not enough data":
- compliance time: the share of evaluation minutes in the period at which the SLO met its objective over its
  window, exactly as the evaluator (running every minute) would have judged it;
- budget use: the share of the calendar month's error budget the month's events spent;
- MTTR: the mean time from a page to its end (resolved or downgraded), over the incidents that ended in the
  period; the longest time to recover is shown beside it;
- trace coverage: vocabulary events that carried a propagated correlation ID (one figure for the platform).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Literal, Protocol, TypedDict

from processors import conventions
from processors.counting import Counts
from processors.evaluating.budget import budget_consumed, window_bounds
from processors.evaluating.corrections import corrected, corrections_of, merged_windows
from processors.evaluating.mttr import page_incidents
from processors.evaluating.types import SliView
from processors.spec.model import Slo, Spec, Targets, TimeSliceSli
from processors.timeutil import iso_seconds

Verdict = Literal["met", "not met", "not enough data"]
MET: Verdict = "met"
NOT_MET: Verdict = "not met"
NO_DATA: Verdict = "not enough data"
# Fewer evaluated minutes than this (an hour) is too little to call a share of time.
MIN_EVALUATED_MINUTES = 60
# Ratios are compared with this slack so that 0.999 of 1,000 events counts as meeting 0.999.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Measure:
    value: float | None  # None: nothing to measure
    target: float
    verdict: Verdict


@dataclass(frozen=True)
class Incident:
    fired: int
    ended: int | None  # None: still paging at the end of the period

    def duration(self, end: int) -> int:
        return (self.ended if self.ended is not None else end) - self.fired


@dataclass(frozen=True)
class SloScore:
    slo: Slo
    minutes_evaluated: int
    minutes_compliant: int
    compliance_time: Measure
    month_counts: Counts
    budget_use: Measure
    incidents: tuple[Incident, ...]
    mttr: Measure  # seconds
    longest_recovery_seconds: int | None

    @property
    def name(self) -> str:
        return self.slo.name


@dataclass(frozen=True)
class Scorecard:
    start: int
    end: int
    month_start: int
    month_end: int
    targets: Targets
    slos: tuple[SloScore, ...]
    trace_counts: Counts
    trace_coverage: Measure


def ratio_verdict(value: float | None, target: float, *, at_most: bool = False) -> Verdict:
    if value is None:
        return NO_DATA
    if at_most:
        return MET if value <= target + _EPSILON else NOT_MET
    return MET if value >= target - _EPSILON else NOT_MET


def meets(counts: Counts, objective: float) -> bool:
    return counts.good >= objective * counts.total - _EPSILON * max(counts.total, 1)


def compliance_minutes(
    slo: Slo, minute_counts: Mapping[int, Counts], start: int, end: int
) -> tuple[int, int]:
    """(evaluated, compliant) evaluation minutes t in (start, end]: each judges [window start(t), t).

    `minute_counts` maps a minute to its counts (ratio SLIs) or a time slice's start minute to 1 slice
    (time-slice SLIs: a slice counts in a window that wholly holds it). A minute whose window holds no events
    is not evaluated. Prefix sums make each minute O(log n), and a run of minutes whose windows hold no events
    is skipped in one jump, so the cost follows the data stored, not the period's length (a century of
    period over a day of data is a day's work).
    """
    lag = slo.sli.slice_seconds - conventions.MINUTE if isinstance(slo.sli, TimeSliceSli) else 0
    keys = sorted(minute_counts)
    good = [0, *accumulate(minute_counts[k].good for k in keys)]
    total = [0, *accumulate(minute_counts[k].total for k in keys)]
    nonzero = [0, *accumulate(minute_counts[k].total != 0 for k in keys)]
    evaluated = compliant = 0
    now = start + conventions.MINUTE
    while now <= end:
        low = bisect_left(keys, window_bounds(slo, now)[0])
        high = bisect_left(keys, now - lag)
        if high <= low or nonzero[high] == nonzero[low]:
            if high == len(keys):
                break
            now = _first_minute_reading(keys[high], lag, now)
            continue
        if total[high] != total[low]:
            evaluated += 1
            compliant += meets(Counts(good[high] - good[low], total[high] - total[low]), slo.objective)
        now += conventions.MINUTE
    return evaluated, compliant


def _first_minute_reading(key: int, lag: int, now: int) -> int:
    """The first evaluation minute after `now` (on its minute grid) whose window reaches the minute `key`.

    Until then a window holds only what it held at `now` or less (its start never moves back), so when that
    was no events every minute between is skipped with the same answer."""
    return now + ((key + lag - now) // conventions.MINUTE + 1) * conventions.MINUTE


def month_bounds(moment: int) -> tuple[int, int]:
    """[first instant, first instant of the next month) of the UTC calendar month holding `moment`."""
    from calendar import monthrange
    from datetime import UTC, datetime

    day = datetime.fromtimestamp(moment, tz=UTC)
    first = int(datetime(day.year, day.month, 1, tzinfo=UTC).timestamp())
    return first, first + monthrange(day.year, day.month)[1] * conventions.DAY


def incidents_in(log: Iterable[Mapping[str, Any]], slo_name: str, start: int, end: int) -> tuple[Incident, ...]:
    """Page incidents that were open at any time in [start, end); an end after `end` is not known yet."""
    found = []
    for fired, ended in page_incidents(log, slo_name):
        if fired >= end or (ended is not None and ended < start):
            continue
        found.append(Incident(fired, ended if ended is not None and ended <= end else None))
    return tuple(found)


def score_slo(
    slo: Slo,
    targets: Targets,
    minute_counts: Mapping[int, Counts],
    month_counts: Counts,
    log: Iterable[Mapping[str, Any]],
    start: int,
    end: int,
) -> SloScore:
    evaluated, compliant = compliance_minutes(slo, minute_counts, start, end)
    share = compliant / evaluated if evaluated >= MIN_EVALUATED_MINUTES else None
    used = budget_consumed(month_counts, slo.objective) if month_counts.total else None
    incidents = incidents_in(log, slo.name, start, end)
    ended = [i.duration(end) for i in incidents if i.ended is not None]
    mttr = sum(ended) / len(ended) if ended else None
    longest = max((i.duration(end) for i in incidents), default=None)
    # No page in a period with data is a recovery time of zero, not a missing one.
    mttr_verdict = ratio_verdict(mttr, targets.mttr, at_most=True) if incidents else (MET if evaluated else NO_DATA)
    if any(i.ended is None and i.duration(end) > targets.mttr for i in incidents):
        mttr_verdict = NOT_MET  # a page still open past the target already misses it
    return SloScore(
        slo=slo,
        minutes_evaluated=evaluated,
        minutes_compliant=compliant,
        compliance_time=Measure(share, targets.compliance_time, ratio_verdict(share, targets.compliance_time)),
        month_counts=month_counts,
        budget_use=Measure(used, targets.budget_use, ratio_verdict(used, targets.budget_use, at_most=True)),
        incidents=incidents,
        mttr=Measure(mttr, float(targets.mttr), mttr_verdict),
        longest_recovery_seconds=longest,
    )


def build_scorecard(
    spec: Spec,
    start: int,
    end: int,
    minute_counts: Mapping[str, Mapping[int, Counts]],
    month_counts: Mapping[str, Counts],
    log: Iterable[Mapping[str, Any]],
    trace_counts: Counts,
) -> Scorecard:
    """The scorecard of [start, end): `minute_counts` per SLO must reach back to its window before `start`;
    `month_counts` are each SLO's counts over the calendar month holding the period's last minute, to `end`."""
    entries = list(log)
    month_start, month_end = month_bounds(end - 1)
    coverage = trace_counts.good / trace_counts.total if trace_counts.total else None
    targets = spec.targets
    return Scorecard(
        start=start,
        end=end,
        month_start=month_start,
        month_end=month_end,
        targets=targets,
        slos=tuple(
            score_slo(slo, targets, minute_counts.get(slo.name, {}), month_counts.get(slo.name, Counts()),
                      entries, start, end)
            for slo in spec.slos
        ),
        trace_counts=trace_counts,
        trace_coverage=Measure(coverage, targets.trace_coverage, ratio_verdict(coverage, targets.trace_coverage)),
    )


def series_start(slo: Slo, start: int) -> int:
    """The earliest minute the first evaluation of a period starting at `start` reads."""
    return window_bounds(slo, start + conventions.MINUTE)[0]


class ScoreView(SliView, Protocol):
    """What a scorecard reads: the evaluator's view plus one minute series per SLO
    (processors.store.view.StoreView provides it)."""

    def minute_counts(self, slo: Slo, start: int, end: int) -> Mapping[int, Counts]: ...


def read_minutes(view: ScoreView, spec: Spec, start: int, end: int) -> dict[str, Mapping[int, Counts]]:
    """Each SLO's minute series from its first evaluation's window start to `end`: one read per SLO. Minutes
    inside a budget correction are left out, as the evaluator leaves them out of every window."""
    corrections = corrections_of(view, spec.names)
    found: dict[str, Mapping[int, Counts]] = {}
    for slo in spec.slos:
        minutes = view.minute_counts(slo, series_start(slo, start), end)
        windows = merged_windows(corrections, slo.name)
        found[slo.name] = {m: c for m, c in minutes.items() if not any(low <= m < high for low, high in windows)}
    return found


def scorecard_of(
    view: ScoreView,
    spec: Spec,
    start: int,
    end: int,
    log: Iterable[Mapping[str, Any]],
    minutes: Mapping[str, Mapping[int, Counts]] | None = None,
) -> Scorecard:
    """The scorecard of [start, end) read through `view`; `log` must reach back far enough to hold the pages open
    at `start`; `minutes` (read_minutes) when the caller has them already."""
    month_start, _ = month_bounds(end - 1)
    corrections = corrections_of(view, spec.names)  # corrected windows count as the evaluator counts them
    return build_scorecard(
        spec,
        start,
        end,
        minutes if minutes is not None else read_minutes(view, spec, start, end),
        {slo.name: corrected(view, corrections).counts(slo, month_start, end) for slo in spec.slos},
        log,
        view.trace_coverage(start, end),
    )


# --- The JSON document (field names are documented in docs/slos.md, "The scorecard") -----------------------


class MeasureDocument(TypedDict):
    value: float | None
    target: float
    verdict: Verdict


class IncidentDocument(TypedDict):
    fired: str
    ended: str | None  # null: still paging at the end of the period
    seconds: int  # to the end, or to the end of the period while still open


class SloScoreDocument(TypedDict):
    name: str
    objective: float
    window: str
    verdict: Verdict
    compliance_time: MeasureDocument
    minutes_evaluated: int
    minutes_compliant: int
    budget_use: MeasureDocument
    month_good: int
    month_total: int
    mttr_seconds: MeasureDocument
    longest_recovery_seconds: int | None
    incidents: list[IncidentDocument]


class ScorecardDocument(TypedDict):
    period: dict[str, str]
    month: dict[str, str]
    targets: dict[str, float]
    slos: list[SloScoreDocument]
    trace_coverage: MeasureDocument
    trace_events: dict[str, int]


def overall(verdicts: Iterable[Verdict]) -> Verdict:
    """not met if any is; met if all are; otherwise not enough data."""
    found = set(verdicts)
    if NOT_MET in found:
        return NOT_MET
    return MET if found == {MET} else NO_DATA


def _measure(measure: Measure, digits: int = 6) -> MeasureDocument:
    value = None if measure.value is None else round(measure.value, digits) + 0.0
    return {"value": value, "target": measure.target, "verdict": measure.verdict}


def scorecard_document(card: Scorecard) -> ScorecardDocument:
    slos: list[SloScoreDocument] = []
    for score in card.slos:
        slos.append(
            {
                "name": score.name,
                "objective": score.slo.objective,
                "window": score.slo.window_label,
                "verdict": overall(
                    (score.compliance_time.verdict, score.budget_use.verdict, score.mttr.verdict)
                ),
                "compliance_time": _measure(score.compliance_time),
                "minutes_evaluated": score.minutes_evaluated,
                "minutes_compliant": score.minutes_compliant,
                "budget_use": _measure(score.budget_use),
                "month_good": score.month_counts.good,
                "month_total": score.month_counts.total,
                "mttr_seconds": _measure(score.mttr, 0),
                "longest_recovery_seconds": score.longest_recovery_seconds,
                "incidents": [
                    {
                        "fired": iso_seconds(incident.fired),
                        "ended": None if incident.ended is None else iso_seconds(incident.ended),
                        "seconds": incident.duration(card.end),
                    }
                    for incident in score.incidents
                ],
            }
        )
    targets = card.targets
    return {
        "period": {"from": iso_seconds(card.start), "to": iso_seconds(card.end)},
        "month": {"from": iso_seconds(card.month_start), "to": iso_seconds(card.month_end)},
        "targets": {
            "compliance_time": targets.compliance_time,
            "budget_use": targets.budget_use,
            "mttr_seconds": targets.mttr,
            "trace_coverage": targets.trace_coverage,
        },
        "slos": slos,
        "trace_coverage": _measure(card.trace_coverage),
        "trace_events": {"with_correlation_id": card.trace_counts.good, "vocabulary_events": card.trace_counts.total},
    }


def daily_compliance(
    slo: Slo, minute_counts: Mapping[int, Counts], start: int, end: int
) -> list[tuple[int, int, int]]:
    """(day start, evaluated, compliant) for each UTC day overlapping [start, end): the compliance-time chart."""
    days = []
    day = start - start % conventions.DAY
    while day < end:
        low, high = max(day, start), min(day + conventions.DAY, end)
        evaluated, compliant = compliance_minutes(slo, minute_counts, low, high)
        days.append((day, evaluated, compliant))
        day += conventions.DAY
    return days
