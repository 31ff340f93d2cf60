"""The status document: one evaluation as the JSON `slo status` prints and dashboards read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from processors import conventions
from processors.evaluating.types import (
    Evaluation,
    GroupedStatus,
    GroupStatus,
    SloEvaluation,
    SloStatus,
    StatusDocument,
)
from processors.timeutil import iso_seconds


def _round(value: float, digits: int = 4) -> float:
    return round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def slo_status(slo: SloEvaluation, alerts: Mapping[str, Any] | None = None) -> SloStatus:
    status: SloStatus = {
        "name": slo.name,
        "objective": slo.slo.objective,
        "window": slo.slo.window_label,
        "good": slo.counts.good,
        "total": slo.counts.total,
        "attainment": None if slo.attainment is None else _round(slo.attainment, 6),
        "budget": {"consumed": _round(slo.consumed), "remaining": _round(slo.remaining)},
        "burn_rates": {label: _round(rate) for label, rate in slo.burn_rates_by_label().items()},
        "kind": slo.slo.kind,
        "window_start": iso_seconds(slo.window_start),
        # seconds until the remaining budget is gone at the 1h / 6h burn rate; None when not burning
        "forecast": {label: None if s is None else round(s) for label, s in slo.forecast.items()},
        "mttr_seconds": None if slo.mttr_seconds is None else round(slo.mttr_seconds),
    }
    if slo.latency_ms is not None:
        status["latency_ms"] = dict(slo.latency_ms)
    if alerts is not None:
        status["alerts"] = dict(alerts)
    if slo.slo.group_by:
        status.update(grouped_status(slo))
    return status


def group_status(group: SloEvaluation) -> GroupStatus:
    """One group of a grouped SLO: its own counts, attainment, budget and burn rates."""
    return {
        "group": group.group,
        "good": group.counts.good,
        "total": group.counts.total,
        "attainment": None if group.attainment is None else _round(group.attainment, 6),
        "budget": {"consumed": _round(group.consumed), "remaining": _round(group.remaining)},
        "burn_rates": {label: _round(rate) for label, rate in group.burn_rates_by_label().items()},
    }


def grouped_status(slo: SloEvaluation) -> GroupedStatus:
    """A grouped SLO's groups, worst first, and what its group_limit folded into GROUP_OTHER."""
    other = next((g for g in slo.groups if g.group == conventions.GROUP_OTHER), None)
    return {
        "group_by": list(slo.slo.group_by),
        "group_limit": slo.slo.group_limit,
        "groups_tracked": sum(1 for g in slo.groups if g.group != conventions.GROUP_OTHER),
        "folded_events": other.counts.total if other is not None else 0,
        "groups": [group_status(g) for g in slo.worst_groups()],
    }


def status_document(
    evaluation: Evaluation, at: int | None = None, alert_states: Mapping[str, Mapping[str, Any]] | None = None
) -> StatusDocument:
    """{"at", "slos": [...]} with the fixed field names; `alert_states` (slo -> state) adds "alerts"."""
    moment = evaluation.now if at is None else at
    return {
        "at": iso_seconds(moment),
        "slos": [
            slo_status(slo, None if alert_states is None else alert_states.get(slo.name, {}))
            for slo in evaluation.slos
        ],
    }
