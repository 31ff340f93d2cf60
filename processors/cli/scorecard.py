"""`slo scorecard [--month YYYY-MM | --since DURATION|TIME] [--at TIME] [--json]`: every SLO against the targets.

The measures and verdicts are processors.evaluating.scorecard's; this module picks the period and prints.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from processors import conventions
from processors.cli.common import (
    UsageError,
    add_spec_argument,
    add_store_arguments,
    horizon,
    load_spec_argument,
    open_store,
    parse_since_argument,
    resolve_at,
)
from processors.timeutil import MAX_EPOCH, MIN_EPOCH, format_duration, iso_seconds

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Pages that fired up to this long before the period and were still open in it count in it.
INCIDENT_LOOKBACK = 7 * conventions.DAY
MARKS = {"met": "✅", "not met": "❌", "not enough data": "…"}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "scorecard",
        help="every SLO against the spec's targets: compliance time, budget use, MTTR, trace coverage",
        description="Sets each SLO against the spec's `targets:` over a period (default: the calendar month of "
        "the newest data, to that data): the share of evaluation minutes in which it met its objective, the "
        "share of the month's error budget used, its page incidents with MTTR and the longest recovery, and "
        "trace coverage. Each gets a verdict: met, not met, or not enough data.",
    )
    add_store_arguments(parser)
    add_spec_argument(parser)
    period = parser.add_mutually_exclusive_group()
    period.add_argument("--month", metavar="YYYY-MM", help="a UTC calendar month (to the newest data, if sooner)")
    period.add_argument("--since", metavar="DURATION|TIME", help="e.g. 30d: the period ends at --at")
    parser.add_argument("--at", metavar="TIME", help="end of the period; default: end of the newest minute with data")
    parser.add_argument("--json", action="store_true", help="print the scorecard document as JSON")
    parser.set_defaults(func=run)


def month_argument(text: str) -> tuple[int, int]:
    match = MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise UsageError(f"--month: not a month: {text!r} (e.g. 2026-10)")
    from processors.evaluating.scorecard import month_bounds

    first = int(datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC).timestamp())
    return month_bounds(first)


def period_edges_in_range(start: int, end: int, since_flag: str, until_flag: str) -> None:
    """A period starts no earlier and ends no later than the times a datetime holds (years 1 to 9999), and
    ends after the first of them: the month arithmetic and the store's integers fail beyond."""
    if start < MIN_EPOCH:
        raise UsageError(f"{since_flag}: the period would start before {iso_seconds(MIN_EPOCH)}, the earliest time "
                         "slo handles")
    if not MIN_EPOCH < end <= MAX_EPOCH:
        raise UsageError(f"{until_flag}: the period must end after {iso_seconds(MIN_EPOCH)} and by "
                         f"{iso_seconds(MAX_EPOCH)}")


def period(args: argparse.Namespace, store: Any) -> tuple[int, int]:
    from processors.evaluating.scorecard import month_bounds

    latest = horizon(store)
    if args.month:
        start, end = month_argument(args.month)
        latest.check(start, "--month", args.month)
        newest = store.default_at()
        if newest is None or newest <= start:
            raise UsageError(f"--month {args.month}: the store holds no data in or after that month")
        end = min(end, resolve_at(args, store, latest) if args.at else newest)
    else:
        end = resolve_at(args, store, latest)
        period_edges_in_range(end, end, "--since", "--at")  # before month_bounds reads the minute before it
        start = month_bounds(end - 1)[0]
        if args.since:
            since = parse_since_argument(args.since, "--since", end, latest)
            start = start if since is None else since  # not `or`: 1970-01-01T00:00:00Z is 0
    period_edges_in_range(start, end, "--since", "--at")
    if start >= end:
        raise UsageError(f"the period [{iso_seconds(start)}, {iso_seconds(end)}) is empty")
    return start, end


def scorecard_at(store: Any, spec: Any, start: int, end: int) -> Any:
    from processors.evaluating.scorecard import scorecard_of
    from processors.store.view import StoreView

    return scorecard_of(StoreView(store), spec, start, end, store.alert_log(since=start - INCIDENT_LOOKBACK))


def run(args: argparse.Namespace) -> int:
    from processors.evaluating.scorecard import scorecard_document

    spec = load_spec_argument(args)
    if args.month:
        month_argument(args.month)  # a typo fails before the store is opened
    with open_store(args, must_exist=True) as store:
        start, end = period(args, store)
        document = scorecard_document(scorecard_at(store, spec, start, end))
    if args.json:
        print(json.dumps(document, indent=2))
    else:
        print(render(document))
    return 0


def _percent(value: float | None, digits: int = 2, *, at_most: bool = False) -> str:
    """Rounded away from the target, so a miss never prints as the target: 99.996% coverage is 99.99%, not
    100.00%; a budget used (`at_most`) rounds up."""
    if value is None:
        return "—"
    scaled = value * 100 * 10**digits
    rounded = math.ceil(scaled - 1e-9) if at_most else math.floor(scaled + 1e-9)
    return f"{rounded / 10**digits:.{digits}f}%"


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(max(60, round(seconds / 60) * 60))


def _cell(text: str, verdict: str, width: int) -> str:
    return f"{text} {MARKS[verdict]}".ljust(width)


def render(document: Any) -> str:
    """The scorecard as a table: one row per SLO, a verdict mark beside each measure, the targets in the head."""
    targets = document["targets"]
    period = document["period"]
    lines = [
        f"Scorecard for [{period['from']}, {period['to']})",
        f"targets: compliant ≥ {_percent(targets['compliance_time'], 0)} of minutes · month budget used "
        f"≤ {_percent(targets['budget_use'], 0)} · MTTR ≤ {_minutes(targets['mttr_seconds'])} · "
        f"trace coverage ≥ {_percent(targets['trace_coverage'], 0)}",
        "",
        f"{'SLO':<18}{'compliant time':<18}{'month budget':<16}{'pages':>5}  {'MTTR (longest)':<18}verdict",
    ]
    for slo in document["slos"]:
        compliance = slo["compliance_time"]
        budget = slo["budget_use"]
        mttr = slo["mttr_seconds"]
        longest = slo["longest_recovery_seconds"]
        recovery = "no pages" if not slo["incidents"] else f"{_minutes(mttr['value'])} ({_minutes(longest)})"
        lines.append(
            f"{slo['name']:<18}"
            + _cell(_percent(compliance["value"]), compliance["verdict"], 18)
            + _cell(_percent(budget["value"], 0, at_most=True), budget["verdict"], 16)
            + f"{len(slo['incidents']):>5}  "
            + _cell(recovery, mttr["verdict"], 18)
            + slo["verdict"]
        )
    coverage = document["trace_coverage"]
    events = document["trace_events"]
    lines.append(
        f"{'trace coverage':<18}"
        + _cell(_percent(coverage["value"]), coverage["verdict"], 18)
        + f"{events['with_correlation_id']:,} of {events['vocabulary_events']:,} vocabulary events carried a "
        "propagated correlation ID"
    )
    lines.append(
        "compliant time: evaluation minutes at which the SLO met its objective over its window. month budget: "
        "share of the\ncalendar month's error budget spent. ✅ met, ❌ not met, … not enough data (under an hour "
        "of evaluations, no events)."
    )
    return "\n".join(lines)
