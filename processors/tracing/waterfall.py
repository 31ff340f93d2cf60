"""The terminal waterfall of one trace: spans on a shared time axis, durations, errors marked. Rich text.

Fits `width` columns (100 by default, less on a narrow terminal). Colour follows rich (NO_COLOR, no TTY);
on a terminal whose encoding is not UTF-8 every glyph falls back to ASCII.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from processors.safety import printable
from processors.spec.model import Journey, id_labels
from processors.stitching.model import TraceHead
from processors.timeutil import parse_iso8601
from processors.tracing.view import (
    ARROW,
    PHASE,
    POINT,
    Span,
    breakdown,
    derive_spans,
    in_journey,
    iso_ms,
    outcome,
    trace_errors,
)

MAX_WIDTH = 100
MIN_BAR = 10
OFFSET_WIDTH = 8
SERVICE_WIDTH = 17
ACTION_WIDTH = 30
MIN_ACTION = 16
DURATION_WIDTH = 7


OUTCOME_STYLES = {"success": "bold green", "failure": "bold red", "cancelled": "bold yellow"}


@dataclass(frozen=True)
class Glyphs:
    bar: str
    phase: str
    point: str
    error: str
    arrow: str
    ellipsis: str
    rule: str

    @classmethod
    def for_console(cls, unicode: bool) -> Glyphs:
        if unicode:
            return cls(bar="█", phase="━", point="◆", error="✗", arrow=ARROW, ellipsis="…", rule="─")
        return cls(bar="#", phase="=", point="*", error="x", arrow="->", ellipsis="~", rule="-")


def human_ms(ms: float) -> str:
    """312ms, 1.25s, 42.5s, 4m01s, 1h08m: short enough for a 7-column cell. Negative (clock skew) keeps its sign."""
    if ms < 0:
        return "-" + human_ms(-ms)
    if ms < 1000:
        return f"{int(ms)}ms"
    if ms < 10_000:
        return f"{ms / 1000:.2f}s"
    if ms < 60_000:
        return f"{ms / 1000:.1f}s"
    seconds = int(ms // 1000)
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _or_dash(ms: int | None) -> str:
    return "-" if ms is None else human_ms(ms)


def parse_ms(iso: str) -> int:
    parsed = parse_iso8601(iso)
    return round(parsed.timestamp() * 1000) if parsed else 0


def _fit(text: str, width: int, glyphs: Glyphs) -> str:
    text = printable(text).replace(ARROW, glyphs.arrow)
    return text if len(text) <= width else text[: width - len(glyphs.ellipsis)] + glyphs.ellipsis


def waterfall_lines(
    head: TraceHead, journey: Journey | None, *, width: int = MAX_WIDTH, unicode: bool = True
) -> list[Text]:
    glyphs = Glyphs.for_console(unicode)
    width = min(width, MAX_WIDTH)
    fixed = OFFSET_WIDTH + SERVICE_WIDTH + DURATION_WIDTH + 5
    action_width = max(MIN_ACTION, min(ACTION_WIDTH, width - fixed - MIN_BAR))  # narrow terminals shrink it
    bar_width = max(MIN_BAR, width - fixed - action_width)
    spans = derive_spans(head, journey)
    lines = _header(head, journey, glyphs, width)
    if not spans:
        lines.append(Text("no events stored for this trace", style="dim"))
        return [_clip(line, width, glyphs) for line in lines]
    origin = min(s.start_ms for s in spans)
    extent = max(max(s.end_ms for s in spans) - origin, 1)
    right = human_ms(extent)
    axis = f"0 {glyphs.rule * max(1, bar_width - len(right) - 4)} {right}"
    lines.append(
        Text(
            f"{'offset':>{OFFSET_WIDTH}} {'service':<{SERVICE_WIDTH}} {'action':<{action_width}} "
            f"{axis[:bar_width]:<{bar_width}} {'took':>{DURATION_WIDTH}}",
            style="bold",
        )
    )
    for span in spans:
        lines.append(_span_line(span, origin, extent, action_width, bar_width, glyphs))
    errors = trace_errors(head, journey)
    if errors:
        lines.append(Text(f"errors ({len(errors)})", style="bold red"))
        for error in errors:
            detail = " ".join(f"{k}={v}" for k, v in error["error"].items() if k != "type")
            line = Text(f"  {glyphs.error} ", style="red")
            line.append(printable(f"{error['service']} {error['action']}"), style="bold")
            line.append(printable(f"  {error['error'].get('type', 'Error')}"), style="red")
            line.append(printable(f" {detail}") if detail else "")
            line.append(f"  at +{human_ms(parse_ms(error['time']) - origin)}", style="dim")
            lines.append(line)
    return [_clip(line, width, glyphs) for line in lines]


def _clip(line: Text, width: int, glyphs: Glyphs) -> Text:
    if line.cell_len <= width:
        return line
    line.truncate(width - len(glyphs.ellipsis))
    line.append(glyphs.ellipsis)
    return line


def _header(head: TraceHead, journey: Journey | None, glyphs: Glyphs, width: int) -> list[Text]:
    """Two lines at 100 columns; on a narrower terminal they wrap rather than lose the outcome."""
    title: list[tuple[str, Text]] = [("", Text("trace ", style="bold") + Text(head.correlation_id, style="bold cyan"))]
    for label, value in zip(id_labels(journey), (head.workflow_id, head.repository), strict=True):
        if value:
            title.append(("  ", Text(f"{label} {printable(value)}")))
    result = outcome(head, journey)
    swept = journey is not None and journey.sweep is not None and result == journey.sweep.name
    title.append(("  ", Text(result, style="bold red" if swept else OUTCOME_STYLES.get(result, "bold"))))
    phases = breakdown(head.milestones, journey) if in_journey(head, journey) else {}
    brief = {p.name for p in journey.phases if not p.summary} if journey else set()
    order = ("total", *(name for name in phases if name != "total" and name not in brief)) if phases else ()
    summary = [("", Text("at " + (iso_ms(head.first_seen_ms) if head.first_seen_ms is not None else "-")))]
    for index, name in enumerate(order):
        summary.append(("   " if index == 0 else "  ", Text(f"{name} {_or_dash(phases[name])}", style="dim")))
    lines = _wrap(title, width) + _wrap(summary, width)
    if head.truncated:
        lines.append(Text(f"truncated: only the first {len(head.events)} events were kept", style="yellow"))
    return lines


def _wrap(segments: list[tuple[str, Text]], width: int) -> list[Text]:
    """(separator, text) segments on as few lines as fit `width`; a continuation line is indented 2."""
    lines: list[Text] = []
    for separator, text in segments:
        if lines and lines[-1].cell_len + len(separator) + text.cell_len <= width:
            lines[-1].append(separator)
            lines[-1].append_text(text)
        else:
            lines.append(Text("  ") + text if lines else text.copy())
    return lines


def _span_line(span: Span, origin: int, extent: int, action_width: int, bar_width: int, glyphs: Glyphs) -> Text:
    first = (span.start_ms - origin) * (bar_width - 1) // extent
    last = max(first, (span.end_ms - origin) * (bar_width - 1) // extent)
    if span.kind == POINT:
        cells, style = glyphs.point, "yellow"
    else:
        cells, style = (glyphs.phase if span.kind == PHASE else glyphs.bar) * (last - first + 1), "blue"
    if span.failed:
        style = "bold red"
    mark = f"{glyphs.error} " if span.failed else ""
    action = _fit(mark + span.action, action_width, glyphs)
    line = Text(f"{'+' + human_ms(span.start_ms - origin):>{OFFSET_WIDTH}} ", style="dim")
    line.append(f"{_fit(span.service, SERVICE_WIDTH, glyphs):<{SERVICE_WIDTH}} ")
    action_style = "bold red" if span.failed else ("dim" if span.kind == PHASE else "")
    line.append(f"{action:<{action_width}} ", style=action_style)
    line.append(" " * first)
    line.append(cells, style=style)
    line.append(" " * (bar_width - first - len(cells)) + " ")
    took = "" if span.kind == POINT else human_ms(span.duration_ms)
    line.append(f"{took:>{DURATION_WIDTH}}", style="bold red" if span.failed else "")
    return line


def console_is_unicode(console: Console) -> bool:
    return console.encoding.lower().replace("-", "").replace("_", "").startswith("utf")


def print_waterfall(head: TraceHead, journey: Journey | None, console: Console | None = None) -> None:
    console = console or Console()
    for line in waterfall_lines(head, journey, width=console.width, unicode=console_is_unicode(console)):
        console.print(line, no_wrap=True, overflow="crop", crop=True, soft_wrap=False)
