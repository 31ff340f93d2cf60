"""`slo subscribe`: backfill subscription filters onto existing log groups (mode B; new ones are handled by
the auto-subscriber Lambda). Log groups with two filters that aren't ours are reported and skipped.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from typing import Any

from processors.cli.common import UsageError, check_endpoint_url


def register(subparsers: Any) -> None:
    # subscriptions is imported in run(): `slo --help` must work even where it is not installed
    parser = subparsers.add_parser(
        "subscribe",
        help="subscribe existing log groups to the pipeline's stream",
        description=__doc__,
    )
    parser.add_argument(
        "--prefix", action="append", default=[], metavar="PREFIX", help="log group name prefix"
    )
    parser.add_argument(
        "--destination-arn", metavar="ARN", help="Kinesis stream ARN (default $SUBSCRIPTION_DESTINATION_ARN)"
    )
    parser.add_argument(
        "--role-arn", metavar="ARN", help="role CloudWatch Logs assumes (default $SUBSCRIPTION_ROLE_ARN)"
    )
    parser.add_argument("--filter-name", default="slo-pipeline", help="our filter's name")
    parser.add_argument("--filter-pattern", default="", help="filter pattern (default: every event)")
    parser.add_argument("--exclude", action="append", default=[], metavar="NAME", help="log group to skip")
    parser.add_argument(
        "--exclude-prefix", action="append", default=[], metavar="PREFIX", help="log group prefix to skip"
    )
    parser.add_argument(
        "--stack",
        metavar="NAME",
        help="the pipeline's stack: its own log groups (/aws/lambda/NAME-*, API access logs) are skipped",
    )
    parser.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    parser.add_argument("--endpoint-url", metavar="URL", help="CloudWatch Logs endpoint (moto, LocalStack)")
    parser.add_argument("--region", default=None, help="AWS region")
    parser.set_defaults(func=run)


def stack_exclusions(stack: str) -> tuple[str, ...]:
    """The log group prefixes sam/template.yaml gives the stack's own functions and API access logs."""
    return (f"/aws/lambda/{stack}-", f"/aws/apigateway/{stack}-")


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from subscriptions.filters import (
        ENV_DESTINATION_ARN,
        ENV_ROLE_ARN,
        SubscriptionConfig,
        SubscriptionError,
        backfill,
    )

    if not args.prefix:
        raise UsageError("--prefix is required (e.g. --prefix /aws/lambda/); it may be repeated")
    exclude_prefixes = tuple(args.exclude_prefix) + (stack_exclusions(args.stack) if args.stack else ())
    try:
        config = SubscriptionConfig(
            destination_arn=args.destination_arn or os.environ.get(ENV_DESTINATION_ARN, ""),
            role_arn=args.role_arn or os.environ.get(ENV_ROLE_ARN, ""),
            filter_name=args.filter_name,
            filter_pattern=args.filter_pattern,
            prefixes=tuple(args.prefix),
            exclude_prefixes=exclude_prefixes,
            exclude_names=frozenset(args.exclude),
        )
    except SubscriptionError as exc:
        raise UsageError(f"{exc} (--destination-arn / --role-arn)") from exc
    check_endpoint_url(args.endpoint_url)
    logs = boto3.session.Session(region_name=args.region).client("logs", endpoint_url=args.endpoint_url)
    try:
        outcomes = backfill(logs, config, dry_run=args.dry_run)
    except (ClientError, BotoCoreError) as exc:
        raise UsageError(f"CloudWatch Logs: {exc}") from exc
    for outcome in outcomes:
        print(outcome.line())
    counts = Counter(outcome.verb for outcome in outcomes)
    summary = ", ".join(f"{count} {action}" for action, count in sorted(counts.items())) or "no log groups"
    print(("dry run: " if args.dry_run else "") + summary)
    return 0
