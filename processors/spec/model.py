"""The internal SLO model: frozen objects the domain computes with. The file format lives in loader.py."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from processors import conventions
from processors.timeutil import format_duration

REVISION_LENGTH = 8  # hex digits of a revision: short enough to read in a notice, 32 bits against collisions


def revision_of(*parts: Any) -> str:
    """A short, stable hash of what decides counting (matchers, thresholds, slices, group_by).

    Dataclass fields equal to their default are left out, so adding a field with a default to the model
    keeps every existing revision; names, objectives, windows and descriptions are never passed in.
    """
    text = json.dumps([_canonical(part) for part in parts], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:REVISION_LENGTH]


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        found: dict[str, Any] = {"_": type(value).__name__}
        for item in dataclasses.fields(value):
            current = getattr(value, item.name)
            if item.compare and not (item.default is not dataclasses.MISSING and current == item.default):
                found[item.name] = _canonical(current)
        return found
    if isinstance(value, frozenset | set):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, tuple | list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    return value


Comparison = Literal["eq", "in", "not_in", "lt", "le", "gt", "ge"]
Test = Callable[[Any], bool]  # a compiled condition or matcher: log -> holds
FieldTest = Callable[[dict[str, Any]], bool]  # the same over the dict at its paths' first part (compiled_field)
_ABSENT = object()
_NUMBER = (int, float)
SliKind = Literal["events", "time_slice", "resolution", "latency"]


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]  # e.g. ("metadata", "status")
    op: Comparison
    value: Any
    line: int | None = field(default=None, compare=False, repr=False)  # its key's in the spec: errors, lint

    def holds(self, log: dict[str, Any]) -> bool:
        actual: Any = log
        for part in self.path:
            if not isinstance(actual, dict) or part not in actual:
                return False
            actual = actual[part]
        if self.op == "eq":
            return bool(actual == self.value)
        if self.op == "in":
            return actual in self.value
        if self.op == "not_in":
            return actual not in self.value
        if not isinstance(actual, _NUMBER) or isinstance(actual, bool):
            return False
        if self.op == "lt":
            return bool(actual < self.value)
        if self.op == "le":
            return bool(actual <= self.value)
        if self.op == "gt":
            return bool(actual > self.value)
        return bool(actual >= self.value)

    def compiled(self) -> Test:
        """`holds` as a closure over the path and value, for callers that build it once and test every event
        with it: the same answers, without re-reading the condition each time. Nearly every condition reads
        ("metadata", field): compiled_field over the dict at "metadata"; any other path is tested by `holds`."""
        if len(self.path) != 2:
            return self.holds
        first, test = self.path[0], self.compiled_field()

        def holds(log: Any) -> bool:  # holds finds no dict at `first`: False
            inner = log.get(first) if isinstance(log, dict) else None
            return isinstance(inner, dict) and test(inner)

        return holds

    def compiled_field(self) -> FieldTest:
        """`holds` for a two-part path (first, second), as a test of the dict at `first`: for a caller that has
        read that dict once for many conditions (the classifier reads `metadata` once per event)."""
        if len(self.path) != 2:
            raise ValueError(f"a field test needs a two-part path, not {self.path}")
        second, op, expected = self.path[1], self.op, self.value
        if op == "eq":
            return lambda inner: bool((actual := inner.get(second, _ABSENT)) is not _ABSENT and actual == expected)
        if op == "in":
            return lambda inner: (actual := inner.get(second, _ABSENT)) is not _ABSENT and actual in expected
        if op == "not_in":
            return lambda inner: (actual := inner.get(second, _ABSENT)) is not _ABSENT and actual not in expected
        # a number (bool is no number; no subclass of bool exists), then one comparison written out: operator's
        # functions cost a call more per event
        if op == "lt":
            return lambda inner: (isinstance(actual := inner.get(second), _NUMBER) and type(actual) is not bool
                                  and bool(actual < expected))
        if op == "le":
            return lambda inner: (isinstance(actual := inner.get(second), _NUMBER) and type(actual) is not bool
                                  and bool(actual <= expected))
        if op == "gt":
            return lambda inner: (isinstance(actual := inner.get(second), _NUMBER) and type(actual) is not bool
                                  and bool(actual > expected))
        return lambda inner: (isinstance(actual := inner.get(second), _NUMBER) and type(actual) is not bool
                              and bool(actual >= expected))


def _all_of(tests: tuple[Test, ...]) -> Test:
    """One test that holds when every one of `tests` does; none holds for nothing (as an empty matcher)."""
    if not tests:
        return lambda value: False
    if len(tests) == 1:
        return tests[0]
    return lambda value: all(test(value) for test in tests)


@dataclass(frozen=True)
class Matcher:
    """All conditions must hold. An empty matcher matches nothing, so a typo can't match everything."""

    conditions: tuple[Condition, ...]

    def matches(self, log: dict[str, Any]) -> bool:
        return bool(self.conditions) and all(c.holds(log) for c in self.conditions)

    def compiled(self) -> Test:
        """`matches` as one closure (Condition.compiled)."""
        return _all_of(tuple(condition.compiled() for condition in self.conditions))

    def given(self, path: tuple[str, ...], value: Any) -> bool | Matcher:
        """This matcher over logs whose value at `path` is `value`: False when that fails a condition on `path`
        (or the matcher is empty), True when it passes every condition, else a matcher of the conditions on
        other paths. The classifier decides conditions on metadata.action once per action this way."""
        if not self.conditions:
            return False
        probe: Any = value
        for part in reversed(path):
            probe = {part: probe}
        rest = []
        for condition in self.conditions:
            if condition.path != path:
                rest.append(condition)
            elif not condition.holds(probe):
                return False
        return Matcher(tuple(rest)) if rest else True

    def compiled_field(self) -> FieldTest:
        """`matches` as one test of the dict at the first part of every condition's two-part path, which all
        share (Condition.compiled_field)."""
        if len({condition.path[:1] for condition in self.conditions}) > 1:
            raise ValueError(f"a field test needs conditions under one field: {self.conditions}")
        return _all_of(tuple(condition.compiled_field() for condition in self.conditions))

    @property
    def dispatch_keys(self) -> frozenset[str | None]:
        """Actions to index this matcher under; None when it does not pin the action (checked for every event)."""
        return frozenset(self.actions) or frozenset({None})

    @property
    def actions(self) -> frozenset[str]:
        """The metadata.action values this matcher can match (empty when it does not pin the action)."""
        condition = self._action_condition
        if condition is None:
            return frozenset()
        return frozenset({condition.value}) if condition.op == "eq" else frozenset(condition.value)

    @property
    def action_line(self) -> int | None:
        """The spec line of the condition that pins the action (None without one, or for a matcher built in code)."""
        condition = self._action_condition
        return condition.line if condition is not None else None

    @property
    def _action_condition(self) -> Condition | None:
        for condition in self.conditions:
            if condition.path == ("metadata", "action") and condition.op in ("eq", "in"):
                return condition
        return None


@dataclass(frozen=True)
class EventsSli:
    """Each matching event counts once; good when `good` matches (or, given `bad` instead, when `bad` does not);
    `exclude` drops it."""

    match: Matcher
    good: Matcher | None
    exclude: Matcher | None = None
    kind: SliKind = "events"
    bad: Matcher | None = None

    def is_good(self, log: dict[str, Any]) -> bool:
        if self.good is not None:
            return self.good.matches(log)
        return self.bad is None or not self.bad.matches(log)

    def compiled_is_good(self) -> Test:
        """`is_good` as one closure (Matcher.compiled)."""
        if self.good is not None:
            return self.good.compiled()
        if self.bad is None:
            return lambda log: True
        bad = self.bad.compiled()
        return lambda log: not bad(log)


@dataclass(frozen=True)
class TimeSliceSli:
    """A slice is good when good / (good + bad) >= min_ratio; empty slices don't count."""

    good: Matcher
    bad: Matcher
    slice_seconds: int = conventions.SLICE_SECONDS_DEFAULT
    min_ratio: float = 0.6
    kind: SliKind = "time_slice"


@dataclass(frozen=True)
class ResolutionSli:
    """One event per correlation ID when it resolves; the first resolution wins."""

    good: Matcher
    bad: Matcher
    kind: SliKind = "resolution"


@dataclass(frozen=True)
class LatencySli:
    """Good when end − start ≤ threshold for the same correlation ID; event time = end."""

    start: Matcher
    end: Matcher
    threshold_ms: float
    kind: SliKind = "latency"


Sli = EventsSli | TimeSliceSli | ResolutionSli | LatencySli


@dataclass(frozen=True)
class BurnRateTier:
    """Opens (fires) on the Workbook condition: both windows burn ≥ factor. Once open it stays open while
    both burn ≥ factor × clear_ratio, then for `keep_firing_for` more (Prometheus' keep_firing_for), so a
    burn hovering around the factor is one incident, not one page per dip (docs/alerting.md)."""

    severity: Literal["page", "ticket"]
    long_window: int  # seconds
    short_window: int
    factor: float
    keep_firing_for: int | None = None  # seconds; None means the short window
    clear_ratio: float = 0.5

    @property
    def hold(self) -> int:
        return self.short_window if self.keep_firing_for is None else self.keep_firing_for

    @property
    def name(self) -> str:
        return f"{format_duration(self.long_window)}/{format_duration(self.short_window)}"


@dataclass(frozen=True)
class AlertPolicy:
    tiers: tuple[BurnRateTier, ...]
    min_bad_events: int = 5
    budget_thresholds: tuple[tuple[str, float], ...] = (("warning", 0.5), ("critical", 0.8), ("exhausted", 1.0))
    no_data_after: int | None = None  # seconds of silence before a no-data alert; None disables it
    budget_min_events: int = 100  # budget alerts need this many events in the SLO window
    cool_off: int = conventions.HOUR  # a re-fire this soon after an incident closed re-triggers that incident


@dataclass(frozen=True)
class Slo:
    name: str
    objective: float
    sli: Sli
    window: int  # seconds; ignored when calendar_month
    calendar_month: bool = False
    description: str = ""
    runbook: str = ""
    alerting: AlertPolicy | None = None
    line: int | None = field(default=None, compare=False)
    metric: str = ""  # the headline CloudWatch metric (e.g. SLOApiAvailability); empty: none
    group_by: tuple[str, ...] = ()  # field names as the spec wrote them (e.g. repository); empty: not grouped
    group_paths: tuple[tuple[str, ...], ...] = ()  # their paths in the event, in the same order
    group_limit: int = conventions.DEFAULT_GROUP_LIMIT
    # read an earlier revision's series instead of the SLI's own (`slo status --revision`; Spec.at_revision)
    pinned_revision: str = field(default="", compare=False)

    @property
    def kind(self) -> SliKind:
        return self.sli.kind

    @cached_property
    def revision(self) -> str:
        """The hash of the SLI's counting fields: a matcher or threshold change is a new revision (new series);
        an objective, window, alerting or description change is not (docs/slos.md, "Spec revisions")."""
        if self.pinned_revision:
            return self.pinned_revision
        return self.own_revision

    @cached_property
    def own_revision(self) -> str:
        """The revision the spec's SLI hashes to, whatever is pinned."""
        if self.group_by:  # a grouped SLO's groups are counting too (ungrouped revisions hash the SLI alone)
            return revision_of(self.sli, self.group_by)
        return revision_of(self.sli)

    def series(self, group: str = "") -> str:
        """The counter series this SLI's events are stored under: every writer and reader names it here."""
        if not group:
            return self._series
        return conventions.series_id(self.name, self.revision, group)

    @cached_property
    def _series(self) -> str:  # the ungrouped series is on every event's path: computed once
        return conventions.series_id(self.name, self.revision)

    def group_of(self, log: dict[str, Any]) -> str:
        """The group an event counts under (before the group_limit fold and redaction): its group_by values, joined
        by `,`, cut at twice MAX_GROUP_CHARS, so that ingest's redaction sees a secret across the final cut whole."""
        values = []
        for path in self.group_paths:
            value: Any = log
            for part in path:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None or isinstance(value, dict | list) or value == "":
                values.append(conventions.GROUP_NONE)
            else:
                values.append(str(value).lower() if isinstance(value, bool) else str(value))
        return ",".join(values)[: 2 * conventions.MAX_GROUP_CHARS]

    @property
    def window_label(self) -> str:
        return "calendar-month" if self.calendar_month else format_duration(self.window)


@dataclass(frozen=True)
class LatencySketch:
    """Values kept as t-digests per minute and hour. They come from one of: a stitched latency SLO; the
    time between two events of one correlation ID (start/end); or a numeric field of matching events."""

    name: str
    stitched: str | None = None
    match: Matcher | None = None
    value_path: tuple[str, ...] = ("metadata", "duration")
    start: Matcher | None = None
    end: Matcher | None = None
    line: int | None = field(default=None, compare=False)

    @property
    def between(self) -> bool:
        return self.start is not None and self.end is not None

    @cached_property
    def revision(self) -> str:
        """A field or start/end sketch's own counting fields (a stitched one goes by its SLO: Spec.sketch_series)."""
        return revision_of(self.match, self.value_path, self.start, self.end, self.stitched)


Validation = Literal["lax", "warn", "strict"]


@dataclass(frozen=True)
class AccessLogRule:
    """A line that has every `detect` field but no action is one request of an access log (API Gateway's
    JSON formats): it gets `action`, and the `numbers` fields (quoted by most formats) become numbers."""

    detect: tuple[str, ...] = ("requestTime", "status")
    action: str = "api_request"  # the action a request line gets (the shipped spec's name for it)
    numbers: tuple[str, ...] = ("status", "responseLatency", "integrationLatency", "responseLength")
    duration: str = "responseLatency"  # copied to metadata.duration (ms) when present


@dataclass(frozen=True)
class LogFormat:
    """Where a line's fields live (dotted paths, first present wins) and how strictly it is validated.

    The defaults read schema v1, Powertools Logger output (a dict message, written as an object in `message`,
    under the line's own fields), Lambda's JSON log format (a JSON `message` is unwrapped once) and API Gateway
    access logs with no configuration (docs/log-schema.md). `metadata` merges every object it finds: the first
    path's over the line's other top-level keys, later paths' under them.
    """

    correlation_id: tuple[str, ...] = ("correlationId", "correlation_id", "message.correlationId",
                                       "message.correlation_id")
    action: tuple[str, ...] = ("metadata.action", "action", "message.action")
    time: tuple[str, ...] = ("timestamp", "time", "requestTime")
    service: tuple[str, ...] = ("service",)
    level: tuple[str, ...] = ("level",)
    metadata: tuple[str, ...] = ("metadata", "message")
    unwrap: tuple[str, ...] = ("message",)
    access_log: AccessLogRule | None = field(default_factory=AccessLogRule)
    validation: Validation = "lax"


@dataclass(frozen=True)
class Targets:
    """What success means for the whole platform (the product spec's four measures); `slo scorecard` checks them.

    compliance_time: share of evaluation minutes in which an SLO met its objective over its window;
    budget_use: most of a calendar month's error budget an SLO may spend; mttr: mean page-to-recovery seconds;
    trace_coverage: share of vocabulary events that carried a propagated correlation ID.
    """

    compliance_time: float = 0.99
    budget_use: float = 0.5
    mttr: int = 15 * conventions.MINUTE
    trace_coverage: float = 1.0


ROUTE_NAMES: tuple[str, ...] = ("pagerduty", "slack", "sns")
DEFAULT_ROUTES: dict[str, tuple[str, ...]] = {"page": ("sns",), "ticket": ("sns",)}


@dataclass(frozen=True)
class Phase:
    """The time from milestone `start` to milestone `end` of one unit of work (e.g. queue, startup)."""

    name: str
    start: str
    end: str
    summary: bool = True  # shown in the waterfall's header (a phase of a few ms is left to its span)


@dataclass(frozen=True)
class Resolution:
    """An action that ends a unit of work. The `sweep` resolution is what a unit past max_runtime becomes."""

    name: str
    action: str
    sweep: bool = False
    outcome_field: tuple[str, ...] | None = None  # the event field whose value names the outcome
    error: str = ""  # the error type a trace shows for this resolution's event (sweep resolutions fail)


@dataclass(frozen=True)
class Journey:
    """The platform's unit of work: milestones in order, the phases between them, what opens and closes it."""

    milestones: tuple[str, ...]
    opens: str
    resolutions: tuple[Resolution, ...]
    phases: tuple[Phase, ...] = ()
    max_runtime: int = 6 * conventions.HOUR
    name: str = "unit"
    workflow_field: tuple[str, ...] | None = None  # `slo trace --workflow` finds traces by this field
    repository_field: tuple[str, ...] | None = None  # and `--repository` by this one
    services: tuple[tuple[str, str], ...] = ()  # milestone -> the service that logs it

    @property
    def terminal(self) -> tuple[str, ...]:
        """Actions that resolve a unit, in declared order."""
        return tuple(dict.fromkeys(r.action for r in self.resolutions))

    @property
    def path(self) -> tuple[str, ...]:
        """The milestones before any resolution: each phase span starts at the last of these present."""
        return tuple(m for m in self.milestones if m not in self.terminal)

    @property
    def tracked(self) -> tuple[str, ...]:
        """Every action whose first time a trace head keeps: milestones, then resolutions."""
        return tuple(dict.fromkeys((*self.milestones, *self.terminal)))

    @property
    def sweep(self) -> Resolution | None:
        return next((r for r in self.resolutions if r.sweep), None)


    def phase_ending(self, milestone: str) -> str | None:
        """The name of the phase that ends at `milestone` (a resolution without a phase: its own name)."""
        for phase in self.phases:
            if phase.end == milestone:
                return phase.name
        for resolution in self.resolutions:
            if resolution.action == milestone and milestone not in self.milestones:
                return resolution.name
        return None

    def service_of(self, milestone: str) -> str:
        return dict(self.services).get(milestone, "")


MetricKind = Literal["count", "rate", "ratio", "gauge", "utilization", "latency", "mean", "cost", "mttr"]
MetricOf = Literal["total", "good", "bad"]


@dataclass(frozen=True)
class OperatorMetric:
    """An operator metric the evaluator emits each minute: what it reads (`counter` series, `sketch`, the
    open-unit gauge or the alert log) and how it turns that into a value."""

    name: str
    kind: MetricKind
    unit: str
    counter: str | None = None  # a counted series: a built-in counter (Spec.counters) or an SLO's
    of: MetricOf = "total"
    sketch: str | None = None
    per_hour: float = 0.0  # cost: currency per hour of the sketch's mean duration
    capacity: int = 0  # utilization: the most units that can be open at once (open units / capacity)
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Spec:
    slos: tuple[Slo, ...]
    latency: tuple[LatencySketch, ...] = ()
    trace_ttl_days: int = conventions.DEFAULT_TRACE_TTL_DAYS
    targets: Targets = Targets()
    journey: Journey | None = None
    metrics: tuple[OperatorMetric, ...] = ()
    counters: tuple[Slo, ...] = ()  # events SLIs behind the operator metrics, named `_…`
    vocabulary: tuple[str, ...] = ()  # every action the spec declares or matches on
    default_max_runtime: int = 6 * conventions.HOUR
    source: str = "<spec>"
    log_format: LogFormat = field(default_factory=LogFormat)
    routes: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_ROUTES))  # severity -> routes
    trace_metadata: tuple[str, ...] = ()  # metadata keys trace heads keep beyond the engine's own (`traces:`)
    extras: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def max_runtime(self) -> int:
        return self.journey.max_runtime if self.journey is not None else self.default_max_runtime

    def slo(self, name: str) -> Slo:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(slo.name for slo in self.slos)

    def at_revision(self, name: str, revision: str) -> Spec:
        """This spec with SLO `name` reading (never writing) the series of an earlier `revision`."""
        self.slo(name)  # KeyError for an unknown SLO
        slos = tuple(
            dataclasses.replace(slo, pinned_revision=revision) if slo.name == name else slo for slo in self.slos
        )
        return dataclasses.replace(self, slos=slos)

    def series_of(self, name: str) -> str:
        """The counter series of an SLO or built-in counter by name; any other name (the trace coverage) is
        not revisioned and is its own series."""
        for slo in (*self.slos, *self.counters):
            if slo.name == name:
                return slo.series()
        return name

    def sketch_series(self, name: str) -> str:
        """The digest series of a latency sketch by name: a stitched sketch is revised with its latency SLO."""
        for sketch in self.latency:
            if sketch.name == name:
                if sketch.stitched is not None:
                    return conventions.series_id(name, self.slo(sketch.stitched).revision)
                return conventions.series_id(name, sketch.revision)
        return name


ID_SLOTS: tuple[str, str] = ("workflow", "repository")  # the journey's `fields` a trace is found by


def id_labels(journey: Journey | None) -> tuple[str, str]:
    """What a trace's header calls its workflow and repository: the fields the journey reads them from (orderId,
    storefront), or the slot's name where it names none."""
    if journey is None:
        return ID_SLOTS
    return (journey.workflow_field[-1] if journey.workflow_field else ID_SLOTS[0],
            journey.repository_field[-1] if journey.repository_field else ID_SLOTS[1])
