"""`slo emit ACTION [--service S] [--message M] [--level L] [KEY=VALUE ...]`: one schema-v1 line on stdout.

For shell entrypoints such as the runner's; correlation.emit renders the line. CORRELATION_ID comes from the
environment: unset → a minted UUID v4 and one warning on stderr; set but not a UUID → a one-line error,
exit 2 (minting would hide a broken propagation).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, NoReturn

from correlation.emit import DEFAULT_SERVICE, parse_pairs, render
from correlation.exceptions import CorrelationError, InvalidPairError
from correlation.ids import new_correlation_id
from correlation.propagation import from_env
from correlation.vocabulary import ENV_VAR
from processors.cli.common import UsageError


def _add_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    suppress = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--service",
        default=suppress,
        help=f"service name (default $SERVICE_NAME, $POWERTOOLS_SERVICE_NAME or {DEFAULT_SERVICE})",
    )
    parser.add_argument("--message", default=suppress, help="message (default: the action)")
    parser.add_argument("--level", default=suppress if not defaults else "INFO", help="level (default INFO)")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "emit",
        help="print one schema-v1 log line (for shell entrypoints)",
        description=(
            "Print one schema-v1 JSON log line to stdout. correlationId comes from $CORRELATION_ID "
            "(unset: a UUID is minted with a warning; not a UUID: error). KEY=VALUE pairs go into metadata: "
            "numbers stay numbers, true/false become JSON, null leaves the key out, anything else is a string."
        ),
    )
    _add_options(parser, defaults=True)
    parser.add_argument("action", metavar="ACTION", help="a vocabulary action, e.g. runner_started")
    # REMAINDER: options may follow ACTION (`slo emit runner_started --service Runner k=v`), which a plain
    # nargs="*" positional would reject on Python 3.11; run() parses the rest intermixed.
    parser.add_argument("rest", metavar="KEY=VALUE", nargs=argparse.REMAINDER, help="metadata fields")
    parser.set_defaults(func=run)


class _RestParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidPairError(message)


def _merge_rest(args: argparse.Namespace) -> tuple[argparse.Namespace, list[str]]:
    rest_parser = _RestParser(prog="slo emit", add_help=False)
    _add_options(rest_parser, defaults=False)
    rest_parser.add_argument("pairs", nargs="*")
    merged = rest_parser.parse_intermixed_args(args.rest or [], namespace=argparse.Namespace(**vars(args)))
    return merged, list(merged.pairs)


def run(args: argparse.Namespace) -> int:
    try:
        args, pairs = _merge_rest(args)
        correlation_id = from_env()
        minted = correlation_id is None
        service = args.service or os.environ.get("SERVICE_NAME") or os.environ.get("POWERTOOLS_SERVICE_NAME")
        line = render(
            args.action,
            correlation_id=correlation_id or new_correlation_id(),
            service=service or DEFAULT_SERVICE,
            message=args.message,
            level=args.level,
            metadata=parse_pairs(pairs),
        )
    except CorrelationError as exc:
        raise UsageError(f"emit: {exc}") from exc
    if minted:
        minted_id = json.loads(line)["correlationId"]
        print(f"slo emit: warning: {ENV_VAR} is not set; minted {minted_id}", file=sys.stderr)
    print(line, flush=True)
    return 0
