"""Which revision of an SLO's series a status shows, since when, and the one-line notice when there are others.

Pure: a function of the spec's revision and the store's revision records (Store.revisions: revision -> the
first minute counted under it). docs/slos.md, "Spec revisions".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

from processors.timeutil import iso_seconds


class OtherRevision(TypedDict):
    revision: str
    since: str  # ISO 8601: the first minute counted under it


class RevisionStatus(TypedDict):
    """The fields `slo status --json` adds to each SLO."""

    revision: str  # the revision whose series the figures read
    revision_since: str | None  # its first counted minute; None when nothing was counted under it yet
    other_revisions: list[OtherRevision]  # the SLO's other recorded revisions, oldest first
    notice: str | None  # the one line the text output prints; None with a single revision


def revision_status(name: str, current: str, recorded: Mapping[str, int], shown: str | None = None) -> RevisionStatus:
    """The status of SLO `name`, whose spec revision is `current`, reading `shown` (default: `current`)."""
    shown = shown or current
    since = recorded.get(shown)
    others = sorted(((first, revision) for revision, first in recorded.items() if revision != shown))
    other_revisions: list[OtherRevision] = [{"revision": r, "since": iso_seconds(first)} for first, r in others]
    return {
        "revision": shown,
        "revision_since": None if since is None else iso_seconds(since),
        "other_revisions": other_revisions,
        "notice": _notice(name, current, shown, since, [r for _, r in others]),
    }


def _notice(name: str, current: str, shown: str, since: int | None, others: list[str]) -> str | None:
    started = "has no events yet" if since is None else f"since {minute_text(since)}"
    if shown != current:
        return f"{name}: showing revision {shown} ({started}), not the spec's current revision {current}"
    earlier = [revision for revision in others if revision != current]
    if not earlier:
        return None
    if len(earlier) == 1:
        readable = f"the earlier revision {earlier[0]} is readable with --revision {earlier[0]}"
    else:
        readable = f"the earlier revisions {', '.join(earlier)} are readable with --revision REV"
    return f"{name}: revision {current} {started}; {readable}"


def minute_text(moment: int) -> str:
    """2026-10-01 04:00 UTC: a minute as a notice shows it."""
    iso = iso_seconds(moment)
    return f"{iso[:10]} {iso[11:16]} UTC"


def resolve_revision(wanted: str, recorded: Mapping[str, Mapping[str, int]]) -> list[tuple[str, str]]:
    """(SLO, revision) pairs whose recorded revision is `wanted` or starts with it (at least 4 characters):
    every SLO that recorded it (identical SLIs share a revision)."""
    if len(wanted) < 4:
        return []
    return [
        (name, revision)
        for name, revisions in recorded.items()
        for revision in revisions
        if revision == wanted or revision.startswith(wanted)
    ]
