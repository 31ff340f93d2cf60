"""The five CloudWatch dashboards, generated from the SLO spec so that adding an SLO adds its widgets.

Bodies are CloudFormation `Fn::Sub` strings: `${AWS::Region}`, `${MetricsNamespace}`, `${JobQueueSearchTerm}`
and `${TraceQueryLogGroup}` are filled in by the stack (sam/template.yaml), nowhere else. `slo dashboards`
writes them to sam/dashboards/*.json and into the template between the GENERATED markers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from processors import conventions
from processors.conventions import HOUR

# Powertools adds `service` to every EMF metric; the template sets POWERTOOLS_SERVICE_NAME to this.
SERVICE_NAME: Final = "slo-pipeline"
NAMESPACE: Final = "${MetricsNamespace}"
REGION: Final = "${AWS::Region}"
TRACE_LOG_GROUP: Final = "${TraceQueryLogGroup}"
JOB_QUEUE_SEARCH: Final = "${JobQueueSearchTerm}"
# A dashboard "pattern" variable: every occurrence of this string in the body is replaced by the input box.
CORRELATION_ID_PATTERN: Final = "00000000-0000-0000-0000-000000000000"

SYSTEM_OVERVIEW: Final = "system-overview"
REQUEST_TRACING: Final = "request-tracing"
SLO_BUDGETS: Final = "slo-error-budgets"
PERFORMANCE: Final = "performance-trends"
RELIABILITY: Final = "reliability"
DASHBOARD_NAMES: Final = (SYSTEM_OVERVIEW, REQUEST_TRACING, SLO_BUDGETS, PERFORMANCE, RELIABILITY)

BEGIN_MARKER: Final = "# BEGIN GENERATED dashboard: "
END_MARKER: Final = "# END GENERATED dashboard: "

# sam/template.yaml's ReconciliationFailingAlarm: success below this, or no runs at all, for 30 minutes.
RECONCILIATION_ALARM_THRESHOLD: Final = 0.9

_WIDTH: Final = 12
_HEIGHT: Final = 6


class DashboardError(Exception):
    """The template has no (or broken) GENERATED markers for a dashboard."""


@dataclass(frozen=True)
class DashboardSlo:
    name: str
    objective: float  # a ratio, e.g. 0.999


@dataclass(frozen=True)
class BurnThreshold:
    window: str  # the SLOBurnRate Window dimension, e.g. "1h"
    factor: float  # e.g. 14.4


def slos_from_spec(spec: Any) -> tuple[DashboardSlo, ...]:
    """The (name, objective) pairs of a processors.spec.Spec."""
    return tuple(DashboardSlo(slo.name, slo.objective) for slo in spec.slos)


def default_thresholds() -> tuple[BurnThreshold, ...]:
    """The Workbook tiers' long windows and factors (14.4, 6, 3, 1) from burn_rate_windows.yaml."""
    from processors.spec import default_tiers
    from processors.timeutil import format_duration

    return tuple(BurnThreshold(format_duration(t.long_window), t.factor) for t in default_tiers())


def _metric(name: str, *dimensions: str, **options: Any) -> list[Any]:
    row: list[Any] = [NAMESPACE, name, "service", SERVICE_NAME, *dimensions]
    if options:
        row.append(options)
    return row


def _graph(
    title: str, metrics: list[Any], *, stat: str = "Average", period: int = 60, **extra: Any
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "region": REGION,
        "stat": stat,
        "period": period,
        "metrics": metrics,
    }
    properties.update(extra)
    return {"type": "metric", "properties": properties}


def _single(title: str, metrics: list[Any], *, stat: str = "Average", period: int = 300) -> dict[str, Any]:
    widget = _graph(title, metrics, stat=stat, period=period)
    widget["properties"]["view"] = "singleValue"
    return widget


def _logs(title: str, query: str) -> dict[str, Any]:
    return {
        "type": "log",
        "properties": {
            "title": title,
            "region": REGION,
            "view": "table",
            "query": f"SOURCE '{TRACE_LOG_GROUP}' | {query}",
        },
    }


def _text(markdown: str) -> dict[str, Any]:
    return {"type": "text", "properties": {"markdown": markdown}}


def _layout(widgets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two widgets a row; a text widget takes a whole row."""
    placed: list[dict[str, Any]] = []
    x = y = 0
    for widget in widgets:
        if widget["type"] == "text":
            if x:
                x, y = 0, y + _HEIGHT
            placed.append({**widget, "x": 0, "y": y, "width": 24, "height": 2})
            y += 2
            continue
        placed.append({**widget, "x": x, "y": y, "width": _WIDTH, "height": _HEIGHT})
        x += _WIDTH
        if x >= 24:
            x, y = 0, y + _HEIGHT
    return placed


def _expression(expression: str, id: str, label: str, **options: Any) -> list[dict[str, Any]]:
    return [{"expression": expression, "id": id, "label": label, **options}]


def _hidden(name: str, id: str, *dimensions: str, **options: Any) -> list[Any]:
    """A metric row that only feeds metric math."""
    return _metric(name, *dimensions, id=id, visible=False, **options)


def _cache_hit_ratio(label: str, **options: Any) -> list[list[Any]]:
    """hits / (hits + misses) from the counters' Sums: weighted by lookups at any period, unlike the
    Average of the per-minute CacheHitRate; no point where there were no lookups (0/0 draws nothing)."""
    return [
        _hidden("CacheHits", "hits", stat="Sum"),
        _hidden("CacheMisses", "misses", stat="Sum"),
        _expression("hits / (hits + misses)", "hit_ratio", label, **options),
    ]


def _objective_line(slo: DashboardSlo) -> dict[str, Any]:
    return {"label": f"objective {slo.objective:g}", "value": slo.objective}


def system_overview(slos: Sequence[DashboardSlo]) -> dict[str, Any]:
    queue_depth = {
        "expression": (
            'SEARCH(\'{AWS/SQS,QueueName} MetricName="ApproximateNumberOfMessagesVisible" '
            f"{JOB_QUEUE_SEARCH}', 'Maximum', 60)"
        ),
        "id": "q",
        "label": "",
    }
    widgets = [
        _text("# System overview\nRequests, queue, runners, cache and errors; SLO status per objective."),
        _graph(
            "Request rate (per minute)",
            [
                # RunnersStarted is a count a minute: its Sum scaled to one minute at any period.
                _hidden("RunnersStarted", "started", stat="Sum"),
                _expression("started / (PERIOD(started) / 60)", "started_per_min", "runners started / min"),
                # QueueProcessingRate is task_launched / 60 (Count/Second), emitted every minute: Average × 60.
                _hidden("QueueProcessingRate", "launch_rate", stat="Average"),
                _expression("launch_rate * 60", "launched_per_min", "tasks launched / min"),
            ],
            stat="Sum",
        ),
        _graph("Queue depth (SQS ApproximateNumberOfMessagesVisible)", [[queue_depth]], stat="Maximum"),
        _graph(
            "Active runners and utilization",
            [
                _metric("RunnersActive", label="active runners"),
                _metric("RunnerUtilization", stat="Average", yAxis="right", label="utilization (of runner_capacity)"),
            ],
            stat="Maximum",
        ),
        _graph(
            "Cache hit rate and evictions",
            [
                _metric("CacheHitRate", label="hit rate"),
                _metric("CacheEvictions", stat="Sum", yAxis="right", label="evictions (count)"),
            ],
        ),
        _graph(
            "Error rate",
            [
                _metric("FailedWorkflowRate", label="failed workflow rate (ratio)"),
                _metric("ReconciliationFailures", stat="Sum", yAxis="right", label="reconciliation failures (count)"),
            ],
        ),
        _single("SLO status (attainment)", [_metric("SLOAttainment", "SLO", slo.name) for slo in slos]),
    ]
    return {"widgets": _layout(widgets)}


def request_tracing(slos: Sequence[DashboardSlo]) -> dict[str, Any]:
    del slos  # the tracing dashboard is the same for any spec
    widgets = [
        _text(
            "# Request tracing\nType a correlation ID into the **Correlation ID** box; "
            "the log table below follows it across services."
        ),
        _graph(
            "Latency breakdown p95: queue / startup / execution (ms)",
            [_metric("QueueAge"), _metric("RunnerStartupTime"), _metric("RunnerExecutionTime")],
            stat="p95",
            stacked=True,
        ),
        _graph(
            "Trace coverage: vocabulary events with a propagated correlation ID (target 1.0)",
            [_metric(conventions.METRIC_TRACE_COVERAGE, label="trace coverage")],
            annotations={"horizontal": [{"label": "target", "value": 1.0}]},
            yAxis={"left": {"min": 0, "max": 1}},
        ),
        _graph(
            "Ingest: events processed / skipped / malformed records (per minute)",
            [
                _metric(conventions.METRIC_EVENTS_PROCESSED, label="events processed"),
                _metric(conventions.METRIC_EVENTS_SKIPPED, label="events skipped (any kind)"),
                _metric(conventions.METRIC_MALFORMED_RECORDS, label="malformed records"),
            ],
            stat="Sum",
        ),
        _logs(
            "Error locations (service, action)",
            'filter level = "ERROR" or metadata.status >= 500 '
            "| stats count(*) as errors by service, metadata.action | sort errors desc | limit 20",
        ),
        _logs(
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
        "widgets": _layout(widgets),
    }


def scorecard_section(slos: Sequence[DashboardSlo], targets: Any) -> list[dict[str, Any]]:
    """`slo scorecard` as widgets: the Average of the per-minute SLOCompliant over the time range is the share of
    minutes compliant; SLOMonthBudgetUsed is the calendar month's budget spent so far. MTTR and trace coverage
    sit on the reliability and request-tracing dashboards."""
    compliant = _single(
        f"Compliant time: share of minutes at objective over the range (target {targets.compliance_time:g})",
        [_metric("SLOCompliant", "SLO", slo.name, label=slo.name) for slo in slos],
    )
    compliant["properties"]["setPeriodToTimeRange"] = True
    return [
        _text(
            f"# Scorecard\nTargets from the spec: compliant ≥ {targets.compliance_time:g} of minutes, month budget "
            f"used ≤ {targets.budget_use:g}, MTTR ≤ {targets.mttr // 60} min (*Reliability*), trace coverage ≥ "
            f"{targets.trace_coverage:g} (*Request tracing*). Set the range to a month to read the month."
        ),
        compliant,
        _graph(
            "Month budget used (share of the calendar month's error budget)",
            [_metric("SLOMonthBudgetUsed", "SLO", slo.name, label=slo.name) for slo in slos],
            stat="Maximum",
            period=300,
            annotations={"horizontal": [{"label": "target", "value": targets.budget_use}]},
        ),
    ]


def slo_budgets(
    slos: Sequence[DashboardSlo], thresholds: Sequence[BurnThreshold], targets: Any = None
) -> dict[str, Any]:
    from processors.spec.model import Targets

    widgets: list[dict[str, Any]] = [
        *scorecard_section(slos, targets or Targets()),
        _text("# SLO & error budgets\nBurn-rate lines are the multi-window alert thresholds (SRE Workbook)."),
    ]
    burn_lines = [{"label": f"{t.window} burn {t.factor:g}x", "value": t.factor} for t in thresholds]
    for slo in slos:
        widgets.append(_text(f"## {slo.name} (objective {slo.objective:g})"))
        widgets.append(
            _graph(
                f"{slo.name}: attainment",
                [_metric("SLOAttainment", "SLO", slo.name)],
                annotations={"horizontal": [_objective_line(slo)]},
            )
        )
        widgets.append(
            _graph(
                f"{slo.name}: burn rate",
                [_metric("SLOBurnRate", "SLO", slo.name, "Window", t.window) for t in thresholds],
                stat="Maximum",
                annotations={"horizontal": burn_lines},
            )
        )
        widgets.append(
            _graph(f"{slo.name}: error budget remaining", [_metric("SLOBudgetRemaining", "SLO", slo.name)])
        )
        widgets.append(
            _graph(
                f"{slo.name}: violations (minutes below objective)",
                [
                    [*_metric("SLOAttainment", "SLO", slo.name, id="a", visible=False)],
                    [{"expression": f"IF(a < {slo.objective!r}, 1, 0)", "id": "v", "label": "below"}],
                ],
                stat="Average",
            )
        )
    return {"widgets": _layout(widgets)}


def performance_trends(slos: Sequence[DashboardSlo]) -> dict[str, Any]:
    names = conventions.SLO_METRIC_NAMES
    per_slo = [
        _metric(names[slo.name], yAxis="right", label=f"{names[slo.name]} (ms)")
        if names[slo.name].endswith("P95")
        else _metric(names[slo.name], label=names[slo.name])
        for slo in slos
        if slo.name in names
    ]
    widgets = [
        _text("# Performance trends"),
        _graph(
            "Queue age p50 / p95 / p99 (ms)",
            [_metric("QueueAge", stat=stat, label=stat) for stat in ("p50", "p95", "p99")],
            period=300,
        ),
        _graph(
            "Runner startup p50 / p95 / p99 (ms)",
            [_metric("RunnerStartupTime", stat=stat, label=stat) for stat in ("p50", "p95", "p99")],
            period=300,
        ),
        _graph(
            "Cache hit trend",
            [*_cache_hit_ratio("cache hit ratio (hits / lookups)"), _metric("SLOCacheHitRate", stat="Average")],
            period=HOUR,
        ),
        # The execution digest isn't split by cache outcome, so this sets build time beside the hit ratio.
        _graph(
            "Build time p50 / p95 (ms) vs cache hit ratio (right)",
            [
                _metric("RunnerExecutionTime", stat="p50", label="build time p50 (ms)"),
                _metric("RunnerExecutionTime", stat="p95", label="build time p95 (ms)"),
                *_cache_hit_ratio("cache hit ratio", yAxis="right"),
            ],
            period=300,
            yAxis={"left": {"label": "ms", "min": 0}, "right": {"label": "ratio", "min": 0, "max": 1}},
        ),
        _graph("Cost per build (USD)", [_metric("CostPerBuild")], period=HOUR),
        _graph(
            "SLO indicators (ratios; latency ms on the right)",
            per_slo,
            period=300,
            yAxis={"left": {"label": "ratio"}, "right": {"label": "ms", "min": 0}},
        ),
    ]
    return {"widgets": _layout(widgets)}


def reliability(slos: Sequence[DashboardSlo]) -> dict[str, Any]:
    # MTTR is emitted in Seconds, overall (service only) and per SLO (dimension SLO): shown in minutes.
    mttr = [_hidden("MTTR", "mttr"), _expression("mttr / 60", "mttr_min", "all SLOs (minutes)")]
    for i, slo in enumerate(slos):
        mttr.append(_hidden("MTTR", f"mttr{i}", "SLO", slo.name))
        mttr.append(_expression(f"mttr{i} / 60", f"mttr{i}_min", f"{slo.name} (minutes)"))
    widgets = [
        _text("# Reliability"),
        _graph("MTTR (minutes)", mttr, period=HOUR),
        _graph(
            "Orphan rate and orphaned runners",
            [
                _metric("SLOOrphanRate", label="orphan-rate attainment"),
                _metric("OrphanedRunners", stat="Sum", yAxis="right", label="orphaned runners (count)"),
            ],
            period=300,
        ),
        _graph("Failed workflow rate", [_metric("FailedWorkflowRate")], period=300),
        # Emitted only in minutes with runs: a silent reconciler draws a gap (and trips its alarm), never 100%.
        _graph(
            "Reconciliation success rate (gaps: no runs)",
            [
                _metric("ReconciliationSuccess", label="success rate"),
                _metric("ReconciliationRuns", stat="Sum", yAxis="right", label="runs (count)"),
            ],
            period=300,
            annotations={"horizontal": [{"label": "alarm", "value": RECONCILIATION_ALARM_THRESHOLD}]},
        ),
    ]
    return {"widgets": _layout(widgets)}


def build_dashboards(
    slos: Sequence[DashboardSlo], thresholds: Sequence[BurnThreshold] | None = None, targets: Any = None
) -> dict[str, dict[str, Any]]:
    """Dashboard name → body, in DASHBOARD_NAMES order; `targets` (a spec's Targets) default to the product's."""
    tiers = tuple(thresholds) if thresholds is not None else default_thresholds()
    return {
        SYSTEM_OVERVIEW: system_overview(slos),
        REQUEST_TRACING: request_tracing(slos),
        SLO_BUDGETS: slo_budgets(slos, tiers, targets),
        PERFORMANCE: performance_trends(slos),
        RELIABILITY: reliability(slos),
    }


def render(body: dict[str, Any]) -> str:
    """JSON with one widget (or variable) a line: short enough to read, diffs show which widget changed."""
    parts = []
    for key, value in body.items():
        if isinstance(value, list):
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            parts.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            parts.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def write_json(dashboards: dict[str, dict[str, Any]], out_dir: str | Path) -> list[Path]:
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in dashboards.items():
        path = directory / f"{name}.json"
        path.write_text(render(body), encoding="utf-8")
        written.append(path)
    return written


def rewrite_template(text: str, dashboards: dict[str, dict[str, Any]]) -> str:
    """The template with each GENERATED block's `|` scalar replaced by the dashboard JSON."""
    for name, body in dashboards.items():
        pattern = re.compile(
            rf"^(?P<begin>[ \t]*{re.escape(BEGIN_MARKER + name)}\n)(?P<block>.*?)"
            rf"^(?P<end>[ \t]*{re.escape(END_MARKER + name)}\n)",
            re.MULTILINE | re.DOTALL,
        )
        match = pattern.search(text)
        if match is None:
            raise DashboardError(f"template has no GENERATED markers for dashboard {name!r}")
        lines = match.group("block").splitlines(keepends=True)
        headers = [i for i, line in enumerate(lines) if line.rstrip().endswith("|")]
        if not headers:
            raise DashboardError(f"GENERATED block for dashboard {name!r} has no `|` block scalar")
        head = lines[: headers[0] + 1]
        header = head[-1]
        indent = " " * (len(header) - len(header.lstrip()) + 2)
        json_lines = [indent + line if line else line for line in render(body).splitlines()]
        block = "".join(head) + "\n".join(json_lines) + "\n"
        text = text[: match.start("block")] + block + text[match.end("block") :]
    return text


def embedded_bodies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Dashboard name → body as the decoded template holds it (the Fn::Sub string, parsed)."""
    found: dict[str, dict[str, Any]] = {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::CloudWatch::Dashboard":
            continue
        properties = resource["Properties"]
        sub = properties["DashboardBody"]["Fn::Sub"]
        body = sub[0] if isinstance(sub, list) else sub
        name = properties["DashboardName"]["Fn::Sub"].split("}-", 1)[1]
        found[name] = json.loads(body)
    return found
