"""CloudWatch dashboard widgets: metric references, graphs, single values, Logs Insights and text panels,
and the grid they are laid out on. Bodies are CloudFormation `Fn::Sub` strings: `${AWS::Region}`,
`${MetricsNamespace}`, `${JobQueueSearchTerm}` and `${TraceQueryLogGroup}` are filled in by the stack."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from processors.spec import default_tiers
from processors.timeutil import format_duration

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


@dataclass(frozen=True)
class DashboardSlo:
    name: str
    objective: float  # a ratio, e.g. 0.999
    metric: str = ""  # the SLO's headline metric (the spec's `metric:`), if any
    group_by: tuple[str, ...] = ()  # a grouped SLO's fields: its budget row gets a top-N widget of groups


@dataclass(frozen=True)
class BurnThreshold:
    window: str  # the SLOBurnRate Window dimension, e.g. "1h"
    factor: float  # e.g. 14.4


def slos_from_spec(spec: Any) -> tuple[DashboardSlo, ...]:
    """The (name, objective) pairs of a processors.spec.Spec."""
    return tuple(DashboardSlo(slo.name, slo.objective, slo.metric, slo.group_by) for slo in spec.slos)


def default_thresholds() -> tuple[BurnThreshold, ...]:
    """The Workbook tiers' long windows and factors (14.4, 6, 3, 1) from burn_rate_windows.yaml."""
    return tuple(BurnThreshold(format_duration(t.long_window), t.factor) for t in default_tiers())


def metric(name: str, *dimensions: str, **options: Any) -> list[Any]:
    row: list[Any] = [NAMESPACE, name, "service", SERVICE_NAME, *dimensions]
    if options:
        row.append(options)
    return row


def graph(
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


def single(title: str, metrics: list[Any], *, stat: str = "Average", period: int = 300) -> dict[str, Any]:
    widget = graph(title, metrics, stat=stat, period=period)
    widget["properties"]["view"] = "singleValue"
    return widget


def logs(title: str, query: str) -> dict[str, Any]:
    return {
        "type": "log",
        "properties": {
            "title": title,
            "region": REGION,
            "view": "table",
            "query": f"SOURCE '{TRACE_LOG_GROUP}' | {query}",
        },
    }


def text(markdown: str) -> dict[str, Any]:
    return {"type": "text", "properties": {"markdown": markdown}}


def layout(widgets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
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


def expression(expression: str, id: str, label: str, **options: Any) -> list[dict[str, Any]]:
    return [{"expression": expression, "id": id, "label": label, **options}]


def hidden(name: str, id: str, *dimensions: str, **options: Any) -> list[Any]:
    """A metric row that only feeds metric math."""
    return metric(name, *dimensions, id=id, visible=False, **options)


def cache_hit_ratio(label: str, **options: Any) -> list[list[Any]]:
    """hits / (hits + misses) from the counters' Sums: weighted by lookups at any period, unlike the
    Average of the per-minute CacheHitRate; no point where there were no lookups (0/0 draws nothing)."""
    return [
        hidden("CacheHits", "hits", stat="Sum"),
        hidden("CacheMisses", "misses", stat="Sum"),
        expression("hits / (hits + misses)", "hit_ratio", label, **options),
    ]


TOP_GROUPS: Final = 10


def top_groups(slo: DashboardSlo, metric_name: str, title: str, limit: int = TOP_GROUPS) -> dict[str, Any]:
    """A grouped SLO's worst `limit` groups by `metric_name` (per-group points, dimensions SLO and Group), as a
    CloudWatch Metrics Insights query: one line per group, ranked by the query, never a fixed list of groups."""
    query = (
        f'SELECT MAX({metric_name}) FROM SCHEMA("{NAMESPACE}", "Group", SLO, service) '
        f"WHERE SLO = '{slo.name}' GROUP BY \"Group\" ORDER BY MAX() DESC LIMIT {limit}"
    )
    return graph(title, [expression(query, "top", "")], stat="Maximum", period=300)


def objective_line(slo: DashboardSlo) -> dict[str, Any]:
    return {"label": f"objective {slo.objective:g}", "value": slo.objective}
