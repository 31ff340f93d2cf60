"""Static SVG for the report parts that need no interaction: the cache-slice strip, the alert timeline and
the trace waterfall. Pure functions of JSON-shaped data; coordinates are in a fixed viewBox that scales."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from processors.timeutil import format_duration, iso_seconds, parse_iso8601

WIDTH = 1000
LABEL_WIDTH = 150
MARGIN = 24  # room for the first and last tick labels
AXIS_HEIGHT = 18
TIME_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)
SECOND_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600)
COLOURS = {
    "good": "#16a34a",
    "bad": "#dc2626",
    "empty": "#e5e7eb",
    "page": "#dc2626",
    "ticket": "#f59e0b",
    "span": "#64748b",
    "error": "#dc2626",
    "axis": "#94a3b8",
    "text": "#1e293b",
}
# The journey's phases (the spec names them) take these colours in their order; `total` is not a phase.
PHASE_PALETTE = ("#a855f7", "#f59e0b", "#0ea5e9", "#16a34a", "#ec4899", "#14b8a6", "#eab308", "#6366f1")


def phase_names(breakdown: Mapping[str, Any]) -> list[str]:
    """The trace's phases in journey order: its breakdown's keys without `total`."""
    return [name for name in breakdown if name != "total"]


def phase_colour(name: str, phases: Sequence[str]) -> str:
    return PHASE_PALETTE[phases.index(name) % len(PHASE_PALETTE)] if name in phases else COLOURS["span"]


@dataclass(frozen=True)
class Segment:
    """A stretch of time one SLO's burn-rate alert spent at one severity; `end` None while still firing."""

    slo: str
    start: int
    end: int | None
    severity: str
    tier: str | None


def epoch(value: object) -> int | None:
    parsed = parse_iso8601(value)
    return int(parsed.timestamp()) if parsed else None


def epoch_ms(value: object) -> float | None:
    parsed = parse_iso8601(value)
    return parsed.timestamp() * 1000 if parsed else None


def alert_segments(log: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Burn-rate alert levels over time from the transitions: firing, escalated, downgraded, resolved."""
    segments: list[Segment] = []
    open_: dict[str, tuple[int, str, str | None]] = {}
    for transition in log:
        if transition.get("kind") != "burn_rate":
            continue
        at = transition.get("at_epoch") if isinstance(transition.get("at_epoch"), int) else epoch(transition.get("at"))
        if at is None:
            continue
        slo, state = str(transition.get("slo", "")), transition.get("state")
        level = {"firing": transition.get("severity"), "escalated": "page", "downgraded": "ticket"}.get(str(state))
        if slo in open_:
            start, severity, tier = open_.pop(slo)
            if at > start:
                segments.append(Segment(slo, start, at, severity, tier))
        if level in ("page", "ticket"):
            open_[slo] = (int(at), str(level), transition.get("tier"))
    segments.extend(Segment(slo, start, None, severity, tier) for slo, (start, severity, tier) in open_.items())
    return sorted(segments, key=lambda s: (s.start, s.slo))


def time_ticks(start: int, end: int, max_ticks: int = 12) -> list[int]:
    span = max(end - start, 1)
    step = next((s for s in TIME_STEPS if span / s <= max_ticks), TIME_STEPS[-1])
    first = -(-start // step) * step
    return list(range(first, end + 1, step))


def tick_label(moment: int) -> str:
    text = iso_seconds(moment)
    return text[5:10] if text.endswith("T00:00:00Z") else text[11:16]


def _x(moment: float, start: float, end: float, left: float = 0.0, width: float = WIDTH) -> float:
    return left + (moment - start) / max(end - start, 1e-9) * width


def _time_axis(start: int, end: int, y: float, left: float, width: float, height: float) -> str:
    parts = [f'<line x1="{left}" y1="{y}" x2="{left + width}" y2="{y}" stroke="{COLOURS["axis"]}"/>']
    for tick in time_ticks(start, end):
        x = _x(tick, start, end, left, width)
        parts.append(f'<line x1="{x:.1f}" y1="{y - height}" x2="{x:.1f}" y2="{y}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 13}" text-anchor="middle" class="tick">{tick_label(tick)}</text>')
    return "".join(parts)


def cache_strip(slices: Sequence[Mapping[str, Any]], start: int, end: int, title: str) -> str:
    """One coloured cell per slice: green good, red bad, grey without lookups; hover shows the counts."""
    height = 34
    cells: list[str] = []
    for piece in slices:
        at = epoch(piece.get("start"))
        if at is None:
            continue
        slice_end = at + _slice_seconds(slices)
        x0 = _x(at, start, end, MARGIN, WIDTH - 2 * MARGIN)
        x1 = _x(slice_end, start, end, MARGIN, WIDTH - 2 * MARGIN)
        good, hits, lookups = piece.get("good"), int(piece.get("hits", 0)), int(piece.get("lookups", 0))
        colour = COLOURS["empty"] if good is None else COLOURS["good"] if good else COLOURS["bad"]
        ratio = f"{hits}/{lookups} hits ({hits / lookups:.0%})" if lookups else "no lookups"
        verdict = "" if good is None else " — good" if good else " — bad"
        cells.append(
            f'<rect x="{x0:.2f}" y="0" width="{max(x1 - x0 - 0.6, 0.6):.2f}" height="{height}" fill="{colour}">'
            f"<title>{escape(tick_label(at))} UTC: {ratio}{verdict}</title></rect>"
        )
    return (
        f'<svg class="strip" data-chart="cache-strip" data-points="{len(cells)}" viewBox="0 -2 {WIDTH} '
        f'{height + AXIS_HEIGHT + 4}" role="img" aria-label="{escape(title)}">'
        + "".join(cells)
        + _time_axis(start, end, height + 2, MARGIN, WIDTH - 2 * MARGIN, 0)
        + "</svg>"
    )


def _slice_seconds(slices: Sequence[Mapping[str, Any]]) -> int:
    if len(slices) >= 2:
        first, second = epoch(slices[0].get("start")), epoch(slices[1].get("start"))
        if first is not None and second is not None and second > first:
            return second - first
    return 300


def alert_timeline(segments: Sequence[Segment], names: Sequence[str], start: int, end: int) -> str:
    """One row per SLO; each burn-rate alert a bar from firing to resolved, red for page, amber for ticket."""
    row = 24
    plot = WIDTH - LABEL_WIDTH - MARGIN
    height = row * len(names)
    parts: list[str] = []
    for index, name in enumerate(names):
        y = index * row
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" class="label">{escape(name)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{plot}" height="{row - 6}" fill="#f8fafc"/>')
        for seg in (s for s in segments if s.slo == name):
            seg_end = end if seg.end is None else seg.end
            if seg_end < start or seg.start > end:
                continue
            x0 = _x(max(seg.start, start), start, end, LABEL_WIDTH, plot)
            x1 = _x(min(seg_end, end), start, end, LABEL_WIDTH, plot)
            until = "still firing" if seg.end is None else f"to {iso_seconds(seg.end)}"
            lasted = format_duration(max(seg_end - seg.start, 60) // 60 * 60)
            parts.append(
                f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 2):.1f}" height="{row - 6}" '
                f'fill="{COLOURS.get(seg.severity, COLOURS["span"])}" class="segment">'
                f"<title>{escape(name)} {seg.severity} {escape(seg.tier or '')} from {iso_seconds(seg.start)} "
                f"{until} ({lasted})</title></rect>"
            )
    axis = _time_axis(start, end, height + 2, LABEL_WIDTH, plot, height)
    return (
        f'<svg class="timeline" data-chart="alert-timeline" data-points="{len(segments)}" '
        f'viewBox="0 0 {WIDTH} {height + AXIS_HEIGHT + 6}" role="img" aria-label="alert timeline">'
        + axis
        + "".join(parts)
        + "</svg>"
    )


def waterfall(trace: Mapping[str, Any]) -> str:
    """Spans on a time axis relative to the trace's first moment; error spans and error events in red."""
    spans = [s for s in trace.get("spans") or [] if epoch_ms(s.get("start")) is not None]
    if not spans:
        return '<p class="empty">This trace has no spans.</p>'
    starts = [epoch_ms(s["start"]) or 0.0 for s in spans]
    ends = [epoch_ms(s.get("end")) or start for s, start in zip(spans, starts, strict=True)]
    origin, last = min(starts), max(ends)
    duration = max(last - origin, 1.0)
    label_width, row = 400, 20
    plot = WIDTH - label_width - 110
    phases = phase_names(trace.get("breakdownMs") or {})
    parts: list[str] = []
    for index, (span, begin, finish) in enumerate(zip(spans, starts, ends, strict=True)):
        y = index * row
        error = span.get("status") == "error"
        kind = span.get("kind")
        action = str(span.get("action", ""))
        phase = action.split(":", 1)[0] if kind == "phase" else None
        colour = COLOURS["error"] if error else phase_colour(phase or "", phases)
        x0 = _x(begin, origin, origin + duration, label_width, plot)
        x1 = _x(finish, origin, origin + duration, label_width, plot)
        label = f"{span.get('service', '')} · {action}"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 14}" text-anchor="end" class="label{" error" if error else ""}">'
            f"{escape(_clip(label, 58))}</text>"
        )
        tip = f"{escape(label)}: {escape(str(span.get('start')))} → {escape(str(span.get('end')))}"
        if kind == "point" or finish - begin <= 0:
            cx = x0
            parts.append(
                f'<path d="M{cx:.1f} {y + 4} l5 6 l-5 6 l-5 -6 z" fill="{colour}" class="span point">'
                f"<title>{tip}</title></path>"
            )
            text_x = cx + 8
        else:
            parts.append(
                f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 2):.1f}" height="{row - 8}" rx="2" '
                f'fill="{colour}" class="span"><title>{tip} ({_ms(finish - begin)})</title></rect>'
            )
            text_x = max(x1, x0 + 2) + 4
        note = ("✕ error " if error else "") + ("" if kind == "point" else _ms(finish - begin))
        if note:
            parts.append(f'<text x="{text_x:.1f}" y="{y + 14}" class="value{" error" if error else ""}">{note}</text>')
    height = row * len(spans)
    for error in trace.get("errors") or []:
        at = epoch_ms(error.get("time"))
        if at is None:
            continue
        x = _x(at, origin, origin + duration, label_width, plot)
        kind = escape(str((error.get("error") or {}).get("type", "error")))
        parts.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}" stroke="{COLOURS["error"]}" '
            f'stroke-dasharray="3 2" class="error-mark"><title>{kind} in {escape(str(error.get("service")))} '
            f"at {escape(str(error.get('time')))}</title></line>"
        )
    axis = [f'<line x1="{label_width}" y1="{height + 2}" x2="{label_width + plot}" y2="{height + 2}" '
            f'stroke="{COLOURS["axis"]}"/>']
    step = next((s for s in SECOND_STEPS if duration / 1000 / s <= 10), SECOND_STEPS[-1])
    tick = 0.0
    while tick * 1000 <= duration + 1e-6:
        x = _x(origin + tick * 1000, origin, origin + duration, label_width, plot)
        axis.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height + 2}" stroke="#eef2f7"/>')
        axis.append(f'<text x="{x:.1f}" y="{height + 15}" text-anchor="middle" class="tick">+{_seconds(tick)}</text>')
        tick += step
    return (
        f'<svg class="waterfall" data-chart="trace-waterfall" data-points="{len(spans)}" '
        f'viewBox="0 0 {WIDTH} {height + AXIS_HEIGHT + 4}" role="img" aria-label="trace waterfall">'
        + "".join(axis)
        + "".join(parts)
        + "</svg>"
    )


def breakdown_bar(breakdown: Mapping[str, Any]) -> str:
    """The journey's phases side by side, each at least a sliver wide so short phases stay visible."""
    phases = phase_names(breakdown)
    values = {p: float(breakdown[p]) for p in phases if isinstance(breakdown.get(p), int | float)}
    total = sum(values.values())
    if total <= 0:
        return '<p class="empty">No phase breakdown: the trace is missing milestones.</p>'
    widths = {p: max(v / total, 0.012) for p, v in values.items()}
    scale = WIDTH / sum(widths.values())
    parts: list[str] = []
    x = 0.0
    for phase, share in widths.items():
        w = share * scale
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="22" fill="{phase_colour(phase, phases)}">'
            f"<title>{phase}: {_ms(values[phase])}</title></rect>"
        )
        x += w
    return (
        f'<svg class="breakdown" data-chart="trace-breakdown" data-points="{len(values)}" viewBox="0 0 {WIDTH} 22" '
        f'role="img" aria-label="breakdown">' + "".join(parts) + "</svg>"
    )


def _ms(value: float) -> str:
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 120_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60000:.1f} min"


def _seconds(value: float) -> str:
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:.0f}m"
    return f"{value:g}s"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compliance_strip(days: Sequence[Mapping[str, Any]], target: float, title: str) -> str:
    """One cell per UTC day: green when the day's share of compliant minutes met the target, red when not, grey
    without evaluations; the share is written in the cell and in its hover title."""
    height, gap = 30, 2
    count = max(len(days), 1)
    width = (WIDTH - 2 * MARGIN) / count
    cells: list[str] = []
    for index, day in enumerate(days):
        share = day.get("share")
        colour = COLOURS["empty"] if share is None else COLOURS["good"] if share >= target else COLOURS["bad"]
        x = MARGIN + index * width
        text = "no data" if share is None else f"{share * 100:.1f}%"
        label = f"{escape(str(day.get('day')))}: {text} of {int(day.get('evaluated', 0)):,} evaluated minutes"
        cells.append(
            f'<rect x="{x:.2f}" y="0" width="{max(width - gap, 1):.2f}" height="{height}" fill="{colour}">'
            f"<title>{label}</title></rect>"
        )
        if width >= 40:
            cells.append(
                f'<text x="{x + width / 2:.2f}" y="{height / 2 + 4}" text-anchor="middle" font-size="11" '
                f'fill="#fff">{escape(text)}</text>'
            )
        if width >= 28 or index % max(1, int(28 // width)) == 0:
            cells.append(
                f'<text x="{x + width / 2:.2f}" y="{height + 13}" text-anchor="middle" font-size="10" '
                f'fill="#555">{escape(str(day.get("day"))[5:])}</text>'
            )
    evaluated = sum(1 for day in days if day.get("share") is not None)
    return (
        f'<svg class="strip" data-chart="compliance" data-points="{evaluated}" viewBox="0 -2 {WIDTH} '
        f'{height + AXIS_HEIGHT + 4}" role="img" aria-label="{escape(title)}">' + "".join(cells) + "</svg>"
    )
