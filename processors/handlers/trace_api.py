"""API Gateway (REST, IAM auth) → `GET /traces/{correlationId}`: one store read, the same JSON as `slo trace --json`.

400 for a malformed ID (never read from the store), 404 for an unknown one, 500 for one whose stored head does not
decode (retrying cannot help: docs/store.md, Damaged trace heads), 503 when the store is unavailable.
The store is created once per container from SLO_TABLE_NAME; tests swap `store_factory`.

API Gateway routes only this resource here, so the handler reads its one path parameter from Powertools' event
data class rather than through Powertools' resolver: `aws_lambda_powertools.event_handler` loads every resolver
(AppSync, GraphQL, OpenAPI, with asyncio and ssl) and was a third of this handler's cold-start import (README,
Cold start). The response is the proxy integration's, as the resolver wrote it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from processors import conventions
from processors.handlers.tracing import LazyTracer
from processors.spec import Journey, default_spec_path, load_spec
from processors.store import Store, StoreError
from processors.store.exceptions import CorruptItemError
from processors.tracing import MalformedCorrelationIdError, check_correlation_id, not_found_view, trace_view

logger = Logger()
tracer = LazyTracer()  # no aws_xray_sdk at import (processors/handlers/tracing.py)
PATH_PARAMETER = "correlationId"  # sam/template.yaml: GET /traces/{correlationId}


def default_store() -> Store:
    from processors.store import open_dynamodb_store

    table = os.environ[conventions.ENV_TABLE_NAME]
    return open_dynamodb_store(table, endpoint_url=os.environ.get(conventions.ENV_ENDPOINT_URL))


#: Makes the store on first use; replace it to inject another (tests: a SqliteStore or a moto-backed one).
store_factory: Callable[[], Store] = default_store
_cached: tuple[Callable[[], Store], Store] | None = None


def get_store() -> Store:
    """The container's store, made once per factory: swapping `store_factory` swaps the store."""
    global _cached
    if _cached is None or _cached[0] is not store_factory:
        _cached = (store_factory, store_factory())
    return _cached[1]


_journey: tuple[str, Journey | None] | None = None


def get_journey() -> Journey | None:
    """The spec's journey (SLO_SPEC_PATH or the packaged spec), loaded once per container."""
    global _journey
    path = default_spec_path()
    if _journey is None or _journey[0] != path:
        _journey = (path, load_spec(path).journey)
    return _journey[1]


def _json(status: int, body: Any) -> dict[str, Any]:
    """A REST proxy integration's response, as Powertools' resolver wrote it."""
    return {"statusCode": status, "multiValueHeaders": {"Content-Type": ["application/json"]},
            "body": json.dumps(body), "isBase64Encoded": False}


@tracer.capture_method
def get_trace(correlation_id: str, caller: str | None) -> dict[str, Any]:
    try:
        correlation_id = check_correlation_id(correlation_id)
    except MalformedCorrelationIdError as exc:
        logger.info("malformed correlation ID refused", extra={"caller": caller, "id_length": len(correlation_id)})
        return _json(400, {"statusCode": 400, "message": str(exc)})
    logger.set_correlation_id(correlation_id)
    tracer.put_annotation(key="correlation_id", value=correlation_id)
    try:
        head = get_store().trace(correlation_id)
    except CorruptItemError:  # the item is damaged, not the store: a retry reads the same bytes
        logger.error("stored trace head does not decode", extra={"caller": caller})  # never the stored bytes
        message = f"the stored trace {correlation_id} does not decode; retrying will not help"
        return _json(500, {"correlationId": correlation_id, "statusCode": 500, "message": message})
    except StoreError:
        logger.exception("store read failed")
        return _json(503, {"statusCode": 503, "message": "trace store unavailable, retry later"})
    if head is None:
        logger.info("trace not found", extra={"caller": caller})
        return _json(404, {**not_found_view(correlation_id), "statusCode": 404, "message": "trace not found"})
    document = trace_view(head, get_journey())
    logger.info(
        "trace served",
        extra={"caller": caller, "spans": len(document["spans"]), "errors": len(document["errors"])},
    )
    return _json(200, document)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request = APIGatewayProxyEvent(event)
    correlation_id = (request.path_parameters or {}).get(PATH_PARAMETER)
    if request.http_method != "GET" or not isinstance(correlation_id, str):  # not the route API Gateway sends here
        return _json(404, {"statusCode": 404, "message": "Not found"})
    return get_trace(correlation_id, request.request_context.identity.user_arn)
