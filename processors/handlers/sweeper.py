"""EventBridge schedule (every 5 minutes) → orphan sweeper: runners past max_runtime count as bad, once.

Each swept trace head is written under its version with the orphan-rate counter in one commit, so a
retried or overlapping sweep finds the claim already made and counts nothing twice.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from processors import conventions
from processors.handlers.schedule import scheduled_minute
from processors.handlers.tracing import LazyTracer
from processors.sweeping import Sweeper
from processors.timeutil import iso_seconds

METRIC_ORPHANS_SWEPT = "OrphansSwept"

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", conventions.METRICS_NAMESPACE_DEFAULT))
tracer = LazyTracer()  # no aws_xray_sdk at import (processors/handlers/tracing.py)


@cache
def _sweeper() -> Sweeper:
    """Built once per container from the environment; tests monkeypatch this function."""
    from processors.spec import load_spec
    from processors.store import open_dynamodb_store

    spec = load_spec(os.environ.get(conventions.ENV_SPEC_PATH) or None)
    store = open_dynamodb_store(
        os.environ[conventions.ENV_TABLE_NAME],
        endpoint_url=os.environ.get(conventions.ENV_ENDPOINT_URL),
        trace_ttl_days=spec.trace_ttl_days,
    )
    return Sweeper(store, spec)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = scheduled_minute(event, time.time())
    sweeper = _sweeper()
    swept = sweeper.sweep(now)
    metrics.add_metric(name=METRIC_ORPHANS_SWEPT, unit=MetricUnit.Count, value=swept)
    logger.info("orphan sweep", extra={"at": iso_seconds(now), "swept": swept, "damaged": len(sweeper.damaged)})
    return {"at": iso_seconds(now), "swept": swept, "damaged": len(sweeper.damaged)}
