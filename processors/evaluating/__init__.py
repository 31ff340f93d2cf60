"""The evaluating stage: SLO attainment, error budget, burn rates and forecasts at one `now`, read
through the SliView port; `status_document` is its JSON face."""

from processors.evaluating.budget import (
    allowed_error,
    attainment,
    budget_consumed,
    burn_rate,
    exhaustion_seconds,
    window_bounds,
)
from processors.evaluating.evaluate import BURN_WINDOWS, alert_policy, evaluate, evaluate_slo, windows_to_read
from processors.evaluating.metrics import MetricPoint, evaluation_points, group_by_dimensions
from processors.evaluating.mttr import mttr_seconds, page_incidents
from processors.evaluating.status import slo_status, status_document
from processors.evaluating.types import (
    AlertStore,
    BudgetDocument,
    Evaluation,
    SliView,
    SloEvaluation,
    SloStatus,
    StatusDocument,
    Unevaluated,
)

__all__ = [
    "BURN_WINDOWS",
    "AlertStore",
    "BudgetDocument",
    "Evaluation",
    "MetricPoint",
    "SliView",
    "SloEvaluation",
    "SloStatus",
    "StatusDocument",
    "Unevaluated",
    "alert_policy",
    "allowed_error",
    "attainment",
    "budget_consumed",
    "burn_rate",
    "evaluate",
    "evaluate_slo",
    "evaluation_points",
    "exhaustion_seconds",
    "group_by_dimensions",
    "mttr_seconds",
    "page_incidents",
    "slo_status",
    "status_document",
    "window_bounds",
    "windows_to_read",
]
