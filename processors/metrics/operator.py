"""The operator metrics of one minute [now − 60 s, now): a pure function of that minute's readings.

processors.evaluating.service reads the minute (MinuteReadings): counters from the built-in minute buckets
(processors/classifying/builtin.py), the per-minute t-digests of the spec's sketches, the RunnersActive
gauge and the ingest's `_trace-coverage` counters; MTTR comes from the alert log. The evaluator Lambda
emits these points as EMF; `slo metrics` prints the same points. docs/dashboards.md says what each means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from processors import conventions
from processors.classifying.builtin import (
    CACHE_BYTES_SKETCH,
    CACHE_EVICTIONS,
    CACHE_LOOKUPS,
    QUEUE_AGE_SKETCH,
    RECONCILIATIONS,
    RUNNER_EXECUTION_SKETCH,
    RUNNER_STARTUP_SKETCH,
    RUNNERS_ACTIVE_GAUGE,
    RUNNERS_STARTED,
    TASKS_LAUNCHED,
    WORKFLOWS_COMPLETED,
)
from processors.counting import Counts
from processors.evaluating.metrics import DIMENSION_SLO, MetricPoint
from processors.evaluating.mttr import incident_durations, mttr_seconds
from processors.evaluating.service import metric_minute
from processors.evaluating.types import MinuteReadings
from processors.spec.model import Spec

if TYPE_CHECKING:  # numpy only where digests are merged, not at import (cold start)
    from processors.sketch import TDigest

RUNNERS_STARTED_METRIC: Final = "RunnersStarted"
RUNNERS_COMPLETED_METRIC: Final = "RunnersCompleted"
RUNNERS_ACTIVE_METRIC: Final = "RunnersActive"
RUNNER_STARTUP_METRIC: Final = "RunnerStartupTime"
RUNNER_EXECUTION_METRIC: Final = "RunnerExecutionTime"
CACHE_HITS_METRIC: Final = "CacheHits"
CACHE_MISSES_METRIC: Final = "CacheMisses"
CACHE_HIT_RATE_METRIC: Final = "CacheHitRate"
# The mean size of the entries looked up in the minute: the lookups' `bytes`, not the cache's total size,
# which no log line reports (it was called CacheSize until that name promised more than it measured).
CACHE_ENTRY_SIZE_METRIC: Final = "CacheEntrySize"
CACHE_EVICTIONS_METRIC: Final = "CacheEvictions"
RUNNER_UTILIZATION_METRIC: Final = "RunnerUtilization"
RECONCILIATION_SUCCESS_METRIC: Final = "ReconciliationSuccess"
ORPHANED_RUNNERS_METRIC: Final = "OrphanedRunners"
QUEUE_PROCESSING_RATE_METRIC: Final = "QueueProcessingRate"
QUEUE_AGE_METRIC: Final = "QueueAge"
RECONCILIATION_RUNS_METRIC: Final = "ReconciliationRuns"
RECONCILIATION_FAILURES_METRIC: Final = "ReconciliationFailures"
MTTR_METRIC: Final = "MTTR"
FAILED_WORKFLOW_RATE_METRIC: Final = "FailedWorkflowRate"
COST_PER_BUILD_METRIC: Final = "CostPerBuild"
TRACE_COVERAGE_METRIC: Final = conventions.METRIC_TRACE_COVERAGE

# Latency metric → the spec sketch (processors/slos.yaml `latency:`) it reads.
LATENCY_SKETCHES: Final = (
    (QUEUE_AGE_METRIC, QUEUE_AGE_SKETCH),
    (RUNNER_STARTUP_METRIC, RUNNER_STARTUP_SKETCH),
    (RUNNER_EXECUTION_METRIC, RUNNER_EXECUTION_SKETCH),
)
QUANTILES: Final = (("P50", 0.5), ("P95", 0.95), ("P99", 0.99))
# A distribution metric carries at most this many values a minute: EMF's cap on one member's array.
DISTRIBUTION_VALUES: Final = 100
MS_PER_HOUR: Final = 3_600_000


def metrics_timestamp_ms(now: float) -> int:
    """The EMF Timestamp for the metrics at `now`: the start of their minute, so CloudWatch files them there."""
    return metric_minute(now)[0] * 1000


def distribution_values(digest: TDigest, limit: int = DISTRIBUTION_VALUES) -> list[float]:
    """min(count, limit) evenly spaced quantiles of `digest`: a distribution CloudWatch's pNN stats can read.

    Up to `limit` values a minute the value count equals the event count, so CloudWatch weights minutes
    correctly when it aggregates a longer period; above it each minute is capped at `limit` values.
    """
    k = min(int(digest.count), limit)
    return [round(float(digest.quantile((i + 0.5) / k) or 0.0), 3) for i in range(k)]


def digest_mean(digest: TDigest) -> float:
    """The exact mean: each centroid's mean is the mean of its members."""
    return float((digest.means * digest.weights).sum() / digest.count)


def operator_metric_points(
    minute: MinuteReadings, spec: Spec, alert_log: Iterable[Mapping[str, Any]]
) -> list[MetricPoint]:
    """Every operator metric of the minute `minute` describes, in a fixed order.

    Counters are always present (0 on a quiet minute). Ratios (TraceCoverage, ReconciliationSuccess among them),
    latencies, CacheEntrySize, RunnerUtilization (without a spec capacity),
    CostPerBuild and MTTR are omitted when they have no denominator or no samples, so nothing is ever NaN.
    `alert_log` must reach back to the longest SLO window plus the MTTR margin (EvaluatedAt.alert_log does).
    """
    start, end = minute.start, minute.end
    points: list[MetricPoint] = []

    # Runner
    points.append(_count(RUNNERS_STARTED_METRIC, _counts(minute, RUNNERS_STARTED).total))
    completed = _counts(minute, WORKFLOWS_COMPLETED)
    points.append(_count(RUNNERS_COMPLETED_METRIC, completed.total))
    active = minute.gauges.get(RUNNERS_ACTIVE_GAUGE, 0)
    points.append(_count(RUNNERS_ACTIVE_METRIC, active))
    if spec.runner_capacity > 0:  # busy runners over the spec's capacity; unknown capacity, no point
        points.append(MetricPoint(RUNNER_UTILIZATION_METRIC, round(max(active, 0) / spec.runner_capacity, 6)))
    digests = minute.digests
    for metric, sketch in LATENCY_SKETCHES[1:]:
        points.extend(_latency_points(metric, digests.get(sketch)))

    # Cache
    lookups = _counts(minute, CACHE_LOOKUPS)
    points.append(_count(CACHE_HITS_METRIC, lookups.good))
    points.append(_count(CACHE_MISSES_METRIC, lookups.bad))
    if lookups.total:
        points.append(MetricPoint(CACHE_HIT_RATE_METRIC, round(lookups.good / lookups.total, 6)))
    points.append(_count(CACHE_EVICTIONS_METRIC, _counts(minute, CACHE_EVICTIONS).total))
    cache_bytes = digests.get(CACHE_BYTES_SKETCH)
    if cache_bytes is not None:
        points.append(MetricPoint(CACHE_ENTRY_SIZE_METRIC, round(digest_mean(cache_bytes), 3), "Bytes"))

    # Queue
    launched = _counts(minute, TASKS_LAUNCHED).total
    points.append(MetricPoint(QUEUE_PROCESSING_RATE_METRIC, round(launched / conventions.MINUTE, 6), "Count/Second"))
    points.extend(_latency_points(QUEUE_AGE_METRIC, digests.get(QUEUE_AGE_SKETCH)))

    # Reliability
    reconciliations = _counts(minute, RECONCILIATIONS)
    points.append(_count(RECONCILIATION_RUNS_METRIC, reconciliations.total))
    points.append(_count(RECONCILIATION_FAILURES_METRIC, reconciliations.bad))
    if reconciliations.total:  # a silent reconciler is missing data (the alarm treats it so), never 100%
        success = reconciliations.good / reconciliations.total
        points.append(MetricPoint(RECONCILIATION_SUCCESS_METRIC, round(success, 6)))
    points.append(_count(ORPHANED_RUNNERS_METRIC, _orphaned(minute, spec)))
    points.extend(_mttr_points(list(alert_log), spec, start, end))
    # completions judged as the deploy-success SLO judges them (cancelled left out) when it was read
    workflows = minute.counts.get(conventions.DEPLOY_SUCCESS, completed)
    if workflows.total:
        points.append(MetricPoint(FAILED_WORKFLOW_RATE_METRIC, round(workflows.bad / workflows.total, 6)))
    execution = digests.get(RUNNER_EXECUTION_SKETCH)
    if execution is not None and spec.runner_cost_per_hour > 0:
        cost = digest_mean(execution) * spec.runner_cost_per_hour / MS_PER_HOUR
        points.append(MetricPoint(COST_PER_BUILD_METRIC, round(cost, 6)))

    # Tracing: vocabulary events of the minute that carried a propagated (not minted) correlation ID
    coverage = _counts(minute, conventions.TRACE_COVERAGE_SLI)
    if coverage.total:
        points.append(MetricPoint(TRACE_COVERAGE_METRIC, round(coverage.good / coverage.total, 6)))
    return points


def _count(name: str, value: int) -> MetricPoint:
    return MetricPoint(name, value, "Count")


def _counts(minute: MinuteReadings, series: str) -> Counts:
    return minute.counts.get(series, Counts())


def _latency_points(metric: str, digest: TDigest | None) -> list[MetricPoint]:
    """<metric> as a distribution, <metric>P50/P95/P99 from the digest, <metric>Count (0 without samples)."""
    if digest is None:
        return [_count(f"{metric}Count", 0)]
    points = [MetricPoint(metric, value, "Milliseconds") for value in distribution_values(digest)]
    for suffix, q in QUANTILES:
        points.append(MetricPoint(f"{metric}{suffix}", round(float(digest.quantile(q) or 0.0), 3), "Milliseconds"))
    points.append(_count(f"{metric}Count", int(digest.count)))
    return points


def _mttr_points(log: list[Mapping[str, Any]], spec: Spec, start: int, end: int) -> list[MetricPoint]:
    """MTTR over every SLO's page incidents that ended in the minute, then per SLO (dimension SLO)."""
    # An incident is reported in the minute its page ended (after any hold), with its duration to where the
    # condition cleared: the evaluator only learns an incident is over when the page ends.
    durations = [d for slo in spec.slos for d in incident_durations(log, slo.name, start, end)]
    if not durations:
        return []
    points = [MetricPoint(MTTR_METRIC, round(sum(durations) / len(durations), 3), "Seconds")]
    for slo in spec.slos:
        seconds = mttr_seconds(log, slo.name, start, end)
        if seconds is not None:
            points.append(MetricPoint(MTTR_METRIC, round(seconds, 3), "Seconds", ((DIMENSION_SLO, slo.name),)))
    return points


def _orphaned(minute: MinuteReadings, spec: Spec) -> int:
    """Units of work whose first resolution in the minute was bad (reported or swept orphans): the bad events of
    the spec's resolution SLIs, so the definition follows the spec's resolution matchers."""
    return sum(_counts(minute, slo.name).bad for slo in spec.slos if slo.kind == "resolution")
