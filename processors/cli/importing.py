"""`slo import --log-group-prefix P [--since 30d]`: backfill the store from CloudWatch Logs itself.

Pages FilterLogEvents with boto3 (throttling retried with backoff), one log group after another, through
the same ingest path and backtest as `slo replay`. Idempotent: each log stream's checkpoint (keyed by
processors/store/keys.py) and CloudWatch event IDs make an overlapping import count each event once.
IAM: docs/deploy.md ("slo import").
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from processors import conventions
from processors.cli.common import (
    UsageError,
    add_spec_argument,
    add_store_arguments,
    check_endpoint_url,
    check_logs_range,
    load_spec_argument,
    open_store,
    parse_duration_argument,
    parse_since_argument,
    parse_time_argument,
)
from processors.timeutil import iso_seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import",
        help="backfill the store from CloudWatch Logs (FilterLogEvents), exactly once",
        description="Read history from CloudWatch Logs with FilterLogEvents and apply it through the ingest path. "
        "Importing an overlapping range again counts each event once.",
    )
    parser.add_argument("--log-group-prefix", action="append", default=[], metavar="PREFIX",
                        help="import every log group whose name starts with PREFIX (repeatable)")
    parser.add_argument("--log-group", action="append", default=[], metavar="NAME", help="one log group (repeatable)")
    parser.add_argument("--since", default="30d",
                        help="ISO 8601 time, or a duration back from now (default 30d); at most 3653 days back "
                        "(CloudWatch Logs' longest retention) and 100000 --windows long")
    parser.add_argument("--until", help="ISO 8601 time (default: now)")
    parser.add_argument("--window", default="1h",
                        help="read all log groups one window of time at a time, so the backtest sees them "
                        "interleaved (default 1h; memory holds one window's events)")
    parser.add_argument("--region", help="AWS region of the log groups (default: the AWS configuration's)")
    parser.add_argument("--logs-endpoint-url", metavar="URL", help="CloudWatch Logs endpoint (moto, LocalStack)")
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.add_argument("--no-backtest", action="store_true", help="skip the per-minute alert evaluation")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import boto3

    from processors.cli.replay import minute_hooks, print_summary
    from processors.decoding import parser_for
    from processors.replay import Replayer
    from processors.replay.cloudwatch import ImportStats, LogGroupImporter, log_groups

    if not args.log_group_prefix and not args.log_group:
        raise UsageError("give --log-group-prefix PREFIX or --log-group NAME")
    now = int(time.time())
    until = int(parse_time_argument(args.until, "--until").timestamp()) if args.until is not None else now
    since = parse_since_argument(args.since, "--since", now)
    if since is None or since >= until:
        raise UsageError(f"--since must be before --until ({args.since!r})")
    if until > now + conventions.FUTURE_TOLERANCE_SECONDS:  # ingest counts later events as bad_timestamp
        raise UsageError(f"--until: {iso_seconds(until)} is more than a day from now; no log event is that late")
    window_ms = parse_duration_argument(args.window, "--window") * 1000
    check_logs_range(since, until, window_ms // 1000, now)
    check_endpoint_url(args.logs_endpoint_url)
    spec = load_spec_argument(args)
    client = boto3.session.Session(region_name=args.region).client("logs", endpoint_url=args.logs_endpoint_url)
    stats = ImportStats()
    importer = LogGroupImporter(client, parser_for(spec.log_format), stats)
    groups = sorted(set(args.log_group) | set(log_groups(client, args.log_group_prefix, stats, time.sleep,
                                                          importer.rng)))
    if not groups:
        raise UsageError(f"no log group starts with {', '.join(args.log_group_prefix)}")
    with open_store(args) as store:
        hooks, on_commit = ([], None) if args.no_backtest else minute_hooks(store, spec)
        replayer = Replayer(store, spec, hooks, on_commit)
        started = time.perf_counter()
        with _progress((until - since) * 1000) as advance:
            for start_ms in range(since * 1000, until * 1000, window_ms):
                end_ms = min(start_ms + window_ms, until * 1000)
                window = [batch for group in groups for batch in importer.batches(group, start_ms, end_ms)]
                # every log group's minute batches in time order (stable: one stream's batches keep their order)
                for batch in sorted(window, key=lambda b: b.order_time):
                    replayer.advance_to(batch.order_time)
                    replayer.apply(batch)
                advance(end_ms - since * 1000)
        report = _finish(replayer)
    elapsed = time.perf_counter() - started
    summary = {
        "log_groups": len(groups),
        "log_streams": len(stats.log_streams),
        "pages": stats.pages,
        "events_fetched": stats.events,
        "duplicate_event_ids": stats.duplicate_ids,
        "throttled_retries": stats.throttled,
    }
    if not args.json:
        _print_import(summary)
    print_summary(report, elapsed, as_json=args.json, formats={"cloudwatch-logs-api": len(groups)},
                  extra={"import": summary}, unit=spec.journey.name if spec.journey else "unit",
                  source=f"{len(groups)} log group(s)")
    return 1 if report.failed_batches else 0


def _finish(replayer: Any) -> Any:
    from processors import conventions
    from processors.timeutil import floor_to

    if replayer.report.newest_event is not None:
        replayer.advance_to(floor_to(replayer.report.newest_event, conventions.MINUTE) + conventions.MINUTE)
    return replayer.report


def _print_import(summary: dict[str, int]) -> None:
    print(
        f"imported from {summary['log_groups']} log group(s), {summary['log_streams']} log stream(s): "
        f"{summary['events_fetched']} events in {summary['pages']} page(s)"
        + (f", {summary['throttled_retries']} throttled call(s) retried" if summary["throttled_retries"] else "")
    )


class _progress:
    """A rich progress bar with ETA on a terminal (stderr), over the event time imported; nothing otherwise."""

    def __init__(self, total_ms: int) -> None:
        self.total = total_ms
        self.bar: Any = None

    def __enter__(self) -> Any:
        if sys.stderr.isatty() and self.total:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("importing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                TimeRemainingColumn(), transient=True)
            self.bar.start()
            task = self.bar.add_task("import", total=self.total)
            return lambda done: self.bar.update(task, completed=done)
        return lambda done: None

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
