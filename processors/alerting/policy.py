"""The alert policy as pure signals: which burn-rate tiers fire, the budget level, and whether data stopped.

A tier fires when both its long and short burn rates reach its factor (Sloth / SRE Workbook
multi-window, multi-burn-rate) and its long window holds at least `min_bad_events` bad events, so one
failure among a handful of requests can't page anyone (docs/alerting.md argues the number).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from processors.evaluating.evaluate import alert_policy
from processors.evaluating.types import SloEvaluation
from processors.spec.model import AlertPolicy, BurnRateTier

# Burn rates and thresholds are ratios of floats: 1 bad in 1000 at 0.999 must count as burn 1.0.
RELATIVE_TOLERANCE = 1e-9
# A budget level clears only once consumption falls this far (a fraction of the budget) below its threshold,
# so consumption hovering at 50% doesn't flap warning / resolved as single events age out of the window.
BUDGET_HYSTERESIS = 0.02


def at_least(value: float, threshold: float) -> bool:
    return value >= threshold - RELATIVE_TOLERANCE * max(abs(threshold), 1.0)


@dataclass(frozen=True)
class TierReading:
    tier: BurnRateTier
    long_burn: float
    short_burn: float
    long_bad: int
    min_bad_events: int

    @property
    def name(self) -> str:
        return self.tier.name

    @property
    def burning(self) -> bool:
        return at_least(self.long_burn, self.tier.factor) and at_least(self.short_burn, self.tier.factor)

    @property
    def firing(self) -> bool:
        return self.burning and self.long_bad >= self.min_bad_events

    @property
    def holding(self) -> bool:
        """Still burning above the clear threshold (factor × clear_ratio): an open tier stays open."""
        threshold = self.tier.factor * self.tier.clear_ratio
        above = at_least(self.long_burn, threshold) and at_least(self.short_burn, threshold)
        return above and self.long_bad >= self.min_bad_events

    @property
    def gated(self) -> bool:
        """Burning fast enough, but on too few bad events to be trusted."""
        return self.burning and not self.firing


@dataclass(frozen=True)
class Signals:
    slo: str
    policy: AlertPolicy
    tiers: tuple[TierReading, ...]
    budget_level: str | None
    silent: bool  # no events over the policy's no_data_after (always False when that is off)

    def firing(self, severity: str | None = None) -> tuple[TierReading, ...]:
        return tuple(r for r in self.tiers if r.firing and (severity is None or r.tier.severity == severity))

    def holding(self, severity: str) -> tuple[TierReading, ...]:
        return tuple(r for r in self.tiers if r.holding and r.tier.severity == severity)

    def reading(self, tier_name: str | None) -> TierReading | None:
        return next((r for r in self.tiers if r.name == tier_name), None)


def most_severe(readings: Iterable[TierReading]) -> TierReading | None:
    """The tier with the highest factor; on a tie, the shorter long window (it reacts faster)."""
    return max(readings, key=lambda r: (r.tier.factor, -r.tier.long_window), default=None)


def budget_level(
    consumed: float, thresholds: Sequence[tuple[str, float]], previous: str | None = None
) -> str | None:
    """The highest budget level reached; a level held before stays until consumption drops below it − 2%."""
    reached = None
    for name, threshold in sorted(thresholds, key=lambda item: item[1]):
        holding = name == previous and consumed > threshold - BUDGET_HYSTERESIS
        if at_least(consumed, threshold) or holding:
            reached = name
    return reached


def read_signals(evaluation: SloEvaluation, previous_budget_level: str | None = None) -> Signals:
    policy = alert_policy(evaluation.slo)
    readings = tuple(
        TierReading(
            tier=tier,
            long_burn=evaluation.burn(tier.long_window),
            short_burn=evaluation.burn(tier.short_window),
            long_bad=evaluation.bad(tier.long_window),
            min_bad_events=policy.min_bad_events,
        )
        for tier in policy.tiers
    )
    silent = False
    if policy.no_data_after:
        window = evaluation.windows.get(policy.no_data_after)
        silent = window is not None and window.total == 0
    return Signals(
        slo=evaluation.name,
        policy=policy,
        tiers=readings,
        # Budget alerts are gated on the window's total events only (docs/alerting.md): an exhausted budget is a
        # fact however few bad events spent it, but over a handful of events one failure is the whole budget.
        budget_level=(
            budget_level(evaluation.consumed, policy.budget_thresholds, previous_budget_level)
            if evaluation.counts.total >= policy.budget_min_events
            else None
        ),
        silent=silent,
    )
