"""`slo bootstrap`: create the table and the Kinesis stream on an endpoint (moto server, LocalStack or AWS).

The table comes from processors.store.tables.table_definition, the same definition the SAM template is tested
against. Running it twice is fine: what exists is reported and left alone.
"""

from __future__ import annotations

import argparse
import os
from typing import Any, Final

from processors.cli.common import UsageError, check_endpoint_url

DEFAULT_TABLE: Final = "slo-pipeline"
DEFAULT_STREAM: Final = "slo-pipeline-logs"
DEFAULT_REGION: Final = "us-east-1"
MAX_SHARDS: Final = 100_000  # far past any Kinesis quota: a bigger number is a typo (and past what the API holds)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bootstrap",
        help="create the DynamoDB table and Kinesis stream on an endpoint",
        description=__doc__,
    )
    parser.add_argument(
        "--endpoint-url", metavar="URL", help="e.g. http://127.0.0.1:5000 (moto) or LocalStack"
    )
    parser.add_argument("--table", metavar="NAME", default=None, help=f"table name (default {DEFAULT_TABLE})")
    parser.add_argument("--stream", metavar="NAME", default=DEFAULT_STREAM, help="Kinesis stream name")
    parser.add_argument("--shards", type=int, default=0, help="provisioned shards (default 0: on-demand)")
    parser.add_argument(
        "--region", default=None, help=f"AWS region (default $AWS_REGION or {DEFAULT_REGION})"
    )
    parser.set_defaults(func=run)


def _region(args: argparse.Namespace) -> str:
    return (
        args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    )


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def create_table(dynamodb: Any, name: str) -> bool:
    """True when created, False when it already existed."""
    from processors.store.tables import TTL_ATTRIBUTE, table_definition

    try:
        dynamodb.create_table(**table_definition(name))
    except dynamodb.exceptions.ResourceInUseException:
        return False
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    return True


def create_stream(kinesis: Any, name: str, shards: int) -> bool:
    """True when created, False when it already existed."""
    kwargs: dict[str, Any] = {"StreamName": name}
    if shards > 0:
        kwargs |= {"ShardCount": shards, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}
    else:
        kwargs["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
    try:
        kinesis.create_stream(**kwargs)
    except kinesis.exceptions.ResourceInUseException:
        return False
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return True


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from processors import conventions

    if not 0 <= args.shards <= MAX_SHARDS:
        raise UsageError(f"--shards: must be 0 (on-demand) to {MAX_SHARDS}, got {args.shards}")
    table = args.table or os.environ.get(conventions.ENV_TABLE_NAME) or DEFAULT_TABLE
    check_endpoint_url(args.endpoint_url)
    session = boto3.session.Session(region_name=_region(args))
    try:
        dynamodb = session.client("dynamodb", endpoint_url=args.endpoint_url)
        kinesis = session.client("kinesis", endpoint_url=args.endpoint_url)
        made_table = create_table(dynamodb, table)
        made_stream = create_stream(kinesis, args.stream, args.shards)
        arn = kinesis.describe_stream_summary(StreamName=args.stream)["StreamDescriptionSummary"]["StreamARN"]
    except (ClientError, BotoCoreError) as exc:
        where = args.endpoint_url or "AWS"
        raise UsageError(f"bootstrap against {where} failed: {_error_code(exc) or exc}") from exc
    print(f"table {table}: {'created' if made_table else 'already exists'}")
    print(f"stream {args.stream}: {'created' if made_stream else 'already exists'} ({arn})")
    return 0
