"""The terminal dashboard: one row per SLO from a status document, in colour and Unicode or plain ASCII."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from processors.rendering.dashboard import budget_bar, plain_mode, render_dashboard, render_groups
from processors.rendering.summary import firing_alerts, headline_burn, verdict

RATES = {"5m": 0.0, "30m": 0.0, "1h": 0.0, "2h": 0.0, "6h": 0.0, "1d": 0.0, "3d": 0.0}


def slo(name: str, objective: float, good: int, total: int, consumed: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "objective": objective,
        "window": "30d",
        "good": good,
        "total": total,
        "attainment": None if total == 0 else round(good / total, 6),
        "budget": {"consumed": consumed, "remaining": round(1 - consumed, 4)},
        "burn_rates": dict(RATES, **extra.pop("burn_rates", {})),
        **extra,
    }


STATUS: dict[str, Any] = {
    "at": "2026-10-01T06:00:00Z",
    "slos": [
        slo(
            "queue-latency", 0.999, 9990, 10000, 0.2, latency_ms={"p50": 812.0, "p95": 4079.5, "p99": 7251.0},
            burn_rates={"6h": 0.4},
        ),
        slo("cache-hit-rate", 0.95, 88, 96, 1.6667, burn_rates={"3d": 1.67},
            alerts={"burn": {"level": "ticket", "tier": "3d/6h", "since": 1790828100, "suppressed": []},
                    "budget": {"level": "exhausted", "since": 1790813700}, "no_data": {"firing": False}}),
        slo("deploy-success", 0.995, 1911, 1962, 0.6, burn_rates={"1h": 1.17}),
        slo("orphan-rate", 0.999, 0, 0, 0.0),
        slo("api-availability", 0.999, 9544, 9592, 5.0, burn_rates={"1h": 15.2, "5m": 176.0, "3d": 5.0},
            alerts=[{"slo": "api-availability", "kind": "burn_rate", "severity": "page", "tier": "1h/5m",
                     "state": "firing", "at": "2026-10-01T04:01:00Z", "burn_rates": {"1h": 15.2, "5m": 176.0},
                     "suppressed": ["6h/30m"], "exemplars": ["x"]}]),
    ],
}


def render(**console_options: Any) -> str:
    console = Console(record=True, width=100, file=io.StringIO(), **console_options)
    render_dashboard(STATUS, console)
    return console.export_text()


def test_every_slo_gets_a_row_with_target_attainment_verdict_budget_and_burn() -> None:
    text = render()
    rows = {line.split()[0]: line for line in text.splitlines() if line.split() and line.split()[0] in
            {s["name"] for s in STATUS["slos"]}}
    assert set(rows) == {s["name"] for s in STATUS["slos"]}
    assert "99.9%" in rows["queue-latency"] and "99.90%" in rows["queue-latency"] and "✅" in rows["queue-latency"]
    assert "4,080 ms" in rows["queue-latency"], "latency SLOs show their p95"
    cache = rows["cache-hit-rate"]
    assert "❌" in cache and "167%" in cache and "ticket 3d/6h" in cache
    assert "⚠️" in rows["deploy-success"] and " 60% " in rows["deploy-success"]
    assert "no data" in rows["orphan-rate"] and "✅" not in rows["orphan-rate"], "no data is never a pass"
    assert "×15.2 1h" in rows["api-availability"], "the firing tier's long window, not the highest rate"
    assert "page 1h/5m" in rows["api-availability"]
    assert "SLO status at 2026-10-01T06:00:00Z" in text


def test_firing_alerts_are_listed_under_the_table_with_their_start() -> None:
    text = render()
    assert "api-availability: page 1h/5m since 10-01 04:01Z" in text
    assert "cache-hit-rate: ticket 3d/6h since 10-01 04:15Z; budget exhausted since 10-01 00:15Z" in text


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"no_color": True}, id="NO_COLOR falls back to ASCII"),
        pytest.param({"file": io.TextIOWrapper(io.BytesIO(), encoding="latin-1")}, id="a latin-1 console is ASCII"),
    ],
)
def test_a_console_without_colour_or_utf8_gets_plain_ascii(options: dict[str, Any]) -> None:
    console = Console(record=True, width=100, **({"file": io.StringIO()} | options))
    render_dashboard(STATUS, console)
    text = console.export_text()
    assert text.isascii(), [line for line in text.splitlines() if not line.isascii()]
    assert "[##........]" in text  # queue-latency: 20% of the budget
    assert "[##########]" in text
    for word in ("OK", "WARN", "FAIL"):
        assert f" {word} " in text
    assert "x15.2 1h" in text


@pytest.mark.parametrize(
    ("environ", "plain"),
    [
        pytest.param({"LANG": "C"}, True, id="LANG=C on a terminal is ASCII"),
        pytest.param({"LANG": "de_DE.ISO-8859-1"}, True, id="a latin-1 locale is ASCII"),
        pytest.param({"LC_ALL": "C.UTF-8", "LANG": "C"}, False, id="LC_ALL wins over LANG"),
        pytest.param({"LANG": "en_US.utf8"}, False, id="utf8 spelled without a dash is UTF-8"),
        pytest.param({}, False, id="no locale set trusts the stream's encoding"),
    ],
)
def test_a_terminal_follows_the_locale(environ: dict[str, str], plain: bool) -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    assert plain_mode(console, environ) is plain


def test_the_dashboard_fits_in_100_columns_in_both_modes() -> None:
    for options in ({}, {"no_color": True}):
        text = render(**options)
        assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= 100


def test_an_empty_status_document_says_so() -> None:
    console = Console(record=True, width=100, file=io.StringIO())
    render_dashboard({"at": "2026-10-01T06:00:00Z", "slos": []}, console)
    assert "no SLOs" in console.export_text()


@pytest.mark.parametrize(
    ("consumed", "bar"),
    [
        (0.0, "[..........]"),
        (0.5, "[#####.....]"),
        (0.04, "[..........]"),
        (1.7, "[##########]"),
        (-0.3, "[..........]"),
    ],
)
def test_the_ascii_budget_bar_is_clamped_to_ten_cells(consumed: float, bar: str) -> None:
    assert budget_bar(consumed, ascii_only=True) == bar


def test_the_unicode_budget_bar_has_the_same_number_of_cells() -> None:
    assert budget_bar(0.3, ascii_only=False) == "███░░░░░░░"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(slo("a", 0.999, 1, 1, 0.1), "ok", id="a little budget used is ok"),
        pytest.param(slo("a", 0.999, 1, 1, 0.5), "warn", id="half the budget used is a warning"),
        pytest.param(slo("a", 0.999, 1, 1, 1.0), "fail", id="the whole budget used fails"),
        pytest.param(
            slo("a", 0.999, 1, 1, 0.0, alerts={"burn": {"level": "page", "tier": "1h/5m"}}),
            "fail",
            id="a firing page fails even with budget left",
        ),
        pytest.param(
            slo("a", 0.999, 1, 1, 0.0, alerts=[{"kind": "burn_rate", "severity": "ticket", "state": "firing"}]),
            "warn",
            id="a firing ticket is a warning",
        ),
        pytest.param(
            slo("a", 0.999, 1, 1, 0.0, alerts=[{"kind": "burn_rate", "severity": "page", "state": "resolved"}]),
            "ok",
            id="a resolved alert is no alert",
        ),
        pytest.param(slo("a", 0.999, 0, 0, 0.0), "nodata", id="no events is no data, never ok"),
        pytest.param(
            slo("a", 0.999, 0, 0, 0.0, alerts=[{"kind": "no_data", "severity": "ticket", "state": "firing"}]),
            "warn",
            id="a firing no-data alert is a warning",
        ),
    ],
)
def test_verdicts(entry: dict[str, Any], expected: str) -> None:
    assert verdict(entry) == expected


def test_both_shapes_of_alerts_name_the_same_firing_alerts() -> None:
    state = {"burn": {"level": "page", "tier": "1h/5m", "since": 0}, "budget": {"level": "critical"},
             "no_data": {"firing": True}}
    records = [
        {"kind": "budget", "severity": "critical", "state": "firing"},
        {"kind": "burn_rate", "severity": "page", "tier": "1h/5m", "state": "firing"},
        {"kind": "no_data", "severity": "ticket", "state": "firing"},
    ]
    from_state = [a.label for a in firing_alerts({"alerts": state})]
    from_records = [a.label for a in firing_alerts({"alerts": records})]
    assert from_state == from_records == ["page 1h/5m", "no data", "budget critical"]


def test_without_a_firing_tier_the_headline_is_the_highest_burn_rate() -> None:
    assert headline_burn(slo("a", 0.999, 1, 1, 0.0, burn_rates={"6h": 2.0, "5m": 3.5})) == ("5m", 3.5)
    assert headline_burn({"burn_rates": {}}) is None


@pytest.mark.parametrize(
    ("coverage", "data_from", "note"),
    [
        ([1.0, 1.0], "2026-09-01T00:00:00Z", None),
        ([0.1, 0.1], "2026-09-28T00:00:00Z", "Data since 09-28 00:00Z covers 10% of each SLO window"),
        ([0.1, 0.4], "2026-09-28T00:00:00Z", "covers 10%–40% of each SLO window"),
        ([0.0, 0.0], None, "No data in the SLO windows."),
    ],
)
def test_the_header_says_how_much_of_each_window_the_data_covers(
    coverage: list[float], data_from: str | None, note: str | None
) -> None:
    status = {"at": "2026-10-01T00:00:00Z", "data_from": data_from,
              "slos": [dict(slo(f"s{i}", 0.999, 1, 1, 0.0), data_coverage=c) for i, c in enumerate(coverage)]}
    console = Console(record=True, width=100, file=io.StringIO())
    render_dashboard(status, console)
    head = console.export_text().splitlines()
    assert head[0].strip() == "SLO status at 2026-10-01T00:00:00Z"
    if note is None:
        assert head[1].split()[0] == "SLO", "no note under a full history"
    else:
        assert note in head[1]


def test_a_group_named_by_a_logged_value_is_shown_with_its_control_characters_escaped() -> None:
    # group names come from log fields (group_by): a newline or escape would split the row or clear the screen
    grouped = dict(slo("api-availability", 0.999, 9, 10, 0.1), group_by=["repository"], group_limit=100,
                   groups=[dict(slo("api-availability", 0.999, 9, 10, 0.1), group="acme/\x1b[2Jweb\nx")])
    console = Console(record=True, width=100, file=io.StringIO())
    render_groups({"at": STATUS["at"], "slos": [grouped]}, "repository", console)
    text = console.export_text()
    assert "\x1b" not in text and "acme/\\x1b[2Jweb\\x0ax" in text
