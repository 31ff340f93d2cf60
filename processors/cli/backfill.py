"""`slo backfill --slo NAME [--since 30d] (PATH… | --log-group-prefix P)`: re-derive an SLO's new revision.

After a matcher or threshold change (a new spec revision, docs/slos.md "Spec revisions"), the new series
begins at its first live event. This reads the history before it again, from replay files (as `slo replay`)
or CloudWatch Logs (as `slo import`), and counts it into the SLO's current revision only, exactly once
(processors/replay/backfill.py): running it twice, or again after an interruption, counts nothing twice.
"""

from __future__ import annotations

import argparse
import os
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
    print_skipped,
)
from processors.timeutil import iso_seconds

# CloudWatch Logs filters by its own timestamp, which may trail an event's own time: read this far past the range
LOGS_LATENESS = conventions.HOUR
LOGS_WINDOW = "1h"  # --window's default: CloudWatch Logs time read per step


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backfill",
        help="re-derive an SLO's current spec revision from history (replay files or CloudWatch Logs), exactly once",
        description="Count history into SLO NAME's current revision only (after a matcher or threshold change), "
        "from replay files or CloudWatch Logs. The range ends where the live ingest began counting the revision; "
        "the first run's range is kept, so a rerun or a resumed run counts nothing twice.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="replay files or folders (as `slo replay`)")
    parser.add_argument("--slo", required=True, metavar="NAME",
                        help="the SLO to backfill")
    parser.add_argument("--since", default="30d",
                        help="ISO 8601 time, or a duration back from where the revision's live series begins "
                        "(default 30d); from CloudWatch Logs, at most 3653 days back from now (its longest "
                        "retention) and 100000 --windows long")
    parser.add_argument("--log-group-prefix", action="append", default=[], metavar="PREFIX",
                        help="read CloudWatch Logs: every log group whose name starts with PREFIX (repeatable)")
    parser.add_argument("--log-group", action="append", default=[], metavar="NAME",
                        help="with PATHs: the log group of filter-log-events output (as `slo replay`); without: "
                        "one CloudWatch log group to read (repeatable)")
    parser.add_argument("--window", help=f"CloudWatch Logs: time read per step (default {LOGS_WINDOW})")
    parser.add_argument("--region", metavar="NAME", help="AWS region of the table and the log groups")
    parser.add_argument("--logs-endpoint-url", metavar="URL", help="CloudWatch Logs endpoint (moto, LocalStack)")
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.replay.backfill import (
        Backfiller,
        BackfillError,
        BackfillPlan,
        backfill_spec,
        live_start,
        recorded_plan,
    )

    from_logs = bool(args.log_group_prefix) or (bool(args.log_group) and not args.paths)
    if args.paths and args.log_group_prefix:
        raise UsageError("give replay PATHs or --log-group-prefix, not both")
    if not args.paths and not from_logs:
        raise UsageError("give replay PATHs, or --log-group-prefix PREFIX / --log-group NAME to read CloudWatch Logs")
    parse_since_argument(args.since, "--since", None)  # a typo fails before the store is opened
    if any(not name.strip() for name in args.log_group + args.log_group_prefix):
        raise UsageError("--log-group and --log-group-prefix take a name")
    if from_logs:
        check_endpoint_url(args.logs_endpoint_url)
        window_ms = parse_duration_argument(args.window or LOGS_WINDOW, "--window") * 1000
    elif args.window is not None or args.logs_endpoint_url is not None:
        raise UsageError("--window and --logs-endpoint-url are for reading CloudWatch Logs, not replay PATHs")
    spec = load_spec_argument(args)
    try:
        backfill_spec(spec, args.slo)
    except BackfillError as exc:
        raise UsageError(str(exc)) from None
    sources = None if from_logs else _file_sources(args, spec)
    if args.store == "sqlite" and not os.path.exists(args.db):
        raise UsageError(f"no store at {args.db}: backfill adds to a store the live ingest or `slo replay` wrote")
    with open_store(args, must_exist=True, writes=True) as store:
        slo = spec.slo(args.slo)
        plan = recorded_plan(store, spec, args.slo)  # a rerun follows the first run's range (the series moved since)
        until = live_start(store, spec, args.slo) if plan is None else plan.until
        if until is None:
            raise UsageError("the store holds no events yet: nothing to backfill before (use `slo replay`)")
        since = parse_since_argument(args.since, "--since", until)
        assert since is not None
        recorded = plan is not None
        if plan is None:
            if since >= until:
                raise UsageError(f"--since must be before {iso_seconds(until)}, where the revision's live series "
                                 f"begins ({args.since!r})")
            plan = BackfillPlan(args.slo, slo.revision, since, until)  # recorded at the first write (Backfiller)
        if from_logs:  # before the plan is recorded (at the first write): a refused range leaves nothing behind
            check_logs_range(plan.since, plan.until + LOGS_LATENESS, window_ms // 1000, int(time.time()))
        if plan.since != since:
            print(f"slo: backfill of {args.slo}@{slo.revision} keeps its first run's range "
                  f"[{iso_seconds(plan.since)}, {iso_seconds(plan.until)}), not --since {args.since}", file=sys.stderr)
        backfiller = Backfiller(store, spec, plan, recorded=recorded)
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        try:
            if from_logs:
                extra = _from_logs(args, spec, backfiller, window_ms)
            else:
                from processors.cli.replay import _progress
                from processors.replay import SourceError
                from processors.replay.sources import arrival_order

                assert sources is not None  # read before the store is opened: a bad file leaves nothing behind
                try:
                    with _progress(sources.bytes) as advance:
                        backfiller.run(arrival_order(sources.inputs, sources.budget), advance)
                except SourceError as exc:
                    raise UsageError(str(exc)) from None
        except BackfillError as exc:  # another first run recorded its plan meanwhile
            raise UsageError(str(exc)) from None
    report = backfiller.report
    elapsed = time.perf_counter() - started
    summary = {
        "slo": args.slo,
        "revision": plan.revision,
        "since": iso_seconds(plan.since),
        "until": iso_seconds(plan.until),
        "records": report.records,
        "records_already_applied": report.records_already_applied,
        "events_counted": report.sli_events + report.orphans_swept,
        "orphans_swept": report.orphans_swept,
        "events_outside_range": backfiller.outside,
        "commits": report.commits,
        "failed_batches": report.failed_batches,
        "seconds": round(elapsed, 3),
        **extra,
    }
    if args.json:
        import json

        print(json.dumps(summary, indent=2))
    else:
        print(f"backfilled {args.slo}@{plan.revision} over [{summary['since']}, {summary['until']}): "
              f"{summary['events_counted']} events counted from {report.records} records in {elapsed:.2f}s")
        if report.orphans_swept:
            print(f"  {report.orphans_swept} of them by the orphan sweep (units past max runtime)")
        if report.records_already_applied:
            print(f"  {report.records_already_applied} records were already backfilled (skipped, counted once)")
        if backfiller.outside:
            print(f"  {backfiller.outside} events outside the range (not counted)")
    if report.failed_batches:
        print(f"  {report.failed_batches} batch(es) could not be committed; run the backfill again", file=sys.stderr)
        return 1
    return 0


def _file_sources(args: argparse.Namespace, spec: Any) -> Any:
    """The files, checked as `slo replay` checks them (sources.ReplayInputs)."""
    from processors.decoding import parser_for
    from processors.replay import SourceError
    from processors.replay.sources import checked_inputs

    log_group = args.log_group[0] if args.log_group else None
    try:
        return checked_inputs(args.paths, parser_for(spec.log_format), log_group, print_skipped)
    except (SourceError, OSError) as exc:
        raise UsageError(str(exc)) from None


def _from_logs(args: argparse.Namespace, spec: Any, backfiller: Any, window_ms: int) -> dict[str, Any]:
    """Read the plan's range from CloudWatch Logs (FilterLogEvents, as `slo import`), one window at a time."""
    import boto3

    from processors.cli.importing import _progress
    from processors.decoding import parser_for
    from processors.replay.cloudwatch import ImportStats, LogGroupImporter, log_groups

    plan = backfiller.plan
    client = boto3.session.Session(region_name=args.region).client("logs", endpoint_url=args.logs_endpoint_url)
    stats = ImportStats()
    importer = LogGroupImporter(client, parser_for(spec.log_format), stats)
    groups = sorted(set(args.log_group) | set(log_groups(client, args.log_group_prefix, stats, time.sleep,
                                                          importer.rng)))
    if not groups:
        raise UsageError(f"no log group starts with {', '.join(args.log_group_prefix)}")
    last_ms = (plan.until + LOGS_LATENESS) * 1000  # events are then kept by their own time, in the range
    with _progress(last_ms - plan.since * 1000) as advance:
        for start_ms in range(plan.since * 1000, last_ms, window_ms):
            end_ms = min(start_ms + window_ms, last_ms)
            window = [batch for group in groups for batch in importer.batches(group, start_ms, end_ms)]
            for batch in sorted(window, key=lambda b: b.order_time):
                backfiller.advance_to(batch.order_time)
                backfiller.apply(batch)
            advance(end_ms - plan.since * 1000)
    backfiller.finish()
    return {"log_groups": len(groups), "log_streams": len(stats.log_streams), "events_fetched": stats.events}
