"""`slo trace`: one trace as a terminal waterfall, JSON or OTLP/JSON; or recent traces by workflow or repository.

    slo trace CORRELATION_ID [--json | --otlp [--out FILE]]
    slo trace --workflow ID | --repository ORG/REPO [--since 24h] [--at TIME] [--json]

A malformed ID is refused before the store is opened (exit 2). An unknown ID prints `"found": false` with
--json (exit 0) and one "not found" line otherwise (exit 1). `--since` counts back from the newest event
the store has ingested, not the wall clock, so searches work on replayed history; `--at` overrides that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from processors.cli.common import (
    UsageError,
    add_spec_argument,
    add_store_arguments,
    check_epoch,
    check_not_an_input,
    free_text,
    horizon,
    load_spec_argument,
    open_store,
    parse_duration_argument,
    parse_time_argument,
)
from processors.safety import open_to_write

if TYPE_CHECKING:
    from rich.console import Console

    from processors.store import Store

DEFAULT_SINCE = "24h"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100_000  # SQLite and DynamoDB take far more; a terminal or a pipe hardly wants more


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="show a trace (waterfall, JSON, OTLP) or list recent traces of a workflow or repository",
        description="Show one correlation ID's trace as a waterfall of spans, as JSON (--json), or export it "
        "as OTLP/JSON for Jaeger or Grafana Tempo (--otlp). With --workflow or --repository instead of an ID, "
        "list recent correlation IDs; --since counts back from the newest ingested event (or --at).",
    )
    parser.add_argument("correlation_id", nargs="?", metavar="CORRELATION_ID", help="the trace to show (a UUID)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the terminal view")
    parser.add_argument("--otlp", action="store_true", help="print the trace as OTLP/JSON (ExportTraceServiceRequest)")
    parser.add_argument("--out", metavar="FILE", help="with --otlp: write to FILE instead of stdout")
    search = parser.add_argument_group("search (instead of CORRELATION_ID)")
    search.add_argument("--workflow", metavar="ID", type=free_text, help="traces of this GitHub workflow ID")
    search.add_argument("--repository", metavar="ORG/REPO", type=free_text, help="traces of this repository")
    search.add_argument("--since", metavar="DURATION", help=f"how far back (default {DEFAULT_SINCE})")
    search.add_argument(
        "--at", metavar="TIME", help="search the --since window that ends at TIME (default: the newest ingested event)"
    )
    search.add_argument("--limit", metavar="N", type=int, help=f"at most N (default {DEFAULT_LIMIT})")
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    searching = args.workflow is not None or args.repository is not None
    if searching:
        return _run_search(args)
    return _run_show(args)


def _run_show(args: argparse.Namespace) -> int:
    from processors.tracing import MalformedCorrelationIdError, check_correlation_id

    if args.correlation_id is None:
        raise UsageError("trace: give a CORRELATION_ID, or --workflow ID / --repository ORG/REPO to search")
    if args.json and args.otlp:
        raise UsageError("trace: --json and --otlp are exclusive")
    if args.out and not args.otlp:
        raise UsageError("trace: --out FILE goes with --otlp")
    searching = [flag for flag in ("since", "at", "limit") if getattr(args, flag) is not None]
    if searching:  # one trace is shown whole, whenever it was seen: these would be ignored
        flags = " and ".join(f"--{flag}" for flag in searching)
        raise UsageError(f"trace: {flags} go with --workflow or --repository, not a CORRELATION_ID")
    check_not_an_input(args.out, "--out", args)
    try:
        correlation_id = check_correlation_id(args.correlation_id.strip())  # pasted with a space or a newline
    except MalformedCorrelationIdError as exc:
        raise UsageError(f"trace: {exc}") from None
    journey = load_spec_argument(args).journey
    with open_store(args, must_exist=True) as store:
        head = store.trace(correlation_id)
    if head is None:
        if args.json:
            from processors.tracing import not_found_view

            _print_json(not_found_view(correlation_id))
            return 0
        print(f"slo: trace {correlation_id}: not found in {_where(args)}", file=sys.stderr)
        return 1
    if args.json:
        from processors.tracing import trace_view

        _print_json(trace_view(head, journey))
    elif args.otlp:
        _write_otlp(head, journey, args.out)
    else:
        from processors.tracing import print_waterfall

        print_waterfall(head, journey, _console())
    return 0


def _write_otlp(head: Any, journey: Any, out: str | None) -> None:
    from processors.tracing import otlp_trace

    document = otlp_trace(head, journey)
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        with open_to_write(out) as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"trace: cannot write {out}: {exc.strerror}") from None
    spans = sum(len(scope["spans"]) for rs in document["resourceSpans"] for scope in rs["scopeSpans"])
    print(f"wrote {spans} spans ({len(document['resourceSpans'])} services) to {out}", file=sys.stderr)


def _run_search(args: argparse.Namespace) -> int:
    from processors.stitching import stored_id
    from processors.timeutil import iso_seconds
    from processors.tracing import trace_summary

    if args.correlation_id is not None:
        raise UsageError("trace: give either a CORRELATION_ID or --workflow/--repository, not both")
    if args.workflow is not None and args.repository is not None:
        raise UsageError("trace: give one of --workflow or --repository")
    for flag, value in (("--workflow", args.workflow), ("--repository", args.repository)):
        if value is not None and value.strip() == "":
            raise UsageError(f"trace: {flag} is empty")
    if args.otlp or args.out:
        raise UsageError("trace: --otlp exports one trace; give a CORRELATION_ID")
    limit = DEFAULT_LIMIT if args.limit is None else args.limit
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"trace: --limit must be 1..{MAX_LIMIT}, not {limit}")
    since_text = DEFAULT_SINCE if args.since is None else args.since
    since_seconds = parse_duration_argument(since_text, "--since")
    journey = load_spec_argument(args).journey
    reference_at = parse_time_argument(args.at, "--at").timestamp() if args.at is not None else None
    with open_store(args, must_exist=True) as store:
        if reference_at is not None:
            horizon(store).check(reference_at, "--at", args.at)
        reference = reference_at if reference_at is not None else _newest_or_now(store)
        since = check_epoch(reference - since_seconds, "--since", since_text, reference)
        until = int(reference_at) if reference_at is not None else None  # --at bounds both ends of the search
        unplaced: dict[str, str] = {}  # damaged traces whose index key is not a time either: left out
        found = store.find_traces(  # the value as the head stored it: redacted, then cut
            workflow_id=None if args.workflow is None else stored_id(args.workflow),
            repository=None if args.repository is None else stored_id(args.repository),
            since=since, until=until, limit=limit, damaged=unplaced,
        )
        read = store.read_heads(cid for cid, _ in found)
    if read.damaged:  # listed all the same, first seen to the second DynamoDB's index key keeps, on both adapters
        found = sorted(((cid, first - first % 1000 if cid in read.damaged else first) for cid, first in found),
                       key=lambda pair: (-pair[1], pair[0]))
    rows = [trace_summary(cid, first_seen, read.heads.get(cid), journey) for cid, first_seen in found]
    for row in rows:  # one damaged trace must not cost the listing
        if row["correlationId"] in read.damaged:  # the index it was found by says what its head would have
            row["outcome"] = "damaged"
            if args.workflow is not None:
                row["workflowId"] = args.workflow
            else:
                row["repository"] = args.repository
    if read.damaged:
        print(
            f"slo: trace: {len(read.damaged)} listed trace(s) whose stored head does not decode: "
            f"{', '.join(sorted(read.damaged))} (docs/store.md, Damaged trace heads)",
            file=sys.stderr,
        )
    if unplaced:
        print(
            f"slo: trace: left out {len(unplaced)} trace(s) whose stored head does not decode and whose search key "
            f"is not a time: {', '.join(sorted(unplaced))} (docs/store.md, Damaged trace heads)",
            file=sys.stderr,
        )
    query = {"workflowId": args.workflow} if args.workflow is not None else {"repository": args.repository}
    if args.json:
        _print_json({"query": {**query, "since": iso_seconds(since), "limit": limit}, "traces": rows})
        return 0
    what = f"workflow {args.workflow}" if args.workflow is not None else f"repository {args.repository}"
    if not rows:
        print(f"no traces for {what} since {iso_seconds(since)}")
        return 0
    _print_table(rows, f"{len(rows)} trace(s) for {what} since {iso_seconds(since)}, newest first")
    return 0


def _newest_or_now(store: Store) -> float:
    newest = store.newest_event_time()
    return newest if newest is not None else time.time()


def _print_table(rows: list[Any], title: str) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from processors.safety import printable
    from processors.tracing.waterfall import console_is_unicode

    console = _console()
    unicode = console_is_unicode(console)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD if unicode else box.ASCII2, pad_edge=False)
    table.add_column("correlation id", no_wrap=True)
    table.add_column("first seen", no_wrap=True)
    table.add_column("workflow", no_wrap=True, overflow="ellipsis")
    table.add_column("repository", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("outcome", no_wrap=True)
    styles = {"failure": "red", "orphaned": "red", "damaged": "red", "cancelled": "yellow", "success": "green"}
    for row in rows:
        outcome = row["outcome"]
        table.add_row(
            row["correlationId"],
            row["firstSeen"].replace("T", " ")[:19],
            Text(printable(row["workflowId"] or "-")),  # Text: a logged "[red]" is text, not rich markup
            Text(printable(row["repository"] or "-")),
            Text(printable(outcome), style=styles.get(outcome, "")),
        )
    console.print(table)


def _console() -> Console:
    """A console at most 100 columns wide; 100 when piped (rich would assume 80) unless COLUMNS says."""
    from processors.rendering.console import PipeConsole as Console
    from processors.tracing.waterfall import MAX_WIDTH

    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = MAX_WIDTH
    console.width = min(console.width, MAX_WIDTH)
    return console


def _print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))


def _where(args: argparse.Namespace) -> str:
    return f"table {args.table}" if args.store == "dynamodb" and args.table else args.db
