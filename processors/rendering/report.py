"""The self-contained HTML report: one file, scripts and styles inlined, nothing fetched when it opens.

Time-series charts are drawn in the browser by uPlot (assets/, MIT, ~51 KB) from a JSON island in the page;
the cache strip, alert timeline and trace waterfall are static SVG, readable with scripts off. A
Content-Security-Policy forbids every network request, so a report opened from email or S3 stays offline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from processors.conventions import GROUP_OTHER
from processors.evaluating.mttr import page_incidents
from processors.rendering import svg
from processors.rendering.exceptions import RenderingError
from processors.rendering.summary import (
    attainment_text,
    budget_consumed,
    burn_text,
    consumed_text,
    firing_alerts,
    headline_burn,
    percent,
    verdict,
)
from processors.rendering.types import ReportData
from processors.timeutil import format_duration, iso_seconds

BURN_FLOOR = 0.01  # burn rates are drawn on a log scale; zero sits on this floor and reads "0"
UPLOT_VERSION = "1.6.32"
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
_VERDICT_WORDS = {"ok": "OK", "warn": "At risk", "fail": "Failing", "nodata": "No data"}
_STATE_WORDS = {"firing": "fired", "resolved": "resolved", "escalated": "escalated", "downgraded": "downgraded"}


@cache
def asset(name: str) -> str:
    try:
        return (resources.files("processors.rendering") / "assets" / name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise RenderingError(f"report asset {name} is missing from the install: {exc}") from exc


def build_report(data: ReportData) -> str:
    """The report as one HTML document (UTF-8 text)."""
    start, end = _range(data)
    slos = list(data.status_now.get("slos") or [])
    names = [str(slo.get("name")) for slo in slos]
    segments = svg.alert_segments(data.alert_log)
    payload = _chart_payload(data, slos, segments)
    evaluations = len(data.status_series)
    body = [
        '<pre id="report-errors" hidden></pre>',
        _ERROR_HOOK,
        "<header>",
        "<h1>SLO report</h1>",
        f'<p class="meta">{iso_seconds(start)} → {iso_seconds(end)} (UTC) · status evaluated every '
        f"{format_duration(data.step_seconds)} ({evaluations} evaluations) · "
        f"status at {escape(str(data.status_now.get('at')))}</p>",
        _GUIDE,
        "</header>",
        _overview(slos),
        *((_scorecard_section(data.scorecard), _incidents_section(data)) if data.scorecard is not None else ()),
        _alerts_section(data, segments, names, start, end),
        *(_slo_section(slo, data, start, end) for slo in slos),
        _trace_section(data),
        f'<footer>Charts by uPlot {UPLOT_VERSION} (MIT licence), inlined; the page makes no network requests. '
        "Hover a chart to read values; drag across it to zoom, double-click to reset; click a legend entry to hide "
        "a line.</footer>",
        f'<script type="application/json" id="report-data">{_json_island(payload)}</script>',
        f"<script>{asset('uPlot.iife.min.js')}</script>",
        f"<script>{asset('report.js')}</script>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>SLO report {iso_seconds(end)}</title>"
        f"<style>{asset('uPlot.min.css')}</style><style>{asset('report.css')}</style>"
        "</head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


# --- sections ---------------------------------------------------------------------------------------------


def _overview(slos: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for slo in slos:
        name = str(slo.get("name"))
        state = verdict(slo)
        consumed = budget_consumed(slo)
        fill = min(max(consumed, 0.0), 1.0) * 100
        latency = slo.get("latency_ms") or {}
        p95 = latency.get("p95")
        alerts = ", ".join(a.label for a in firing_alerts(slo)) or "—"
        rows.append(
            "<tr>"
            f'<td><a href="#{_anchor(name)}">{escape(name)}</a></td>'
            f"<td>{percent(_num(slo.get('objective')))}</td>"
            f"<td>{attainment_text(slo)}</td>"
            f'<td><span class="badge {state}">{_VERDICT_WORDS[state]}</span></td>'
            f'<td><div class="bar" title="{consumed_text(consumed)} of the error budget used">'
            f'<span class="fill {_budget_class(consumed)}" style="width:{fill:.1f}%"></span></div></td>'
            f'<td class="num">{consumed_text(consumed)}</td>'
            f'<td class="num">{burn_text(headline_burn(slo))}</td>'
            f'<td class="num">{f"{p95:,.0f} ms" if isinstance(p95, int | float) else "—"}</td>'
            f"<td>{escape(alerts)}</td>"
            "</tr>"
        )
    return (
        '<section id="overview"><h2>Overview</h2>'
        '<table class="overview" data-chart="overview" data-points="' + str(len(rows)) + '">'
        "<thead><tr><th>SLO</th><th>Target</th><th>Attained</th><th>Verdict</th><th>Error budget used</th><th></th>"
        "<th>Burn rate</th><th>p95</th><th>Alerts firing</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _alerts_section(
    data: ReportData, segments: Sequence[svg.Segment], names: Sequence[str], start: int, end: int
) -> str:
    mttr_rows = []
    for name in names:
        incidents = [(f, e) for f, e in page_incidents(data.alert_log, name) if start <= f <= end]
        ended = [e - f for f, e in incidents if e is not None]
        mttr = _minutes(sum(ended) / len(ended)) if ended else "—"
        still = sum(1 for _f, e in incidents if e is None)
        mttr_rows.append(
            f"<tr><td>{escape(name)}</td><td class='num'>{len(incidents)}</td><td class='num'>{mttr}</td>"
            f"<td class='num'>{still or '—'}</td></tr>"
        )
    log_rows = []
    for t in data.alert_log:
        rates = ", ".join(f"{w} ×{_rate(r)}" for w, r in (t.get("burn_rates") or {}).items())
        log_rows.append(
            f'<tr class="{escape(str(t.get("severity")))}"><td>{escape(str(t.get("at")))}</td>'
            f"<td>{escape(str(t.get('slo')))}</td><td>{escape(str(t.get('kind')).replace('_', ' '))}</td>"
            f"<td>{escape(str(t.get('severity')))}</td><td>{escape(str(t.get('tier') or ''))}</td>"
            f"<td>{escape(_STATE_WORDS.get(str(t.get('state')), str(t.get('state'))))}</td>"
            f"<td>{escape(rates)}</td></tr>"
        )
    log_table = (
        '<table class="log"><thead><tr><th>At (UTC)</th><th>SLO</th><th>Kind</th><th>Severity</th><th>Tier</th>'
        "<th>Event</th><th>Burn rates</th></tr></thead><tbody>" + "".join(log_rows) + "</tbody></table>"
        if log_rows
        else '<p class="empty">No alert fired or resolved in this range.</p>'
    )
    history = _history_table(data, start, end)
    return (
        '<section id="alerts"><h2>Alerts</h2>'
        '<p class="help">Each bar is a burn-rate alert from firing to resolved: '
        '<span class="key page"></span> page, <span class="key ticket"></span> ticket. '
        "MTTR is the mean time from a page firing to its resolution (or downgrade to a ticket).</p>"
        + svg.alert_timeline(segments, names, start, end)
        + '<div class="two"><div><h3>Page incidents and MTTR</h3><table class="mttr"><thead><tr><th>SLO</th>'
        "<th>Pages</th><th>MTTR</th><th>Still paging</th></tr></thead><tbody>"
        + "".join(mttr_rows)
        + "</tbody></table></div><div><h3>Alert log</h3>"
        + log_table
        + "</div></div>"
        + history
        + "</section>"
    )


def _history_table(data: ReportData, start: int, end: int) -> str:
    """One row per incident: opened, closed, peak tier, duration (to where the condition cleared), notifications
    sent, silenced; then the budget corrections in force."""
    from processors.alerting.history import incident_history
    from processors.timeutil import iso_seconds

    rows = []
    for row in incident_history(data.alert_log):
        if not start <= row.opened <= end:
            continue
        duration = "open" if row.duration is None else _minutes(row.duration)
        rows.append(
            f"<tr><td>{escape(row.slo)}</td><td>{iso_seconds(row.opened)}</td>"
            f"<td>{iso_seconds(row.closed) if row.closed is not None else '—'}</td>"
            f"<td>{escape(row.peak_severity)} {escape(row.peak_tier)}</td><td class='num'>{duration}</td>"
            f"<td class='num'>{row.notifications}</td><td>{'yes' if row.silenced else 'no'}</td></tr>"
        )
    table = (
        '<table class="log history"><thead><tr><th>SLO</th><th>Opened (UTC)</th><th>Closed</th><th>Peak</th>'
        "<th>Duration</th><th>Notifications sent</th><th>Silenced</th></tr></thead><tbody>"
        + "".join(rows) + "</tbody></table>"
        if rows
        else '<p class="empty">No incident in this range.</p>'
    )
    corrections = "".join(
        f"<li>{escape(str(c.get('slo')))}: {iso_seconds(int(c['start']))} to {iso_seconds(int(c['end']))} "
        f"left out ({escape(str(c.get('reason', '')))}; {escape(str(c.get('created_by', '')))}, "
        f"v{escape(str(c.get('version', 1)))})</li>"
        for c in data.corrections
    )
    return (
        '<h3>Alert history</h3><p class="help">One row per incident. Duration runs to where the condition '
        "cleared (as MTTR), not to the held resolve.</p>" + table
        + (f"<h3>Budget corrections</h3><ul class='corrections'>{corrections}</ul>" if corrections else "")
    )


def _slo_section(slo: Mapping[str, Any], data: ReportData, start: int, end: int) -> str:
    name = str(slo.get("name"))
    key = _anchor(name)
    info = data.slo_info.get(name, {})
    kind = str(slo.get("kind") or info.get("kind") or "")
    description = info.get("description") or ""
    charts = [
        _chart_box(
            f"{key}-attainment",
            "attainment",
            "Attainment and error budget left",
            f"Attainment over the rolling {escape(str(slo.get('window', '')))} window (left axis, dashed line = the "
            "objective) and the share of the error budget left (right axis; below 0 the objective is missed).",
        ),
        _chart_box(
            f"{key}-burn",
            "burn",
            "Burn rates (log scale)",
            "How fast the budget burns in each window (×1 = exactly the budget over the SLO window). Dashed lines "
            "are the alert tiers' thresholds; a tier fires when both its long and short window are above it. "
            "Shaded: alert firing (red page, amber ticket).",
        ),
    ]
    if kind == "latency" or name in data.latency_series:
        threshold = info.get("threshold_ms")
        limit = f" (dashed: the {threshold:,.0f} ms threshold)" if threshold else ""
        charts.append(
            _chart_box(
                f"{key}-latency",
                "latency",
                "Latency percentiles",
                f"p50, p95 and p99 of each {format_duration(data.step_seconds)} step{limit}.",
            )
        )
    strip = ""
    if name in data.cache_slices:
        slices = data.cache_slices[name]
        good = sum(1 for s in slices if s.get("good") is True)
        bad = sum(1 for s in slices if s.get("good") is False)
        empty = len(slices) - good - bad
        ratio = info.get("min_ratio")
        rule = f"a hit ratio of at least {ratio:.0%}" if isinstance(ratio, float) else "the SLO's hit ratio"
        strip = (
            '<div class="chart-box wide"><h3>Slices</h3>'
            f'<p class="help">Every {format_duration(int(info.get("slice_seconds", 300)))} slice: '
            f'<span class="key good"></span> good ({rule}), <span class="key bad"></span> bad, '
            f'<span class="key empty"></span> no lookups. {good} good, {bad} bad, {empty} without lookups.</p>'
            + svg.cache_strip(slices, start, end, f"{name} slices")
            + "</div>"
        )
    compliance = ""
    if name in data.compliance_days and data.scorecard is not None:
        target = float(data.scorecard["targets"]["compliance_time"])
        compliance = (
            '<div class="chart-box wide"><h3>Compliance over time</h3>'
            f'<p class="help">Each UTC day: the share of evaluation minutes at which {escape(name)} met its objective '
            f'over its window; <span class="key good"></span> at least the target ({target:.0%}), '
            '<span class="key bad"></span> under it, <span class="key empty"></span> no data.</p>'
            + svg.compliance_strip(data.compliance_days[name], target, f"{name} compliance per day")
            + "</div>"
        )
    return (
        f'<section class="slo" id="{key}"><h2>{escape(name)} <span class="badge {verdict(slo)}">'
        f"{_VERDICT_WORDS[verdict(slo)]}</span></h2>"
        f'<p class="help">{escape(description)} Target {percent(_num(slo.get("objective")))} over '
        f"{escape(str(slo.get('window', '')))}; attained {attainment_text(slo)} "
        f"({int(slo.get('good', 0)):,} good of {int(slo.get('total', 0)):,}).</p>"
        f'<div class="grid">{"".join(charts)}</div>{_groups_table(slo)}{compliance}{strip}</section>'
    )


def _groups_table(slo: Mapping[str, Any]) -> str:
    """A grouped SLO's groups at the report's end, worst first, as `slo status --group` lists them."""
    groups = slo.get("groups")
    if not isinstance(groups, list):
        return ""
    alerts = [a for a in slo.get("alerts") or [] if isinstance(a, Mapping)]
    rows = []
    for group in groups:
        name = str(group.get("group"))
        row = dict(group, objective=slo.get("objective"),
                   alerts=[{k: v for k, v in a.items() if k != "group"} for a in alerts if a.get("group") == name])
        consumed = budget_consumed(row)
        firing = ", ".join(a.label for a in firing_alerts(row)) or "—"
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{attainment_text(row)}</td>"
            f'<td class="num">{int(group.get("good", 0)):,} / {int(group.get("total", 0)):,}</td>'
            f'<td class="num">{consumed_text(consumed)}</td>'
            f'<td class="num">{burn_text(headline_burn(row))}</td><td>{escape(firing)}</td></tr>'
        )
    by = escape(", ".join(str(f) for f in slo.get("group_by") or []))
    folded = int(slo.get("folded_events") or 0)
    return (
        f'<div class="chart-box wide"><h3>By {by}</h3>'
        f'<p class="help">{int(slo.get("groups_tracked", len(groups)))} groups (limit '
        f'{escape(str(slo.get("group_limit", "")))}), worst first; each has its own budget and pages on its own. '
        f"{folded:,} events past the limit are counted under {escape(GROUP_OTHER)}.</p>"
        '<table class="groups"><thead><tr><th>Group</th><th>Attained</th><th>Good / total</th>'
        "<th>Error budget used</th><th>Burn rate</th><th>Alerts firing</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


_MEASURE_CLASS = {"met": "ok", "not met": "fail", "not enough data": "warn"}


def _measure_cell(measure: Mapping[str, Any], text: str) -> str:
    verdict_word = str(measure.get("verdict"))
    return (
        f'<td class="num">{escape(text)} <span class="badge {_MEASURE_CLASS.get(verdict_word, "warn")}">'
        f"{escape(verdict_word)}</span></td>"
    )


def _scorecard_section(card: Mapping[str, Any]) -> str:
    """The scorecard (processors.evaluating.scorecard): every SLO against the spec's targets."""
    targets = card["targets"]
    rows = []
    for slo in card["slos"]:
        compliance, budget, mttr = slo["compliance_time"], slo["budget_use"], slo["mttr_seconds"]
        longest = slo["longest_recovery_seconds"]
        recovery = "no pages" if not slo["incidents"] else (
            f"{_minutes(mttr['value']) if mttr['value'] is not None else '—'} (longest {_minutes(longest or 0)})"
        )
        rows.append(
            f"<tr><td>{escape(slo['name'])}</td>"
            + _measure_cell(compliance, _share(compliance["value"]))
            + _measure_cell(budget, _share(budget["value"], 0))
            + f"<td class='num'>{len(slo['incidents'])}</td>"
            + _measure_cell(mttr, recovery)
            + f'<td><span class="badge {_MEASURE_CLASS.get(slo["verdict"], "warn")}">{escape(slo["verdict"])}'
            "</span></td></tr>"
        )
    coverage, events = card["trace_coverage"], card["trace_events"]
    rows.append(
        "<tr><td>trace coverage</td>" + _measure_cell(coverage, _share(coverage["value"]))
        + f"<td colspan='4'>{events['with_correlation_id']:,} of {events['vocabulary_events']:,} vocabulary events "
        "carried a propagated correlation ID</td></tr>"
    )
    return (
        '<section id="scorecard"><h2>Scorecard</h2>'
        f'<p class="help">{escape(card["period"]["from"])} → {escape(card["period"]["to"])}. Targets from the spec: '
        f"compliant at least {targets['compliance_time']:.0%} of evaluation minutes, at most "
        f"{targets['budget_use']:.0%} of the calendar month's error budget used, MTTR at most "
        f"{_minutes(targets['mttr_seconds'])}, trace coverage at least {targets['trace_coverage']:.0%}.</p>"
        f'<table class="scorecard" data-chart="scorecard" data-points="{len(card["slos"])}"><thead><tr><th>SLO</th>'
        "<th>Compliant time</th><th>Month budget used</th><th>Pages</th><th>MTTR</th><th>Verdict</th></tr></thead>"
        "<tbody>" + "".join(rows) + "</tbody></table></section>"
    )


def _incidents_section(data: ReportData) -> str:
    """Every page incident of the period, then the silences and corrections the alert log holds, if any."""
    card = data.scorecard or {}
    rows = [
        f"<tr><td>{escape(slo['name'])}</td><td>{escape(incident['fired'])}</td>"
        f"<td>{escape(incident['ended'] or 'still paging')}</td>"
        f"<td class='num'>{_minutes(incident['seconds'])}</td></tr>"
        for slo in card.get("slos", [])
        for incident in slo["incidents"]
    ]
    table = (
        f'<table class="incidents" data-chart="incidents" data-points="{len(rows)}"><thead><tr><th>SLO</th>'
        "<th>Paged (UTC)</th><th>Ended</th><th>Time to recover</th></tr></thead><tbody>" + "".join(rows)
        + "</tbody></table>"
        if rows
        else '<p class="empty">No page in this period.</p>'
    )
    notes = ""
    if data.notes:
        note_rows = "".join(
            f"<tr><td>{escape(str(n.get('at')))}</td><td>{escape(str(n.get('until')))}</td>"
            f"<td>{escape(str(n.get('slo')))}</td><td>{escape(str(n.get('kind')))}</td>"
            f"<td>{escape(str(n.get('reason') or ''))}</td><td>{escape(str(n.get('by') or ''))}</td></tr>"
            for n in data.notes
        )
        notes = (
            "<h3>Silences and corrections</h3><p class='help'>Corrections leave their window's events out of the "
            "numbers above; silences held notifications back (alerts were still evaluated and logged).</p>"
            f"<table class='notes' data-chart='notes' data-points='{len(data.notes)}'><thead><tr><th>From (UTC)</th>"
            f"<th>Until</th><th>SLO</th><th>Kind</th><th>Why</th><th>By</th></tr></thead><tbody>{note_rows}</tbody>"
            "</table>"
        )
    return f'<section id="incidents"><h2>Incidents</h2>{table}{notes}</section>'


def _share(value: object, digits: int = 2) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.{digits}f}%"


def _left_out(damaged: Sequence[str]) -> str:
    if not damaged:
        return ""
    listed = escape(", ".join(damaged))
    return f" Left out: {len(damaged)} exemplar trace(s) whose stored head does not decode ({listed})."


def _trace_section(data: ReportData) -> str:
    trace = data.trace
    head = '<section id="trace"><h2>Trace</h2>'
    if trace is None:
        return head + f'<p class="empty">No trace to show: {escape(data.trace_reason)}.</p></section>'
    cid = escape(str(trace.get("correlationId")))
    if not trace.get("found"):
        return head + f'<p class="empty">Trace {cid} was not found in the store.</p></section>'
    breakdown = trace.get("breakdownMs") or {}
    facts = [
        f"<b>{cid}</b>",
        f"{escape(data.trace_labels[1])} {escape(str(trace.get('repository') or '—'))}",
        f"{escape(data.trace_labels[0])} {escape(str(trace.get('workflowId') or '—'))}",
        f"outcome <b>{escape(str(trace.get('outcome') or '—'))}</b>",
        f"first seen {escape(str(trace.get('firstSeen') or '—'))}",
    ]
    phases = svg.phase_names(breakdown)
    legend = "".join(
        f'<span class="phase"><span class="key {escape(p)}" style="background: {svg.phase_colour(p, phases)}">'
        f"</span>{escape(p)} {_ms(breakdown.get(p))}</span>"
        for p in phases
    )
    if "total" in breakdown:
        legend += f'<span class="phase"><span class="key total"></span>total {_ms(breakdown.get("total"))}</span>'
    # the spec's phases, as the phase spans name them: "queue: job_queued→task_launched"
    named = dict.fromkeys(str(s.get("action")) for s in trace.get("spans") or [] if s.get("kind") == "phase")
    phase_help = "; ".join(escape(name) for name in named) or "no phases"
    errors = trace.get("errors") or []
    error_rows = "".join(
        f"<tr><td>{escape(str(e.get('time', '')))}</td><td>{escape(str(e.get('service', '')))}</td>"
        f"<td>{escape(str(e.get('action', '')))}</td><td>{escape(_error_text(e.get('error')))}</td></tr>"
        for e in errors
    )
    error_table = (
        '<h3>Errors</h3><table class="errors"><thead><tr><th>At</th><th>Service</th><th>Action</th><th>Error</th>'
        "</tr></thead><tbody>" + error_rows + "</tbody></table>"
        if errors
        else '<p class="help">No errors recorded in this trace.</p>'
    )
    return (
        head
        + f'<p class="help">Showing {escape(data.trace_reason)}.{_left_out(data.damaged_traces)}</p>'
        + f'<p class="facts">{" · ".join(facts)}</p>'
        + f'<h3>Where the time went</h3><p class="help">Phases of the spec\'s journey: {phase_help}.</p>'
        + svg.breakdown_bar(breakdown)
        + f'<p class="legend">{legend}</p>'
        + '<h3>Waterfall</h3><p class="help">Phases coloured as above, service spans grey, ◆ single events; '
        "red marks errors. Time is relative to the first event.</p>"
        + svg.waterfall(trace)
        + error_table
        + "</section>"
    )


# --- chart data -------------------------------------------------------------------------------------------


def _chart_payload(
    data: ReportData, slos: Sequence[Mapping[str, Any]], segments: Sequence[svg.Segment]
) -> dict[str, Any]:
    xs = [svg.epoch(doc.get("at")) for doc in data.status_series]
    rows = [(x, doc) for x, doc in zip(xs, data.status_series, strict=True) if x is not None]
    end = rows[-1][0] if rows else 0
    charts = []
    for slo in slos:
        name = str(slo.get("name"))
        entries = [_find(doc, name) for _x, doc in rows]
        windows = list((slo.get("burn_rates") or {}).keys())
        info = data.slo_info.get(name, {})
        chart: dict[str, Any] = {
            "key": _anchor(name),
            "name": name,
            "objective": _pct(_num(slo.get("objective"))),
            "attainment": [_pct(_num(e.get("attainment"))) if e else None for e in entries],
            "remaining": [_pct(_num((e.get("budget") or {}).get("remaining"))) if e else None for e in entries],
            "burn": {w: [_burn((e.get("burn_rates") or {}).get(w)) if e else None for e in entries] for w in windows},
            "tiers": [dict(t) for t in info.get("tiers", [])] or _tiers_from_log(data.alert_log, name),
            "spans": [[s.start, end if s.end is None else s.end, s.severity] for s in segments if s.slo == name],
        }
        points = data.latency_series.get(name)
        if points:
            chart["latency"] = {
                "x": [svg.epoch(p.get("at")) for p in points],
                **{q: [_round(p.get(q)) for p in points] for q in ("p50", "p95", "p99")},
                "threshold": info.get("threshold_ms"),
            }
        charts.append(chart)
    return {"x": [x for x, _doc in rows], "burnFloor": BURN_FLOOR, "slos": charts}


def _tiers_from_log(log: Sequence[Mapping[str, Any]], name: str) -> list[dict[str, Any]]:
    """Tier thresholds as the alert log recorded them, for data without slo_info."""
    tiers: dict[str, dict[str, Any]] = {}
    for t in log:
        factor = (t.get("thresholds") or {}).get("factor")
        if t.get("slo") == name and t.get("tier") and isinstance(factor, int | float):
            tiers[str(t["tier"])] = {"name": t["tier"], "severity": t.get("severity"), "factor": factor}
    return sorted(tiers.values(), key=lambda tier: -float(tier["factor"]))


def _find(doc: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((slo for slo in doc.get("slos") or [] if slo.get("name") == name), None)


def _json_island(payload: Any) -> str:
    # "</" would close the script element; "<!--" could open a comment: escape both
    return json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/").replace("<!--", "<\\!--")


# --- formatting -------------------------------------------------------------------------------------------


def _range(data: ReportData) -> tuple[int, int]:
    times = [t for t in (svg.epoch(doc.get("at")) for doc in data.status_series) if t is not None]
    start = svg.epoch(data.since) or (min(times) if times else None)
    end = svg.epoch(data.until) or (max(times) if times else None) or svg.epoch(data.status_now.get("at"))
    if end is None:
        raise RenderingError("the report data has no time: give status documents with an 'at'")
    return (start if start is not None and start < end else end - 3600), end


def _chart_box(chart_id: str, kind: str, title: str, help_text: str) -> str:
    return (
        f'<div class="chart-box"><h3>{escape(title)}</h3><p class="help">{help_text}</p>'
        f'<div class="chart" id="chart-{chart_id}" data-chart="{kind}" data-state="pending"></div></div>'
    )


def _anchor(name: str) -> str:
    return "slo-" + "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower())


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 4)


def _burn(value: object) -> float | None:
    rate = _num(value)
    if rate is None:
        return None
    return BURN_FLOOR if rate < BURN_FLOOR else float(f"{rate:.4g}")


def _round(value: object) -> float | None:
    number = _num(value)
    return None if number is None else round(number, 1)


def _rate(value: object) -> str:
    number = _num(value) or 0.0
    return f"{number:.2f}" if number < 10 else f"{number:,.0f}" if number >= 100 else f"{number:.1f}"


def _budget_class(consumed: float) -> str:
    return "good" if consumed < 0.5 else "warn" if consumed < 1.0 else "bad"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _ms(value: object) -> str:
    number = _num(value)
    if number is None:
        return "—"
    if number < 1000:
        return f"{number:.0f} ms"
    if number < 120_000:
        return f"{number / 1000:.1f} s"
    return f"{number / 60000:.1f} min"


def _error_text(error: object) -> str:
    if isinstance(error, Mapping):
        parts = [str(error.get(k)) for k in ("type", "message") if error.get(k)]
        return ": ".join(parts) or json.dumps(error)[:200]
    return str(error or "")


_GUIDE = (
    '<p class="guide">Each SLO promises that a share of events (or 5-minute slices) is good over a rolling window. '
    "<b>Attainment</b> is the share that was good. The <b>error budget</b> is the share allowed to be bad; "
    "<b>budget used</b> over 100% means the objective is missed. A <b>burn rate</b> of ×1 spends the budget "
    "exactly over the window; ×14.4 spends 2% of a 30-day budget in an hour. Alerts page when a 1h and 5m window "
    "both burn above ×14.4 (or 6h/30m above ×6) and open tickets at 1d/2h above ×3 and 3d/6h above ×1.</p>"
)

# Records script errors into the page itself, so a headless browser's DOM dump shows them.
_ERROR_HOOK = """<script>
(function () {
  var box = document.getElementById("report-errors");
  function note(message) {
    box.hidden = false;
    box.textContent += message + "\\n";
    box.setAttribute("data-count", String(Number(box.getAttribute("data-count") || 0) + 1));
  }
  window.addEventListener("error", function (e) { note("error: " + (e.message || e.type)); });
  window.addEventListener("unhandledrejection", function (e) { note("rejection: " + e.reason); });
  var original = console.error;
  console.error = function () {
    note("console.error: " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
})();
</script>"""
