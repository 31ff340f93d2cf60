"""The SAM template, checked as CloudFormation: cfn-lint, handlers that import, the table, IAM, encryption,
the API's auth and access-log format, the Kinesis event source, and the generated dashboards."""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from processors.dashboards import build_dashboards, embedded_bodies, render, slos_from_spec
from processors.handlers import evaluator
from processors.metrics.emf import namespace_problem
from processors.spec import load_spec
from processors.store.tables import table_definition

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "sam" / "template.yaml"
DASHBOARDS = ROOT / "sam" / "dashboards"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from cfnlint.decode import decode

    decoded, matches = decode(str(TEMPLATE))
    assert not matches, matches
    assert decoded is not None
    return decoded


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::Serverless::Function")


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def handler_cases() -> list[Any]:
    from cfnlint.decode import decode

    decoded, _ = decode(str(TEMPLATE))
    assert decoded is not None
    cases = []
    for name, resource in functions(decoded).items():
        handler = resource["Properties"]["Handler"]
        cases.append(pytest.param(name, handler, id=name))
    return cases


@pytest.mark.parametrize(("function", "handler"), handler_cases())
def test_every_function_handler_is_a_file_under_code_uri_and_imports(
    template: dict[str, Any], function: str, handler: str
) -> None:
    code_uri = (
        template["Resources"][function]["Properties"].get("CodeUri")
        or template["Globals"]["Function"]["CodeUri"]
    )
    module, attribute = handler.rsplit(".", 1)
    path = TEMPLATE.parent / code_uri / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{function}: {path} does not exist"
    assert callable(getattr(importlib.import_module(module), attribute))


def test_the_code_uri_holds_only_the_lambda_packages_and_their_requirements(template: dict[str, Any]) -> None:
    src = TEMPLATE.parent / template["Globals"]["Function"]["CodeUri"]
    assert sorted(p.name for p in src.iterdir()) == ["processors", "requirements.txt", "subscriptions"]
    assert (src / "processors").resolve() == ROOT / "processors"
    requirements = (src / "requirements.txt").read_text()
    assert re.search(r"^numpy[^\n]*<2\.3", requirements, re.MULTILINE)


def test_the_lambda_requirements_hold_every_runtime_dependency_but_the_cli_only_rich() -> None:
    import tomllib

    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    wanted = {re.split(r"[<>=\[ ]", dep, maxsplit=1)[0].lower(): dep.split("#")[0].strip() for dep in runtime}
    wanted.pop("rich")
    lines = [line.strip() for line in (TEMPLATE.parent / "src" / "requirements.txt").read_text().splitlines()]
    packaged = {re.split(r"[<>=\[ ]", line, maxsplit=1)[0].lower(): line for line in lines if line and line[0] != "#"}
    assert sorted(wanted) == sorted(set(packaged) & set(wanted)), "a runtime dependency is not packaged for Lambda"
    for name, dep in wanted.items():
        assert re.sub(r"\[.*?\]", "", packaged[name]) == re.sub(r"\[.*?\]", "", dep), name


def test_the_table_declares_exactly_the_keys_and_indexes_of_table_definition(
    template: dict[str, Any],
) -> None:
    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    expected = table_definition("any")
    assert properties["BillingMode"] == expected["BillingMode"]
    assert sorted(properties["AttributeDefinitions"], key=str) == sorted(
        expected["AttributeDefinitions"], key=str
    )
    assert properties["KeySchema"] == expected["KeySchema"]
    assert properties["GlobalSecondaryIndexes"] == expected["GlobalSecondaryIndexes"]


def test_the_table_has_ttl_point_in_time_recovery_and_kms_encryption(template: dict[str, Any]) -> None:
    from processors.store.tables import TTL_ATTRIBUTE

    (table,) = resources(template, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["SSESpecification"]["SSEType"] == "KMS"


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return list(action) if isinstance(action, list) else [action]


def policy_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement the template writes: roles, function policies, resource policies."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents.append(properties["AssumeRolePolicyDocument"])
            documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
        elif resource["Type"] == "AWS::Serverless::Function":
            for policy in properties.get("Policies", []):
                assert isinstance(policy, dict) and "Statement" in policy, (
                    f"{name}: use explicit statements, not SAM policy templates or managed policies: {policy}"
                )
                documents.append(policy)
        elif resource["Type"] == "AWS::KMS::Key":
            documents.append(properties["KeyPolicy"])
        elif "Statement" in properties.get("PolicyDocument", {}):
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                # a conditional statement (Fn::If [condition, statement, AWS::NoValue]) counts as its statements
                branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                found += [(name, branch) for branch in branches if isinstance(branch, dict) and "Action" in branch]
    return found


def is_key_policy_root_delegation(template: dict[str, Any], name: str, statement: dict[str, Any]) -> bool:
    """The default key policy statement (kms:* for the account root): it hands key use to IAM policies."""
    if template["Resources"][name]["Type"] != "AWS::KMS::Key":
        return False
    principal = statement.get("Principal", {}).get("AWS", {})
    return "Fn::Sub" in principal and str(principal["Fn::Sub"]).endswith(":root")


def test_no_iam_statement_grants_a_wildcard_action(template: dict[str, Any]) -> None:
    offenders = []
    for name, statement in policy_statements(template):
        actions = actions_of(statement)
        for action in actions:
            if (action == "*" or action.endswith(":*")) and not is_key_policy_root_delegation(
                template, name, statement
            ):
                offenders.append((name, action))
    assert not offenders


def test_dynamodb_permissions_cover_the_table_and_its_indexes_only(template: dict[str, Any]) -> None:
    for name, statement in policy_statements(template):
        actions = actions_of(statement)
        if any(action.startswith("dynamodb:") for action in actions):
            assert statement["Resource"] == [
                {"Fn::GetAtt": ["Table", "Arn"]},
                {"Fn::Sub": "${Table.Arn}/index/*"},
            ], name


def test_the_trace_api_only_reads_the_table(template: dict[str, Any]) -> None:
    statements = [s for n, s in policy_statements(template) if n == "TraceApiFunction"]
    actions = {a for s in statements for a in actions_of(s)}
    assert actions == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("AWS::Kinesis::Stream", lambda p: p["StreamEncryption"]["EncryptionType"] == "KMS"),
        ("AWS::DynamoDB::Table", lambda p: p["SSESpecification"]["SSEType"] == "KMS"),
        ("AWS::SQS::Queue", lambda p: "KmsMasterKeyId" in p),
        ("AWS::SNS::Topic", lambda p: "KmsMasterKeyId" in p),
    ],
    ids=["streams", "tables", "queues", "topics"],
)
def test_every_stream_table_queue_and_topic_is_kms_encrypted(
    template: dict[str, Any], kind: str, check: Any
) -> None:
    found = resources(template, kind)
    assert found
    for name, resource in found.items():
        assert check(resource["Properties"]), name


def test_the_stream_is_on_demand_unless_a_shard_count_is_given(template: dict[str, Any]) -> None:
    properties = template["Resources"]["LogStream"]["Properties"]
    assert properties["StreamModeDetails"]["StreamMode"] == {
        "Fn::If": ["IsProvisionedStream", "PROVISIONED", "ON_DEMAND"]
    }
    assert template["Parameters"]["StreamShardCount"]["Default"] == 0


def test_the_trace_api_requires_iam_auth_and_is_throttled_and_access_logged(template: dict[str, Any]) -> None:
    (api,) = resources(template, "AWS::Serverless::Api").values()
    properties = api["Properties"]
    assert properties["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    (setting,) = properties["MethodSettings"]
    assert setting["ThrottlingRateLimit"] and setting["ThrottlingBurstLimit"]
    assert properties["AccessLogSetting"]["DestinationArn"]
    events = template["Resources"]["TraceApiFunction"]["Properties"]["Events"]
    (event,) = events.values()
    assert event["Type"] == "Api"
    assert event["Properties"]["Path"] == "/traces/{correlationId}"
    assert event["Properties"]["Method"] == "GET"


def test_an_access_log_line_parses_as_a_schema_v1_api_request(template: dict[str, Any]) -> None:
    from processors.decoding.structured import parse_structured_log

    (api,) = resources(template, "AWS::Serverless::Api").values()
    line = api["Properties"]["AccessLogSetting"]["Format"]["Fn::Sub"]
    sample = {
        "$context.requestTimeEpoch": "1790834400123",
        "$context.requestTime": "01/Oct/2026:06:00:00 +0000",
        "$context.requestId": "c0ffee00-1234-4abc-8def-0123456789ab",
        "$context.status": "503",
        "$context.responseLatency": "42",
        "${AWS::StackName}": "slo",
    }
    for variable in sorted(sample, key=len, reverse=True):
        line = line.replace(variable, sample[variable])
    line = re.sub(r"\$context\.[A-Za-z.]+", "-", line)
    event = parse_structured_log(line, 1790834400123, position=None)  # type: ignore[arg-type]
    assert not isinstance(event, str), event
    assert event.action == "api_request"
    assert event.correlation_id == sample["$context.requestId"]
    assert event.log["metadata"]["status"] == 503
    assert event.log["metadata"]["duration"] == 42
    assert event.time == pytest.approx(1790834400.123)  # CLF time isn't ISO 8601: the event time is used


def test_the_ingest_event_source_keeps_the_exactly_once_settings(template: dict[str, Any]) -> None:
    (event,) = template["Resources"]["IngestFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "Kinesis"
    properties = event["Properties"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ParallelizationFactor"] == 1
    assert properties["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    for bounded in (
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
    ):
        parameter = template["Parameters"][properties[bounded]["Ref"]]
        assert "MaxValue" in parameter, bounded
    assert template["Parameters"]["IngestMaximumRetryAttempts"]["Default"] >= 0


def test_the_scheduled_functions_run_every_minute_and_every_five_minutes(template: dict[str, Any]) -> None:
    def schedule(name: str) -> str:
        (event,) = template["Resources"][name]["Properties"]["Events"].values()
        return str(event["Properties"]["Schedule"])

    assert schedule("EvaluatorFunction") == "rate(1 minute)"
    assert schedule("SweeperFunction") == "rate(5 minutes)"


def test_the_logs_role_trusts_only_this_account_s_log_groups_and_only_puts_records(
    template: dict[str, Any],
) -> None:
    role = template["Resources"]["LogsToKinesisRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "logs.amazonaws.com"}
    assert "aws:SourceArn" in trust["Condition"]["ArnLike"]
    (policy,) = role["Policies"]
    actions = sorted(a for s in policy["PolicyDocument"]["Statement"] for a in actions_of(s))
    assert actions == sorted(["kinesis:PutRecord", "kinesis:PutRecords", "kms:GenerateDataKey"])


def test_the_account_policy_excludes_every_function_log_group_of_the_stack(template: dict[str, Any]) -> None:
    policy = template["Resources"]["AccountSubscriptionPolicy"]["Properties"]
    criteria = policy["SelectionCriteria"]["Fn::Sub"]
    assert criteria.startswith("LogGroupName NOT IN [")
    for name, resource in functions(template).items():
        function_name = resource["Properties"]["FunctionName"]["Fn::Sub"]
        assert f'"/aws/lambda/{function_name}"' in criteria, name


def test_powertools_service_and_namespace_are_set_for_every_function(template: dict[str, Any]) -> None:
    from processors.dashboards import SERVICE_NAME

    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE_NAME
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}


@pytest.mark.parametrize(
    "namespace",
    ["SloPipeline", "Slo/Pipeline-1", "a", "x" * 255, "x" * 256, "", ":Slo", "AWS/Lambda", "Slo\x01Pipe", "Ünïcode",
     "Slo Pipeline", "AWSLike", "aws/lower"],
)
def test_the_metrics_namespace_parameter_allows_exactly_what_the_emf_writer_takes(
    template: dict[str, Any], namespace: str
) -> None:
    pattern = template["Parameters"]["MetricsNamespace"]["AllowedPattern"]
    assert template["Parameters"]["MetricsNamespace"]["Default"] == "SloPipeline"
    assert (re.fullmatch(pattern, namespace) is not None) == (namespace_problem(namespace) is None), namespace


def test_the_evaluator_alarm_treats_silence_as_not_running(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["EvaluatorNotRunningAlarm"]["Properties"]
    assert alarm["MetricName"] == "EvaluationsCompleted"
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 300


def test_the_reconciliation_alarm_reads_the_emitted_rate_and_treats_a_silent_reconciler_as_failing(
    template: dict[str, Any]
) -> None:
    from processors.dashboards import RECONCILIATION_ALARM_THRESHOLD
    from processors.spec import load_spec

    alarm = template["Resources"]["ReconciliationFailingAlarm"]["Properties"]
    assert alarm["MetricName"] == "ReconciliationSuccess"
    assert "ReconciliationSuccess" in {metric.name for metric in load_spec().metrics}  # the spec emits it
    assert alarm["Threshold"] == RECONCILIATION_ALARM_THRESHOLD
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["TreatMissingData"] == "breaching"  # no runs is missing data, never 100%


def test_every_alarm_routes_to_the_ticket_topic(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 5
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "TicketTopic"}], name


def test_the_template_dashboards_equal_a_fresh_generation_from_the_spec(template: dict[str, Any]) -> None:
    spec = load_spec(ROOT / "processors" / "slos.yaml")
    fresh = build_dashboards(slos_from_spec(spec), targets=spec.targets, metrics=spec.metrics)
    assert embedded_bodies(template) == fresh
    for name, body in fresh.items():
        assert (DASHBOARDS / f"{name}.json").read_text() == render(body), f"run `slo dashboards`: {name}"


def test_exemplar_links_built_from_the_template_s_trace_api_url_hit_the_trace_route(template: dict[str, Any]) -> None:
    from processors.alerting.notify import exemplar_links

    sub = template["Resources"]["EvaluatorFunction"]["Properties"]["Environment"]["Variables"]["TRACE_API_URL"]
    values = {"TraceApi": "a1b2c3", "AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com"}
    url = re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], sub["Fn::Sub"])
    stage = template["Resources"]["TraceApi"]["Properties"]["StageName"]
    (route,) = [
        event["Properties"]["Path"]
        for function in functions(template).values()
        for event in (function["Properties"].get("Events") or {}).values()
        if event.get("Type") == "Api" and event["Properties"].get("RestApiId", {}).get("Ref") == "TraceApi"
    ]
    (link,) = exemplar_links(["0b6c0000-0000-4000-8000-000000000000"], url)
    expected = f"https://a1b2c3.execute-api.eu-west-1.amazonaws.com/{stage}" + route.replace(
        "{correlationId}", "0b6c0000-0000-4000-8000-000000000000"
    )
    assert link["trace_url"] == expected
    assert "/traces/traces/" not in link["trace_url"]


def test_the_template_saves_one_logs_insights_query_per_slo_plus_trace_and_errors_as_generated(
    template: dict[str, Any]
) -> None:
    from processors.insights import queries

    spec = load_spec(ROOT / "processors" / "slos.yaml")
    saved = resources(template, "AWS::Logs::QueryDefinition")
    generated = queries(spec)
    assert len(generated) == len(spec.slos) + 2
    assert set(saved) == {query.resource for query in generated}
    for query in generated:
        properties = saved[query.resource]["Properties"]
        assert properties["QueryString"].rstrip("\n") == query.text
        assert "LogGroupNames" in properties  # the stack's parameter, or chosen in the console when empty


def test_the_evaluator_reads_only_the_two_route_secrets_and_only_when_they_are_given(template: dict[str, Any]) -> None:
    secret_statements = [
        (name, statement)
        for name, statement in policy_statements(template)
        if any(action.startswith("secretsmanager:") for action in actions_of(statement))
    ]
    assert sorted((name, statement["Resource"]["Ref"]) for name, statement in secret_statements) == [
        ("EvaluatorFunction", "PagerDutySecretArn"),
        ("EvaluatorFunction", "SlackSecretArn"),
    ]
    assert all(actions_of(statement) == ["secretsmanager:GetSecretValue"] for _, statement in secret_statements)
    conditions = template["Conditions"]
    assert conditions["HasPagerDutySecret"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "PagerDutySecretArn"}, ""]}]}
    variables = template["Resources"]["EvaluatorFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PAGERDUTY_SECRET_ARN"] == {"Ref": "PagerDutySecretArn"}
    assert variables["SLACK_SECRET_ARN"] == {"Ref": "SlackSecretArn"}
    alarm = template["Resources"]["NotificationFailuresAlarm"]["Properties"]
    assert alarm["MetricName"] == "NotificationFailures" and alarm["Threshold"] == 1
    alarm = template["Resources"]["DamagedItemsAlarm"]["Properties"]
    assert alarm["MetricName"] == evaluator.METRIC_DAMAGED_ITEMS and alarm["Threshold"] == 1
