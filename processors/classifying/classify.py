"""Turn one log event into the SLI events it stands for, per the spec. Pure: no clock, no I/O.

Events SLIs (each matching event is one good or bad event) and time-slice SLIs (each lookup feeds its
slice) are decided here. Resolution and latency SLIs need other events of the same correlation ID, so
stitching decides them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from processors.decoding.types import LogEvent
from processors.spec.model import EventsSli, LatencySketch, Matcher, Slo, Spec, TimeSliceSli

T = TypeVar("T")


@dataclass(frozen=True)
class SliEvent:
    sli: str
    time: float  # epoch seconds: the bucket it counts in
    good: bool
    correlation_id: str = ""
    group: str | None = None  # a grouped SLO's group value (before the group_limit fold); None: not grouped


@dataclass(frozen=True)
class LatencySample:
    sketch: str
    time: float
    value_ms: float


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

    @staticmethod
    def _index(table: dict, matcher: Matcher, item: object) -> None:
        for action in matcher.dispatch_keys:
            if item not in table[action]:
                table[action].append(item)

    def classify(self, event: LogEvent) -> list[SliEvent]:
        results: list[SliEvent] = []
        for slo in self._candidates(self._by_action, event.action):
            sli = slo.sli
            if isinstance(sli, EventsSli):
                if not sli.match.matches(event.log):
                    continue
                if sli.exclude is not None and sli.exclude.matches(event.log):
                    continue
                group = slo.group_of(event.log) if slo.group_by else None
                results.append(SliEvent(slo.series(), event.time, sli.is_good(event.log), event.correlation_id, group))
            elif isinstance(sli, TimeSliceSli):
                if sli.good.matches(event.log):
                    results.append(SliEvent(slo.series(), event.time, True, event.correlation_id))
                elif sli.bad.matches(event.log):
                    results.append(SliEvent(slo.series(), event.time, False, event.correlation_id))
        return results

    def latency_samples(self, event: LogEvent) -> list[LatencySample]:
        samples: list[LatencySample] = []
        for sketch in self._candidates(self._sketches_by_action, event.action):
            if sketch.match is None or not sketch.match.matches(event.log):
                continue
            value: object = event.log
            for part in sketch.value_path:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e12:
                samples.append(LatencySample(self._sketch_series[sketch.name], event.time, float(value)))
        return samples

    def max_matches(self) -> int:
        """The most SLIs and field sketches one event can feed: sizes commits before they are built."""
        wildcard = len(self._by_action.get(None, [])) + len(self._sketches_by_action.get(None, []))
        actions = set(self._by_action) | set(self._sketches_by_action)
        return wildcard + max(
            (len(self._by_action.get(a, [])) + len(self._sketches_by_action.get(a, [])) for a in actions if a),
            default=0,
        )

    @staticmethod
    def _candidates(table: dict, action: str) -> list:
        return dispatch(table, action)


def dispatch(table: Mapping[str | None, list[T]], action: str) -> list[T]:
    """What an action meets in a table built from Matcher.dispatch_keys: its own entries, then the wildcard's
    (None: matchers that name no action). The classifier and the stitcher look up the same way."""
    exact = table.get(action, [])
    wildcard = table.get(None, [])
    return exact + wildcard if wildcard else exact
