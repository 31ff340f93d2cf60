"""`slo report [--since …] [--until …] [--trace ID] --out report.html`: one self-contained HTML report."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING

from processors import conventions
from processors.cli.common import (
    Horizon,
    UsageError,
    add_spec_argument,
    add_store_arguments,
    check_epoch,
    check_not_an_input,
    horizon,
    load_spec_argument,
    open_store,
    parse_duration_argument,
    past_time_argument,
)
from processors.safety import open_to_write
from processors.timeutil import floor_to, parse_duration

if TYPE_CHECKING:
    from processors.rendering.types import ReportView


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report: budgets, burn rates, alerts, a trace",
        description="Write one HTML file with every SLO's attainment, budget and burn rates over time, the alert "
        "timeline with MTTR, cache slices, latency percentiles and a trace waterfall. Scripts and styles are "
        "inlined and the page makes no network requests, so it opens from email or S3.",
    )
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.add_argument(
        "--since",
        metavar="TIME|DURATION",
        help="ISO 8601 time, or a duration before --until such as 6h (default 24h, from the first data in it)",
    )
    parser.add_argument("--until", metavar="TIME", help="ISO 8601; default: end of the newest minute with data")
    parser.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="the monthly report: that UTC month (to the newest data), with the scorecard, compliance per day and "
        "the incident table",
    )
    parser.add_argument(
        "--step",
        metavar="DURATION",
        default=None,
        help="evaluate every DURATION (default 5m; past 5,000 steps of it, as --since 30d, the shortest of 30m, "
        "1h, 2h, 6h, 12h, 1d that makes at most 1,000; 1h with --month); at most the report's range (or a day, "
        "when the range is shorter) and at most 5,000 steps in it",
    )
    parser.add_argument("--csv", metavar="DIR", help="also write the report's tables as CSV files into DIR")
    parser.add_argument("--trace", metavar="ID", help="correlation ID to draw (default: worst recent alert exemplar)")
    parser.add_argument("--out", metavar="FILE", required=True, help="where to write the HTML report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.rendering import RenderingError, build_report, collect_report_data
    from processors.store.view import StoreView

    spec = load_spec_argument(args)
    step = parse_duration_argument(args.step or "1h", "--step") if args.step or args.month else None  # None: fits
    if args.month and (args.since or args.until):
        raise UsageError("--month sets the range: drop --since and --until")
    if args.csv and not os.path.isdir(os.path.dirname(os.path.abspath(args.csv)) or "."):
        raise UsageError(f"--csv: no directory {os.path.dirname(os.path.abspath(args.csv))} to create {args.csv} in")
    if step is not None and step % conventions.MINUTE:
        raise UsageError(f"--step: must be whole minutes, not {args.step!r}")
    trace_id = _trace_argument(args.trace)
    directory = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(directory):  # checked first: a typo'd path fails before minutes of evaluation
        raise UsageError(f"--out: no directory {directory} (create it first)")
    check_not_an_input(args.out, "--out", args)
    with open_store(args, must_exist=True) as store:
        view = StoreView(store)
        latest = horizon(store)
        until = None
        if args.until:
            until = floor_to(past_time_argument(args.until, "--until", latest), conventions.MINUTE)
        since = None
        if args.since:
            since = _since_argument(args.since, until, view, latest)
        if args.month:
            since, until = _month_range(args.month, view, latest)
        started = time.perf_counter()
        try:
            data = collect_report_data(view, spec, since, until, trace_id, step, monthly=bool(args.month))
            html = build_report(data)
        except RenderingError as exc:
            raise UsageError(str(exc)) from None
    try:
        with open_to_write(args.out) as handle:
            handle.write(html)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {args.out}: {exc.strerror or exc}") from None
    if args.csv:
        _write_csv(args.csv, data)
    if data.damaged_traces:  # the report is still whole: say what it could not show, and where the repair is
        print(
            f"slo: report: left out {len(data.damaged_traces)} trace(s) whose stored head does not decode: "
            f"{', '.join(data.damaged_traces)} (docs/store.md, Damaged trace heads)",
            file=sys.stderr,
        )
    elapsed = time.perf_counter() - started
    print(
        f"{len(data.status_series)} evaluations from {data.since} to {data.until}, "
        f"{len(html) / 1024:,.0f} KB in {elapsed:.1f}s",
        file=sys.stderr,
    )
    print(args.out)
    return 0


def _month_range(text: str, view: ReportView, latest: Horizon) -> tuple[int, int]:
    """The UTC month, ended at the newest data when that comes sooner (a month to date)."""
    from processors.cli.scorecard import month_argument

    start, end = month_argument(text)
    latest.check(start, "--month", text)
    newest = view.default_at()
    if newest is None or newest <= start:
        raise UsageError(f"--month {text}: the store holds no data in or after that month")
    return start, min(end, newest)


def _write_csv(directory: str, data: object) -> None:
    import csv

    from processors.rendering.tables import report_tables

    try:
        os.makedirs(directory, exist_ok=True)
        for stem, rows in report_tables(data).items():  # type: ignore[arg-type]
            with open_to_write(os.path.join(directory, f"{stem}.csv"), newline="") as handle:
                csv.writer(handle).writerows(rows)
    except OSError as exc:
        raise UsageError(f"--csv: cannot write {directory}: {exc.strerror or exc}") from None


def _since_argument(text: str, until: int | None, view: ReportView, latest: Horizon) -> int:
    if parse_duration(text) is not None:
        from processors.rendering.collect import default_until
        from processors.rendering.exceptions import RenderingError

        try:
            end = until if until is not None else default_until(view)
        except RenderingError as exc:
            raise UsageError(str(exc)) from None
        return check_epoch(end - parse_duration_argument(text, "--since"), "--since", text, end)
    return int(past_time_argument(text, "--since", latest))


def _trace_argument(value: str | None) -> str | None:
    if value is None:
        return None
    from processors.tracing import MalformedCorrelationIdError, check_correlation_id

    try:
        return check_correlation_id(value.strip())
    except MalformedCorrelationIdError as exc:
        raise UsageError(f"--trace: {exc}") from None
