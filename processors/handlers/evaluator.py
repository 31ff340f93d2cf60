"""EventBridge schedule (every minute) → evaluator Lambda: evaluate every SLO, alert, emit SLO metrics.

`now` is the scheduled event's time floored to the minute, so a retried invocation evaluates the same
minute and the store's deduplication makes it send nothing twice (processors/alerting/service.py). A route that
fails is logged and counted (NotificationFailures), not raised: its notifications stay in the outbox. An item that
does not decode (a console edit) leaves out only the SLOs, groups, partials, silences or operator minute it touches
(docs/store.md); the rest are evaluated and paged, and what was left out is logged and counted (DamagedItems), not
raised, as a failed route is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics

from processors import conventions
from processors.alerting import NotificationsFailedError, Notifier, record_evaluation
from processors.evaluating import (
    AlertStore,
    MetricPoint,
    SliView,
    Unevaluated,
    evaluation_points,
    group_by_dimensions,
)
from processors.evaluating.service import evaluate_at
from processors.handlers.schedule import scheduled_minute
from processors.handlers.tracing import LazyTracer
from processors.metrics import emit_points, metrics_timestamp_ms, operator_metric_points
from processors.spec.model import Spec
from processors.store.exceptions import CorruptItemError
from processors.store.types import RollupReport
from processors.timeutil import iso_seconds

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", conventions.METRICS_NAMESPACE_DEFAULT)
METRIC_NOTIFICATION_FAILURES = "NotificationFailures"
METRIC_DAMAGED_ITEMS = conventions.METRIC_DAMAGED_ITEMS
DAMAGE_LOGGED = 20  # what a damaged minute's ERROR line names at most; the metric counts all of it
DIMENSION_ROUTE = "Route"
# No delivery starts later than this before the Lambda's timeout: one route's three attempts (5 s timeouts and
# 1.5 s of back-off) and the outbox's save fit in it. What did not start is sent next minute.
DELIVERY_MARGIN_SECONDS = 20.0

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)
tracer = LazyTracer()  # no aws_xray_sdk at import (processors/handlers/tracing.py)


def _aws_call_config() -> Any:
    """SNS and Secrets Manager calls bounded like the HTTP routes (botocore's defaults are 60 s to connect and 60 s
    to read, 5 attempts: one hung call would outlast the 55 s the evaluator has)."""
    from botocore.config import Config

    return Config(connect_timeout=2, read_timeout=4, retries={"mode": "standard", "max_attempts": 3})


class EvaluatorStore(AlertStore, Protocol):
    """Alert state and log, plus the single-writer rollup the evaluator runs before it reads."""

    def rollup(self, now: float, report: RollupReport | None = None) -> RollupReport: ...


@dataclass(frozen=True)
class Dependencies:
    store: EvaluatorStore
    spec: Spec
    notifier: Notifier
    open_view: Callable[[], SliView]  # a fresh view per invocation: its reads are memoised


@cache
def _dependencies() -> Dependencies:
    """Built once per container from the environment; tests monkeypatch this function with fakes."""
    import boto3

    from processors.spec import load_spec
    from processors.store import open_dynamodb_store
    from processors.store.view import StoreView

    store = open_dynamodb_store(
        os.environ[conventions.ENV_TABLE_NAME], endpoint_url=os.environ.get(conventions.ENV_ENDPOINT_URL)
    )
    spec = load_spec(os.environ.get(conventions.ENV_SPEC_PATH) or None)
    config = _aws_call_config()
    notifier = routed_notifier(spec, boto3.client("sns", config=config),
                               boto3.client("secretsmanager", config=config))
    return Dependencies(store, spec, notifier, lambda: StoreView(store))


def routed_notifier(spec: Spec, sns_client: Any, secrets_client: Any) -> Notifier:
    """The spec's routes per severity; PagerDuty and Slack read their secret once per container (SecretCache)."""
    from processors.alerting import SnsNotifier
    from processors.alerting.notify import ENV_TRACE_API_URL
    from processors.alerting.routes import (
        ENV_PAGERDUTY_SECRET,
        ENV_PAGERDUTY_URL,
        ENV_SLACK_SECRET,
        PAGERDUTY_EVENTS_URL,
        PagerDutySender,
        RoutedNotifier,
        SecretCache,
        Sender,
        SlackSender,
        SnsSender,
    )

    secrets = SecretCache(secrets_client)
    trace_api_url = os.environ.get(ENV_TRACE_API_URL) or None
    senders: dict[str, Sender] = {
        "sns": SnsSender(SnsNotifier.from_environment(sns_client)),
        "pagerduty": PagerDutySender(
            secrets,
            os.environ.get(ENV_PAGERDUTY_SECRET) or None,
            os.environ.get(ENV_PAGERDUTY_URL) or PAGERDUTY_EVENTS_URL,
            trace_api_url,
        ),
        "slack": SlackSender(secrets, os.environ.get(ENV_SLACK_SECRET) or None, trace_api_url),
    }
    return RoutedNotifier(spec.routes, senders)


def emit_metrics(points: list[MetricPoint]) -> None:
    """Points without dimensions go to the handler's Metrics; each dimension set is its own EMF document."""
    for dimensions, group in group_by_dimensions(points):
        target: Any = metrics if not dimensions else EphemeralMetrics(namespace=NAMESPACE)
        for point in group:
            target.add_metric(name=point.name, unit=point.unit, value=point.value)
        if dimensions:
            for name, value in dimensions:
                target.add_dimension(name=name, value=value)
            target.flush_metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = scheduled_minute(event, time.time())
    deps = _dependencies()
    started = time.perf_counter()
    damaged: list[str] = []
    rollup = RollupReport()  # filled as the rollup goes: what it folded and named before an error is kept
    try:
        rollup = deps.store.rollup(now, rollup)  # the single writer of rolled items: fold shards' partials, then read
    except CorruptItemError as exc:  # reads see rolled + pending items alike: the rollup only saves their cost
        rollup.skipped = str(exc)
        damaged.append(f"rollup: {exc}")
    except BaseException:
        # what it named before the error: pieces of folded partials, lost for good (named now or never), and
        # damaged rolled items, whose partials stay pending whole
        if rollup.damaged:
            named = [f"rollup: {why}" for why in rollup.damaged]
            metrics.add_metric(name=METRIC_DAMAGED_ITEMS, unit="Count", value=len(named))
            logger.error("the rollup failed after naming damaged items: a piece named lost is lost for good, the "
                         "partials a damaged rolled item touches stay pending",
                         extra={"damaged": named[:DAMAGE_LOGGED], "count": len(named)})
        raise
    damaged += [f"rollup: {why}" for why in rollup.damaged]
    view = deps.open_view()
    evaluated = evaluate_at(view, deps.spec, now, isolate=(CorruptItemError,))
    damaged += [str(left_out) for left_out in evaluated.unevaluated]
    evaluation = evaluated.evaluation
    failed: NotificationsFailedError | None = None
    route_failures: dict[str, int] | None = getattr(deps.notifier, "failures", None)
    if route_failures is not None:
        route_failures.clear()  # counts of this invocation only
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    deadline = time.monotonic() + remaining_ms() / 1000 - DELIVERY_MARGIN_SECONDS if remaining_ms else None
    state_damage: list[Unevaluated] = []
    try:
        transitions: list[Any] = list(
            record_evaluation(deps.store, view, evaluation, deps.notifier, deadline=deadline, left_out=state_damage)
        )
    except NotificationsFailedError as exc:
        failed, transitions = exc, list(exc.recorded)
    damaged += [str(left_out) for left_out in state_damage]
    duration_ms = (time.perf_counter() - started) * 1000
    points = evaluation_points(evaluation, duration_ms)
    points.append(MetricPoint(METRIC_NOTIFICATION_FAILURES, len(failed.failures) if failed else 0, "Count"))
    points.append(MetricPoint(METRIC_DAMAGED_ITEMS, len(damaged), "Count"))
    for route, count in sorted((route_failures or {}).items()):  # which route failed (after its retries)
        points.append(MetricPoint(METRIC_NOTIFICATION_FAILURES, count, "Count", ((DIMENSION_ROUTE, route),)))
    emit_metrics(points)
    if evaluated.minute is not None:  # None when a damaged item was in its reads
        operator = operator_metric_points(evaluated.minute, deps.spec, evaluated.alert_log)
        emit_points(operator, NAMESPACE, metrics_timestamp_ms(now))
    summary = [
        {k: t.get(k) for k in ("slo", "kind", "severity", "tier", "state") if t.get(k) is not None}
        for t in transitions
    ]
    logger.info(
        "evaluated",
        extra={
            "at": iso_seconds(now),
            "transitions": summary,
            "ms": round(duration_ms, 1),
            "rollup": {"folded": rollup.folded, "pending": rollup.pending, "skipped": rollup.skipped},
        },
    )
    result: dict[str, Any] = {"at": iso_seconds(now), "slos": len(evaluation.slos), "transitions": summary}
    if failed is not None:
        # One line, no traceback: the undelivered notifications are saved in the outbox and the next evaluation
        # sends them (processors/alerting/service.py). Raising would only add Lambda's retries of this minute and
        # a traceback every minute for as long as a route or its secret is broken.
        logger.error("notifications failed; they stay in the outbox and are re-sent next minute",
                     extra={"failures": [list(f) for f in failed.failures]})
        result["failed"] = len(failed.failures)
    if damaged:
        # One line, no raise: the SLOs it did not touch are evaluated and paged; a retry would read the same item.
        # The DamagedItems alarm tickets; docs/store.md (Damaged items) says how to find and mend the item. A
        # pending partial's lost piece leaves nothing out: its SLO is evaluated without it (the line says so).
        logger.error("damaged items in the store: what they touch is left out (an SLO or group this minute, "
                     "a pending partial's piece for good); the rest is evaluated",
                     extra={"damaged": damaged[:DAMAGE_LOGGED], "count": len(damaged)})
        result["damaged"] = len(damaged)
    return result
