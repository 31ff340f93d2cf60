"""Correlation IDs across hops: API Gateway headers, SQS attributes, RunTask overrides, the environment."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
    SQSRecord,
)

import correlation
from correlation import (
    InvalidCorrelationIdError,
    bound,
    ecs_overrides,
    from_api_gateway,
    from_env,
    from_sqs_record,
    get_correlation_id,
    set_correlation_id,
    sqs_attributes,
)
from tests import runner_platform as conventions

CID = "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
OTHER = "0b9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c"


@pytest.fixture(autouse=True)
def no_current_id() -> Iterator[None]:
    with bound(None):
        yield


def rest_event(headers: dict[str, str] | None, multi: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "resource": "/trace/{id}",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": multi,
        "requestContext": {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "stage": "prod"},
        "body": None,
    }


def http_event(headers: dict[str, str] | None) -> dict[str, Any]:
    event: dict[str, Any] = {"version": "2.0", "routeKey": "GET /trace", "rawPath": "/trace"}
    if headers is not None:
        event["headers"] = headers
    event["requestContext"] = {"requestId": "JKJaXmPLvHcESHA=", "http": {"method": "GET"}}
    return event


KEPT = [
    ("a REST header spelled as documented is kept", rest_event({"X-Correlation-ID": CID})),
    ("a REST header in lower case is kept", rest_event({"x-correlation-id": CID})),
    ("a REST header in upper case is kept", rest_event({"X-CORRELATION-ID": CID})),
    ("a REST event with only multiValueHeaders is read", rest_event(None, {"X-Correlation-Id": [CID]})),
    (
        "a REST multi-value header takes the first valid value",
        rest_event(None, {"x-correlation-id": ["junk", CID, OTHER]}),
    ),
    ("an HTTP API header (lowercased by API Gateway) is kept", http_event({"x-correlation-id": CID})),
    (
        "an HTTP API repeated header, comma-joined, yields its valid value",
        http_event({"x-correlation-id": f"x,{CID}"}),
    ),
    ("whitespace around the value is trimmed", http_event({"x-correlation-id": f"  {CID} "})),
    ("a Powertools REST data class is read", APIGatewayProxyEvent(rest_event({"X-Correlation-ID": CID}))),
    (
        "a Powertools HTTP API data class is read",
        APIGatewayProxyEventV2(http_event({"x-correlation-id": CID})),
    ),
]


@pytest.mark.parametrize(("case", "event"), KEPT, ids=[case for case, _ in KEPT])
def test_an_inbound_correlation_id_is_kept_and_echoed(case: str, event: Any) -> None:
    inbound = from_api_gateway(event)
    assert (inbound.correlation_id, inbound.minted, inbound.received) == (CID, False, None)
    assert inbound.response_headers == {"X-Correlation-ID": CID}


def test_the_case_of_a_valid_id_is_kept_so_the_echo_matches_the_request() -> None:
    upper = CID.upper()
    assert from_api_gateway(rest_event({"X-Correlation-ID": upper})).correlation_id == upper


MINTED = [
    ("a REST event without the header mints", rest_event({"Accept": "*/*"}), None),
    ("a REST event with null headers mints", rest_event(None, None), None),
    ("an HTTP API event without headers mints", http_event(None), None),
    (
        "a value that is not a UUID mints and reports what was received",
        rest_event({"X-Correlation-ID": "abc"}),
        "abc",
    ),
    (
        "a braced UUID is not canonical and mints",
        http_event({"x-correlation-id": "{" + CID + "}"}),
        "{" + CID + "}",
    ),
    (
        "a UUID without hyphens is not canonical and mints",
        http_event({"x-correlation-id": CID.replace("-", "")}),
        CID.replace("-", ""),
    ),
    ("another header with a UUID is not read", rest_event({"X-Request-ID": CID}), None),
]


@pytest.mark.parametrize(("case", "event", "received"), MINTED, ids=[case for case, _, _ in MINTED])
def test_a_missing_or_invalid_header_mints_a_uuid4(
    case: str, event: dict[str, Any], received: str | None
) -> None:
    inbound = from_api_gateway(event)
    assert inbound.minted and inbound.received == received
    assert uuid.UUID(inbound.correlation_id).version == 4
    assert inbound.response_headers == {"X-Correlation-ID": inbound.correlation_id}


def test_the_inbound_result_is_frozen_and_its_headers_are_a_fresh_dict() -> None:
    inbound = from_api_gateway(rest_event({"X-Correlation-ID": CID}))
    with pytest.raises(AttributeError):
        inbound.correlation_id = OTHER  # type: ignore[misc]
    inbound.response_headers["X-Other"] = "1"
    assert inbound.response_headers == {"X-Correlation-ID": CID}


def lambda_sqs_record(message_attributes: dict[str, Any]) -> dict[str, Any]:
    """The record shape Lambda delivers: boto3's DataType/StringValue arrive as dataType/stringValue."""
    converted = {
        name: {key[0].lower() + key[1:]: value for key, value in attribute.items()}
        for name, attribute in message_attributes.items()
    }
    return {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": converted,
        "eventSource": "aws:sqs",
    }


def test_an_id_survives_the_sqs_round_trip_in_every_record_shape() -> None:
    attributes = sqs_attributes(CID)
    assert attributes == {"CorrelationId": {"DataType": "String", "StringValue": CID}}
    record = lambda_sqs_record(attributes)
    assert from_sqs_record(record) == CID
    assert from_sqs_record(SQSRecord(record)) == CID
    assert (
        from_sqs_record({"MessageId": "m", "MessageAttributes": attributes}) == CID
    )  # boto3 receive_message


NO_ID_RECORDS = [
    ("a record without message attributes", {"messageId": "m", "messageAttributes": {}}),
    (
        "a record with other attributes only",
        lambda_sqs_record({"Tenant": {"DataType": "String", "StringValue": "a"}}),
    ),
    (
        "a record whose attribute is not a UUID",
        lambda_sqs_record({"CorrelationId": {"DataType": "String", "StringValue": "x"}}),
    ),
    ("a record whose attributes are not an object", {"messageId": "m", "messageAttributes": "oops"}),
]


@pytest.mark.parametrize(("case", "record"), NO_ID_RECORDS, ids=[case for case, _ in NO_ID_RECORDS])
def test_an_sqs_record_without_a_valid_id_reads_as_none(case: str, record: dict[str, Any]) -> None:
    assert from_sqs_record(record) is None


def test_sqs_attributes_refuse_an_invalid_id() -> None:
    with pytest.raises(InvalidCorrelationIdError, match="canonical UUID"):
        sqs_attributes("not-a-uuid")


def env_of(overrides: dict[str, Any], container: str) -> list[dict[str, str]]:
    entry = next(e for e in overrides["containerOverrides"] if e["name"] == container)
    return list(entry["environment"])


ECS_CASES: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = [
    (
        "no overrides yields one container override with the variable",
        None,
        {
            "containerOverrides": [
                {"name": "runner", "environment": [{"name": "CORRELATION_ID", "value": CID}]}
            ]
        },
    ),
    (
        "another container and task settings are kept, the runner entry is appended",
        {
            "cpu": "1024",
            "containerOverrides": [{"name": "sidecar", "environment": [{"name": "A", "value": "1"}]}],
        },
        {
            "cpu": "1024",
            "containerOverrides": [
                {"name": "sidecar", "environment": [{"name": "A", "value": "1"}]},
                {"name": "runner", "environment": [{"name": "CORRELATION_ID", "value": CID}]},
            ],
        },
    ),
    (
        "an existing runner entry keeps its variables and command, and an old ID is replaced",
        {
            "containerOverrides": [
                {
                    "name": "runner",
                    "command": ["run.sh"],
                    "environment": [
                        {"name": "CORRELATION_ID", "value": OTHER},
                        {"name": "REPO", "value": "org/repo"},
                        {"name": "CORRELATION_ID", "value": OTHER},
                    ],
                }
            ]
        },
        {
            "containerOverrides": [
                {
                    "name": "runner",
                    "command": ["run.sh"],
                    "environment": [
                        {"name": "REPO", "value": "org/repo"},
                        {"name": "CORRELATION_ID", "value": CID},
                    ],
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(("case", "given", "expected"), ECS_CASES, ids=[case for case, _, _ in ECS_CASES])
def test_ecs_overrides_merge_without_duplicating_the_variable(
    case: str, given: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    before = copy.deepcopy(given)
    result = ecs_overrides(CID, "runner", given)
    assert result == expected
    assert given == before  # the caller's dict is not changed
    assert ecs_overrides(CID, "runner", dict(result)) == result  # applying twice is applying once
    assert [v["name"] for v in env_of(dict(result), "runner")].count("CORRELATION_ID") == 1


def test_ecs_overrides_refuse_an_invalid_id() -> None:
    with pytest.raises(InvalidCorrelationIdError):
        ecs_overrides("123", "runner")


ENV_CASES = [
    ("an unset variable reads as None", {}, None),
    ("an empty variable reads as None", {"CORRELATION_ID": ""}, None),
    ("a valid ID is returned", {"CORRELATION_ID": CID}, CID),
    ("surrounding whitespace is trimmed", {"CORRELATION_ID": f" {CID}\n"}, CID),
]


@pytest.mark.parametrize(("case", "environ", "expected"), ENV_CASES, ids=[case for case, _, _ in ENV_CASES])
def test_from_env_reads_correlation_id(case: str, environ: dict[str, str], expected: str | None) -> None:
    assert from_env(environ) == expected


def test_from_env_rejects_a_value_that_is_not_a_uuid() -> None:
    with pytest.raises(InvalidCorrelationIdError, match="CORRELATION_ID is not a UUID: 'job-42'"):
        from_env({"CORRELATION_ID": "job-42"})


def test_from_env_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRELATION_ID", CID)
    assert from_env() == CID


def test_bound_sets_the_id_for_the_block_and_restores_it_even_on_error() -> None:
    set_correlation_id(CID)
    with bound(OTHER) as inner:
        assert inner == OTHER == get_correlation_id()
    assert get_correlation_id() == CID
    with pytest.raises(RuntimeError), bound(OTHER):
        raise RuntimeError("record failed")
    assert get_correlation_id() == CID


def test_setting_an_invalid_id_fails_and_keeps_the_current_one() -> None:
    set_correlation_id(CID)
    for bad in ("", "abc", CID + "0"):
        with pytest.raises(InvalidCorrelationIdError):
            set_correlation_id(bad)
        with pytest.raises(InvalidCorrelationIdError), bound(bad):
            pass
    assert get_correlation_id() == CID


def test_the_vocabulary_copy_equals_the_shipped_spec_vocabulary() -> None:
    from importlib import resources

    from processors.spec import load_spec

    spec = load_spec(str(resources.files("processors").joinpath("slos.yaml")))
    assert set(correlation.VOCABULARY) == set(spec.vocabulary) == set(conventions.VOCABULARY)


def test_the_package_exports_exactly_its_public_names() -> None:
    assert [name for name in correlation.__all__ if not hasattr(correlation, name)] == []
    assert {
        "from_api_gateway",
        "logger",
        "milestone",
        "span",
        "sqs_attributes",
        "from_sqs_record",
        "bound",
        "ecs_overrides",
        "from_env",
        "set_correlation_id",
    } <= set(correlation.__all__)
