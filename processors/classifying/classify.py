"""Turn one log event into the SLI events it stands for, per the spec. Pure: no clock, no I/O.

Events SLIs (each matching event is one good or bad event) and time-slice SLIs (each lookup feeds its
slice) are decided here. Resolution and latency SLIs need other events of the same correlation ID, so
stitching decides them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard, TypeVar

import msgspec

from processors.decoding.types import LogEvent
from processors.spec.model import EventsSli, FieldTest, LatencySketch, Matcher, Slo, Spec, TimeSliceSli

T = TypeVar("T")


class SliEvent(msgspec.Struct, gc=False):  # a Struct, for speed: as decoding's LogEvent (decoding/types.py)
    sli: str
    time: float  # epoch seconds: the bucket it counts in
    good: bool
    correlation_id: str = ""
    group: str | None = None  # a grouped SLO's group value (before the group_limit fold); None: not grouped

    def __hash__(self) -> int:
        return hash((self.sli, self.time, self.good, self.correlation_id, self.group))


class LatencySample(msgspec.Struct, gc=False):  # as SliEvent
    sketch: str
    time: float
    value_ms: float

    def __hash__(self) -> int:
        return hash((self.sketch, self.time, self.value_ms))


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
                index_by_action(self._by_action, slo, slo.sli.match)
            elif isinstance(slo.sli, TimeSliceSli):
                index_by_action(self._by_action, slo, slo.sli.good, slo.sli.bad)
        self._sketch_series = {sketch.name: spec.sketch_series(sketch.name) for sketch in spec.latency}
        for sketch in spec.latency:
            if sketch.match is not None:
                index_by_action(self._sketches_by_action, sketch, sketch.match)
        self._rules, self._wildcard_rules = compile_per_action(self._by_action, _rule)
        self._samplers, self._wildcard_samplers = compile_per_action(
            self._sketches_by_action, lambda sketch: _sampler(sketch, self._sketch_series[sketch.name])
        )
        # the fast path: per action, its rules with their conditions on metadata.action decided (Matcher.given);
        # an action whose rules read other paths keeps the closures above alone
        self._plans = _plans(self._by_action, _plan)
        self._sample_plans = _plans(
            self._sketches_by_action,
            lambda sketch, action: _sample_plan(sketch, self._sketch_series[sketch.name], action),
        )

    def classify(self, event: LogEvent) -> list[SliEvent]:
        action, log = event.action, event.log
        plan = self._plans.get(action)
        if plan is not None and type(log) is dict and type(action) is str:
            metadata = log.get("metadata")
            # the plan decided metadata.action as the event's action: it holds where that is the very value
            if type(metadata) is dict and metadata.get("action") is action:
                time, correlation_id = event.time, event.correlation_id
                found = []
                for series, match, exclude, good, group_of in plan:
                    if (match is None or match(metadata)) and (exclude is None or not exclude(metadata)):
                        verdict = good if type(good) is bool else good(metadata)
                        group = None if group_of is None else group_of(log)
                        found.append(SliEvent(series, time, verdict, correlation_id, group))
                return found
        results: list[SliEvent] = []
        for rule in self._rules.get(action, self._wildcard_rules):
            rule(event, results)
        return results

    def latency_samples(self, event: LogEvent) -> list[LatencySample]:
        action, log = event.action, event.log
        plan = self._sample_plans.get(action)
        if plan is not None and type(log) is dict and type(action) is str:
            metadata = log.get("metadata")
            if type(metadata) is dict and metadata.get("action") is action:  # as in classify
                found = []
                for series, match, field in plan:
                    if match is None or match(metadata):
                        value = metadata.get(field)
                        if _is_sample(value):
                            found.append(LatencySample(series, event.time, float(value)))
                return found
        samples: list[LatencySample] = []
        for sampler in self._samplers.get(action, self._wildcard_samplers):
            sampler(event, samples)
        return samples

    def max_matches(self) -> int:
        """The most SLIs and field sketches one event can feed: sizes commits before they are built."""
        wildcard = len(self._by_action.get(None, [])) + len(self._sketches_by_action.get(None, []))
        actions = {action for action in (*self._by_action, *self._sketches_by_action) if action is not None}
        return max(
            (len(dispatch(self._by_action, a)) + len(dispatch(self._sketches_by_action, a)) for a in actions),
            default=wildcard,
        )


def index_by_action(table: dict[str | None, list[Item]], item: Item, *matchers: Matcher) -> None:
    """File `item` under every action its matchers name (None: a matcher that names none), once each: the table
    `dispatch` and `compile_per_action` read. The classifier and the stitcher build theirs so."""
    for action in frozenset().union(*(matcher.dispatch_keys for matcher in matchers)):
        if item not in table[action]:
            table[action].append(item)


def compile_per_action(
    table: Mapping[str | None, list[Item]], compile_one: Callable[[Item], Compiled]
) -> tuple[dict[str, tuple[Compiled, ...]], tuple[Compiled, ...]]:
    """Each action's items (a table built from Matcher.dispatch_keys) compiled once, in dispatch order, and the
    wildcard's alone: what an action that no item names meets. The classifier and the stitcher compile so."""
    compiled = {id(item): compile_one(item) for items in table.values() for item in items}
    by_action = {
        action: tuple(compiled[id(item)] for item in dispatch(table, action)) for action in table if action is not None
    }
    return by_action, tuple(compiled[id(item)] for item in table.get(None, []))


# One events or time-slice SLO at one action: (series, match, exclude, good, group_of), each test over the
# metadata dict: match None holds for every event of the action, exclude None drops none, good is the verdict
# or its test, group_of is Slo.group_of for a grouped SLO (over the whole log).
Step = tuple[str, FieldTest | None, FieldTest | None, bool | FieldTest, Callable[[dict[str, Any]], str] | None]
SampleStep = tuple[str, FieldTest | None, str]  # a field sketch at one action: (series, match, metadata field)
_ACTION_PATH = ("metadata", "action")


def _plans(
    table: Mapping[str | None, list[Item]], plan_one: Callable[[Item, str], list[Compiled] | None]
) -> dict[str, tuple[Compiled, ...]]:
    """Each named action's items (a table built by Classifier._index) as steps, in dispatch order; an action
    that an item cannot plan for (it reads a path outside metadata) has none and takes the closures."""
    plans = {}
    for action in table:
        if type(action) is not str:  # decided conditions must see what the event's action is: a str
            continue
        steps = [plan_one(item, action) for item in dispatch(table, action)]
        if all(step is not None for step in steps):
            plans[action] = tuple(one for step in steps if step is not None for one in step)
    return plans


def _given(matcher: Matcher, action: str) -> bool | FieldTest | None:
    """A matcher at `action`: decided (a bool), a test over the metadata dict, or None when it reads another path."""
    rest = matcher.given(_ACTION_PATH, action)
    if isinstance(rest, bool):
        return rest
    if any(len(condition.path) != 2 or condition.path[0] != "metadata" for condition in rest.conditions):
        return None
    return rest.compiled_field()


def _plan(slo: Slo, action: str) -> list[Step] | None:
    """An events or time-slice SLO at `action`: no step when it cannot match there, None when it cannot plan."""
    sli, series = slo.sli, slo.series()
    if isinstance(sli, TimeSliceSli):  # good when `good` matches, else bad when `bad` does
        good, bad = _given(sli.good, action), _given(sli.bad, action)
        if good is None or bad is None:
            return None
        if good is True or bad is False:
            return [] if good is False else [(series, None if good is True else good, None, True, None)]
        if good is False:
            return [(series, None if bad is True else bad, None, False, None)]
        if bad is True:
            return [(series, None, None, good, None)]
        good_test, bad_test = good, bad
        return [(series, lambda metadata: good_test(metadata) or bad_test(metadata), None, good_test, None)]
    assert isinstance(sli, EventsSli)
    match = _given(sli.match, action)
    exclude = _given(sli.exclude, action) if sli.exclude is not None else False
    if sli.good is not None:
        verdict = _given(sli.good, action)
    elif sli.bad is not None:
        bad_rest: bool | FieldTest | None = _given(sli.bad, action)
        verdict = bad_rest if bad_rest is None else not bad_rest if isinstance(bad_rest, bool) else _negated(bad_rest)
    else:
        verdict = True
    if match is None or exclude is None or verdict is None:
        return None
    if match is False or exclude is True:
        return []
    group_of = slo.group_of if slo.group_by else None
    return [(series, None if match is True else match, None if exclude is False else exclude, verdict, group_of)]


def _negated(test: FieldTest) -> FieldTest:
    return lambda metadata: not test(metadata)


def _sample_plan(sketch: LatencySketch, series: str, action: str) -> list[SampleStep] | None:
    """A field sketch at `action` (as _sampler): no step when it cannot match there, None when it cannot plan."""
    assert sketch.match is not None  # only sketches with a matcher are indexed
    match = _given(sketch.match, action)
    path = sketch.value_path
    if match is None or len(path) != 2 or path[0] != "metadata":
        return None
    return [] if match is False else [(series, None if match is True else match, path[1])]


def _is_sample(value: object) -> TypeGuard[int | float]:
    """A field sketch's value: a number (not a bool) in [0, 1e12)."""
    return isinstance(value, _NUMBER) and not isinstance(value, bool) and 0 <= value < 1e12


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
        if _is_sample(value):
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
    (None: matchers that name no action), each once: an item whose matchers name the action on one side and no
    action on the other (a slice's good and bad) is in both. The classifier and the stitcher look up the same way."""
    exact = table.get(action, [])
    wildcard = table.get(None, [])
    return exact + [item for item in wildcard if item not in exact] if wildcard else exact
