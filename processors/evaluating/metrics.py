"""The evaluation as CloudWatch metric points (pure); the handler turns them into EMF documents.

Powertools Metrics serialises one dimension set per flush, so points carry their dimensions and the
emitter flushes one group per dimension set. Names match processors/dashboards/: SLOAttainment and
SLOBudgetRemaining by SLO, SLOBurnRate by SLO and Window, and each SLO's headline metric (the spec's
`metric:` field) with the service dimension only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from processors.conventions import HOUR
from processors.evaluating.budget import budget_consumed
from processors.evaluating.evaluate import BURN_WINDOWS
from processors.evaluating.scorecard import meets
from processors.evaluating.types import Evaluation, SloEvaluation
from processors.timeutil import format_duration

Dimensions = tuple[tuple[str, str], ...]

METRIC_ATTAINMENT = "SLOAttainment"
METRIC_BURN_RATE = "SLOBurnRate"
METRIC_BUDGET_REMAINING = "SLOBudgetRemaining"
# The scorecard's measures (processors/evaluating/scorecard.py), a minute at a time: the Average of SLOCompliant
# over a month is the share of minutes compliant; SLOMonthBudgetUsed is the month's budget spent so far.
METRIC_COMPLIANT = "SLOCompliant"
METRIC_MONTH_BUDGET_USED = "SLOMonthBudgetUsed"
METRIC_EVALUATIONS_COMPLETED = "EvaluationsCompleted"
METRIC_EVALUATION_DURATION = "EvaluationDurationMs"
# A grouped SLO's groups (dimensions SLO and Group): what the dashboards' top-N widget ranks. The budget used
# over the SLO window and the 1h burn rate; at most group_limit + 1 groups per SLO, so the metric count is bounded.
METRIC_GROUP_BUDGET_USED = "SLOGroupBudgetUsed"
METRIC_GROUP_BURN_RATE = "SLOGroupBurnRate1h"
DIMENSION_SLO = "SLO"
DIMENSION_WINDOW = "Window"
DIMENSION_GROUP = "Group"


@dataclass(frozen=True)
class MetricPoint:
    name: str
    value: float
    unit: str = "None"  # a Powertools MetricUnit value: "Count", "Milliseconds", "Percent", "None"
    dimensions: Dimensions = ()


def slo_points(slo: SloEvaluation) -> list[MetricPoint]:
    by_slo: Dimensions = ((DIMENSION_SLO, slo.name),)
    points = [MetricPoint(METRIC_BUDGET_REMAINING, slo.remaining, dimensions=by_slo)]
    if slo.attainment is not None:
        points.append(MetricPoint(METRIC_ATTAINMENT, slo.attainment, dimensions=by_slo))
        points.append(MetricPoint(METRIC_COMPLIANT, int(meets(slo.counts, slo.slo.objective)), dimensions=by_slo))
    if slo.month_counts is not None and slo.month_counts.total:
        used = budget_consumed(slo.month_counts, slo.slo.objective)
        points.append(MetricPoint(METRIC_MONTH_BUDGET_USED, round(used, 6), dimensions=by_slo))
    for seconds in BURN_WINDOWS:
        window = ((DIMENSION_SLO, slo.name), (DIMENSION_WINDOW, format_duration(seconds)))
        points.append(MetricPoint(METRIC_BURN_RATE, slo.burn(seconds), dimensions=window))
    headline = slo.slo.metric
    if slo.slo.kind == "latency":
        quantiles = slo.recent_latency_ms or {}
        base = headline[: -len("P95")] if headline and headline.endswith("P95") else f"SLO{_camel(slo.name)}"
        for quantile in ("p50", "p95", "p99"):
            if quantile in quantiles:
                points.append(MetricPoint(f"{base}{quantile.upper()}", quantiles[quantile], "Milliseconds"))
    elif headline and slo.attainment is not None:
        points.append(MetricPoint(headline, slo.attainment))
    for group in slo.groups:
        by_group: Dimensions = ((DIMENSION_SLO, slo.name), (DIMENSION_GROUP, group.group))
        if group.counts.total:
            points.append(MetricPoint(METRIC_GROUP_BUDGET_USED, round(group.consumed, 6), dimensions=by_group))
        points.append(MetricPoint(METRIC_GROUP_BURN_RATE, group.burn(HOUR), dimensions=by_group))
    return points


def evaluation_points(evaluation: Evaluation, duration_ms: float) -> list[MetricPoint]:
    """Every SLO's points plus pipeline health: EvaluationsCompleted (the "evaluator not running" alarm)."""
    points = [point for slo in evaluation.slos for point in slo_points(slo)]
    points.append(MetricPoint(METRIC_EVALUATIONS_COMPLETED, 1, "Count"))
    points.append(MetricPoint(METRIC_EVALUATION_DURATION, duration_ms, "Milliseconds"))
    return points


def group_by_dimensions(
    points: Iterable[MetricPoint], limit: int = 100
) -> list[tuple[Dimensions, list[MetricPoint]]]:
    """Points grouped into EMF documents: one dimension set each, at most `limit` metrics (EMF's cap)."""
    groups: dict[Dimensions, list[MetricPoint]] = {}
    for point in points:
        groups.setdefault(point.dimensions, []).append(point)
    documents = []
    for dimensions, members in groups.items():
        for offset in range(0, len(members), limit):
            documents.append((dimensions, members[offset : offset + limit]))
    return documents


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
