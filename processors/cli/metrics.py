"""`slo metrics [--at TIME] [--since TIME] [--json|--emf]`: the operator and SLO metrics the evaluator emits.

The same functions as the Lambda (processors.metrics, processors.evaluating) over the local store, so the
numbers can be checked without AWS: `--emf` prints the exact EMF lines the handler would print.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

from processors import conventions
from processors.cli.common import (
    Horizon,
    UsageError,
    add_spec_argument,
    add_store_arguments,
    check_epoch,
    duration_seconds,
    horizon,
    load_spec_argument,
    open_store,
    parse_duration_argument,
    past_time_argument,
    resolve_at,
)
from processors.timeutil import floor_to, iso_seconds

MAX_SINCE_MINUTES = 24 * 60
# Columns of the --since table: the scalar metrics an operator scans down a range for.
SINCE_COLUMNS = (
    "RunnersStarted",
    "RunnersCompleted",
    "CacheHitRate",
    "QueueProcessingRate",
    "QueueAgeP95",
    "RunnerStartupTimeP95",
    "FailedWorkflowRate",
    "ReconciliationFailures",
    "CostPerBuild",
    "MTTR",
)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    parser = subparsers.add_parser("metrics", help="operator metrics of a minute, as the evaluator emits them")
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.add_argument("--at", metavar="TIME", help="ISO 8601 end of the minute; default: end of the newest minute")
    parser.add_argument(
        "--since", metavar="TIME|DURATION", help="a per-minute table from TIME (or --at minus DURATION) to --at"
    )
    parser.add_argument(
        "--namespace", default=conventions.METRICS_NAMESPACE_DEFAULT,
        help="EMF namespace (for --emf): 1..255 printable ASCII characters, not starting with ':' or AWS/",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the metrics as JSON")
    output.add_argument("--emf", action="store_true", help="print the EMF documents the evaluator Lambda prints")
    parser.set_defaults(func=run)


def resolve_since(text: str, at: int, latest: Horizon) -> int:
    from processors.timeutil import parse_iso8601

    seconds = duration_seconds(text, "--since")
    if seconds is not None:
        since = check_epoch(at - seconds, "--since", text, at)  # not clamped to year 1, as floor_to would
    elif parse_iso8601(text) is not None:
        since = floor_to(past_time_argument(text, "--since", latest), conventions.MINUTE)
    else:
        parse_duration_argument(text, "--since")  # raises the one-line usage error
        raise AssertionError("unreachable")
    if since >= at:
        raise UsageError(f"--since {text}: must be before --at {iso_seconds(at)}")
    if (at - since) // conventions.MINUTE > MAX_SINCE_MINUTES:
        raise UsageError(f"--since {text}: at most {MAX_SINCE_MINUTES} minutes (one day) at a time")
    return since


def metric_entries(points: Iterable[Any]) -> list[dict[str, Any]]:
    """One entry per (name, dimensions) in first-seen order; repeated points make a distribution list."""
    entries: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for point in points:
        key = (point.name, tuple(point.dimensions))
        entry = entries.get(key)
        if entry is None:
            entries[key] = {
                "name": point.name,
                "unit": point.unit,
                "dimensions": dict(point.dimensions),
                "value": point.value,
            }
        elif isinstance(entry["value"], list):
            entry["value"].append(point.value)
        else:
            entry["value"] = [entry["value"], point.value]
    return list(entries.values())


def metrics_document(store: Any, spec: Any, at: int, namespace: str) -> dict[str, Any]:
    from processors.evaluating.metrics import slo_points
    from processors.metrics import metrics_timestamp_ms, operator_metric_points

    evaluated = _evaluate_at(store, spec, at)
    assert evaluated.minute is not None
    return {
        "at": iso_seconds(evaluated.minute.end),
        "minute": {"from": iso_seconds(evaluated.minute.start), "to": iso_seconds(evaluated.minute.end)},
        "namespace": namespace,
        "timestamp_ms": metrics_timestamp_ms(at),
        "operator": metric_entries(operator_metric_points(evaluated.minute, spec, evaluated.alert_log)),
        # the evaluator's SLO points (SLOAttainment, SLOBurnRate, SLOQueueLatencyP95, …)
        "slo": metric_entries(point for slo in evaluated.evaluation.slos for point in slo_points(slo)),
    }


def _evaluate_at(store: Any, spec: Any, at: int) -> Any:
    from processors.evaluating.service import evaluate_at
    from processors.store.view import StoreView

    return evaluate_at(StoreView(store), spec, at)


def run(args: argparse.Namespace) -> int:
    from processors.metrics import namespace_problem

    if (problem := namespace_problem(args.namespace)) is not None:
        raise UsageError(f"--namespace: {problem}")
    spec = load_spec_argument(args)
    with open_store(args, must_exist=True) as store:
        latest = horizon(store)
        at = resolve_at(args, store, latest)
        if args.since is not None:
            if args.emf:
                raise UsageError("--emf prints one minute; drop --since")
            return print_range(args, store, spec, resolve_since(args.since, at, latest), at)
        if args.emf:
            from processors.evaluating.metrics import slo_points
            from processors.metrics import emit_points, metrics_timestamp_ms, operator_metric_points

            # Both sets the evaluator prints: its SLO points (SLOAttainment, SLOBurnRate, …), then the operator's.
            evaluated = _evaluate_at(store, spec, at)
            points = [point for slo in evaluated.evaluation.slos for point in slo_points(slo)]
            points += operator_metric_points(evaluated.minute, spec, evaluated.alert_log)
            emit_points(points, args.namespace, metrics_timestamp_ms(at))
            return 0
        document = metrics_document(store, spec, at, args.namespace)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    minute = document["minute"]
    print(f"Operator metrics for [{minute['from']}, {minute['to']})")
    _print_entries(document["operator"])
    print(f"\nSLO metrics at {document['at']} (from the evaluator)")
    _print_entries(document["slo"])
    return 0


def _print_entries(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        dimensions = " ".join(f"{k}={v}" for k, v in entry["dimensions"].items())
        label = f"{entry['name']} {dimensions}".strip()
        print(f"  {label:<44} {_format_value(entry['value']):>30}  {entry['unit']}")


def _format_value(value: Any) -> str:
    if isinstance(value, list):
        return f"[{len(value)} values {min(value):g}..{max(value):g}]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def print_range(args: argparse.Namespace, store: Any, spec: Any, since: int, at: int) -> int:
    from processors.evaluating.service import alert_log_since, minute_readings
    from processors.metrics import operator_metric_points
    from processors.store.view import StoreView

    # One view, so one alert-log read, serves every minute of the range (the evaluation itself is not needed).
    view = StoreView(store)
    log = view.alert_log(since=alert_log_since(spec, since))
    minutes: list[dict[str, Any]] = []
    for end in range(since + conventions.MINUTE, at + 1, conventions.MINUTE):
        points = operator_metric_points(minute_readings(view, spec, end), spec, log)
        minutes.append({"from": iso_seconds(end - conventions.MINUTE), "operator": metric_entries(points)})
    if args.json:
        print(json.dumps({"from": iso_seconds(since), "to": iso_seconds(at), "minutes": minutes}, indent=2))
        return 0
    print("minute  " + " ".join(f"{_short(name):>9}" for name in SINCE_COLUMNS))
    for minute in minutes:
        values = {e["name"]: e["value"] for e in minute["operator"] if not e["dimensions"]}
        cells = [_cell(values.get(name)) for name in SINCE_COLUMNS]
        print(f"{minute['from'][11:16]}   " + " ".join(f"{cell:>9}" for cell in cells))
    return 0


def _short(name: str) -> str:
    return {
        "RunnersStarted": "started",
        "RunnersCompleted": "completed",
        "CacheHitRate": "hit rate",
        "QueueProcessingRate": "launch/s",
        "QueueAgeP95": "age p95",
        "RunnerStartupTimeP95": "start p95",
        "FailedWorkflowRate": "failed",
        "ReconciliationFailures": "rec fail",
        "CostPerBuild": "$/build",
        "MTTR": "MTTR s",
    }.get(name, name[:9])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"
