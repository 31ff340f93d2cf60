"""The five CloudWatch dashboards, generated from the SLO spec: widgets.py builds widgets, build.py the
dashboards, template.py writes them into sam/template.yaml and sam/dashboards/."""

from processors.dashboards.build import build_dashboards
from processors.dashboards.exceptions import DashboardError
from processors.dashboards.template import embedded_bodies, render, rewrite_template
from processors.dashboards.widgets import (
    DASHBOARD_NAMES,
    RECONCILIATION_ALARM_THRESHOLD,
    SERVICE_NAME,
    BurnThreshold,
    DashboardSlo,
    default_thresholds,
    slos_from_spec,
)

__all__ = [
    "DASHBOARD_NAMES",
    "RECONCILIATION_ALARM_THRESHOLD",
    "SERVICE_NAME",
    "BurnThreshold",
    "DashboardError",
    "DashboardSlo",
    "build_dashboards",
    "default_thresholds",
    "embedded_bodies",
    "render",
    "rewrite_template",
    "slos_from_spec",
]
