"""The operator metrics of one minute [now − 60 s, now): a pure function of that minute's readings.

Which metrics exist, and what each reads, is the spec's `metrics:` list (processors/slos.yaml): counts, rates
and ratios of counted series (the spec's built-in counters or an SLO's), latencies and means of the spec's
sketches, the open-unit gauge, MTTR from the alert log. processors.evaluating.service reads the minute
(MinuteReadings) the spec asks for. TraceCoverage, the pipeline's own health metric, reads the ingest's
`_trace-coverage` counters. The evaluator Lambda emits these points as EMF; `slo metrics` prints the same
points. docs/dashboards.md says what each one means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from processors import conventions
from processors.counting import Counts
from processors.evaluating.metrics import DIMENSION_SLO, MetricPoint
from processors.evaluating.mttr import incident_durations, mttr_seconds
from processors.evaluating.service import metric_minute
from processors.evaluating.types import MinuteReadings
from processors.spec.model import OperatorMetric, Spec

if TYPE_CHECKING:  # numpy only where digests are merged, not at import (cold start)
    from processors.sketch import TDigest

TRACE_COVERAGE_METRIC: Final = conventions.METRIC_TRACE_COVERAGE

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
    points: list[MetricPoint] = []
    log = list(alert_log)
    for metric in spec.metrics:
        if metric.kind == "mttr":
            points.extend(_mttr_points(metric, log, spec, minute.start, minute.end))
        elif metric.kind in ("gauge", "utilization"):
            active = minute.gauges.get(conventions.OPEN_UNITS_GAUGE, 0)
            if metric.kind == "gauge":
                points.append(MetricPoint(metric.name, active, metric.unit))
            else:  # open units over the spec's capacity
                points.append(MetricPoint(metric.name, round(max(active, 0) / metric.capacity, 6), metric.unit))
        elif metric.counter is not None:
            points.extend(_counted_points(metric, _counts(minute, metric.counter)))
        elif metric.sketch is not None:
            points.extend(_sketch_points(metric, minute.digests.get(metric.sketch)))

    # Tracing: vocabulary events of the minute that carried a propagated (not minted) correlation ID
    coverage = _counts(minute, conventions.TRACE_COVERAGE_SLI)
    if coverage.total:
        points.append(MetricPoint(TRACE_COVERAGE_METRIC, round(coverage.good / coverage.total, 6)))
    return points


def _counted_points(metric: OperatorMetric, counts: Counts) -> list[MetricPoint]:
    value = {"total": counts.total, "good": counts.good, "bad": counts.bad}[metric.of]
    if metric.kind == "count":
        return [MetricPoint(metric.name, value, metric.unit)]
    if metric.kind == "rate":
        return [MetricPoint(metric.name, round(value / conventions.MINUTE, 6), metric.unit)]
    if not counts.total:  # a ratio without a denominator is omitted, never NaN
        return []
    numerator = counts.bad if metric.of == "bad" else counts.good
    return [MetricPoint(metric.name, round(numerator / counts.total, 6), metric.unit)]


def _sketch_points(metric: OperatorMetric, digest: TDigest | None) -> list[MetricPoint]:
    if metric.kind == "latency":
        return _latency_points(metric.name, digest, metric.unit)
    if digest is None:
        return []
    if metric.kind == "mean":
        return [MetricPoint(metric.name, round(digest_mean(digest), 3), metric.unit)]
    if metric.per_hour <= 0:  # cost
        return []
    return [MetricPoint(metric.name, round(digest_mean(digest) * metric.per_hour / MS_PER_HOUR, 6), metric.unit)]


def _count(name: str, value: int) -> MetricPoint:
    return MetricPoint(name, value, "Count")


def _counts(minute: MinuteReadings, series: str) -> Counts:
    return minute.counts.get(series, Counts())


def _latency_points(metric: str, digest: TDigest | None, unit: str = "Milliseconds") -> list[MetricPoint]:
    """<metric> as a distribution, <metric>P50/P95/P99 from the digest, <metric>Count (0 without samples)."""
    if digest is None:
        return [_count(f"{metric}Count", 0)]
    points = [MetricPoint(metric, value, unit) for value in distribution_values(digest)]
    for suffix, q in QUANTILES:
        points.append(MetricPoint(f"{metric}{suffix}", round(float(digest.quantile(q) or 0.0), 3), unit))
    points.append(_count(f"{metric}Count", int(digest.count)))
    return points


def _mttr_points(
    metric: OperatorMetric, log: list[Mapping[str, Any]], spec: Spec, start: int, end: int
) -> list[MetricPoint]:
    """MTTR over every SLO's page incidents that ended in the minute, then per SLO (dimension SLO)."""
    # An incident is reported in the minute its page ended (after any hold), with its duration to where the
    # condition cleared: the evaluator only learns an incident is over when the page ends.
    durations = [d for slo in spec.slos for d in incident_durations(log, slo.name, start, end)]
    if not durations:
        return []
    points = [MetricPoint(metric.name, round(sum(durations) / len(durations), 3), metric.unit)]
    for slo in spec.slos:
        seconds = mttr_seconds(log, slo.name, start, end)
        if seconds is not None:
            points.append(MetricPoint(metric.name, round(seconds, 3), metric.unit, ((DIMENSION_SLO, slo.name),)))
    return points
