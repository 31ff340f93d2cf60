"""`slo correct --slo NAME --from T1 --to T2 --reason "…"`: leave a known-bad window out of an SLO's budget.

Each correction is a new version kept in the store with who, when and why; `slo status` and the report list
them, and every evaluation (status, the evaluator Lambda, the report) leaves their events out of good/total.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from processors.cli.common import (
    BY,
    MAX_BY_CHARS,
    MAX_REASON_CHARS,
    REASON,
    UsageError,
    add_spec_argument,
    add_store_arguments,
    load_spec_argument,
    open_store,
    parse_time_argument,
)
from processors.cli.silence import who
from processors.timeutil import iso_seconds

ATTEMPTS = 5  # two writers racing for the same version number: the loser takes the next one


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("correct", help="exclude a window of events from an SLO's budget")
    add_store_arguments(parser)
    add_spec_argument(parser)
    parser.add_argument("--slo", required=True, metavar="NAME")
    parser.add_argument("--from", dest="start", required=True, metavar="T1", help="ISO 8601, inclusive")
    parser.add_argument("--to", dest="end", required=True, metavar="T2", help="ISO 8601, exclusive")
    parser.add_argument("--reason", required=True, type=REASON,
                        help=f"why (kept with the correction; at most {MAX_REASON_CHARS:,} characters)")
    parser.add_argument("--by", default=None, type=BY,
                        help=f"who (default: the login name; at most {MAX_BY_CHARS} characters)")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    start = int(parse_time_argument(args.start, "--from").timestamp())
    end = int(parse_time_argument(args.end, "--to").timestamp())
    if end <= start:
        raise UsageError("--to: the window must end after it starts")
    spec = load_spec_argument(args)
    if args.slo not in spec.names:
        raise UsageError(f"--slo: no SLO named {args.slo!r} (the spec has {', '.join(spec.names)})")
    with open_store(args) as store:
        for _ in range(ATTEMPTS):
            version = len(store.corrections([args.slo])) + 1
            correction = {
                "id": f"{args.slo}-v{version}",
                "slo": args.slo,
                "version": version,
                "start": start,
                "end": end,
                "reason": args.reason,
                "created_by": who(args.by),
                "created_at": int(time.time()),
            }
            if store.add_correction(correction):
                break
        else:
            raise UsageError("another correction was being added at the same time: try again")
    if args.json:
        print(json.dumps(correction))
    else:
        print(f"correction {correction['id']}: {args.slo} excludes {iso_seconds(start)} to {iso_seconds(end)} "
              f"by {correction['created_by']}: {correction['reason']}")
    return 0
