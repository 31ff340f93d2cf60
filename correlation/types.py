"""Wire shapes: the schema-v1 log line and the small dicts the helpers hand to boto3 and to callers."""

from __future__ import annotations

from typing import Any, TypedDict


class ErrorInfo(TypedDict, total=False):
    type: str
    message: str
    stack: str  # only for logger.exception(); span() logs type and message


class LogLine(TypedDict):
    """One line of schema v1 (schema/log-v1.schema.json); no other top-level keys are allowed."""

    timestamp: str
    level: str
    correlationId: str
    service: str
    message: str
    metadata: dict[str, Any]


class SqsStringAttribute(TypedDict):
    """One `MessageAttributes` entry for SQS `send_message` (boto3 spelling, capitalised)."""

    DataType: str
    StringValue: str
