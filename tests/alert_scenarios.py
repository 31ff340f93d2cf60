"""The alerting scenarios as data, and one function that backtests them and measures what an on-call sees.

`tests/unit/test_scenarios.py` asserts on these runs; `python -m tests.alert_scenarios` prints the table that
docs/alerting.md quotes (page notifications, all notifications, detection and reset times against the SRE
Workbook's formulas). Streams are generated with fixed seeds, so every figure is reproducible.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from processors.alerting import evaluate_and_record, read_signals
from processors.counting import Counts
from processors.evaluating import evaluate
from processors.spec import Slo, Spec, load_spec
from tests import runner_platform as conventions
from tests.alert_fakes import MemoryAlertStore, MemoryNotifier, Phase, SeriesView, minute_counts

STEP = conventions.MINUTE
T0 = 1_790_000_000 // conventions.DAY * conventions.DAY  # the moment the interesting part of a stream starts
HISTORY = 30 * conventions.DAY // STEP  # a month of healthy traffic first, so budgets are realistic
RATE = 20  # requests per minute


def poisson_counts(phases: Sequence[Phase], seed: int) -> list[Counts]:
    """Per-minute requests drawn Poisson(rate), each failing with the phase's error ratio (fixed seed)."""
    rng = random.Random(seed)
    counts = []
    for phase in phases:
        for _ in range(phase.minutes):
            total = _poisson(rng, phase.requests_per_minute)
            bad = sum(rng.random() < phase.error_ratio for _ in range(total))
            counts.append(Counts(total - bad, total))
    return counts


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here (≤ 100 per minute).
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass(frozen=True)
class Scenario:
    name: str
    phases: tuple[Phase, ...]
    minutes: int  # evaluations, one a minute from T0 + first
    first: int = 0
    seed: int | None = None
    poisson: bool = False  # Poisson request counts (else an even rate, binomial bad events with a seed)
    history_rate: float = RATE
    history: int = HISTORY
    slo_changes: dict[str, Any] = field(default_factory=dict)  # replaces fields of the SLO's AlertPolicy


@dataclass
class Run:
    scenario: Scenario
    slo: Slo
    view: SeriesView
    store: MemoryAlertStore
    notifier: MemoryNotifier
    condition: list[int]  # evaluation times (s after T0) where the Workbook's page condition held

    def transitions(self, **match: Any) -> list[dict[str, Any]]:
        return [t for t in self.store.log if all(t.get(k) == v for k, v in match.items())]

    def first(self, **match: Any) -> int:
        found = self.transitions(**match)
        assert found, f"no transition matching {match}"
        return int(found[0]["at_epoch"]) - T0

    def tier(self, name: str) -> Any:
        return next(t for t in self.slo.alerting.tiers if t.name == name)  # type: ignore[union-attr]

    def sent(self, **match: Any) -> list[dict[str, Any]]:
        return [dict(t) for t in self.notifier.sent if all(t.get(k) == v for k, v in match.items())]

    @property
    def pages(self) -> int:
        """New pages: notifications that open an incident on the page route (re-triggers are updates)."""
        return len(self.sent(route="page", state="firing"))


def scenario_slo(scenario: Scenario) -> Slo:
    slo = load_spec().slo(conventions.API_AVAILABILITY)  # objective 0.999, Workbook tiers
    if scenario.slo_changes:
        policy = dataclasses.replace(slo.alerting, **scenario.slo_changes)  # type: ignore[arg-type]
        slo = dataclasses.replace(slo, alerting=policy)
    return slo


def backtest(scenario: Scenario, slo: Slo | None = None) -> Run:
    """Healthy history, then the scenario's phases from T0; evaluate every minute; note the raw condition."""
    slo = slo or scenario_slo(scenario)
    phases = [Phase(scenario.history, scenario.history_rate), *scenario.phases]
    if scenario.poisson:
        assert scenario.seed is not None, "a Poisson stream needs a seed"
        series = poisson_counts(phases, scenario.seed)
    else:
        series = minute_counts(phases, seed=scenario.seed)
    store = MemoryAlertStore()
    view = SeriesView(T0 - scenario.history * STEP, {slo.name: series}, alerts=store)  # MTTR reads its log
    run = Run(scenario, slo, view, store, MemoryNotifier(), [])
    spec = Spec(slos=(slo,))
    for minute in range(scenario.first, scenario.first + scenario.minutes):
        now = T0 + minute * STEP
        evaluate_and_record(run.store, view, spec, now, run.notifier)
        if read_signals(evaluate(view, spec, now).slos[0]).firing("page"):
            run.condition.append(now - T0)
    return run


def detection_seconds(factor: float, objective: float, error_ratio: float, long_window: int) -> float:
    """SRE Workbook: time to detection = factor × (1 − objective) / error ratio × long window."""
    return factor * (1 - objective) / error_ratio * long_window


def first_evaluation_at_or_after(seconds: float) -> int:
    return math.ceil(seconds / STEP - 1e-9) * STEP


def workbook_detection(slo: Slo, error_ratio: float) -> float | None:
    """The earliest Workbook detection over the page tiers a steady error ratio can fire, in seconds."""
    times = [
        detection_seconds(t.factor, slo.objective, error_ratio, t.long_window)
        for t in slo.alerting.tiers  # type: ignore[union-attr]
        if t.severity == "page" and error_ratio / (1 - slo.objective) >= t.factor
    ]
    return min(times) if times else None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("full outage (2 h)", (Phase(120, RATE, 1.0),), minutes=60),
    Scenario("10% errors (2 h)", (Phase(120, RATE, 0.1),), minutes=60),
    Scenario("2-minute outage", (Phase(2, RATE, 1.0), Phase(600, RATE)), minutes=120),
    Scenario("10-minute outage", (Phase(10, RATE, 1.0), Phase(1000, RATE)), minutes=8 * 60),
    Scenario("45-minute outage", (Phase(45, RATE, 1.0), Phase(600, RATE)), minutes=3 * 60),
    Scenario(
        "slow burn (10x) turning into an outage",
        (Phase(300, 100, 0.01), Phase(10, 100, 1.0), Phase(300, 100)),
        first=200,
        minutes=300,
        history_rate=100,
    ),
    Scenario("2 days at 30% of budget pace", (Phase(2 * 1440, RATE, 0.0003),), minutes=2 * 1440, seed=7),
    # The flapping report: a steady 8x burn (6h/30m's factor is 6) with ordinary Poisson noise.
    Scenario(
        "flapping: 8x for 10 h, Poisson 20/min",
        (Phase(600, RATE, 0.008), Phase(8 * 60, RATE)),
        minutes=600 + 8 * 60,
        seed=16,
        poisson=True,
    ),
    Scenario(
        "near threshold at low traffic: 7x for 10 h, Poisson 5/min",
        (Phase(600, 5, 0.007), Phase(8 * 60, 5)),
        minutes=600 + 8 * 60,
        seed=16,
        poisson=True,
        history_rate=5,
    ),
    Scenario(
        "alternating: 30 min at 30x, 30 min healthy, for 6 h",
        (*tuple(p for _ in range(6) for p in (Phase(30, RATE, 0.03), Phase(30, RATE))), Phase(8 * 60, RATE)),
        minutes=6 * 60 + 8 * 60,
        seed=16,
        poisson=True,
    ),
)


# Printed by main() but not run by the test suite: three days of minute evaluations take ~40 s of CPU.
TABLE_ONLY_SCENARIOS: tuple[Scenario, ...] = (
    # The ticket report: a 1.5x burn (3d/6h's factor is 1) opened three tickets; with Poisson noise.
    Scenario(
        "ticket: 1.5x for 3 days, Poisson 20/min",
        (Phase(3 * 1440, RATE, 0.0015), Phase(12 * 60, RATE)),
        minutes=3 * 1440 + 12 * 60,
        seed=16,
        poisson=True,
    ),
)


def summary(run: Run) -> dict[str, Any]:
    """What an on-call person sees, with the Workbook's prediction beside it (times in s after T0)."""
    burning = [p for p in run.scenario.phases if p.error_ratio > 0]
    ratio = burning[0].error_ratio if burning else 0.0
    predicted = workbook_detection(run.slo, ratio) if ratio else None
    firing = run.transitions(kind="burn_rate", state="firing")
    page_ends = [
        t for t in run.transitions(kind="burn_rate", severity="page") if t["state"] in ("resolved", "downgraded")
    ]
    cleared = None
    if run.condition:
        last = run.condition[-1]
        cleared = last + STEP  # the first evaluation where the condition no longer held
    ended = int(page_ends[-1]["at_epoch"]) - T0 if page_ends else None
    return {
        "scenario": run.scenario.name,
        "pages": run.pages,
        "retriggers": len(run.sent(kind="burn_rate", state="retriggered")),
        "burn_notifications": len(run.sent(kind="burn_rate")),
        "notifications": len(run.notifier.sent),
        "tickets": len(run.sent(route="ticket", state="firing")),  # new tickets (re-triggers are updates)
        "detected": int(firing[0]["at_epoch"]) - T0 if firing else None,
        "workbook_detection": None if predicted is None else first_evaluation_at_or_after(predicted),
        "condition_cleared": cleared,
        "page_ended": ended,
        "reset_after_clear": None if ended is None or cleared is None else ended - cleared,
    }


def _minutes(value: int | None) -> str:
    return "-" if value is None else f"{value / 60:g}m"


def main() -> None:
    rows = [summary(backtest(s)) for s in (*SCENARIOS, *TABLE_ONLY_SCENARIOS)]
    print("| scenario | pages | new tickets | re-triggers | burn-rate notifications | all notifications | detected "
          "| Workbook detection | condition cleared | page ended | reset after clear |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['pages']} | {r['tickets']} | {r['retriggers']} | {r['burn_notifications']} "
            f"| {r['notifications']} "
            f"| {_minutes(r['detected'])} | {_minutes(r['workbook_detection'])} | {_minutes(r['condition_cleared'])} "
            f"| {_minutes(r['page_ended'])} | {_minutes(r['reset_after_clear'])} |"
        )


if __name__ == "__main__":
    main()
