"""Stitch log events into per-correlation-ID traces and decide the cross-event SLI events. Pure.

Resolution SLIs count the first resolution of a correlation ID; latency SLIs count once both ends are known,
whichever arrives first. The spec's journey says which milestones a head keeps and which one opens a unit.
A decision is recorded as a claim on the trace head, and the store writes the head under an optimistic
version check in the same commit as the counters and the checkpoint, so retries re-decide the same way and
concurrent shards cannot both claim.
"""

from __future__ import annotations

import bisect
import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from processors import conventions
from processors.classifying.classify import LatencySample, SliEvent, compile_per_action, index_by_action
from processors.decoding.types import LogEvent
from processors.spec.model import LatencySketch, LatencySli, ResolutionSli, Slo, Spec, Test
from processors.stitching.model import TraceEvent, TraceHead, event_bytes, fields_json, is_blank
from processors.stitching.redaction import kept_keys, storable_fields, storable_id, storable_metadata_kept

# A head is one DynamoDB item (400 KB at most). Its events stop at ~64 KB of JSON (before zlib), so a head
# with large, incompressible metadata is marked truncated instead of failing its commit.
MAX_HEAD_BYTES = 64 * 1024
MAX_ID_CHARS = 256  # workflowId / repository kept on the head (GSI keys too)
MAX_SPANS = conventions.MAX_SPANS_PER_TRACE
# a stitcher keeps the stored fields of at most this many distinct (service, action, level), each of at most
# _FIELDS_CHARS characters together as logged
_FIELDS_CACHED = 4096
_FIELDS_CHARS = 128


def stored_id(value: str) -> str:
    """A workflowId or repository as a head keeps and indexes it (redacted, then cut): a search for one looks for
    this, so a value logged with a secret in it, or past the cut, is still found by the value as logged."""
    return storable_id(value, MAX_ID_CHARS)


@dataclass(slots=True)
class StitchResult:
    head: TraceHead
    sli_events: list[SliEvent] = field(default_factory=list)
    latency_samples: list[LatencySample] = field(default_factory=list)
    changed: bool = False


# One cross-event rule compiled (Stitcher._compile): applies an event to the head, records what it decided in
# the result, and says whether the head changed. Arguments: head, event, its time in ms, identity, result.
Rule = Callable[[TraceHead, LogEvent, int, str, StitchResult], bool]


class Stitcher:
    """The spec's cross-event rules, indexed by action so each event meets only the rules it can match."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        table: dict[str | None, list[tuple[str, Any]]] = defaultdict(list)
        for slo in spec.slos:
            if isinstance(slo.sli, ResolutionSli):
                index_by_action(table, ("resolution", slo), slo.sli.good, slo.sli.bad)
            elif isinstance(slo.sli, LatencySli):
                index_by_action(table, ("latency", slo), slo.sli.start, slo.sli.end)
        for sketch in spec.latency:
            if sketch.start is not None and sketch.end is not None:
                index_by_action(table, ("between", sketch), sketch.start, sketch.end)
        self._rules, self._wildcard_rules = compile_per_action(table, lambda rule: self._compile(*rule))
        self.resolution_names = _resolution_names(spec)
        journey = spec.journey
        self.tracked = frozenset(journey.tracked) if journey else frozenset()
        self.opens = journey.opens if journey else None
        self.workflow_field = journey.workflow_field if journey else None
        self.repository_field = journey.repository_field if journey else None
        # metadata keys stored beyond the engine's own: the spec's `traces.metadata`, and those the trace view
        # reads from stored events (outcomes, identity)
        paths = [r.outcome_field for r in journey.resolutions if r.outcome_field] if journey else []
        if journey:
            paths += [p for p in (journey.workflow_field, journey.repository_field) if p]
        self.trace_keys = frozenset(spec.trace_metadata) | {p[1] for p in paths if len(p) == 2 and p[0] == "metadata"}
        self.kept_keys = kept_keys(self.trace_keys)  # what storable_metadata keeps of an event's metadata
        # the journey's fields read from the event's metadata directly (_field's usual path)
        self._metadata_paths = {p for p in (self.workflow_field, self.repository_field) if p and len(p) == 2
                                and p[0] == "metadata"}
        self._fields: dict[tuple[str, str, str | None], tuple[str, str, str, str]] = {}

    def _compile(self, kind: str, rule: Any) -> Rule:
        if kind == "resolution":
            return _resolution_rule(rule)
        if kind == "latency":
            return _latency_rule(rule, self.spec)
        return _between_rule(rule, self.spec)

    def apply(self, head: TraceHead, event: LogEvent, stream: str, shard: str) -> StitchResult:
        """Apply one event, read from `stream`/`shard`, to `head` in place; the result lists the decisions it
        caused. The event's identity (what a claim records) is built only for an action some rule reads."""
        result = StitchResult(head)
        time_ms = round(event.time * 1000)
        changed = self._record_event(head, event, time_ms)
        rules = self._rules.get(event.action, self._wildcard_rules)
        if rules:
            identity = event.position.identity(stream, shard)
            for rule in rules:
                changed = rule(head, event, time_ms, identity, result) or changed
        # _update_open: a head with no open unit and no opening milestone has none after this event either
        if head.open_since_ms is not None or (self.opens is not None and self.opens in head.milestones):
            changed = _update_open(head, self.opens, self.resolution_names) or changed
        result.changed = changed
        return result

    def _record_event(self, head: TraceHead, event: LogEvent, time_ms: int) -> bool:
        changed = False
        first_seen_ms = head.first_seen_ms
        if first_seen_ms is None or time_ms < first_seen_ms:
            head.first_seen_ms = time_ms
            changed = True
        action = event.action
        if action in self.tracked and action not in head.milestones:
            head.milestones[action] = time_ms
            changed = True
        log = event.log
        metadata = log.get("metadata")  # event.metadata, inline: it runs per event
        if not isinstance(metadata, dict):
            metadata = {}
        if head.workflow_id is None:
            path = self.workflow_field
            workflow_id = metadata.get(path[1]) if path in self._metadata_paths else _field(log, path)
            if isinstance(workflow_id, str | int) and not isinstance(workflow_id, bool) and not is_blank(workflow_id):
                head.workflow_id = stored_id(str(workflow_id))
                changed = True
        if head.repository is None:
            path = self.repository_field
            repository = metadata.get(path[1]) if path in self._metadata_paths else _field(log, path)
            if isinstance(repository, str) and not is_blank(repository):
                head.repository = stored_id(repository)
                changed = True
        return self._record_trace_event(head, event, time_ms, metadata) or changed

    def _record_trace_event(self, head: TraceHead, event: LogEvent, time_ms: int, metadata: dict[str, Any]) -> bool:
        level = event.log.get("level")
        # the event's stored service, action and level, and their JSON (TraceEvent.encode_with), once per triple
        # of short text as logged
        triple = (event.service, event.action, level if isinstance(level, str) else None)
        fields = self._fields.get(triple)
        if fields is None:
            service, action, level = storable_fields(*triple[:2], level.upper() if isinstance(level, str) else "INFO")
            fields = (service, action, level, fields_json(service, action, level))
            logged = len(triple[0]) + len(triple[1]) + len(triple[2] or "")
            if logged <= _FIELDS_CHARS and len(self._fields) < _FIELDS_CACHED:
                self._fields[triple] = fields
        service, action, level, encoded_fields = fields
        key = (time_ms, action, service)  # TraceEvent.key
        events = head.events
        known = head.event_keys() if events else None
        if known is not None and key in known:  # a repeat's metadata is not redacted again
            return False
        stored, metadata_json, exact = storable_metadata_kept(metadata, self.kept_keys)
        trace_event = TraceEvent(time_ms, service, action, level, stored)
        encoded = trace_event.encode_with(metadata_json, encoded_fields) if exact else None
        size = len(encoded) if encoded is not None else event_bytes(trace_event, len(metadata_json))
        if len(events) >= MAX_SPANS or head.approx_bytes() + size > MAX_HEAD_BYTES:
            # milestones, marks and claims are recorded before: a full head still decides and times the journey
            if not head.truncated:
                head.truncated = True
                return True
            return False
        head.event_keys().add(key)
        head.add_bytes(size)
        if not events or events[-1].key < key:  # the usual case: events arrive in time order
            events.append(trace_event)
        else:
            bisect.insort(events, trace_event, key=lambda e: e.key)
        return True


def _claim_pair(
    head: TraceHead, name: str, claim: str, start: Test, end: Test, event: LogEvent, time_ms: int, identity: str
) -> tuple[bool, tuple[int, int] | None]:
    """Mark the first start and first end of `name`; once both are known, claim the pair exactly once.

    Returns (whether the head changed, (start ms, end ms) when this event made the claim).
    """
    changed = False
    marks = head.marks
    start_mark, end_mark = f"{name}:start", f"{name}:end"
    if start_mark not in marks and start(event.log):
        marks[start_mark] = time_ms
        changed = True
    if end_mark not in marks and end(event.log):
        marks[end_mark] = time_ms
        changed = True
    start_ms, end_ms = marks.get(start_mark), marks.get(end_mark)
    if start_ms is None or end_ms is None or claim in head.claims:
        return changed, None
    head.claims[claim] = identity
    return True, (start_ms, end_ms)


def _between_rule(sketch: LatencySketch, spec: Spec) -> Rule:
    """Time from the first `start` event to the first `end` event of this correlation ID, sampled once."""
    assert sketch.start is not None and sketch.end is not None
    name, claim = sketch.name, f"sketch:{sketch.name}"
    start, end = sketch.start.compiled(), sketch.end.compiled()
    series = spec.sketch_series(sketch.name)

    def between(head: TraceHead, event: LogEvent, time_ms: int, identity: str, result: StitchResult) -> bool:
        changed, pair = _claim_pair(head, name, claim, start, end, event, time_ms, identity)
        if pair is not None:
            start_ms, end_ms = pair
            result.latency_samples.append(LatencySample(series, end_ms / 1000, float(max(end_ms - start_ms, 0))))
        return changed

    return between


def _field(log: dict[str, Any], path: tuple[str, ...] | None) -> Any:
    value: Any = log if path else None
    for part in path or ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _resolution_rule(slo: Slo) -> Rule:
    # claims and marks stay keyed by SLO name: a trace resolved before a revision change is not counted again
    name, sli, series = slo.name, slo.sli, slo.series()
    assert isinstance(sli, ResolutionSli)
    good, bad = sli.good.compiled(), sli.bad.compiled()

    def resolve(head: TraceHead, event: LogEvent, time_ms: int, identity: str, result: StitchResult) -> bool:
        if name in head.claims:
            return False
        if good(event.log):
            is_good = True
        elif bad(event.log):
            is_good = False
        else:
            return False
        head.claims[name] = identity
        result.sli_events.append(SliEvent(series, event.time, is_good, event.correlation_id))
        return True

    return resolve


def _latency_rule(slo: Slo, spec: Spec) -> Rule:
    name, sli, series = slo.name, slo.sli, slo.series()
    assert isinstance(sli, LatencySli)
    start, end, threshold_ms = sli.start.compiled(), sli.end.compiled(), sli.threshold_ms
    sketches = [spec.sketch_series(sketch.name) for sketch in spec.latency if sketch.stitched == name]

    def mark_latency(head: TraceHead, event: LogEvent, time_ms: int, identity: str, result: StitchResult) -> bool:
        changed, pair = _claim_pair(head, name, name, start, end, event, time_ms, identity)
        if pair is None:
            return changed
        start_ms, end_ms = pair
        latency_ms = end_ms - start_ms
        result.sli_events.append(SliEvent(series, end_ms / 1000, latency_ms <= threshold_ms, head.correlation_id))
        for sketch_series in sketches:
            result.latency_samples.append(LatencySample(sketch_series, end_ms / 1000, float(max(latency_ms, 0))))
        return True

    return mark_latency


def _resolution_names(spec: Spec) -> list[str]:
    return [slo.name for slo in _resolution_slos(spec)]


def _resolution_slos(spec: Spec) -> list[Slo]:
    return [slo for slo in spec.slos if isinstance(slo.sli, ResolutionSli)]


def _update_open(head: TraceHead, opens: str | None, names: list[str]) -> bool:
    """A unit is open from the journey's opening milestone until every resolution SLI has claimed it."""
    started = head.milestones.get(opens) if opens else None
    is_open = started is not None and bool(names) and any(name not in head.claims for name in names)
    open_since = started if is_open else None
    if open_since != head.open_since_ms:
        head.open_since_ms = open_since
        return True
    return False


def sweep_orphan(head: TraceHead, spec: Spec, now: float) -> StitchResult | None:
    """An open unit past max_runtime becomes one bad resolution event at opened + max_runtime."""
    opens = spec.journey.opens if spec.journey else None
    started = head.milestones.get(opens) if opens else None
    if started is None or started / 1000 + spec.max_runtime > now:
        return None
    current = copy.deepcopy(head)
    result = StitchResult(head=current)
    due = started / 1000 + spec.max_runtime
    for slo in _resolution_slos(spec):
        if slo.name not in current.claims:
            current.claims[slo.name] = f"sweeper/{int(due)}"
            result.sli_events.append(SliEvent(slo.series(), due, False, head.correlation_id))
            result.changed = True
    result.changed |= _update_open(current, opens, _resolution_names(spec))
    return result if result.changed else None
