"""Correlation helpers for the platform's services: schema-v1 logging and correlation-ID propagation.

Separate from `processors` so services install only Powertools (boto3 is needed for types only).
"""

from __future__ import annotations

from correlation.exceptions import (
    CorrelationError,
    InvalidCorrelationIdError,
    InvalidMetadataError,
    InvalidPairError,
    UnknownActionError,
)
from correlation.formatter import SchemaV1Formatter
from correlation.ids import (
    bound,
    get_correlation_id,
    is_correlation_id,
    new_correlation_id,
    parse_correlation_id,
    set_correlation_id,
)
from correlation.logs import logger, milestone, span
from correlation.propagation import (
    InboundCorrelation,
    ecs_overrides,
    from_api_gateway,
    from_env,
    from_sqs_record,
    sqs_attributes,
)
from correlation.types import ErrorInfo, LogLine, SqsStringAttribute
from correlation.vocabulary import DEFAULT_ACTION, ENV_VAR, HEADER, SQS_ATTRIBUTE, VOCABULARY

__all__ = [
    "DEFAULT_ACTION",
    "ENV_VAR",
    "HEADER",
    "SQS_ATTRIBUTE",
    "VOCABULARY",
    "CorrelationError",
    "ErrorInfo",
    "InboundCorrelation",
    "InvalidCorrelationIdError",
    "InvalidMetadataError",
    "InvalidPairError",
    "LogLine",
    "SchemaV1Formatter",
    "SqsStringAttribute",
    "UnknownActionError",
    "bound",
    "ecs_overrides",
    "from_api_gateway",
    "from_env",
    "from_sqs_record",
    "get_correlation_id",
    "is_correlation_id",
    "logger",
    "milestone",
    "new_correlation_id",
    "parse_correlation_id",
    "set_correlation_id",
    "span",
    "sqs_attributes",
]
