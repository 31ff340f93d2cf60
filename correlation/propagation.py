"""Carrying the correlation ID across hops: API Gateway in, SQS messages, ECS RunTask, task environment."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from correlation.exceptions import InvalidCorrelationIdError
from correlation.ids import new_correlation_id, parse_correlation_id
from correlation.types import SqsStringAttribute
from correlation.vocabulary import ENV_VAR, HEADER, SQS_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_ecs.type_defs import TaskOverrideTypeDef


@dataclass(frozen=True)
class InboundCorrelation:
    """The ID a request carries (or a minted one), and what to echo back.

    `received` is the raw header value when one was present but not a UUID, so the caller can log it.
    """

    correlation_id: str
    minted: bool
    received: str | None = None

    @property
    def response_headers(self) -> dict[str, str]:
        """A fresh {"X-Correlation-ID": id} to merge into the proxy response's headers."""
        return {HEADER: self.correlation_id}


def _raw(event: Any) -> Mapping[str, Any]:
    # Powertools data classes (APIGatewayProxyEvent, SQSRecord, ...) keep the dict in raw_event.
    raw = getattr(event, "raw_event", event)
    return raw if isinstance(raw, Mapping) else {}


def _header_values(event: Mapping[str, Any]) -> Iterator[str]:
    wanted = HEADER.lower()
    headers = event.get("headers") or {}
    for key, value in headers.items() if isinstance(headers, Mapping) else ():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            yield from value.split(",")  # HTTP API v2 joins repeated headers with commas
    multi = event.get("multiValueHeaders") or {}
    for key, values in multi.items() if isinstance(multi, Mapping) else ():
        if isinstance(key, str) and key.lower() == wanted and isinstance(values, list):
            for value in values:
                if isinstance(value, str):
                    yield from value.split(",")


def from_api_gateway(event: Any) -> InboundCorrelation:
    """The X-Correlation-ID of a REST (v1) or HTTP API (v2) proxy event, matched case-insensitively.

    The first value that is a canonical UUID wins; with none, a UUID v4 is minted (minted=True).
    Accepts the raw event dict or a Powertools APIGatewayProxyEvent / APIGatewayProxyEventV2.
    """
    raw = _raw(event)
    received = None
    for value in _header_values(raw):
        parsed = parse_correlation_id(value)
        if parsed is not None:
            return InboundCorrelation(parsed, minted=False)
        received = received if received is not None else value.strip()
    return InboundCorrelation(new_correlation_id(), minted=True, received=received)


def _checked(correlation_id: str) -> str:
    parsed = parse_correlation_id(correlation_id)
    if parsed is None:
        raise InvalidCorrelationIdError(f"not a correlation ID (canonical UUID expected): {correlation_id!r}")
    return parsed


def sqs_attributes(correlation_id: str) -> dict[str, SqsStringAttribute]:
    """SQS send_message MessageAttributes: {"CorrelationId": {"DataType": "String", "StringValue": id}}."""
    return {SQS_ATTRIBUTE: {"DataType": "String", "StringValue": _checked(correlation_id)}}


def from_sqs_record(record: Any) -> str | None:
    """The CorrelationId attribute of an SQS message, or None when it is missing or not a UUID.

    Reads a Lambda SQS event record (raw dict or Powertools SQSRecord: messageAttributes.CorrelationId
    .stringValue) and also a boto3 receive_message message (MessageAttributes.CorrelationId.StringValue).
    """
    raw = _raw(record)
    attributes = raw.get("messageAttributes") or raw.get("MessageAttributes") or {}
    attribute = attributes.get(SQS_ATTRIBUTE) if isinstance(attributes, Mapping) else None
    if not isinstance(attribute, Mapping):
        return None
    return parse_correlation_id(attribute.get("stringValue", attribute.get("StringValue")))


def ecs_overrides(
    correlation_id: str, container: str, overrides: Mapping[str, Any] | None = None
) -> TaskOverrideTypeDef:
    """RunTask `overrides` with CORRELATION_ID in `container`'s environment.

    Merges into a copy of `overrides` (the argument is not changed): an existing entry for the container
    keeps its other settings and variables, and any earlier CORRELATION_ID is replaced, never duplicated.
    """
    result: dict[str, Any] = copy.deepcopy(dict(overrides or {}))
    entries: list[dict[str, Any]] = result.setdefault("containerOverrides", [])
    entry = next((e for e in entries if e.get("name") == container), None)
    if entry is None:
        entry = {"name": container}
        entries.append(entry)
    environment = [variable for variable in entry.get("environment", []) if variable.get("name") != ENV_VAR]
    environment.append({"name": ENV_VAR, "value": _checked(correlation_id)})
    entry["environment"] = environment
    return cast("TaskOverrideTypeDef", result)


def from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """CORRELATION_ID from the environment (runner and other ECS tasks); None when unset or empty.

    A value that is set but not a UUID raises InvalidCorrelationIdError: propagation is broken upstream.
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    if not value.strip():
        return None
    parsed = parse_correlation_id(value)
    if parsed is None:
        raise InvalidCorrelationIdError(f"{ENV_VAR} is not a UUID: {value!r}")
    return parsed
