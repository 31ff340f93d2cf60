"""Auto-subscriber, backfill and bootstrap against moto (CloudWatch Logs, Kinesis, DynamoDB) over real HTTP.

moto never throttles and ignores filter patterns, so these tests cover what is ours: the two-filter limit,
exclusion of the pipeline's own log groups, idempotency and `distribution="Random"`.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import boto3
import pytest

from processors.store.tables import table_definition
from subscriptions import SubscriptionConfig, backfill, subscribe_log_group
from tests.conftest import free_port

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/logs-to-kinesis"


@pytest.fixture(scope="session")
def moto_server(moto_endpoint: str) -> str:
    """The suite's shared ThreadedMotoServer (tests/conftest.py)."""
    return moto_endpoint


def client(endpoint: str, service: str) -> Any:
    return boto3.session.Session(region_name=REGION).client(service, endpoint_url=endpoint)


@pytest.fixture
def logs(moto_server: str) -> Any:
    return client(moto_server, "logs")


@pytest.fixture
def put_calls(logs: Any) -> list[dict[str, Any]]:
    """The PutSubscriptionFilter parameters as botocore sends them (moto doesn't keep `distribution`)."""
    calls: list[dict[str, Any]] = []
    logs.meta.events.register(
        "provide-client-params.logs.PutSubscriptionFilter", lambda params, **_: calls.append(dict(params))
    )
    return calls


@pytest.fixture
def prefix() -> str:
    return f"/test/{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def config(moto_server: str, prefix: str) -> SubscriptionConfig:
    kinesis = client(moto_server, "kinesis")
    name = f"logs-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return SubscriptionConfig(
        destination_arn=arn,
        role_arn=ROLE_ARN,
        prefixes=(prefix,),
        exclude_prefixes=(f"{prefix}aws/lambda/slo-",),
        exclude_names=frozenset({f"{prefix}pipeline-access"}),
    )


def filters(logs: Any, group: str) -> list[dict[str, Any]]:
    return list(logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"])


def someone_elses_filter(logs: Any, moto_server: str, group: str, name: str) -> None:
    kinesis = client(moto_server, "kinesis")
    stream = f"other-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    logs.put_subscription_filter(
        logGroupName=group, filterName=name, filterPattern="ERROR", destinationArn=arn, roleArn=ROLE_ARN
    )


def test_a_new_log_group_gets_our_filter_with_random_distribution(
    logs: Any, config: SubscriptionConfig, prefix: str, put_calls: list[dict[str, Any]]
) -> None:
    group = f"{prefix}service-a"
    logs.create_log_group(logGroupName=group)
    outcome = subscribe_log_group(logs, config, group)
    assert outcome.action == "subscribed"
    (ours,) = filters(logs, group)
    assert ours["filterName"] == config.filter_name
    assert ours["destinationArn"] == config.destination_arn
    assert put_calls[-1]["distribution"] == "Random"
    assert put_calls[-1]["filterPattern"] == ""


def test_subscribing_twice_leaves_one_filter_and_says_already_subscribed(
    logs: Any, config: SubscriptionConfig, prefix: str
) -> None:
    group = f"{prefix}service-b"
    logs.create_log_group(logGroupName=group)
    subscribe_log_group(logs, config, group)
    assert subscribe_log_group(logs, config, group).action == "already_subscribed"
    assert len(filters(logs, group)) == 1


def test_a_log_group_with_two_foreign_filters_is_reported_and_left_untouched(
    logs: Any, moto_server: str, config: SubscriptionConfig, prefix: str
) -> None:
    group = f"{prefix}service-full"
    logs.create_log_group(logGroupName=group)
    someone_elses_filter(logs, moto_server, group, "siem")
    someone_elses_filter(logs, moto_server, group, "errors-to-slack")
    before = filters(logs, group)
    outcome = subscribe_log_group(logs, config, group)
    assert outcome.action == "limit_reached"
    assert "errors-to-slack" in outcome.detail and "siem" in outcome.detail
    assert filters(logs, group) == before


def test_a_log_group_with_one_foreign_filter_gets_ours_in_the_second_slot(
    logs: Any, moto_server: str, config: SubscriptionConfig, prefix: str
) -> None:
    group = f"{prefix}service-one"
    logs.create_log_group(logGroupName=group)
    someone_elses_filter(logs, moto_server, group, "siem")
    assert subscribe_log_group(logs, config, group).action == "subscribed"
    assert sorted(f["filterName"] for f in filters(logs, group)) == sorted(["siem", config.filter_name])


def test_another_filter_already_sending_to_our_stream_counts_as_subscribed(
    logs: Any, config: SubscriptionConfig, prefix: str
) -> None:
    group = f"{prefix}service-manual"
    logs.create_log_group(logGroupName=group)
    logs.put_subscription_filter(
        logGroupName=group,
        filterName="hand-made",
        filterPattern="",
        destinationArn=config.destination_arn,
        roleArn=ROLE_ARN,
    )
    assert subscribe_log_group(logs, config, group).action == "already_subscribed"
    assert len(filters(logs, group)) == 1


@pytest.mark.parametrize(
    ("suffix", "action"),
    [
        ("aws/lambda/slo-ingest", "excluded"),
        ("pipeline-access", "excluded"),
        ("elsewhere", "not_selected"),
    ],
    ids=["a pipeline function's log group", "an excluded name", "a group outside the prefixes"],
)
def test_the_pipeline_s_own_and_unselected_log_groups_are_never_subscribed(
    logs: Any, config: SubscriptionConfig, prefix: str, suffix: str, action: str
) -> None:
    group = f"{prefix}{suffix}" if action == "excluded" else f"/other/{uuid.uuid4().hex[:6]}/{suffix}"
    logs.create_log_group(logGroupName=group)
    assert subscribe_log_group(logs, config, group).action == action
    assert filters(logs, group) == []


def test_a_log_group_deleted_before_we_get_to_it_is_reported_as_gone(
    logs: Any, config: SubscriptionConfig, prefix: str
) -> None:
    assert subscribe_log_group(logs, config, f"{prefix}never-created").action == "gone"


def test_backfill_dry_run_reports_and_changes_nothing_then_the_real_run_subscribes(
    logs: Any, moto_server: str, config: SubscriptionConfig, prefix: str
) -> None:
    for name in ("a", "b", "aws/lambda/slo-evaluator", "full"):
        logs.create_log_group(logGroupName=f"{prefix}{name}")
    someone_elses_filter(logs, moto_server, f"{prefix}full", "one")
    someone_elses_filter(logs, moto_server, f"{prefix}full", "two")

    dry = {o.log_group.removeprefix(prefix): o for o in backfill(logs, config, dry_run=True)}
    assert {name: o.action for name, o in dry.items()} == {
        "a": "subscribed",
        "b": "subscribed",
        "aws/lambda/slo-evaluator": "excluded",
        "full": "limit_reached",
    }
    assert dry["a"].line().endswith("would be subscribed")
    assert filters(logs, f"{prefix}a") == []

    real = {o.log_group.removeprefix(prefix): o.action for o in backfill(logs, config)}
    assert real["a"] == real["b"] == "subscribed"
    again = {o.log_group.removeprefix(prefix): o.action for o in backfill(logs, config)}
    assert again["a"] == again["b"] == "already_subscribed"
    assert len(filters(logs, f"{prefix}full")) == 2


def test_the_auto_subscriber_subscribes_the_group_named_in_a_cloudtrail_event(
    logs: Any, moto_server: str, config: SubscriptionConfig, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subscriptions import auto_subscriber
    from subscriptions import filters as filter_module

    group = f"{prefix}new-service"
    logs.create_log_group(logGroupName=group)
    env = {
        filter_module.ENV_DESTINATION_ARN: config.destination_arn,
        filter_module.ENV_ROLE_ARN: config.role_arn,
        filter_module.ENV_PREFIXES: ",".join(config.prefixes),
        filter_module.ENV_EXCLUDE_PREFIXES: ",".join(config.exclude_prefixes),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    auto_subscriber.config.cache_clear()
    monkeypatch.setattr(auto_subscriber, "logs_client", lambda: logs)
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.logs",
        "account": "123456789012",
        "time": "2026-10-01T06:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventSource": "logs.amazonaws.com",
            "eventName": "CreateLogGroup",
            "requestParameters": {"logGroupName": group},
        },
    }

    class Context:
        function_name = "slo-auto-subscriber"
        memory_limit_in_mb = 128
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:slo-auto-subscriber"
        aws_request_id = str(uuid.uuid4())

    try:
        assert auto_subscriber.lambda_handler(event, Context())["action"] == "subscribed"
        assert auto_subscriber.lambda_handler(event, Context())["action"] == "already_subscribed"
        assert len(filters(logs, group)) == 1
    finally:
        auto_subscriber.config.cache_clear()


def test_the_subscription_config_reads_lists_from_the_environment() -> None:
    config = SubscriptionConfig.from_env(
        {
            "SUBSCRIPTION_DESTINATION_ARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
            "SUBSCRIPTION_ROLE_ARN": ROLE_ARN,
            "SUBSCRIBE_LOG_GROUP_PREFIXES": "/aws/lambda/, /ecs/ ,",
            "EXCLUDE_LOG_GROUP_PREFIXES": "/aws/lambda/slo-",
        }
    )
    assert config.prefixes == ("/aws/lambda/", "/ecs/")
    assert config.exclude_prefixes == ("/aws/lambda/slo-",)
    assert config.filter_name == "slo-pipeline"


# --- slo bootstrap ------------------------------------------------------------------------------------------


def run_cli(module: str, argv: list[str]) -> int:
    """Run a command through the real `slo` entry point (`module` names where it lives)."""
    import processors.cli as cli

    assert module in cli.COMMAND_MODULES
    return cli.main(argv)


def test_bootstrap_creates_the_table_and_stream_and_a_second_run_says_they_exist(
    moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    table, stream = f"slo-{uuid.uuid4().hex[:8]}", f"logs-{uuid.uuid4().hex[:8]}"
    argv = [
        "bootstrap",
        "--endpoint-url",
        moto_server,
        "--table",
        table,
        "--stream",
        stream,
        "--region",
        REGION,
    ]
    assert run_cli("processors.cli.bootstrap", argv) == 0
    first = capsys.readouterr().out
    assert f"table {table}: created" in first and f"stream {stream}: created" in first

    described = client(moto_server, "dynamodb").describe_table(TableName=table)["Table"]
    expected = table_definition(table)
    assert described["KeySchema"] == expected["KeySchema"]
    assert sorted(i["IndexName"] for i in described["GlobalSecondaryIndexes"]) == sorted(
        i["IndexName"] for i in expected["GlobalSecondaryIndexes"]
    )
    ttl = client(moto_server, "dynamodb").describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiresAt"

    assert run_cli("processors.cli.bootstrap", argv) == 0
    second = capsys.readouterr().out
    assert f"table {table}: already exists" in second and f"stream {stream}: already exists" in second


def test_bootstrap_against_an_unreachable_endpoint_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    argv = ["bootstrap", "--endpoint-url", f"http://127.0.0.1:{port}", "--region", REGION]
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_MAX_ATTEMPTS"] = "1"
    try:
        assert run_cli("processors.cli.bootstrap", argv) == 2
    finally:
        del os.environ["AWS_MAX_ATTEMPTS"]
    assert capsys.readouterr().err.count("\n") == 1


def test_slo_subscribe_dry_run_prints_one_line_per_group_and_a_summary(
    logs: Any, moto_server: str, config: SubscriptionConfig, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.create_log_group(logGroupName=f"{prefix}svc")
    logs.create_log_group(logGroupName=f"/aws/lambda/slo-x-ingest{prefix.rstrip('/')}")
    argv = [
        "subscribe",
        "--prefix",
        prefix,
        "--destination-arn",
        config.destination_arn,
        "--role-arn",
        ROLE_ARN,
        "--dry-run",
        "--endpoint-url",
        moto_server,
        "--region",
        REGION,
    ]
    assert run_cli("processors.cli.subscribe", argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{prefix}svc: would be subscribed", "dry run: 1 would be subscribed"]
    assert filters(logs, f"{prefix}svc") == []


def test_slo_subscribe_without_a_prefix_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run_cli("processors.cli.subscribe", ["subscribe", "--destination-arn", "x", "--role-arn", "y"]) == 2
    )
    assert "--prefix" in capsys.readouterr().err
