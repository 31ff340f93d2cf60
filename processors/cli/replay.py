"""`slo replay PATH… [--db FILE]`: sample or historical events through the real ingest path."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from processors.cli.common import (
    UsageError,
    add_spec_argument,
    add_store_arguments,
    load_spec_argument,
    open_store,
    print_skipped,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay Kinesis events, CloudWatch Logs payloads, log-events output or JSON-lines logs into the store",
        description="Replay Lambda Kinesis events, CloudWatch Logs payloads (raw, the awslogs envelope, Firehose), "
        "filter-log-events / get-log-events output or plain JSON-lines log files, each optionally gzip. The "
        "format is detected once per file. Replaying the same input twice changes nothing.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="file or folder")
    add_store_arguments(parser)
    parser.add_argument(
        "--region", metavar="NAME", help="AWS region of the table (default $AWS_REGION, $AWS_DEFAULT_REGION, profile)"
    )
    add_spec_argument(parser)
    parser.add_argument(
        "--log-group", help="log group of filter-log-events / get-log-events output (default: the file name)"
    )
    parser.add_argument("--no-backtest", action="store_true", help="skip the per-minute alert evaluation")
    parser.add_argument(
        "--ingest-only", action="store_true",
        help="apply the batches only, as the ingest Lambda does (no sweep, rollup or backtest): one process per "
        "shard file against one DynamoDB table, then `slo backtest` once",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.decoding import parser_for
    from processors.replay import Replayer, SourceError
    from processors.replay.sources import arrival_order, checked_inputs

    spec = load_spec_argument(args)
    try:
        found = checked_inputs(args.paths, parser_for(spec.log_format), args.log_group, print_skipped)
    except (SourceError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if args.ingest_only and args.store != "dynamodb":
        raise UsageError("--ingest-only is for several processes writing one DynamoDB table (--store dynamodb); "
                         "on SQLite, replay every file in one `slo replay`")
    with open_store(args) as store:
        if args.ingest_only:
            replayer = Replayer(store, spec, schedule=False)
        else:
            hooks, on_commit = ([], None) if args.no_backtest else minute_hooks(store, spec)
            replayer = Replayer(store, spec, hooks, on_commit)
        started = time.perf_counter()
        try:
            with _progress(found.bytes) as advance, store.grouped_commits():
                report = replayer.run(arrival_order(found.inputs, found.budget), advance)
        except SourceError as exc:  # a file that went bad part way through
            raise UsageError(str(exc)) from None
    report.files = len(found.files)
    elapsed = time.perf_counter() - started
    unit = spec.journey.name if spec.journey else "unit"
    print_summary(report, elapsed, as_json=args.json, formats=dict(sorted(found.formats.items())), unit=unit)
    return 1 if report.failed_batches else 0


def minute_hooks(store, spec, fresh: bool | None = None):
    """The evaluator's backtest: (minute hooks, commit listener). Each minute boundary is evaluated, with
    notifications to the alert log. Into a fresh store the evaluation reads an in-memory window view fed by
    the replay's own commits; into a store that already holds data it reads the store (the view would not
    know what was there before). `fresh` overrides the check (`slo backtest` feeds the view every partial)."""
    from processors.replay.backtest import backtest_hook

    if fresh is None:
        fresh = not store.checkpoints()
    if not fresh:
        return [backtest_hook(store, spec)], None
    from processors.replay.window_view import WindowView

    view = WindowView(spec, store)

    def advance_view(minute: int) -> None:
        view.advance(minute)

    return [advance_view, backtest_hook(store, spec, view=view)], view.apply


class _progress:
    """A rich progress bar on a terminal (stderr) over the bytes read, with events/s and an ETA."""

    def __init__(self, total_bytes: int) -> None:
        self.total = total_bytes
        self.bar: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not (sys.stderr.isatty() and self.total):
            return None
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("replaying"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[rate]}"),
            TextColumn("ETA"), TimeRemainingColumn(), transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("replay", total=self.total, rate="")
        started = time.perf_counter()

        def advance(bytes_read: int, events: int) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{events / elapsed:,.0f} events/s" if elapsed > 0 else ""
            self.bar.update(task, advance=bytes_read, rate=rate)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def print_summary(
    report,
    elapsed: float,
    *,
    as_json: bool,
    formats: dict[str, int] | None = None,
    extra: dict | None = None,
    unit: str = "unit",
    source: str | None = None,
) -> None:
    import json

    from processors import conventions

    skipped = dict(sorted(report.skips.items()))
    notes = dict(sorted(report.notes.items()))
    summary = {
        "files": report.files,
        "formats": formats or {},
        "batches": report.batches,
        "records": report.records,
        "records_already_applied": report.records_already_applied,
        "events": report.events,
        "sli_events": report.sli_events,
        "skipped": skipped,
        "notes": notes,
        "malformed": sum(v for k, v in skipped.items() if k in conventions.MALFORMED_KINDS),
        "orphans_swept": report.orphans_swept,
        "minutes_evaluated": report.minutes_evaluated,
        "failed_batches": report.failed_batches,
        "commits": report.commits,
        "conflict_retries": report.conflict_retries,
        "throttle_retries": report.throttle_retries,
        "seconds": round(elapsed, 3),
    }
    if as_json:
        print(json.dumps({**summary, **(extra or {})}, indent=2))
        return
    rate = report.events / elapsed if elapsed > 0 else 0.0
    print(
        f"replayed {report.records} records from {source or f'{report.files} file(s)'}: {report.events} events, "
        f"{report.sli_events} SLI events in {elapsed:.2f}s ({rate:,.0f} events/s)"
    )
    if report.records_already_applied:
        print(f"  {report.records_already_applied} records were already applied (skipped, counted once)")
    if formats:
        print("  formats: " + ", ".join(f"{name} {count}" for name, count in formats.items()))
    if skipped:
        print("  skipped: " + ", ".join(f"{kind} {count}" for kind, count in skipped.items()))
    if notes:
        print("  counted with a note: " + ", ".join(f"{kind} {count}" for kind, count in notes.items()))
    if report.orphans_swept:
        print(f"  orphan sweep: {report.orphans_swept} {unit}(s) past max runtime")
    if report.conflict_retries or report.throttle_retries or report.transient_retries:
        print(
            f"  {report.commits} commits; retried {report.conflict_retries} after a conflict, "
            f"{report.throttle_retries} after throttling, {report.transient_retries} after a timeout or 5xx"
        )
    if report.failed_batches:
        print(f"  {report.failed_batches} batch(es) could not be committed; run the replay again", file=sys.stderr)
