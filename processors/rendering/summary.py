"""One SLO's headline, read from its entry in a status document: verdict, firing alerts, burn rate to show.

Shared by the terminal dashboard and the report overview so both say the same thing about the same SLO.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from processors.timeutil import iso_seconds, parse_duration

Verdict = Literal["ok", "warn", "fail", "nodata"]
BUDGET_WARNING = 0.5  # share of the error budget consumed that turns an SLO amber


@dataclass(frozen=True)
class FiringAlert:
    kind: str  # burn_rate | budget | no_data
    severity: str  # page | ticket | warning | critical | exhausted
    tier: str | None = None  # "1h/5m" for burn-rate alerts
    since: str | None = None  # ISO 8601
    group: str = ""  # one group of a grouped SLO

    @property
    def label(self) -> str:
        if self.group:
            return f"{FiringAlert(self.kind, self.severity, self.tier).label} [{self.group}]"
        if self.kind == "burn_rate":
            return f"{self.severity} {self.tier}" if self.tier else self.severity
        if self.kind == "budget":
            return f"budget {self.severity}"
        if self.kind == "no_data":
            return "no data"
        return f"{self.kind} {self.severity}"


def firing_alerts(slo: Mapping[str, Any]) -> list[FiringAlert]:
    """The SLO's firing alerts, most severe first, from either shape of its "alerts" field.

    The stored alert state ({"burn": {"level", "tier"}, "budget": {"level"}, "no_data": {"firing"}}) and a
    list of alert-log records ({"kind", "severity", "tier", "state"}) are both understood.
    """
    alerts = slo.get("alerts")
    found: list[FiringAlert] = []
    if isinstance(alerts, Mapping):
        burn = alerts.get("burn") or {}
        if burn.get("level") in ("page", "ticket"):
            found.append(FiringAlert("burn_rate", burn["level"], burn.get("tier"), _iso(burn.get("since"))))
        budget = alerts.get("budget") or {}
        if budget.get("level"):
            found.append(FiringAlert("budget", str(budget["level"]), None, _iso(budget.get("since"))))
        no_data = alerts.get("no_data") or {}
        if no_data.get("firing"):
            found.append(FiringAlert("no_data", "ticket", None, _iso(no_data.get("since"))))
    elif isinstance(alerts, list):
        for alert in alerts:
            if isinstance(alert, Mapping) and alert.get("state", "firing") in ("firing", "escalated", "downgraded"):
                severity = "ticket" if alert.get("state") == "downgraded" else str(alert.get("severity", ""))
                found.append(FiringAlert(
                    str(alert.get("kind", "burn_rate")), severity, alert.get("tier"), _iso(alert.get("at")),
                    str(alert.get("group") or ""),
                ))
    return sorted(found, key=_severity_rank)


def headline_burn(slo: Mapping[str, Any]) -> tuple[str, float] | None:
    """(window, rate): the long window of the most severe firing burn-rate tier, else the highest rate."""
    rates = {k: float(v) for k, v in (slo.get("burn_rates") or {}).items() if isinstance(v, int | float)}
    if not rates:
        return None
    for alert in firing_alerts(slo):
        if alert.kind == "burn_rate" and alert.tier and "/" in alert.tier:
            long_window = alert.tier.split("/", 1)[0]
            if long_window in rates:
                return long_window, rates[long_window]
    window = max(rates, key=lambda label: (rates[label], -(parse_duration(label) or 0)))
    return window, rates[window]


def verdict(slo: Mapping[str, Any]) -> Verdict:
    """fail: budget spent or a page firing; warn: half the budget spent or any other alert; nodata: no events
    and no alert; else ok."""
    consumed = budget_consumed(slo)
    alerts = firing_alerts(slo)
    if not isinstance(slo.get("attainment"), int | float) and not alerts:
        return "nodata"  # nothing measured is not a pass
    if consumed >= 1.0 or any(a.kind == "burn_rate" and a.severity == "page" for a in alerts):
        return "fail"
    if consumed >= BUDGET_WARNING or alerts:
        return "warn"
    return "ok"


def budget_consumed(slo: Mapping[str, Any]) -> float:
    value = (slo.get("budget") or {}).get("consumed")
    return float(value) if isinstance(value, int | float) else 0.0


def percent(ratio: float | None, *, digits: int | None = None) -> str:
    """0.999 -> "99.9%", 0.95 -> "95%"; `digits` fixes the decimals."""
    if ratio is None:
        return "—"
    value = ratio * 100
    if digits is not None:
        return f"{value:.{digits}f}%"
    return f"{value:.4f}".rstrip("0").rstrip(".") + "%"


def attainment_text(slo: Mapping[str, Any]) -> str:
    """Attainment with one more decimal than the target shows (at least two)."""
    value = slo.get("attainment")
    if not isinstance(value, int | float):
        return "no data"
    target = percent(float(slo.get("objective", 0.0)))
    decimals = len(target.rstrip("%").partition(".")[2])
    return percent(float(value), digits=max(2, decimals + 1))


def consumed_text(consumed: float) -> str:
    value = consumed * 100
    return f"{value:.1f}%" if abs(value) < 10 else f"{value:,.0f}%"


def burn_text(burn: tuple[str, float] | None) -> str:
    if burn is None:
        return "—"
    window, rate = burn
    shown = f"{rate:.2f}" if rate < 10 else f"{rate:,.0f}" if rate >= 100 else f"{rate:.1f}"
    return f"×{shown} {window}"


def _severity_rank(alert: FiringAlert) -> tuple[int, int]:
    """Burn-rate alerts first (they name the tier to act on), then budget levels, most severe first."""
    kinds = ("burn_rate", "no_data", "budget")
    order = ("page", "exhausted", "critical", "ticket", "warning")
    return (
        kinds.index(alert.kind) if alert.kind in kinds else len(kinds),
        order.index(alert.severity) if alert.severity in order else len(order),
    )


def _iso(value: object) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return iso_seconds(value)
    return value if isinstance(value, str) else None
