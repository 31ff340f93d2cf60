"""Turn one log event into the SLI events it stands for, per the spec. Pure: no clock, no I/O.

Events SLIs (each matching event is one good or bad event) and time-slice SLIs (each lookup feeds its
slice) are decided here. Resolution and latency SLIs need other events of the same correlation ID, so
stitching decides them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from processors.decoding.types import LogEvent
from processors.spec.model import EventsSli, LatencySketch, Matcher, Slo, Spec, TimeSliceSli

T = TypeVar("T")


@dataclass(slots=True, unsafe_hash=True)  # not frozen, for speed: as decoding's LogEvent (decoding/types.py)
class SliEvent:
    sli: str
    time: float  # epoch seconds: the bucket it counts in
    good: bool
    correlation_id: str = ""
    group: str | None = None  # a grouped SLO's group value (before the group_limit fold); None: not grouped


@dataclass(slots=True, unsafe_hash=True)  # not frozen, as SliEvent
class LatencySample:
    sketch: str
    time: float
    value_ms: float


Rule = Callable[[LogEvent, list[SliEvent]], None]  # one SLO compiled: appends the SLI event an event stands for
Sampler = Callable[[LogEvent, list[LatencySample]], None]  # one field sketch compiled: appends its sample
Item = TypeVar("Item")
Compiled = TypeVar("Compiled")
_NUMBER = (int, float)


class Classifier:
    """The spec compiled into per-action dispatch, so each event only meets the SLIs that can match it."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._by_action: dict[str | None, list[Slo]] = defaultdict(list)
        self._sketches_by_action: dict[str | None, list[LatencySketch]] = defaultdict(list)
        for slo in (*spec.slos, *spec.counters):
            if isinstance(slo.sli, EventsSli):
                self._index(self._by_action, slo.sli.match, slo)
            elif isinstance(slo.sli, TimeSliceSli):
                self._index(self._by_action, slo.sli.good, slo)
                self._index(self._by_action, slo.sli.bad, slo)
        self._sketch_series = {sketch.name: spec.sketch_series(sketch.name) for sketch in spec.latency}
        for sketch in spec.latency:
            if sketch.match is not None:
                self._index(self._sketches_by_action, sketch.match, sketch)
        self._rules, self._wildcard_rules = _per_action(self._by_action, _rule)
        self._samplers, self._wildcard_samplers = _per_action(
            self._sketches_by_action, lambda sketch: _sampler(sketch, self._sketch_series[sketch.name])
        )

    @staticmethod
    def _index(table: dict, matcher: Matcher, item: object) -> None:
        for action in matcher.dispatch_keys:
            if item not in table[action]:
                table[action].append(item)

    def classify(self, event: LogEvent) -> list[SliEvent]:
        results: list[SliEvent] = []
        for rule in self._rules.get(event.action, self._wildcard_rules):
            rule(event, results)
        return results

    def latency_samples(self, event: LogEvent) -> list[LatencySample]:
        samples: list[LatencySample] = []
        for sampler in self._samplers.get(event.action, self._wildcard_samplers):
            sampler(event, samples)
        return samples

    def max_matches(self) -> int:
        """The most SLIs and field sketches one event can feed: sizes commits before they are built."""
        wildcard = len(self._by_action.get(None, [])) + len(self._sketches_by_action.get(None, []))
        actions = set(self._by_action) | set(self._sketches_by_action)
        return wildcard + max(
            (len(self._by_action.get(a, [])) + len(self._sketches_by_action.get(a, [])) for a in actions if a),
            default=0,
        )


def _per_action(
    table: Mapping[str | None, list[Item]], compile_one: Callable[[Item], Compiled]
) -> tuple[dict[str, tuple[Compiled, ...]], tuple[Compiled, ...]]:
    """Each action's items (a table built by Classifier._index) compiled once, in dispatch order, and the
    wildcard's alone: what an action that no item names meets."""
    compiled = {id(item): compile_one(item) for items in table.values() for item in items}
    by_action = {
        action: tuple(compiled[id(item)] for item in dispatch(table, action)) for action in table if action is not None
    }
    return by_action, tuple(compiled[id(item)] for item in table.get(None, []))


def _sampler(sketch: LatencySketch, series: str) -> Sampler:
    """A field sketch as one closure: a matching event's numeric value at `value_path` in [0, 1e12) is a sample."""
    assert sketch.match is not None  # only sketches with a matcher are indexed
    match, path = sketch.match.compiled(), sketch.value_path

    def sample(event: LogEvent, into: list[LatencySample]) -> None:
        log = event.log
        if not match(log):
            return
        value: object = log
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, _NUMBER) and not isinstance(value, bool) and 0 <= value < 1e12:
            into.append(LatencySample(series, event.time, float(value)))

    return sample


def _rule(slo: Slo) -> Rule:
    """An events or time-slice SLO as one closure over its compiled matchers (Matcher.compiled) and series."""
    sli, series = slo.sli, slo.series()
    if isinstance(sli, TimeSliceSli):
        good, bad = sli.good.compiled(), sli.bad.compiled()

        def time_slice(event: LogEvent, into: list[SliEvent]) -> None:
            if good(event.log):
                into.append(SliEvent(series, event.time, True, event.correlation_id))
            elif bad(event.log):
                into.append(SliEvent(series, event.time, False, event.correlation_id))

        return time_slice
    assert isinstance(sli, EventsSli)
    match = sli.match.compiled()
    exclude = sli.exclude.compiled() if sli.exclude is not None else None
    is_good = sli.compiled_is_good()
    group_of = slo.group_of if slo.group_by else None

    def events(event: LogEvent, into: list[SliEvent]) -> None:
        log = event.log
        if not match(log) or (exclude is not None and exclude(log)):
            return
        group = group_of(log) if group_of is not None else None
        into.append(SliEvent(series, event.time, is_good(log), event.correlation_id, group))

    return events


def dispatch(table: Mapping[str | None, list[T]], action: str) -> list[T]:
    """What an action meets in a table built from Matcher.dispatch_keys: its own entries, then the wildcard's
    (None: matchers that name no action). The classifier and the stitcher look up the same way."""
    exact = table.get(action, [])
    wildcard = table.get(None, [])
    return exact + wildcard if wildcard else exact
