"""Alert history: one row per incident from the alert log (opened, closed, peak tier, duration to where the
condition cleared, notifications sent, silenced), and its table in the report."""

from __future__ import annotations

from processors.alerting.history import incident_history
from processors.rendering import build_report
from processors.timeutil import iso_seconds
from tests.alert_fakes import Phase
from tests.alert_scenarios import RATE, STEP, T0, Scenario, backtest
from tests.unit.test_report import report_data


def test_re_triggers_fold_into_one_incident_whose_duration_ends_where_the_condition_cleared() -> None:
    outage = Phase(2, RATE, 1.0)
    run = backtest(Scenario("twice", (outage, Phase(40, RATE), outage, Phase(300, RATE)), minutes=150))
    (row,) = incident_history(run.store.log)
    assert row.opened == T0 + STEP and row.retriggers == 1
    assert row.notifications == len(run.notifier.sent) == 4  # firing, resolved, retriggered, resolved
    assert row.peak_severity == "page" and row.peak_tier == "1h/5m"  # the highest factor that fired
    final = run.store.log[-1]
    assert row.closed == final["at_epoch"] and row.cleared == final["cleared_at_epoch"]
    assert row.duration == final["cleared_at_epoch"] - (T0 + STEP) and not row.silenced


def test_the_report_shows_one_history_row_per_incident_and_the_corrections() -> None:
    outage = Phase(2, RATE, 1.0)
    run = backtest(Scenario("once", (outage, Phase(300, RATE)), minutes=60))
    correction = {"id": "api-availability-v1", "slo": "api-availability", "version": 1, "start": T0,
                  "end": T0 + 600, "reason": "load test", "created_by": "ann", "created_at": T0}
    since, until = iso_seconds(T0), iso_seconds(T0 + 3 * 3600)
    html = build_report(report_data(alert_log=run.store.log, corrections=[correction], since=since, until=until))
    assert "<h3>Alert history</h3>" in html
    assert html.count("<tr><td>api-availability</td>") == 1
    assert "page 1h/5m" in html and "load test" in html and "ann" in html
