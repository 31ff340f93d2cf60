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
from dataclasses import dataclass, field
from typing import Any

from processors import conventions
from processors.classifying.classify import LatencySample, SliEvent, dispatch
from processors.decoding.types import LogEvent
from processors.spec.model import LatencySketch, LatencySli, Matcher, ResolutionSli, Slo, Spec
from processors.stitching.model import TraceEvent, TraceHead, event_bytes
from processors.stitching.redaction import storable_metadata_encoded

# A head is one DynamoDB item (400 KB at most). Its events stop at ~64 KB of JSON (before zlib), so a head
# with large, incompressible metadata is marked truncated instead of failing its commit.
MAX_HEAD_BYTES = 64 * 1024
MAX_ID_CHARS = 256  # workflowId / repository kept on the head (GSI keys too)


@dataclass
class StitchResult:
    head: TraceHead
    sli_events: list[SliEvent] = field(default_factory=list)
    latency_samples: list[LatencySample] = field(default_factory=list)
    changed: bool = False


class Stitcher:
    """The spec's cross-event rules, indexed by action so each event meets only the rules it can match."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._rules: dict[str | None, list[tuple[str, Any]]] = defaultdict(list)
        for slo in spec.slos:
            if isinstance(slo.sli, ResolutionSli):
                self._index(("resolution", slo), slo.sli.good, slo.sli.bad)
            elif isinstance(slo.sli, LatencySli):
                self._index(("latency", slo), slo.sli.start, slo.sli.end)
        for sketch in spec.latency:
            if sketch.start is not None and sketch.end is not None:
                self._index(("between", sketch), sketch.start, sketch.end)
        self.resolution_names = _resolution_names(spec)
        journey = spec.journey
        self.tracked = frozenset(journey.tracked) if journey else frozenset()
        self.opens = journey.opens if journey else None
        self.workflow_field = journey.workflow_field if journey else None
        self.repository_field = journey.repository_field if journey else None
        # metadata keys the trace view reads from stored events (outcomes, identity) are stored too
        paths = [r.outcome_field for r in journey.resolutions if r.outcome_field] if journey else []
        if journey:
            paths += [p for p in (journey.workflow_field, journey.repository_field) if p]
        self.trace_keys = frozenset(p[1] for p in paths if len(p) == 2 and p[0] == "metadata")

    def _index(self, rule: tuple[str, Any], *matchers: Matcher) -> None:
        for action in frozenset().union(*(matcher.dispatch_keys for matcher in matchers)):
            if rule not in self._rules[action]:
                self._rules[action].append(rule)

    def apply(self, head: TraceHead, event: LogEvent, identity: str) -> StitchResult:
        """Apply one event to `head` in place; the result lists the decisions it caused."""
        result = StitchResult(head=head)
        time_ms = round(event.time * 1000)
        changed = self._record_event(head, event, time_ms)
        for kind, rule in dispatch(self._rules, event.action):
            if kind == "resolution":
                changed |= _resolve(head, rule, event, identity, result)
            elif kind == "latency":
                changed |= _mark_latency(head, rule, event, time_ms, identity, self.spec, result)
            else:
                changed |= _mark_between(head, rule, event, time_ms, identity, self.spec, result)
        result.changed = _update_open(head, self.opens, self.resolution_names) or changed
        return result

    def _record_event(self, head: TraceHead, event: LogEvent, time_ms: int) -> bool:
        changed = False
        if head.first_seen_ms is None or time_ms < head.first_seen_ms:
            head.first_seen_ms = time_ms
            changed = True
        if event.action in self.tracked and event.action not in head.milestones:
            head.milestones[event.action] = time_ms
            changed = True
        if head.workflow_id is None:
            workflow_id = _field(event.log, self.workflow_field)
            if isinstance(workflow_id, str | int) and not isinstance(workflow_id, bool):
                head.workflow_id = str(workflow_id)[:MAX_ID_CHARS]
                changed = True
        if head.repository is None:
            repository = _field(event.log, self.repository_field)
            if isinstance(repository, str) and repository:
                head.repository = repository[:MAX_ID_CHARS]
                changed = True
        return _record_trace_event(head, event, time_ms, self.trace_keys) or changed


def _claim_pair(
    head: TraceHead, name: str, claim: str, start: Matcher, end: Matcher, event: LogEvent, time_ms: int, identity: str
) -> tuple[bool, tuple[int, int] | None]:
    """Mark the first start and first end of `name`; once both are known, claim the pair exactly once.

    Returns (whether the head changed, (start ms, end ms) when this event made the claim).
    """
    changed = False
    for side, matcher in (("start", start), ("end", end)):
        mark = f"{name}:{side}"
        if mark not in head.marks and matcher.matches(event.log):
            head.marks[mark] = time_ms
            changed = True
    start_ms, end_ms = head.marks.get(f"{name}:start"), head.marks.get(f"{name}:end")
    if start_ms is None or end_ms is None or claim in head.claims:
        return changed, None
    head.claims[claim] = identity
    return True, (start_ms, end_ms)


def _mark_between(
    head: TraceHead,
    sketch: LatencySketch,
    event: LogEvent,
    time_ms: int,
    identity: str,
    spec: Spec,
    result: StitchResult,
) -> bool:
    """Time from the first `start` event to the first `end` event of this correlation ID, sampled once."""
    assert sketch.start is not None and sketch.end is not None
    changed, pair = _claim_pair(
        head, sketch.name, f"sketch:{sketch.name}", sketch.start, sketch.end, event, time_ms, identity
    )
    if pair is not None:
        start_ms, end_ms = pair
        series = spec.sketch_series(sketch.name)
        result.latency_samples.append(LatencySample(series, end_ms / 1000, float(max(end_ms - start_ms, 0))))
    return changed


def _field(log: dict[str, Any], path: tuple[str, ...] | None) -> Any:
    value: Any = log if path else None
    for part in path or ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _record_trace_event(head: TraceHead, event: LogEvent, time_ms: int, keys: frozenset[str]) -> bool:
    known = head.event_keys()
    key = (time_ms, event.action, event.service)  # TraceEvent.key
    if key in known:  # a repeat is not redacted again
        return False
    level = event.log.get("level")
    metadata, metadata_json, exact = storable_metadata_encoded(event.metadata, keys)
    trace_event = TraceEvent(
        time_ms=time_ms,
        service=event.service,
        action=event.action,
        level=level.upper() if isinstance(level, str) else "INFO",
        metadata=metadata,
    )
    encoded = trace_event.encode_with(metadata_json) if exact else None
    size = len(encoded) if encoded is not None else event_bytes(trace_event, len(metadata_json))
    events = head.events
    if len(events) >= conventions.MAX_SPANS_PER_TRACE or head.approx_bytes() + size > MAX_HEAD_BYTES:
        # milestones, marks and claims are recorded before: a full head still decides and times the journey
        if not head.truncated:
            head.truncated = True
            return True
        return False
    known.add(key)
    head.add_bytes(size)
    if not events or events[-1].key < key:  # the usual case: events arrive in time order
        events.append(trace_event)
    else:
        bisect.insort(events, trace_event, key=lambda e: e.key)
    return True


def _resolve(head: TraceHead, slo: Slo, event: LogEvent, identity: str, result: StitchResult) -> bool:
    # claims and marks stay keyed by SLO name: a trace resolved before a revision change is not counted again
    name, sli = slo.name, slo.sli
    assert isinstance(sli, ResolutionSli)
    if name in head.claims:
        return False
    if sli.good.matches(event.log):
        good = True
    elif sli.bad.matches(event.log):
        good = False
    else:
        return False
    head.claims[name] = identity
    result.sli_events.append(SliEvent(slo.series(), event.time, good, event.correlation_id))
    return True


def _mark_latency(
    head: TraceHead,
    slo: Slo,
    event: LogEvent,
    time_ms: int,
    identity: str,
    spec: Spec,
    result: StitchResult,
) -> bool:
    name, sli = slo.name, slo.sli
    assert isinstance(sli, LatencySli)
    changed, pair = _claim_pair(head, name, name, sli.start, sli.end, event, time_ms, identity)
    if pair is None:
        return changed
    start_ms, end_ms = pair
    latency_ms = end_ms - start_ms
    result.sli_events.append(
        SliEvent(slo.series(), end_ms / 1000, latency_ms <= sli.threshold_ms, head.correlation_id)
    )
    for sketch in spec.latency:
        if sketch.stitched == name:
            series = spec.sketch_series(sketch.name)
            result.latency_samples.append(LatencySample(series, end_ms / 1000, float(max(latency_ms, 0))))
    return True


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
