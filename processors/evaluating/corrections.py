"""Budget corrections: windows of known-bad events (a load test, a bad deploy) left out of an SLO's good/total.

Like Datadog's status corrections and Nobl9's budget adjustments. A correction is an audit record kept in the
store (who, when, why; one version each, never edited); `corrected` wraps a view so that every count the
evaluator reads (the SLO window, every burn-rate window) leaves the corrected windows out. Pure: a function of
the view and the corrections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from processors.counting import Counts
from processors.evaluating.types import SliView
from processors.spec.model import Slo


@dataclass(frozen=True)
class Correction:
    id: str
    slo: str
    start: int  # epoch seconds, inclusive
    end: int  # exclusive
    reason: str
    created_by: str
    created_at: int
    version: int

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Correction:
        return cls(
            id=str(doc["id"]), slo=str(doc["slo"]), start=int(doc["start"]), end=int(doc["end"]),
            reason=str(doc.get("reason", "")), created_by=str(doc.get("created_by", "")),
            created_at=int(doc.get("created_at", 0)), version=int(doc.get("version", 1)),
        )


def merged_windows(corrections: Iterable[Correction], slo: str) -> list[tuple[int, int]]:
    """The SLO's corrected windows, overlaps merged, so no event is subtracted twice."""
    spans = sorted((c.start, c.end) for c in corrections if c.slo == slo and c.end > c.start)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class CorrectedView:
    """A view whose SLO counts leave the corrected windows out; everything else is the wrapped view's. The counts
    of an SLO in `damaged` (its corrections did not read) raise that SLO's error, as a damaged counter's would."""

    def __init__(
        self, view: SliView, corrections: Iterable[Correction], damaged: Mapping[str, Exception] | None = None
    ) -> None:
        self.view = view
        self.corrections = tuple(corrections)
        self._windows = {c.slo: merged_windows(self.corrections, c.slo) for c in self.corrections}
        self._damaged = dict(damaged or {})

    def counts(self, slo: Slo, start: int, end: int, group: str = "") -> Counts:
        """A grouped SLO's corrections leave the window out of every group."""
        if slo.name in self._damaged:
            raise self._damaged[slo.name].with_traceback(None)

        def read(low: int, high: int) -> Counts:
            return self.view.counts(slo, low, high, group) if group else self.view.counts(slo, low, high)

        counts = read(start, end)
        good, total = counts.good, counts.total
        for low, high in self._windows.get(slo.name, ()):
            low, high = max(low, start), min(high, end)
            if low < high:
                excluded = read(low, high)
                good, total = good - excluded.good, total - excluded.total
        return Counts(max(good, 0), max(total, 0))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)


def corrected(
    view: SliView, corrections: Iterable[Correction], damaged: Mapping[str, Exception] | None = None
) -> SliView:
    found = tuple(corrections)
    return CorrectedView(view, found, damaged) if found or damaged else view


def corrections_of(view: Any, slos: Iterable[str]) -> tuple[Correction, ...]:
    """The corrections a view's store holds for these SLOs (views without a store have none)."""
    read = getattr(view, "corrections", None)
    if not callable(read):
        return ()
    return tuple(Correction.from_document(doc) for doc in read(list(slos)))


def isolated_corrections(
    view: Any, slos: Iterable[str], isolate: tuple[type[Exception], ...]
) -> tuple[tuple[Correction, ...], dict[str, Exception]]:
    """corrections_of each SLO read alone (a read apiece, as the store reads them): an SLO whose corrections raise
    an error of a type in `isolate` (one that does not decode) is returned with that error, the others' are read.
    Corrections are kept per SLO, so a damaged one names the SLO whose counts it would change."""
    found: list[Correction] = []
    damaged: dict[str, Exception] = {}
    for slo in slos:
        try:
            found += corrections_of(view, [slo])
        except isolate as exc:
            damaged[slo] = exc
    return tuple(found), damaged
