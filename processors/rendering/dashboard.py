"""The terminal dashboard of `slo status`: one row per SLO from a status document, drawn with rich.

Degrades to plain ASCII (`[#####.....]`, OK/WARN/FAIL) under NO_COLOR or a non-UTF-8 console, and fits
in 100 columns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rich.box import SIMPLE_HEAD, Box
from rich.console import Console, OverflowMethod
from rich.table import Table
from rich.text import Text

from processors import conventions
from processors.rendering.summary import (
    Verdict,
    attainment_text,
    budget_consumed,
    burn_text,
    consumed_text,
    firing_alerts,
    headline_burn,
    percent,
    verdict,
)
from processors.safety import printable

BAR_CELLS = 10
_MARKS: dict[Verdict, tuple[str, str, str]] = {  # (emoji, ASCII word, colour)
    "ok": ("✅", "OK", "green"),
    "warn": ("⚠️", "WARN", "yellow"),
    "fail": ("❌", "FAIL", "red"),
    "nodata": ("·", "NO DATA", "dim"),  # never a tick: nothing measured is not a pass
}
# SIMPLE_HEAD with a dashed header rule: no vertical lines, so columns cost one space each.
SIMPLE_HEAD_ASCII = Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)
_ASCII = str.maketrans({"×": "x", "—": "-", "→": "->", "…": "..."})


def plain_mode(console: Console, environ: Mapping[str, str] | None = None) -> bool:
    """True when the console can't be trusted with colour or Unicode: NO_COLOR, a non-UTF-8 encoding, or, on a
    terminal, a non-UTF-8 locale (Python re-encodes LANG=C output as UTF-8, but the terminal won't show it)."""
    if console.no_color or not _is_utf8(console.encoding):
        return True
    if not console.is_terminal:
        return False
    env = os.environ if environ is None else environ
    locale = next((env[name] for name in ("LC_ALL", "LC_CTYPE", "LANG") if env.get(name)), None)
    return locale is not None and not _is_utf8(locale)


def _is_utf8(name: str) -> bool:
    return "utf8" in name.lower().replace("-", "").replace("_", "")


def budget_bar(consumed: float, *, ascii_only: bool, cells: int = BAR_CELLS) -> str:
    """The share of the error budget consumed, clamped to the bar: `[#####.....]` or `█████░░░░░`."""
    filled = round(min(max(consumed, 0.0), 1.0) * cells)
    if ascii_only:
        return "[" + "#" * filled + "." * (cells - filled) + "]"
    return "█" * filled + "░" * (cells - filled)


def _table(plain: bool, first: str, window: str) -> Table:
    table = Table(
        box=SIMPLE_HEAD_ASCII if plain else SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        expand=False,
    )
    cut: OverflowMethod = "crop" if plain else "ellipsis"
    table.add_column(first, no_wrap=True, max_width=20, overflow=cut)
    table.add_column("Target", justify="right", no_wrap=True)
    table.add_column("Attained", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)  # verdict mark
    table.add_column(f"Budget used{window}", no_wrap=True)
    table.add_column("Burn", justify="right", no_wrap=True)
    table.add_column("p95", justify="right", no_wrap=True)
    table.add_column("Alerts firing", no_wrap=True, overflow=cut, max_width=22)
    return table


def render_dashboard(status: Mapping[str, Any], console: Console, *, ascii_only: bool | None = None) -> None:
    """Print the dashboard of `status` (a status document) on `console`."""
    plain = plain_mode(console) if ascii_only is None else ascii_only
    slos = list(status.get("slos") or [])
    table = _table(plain, "SLO", _common_window(slos))
    for slo in slos:
        table.add_row(*_row(slo, plain))
    console.print(_text(f"SLO status at {status.get('at', '?')}", plain), style=None if plain else "italic")
    note = _data_note(status, slos)
    if note:  # a history shorter than the windows: say so before anyone reads the budgets
        console.print(_text(note, plain), style=None if plain else "yellow")
    console.print(table)
    if not slos:
        console.print(_text("no SLOs in this status document", plain))
        return
    for slo in slos:
        firing = firing_alerts(slo)
        if not firing:
            continue
        line = Text(f"{slo.get('name', '?')}: ")
        for index, alert in enumerate(firing):
            since = f" since {_clock(alert.since)}" if alert.since else ""
            line.append(("; " if index else "") + alert.label + since)
        if not plain:
            line.stylize("red" if verdict(slo) == "fail" else "yellow")
        console.print(_text(line.plain, plain) if plain else line)
    console.print(
        _text(
            "Budget: share of the SLO window's error budget spent (over 100% = objective missed). "
            "Burn: ×1 spends exactly the budget over the window; the firing tier's long window, else the highest.",
            plain,
        ),
        style=None if plain else "dim",
    )


def render_groups(
    status: Mapping[str, Any], field: str, console: Console, *, ascii_only: bool | None = None
) -> None:
    """`slo status --group FIELD`: for each SLO grouped by FIELD, one row per group, worst first."""
    plain = plain_mode(console) if ascii_only is None else ascii_only
    console.print(_text(f"SLO status at {status.get('at', '?')}, by {field}", plain), style=None if plain else "italic")
    for slo in status.get("slos") or []:
        groups = list(slo.get("groups") or [])
        folded = int(slo.get("folded_events") or 0)
        console.print(_text(
            f"{slo.get('name', '?')}: {slo.get('groups_tracked', len(groups))} groups by "
            f"{', '.join(slo.get('group_by') or [])} (limit {slo.get('group_limit', '?')}); "
            f"{folded:,} events past the limit counted under {conventions.GROUP_OTHER}",
            plain,
        ), style=None if plain else "bold")
        table = _table(plain, field.capitalize(), f" ({slo.get('window')})" if slo.get("window") else "")
        for group in groups:
            alerts = [{k: v for k, v in alert.items() if k != "group"} for alert in group.get("alerts") or []]
            row = dict(group, name=group.get("group"), objective=slo.get("objective"), kind=slo.get("kind"),
                       alerts=alerts)  # the row names the group already
            table.add_row(*_row(row, plain))
        console.print(table)
        if not groups:
            console.print(_text("no groups with data yet", plain))


def _row(slo: Mapping[str, Any], plain: bool) -> list[Text]:
    mark, word, colour = _MARKS[verdict(slo)]
    consumed = budget_consumed(slo)
    bar_colour = "green" if consumed < 0.5 else "yellow" if consumed < 1.0 else "red"
    budget = f"{budget_bar(consumed, ascii_only=plain)} {consumed_text(consumed)}"
    latency = slo.get("latency_ms") or {}
    p95 = latency.get("p95")
    firing = firing_alerts(slo)
    alerts = firing[0].label + (f" +{len(firing) - 1}" if len(firing) > 1 else "") if firing else "—"
    cells = [
        _text(str(slo.get("name", "?")), plain, None if plain else "bold"),
        _text(percent(_float(slo.get("objective"))), plain),
        _text(attainment_text(slo), plain),
        Text(word) if plain else Text(mark),
        _text(budget, plain, None if plain else bar_colour),
        _text(burn_text(headline_burn(slo)), plain),
        _text(f"{p95:,.0f} ms" if isinstance(p95, int | float) else "—", plain),
        _text(alerts, plain, None if plain or alerts == "—" else colour),
    ]
    return cells


def _data_note(status: Mapping[str, Any], slos: list[Mapping[str, Any]]) -> str:
    """How much of the SLO windows the data covers, when the store's history is shorter than them."""
    shares = [s["data_coverage"] for s in slos if isinstance(s.get("data_coverage"), int | float)]
    first = status.get("data_from")
    if not shares:
        return ""
    if not first:
        return "No data in the SLO windows."
    if min(shares) >= 1.0:
        return ""
    low, high = min(shares), max(shares)
    share = f"{low:.0%}" if round(low, 2) == round(high, 2) else f"{low:.0%}–{high:.0%}"
    return f"Data since {_clock(str(first))} covers {share} of each SLO window: budgets are over that data."


def _clock(iso: str) -> str:
    """2026-10-01T03:38:00Z -> 10-01 03:38Z: short enough for one line per SLO."""
    if len(iso) >= 16 and iso[10] == "T":
        return f"{iso[5:10]} {iso[11:16]}Z"
    return iso


def _common_window(slos: list[Mapping[str, Any]]) -> str:
    windows = {slo.get("window") for slo in slos}
    return f" ({windows.pop()})" if len(windows) == 1 and None not in windows else ""


def _text(value: str, plain: bool, style: str | None = None) -> Text:
    value = printable(value)  # a group's name is a logged value: a newline or escape would break the table
    return Text(value.translate(_ASCII) if plain else value, style=style or "")


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
