"""`slo silence add|list|remove`: silence an SLO (or all) for planned maintenance.

A silenced SLO is still evaluated and its transitions are logged with `silenced: true`; only notifications
are held back (docs/alerting.md). Silences live in the store, so the evaluator Lambda sees the CLI's.
"""

from __future__ import annotations

import argparse
import getpass
import json
import time
import uuid
from typing import Any

from processors.cli.common import (
    BY,
    MAX_BY_CHARS,
    MAX_REASON_CHARS,
    REASON,
    UsageError,
    add_spec_argument,
    add_store_arguments,
    check_epoch,
    load_spec_argument,
    open_store,
    parse_duration_argument,
    parse_time_argument,
    shown,
)
from processors.timeutil import iso_seconds


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser("silence", help="silence notifications of an SLO (or all) for a while")
    actions = parser.add_subparsers(dest="silence_action", metavar="ACTION")
    actions.required = True
    add = actions.add_parser("add", help="add a silence", description="Hold back notifications; keep evaluating.")
    add_store_arguments(add)
    add_spec_argument(add)
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--slo", metavar="NAME", help="the SLO to silence")
    which.add_argument("--all", action="store_true", help="silence every SLO")
    until = add.add_mutually_exclusive_group(required=True)
    until.add_argument("--until", metavar="TIME", help="end of the silence (ISO 8601)")
    until.add_argument("--for", dest="duration", metavar="DURATION", help="length of the silence (e.g. 2h)")
    add.add_argument("--from", dest="starts", metavar="TIME", help="start (ISO 8601; default now)")
    add.add_argument("--reason", required=True, type=REASON,
                     help=f"why (kept with the silence; at most {MAX_REASON_CHARS:,} characters)")
    add.add_argument("--by", default=None, type=BY,
                     help=f"who (default: the login name; at most {MAX_BY_CHARS} characters)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=run_add)
    listing = actions.add_parser("list", help="list silences")
    add_store_arguments(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    remove = actions.add_parser("remove", help="remove a silence by id")
    add_store_arguments(remove)
    remove.add_argument("id")
    remove.set_defaults(func=run_remove)


def who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def run_add(args: argparse.Namespace) -> int:
    now = int(time.time())
    starts = int(parse_time_argument(args.starts, "--from").timestamp()) if args.starts is not None else now
    if args.duration is not None:
        ends = check_epoch(starts + parse_duration_argument(args.duration, "--for"), "--for", args.duration, starts)
    else:
        ends = int(parse_time_argument(args.until, "--until").timestamp())
    if ends <= starts:
        raise UsageError("--until: the silence must end after it starts")
    if args.slo is not None:
        spec = load_spec_argument(args)
        if args.slo not in spec.names:
            raise UsageError(f"--slo: no SLO named {args.slo!r} (the spec has {', '.join(spec.names)})")
    silence = {
        "id": uuid.uuid4().hex[:8],
        "slo": "*" if args.all else args.slo,
        "starts": starts,
        "ends": ends,
        "reason": args.reason,
        "created_by": who(args.by),
        "created_at": now,
    }
    with open_store(args) as store:
        store.add_silence(silence)
    print(json.dumps(silence) if args.json else f"silence {silence['id']} added: {_line(silence)}")
    return 0


def _line(silence: dict[str, Any]) -> str:
    from processors.safety import printable  # a store written before --reason refused them may hold any

    # a hand-edited silence may lack a field the evaluator does without: shown as the evaluator reads it (no SLO
    # covers nothing, no start or end is 0)
    slo = silence.get("slo", "no SLO")
    target = "all SLOs" if slo == "*" else slo
    return printable(f"{target} from {iso_seconds(silence.get('starts', 0))} until "
                     f"{iso_seconds(silence.get('ends', 0))} by {silence.get('created_by', '?')}: "
                     f"{silence.get('reason', '')}")


def run_list(args: argparse.Namespace) -> int:
    with open_store(args, must_exist=True) as store:
        silences = store.silences()
    if args.json:
        print(json.dumps(silences, indent=2))
    elif not silences:
        print("no silences")
    else:
        for silence in sorted(silences, key=lambda s: s.get("starts", 0)):
            print(f"{silence.get('id', '?')}  {_line(silence)}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    with open_store(args, must_exist=True, writes=True) as store:
        removed = store.remove_silence(args.id)
    if not removed:
        raise UsageError(f"no silence {shown(args.id)} (see `slo silence list`)")
    print(f"silence {args.id} removed")
    return 0
