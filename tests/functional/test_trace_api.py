"""GET /traces/{correlationId} through the real handler with API Gateway sample events, on both store adapters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from processors.handlers import trace_api
from processors.store import StoreUnavailableError
from processors.tracing import trace_view
from tests.builders import SPEC_JOURNEY, T0, load_event
from tests.functional.test_trace_cli import SECRET, ingest, journey
from tests.stored_items import overwrite_doc

SAMPLE_ID = "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01"  # the ID in events/apigw-get-trace.json
CALLER = "arn:aws:sts::123456789012:assumed-role/OnCall/oncall"


@dataclass
class LambdaContext:
    function_name: str = "slo-trace-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:slo-trace-api"
    aws_request_id: str = "1f1e2d3c-0000-4000-8000-000000000001"


def call(name: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    response = trace_api.lambda_handler(load_event(name), LambdaContext())
    return response["statusCode"], json.loads(response["body"]), response


@pytest.fixture
def served(store, spec, monkeypatch):  # type: ignore[no-untyped-def]
    """The handler reading `store` (SQLite or DynamoDB over moto), holding the sample event's trace."""
    ingest(store, spec, journey(SAMPLE_ID, T0, failed=True))
    monkeypatch.setattr(trace_api, "store_factory", lambda: store)
    return store


def test_a_known_id_returns_200_with_the_trace_json_in_one_read(served):
    reads = served.stats.read_requests
    status, body, response = call("apigw-get-trace.json")
    assert status == 200
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert served.stats.read_requests - reads == 1
    assert body == json.loads(json.dumps(trace_view(served.trace(SAMPLE_ID), SPEC_JOURNEY)))
    assert body["found"] is True and body["breakdownMs"]["queue"] == 312
    assert trace_api.logger.get_correlation_id() == SAMPLE_ID


def test_an_unknown_id_returns_404_with_found_false(served):
    status, body, _ = call("apigw-get-trace-unknown.json")
    assert status == 404
    assert body["found"] is False and body["correlationId"] == "00000000-0000-4000-8000-00000000dead"


def test_a_malformed_id_returns_400_with_a_json_error_and_never_makes_the_store(monkeypatch):
    def factory() -> Any:
        raise AssertionError("the store was made for a malformed ID")

    monkeypatch.setattr(trace_api, "store_factory", factory)
    status, body, _ = call("apigw-get-trace-malformed.json")
    assert status == 400
    assert body["statusCode"] == 400 and "not a correlation ID" in body["message"]


def test_a_store_outage_returns_503(monkeypatch):
    class Down:
        def trace(self, correlation_id: str) -> None:
            raise StoreUnavailableError("table not found")

    monkeypatch.setattr(trace_api, "store_factory", Down)
    status, body, _ = call("apigw-get-trace.json")
    assert status == 503 and "unavailable" in body["message"]


def test_a_damaged_stored_head_returns_500_saying_it_does_not_decode_never_503_and_never_its_bytes(served):
    damage = b"\x00\xffa damaged head"
    overwrite_doc(served, SAMPLE_ID, damage)
    status, body, response = call("apigw-get-trace.json")
    assert status == 500  # not 503: the item is damaged, and a retry reads the same bytes
    assert body == {
        "correlationId": SAMPLE_ID,
        "statusCode": 500,
        "message": f"the stored trace {SAMPLE_ID} does not decode; retrying will not help",
    }
    assert "damaged head" not in response["body"]


def test_secrets_in_logged_metadata_never_reach_the_response(served):
    _, _, response = call("apigw-get-trace.json")
    assert SECRET not in response["body"]
    assert "authorization" not in response["body"].lower()


def test_the_store_is_made_once_per_container(monkeypatch, sqlite_store):
    made: list[Any] = []

    def factory() -> Any:
        made.append(1)
        return sqlite_store

    monkeypatch.setattr(trace_api, "store_factory", factory)
    for _ in range(3):
        call("apigw-get-trace-unknown.json")
    assert made == [1]


def test_the_caller_arn_is_logged_with_the_lookup(served, monkeypatch):
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(trace_api.logger, "info", lambda message, extra: logged.append((message, extra)))
    call("apigw-get-trace.json")
    assert logged == [("trace served", {"caller": CALLER, "spans": logged[0][1]["spans"], "errors": 1})]


@pytest.mark.parametrize("change", [
    {"httpMethod": "POST"},
    {"pathParameters": None},
    {"pathParameters": {"correlationId": None}},
])
def test_a_request_that_is_not_the_get_route_is_404_without_reading_the_store(monkeypatch, change):
    """A POST was 404 through Powertools' resolver too. Without the path parameter the resolver still served the
    trace from `path`; API Gateway always sends the parameter for this resource, and the handler reads only it."""
    def factory() -> Any:
        raise AssertionError("the store was made for a request off the route")

    monkeypatch.setattr(trace_api, "store_factory", factory)
    response = trace_api.lambda_handler({**load_event("apigw-get-trace.json"), **change}, LambdaContext())
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"statusCode": 404, "message": "Not found"}
