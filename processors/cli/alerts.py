"""`slo alerts [--db FILE] [--since TIME|DURATION] [--json]`: every alert transition in the store, oldest first."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from typing import Any

from processors.cli.common import add_store_arguments, check_alert_log, horizon, open_store, parse_since_argument

# The fixed JSON fields, in the order they are printed; anything else a transition carries follows them.
FIELDS = ("slo", "kind", "severity", "tier", "state", "at", "burn_rates", "suppressed", "exemplars")
COLUMNS = ("AT", "SLO", "KIND", "SEVERITY", "TIER", "STATE", "DETAIL")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "alerts",
        help="list alert transitions (firing, resolved, downgraded) from the alert log",
        description="Every alert transition recorded by the evaluator or by `slo replay` backtests.",
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--since",
        metavar="TIME|DURATION",
        help="only transitions at or after TIME (ISO 8601), or within DURATION (e.g. 1h) of the newest event",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.since is not None:
        parse_since_argument(args.since, "--since", None)  # a typo fails before the store is opened
    with open_store(args, must_exist=True) as store:
        since = None
        if args.since is not None:
            since = parse_since_argument(args.since, "--since", _reference(store), horizon(store))
        log = store.alert_log(since=since)
    check_alert_log(log)
    if args.json:
        print(json.dumps([wire(t) for t in log], indent=2))
    else:
        print(render_table(log))
    return 0


def _reference(store: Any) -> int | None:
    """What a --since duration counts back from: the newest event, else (an alert-only store) the newest transition."""
    at = store.default_at()
    if at is not None:
        return int(at)
    from processors.evaluating.mttr import transition_epoch

    times = [t for t in map(transition_epoch, store.alert_log()) if t is not None]
    return max(times) + 60 if times else None


def wire(transition: Mapping[str, Any]) -> dict[str, Any]:
    """The fixed fields first (omitted when absent), then the rest, without store bookkeeping."""
    ordered = {key: transition[key] for key in FIELDS if key in transition}
    ordered.update({k: v for k, v in transition.items() if k not in ordered and k not in ("notify", "route")})
    return ordered


def detail(transition: Mapping[str, Any]) -> str:
    parts = []
    rates = transition.get("burn_rates") or {}
    if rates:
        parts.append(" ".join(f"{window} {rate:g}x" for window, rate in rates.items()))
    if transition.get("from_tier"):
        parts.append(f"from {transition['from_tier']}")
    for name, (before, after) in (transition.get("changes") or {}).items():  # a spec_change record
        parts.append(f"{name} {_setting(before)} -> {_setting(after)}")
    if transition.get("kind") == "budget" and transition.get("budget"):
        parts.append(f"consumed {transition['budget'].get('consumed', 0) * 100:.0f}%")
    if transition.get("suppressed"):
        parts.append("suppressed " + ",".join(transition["suppressed"]))
    if transition.get("exemplars"):
        exemplars = transition["exemplars"]
        parts.append(f"{len(exemplars)} exemplar(s), e.g. slo trace {exemplars[0]}")
    if transition.get("notify") is False:
        parts.append("(not notified)")
    return "; ".join(parts)


def _setting(value: Any) -> str:
    """An objective as a percentage (0.999 -> 99.9%), a window as it is written."""
    if isinstance(value, float):
        return f"{value * 100:g}%"
    return str(value)


def render_table(log: Sequence[Mapping[str, Any]]) -> str:
    if not log:
        return "no alert transitions"
    rows = [
        (
            str(t.get("at", "")),
            f"{t.get('slo', '')}[{t['group']}]" if t.get("group") else str(t.get("slo", "")),
            str(t.get("kind", "")),
            str(t.get("severity", "")),
            str(t.get("tier", "")),
            str(t.get("state", "")),
            detail(t),
        )
        for t in log
    ]
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
