"""Gather a report's data through a ReportView: status documents at regular steps (evaluate_at), the alert
log, latency quantiles per step, cache slices and one trace. Everything comes out JSON-shaped (ReportData).

Time is epoch seconds in, ISO 8601 out. One view serves every step, so its memoised reads are shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from processors import conventions
from processors.counting import Rows, slice_field_index
from processors.evaluating import alert_policy, status_document
from processors.evaluating.service import alert_log_since, evaluate_at
from processors.rendering.exceptions import RenderingError
from processors.rendering.types import CacheSlice, LatencyPoint, ReportData, ReportView, SloInfo, TierInfo
from processors.spec.model import id_labels
from processors.timeutil import MIN_EPOCH, floor_to, format_duration, iso_seconds, parse_iso8601, transition_epoch
from processors.tracing import not_found_view, trace_view

if TYPE_CHECKING:
    from processors.spec.model import Journey, Spec

DEFAULT_RANGE = conventions.DAY
DEFAULT_STEP = 5 * conventions.MINUTE
MAX_STEPS = 5000  # a year at 2-hour steps; more would make a report nobody can open
# The steps a report given none takes past DEFAULT_STEP's MAX_STEPS (17 days), shortest first: the first of at
# most FITTING_STEP_COUNT steps (30 days at 1h, as the monthly report), so it costs what a monthly report costs
FITTING_STEPS = tuple(minutes * conventions.MINUTE for minutes in (30, 60, 120, 360, 720, 1440))
FITTING_STEP_COUNT = 1000
MAX_SLICES = 120_000  # 400 days of 5-minute slices, as long as the store keeps hour rows
# A step may be longer than a short range (the monthly report's hour over a month's first minutes), up to this.
MAX_STEP_BEYOND_RANGE = conventions.DAY
FIRING_STATES = ("firing", "escalated", "downgraded")
EXEMPLAR_ALERTS_CONSIDERED = 3


def collect_report_data(
    view: ReportView,
    spec: Spec,
    since: int | None = None,
    until: int | None = None,
    trace_id: str | None = None,
    step: int | None = DEFAULT_STEP,
    monthly: bool = False,
) -> ReportData:
    """The report over [since, until], evaluated every `step` seconds (None: fitting_step of the range).

    `until` defaults to the end of the newest minute with data; `since` to 24 hours before it, but no earlier
    than the first hour with any SLI data (so eight hours of sample data don't make a mostly empty report).
    """
    if step is not None and (step <= 0 or step % conventions.MINUTE):
        raise RenderingError(f"step must be a whole number of minutes, not {step}s")
    if until is None:
        until = default_until(view)
    until = floor_to(until, conventions.MINUTE)
    if since is None:
        since = max(until - DEFAULT_RANGE, first_data_hour(view, spec, until - DEFAULT_RANGE, until) or until)
    if step is None:
        step = fitting_step(since, until)
    if step > max(until - since, MAX_STEP_BEYOND_RANGE):  # flooring `since` pulls it back by up to a step
        raise RenderingError(
            f"step {format_duration(step)} is longer than the report's range [{iso_seconds(since)}, "
            f"{iso_seconds(until)}) ({format_duration(until - since)}): use a shorter step or a longer range"
        )
    since = floor_to(since, step)
    if since < MIN_EPOCH:
        raise RenderingError(
            f"step {format_duration(step)} takes the report's start before {iso_seconds(MIN_EPOCH)}, the earliest "
            "time it can show: use a shorter step or a later start"
        )
    if since >= until:  # after flooring, as always: data of a few seconds still makes a one-step report
        raise RenderingError(f"empty report range: since {iso_seconds(since)} is not before {iso_seconds(until)}")
    check_report_size(spec, since, until, step)
    moments = [*range(since, until, step), until]

    # every step sees the same MTTR lookback as `slo status` at that moment (evaluate_at reads it)
    series = [dict(status_document(evaluate_at(view, spec, at, readings=False).evaluation, at)) for at in moments]
    log = view.alert_log(since=alert_log_since(spec, since))
    now = _with_firing(dict(series[-1]), firing_at(log, until))
    in_range = [t for t in log if since <= _epoch(t, since - 1) <= until]
    latency: dict[str, list[LatencyPoint]] = {}
    slices: dict[str, list[CacheSlice]] = {}
    for slo in spec.slos:
        if slo.kind == "latency":
            latency[slo.name] = [
                _latency_point(view.latency_quantiles(slo.series(), at - step, at), at) for at in moments
            ]
        elif slo.kind == "time_slice":
            sli: Any = slo.sli
            hours = view.hour_rows(slo.series(), floor_to(since, conventions.HOUR), until)
            slices[slo.name] = cache_slice_strip(hours, since, until, sli.slice_seconds, sli.min_ratio)
    trace, reason, damaged = pick_trace(view, in_range, trace_id, spec.journey)
    monthly_fields = monthly_sections(view, spec, since, until) if monthly else {}
    return ReportData(
        status_now=now,
        status_series=series,
        alert_log=in_range,
        trace=trace,
        cache_slices=slices,
        latency_series=latency,
        since=iso_seconds(since),
        until=iso_seconds(until),
        step_seconds=step,
        slo_info=slo_info(spec),
        trace_reason=reason,
        trace_labels=id_labels(spec.journey),
        damaged_traces=damaged,
        corrections=tuple(getattr(view, "corrections", lambda names: [])(list(spec.names))),
        **monthly_fields,
    )


SCORECARD_LOOKBACK = 7 * conventions.DAY


def monthly_sections(view: ReportView, spec: Spec, since: int, until: int) -> dict[str, Any]:
    """The scorecard of [since, until), each SLO's compliance per UTC day, and the silences and corrections."""
    from processors.evaluating.scorecard import daily_compliance, read_minutes, scorecard_document, scorecard_of

    log = view.alert_log(since=since - SCORECARD_LOOKBACK)
    minutes = read_minutes(view, spec, since, until)
    card = scorecard_of(view, spec, since, until, log, minutes)
    days = {
        slo.name: [
            {"day": iso_seconds(day)[:10], "evaluated": evaluated, "compliant": compliant,
             "share": round(compliant / evaluated, 6) if evaluated else None}
            for day, evaluated, compliant in daily_compliance(slo, minutes[slo.name], since, until)
        ]
        for slo in spec.slos
    }
    return {"scorecard": scorecard_document(card), "compliance_days": days, "notes": notes_of(view, spec, since, until)}


def notes_of(view: ReportView, spec: Spec, since: int, until: int) -> list[dict[str, Any]]:
    """The silences and budget corrections that overlap [since, until), by start: what the period's numbers
    were judged with (corrections left events out; silences held notifications back)."""
    from processors.evaluating.corrections import corrections_of

    notes: list[dict[str, Any]] = [
        {"at": iso_seconds(c.start), "until": iso_seconds(c.end), "slo": c.slo, "kind": "correction",
         "reason": c.reason, "by": c.created_by}
        for c in corrections_of(view, spec.names)
        if c.start < until and c.end > since
    ]
    read = getattr(view, "silences", None)  # a view without a store has none
    for silence in read() if callable(read) else ():
        starts, ends = int(silence.get("starts", 0)), int(silence.get("ends", 0))
        if starts < until and ends > since:
            notes.append({"at": iso_seconds(starts), "until": iso_seconds(ends), "slo": silence.get("slo", "*"),
                          "kind": "silence", "reason": silence.get("reason", ""), "by": silence.get("created_by", "")})
    return sorted(notes, key=lambda note: str(note["at"]))


def default_until(view: ReportView) -> int:
    until = view.default_at()
    if until is None:
        raise RenderingError("the store holds no events yet: run `slo replay PATH` first")
    return until


def first_data_hour(view: ReportView, spec: Spec, start: int, end: int) -> int | None:
    """The first hour in [start, end) with counters for any SLO."""
    hours = [
        min(rows)
        for slo in spec.slos
        if (rows := view.hour_rows(slo.series(), floor_to(start, conventions.HOUR), end))
    ]
    return min(hours) if hours else None


def check_report_size(spec: Spec, since: int, until: int, step: int) -> None:
    """Refuse, before anything is read or built, a report of more than MAX_STEPS evaluations or MAX_SLICES
    time slices: counted, not listed, so a range of centuries fails at once."""
    steps = step_count(since, until, step) + 1  # the last step is `until` itself
    if steps > MAX_STEPS:
        raise RenderingError(f"{steps} steps is too many: use a longer step or a shorter range")
    for slo in spec.slos:
        if slo.kind == "time_slice":
            sli: Any = slo.sli
            slice_count(since, until, sli.slice_seconds)


def fitting_step(since: int, until: int) -> int:
    """A report's step when none is given: DEFAULT_STEP while [since, until] fits MAX_STEPS of it, else the
    shortest of FITTING_STEPS that makes at most FITTING_STEP_COUNT of them, or failing that MAX_STEPS; else
    DEFAULT_STEP (such a range is refused as it is with it)."""
    for most, steps in ((MAX_STEPS, (DEFAULT_STEP,)), (FITTING_STEP_COUNT, FITTING_STEPS), (MAX_STEPS, FITTING_STEPS)):
        for step in steps:
            if step_count(floor_to(since, step), until, step) + 1 <= most:
                return step
    return DEFAULT_STEP


def step_count(start: int, end: int, step: int) -> int:
    """len(range(start, end, step)), for any size."""
    return max(0, -(-(end - start) // step))


def slice_count(start: int, end: int, slice_seconds: int) -> int:
    """How many slices lie wholly inside [start, end); more than MAX_SLICES is a RenderingError."""
    first = -(-start // slice_seconds) * slice_seconds
    count = max(0, (end - first) // slice_seconds)
    if count > MAX_SLICES:
        raise RenderingError(
            f"{count:,} time slices of {format_duration(slice_seconds)} is too many for one report (at most "
            f"{MAX_SLICES:,}): use a shorter range"
        )
    return count


def cache_slice_strip(hour_rows: Rows, start: int, end: int, slice_seconds: int, min_ratio: float) -> list[CacheSlice]:
    """Every slice wholly inside [start, end), good or bad by the same rule as counting.count_slices."""
    slice_count(start, end, slice_seconds)
    strip: list[CacheSlice] = []
    first = -(-start // slice_seconds) * slice_seconds
    for slice_start in range(first, end - slice_seconds + 1, slice_seconds):
        fields = hour_rows.get(floor_to(slice_start, conventions.HOUR)) or {}
        index = slice_field_index(slice_start, slice_seconds)
        lookups = int(fields.get(f"t{index}", 0))
        hits = int(fields.get(f"g{index}", 0))
        good = None if lookups <= 0 else hits >= min_ratio * lookups
        strip.append({"start": iso_seconds(slice_start), "good": good, "hits": hits, "lookups": max(lookups, 0)})
    return strip


def firing_at(log: Iterable[Mapping[str, Any]], at: int) -> dict[str, list[dict[str, Any]]]:
    """SLO -> the alert-log records still firing at `at`: the last record of each (kind, level) that fired."""
    last: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}
    for transition in log:
        if _epoch(transition, at + 1) > at:
            continue
        kind = str(transition.get("kind", ""))
        # burn-rate alerts are one incident per SLO (per group of a grouped SLO); budget alerts fire once per level
        level = str(transition.get("severity", "")) if kind == "budget" else ""
        last[(str(transition.get("slo", "")), str(transition.get("group", "")), kind, level)] = transition
    firing: dict[str, list[dict[str, Any]]] = {}
    for (slo, _group, _kind, _level), transition in last.items():
        if transition.get("state") in FIRING_STATES:
            firing.setdefault(slo, []).append(dict(transition))
    return firing


def pick_trace(
    view: ReportView, log: Sequence[Mapping[str, Any]], trace_id: str | None, journey: Journey | None
) -> tuple[dict[str, Any] | None, str, tuple[str, ...]]:
    """The trace to show, why, and the traces left out because their stored head does not decode:
    `trace_id`, else the worst exemplar of the most recent alert with exemplars.

    Worst: a whole journey before a lone request, then one with errors, then the longest time from the first
    milestone to the one that opens the unit, then the longest total.
    The exemplars of the latest few pages (then tickets) are the candidates.
    """
    if trace_id:
        heads, damaged = view.heads_and_damaged([trace_id])
        if damaged:
            return None, f"the stored trace {trace_id} (asked for with --trace) does not decode", (trace_id,)
        head = heads.get(trace_id)
        document = trace_view(head, journey) if head is not None else not_found_view(trace_id)
        return dict(document), f"trace {trace_id} (asked for with --trace)", ()
    with_exemplars = [t for t in log if t.get("exemplars") and t.get("state") in ("firing", "escalated")]
    # pages before tickets, newest first
    with_exemplars.sort(key=lambda t: (t.get("severity") == "page", _epoch(t, 0)), reverse=True)
    candidates: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    left_out: dict[str, None] = {}  # in the order met: an ID can be an exemplar of several alerts
    for transition in with_exemplars[:EXEMPLAR_ALERTS_CONSIDERED]:
        heads, damaged = view.heads_and_damaged(str(i) for i in transition["exemplars"])
        candidates.extend((dict(trace_view(head, journey)), transition) for head in heads.values())
        left_out.update(dict.fromkeys(sorted(damaged)))
    if not candidates:
        if left_out:
            return None, f"the stored traces of the latest alerts' {len(left_out)} exemplars do not decode", (
                tuple(left_out)
            )
        return None, "no alert in this range carried exemplars, and no --trace was given", ()
    worst, transition = max(candidates, key=lambda pair: _badness(pair[0], journey))
    tier = f" {transition['tier']}" if transition.get("tier") else ""
    reason = (
        f"the worst exemplar of the latest alerts: {worst.get('correlationId')}, from the "
        f"{transition.get('slo')} {transition.get('severity')}{tier} alert at {transition.get('at')}"
    )
    return worst, reason, tuple(left_out)


def slo_info(spec: Spec) -> dict[str, SloInfo]:
    info: dict[str, SloInfo] = {}
    for slo in spec.slos:
        tiers: list[TierInfo] = [
            {
                "name": f"{format_duration(t.long_window)}/{format_duration(t.short_window)}",
                "severity": t.severity,
                "factor": t.factor,
            }
            for t in alert_policy(slo).tiers
        ]
        entry: SloInfo = {"description": slo.description, "kind": slo.kind, "tiers": tiers}
        sli: Any = slo.sli
        if slo.kind == "latency":
            entry["threshold_ms"] = float(sli.threshold_ms)
        if slo.kind == "time_slice":
            entry["slice_seconds"] = int(sli.slice_seconds)
            entry["min_ratio"] = float(sli.min_ratio)
        info[slo.name] = entry
    return info


def _badness(trace: Mapping[str, Any], journey: Journey | None) -> tuple[bool, bool, int, int]:
    milestones = trace.get("milestones") or {}
    first = journey.milestones[0] if journey else None
    start = parse_iso8601(milestones.get(first)) if first else None
    end = parse_iso8601(milestones.get(journey.opens)) if journey else None
    to_open = int((end - start).total_seconds() * 1000) if start and end else 0
    total = (trace.get("breakdownMs") or {}).get("total") or 0
    whole = bool(start) and any(milestones.get(m) for m in (journey.terminal if journey else ()))
    return whole, bool(trace.get("errors")), to_open, int(total)


def _latency_point(quantiles: Mapping[str, float] | None, at: int) -> LatencyPoint:
    q = quantiles or {}
    return {"at": iso_seconds(at), "p50": q.get("p50"), "p95": q.get("p95"), "p99": q.get("p99")}


def _with_firing(document: dict[str, Any], firing: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    document["slos"] = [dict(slo, alerts=firing.get(slo["name"], [])) for slo in document["slos"]]
    return document


def _epoch(transition: Mapping[str, Any], default: int) -> int:
    at = transition_epoch(transition)
    return default if at is None else at
