"""The report's input: JSON-shaped documents gathered by collect.py (or built by hand in tests), and the
read interface collect.py gathers them through."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from processors.evaluating.types import SliView
from processors.spec.model import ID_SLOTS

if TYPE_CHECKING:
    from processors.counting import Counts, Rows
    from processors.spec.model import Slo
    from processors.stitching.model import TraceHead


class ReportView(SliView, Protocol):
    """The evaluation's view plus what a report draws besides evaluations: the newest data, cache slices,
    traces (processors.store.view.StoreView implements it). Rendering never sees a store."""

    def default_at(self) -> int | None: ...

    def hour_rows(self, sli: str, start: int, end: int) -> Rows: ...

    def minute_counts(self, slo: Slo, start: int, end: int) -> Mapping[int, Counts]: ...

    def heads_and_damaged(self, correlation_ids: Iterable[str]) -> tuple[dict[str, TraceHead], frozenset[str]]:
        """The stored heads that decode, and the IDs whose stored head does not (docs/store.md, Damaged trace
        heads): one damaged trace must not cost the whole report."""
        ...


class CacheSlice(TypedDict):
    """One time slice of a time-slice SLO: good is None when the slice saw no lookups."""

    start: str  # ISO 8601
    good: bool | None
    hits: int
    lookups: int


class LatencyPoint(TypedDict):
    """Latency quantiles (ms) over the step that ends at `at`; None where the step had no samples."""

    at: str
    p50: float | None
    p95: float | None
    p99: float | None


class TierInfo(TypedDict):
    name: str  # "1h/5m"
    severity: str  # page | ticket
    factor: float


class SloInfo(TypedDict, total=False):
    """What a status document doesn't carry but a reader of the report needs."""

    description: str
    kind: str
    threshold_ms: float
    slice_seconds: int
    min_ratio: float
    tiers: list[TierInfo]


@dataclass(frozen=True)
class ReportData:
    status_now: Mapping[str, Any]  # a status document at `until`
    status_series: Sequence[Mapping[str, Any]]  # status documents at every step, oldest first
    alert_log: Sequence[Mapping[str, Any]]  # transitions, oldest first
    trace: Mapping[str, Any] | None  # a trace view document, or None
    cache_slices: Mapping[str, Sequence[CacheSlice]]  # time-slice SLO name -> slices, oldest first
    latency_series: Mapping[str, Sequence[LatencyPoint]]  # latency SLO name -> points, oldest first
    since: str | None = None
    until: str | None = None
    step_seconds: int = 300
    slo_info: Mapping[str, SloInfo] = field(default_factory=dict)
    trace_labels: tuple[str, str] = ID_SLOTS  # what the trace calls its workflow and repository (id_labels)
    trace_reason: str = ""  # why this trace is shown, e.g. "worst exemplar of queue-latency page 1h/5m"
    damaged_traces: Sequence[str] = ()  # traces left out (exemplars, or --trace): their stored head does not decode
    corrections: Sequence[Mapping[str, Any]] = ()  # budget corrections of the spec's SLOs (audit records)
    # The monthly sections (`slo report --month`): the scorecard document (processors.evaluating.scorecard),
    # each SLO's compliance per UTC day, and the log's silences and corrections (kinds "silence", "correction").
    scorecard: Mapping[str, Any] | None = None
    compliance_days: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    notes: Sequence[Mapping[str, Any]] = ()
