"""The five CloudWatch dashboards, built from the SLO spec so that adding an SLO adds its widgets.

The platform's widgets (runners, cache, queue, reconciler) plot operator metrics by name: each is drawn only
when the spec declares every metric it plots, and a declared metric no widget draws gets a graph of its own in
the system overview, so another spec (examples/order-pipeline) gets dashboards of its own metrics.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from processors import conventions
from processors.conventions import HOUR
from processors.dashboards.widgets import (
    CORRELATION_ID_PATTERN,
    JOB_QUEUE_SEARCH,
    PERFORMANCE,
    RECONCILIATION_ALARM_THRESHOLD,
    RELIABILITY,
    REQUEST_TRACING,
    SLO_BUDGETS,
    SYSTEM_OVERVIEW,
    TOP_GROUPS,
    BurnThreshold,
    DashboardSlo,
    cache_hit_ratio,
    default_thresholds,
    expression,
    graph,
    hidden,
    layout,
    logs,
    metric,
    objective_line,
    single,
    text,
    top_groups,
)
from processors.spec.model import OperatorMetric, Targets


class Declared:
    """The metrics a spec declares: its operator metrics and its SLOs' headline metrics (all of them when no
    spec is given). `only` keeps a widget whose metrics are all declared and notes them as drawn."""

    def __init__(self, metrics: Collection[OperatorMetric] | None, slos: Sequence[DashboardSlo]) -> None:
        self.metrics = tuple(metrics) if metrics is not None else None
        self.names = None if metrics is None else {m.name for m in metrics} | {s.metric for s in slos if s.metric}
        self.drawn: set[str] = set()

    def only(self, widget: dict[str, Any], *names: str) -> list[dict[str, Any]]:
        if self.names is not None and not set(names) <= self.names:
            return []
        self.drawn.update(names)
        return [widget]

    def undrawn(self) -> list[OperatorMetric]:
        return [m for m in self.metrics or () if m.name not in self.drawn]


def operator_metric_graph(metric_def: OperatorMetric) -> dict[str, Any]:
    """One declared operator metric no platform widget draws: percentiles of a latency, a count's Sum."""
    title = f"{metric_def.name} ({metric_def.unit})" if metric_def.unit != "None" else metric_def.name
    if metric_def.kind == "latency":
        rows = [metric(metric_def.name, stat=stat, label=stat) for stat in ("p50", "p95", "p99")]
        return graph(title, rows, period=300)
    stat = {"count": "Sum", "gauge": "Maximum"}.get(metric_def.kind, "Average")
    return graph(title, [metric(metric_def.name, label=metric_def.name)], stat=stat, period=300)


def system_overview(slos: Sequence[DashboardSlo], declared: Declared) -> dict[str, Any]:
    queue_depth = {
        "expression": (
            'SEARCH(\'{AWS/SQS,QueueName} MetricName="ApproximateNumberOfMessagesVisible" '
            f"{JOB_QUEUE_SEARCH}', 'Maximum', 60)"
        ),
        "id": "q",
        "label": "",
    }
    widgets = [
        text("# System overview\nRequests, queue, runners, cache and errors; SLO status per objective."),
        *declared.only(
            graph(
                "Request rate (per minute)",
                [
                    # RunnersStarted is a count a minute: its Sum scaled to one minute at any period.
                    hidden("RunnersStarted", "started", stat="Sum"),
                    expression("started / (PERIOD(started) / 60)", "started_per_min", "runners started / min"),
                    # QueueProcessingRate is task_launched / 60 (Count/Second), emitted every minute: Average × 60.
                    hidden("QueueProcessingRate", "launch_rate", stat="Average"),
                    expression("launch_rate * 60", "launched_per_min", "tasks launched / min"),
                ],
                stat="Sum",
            ),
            "RunnersStarted",
            "QueueProcessingRate",
        ),
        # the job queue is the stack's parameter (JobQueueSearchTerm), not a spec metric
        graph("Queue depth (SQS ApproximateNumberOfMessagesVisible)", [[queue_depth]], stat="Maximum"),
        *declared.only(
            graph(
                "Active runners and utilization",
                [
                    metric("RunnersActive", label="active runners"),
                    metric("RunnerUtilization", stat="Average", yAxis="right", label="utilization (of capacity)"),
                ],
                stat="Maximum",
            ),
            "RunnersActive",
            "RunnerUtilization",
        ),
        *declared.only(
            graph(
                "Cache hit rate and evictions",
                [
                    metric("CacheHitRate", label="hit rate"),
                    metric("CacheEvictions", stat="Sum", yAxis="right", label="evictions (count)"),
                ],
            ),
            "CacheHitRate",
            "CacheEvictions",
        ),
        *declared.only(
            graph(
                "Error rate",
                [
                    metric("FailedWorkflowRate", label="failed workflow rate (ratio)"),
                    metric(
                        "ReconciliationFailures", stat="Sum", yAxis="right", label="reconciliation failures (count)"
                    ),
                ],
            ),
            "FailedWorkflowRate",
            "ReconciliationFailures",
        ),
        single("SLO status (attainment)", [metric("SLOAttainment", "SLO", slo.name) for slo in slos]),
    ]
    undrawn = declared.undrawn()
    if undrawn:
        widgets.append(text("## Operator metrics\nThe spec's metrics that no widget above draws."))
        widgets.extend(operator_metric_graph(m) for m in undrawn)
    return {"widgets": layout(widgets)}


def request_tracing(slos: Sequence[DashboardSlo], declared: Declared) -> dict[str, Any]:
    del slos  # the tracing dashboard is the same for any spec
    widgets = [
        text(
            "# Request tracing\nType a correlation ID into the **Correlation ID** box; "
            "the log table below follows it across services."
        ),
        *declared.only(
            graph(
                "Latency breakdown p95: queue / startup / execution (ms)",
                [metric("QueueAge"), metric("RunnerStartupTime"), metric("RunnerExecutionTime")],
                stat="p95",
                stacked=True,
            ),
            "QueueAge",
            "RunnerStartupTime",
            "RunnerExecutionTime",
        ),
        graph(
            "Trace coverage: vocabulary events with a propagated correlation ID (target 1.0)",
            [metric(conventions.METRIC_TRACE_COVERAGE, label="trace coverage")],
            annotations={"horizontal": [{"label": "target", "value": 1.0}]},
            yAxis={"left": {"min": 0, "max": 1}},
        ),
        graph(
            "Ingest: events processed / skipped / malformed records (per minute)",
            [
                metric(conventions.METRIC_EVENTS_PROCESSED, label="events processed"),
                metric(conventions.METRIC_EVENTS_SKIPPED, label="events skipped (any kind)"),
                metric(conventions.METRIC_MALFORMED_RECORDS, label="malformed records"),
            ],
            stat="Sum",
        ),
        logs(
            "Error locations (service, action)",
            'filter level = "ERROR" or metadata.status >= 500 '
            "| stats count(*) as errors by service, metadata.action | sort errors desc | limit 20",
        ),
        logs(
            "Events of one correlation ID",
            "fields @timestamp, service, metadata.action, metadata.duration, message "
            f'| filter correlationId = "{CORRELATION_ID_PATTERN}" | sort @timestamp asc | limit 1000',
        ),
    ]
    return {
        "variables": [
            {
                "type": "pattern",
                "pattern": CORRELATION_ID_PATTERN,
                "inputType": "input",
                "id": "correlationId",
                "label": "Correlation ID",
                "defaultValue": CORRELATION_ID_PATTERN,
                "visible": True,
            }
        ],
        "widgets": layout(widgets),
    }


def scorecard_section(slos: Sequence[DashboardSlo], targets: Any) -> list[dict[str, Any]]:
    """`slo scorecard` as widgets: the Average of the per-minute SLOCompliant over the time range is the share of
    minutes compliant; SLOMonthBudgetUsed is the calendar month's budget spent so far. MTTR and trace coverage
    sit on the reliability and request-tracing dashboards."""
    compliant = single(
        f"Compliant time: share of minutes at objective over the range (target {targets.compliance_time:g})",
        [metric("SLOCompliant", "SLO", slo.name, label=slo.name) for slo in slos],
    )
    compliant["properties"]["setPeriodToTimeRange"] = True
    return [
        text(
            f"# Scorecard\nTargets from the spec: compliant ≥ {targets.compliance_time:g} of minutes, month budget "
            f"used ≤ {targets.budget_use:g}, MTTR ≤ {targets.mttr // 60} min (*Reliability*), trace coverage ≥ "
            f"{targets.trace_coverage:g} (*Request tracing*). Set the range to a month to read the month."
        ),
        compliant,
        graph(
            "Month budget used (share of the calendar month's error budget)",
            [metric("SLOMonthBudgetUsed", "SLO", slo.name, label=slo.name) for slo in slos],
            stat="Maximum",
            period=300,
            annotations={"horizontal": [{"label": "target", "value": targets.budget_use}]},
        ),
    ]


def slo_budgets(
    slos: Sequence[DashboardSlo], thresholds: Sequence[BurnThreshold], targets: Any = None
) -> dict[str, Any]:
    widgets: list[dict[str, Any]] = [
        *scorecard_section(slos, targets or Targets()),
        text("# SLO & error budgets\nBurn-rate lines are the multi-window alert thresholds (SRE Workbook)."),
    ]
    burn_lines = [{"label": f"{t.window} burn {t.factor:g}x", "value": t.factor} for t in thresholds]
    for slo in slos:
        widgets.append(text(f"## {slo.name} (objective {slo.objective:g})"))
        widgets.append(
            graph(
                f"{slo.name}: attainment",
                [metric("SLOAttainment", "SLO", slo.name)],
                annotations={"horizontal": [objective_line(slo)]},
            )
        )
        widgets.append(
            graph(
                f"{slo.name}: burn rate",
                [metric("SLOBurnRate", "SLO", slo.name, "Window", t.window) for t in thresholds],
                stat="Maximum",
                annotations={"horizontal": burn_lines},
            )
        )
        widgets.append(
            graph(f"{slo.name}: error budget remaining", [metric("SLOBudgetRemaining", "SLO", slo.name)])
        )
        if slo.group_by:
            by = ", ".join(slo.group_by)
            widgets.append(top_groups(slo, "SLOGroupBudgetUsed", f"{slo.name}: top {TOP_GROUPS} {by} by budget used"))
            widgets.append(top_groups(slo, "SLOGroupBurnRate1h", f"{slo.name}: top {TOP_GROUPS} {by} by 1h burn rate"))
        widgets.append(
            graph(
                f"{slo.name}: violations (minutes below objective)",
                [
                    [*metric("SLOAttainment", "SLO", slo.name, id="a", visible=False)],
                    [{"expression": f"IF(a < {slo.objective!r}, 1, 0)", "id": "v", "label": "below"}],
                ],
                stat="Average",
            )
        )
    return {"widgets": layout(widgets)}


def performance_trends(slos: Sequence[DashboardSlo], declared: Declared) -> dict[str, Any]:
    per_slo = [
        metric(slo.metric, yAxis="right", label=f"{slo.metric} (ms)")
        if slo.metric.endswith("P95")
        else metric(slo.metric, label=slo.metric)
        for slo in slos
        if slo.metric
    ]
    widgets = [
        text("# Performance trends"),
        *declared.only(
            graph(
                "Queue age p50 / p95 / p99 (ms)",
                [metric("QueueAge", stat=stat, label=stat) for stat in ("p50", "p95", "p99")],
                period=300,
            ),
            "QueueAge",
        ),
        *declared.only(
            graph(
                "Runner startup p50 / p95 / p99 (ms)",
                [metric("RunnerStartupTime", stat=stat, label=stat) for stat in ("p50", "p95", "p99")],
                period=300,
            ),
            "RunnerStartupTime",
        ),
        *declared.only(
            graph(
                "Cache hit trend",
                [*cache_hit_ratio("cache hit ratio (hits / lookups)"), metric("SLOCacheHitRate", stat="Average")],
                period=HOUR,
            ),
            "CacheHits",
            "CacheMisses",
            "SLOCacheHitRate",
        ),
        # The execution digest isn't split by cache outcome, so this sets build time beside the hit ratio.
        *declared.only(
            graph(
                "Build time p50 / p95 (ms) vs cache hit ratio (right)",
                [
                    metric("RunnerExecutionTime", stat="p50", label="build time p50 (ms)"),
                    metric("RunnerExecutionTime", stat="p95", label="build time p95 (ms)"),
                    *cache_hit_ratio("cache hit ratio", yAxis="right"),
                ],
                period=300,
                yAxis={"left": {"label": "ms", "min": 0}, "right": {"label": "ratio", "min": 0, "max": 1}},
            ),
            "RunnerExecutionTime",
            "CacheHits",
            "CacheMisses",
        ),
        *declared.only(graph("Cost per build (USD)", [metric("CostPerBuild")], period=HOUR), "CostPerBuild"),
        graph(
            "SLO indicators (ratios; latency ms on the right)",
            per_slo,
            period=300,
            yAxis={"left": {"label": "ratio"}, "right": {"label": "ms", "min": 0}},
        ),
    ]
    return {"widgets": layout(widgets)}


def reliability(slos: Sequence[DashboardSlo], declared: Declared) -> dict[str, Any]:
    # MTTR is emitted in Seconds, overall (service only) and per SLO (dimension SLO): shown in minutes.
    mttr = [hidden("MTTR", "mttr"), expression("mttr / 60", "mttr_min", "all SLOs (minutes)")]
    for i, slo in enumerate(slos):
        mttr.append(hidden("MTTR", f"mttr{i}", "SLO", slo.name))
        mttr.append(expression(f"mttr{i} / 60", f"mttr{i}_min", f"{slo.name} (minutes)"))
    widgets = [
        text("# Reliability"),
        *declared.only(graph("MTTR (minutes)", mttr, period=HOUR), "MTTR"),
        *declared.only(
            graph(
                "Orphan rate and orphaned runners",
                [
                    metric("SLOOrphanRate", label="orphan-rate attainment"),
                    metric("OrphanedRunners", stat="Sum", yAxis="right", label="orphaned runners (count)"),
                ],
                period=300,
            ),
            "SLOOrphanRate",
            "OrphanedRunners",
        ),
        *declared.only(
            graph("Failed workflow rate", [metric("FailedWorkflowRate")], period=300), "FailedWorkflowRate"
        ),
        # Emitted only in minutes with runs: a silent reconciler draws a gap (and trips its alarm), never 100%.
        *declared.only(
            graph(
                "Reconciliation success rate (gaps: no runs)",
                [
                    metric("ReconciliationSuccess", label="success rate"),
                    metric("ReconciliationRuns", stat="Sum", yAxis="right", label="runs (count)"),
                ],
                period=300,
                annotations={"horizontal": [{"label": "alarm", "value": RECONCILIATION_ALARM_THRESHOLD}]},
            ),
            "ReconciliationSuccess",
            "ReconciliationRuns",
        ),
    ]
    return {"widgets": layout(widgets)}


def build_dashboards(
    slos: Sequence[DashboardSlo],
    thresholds: Sequence[BurnThreshold] | None = None,
    targets: Any = None,
    metrics: Collection[OperatorMetric] | None = None,
) -> dict[str, dict[str, Any]]:
    """Dashboard name → body, in DASHBOARD_NAMES order; `targets` (a spec's Targets) default to the product's.
    `metrics`, the spec's operator metrics, pick the platform widgets (None draws every one)."""
    tiers = tuple(thresholds) if thresholds is not None else default_thresholds()
    declared = Declared(metrics, slos)
    rest = {
        REQUEST_TRACING: request_tracing(slos, declared),
        SLO_BUDGETS: slo_budgets(slos, tiers, targets),
        PERFORMANCE: performance_trends(slos, declared),
        RELIABILITY: reliability(slos, declared),
    }
    return {SYSTEM_OVERVIEW: system_overview(slos, declared), **rest}  # the overview last: it lists what is undrawn
