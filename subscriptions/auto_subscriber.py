"""EventBridge (CloudTrail CreateLogGroup) → subscribe the new log group to the pipeline's stream.

Configuration comes from the environment (subscriptions.filters.ENV_*), set by sam/template.yaml.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from subscriptions.filters import SubscriptionConfig, subscribe_log_group

logger = Logger()


@cache
def logs_client() -> Any:
    # adaptive retries: a burst of CreateLogGroup calls must not lose subscriptions to throttling
    return boto3.client("logs", config=Config(retries={"mode": "adaptive", "max_attempts": 10}))


@cache
def config() -> SubscriptionConfig:
    return SubscriptionConfig.from_env()


def log_group_of(event: EventBridgeEvent) -> str | None:
    parameters = event.detail.get("requestParameters") or {}
    name = parameters.get("logGroupName")
    return name if isinstance(name, str) and name else None


@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    name = log_group_of(event)
    if name is None:
        logger.warning("no requestParameters.logGroupName", extra={"detail_type": event.detail_type})
        return {"logGroup": None, "action": "ignored"}
    outcome = subscribe_log_group(logs_client(), config(), name)
    logger.info(outcome.line(), extra={"log_group": name, "subscription": outcome.action})
    return {"logGroup": name, "action": outcome.action, "detail": outcome.detail}
