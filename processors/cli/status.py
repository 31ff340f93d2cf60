"""`slo status [--at TIME] [--json]`: every SLO's attainment, error budget and burn rates; or latency drill-down."""

from __future__ import annotations

import argparse
import json
from typing import Any

from processors.cli.common import (
    UsageError,
    add_spec_argument,
    add_store_arguments,
    check_epoch,
    load_spec_argument,
    open_store,
    parse_duration_argument,
    resolve_at,
)
from processors.counting import Counts
from processors.timeutil import format_duration, iso_seconds

LATENCY_WINDOW = "1h"  # --latency's default --window


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help="SLO attainment, error budgets and burn rates")
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.add_argument("--at", metavar="TIME", help="ISO 8601; default: end of the newest minute with data")
    parser.add_argument("--json", action="store_true", help="print the status document as JSON")
    parser.add_argument("--latency", metavar="SKETCH", help="percentiles of a latency sketch (e.g. queue-latency)")
    parser.add_argument("--window", metavar="DURATION", help=f"window for --latency (default {LATENCY_WINDOW})")
    parser.add_argument(
        "--group", metavar="FIELD", help="the SLOs grouped by FIELD (group_by), one row per group, worst first"
    )
    parser.add_argument(
        "--revision", metavar="REV",
        help="read an earlier spec revision's series (as the notice names it; a unique prefix of 4+ characters)",
    )
    parser.set_defaults(func=run)


def status_at(store: Any, spec: Any, at: int) -> dict[str, Any]:
    """The status document (fixed fields) plus the alerts firing at `at`, the trace coverage and each SLO's
    revision (evaluating/revisions.py)."""
    from processors.evaluating import status_document
    from processors.evaluating.revisions import revision_status
    from processors.evaluating.service import evaluate_at
    from processors.rendering.collect import firing_at
    from processors.store.view import StoreView

    view = StoreView(store)
    evaluated = evaluate_at(view, spec, at)
    document: dict[str, Any] = dict(status_document(evaluated.evaluation, at))
    firing = firing_at(evaluated.alert_log, at)  # from the log, so a past --at shows what was firing then
    first = data_from(view, spec, evaluated.evaluation)
    document["data_from"] = None if first is None else iso_seconds(first)
    slos = []
    for slo, slo_eval in zip(document["slos"], evaluated.evaluation.slos, strict=True):
        model = slo_eval.slo
        recorded = store.revisions(model.name)
        revision = revision_status(model.name, model.own_revision, recorded, model.revision)
        since = recorded.get(model.revision)
        # with other revisions recorded, this series begins at its revision's first event, not the store's
        start = first if since is None or not revision["other_revisions"] else max(first or since, since)
        covered = _coverage(start, slo_eval.window_start, at)
        slos.append(dict(slo, alerts=firing.get(slo["name"], []), data_coverage=covered, **revision))
    document["slos"] = slos
    for slo in document["slos"]:
        for group in slo.get("groups", ()):  # a grouped SLO's alerts are per group
            group["alerts"] = [alert for alert in slo["alerts"] if alert.get("group") == group["group"]]
    coverage = evaluated.trace_coverage or Counts()
    document["trace_coverage"] = {
        "with_correlation_id": coverage.good,
        "vocabulary_events": coverage.total,
        "ratio": round(coverage.good / coverage.total, 6) if coverage.total else None,
    }
    document["corrections"] = [correction_document(c) for c in store.corrections(spec.names)]
    return document


def data_from(view: Any, spec: Any, evaluation: Any) -> int | None:
    """The first hour with SLI data inside the longest SLO window: where the store's history begins."""
    from processors.rendering.collect import first_data_hour

    earliest = min((slo.window_start for slo in evaluation.slos), default=evaluation.now)
    return first_data_hour(view, spec, earliest, evaluation.now)


def _coverage(first: int | None, window_start: int, at: int) -> float:
    """The share of the SLO window [window_start, at) that lies after the first data: 1.0 for a full window."""
    if first is None or at <= window_start:
        return 0.0
    return round(min(max((at - max(first, window_start)) / (at - window_start), 0.0), 1.0), 4)


def correction_document(correction: dict[str, Any]) -> dict[str, Any]:
    """A budget correction as `slo status --json` and the report show it (ISO times)."""
    return {
        "id": correction["id"],
        "slo": correction["slo"],
        "version": correction.get("version"),
        "from": iso_seconds(int(correction["start"])),
        "to": iso_seconds(int(correction["end"])),
        "reason": correction.get("reason", ""),
        "by": correction.get("created_by", ""),
        "at": iso_seconds(int(correction.get("created_at", 0))),
    }


def pin_revision(spec: Any, store: Any, wanted: str) -> Any:
    """`spec` with every SLO that recorded revision `wanted` reading that revision's series."""
    from processors.evaluating.revisions import resolve_revision

    recorded = {slo.name: store.revisions(slo.name) for slo in spec.slos}
    found = resolve_revision(wanted, recorded)
    if not found:
        earlier = [f"{name} {' '.join(revs)}" for name, revs in recorded.items() if len(revs) > 1]
        known = f"revisions recorded: {'; '.join(earlier)}" if earlier else "no SLO has an earlier revision"
        raise UsageError(f"--revision: no revision {wanted!r} in this store; {known}")
    if len({revision for _, revision in found}) > 1:
        raise UsageError(f"--revision: {wanted!r} is ambiguous: {', '.join(sorted({r for _, r in found}))}")
    for name, revision in found:
        spec = spec.at_revision(name, revision)
    return spec


def run(args: argparse.Namespace) -> int:
    if args.window is not None and args.latency is None:  # it would be ignored
        raise UsageError("--window goes with --latency SKETCH")
    if args.group is not None and args.latency is not None:
        raise UsageError("--group and --latency are exclusive: a latency sketch has no groups")
    spec = load_spec_argument(args)
    with open_store(args, must_exist=True) as store:
        at = resolve_at(args, store)
        if args.revision is not None:
            spec = pin_revision(spec, store, args.revision)
        if args.latency is not None:
            return print_latency(args, store, spec, at)
        if args.group is not None:
            grouped = [slo.name for slo in spec.slos if args.group in slo.group_by]
            if not grouped:
                raise UsageError(f"--group: no SLO has group_by {args.group!r}; {_grouped_fields(spec)}")
        document = status_at(store, spec, at)
    if args.group is not None:
        document["slos"] = [slo for slo in document["slos"] if slo["name"] in grouped]
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    from processors.rendering.console import PipeConsole as Console
    from processors.rendering.dashboard import render_dashboard, render_groups
    from processors.safety import printable

    console = Console()
    output = Console(width=min(console.width, 100)) if console.is_terminal else Console(width=100)
    if args.group is not None:
        render_groups(document, args.group, output)
    else:
        render_dashboard(document, output)
    for slo in document["slos"]:  # a changed definition: the figures are the new series', since it began
        if slo["notice"]:
            print(slo["notice"])
    if args.group is not None:
        return 0
    for correction in document["corrections"]:  # what the numbers above leave out, and why
        print(printable(f"correction {correction['id']}: {correction['slo']} excludes {correction['from']} to "
                        f"{correction['to']} ({correction['reason']}; {correction['by']}, {correction['at']})"))
    return 0


def _grouped_fields(spec: Any) -> str:
    fields = sorted({field for slo in spec.slos for field in slo.group_by})
    return f"the spec groups by: {', '.join(fields)}" if fields else "the spec has no grouped SLOs"


def print_latency(args: argparse.Namespace, store: Any, spec: Any, at: int) -> int:
    names = [sketch.name for sketch in spec.latency]
    if args.latency not in names:
        raise UsageError(f"--latency: no sketch named {args.latency!r}; the spec has: {', '.join(names)}")
    window_text = LATENCY_WINDOW if args.window is None else args.window
    window = parse_duration_argument(window_text, "--window")
    start = check_epoch(at - window, "--window", window_text, at)
    digest = store.digest(spec.sketch_series(args.latency), start, at)
    quantiles = None
    if digest is not None:
        quantiles = {
            name: round(float(digest.quantile(q)), 3) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        }
    document = {
        "sketch": args.latency,
        "window": format_duration(window),
        "from": iso_seconds(start),
        "at": iso_seconds(at),
        "count": int(digest.count) if digest is not None else 0,
        "latency_ms": quantiles,
    }
    if args.json:
        print(json.dumps(document, indent=2))
    elif quantiles is None:
        print(f"{args.latency}: no values in [{document['from']}, {document['at']})")
    else:
        print(
            f"{args.latency} over {document['window']} to {document['at']} ({document['count']} values): "
            + ", ".join(f"{name} {value:,.1f} ms" for name, value in quantiles.items())
        )
    return 0
