"""`slo backtest`: the schedule of a replay that several `slo replay --ingest-only` processes split by shard."""

from __future__ import annotations

import argparse
import time

from processors.cli.common import UsageError, add_spec_argument, add_store_arguments, load_spec_argument, open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="after `slo replay --ingest-only` workers (one per shard file): their sweep, rollup and alert backtest",
        description="Run, once, what `slo replay` runs at each minute boundary of event time (the orphan sweep, "
        "the rollup and the alert evaluation), over the partials that `slo replay --ingest-only` processes wrote "
        "into one DynamoDB table, in their batches' arrival order: the table ends as one `slo replay` of every "
        "file would have left it. The table must not have been rolled up yet.",
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--region", metavar="NAME", help="AWS region of the table (default $AWS_REGION, $AWS_DEFAULT_REGION, profile)"
    )
    add_spec_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processors.cli.replay import minute_hooks
    from processors.replay import Replayer
    from processors.store.keys import is_backfill_stream

    spec = load_spec_argument(args)
    if args.store != "dynamodb":
        raise UsageError("slo backtest reads the partials that `slo replay --ingest-only` writes into a DynamoDB "
                         "table (--store dynamodb); on SQLite, replay every file in one `slo replay`")
    with open_store(args) as store:
        done = [work for work in ("rolled up", "swept", "evaluated") if work in store.scheduled_work_done()]
        if done:
            said = done[0] if len(done) == 1 else ", ".join(done[:-1]) + " and " + done[-1]
            raise UsageError(f"this table has been {said} already (by `slo replay` without "
                             "--ingest-only, an earlier `slo backtest`, perhaps stopped midway, or the evaluator): the "
                             "backtest needs every partial pending and no alert state yet; replay the shard files with "
                             "--ingest-only into a fresh table")
        started = time.perf_counter()
        partials = store.pending_partials()
        if not partials:
            raise UsageError("no pending partials: run `slo replay FILE --ingest-only` (one per shard file) first")
        newest = max((c.newest_event for c in store.checkpoints()
                      if c.newest_event is not None and not is_backfill_stream(c.stream)), default=None)
        hooks, on_commit = minute_hooks(store, spec, fresh=True)
        report = Replayer(store, spec, hooks, on_commit).run_pending(partials, newest)
    elapsed = time.perf_counter() - started
    summary = {
        "partials": len(partials),
        "minutes_evaluated": report.minutes_evaluated,
        "orphans_swept": report.orphans_swept,
        "seconds": round(elapsed, 3),
    }
    if args.json:
        import json

        print(json.dumps(summary, indent=2))
        return 0
    unit = spec.journey.name if spec.journey else "unit"
    print(f"backtested {len(partials)} partials: {report.minutes_evaluated} minutes evaluated, "
          f"{report.orphans_swept} {unit}(s) swept past max runtime, in {elapsed:.2f}s")
    return 0
