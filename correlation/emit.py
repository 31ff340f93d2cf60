"""`slo emit ACTION [--service S] [--message M] [--level L] [KEY=VALUE ...]`: one schema-v1 line on stdout.

For shell entrypoints such as the runner's. The line is formatted by the same SchemaV1Formatter the
Python logger uses. CORRELATION_ID comes from the environment: unset → a minted UUID v4 and one warning on
stderr; set but not a UUID → a one-line error, exit 2 (minting would hide a broken propagation).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from correlation.exceptions import CorrelationError, InvalidMetadataError, InvalidPairError
from correlation.formatter import SchemaV1Formatter
from correlation.ids import new_correlation_id
from correlation.propagation import from_env
from correlation.vocabulary import ENV_VAR, LEVELS, check_action, metadata_problems

DEFAULT_SERVICE = "Runner"

# JSON-style numbers only: "007", "1_000", "nan" and "0x10" stay strings (IDs and codes keep their text).
_INT = re.compile(r"^-?(0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def parse_value(text: str) -> Any:
    """Integers and decimals become numbers, true/false/null become JSON literals, the rest stays a string."""
    if text in _LITERALS:
        return _LITERALS[text]
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        value = float(text)
        return value if value not in (float("inf"), float("-inf")) else text
    return text


def parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    """KEY=VALUE arguments as metadata; the value may contain '=', a repeated key keeps its last value."""
    metadata: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidPairError(f"expected KEY=VALUE, got {pair!r}")
        if key == "action":
            raise InvalidPairError("action is the first argument, not a KEY=VALUE pair")
        metadata[key] = parse_value(value)
    return metadata


def parse_level(text: str) -> str:
    name = "WARNING" if text.upper() == "WARN" else text.upper()
    if name not in LEVELS:
        raise InvalidPairError(f"--level: expected one of {', '.join(LEVELS)}, got {text!r}")
    return name


def render(
    action: str,
    *,
    correlation_id: str,
    service: str,
    message: str | None = None,
    level: str = "INFO",
    metadata: dict[str, Any] | None = None,
    created: float | None = None,
) -> str:
    """The schema-v1 JSON line; an unknown action or an ill-typed schema field raises CorrelationError."""
    check_action(action)
    fields = {**(metadata or {}), "action": action}
    problems = metadata_problems(fields)
    if problems:
        raise InvalidMetadataError("; ".join(problems.values()))
    record = logging.LogRecord(
        service, getattr(logging, parse_level(level)), "", 0, message or action, None, None
    )
    if created is not None:
        record.created = created
    record.metadata = fields
    record.correlationId = correlation_id
    return SchemaV1Formatter(service).format(record)


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
            "numbers stay numbers, true/false/null become JSON, anything else is a string."
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
    from processors.cli.common import UsageError

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
