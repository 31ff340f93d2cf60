"""The evaluator's ports (what it reads) and its model objects and wire shapes (what it produces)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypedDict

from processors.counting import Counts
from processors.spec.model import Slo
from processors.timeutil import format_duration

if TYPE_CHECKING:  # numpy only where digests are merged
    from processors.sketch import TDigest


class SliView(Protocol):
    """The read interface of one evaluation ("the view"): everything `evaluate_at` reads at one `now`.

    processors.store.view.StoreView implements it over a store; the replay's in-memory window view and the
    test fakes implement it without one. Each method is a read; none changes anything.
    """

    def counts(self, slo: Slo, start: int, end: int, group: str = "") -> Counts:
        """Ratio SLIs: events in [start, end). Time-slice SLIs: slices wholly inside [start, end).
        With `group`, one group of a grouped SLO (Slo.series(group))."""
        ...

    def groups(self, slo: Slo) -> tuple[str, ...]:
        """A grouped SLO's group values with a series (sorted; GROUP_OTHER once anything folded)."""
        ...

    def bad_exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        """Correlation IDs of recent bad events in [start, end), newest first."""
        ...

    def latency_quantiles(self, sketch: str, start: int, end: int) -> Mapping[str, float] | None:
        """{"p50", "p95", "p99"} in ms over [start, end), or None without samples. The replay's window view
        answers None always: it keeps no digest, since the alert policy reads no latency (replay/window_view.py);
        status documents, metrics and reports read the store's view."""
        ...

    def trace_coverage(self, start: int, end: int) -> Counts:
        """Vocabulary events in [start, end): good = they carried a propagated correlation ID."""
        ...

    def minute_bucket(self, sli: str, start: int) -> Counts:
        """One counter series' minute bucket starting at `start` (zero when empty)."""
        ...

    def digest(self, sketch: str, start: int, end: int) -> TDigest | None:
        """A latency sketch's values in [start, end) as one digest, or None without samples (or from the
        replay's window view, as latency_quantiles)."""
        ...

    def gauge(self, name: str) -> int:
        """A gauge's current value."""
        ...

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        """Every alert transition at or after `since`, oldest first."""
        ...


class AlertStore(Protocol):
    """Alert state and the append-only transition log (processors.store.base.Store implements it)."""

    def load_alert_states(self, damaged: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """Every state by key; given `damaged`, one that does not decode is named there, not raised."""
        ...

    def save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int,
        judged: Collection[str] | Mapping[str, int] = (),
    ) -> list[dict[str, Any]]:
        """Atomically store states and append transitions (deduplicated by "id"); returns only new ones.

        A save whose evaluated_at is older than one of its states' stored one, or than a save that judged an SLO
        of `judged` (its states unchanged, not written), records nothing; so does one whose `judged` maps an SLO
        to its floor as read before the states (Store.alert_floors) when another save judged it since.
        """
        ...

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        """Every transition at or after `since`, oldest first."""
        ...


@dataclass(frozen=True)
class SloEvaluation:
    """One SLO at one `now`. Every number is finite: no traffic means attainment None, burn 0."""

    slo: Slo
    now: int
    window_start: int
    window_seconds: int  # the budget period: the rolling window, or the whole calendar month
    counts: Counts
    attainment: float | None
    consumed: float
    remaining: float
    windows: Mapping[int, Counts]  # window length (s) -> counts over [now - length, now)
    burn_rates: Mapping[int, float]  # window length (s) -> burn rate
    forecast: Mapping[str, float | None]  # "1h"/"6h" -> seconds until the budget is gone at that burn rate
    mttr_seconds: float | None = None
    latency_ms: Mapping[str, float] | None = None  # quantiles over the SLO window (latency SLOs)
    recent_latency_ms: Mapping[str, float] | None = None  # quantiles over the last 5 minutes, for metrics
    month_counts: Counts | None = None  # the calendar month to `now`: the scorecard's budget use
    group: str = ""  # one group of a grouped SLO (the whole SLO: "")
    groups: tuple[SloEvaluation, ...] = ()  # a grouped SLO's groups, each evaluated like an SLO of its own

    @property
    def name(self) -> str:
        return self.slo.name

    def worst_groups(self) -> tuple[SloEvaluation, ...]:
        """The groups, worst first: most budget consumed, then lowest attainment, then by name."""
        return tuple(sorted(
            self.groups,
            key=lambda g: (-g.consumed, 2.0 if g.attainment is None else g.attainment, g.group),
        ))

    def burn(self, seconds: int) -> float:
        return self.burn_rates.get(seconds, 0.0)

    def bad(self, seconds: int) -> int:
        return self.windows.get(seconds, Counts()).bad

    def burn_rates_by_label(self) -> dict[str, float]:
        return {format_duration(seconds): rate for seconds, rate in sorted(self.burn_rates.items())}


@dataclass(frozen=True)
class MinuteReadings:
    """What the operator metrics of the minute [start, end) are computed from: data, never a store."""

    start: int
    end: int
    counts: Mapping[str, Counts]  # counter series -> its minute bucket
    gauges: Mapping[str, int]
    digests: Mapping[str, TDigest | None]  # sketch -> the minute's values


class Unevaluated(NamedTuple):
    """What an evaluation left out, an SLO, one group of it or the operator metrics' minute: reading it raised
    `why` (a damaged item)."""

    what: str  # the SLO's name, or "operator metrics"
    group: str  # "" for all of it
    why: str

    def __str__(self) -> str:
        return f"{self.what}{f' group {self.group!r}' if self.group else ''}: {self.why}"


@dataclass(frozen=True)
class Evaluation:
    now: int
    slos: tuple[SloEvaluation, ...]
    unevaluated: tuple[Unevaluated, ...] = ()  # what `evaluate(isolate=…)` left out

    def get(self, name: str) -> SloEvaluation:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)


# --- Wire shapes ------------------------------------------------------------------------------------------


class BudgetDocument(TypedDict):
    consumed: float
    remaining: float


class _SloStatusRequired(TypedDict):
    name: str
    objective: float
    window: str
    good: int
    total: int
    attainment: float | None
    budget: BudgetDocument
    burn_rates: dict[str, float]


class GroupStatus(TypedDict):
    """One group of a grouped SLO in the status document."""

    group: str
    good: int
    total: int
    attainment: float | None
    budget: BudgetDocument
    burn_rates: dict[str, float]


class GroupedStatus(TypedDict):
    group_by: list[str]
    group_limit: int
    groups_tracked: int  # groups with a series of their own (GROUP_OTHER not counted)
    folded_events: int  # events in the SLO window counted under GROUP_OTHER: past the group_limit
    groups: list[GroupStatus]  # worst first


class SloStatus(_SloStatusRequired, total=False):
    group_by: list[str]
    group_limit: int
    groups_tracked: int
    folded_events: int
    groups: list[GroupStatus]
    kind: str
    window_start: str
    forecast: dict[str, float | None]
    mttr_seconds: float | None
    latency_ms: dict[str, float]
    alerts: dict[str, Any]


class StatusDocument(TypedDict):
    at: str
    slos: list[SloStatus]
