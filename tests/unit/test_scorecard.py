"""The scorecard: compliance time, month budget use, incidents and MTTR, trace coverage, each against the spec's
targets; and its agreement with the per-minute SLOCompliant the evaluator emits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors.counting import Counts
from processors.evaluating import evaluate
from processors.evaluating.budget import window_bounds
from processors.evaluating.metrics import METRIC_COMPLIANT, slo_points
from processors.evaluating.scorecard import (
    MET,
    NO_DATA,
    NOT_MET,
    build_scorecard,
    compliance_minutes,
    incidents_in,
    meets,
    scorecard_document,
)
from processors.spec import Spec, SpecError, Targets, load_spec, parse_spec
from processors.spec.model import Slo, TimeSliceSli
from tests.fakes.evaluating import Phase, SeriesView, minute_counts

T0 = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())
DOCS = Path(__file__).resolve().parents[2] / "docs" / "slos.md"


def api(window: str = "1d") -> Spec:
    spec = load_spec()
    slo = spec.slo("api-availability")
    from dataclasses import replace

    from processors.timeutil import parse_duration

    return Spec(slos=(replace(slo, window=parse_duration(window) or 0),))


def series(phases: list[Phase]) -> dict[int, Counts]:
    return {T0 + i * 60: c for i, c in enumerate(minute_counts(phases)) if c.total}


@pytest.mark.parametrize(
    ("case", "phases", "start_minute", "expected"),
    [
        ("a clean day is compliant every minute", [Phase(1440, 10)], 60, (1380, 1380)),
        ("minutes whose window holds no events are not evaluated", [Phase(60, 0), Phase(60, 10)], 0, (60, 60)),
        # 10 bad of 600 in the first hour (the first at minute 6): out from minute 6 until the window holds
        # 10,000 events (minute 1,000): minutes 1-5 and 1,000-1,440 are compliant
        ("a bad first hour keeps the SLO out until enough good events dilute it",
         [Phase(60, 10, 1 / 60), Phase(1380, 10)], 0, (1440, 5 + 441)),
        ("an outage counts against every minute whose window holds it",
         [Phase(720, 100), Phase(5, 100, 1.0), Phase(715, 100)], 720, (720, 0)),
    ],
)
def test_compliance_time_counts_the_evaluation_minutes_at_objective(
    case: str, phases: list[Phase], start_minute: int, expected: tuple[int, int]
) -> None:
    slo = api().slos[0]
    total_minutes = sum(p.minutes for p in phases)
    found = compliance_minutes(slo, series(phases), T0 + start_minute * 60, T0 + total_minutes * 60)
    assert found == expected


def test_compliance_time_agrees_with_the_slo_compliant_metric_of_every_minute() -> None:
    """The scorecard's share equals the Average of SLOCompliant the evaluator emits, minute by minute."""
    spec = api("2h")
    slo = spec.slos[0]
    counts = minute_counts([Phase(200, 20), Phase(3, 20, 0.5), Phase(150, 20), Phase(1, 20, 0.2), Phase(40, 20)],
                           seed=7)
    view = SeriesView(T0, {slo.name: counts})
    start, end = T0 + 30 * 60, T0 + len(counts) * 60
    emitted = []
    for now in range(start + 60, end + 1, 60):
        points = slo_points(evaluate(view, spec, now).slos[0])
        emitted += [p.value for p in points if p.name == METRIC_COMPLIANT]
    minutes = {T0 + i * 60: c for i, c in enumerate(counts) if c.total}
    assert compliance_minutes(slo, minutes, start, end) == (len(emitted), sum(emitted))
    assert 0 < sum(emitted) < len(emitted)


def every_minute(slo: Slo, minutes: dict[int, Counts], start: int, end: int) -> tuple[int, int]:
    """compliance_minutes as it was first written: one step per minute of the period, the reference."""
    from bisect import bisect_left

    lag = slo.sli.slice_seconds - 60 if isinstance(slo.sli, TimeSliceSli) else 0
    keys = sorted(minutes)
    evaluated = compliant = 0
    for now in range(start + 60, end + 1, 60):
        low, high = bisect_left(keys, window_bounds(slo, now)[0]), bisect_left(keys, now - lag)
        inside = [minutes[k] for k in keys[low:high]]
        total = sum(c.total for c in inside)
        if total:
            evaluated += 1
            compliant += meets(Counts(sum(c.good for c in inside), total), slo.objective)
    return evaluated, compliant


GAPPY = {T0 + m * 60: Counts(10 - (m % 7 == 0), 10) for m in [*range(0, 90), *range(400, 430), *range(3000, 3005)]}


@pytest.mark.parametrize(
    ("case", "minutes", "window", "calendar_month", "start_offset", "span_minutes"),
    [
        ("data with gaps longer than the window", GAPPY, "1h", False, -600, 4000),
        ("data with gaps shorter than the window", GAPPY, "1d", False, 0, 5000),
        ("a period that starts off the minute grid", GAPPY, "2h", False, -3607, 3200),
        ("minutes that hold no events", {**GAPPY, T0 + 200 * 60: Counts(0, 0)}, "1h", False, 0, 600),
        ("a calendar-month window across a month's end", GAPPY, "1d", True, -31 * 86400, 40 * 1440),
        ("no data at all", {}, "1h", False, 0, 600),
    ],
)
def test_compliance_time_skips_empty_windows_with_the_answer_of_every_minute(
    case: str, minutes: dict[int, Counts], window: str, calendar_month: bool, start_offset: int, span_minutes: int
) -> None:
    from dataclasses import replace

    slo = replace(api(window).slos[0], calendar_month=calendar_month)
    start = T0 + start_offset
    end = start + span_minutes * 60
    assert compliance_minutes(slo, minutes, start, end) == every_minute(slo, minutes, start, end)


def test_a_period_of_years_over_a_day_of_data_costs_what_the_data_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    import processors.evaluating.scorecard as scorecard

    calls = []

    def counted(slo: Slo, now: int) -> tuple[int, int]:
        calls.append(now)
        return window_bounds(slo, now)

    monkeypatch.setattr(scorecard, "window_bounds", counted)
    slo = api("1h").slos[0]
    minutes = {T0 + m * 60: Counts(10, 10) for m in range(1440)}
    found = compliance_minutes(slo, minutes, T0 - 400 * 86400, T0 + 2 * 86400)
    assert found == (1439 + 60, 1439 + 60)  # each minute from the second to an hour after the last
    assert len(calls) < 3 * 1440  # not one per minute of the 402 days (578,880)


@pytest.mark.parametrize(
    ("case", "log", "expected"),
    [
        ("a page that ended in the period is one incident",
         [("firing", 10), ("resolved", 25)], [(10, 25)]),
        ("a page still open at the end has no end yet",
         [("firing", 10), ("downgraded", 200)], [(10, None)]),
        ("a page that ended before the period is not in it",
         [("firing", -50), ("resolved", -10)], []),
        ("a page that fired before the period and ended in it counts",
         [("firing", -50), ("resolved", 5)], [(-50, 5)]),
    ],
)
def test_incidents_are_the_pages_open_in_the_period(
    case: str, log: list[tuple[str, int]], expected: list[tuple[int, int | None]]
) -> None:
    entries = [
        {"slo": "api-availability", "kind": "burn_rate", "severity": "page", "state": state, "at_epoch": T0 + m * 60}
        for state, m in log
    ]
    found = incidents_in(entries, "api-availability", T0, T0 + 100 * 60)
    assert [(i.fired - T0, None if i.ended is None else i.ended - T0) for i in found] == [
        (f * 60, None if e is None else e * 60) for f, e in expected
    ]


def card_for(month: Counts, log: list[tuple[str, int]], trace: Counts, phases: list[Phase] | None = None):  # type: ignore[no-untyped-def]
    spec = api()
    entries = [
        {"slo": "api-availability", "kind": "burn_rate", "severity": "page", "state": state, "at_epoch": T0 + m * 60}
        for state, m in log
    ]
    minutes = {"api-availability": series(phases if phases is not None else [Phase(600, 10)])}
    return build_scorecard(spec, T0, T0 + 600 * 60, minutes, {"api-availability": month}, entries, trace)


@pytest.mark.parametrize(
    ("case", "month", "log", "trace", "verdicts"),
    [
        ("a quiet healthy month meets everything", Counts(9999, 10000), [], Counts(10, 10),
         {"budget": MET, "mttr": MET, "trace": MET}),
        ("six bad in ten thousand spends 60% of the budget: over half", Counts(9994, 10000), [], Counts(10, 10),
         {"budget": NOT_MET, "mttr": MET, "trace": MET}),
        ("a ten-minute page meets a 15-minute MTTR", Counts(9999, 10000), [("firing", 100), ("resolved", 110)],
         Counts(10, 10), {"budget": MET, "mttr": MET, "trace": MET}),
        ("a page still open after 20 minutes already misses it", Counts(9999, 10000), [("firing", 580)],
         Counts(10, 10), {"budget": MET, "mttr": NOT_MET, "trace": MET}),
        ("one uncorrelated event in a thousand misses full trace coverage", Counts(10, 10), [], Counts(999, 1000),
         {"budget": MET, "mttr": MET, "trace": NOT_MET}),
        ("no events at all is not enough data, never met", Counts(0, 0), [], Counts(0, 0),
         {"budget": NO_DATA, "mttr": NO_DATA, "trace": NO_DATA}),
    ],
)
def test_each_measure_gets_a_verdict_against_its_target(
    case: str, month: Counts, log: list[tuple[str, int]], trace: Counts, verdicts: dict[str, str]
) -> None:
    phases = [Phase(600, 10)] if month.total else [Phase(600, 0)]
    card = card_for(month, log, trace, phases)
    score = card.slos[0]
    assert {"budget": score.budget_use.verdict, "mttr": score.mttr.verdict,
            "trace": card.trace_coverage.verdict} == verdicts
    if not month.total:
        assert score.compliance_time.verdict == NO_DATA


@pytest.mark.parametrize(
    ("case", "yaml", "expected"),
    [
        ("no targets are the product spec's", "", Targets()),
        ("targets override one at a time", "targets: {mttr: 30m, budget_use: 0.25}\n",
         Targets(mttr=1800, budget_use=0.25)),
    ],
)
def test_targets_come_from_the_spec_with_the_product_defaults(case: str, yaml: str, expected: Targets) -> None:
    text = Path(load_spec().source).read_text(encoding="utf-8")
    text = re.sub(r"^targets:\n(  .*\n)+", "", text, flags=re.M) + yaml
    assert parse_spec(text).targets == expected


@pytest.mark.parametrize(
    ("case", "yaml", "message"),
    [
        ("a percent where a ratio belongs", "targets: {compliance_time: 99}\n", "targets.compliance_time"),
        ("an MTTR that is not a duration", "targets: {mttr: soon}\n", "targets.mttr"),
        ("an unknown target", "targets: {uptime: 0.9}\n", "targets.uptime"),
    ],
)
def test_a_bad_target_names_its_field(case: str, yaml: str, message: str) -> None:
    text = Path(load_spec().source).read_text(encoding="utf-8")
    text = re.sub(r"^targets:\n(  .*\n)+", "", text, flags=re.M) + yaml
    with pytest.raises(SpecError) as error:
        parse_spec(text)
    assert message in str(error.value)


def field_names(document: object, prefix: str = "") -> set[str]:
    names: set[str] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            names.add(key)
            names |= field_names(value)
    elif isinstance(document, list):
        for item in document:
            names |= field_names(item)
    return names


def test_every_json_field_of_the_scorecard_is_documented() -> None:
    card = card_for(Counts(9999, 10000), [("firing", 100), ("resolved", 110)], Counts(10, 10))
    document = json.loads(json.dumps(scorecard_document(card)))
    section = DOCS.read_text(encoding="utf-8").split("## The scorecard", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)(?:\[\])?`", section))
    assert field_names(document) <= documented, sorted(field_names(document) - documented)


@pytest.mark.parametrize(
    ("value", "at_most", "shown"),
    [
        (0.99996, False, "99.99%"),  # a coverage short of 100% never prints as 100.00%
        (0.99, False, "99.00%"),
        (1.0, False, "100.00%"),
        (0.50101, True, "50.11%"),  # a budget used rounds up, never down to its target
        (0.5, True, "50.00%"),
    ],
)
def test_a_percentage_is_rounded_away_from_its_target(value: float, at_most: bool, shown: str) -> None:
    from processors.cli.scorecard import _percent

    assert _percent(value, at_most=at_most) == shown
