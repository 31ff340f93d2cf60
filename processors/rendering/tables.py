"""The monthly report's tables as rows, for `slo report --csv DIR`: the same numbers the HTML shows."""

from __future__ import annotations

from typing import Any

from processors.rendering.types import ReportData

Table = list[list[Any]]


def report_tables(data: ReportData) -> dict[str, Table]:
    """File stem -> rows (a header row first): scorecard, incidents, compliance_days, alerts, and notes when the
    alert log holds silences or corrections. Ratios stay ratios (0.9931), durations seconds."""
    tables: dict[str, Table] = {}
    card = data.scorecard
    if card is not None:
        scorecard: Table = [[
            "slo", "objective", "window", "verdict", "compliance_time", "compliance_time_target",
            "compliance_time_verdict", "minutes_evaluated", "minutes_compliant", "budget_use", "budget_use_target",
            "budget_use_verdict", "month_good", "month_total", "pages", "mttr_seconds", "mttr_target_seconds",
            "mttr_verdict", "longest_recovery_seconds",
        ]]
        for slo in card["slos"]:
            compliance, budget, mttr = slo["compliance_time"], slo["budget_use"], slo["mttr_seconds"]
            scorecard.append([
                slo["name"], slo["objective"], slo["window"], slo["verdict"], compliance["value"],
                compliance["target"], compliance["verdict"], slo["minutes_evaluated"], slo["minutes_compliant"],
                budget["value"], budget["target"], budget["verdict"], slo["month_good"], slo["month_total"],
                len(slo["incidents"]), mttr["value"], mttr["target"], mttr["verdict"], slo["longest_recovery_seconds"],
            ])
        coverage, events = card["trace_coverage"], card["trace_events"]
        scorecard.append([
            "trace coverage", "", "", coverage["verdict"], coverage["value"], coverage["target"],
            coverage["verdict"], "", "", "", "", "", events["with_correlation_id"], events["vocabulary_events"],
            "", "", "", "", "",
        ])
        tables["scorecard"] = scorecard
        tables["incidents"] = [["slo", "fired", "ended", "seconds"]] + [
            [slo["name"], i["fired"], i["ended"] or "", i["seconds"]] for slo in card["slos"] for i in slo["incidents"]
        ]
    if data.compliance_days:
        tables["compliance_days"] = [["slo", "day", "minutes_evaluated", "minutes_compliant", "share"]] + [
            [name, day["day"], day["evaluated"], day["compliant"], "" if day["share"] is None else day["share"]]
            for name, days in data.compliance_days.items()
            for day in days
        ]
    tables["alerts"] = [["at", "slo", "kind", "severity", "tier", "state"]] + [
        [t.get("at", ""), t.get("slo", ""), t.get("kind", ""), t.get("severity", ""), t.get("tier") or "",
         t.get("state", "")]
        for t in data.alert_log
    ]
    if data.notes:
        tables["notes"] = [["from", "until", "slo", "kind", "reason", "by"]] + [
            [n.get("at", ""), n.get("until", ""), n.get("slo", ""), n.get("kind", ""), n.get("reason") or "",
             n.get("by") or ""]
            for n in data.notes
        ]
    return tables
