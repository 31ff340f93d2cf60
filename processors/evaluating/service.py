"""Evaluate at one `now`: the one place that turns a view and a time into evaluations, the alert log
they were judged against, and the operator metrics' inputs.

The evaluator Lambda, `slo status`, `slo metrics`, the report and the replay backtest all call
`evaluate_at`, so they read the same windows and the same alert-log lookback (MTTR included).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processors import conventions
from processors.counting import Counts
from processors.evaluating.budget import window_bounds
from processors.evaluating.corrections import corrected, corrections_of, isolated_corrections
from processors.evaluating.evaluate import Isolated, evaluate
from processors.evaluating.types import Evaluation, MinuteReadings, SliView, Unevaluated
from processors.spec.model import Spec
from processors.timeutil import floor_to

# Incidents that opened up to this long before an SLO window still count towards its MTTR.
MTTR_LOOKBACK_MARGIN = 7 * conventions.DAY
TRACE_COVERAGE_WINDOW = 30 * conventions.DAY


@dataclass(frozen=True)
class EvaluatedAt:
    """Everything one `now` yields. `minute` and `trace_coverage` are None when not asked for."""

    now: int
    evaluation: Evaluation
    alert_log: tuple[dict[str, Any], ...]  # from alert_log_since(spec, now): MTTR's lookback
    minute: MinuteReadings | None = None
    trace_coverage: Counts | None = None  # over the TRACE_COVERAGE_WINDOW before now
    unread: Unevaluated | None = None  # why `minute` is None although asked for (`isolate`)

    @property
    def unevaluated(self) -> tuple[Unevaluated, ...]:
        """Everything `isolate` left out: SLOs, groups, and the operator metrics' minute."""
        return self.evaluation.unevaluated + ((self.unread,) if self.unread else ())


def alert_log_since(spec: Spec, now: int) -> int:
    """The earliest transition any SLO's MTTR at `now` can need: its window start minus the lookback margin."""
    starts = [window_bounds(slo, now)[0] for slo in spec.slos] or [now]
    return min(starts) - MTTR_LOOKBACK_MARGIN


def evaluate_at(
    view: SliView, spec: Spec, now: int, *, readings: bool = True, isolate: Isolated = ()
) -> EvaluatedAt:
    """Every SLO of `spec` at `now` (epoch seconds, minute-aligned), read through `view`.

    With `readings` (the default) it also reads the operator metrics' minute and the trace coverage;
    the backtest, which needs only the evaluation, turns that off. `isolate` (the evaluator Lambda's) leaves out
    what an error of those types touches, as `evaluate` does: an SLO, a group, or the operator metrics' minute.
    An SLO whose corrections do not read is left out, as for a damaged counter (a correction changes its counts).
    An alert log that does not read leaves out the operator metrics' minute (its MTTR reads the log), and the SLOs
    are evaluated without it: the log decides no page (alert states do) and feeds only MTTR, which the evaluator
    Lambda emits only there. Without `isolate` each is raised.
    """
    since = alert_log_since(spec, now)
    unread: Unevaluated | None = None
    if isolate:
        try:
            log = tuple(view.alert_log(since=since))
        except isolate as exc:
            log, unread = (), Unevaluated("operator metrics", "", str(exc))
        # budget corrections apply here, once, for every caller (status, evaluator, report, backtest)
        view = corrected(view, *isolated_corrections(view, spec.names, isolate))
    else:
        log = tuple(view.alert_log(since=since))
        view = corrected(view, corrections_of(view, spec.names))
    evaluation = evaluate(view, spec, now, log, isolate)
    if not readings or unread is not None:
        return EvaluatedAt(now, evaluation, log, unread=unread)
    try:
        coverage = view.trace_coverage(now - TRACE_COVERAGE_WINDOW, now)
        minute = minute_readings(view, spec, now)
    except isolate as exc:
        return EvaluatedAt(now, evaluation, log, unread=Unevaluated("operator metrics", "", str(exc)))
    return EvaluatedAt(now, evaluation, log, minute, coverage)


def metric_minute(now: float) -> tuple[int, int]:
    """The minute the metrics at `now` describe: [floor(now) − 60, floor(now))."""
    end = floor_to(now, conventions.MINUTE)
    return end - conventions.MINUTE, end


def minute_readings(view: SliView, spec: Spec, now: float) -> MinuteReadings:
    """The counters, gauges and sketches the spec's operator metrics read, of the minute before `now` (its own
    read, for ranges), plus the ingest's trace coverage."""
    start, end = metric_minute(now)
    series = [*dict.fromkeys(m.counter for m in spec.metrics if m.counter), conventions.TRACE_COVERAGE_SLI]
    sketches = dict.fromkeys(m.sketch for m in spec.metrics if m.sketch)
    gauges = [conventions.OPEN_UNITS_GAUGE] if any(m.kind in ("gauge", "utilization") for m in spec.metrics) else []
    return MinuteReadings(
        start=start,
        end=end,
        counts={name: view.minute_bucket(spec.series_of(name), start) for name in series},
        gauges={name: view.gauge(name) for name in gauges},
        digests={sketch: view.digest(spec.sketch_series(sketch), start, end) for sketch in sketches},
    )
