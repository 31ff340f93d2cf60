"""The alert policy and state machine as tables: burn rates → signals; state + signals → transitions."""

from __future__ import annotations

import dataclasses

import pytest

from processors.alerting import advance, budget_level, initial_state, most_severe, read_signals
from processors.counting import Counts
from processors.evaluating.types import SloEvaluation
from processors.spec import Slo, load_spec

NOW = 1_790_000_040
H, M, D = 3600, 60, 86400


@pytest.fixture(scope="module")
def slo() -> Slo:
    return load_spec().slo("api-availability")


def evaluation(slo: Slo, burns: dict[int, float], bad: int = 100, consumed: float = 0.1) -> SloEvaluation:
    """An evaluation with the given burn rates per window length and `bad` bad events in every window."""
    lengths = (5 * M, 30 * M, H, 2 * H, 6 * H, D, 3 * D)
    return SloEvaluation(
        slo=slo,
        now=NOW,
        window_start=NOW - 30 * D,
        window_seconds=30 * D,
        counts=Counts(100_000 - bad, 100_000),
        attainment=1 - bad / 100_000,
        consumed=consumed,
        remaining=1 - consumed,
        windows={n: Counts(10_000 - bad, 10_000) for n in lengths},
        burn_rates={n: burns.get(n, 0.0) for n in lengths},
        forecast={"1h": None, "6h": None},
    )


FAST = {H: 15.0, 5 * M: 20.0}
SLOW = {6 * H: 7.0, 30 * M: 7.0}
TICKET = {D: 3.5, 2 * H: 3.5}
ALL = {**FAST, **SLOW, **TICKET, 3 * D: 1.2, 6 * H: 7.0}


@pytest.mark.parametrize(
    ("case", "burns", "bad", "firing", "gated"),
    [
        ("no burn fires nothing", {}, 100, [], []),
        ("a fast burn on both windows fires 1h/5m", FAST, 100, ["1h/5m"], []),
        ("a fast long window with a quiet short window has already recovered", {H: 15.0}, 100, [], []),
        (
            "a burn exactly at the factor fires (tolerance, not float luck)",
            {H: 14.4, 5 * M: 14.4},
            100,
            ["1h/5m"],
            [],
        ),
        ("four bad events can't page however fast they burn", FAST, 4, [], ["1h/5m"]),
        ("every tier burning fires every tier", ALL, 100, ["1h/5m", "6h/30m", "1d/2h", "3d/6h"], []),
    ],
)
def test_which_tiers_fire(
    slo: Slo, case: str, burns: dict[int, float], bad: int, firing: list[str], gated: list[str]
) -> None:
    signals = read_signals(evaluation(slo, burns, bad))
    assert [r.name for r in signals.firing()] == firing, case
    assert [r.name for r in signals.tiers if r.gated] == gated, case


def test_the_most_severe_tier_is_the_highest_factor(slo: Slo) -> None:
    signals = read_signals(evaluation(slo, ALL))
    assert most_severe(signals.firing()).name == "1h/5m"  # type: ignore[union-attr]
    assert most_severe(signals.firing("ticket")).name == "1d/2h"  # type: ignore[union-attr]
    assert most_severe(()) is None


@pytest.mark.parametrize(
    ("case", "consumed", "previous", "expected"),
    [
        ("under half the budget is no level", 0.49, None, None),
        ("half the budget is a warning", 0.5, None, "warning"),
        ("four fifths is critical", 0.8, "warning", "critical"),
        ("all of it is exhausted, skipping the levels between", 1.3, None, "exhausted"),
        ("a critical level holds just under its threshold", 0.79, "critical", "critical"),
        ("a critical level clears two points under its threshold", 0.77, "critical", "warning"),
    ],
)
def test_budget_levels(case: str, consumed: float, previous: str | None, expected: str | None) -> None:
    thresholds = (("warning", 0.5), ("critical", 0.8), ("exhausted", 1.0))
    assert budget_level(consumed, thresholds, previous) == expected, case


def step(slo: Slo, state, burns, bad=100, consumed=0.1):  # type: ignore[no-untyped-def]
    current = evaluation(slo, burns, bad, consumed)
    return advance(current, read_signals(current, state["budget"]["level"]), state)


def burn_state(level: str, tier: str | None, **more: int) -> dict:  # type: ignore[type-arg]
    """A burn state; `more` sets hysteresis fields, e.g. cleared_at (a hold running since then)."""
    state = initial_state()
    state["burn"] = {"level": level, "tier": tier, "since": NOW - 600, "suppressed": []}  # type: ignore[typeddict-item]
    if level != "ok":
        state["burn"]["incident"] = NOW - 600
    state["burn"].update(more)  # type: ignore[typeddict-item]
    return state  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("case", "before", "burns", "expected"),
    [
        ("a fast burn from quiet pages", ("ok", None), FAST, [("page", "firing", "1h/5m", True)]),
        ("a page that keeps firing sends nothing", ("page", "1h/5m"), FAST, []),
        ("a page whose fast tier calms while 6h/30m holds stays quiet", ("page", "1h/5m"), SLOW, []),
        (
            "a page gaining a more severe tier records an unsent escalation",
            ("page", "6h/30m"),
            {**FAST, **SLOW},
            [("page", "escalated", "1h/5m", False)],
        ),
        (
            "a page whose page tiers stop is held open for the tier's hold (its short window)",
            ("page", "6h/30m"),
            TICKET,
            [],
        ),
        (
            "a page whose short window dips under the factor but not under half of it stays open",
            ("page", "1h/5m"),
            {H: 15.0, 5 * M: 8.0},
            [],
        ),
        (
            "a page whose short window falls under half the factor starts its hold",
            ("page", "1h/5m"),
            {H: 15.0, 5 * M: 7.0},
            [],
        ),
        (
            "a page whose page tiers stopped a hold ago downgrades once while a ticket tier fires",
            ("page", "6h/30m", {"cleared_at": NOW - 30 * M}),
            TICKET,
            [("page", "downgraded", "1d/2h", True)],
        ),
        (
            "a page held for less than its hold sends nothing",
            ("page", "1h/5m", {"cleared_at": NOW - 4 * M}),
            {},
            [],
        ),
        (
            "a page with nothing left firing a hold ago resolves",
            ("page", "1h/5m", {"cleared_at": NOW - 5 * M}),
            {},
            [("page", "resolved", "1h/5m", True)],
        ),
        (
            "a fast burn within the cool-off of the last page re-triggers it",
            ("ok", None, {"incident": NOW - 3 * H, "page_ended_at": NOW - 59 * M, "ended_at": NOW - 59 * M}),
            FAST,
            [("page", "retriggered", "1h/5m", True)],
        ),
        (
            "a fast burn after the cool-off is a new page",
            ("ok", None, {"incident": NOW - 3 * H, "page_ended_at": NOW - H, "ended_at": NOW - H}),
            FAST,
            [("page", "firing", "1h/5m", True)],
        ),
        (
            "a ticket tier from quiet opens a ticket",
            ("ok", None),
            TICKET,
            [("ticket", "firing", "1d/2h", True)],
        ),
        (
            "a ticket turning into a fast burn pages",
            ("ticket", "1d/2h"),
            {**FAST, **TICKET},
            [("page", "firing", "1h/5m", True)],
        ),
        (
            "a ticket with nothing left firing a hold ago resolves",
            ("ticket", "1d/2h", {"cleared_at": NOW - 2 * H}),
            {},
            [("ticket", "resolved", "1d/2h", True)],
        ),
    ],
)
def test_burn_rate_transitions(slo: Slo, case: str, before, burns, expected) -> None:  # type: ignore[no-untyped-def]
    level, tier, *more = before
    _, transitions = step(slo, burn_state(level, tier, **(more[0] if more else {})), burns)
    got = [
        (t["severity"], t["state"], t.get("tier"), t["notify"])
        for t in transitions
        if t["kind"] == "burn_rate"
    ]
    assert got == expected, case


def test_a_page_names_the_suppressed_tiers_and_its_burn_rates(slo: Slo) -> None:
    state, (page,) = step(slo, initial_state(), ALL)
    assert page["suppressed"] == ["6h/30m", "1d/2h", "3d/6h"]
    assert page["burn_rates"] == {"1h": 15.0, "5m": 20.0}
    assert page["thresholds"]["factor"] == pytest.approx(14.4)
    assert page["route"] == "page" and page["id"] == f"api-availability#burn_rate#page#1h/5m#firing#{NOW}"
    assert state["burn"] == {
        "level": "page",
        "tier": "1h/5m",
        "since": NOW,
        "suppressed": page["suppressed"],
        "open_tiers": ["1h/5m", "6h/30m", "1d/2h", "3d/6h"],
        "incident": NOW,
        "cleared_at": None,
        "page_ended_at": None,
        "ended_at": None,
        "unnotified": False,
    }
    assert page["incident"] == f"api-availability#{NOW}"


def test_a_downgrade_is_flagged_and_goes_to_the_page_topic(slo: Slo) -> None:
    _, (downgrade,) = step(slo, burn_state("page", "1h/5m", cleared_at=NOW - 5 * M), TICKET)
    assert (
        downgrade["downgrade"] is True and downgrade["from_tier"] == "1h/5m" and downgrade["route"] == "page"
    )


@pytest.mark.parametrize(
    ("case", "before", "consumed", "expected"),
    [
        ("crossing half the budget opens a warning", None, 0.55, [("warning", "firing")]),
        ("staying a warning sends nothing", "warning", 0.6, []),
        ("jumping past everything fires exhausted once", None, 1.5, [("exhausted", "firing")]),
        ("recovering below the warning resolves it", "warning", 0.3, [("warning", "resolved")]),
        (
            "falling from critical to warning resolves the critical",
            "critical",
            0.6,
            [("critical", "resolved")],
        ),
    ],
)
def test_budget_transitions(slo: Slo, case: str, before: str | None, consumed: float, expected) -> None:  # type: ignore[no-untyped-def]
    state = initial_state()
    state["budget"] = {"level": before, "since": NOW - 60 if before else None}
    _, transitions = step(slo, state, {}, consumed=consumed)
    got = [(t["severity"], t["state"]) for t in transitions if t["kind"] == "budget"]
    assert got == expected, case
    assert all(t["route"] == "ticket" for t in transitions)


def test_no_data_fires_after_the_silence_and_resolves_when_data_returns(slo: Slo) -> None:
    quiet = dataclasses.replace(slo, alerting=dataclasses.replace(slo.alerting, no_data_after=600))
    silent = dataclasses.replace(evaluation(quiet, {}), windows={600: Counts(0, 0)}, burn_rates={})
    state, transitions = advance(silent, read_signals(silent), None)
    assert [(t["kind"], t["severity"], t["state"]) for t in transitions] == [("no_data", "ticket", "firing")]
    back = dataclasses.replace(silent, windows={600: Counts(3, 3)})
    _, transitions = advance(back, read_signals(back), state)
    assert [(t["kind"], t["state"]) for t in transitions] == [("no_data", "resolved")]


@pytest.mark.parametrize(
    ("case", "bad", "total", "expected"),
    [
        ("one bad event among enough events exhausts the budget: no bad-event gate", 1, 100, "exhausted"),
        ("one bad event among 99 events is too small a sample to judge", 1, 99, None),
        ("many bad events among too few events are not judged either", 50, 99, None),
    ],
)
def test_budget_alerts_are_gated_only_by_the_spec_s_minimum_total_events(
    slo: Slo, case: str, bad: int, total: int, expected: str | None
) -> None:
    base = evaluation(slo, {}, bad=bad, consumed=6.0)
    signals = read_signals(dataclasses.replace(base, counts=Counts(total - bad, total)))
    assert slo.alerting is not None and slo.alerting.budget_min_events == 100
    assert signals.budget_level == expected, case
