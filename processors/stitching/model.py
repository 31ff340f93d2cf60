"""A trace: what the store keeps per correlation ID, and how its spans are derived."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


@dataclass(slots=True)
class TraceEvent:
    time_ms: int
    service: str
    action: str
    level: str = "INFO"
    metadata: dict[str, Any] = field(default_factory=dict)
    # this event's compact JSON in its head's document, once built (events are never changed once recorded)
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.time_ms, self.action, self.service)

    @property
    def error(self) -> Any:
        return self.metadata.get("error")

    @property
    def failed(self) -> bool:
        """Failed by the log schema's own fields; the trace view adds what the spec's journey says fails
        (a resolution's outcome, the sweep's resolution: tracing.view.failed_event)."""
        status = self.metadata.get("status")
        return (
            self.level in ("ERROR", "CRITICAL")
            or bool(self.metadata.get("error"))
            or (isinstance(status, int) and not isinstance(status, bool) and status >= 500)
        )

    def to_json(self) -> dict[str, Any]:
        return {"t": self.time_ms, "s": self.service, "a": self.action, "l": self.level, "m": self.metadata}

    def compact_json(self) -> str:
        """to_json() as compact JSON, as its head's document holds it; encoded once."""
        if self._json is None:
            self._json = STRICT_JSON.encode(self.to_json())
        return self._json

    def encode_with(self, metadata_json: str, encoded_fields: str | None = None) -> str | None:
        """compact_json() built around `metadata_json`, the metadata's compact JSON (stitching has it from the
        metadata's size check), instead of encoding the metadata again; None when a field is not of its usual
        type (compact_json() then encodes the event whole). `encoded_fields`: fields_json() of this event's
        service, action and level, when the caller has it."""
        time_ms, service, action, level = self.time_ms, self.service, self.action, self.level
        if type(time_ms) is not int or not type(service) is type(action) is type(level) is str:
            return None
        if encoded_fields is None:
            encoded_fields = fields_json(service, action, level)
        self._json = f'{{"t":{time_ms},{encoded_fields}{metadata_json}}}'
        return self._json

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TraceEvent:
        """Raises TypeError for a field not of the type the stitcher writes: readers rely on them."""
        service, action, level, metadata = data["s"], data["a"], data.get("l", "INFO"), data.get("m") or {}
        if not type(service) is type(action) is type(level) is str or not isinstance(metadata, dict):
            raise TypeError("an event field of the wrong type")
        return cls(int(data["t"]), service, action, level, metadata)


@dataclass(slots=True)
class TraceHead:
    """Per correlation ID: milestones (first seen wins), claims, the event list behind the spans."""

    correlation_id: str
    version: int = 0
    milestones: dict[str, int] = field(default_factory=dict)  # action -> epoch ms
    marks: dict[str, int] = field(default_factory=dict)  # "{slo}:start" / "{slo}:end" -> epoch ms
    claims: dict[str, str] = field(default_factory=dict)  # claim name -> claiming event identity
    events: list[TraceEvent] = field(default_factory=list)
    truncated: bool = False
    workflow_id: str | None = None
    repository: str | None = None
    first_seen_ms: int | None = None
    open_since_ms: int | None = None  # the unit opened and is not yet resolved: the orphan sweeper looks here
    _keys: set[tuple[int, str, str]] | None = field(default=None, repr=False, compare=False)
    _bytes: int | None = field(default=None, repr=False, compare=False)

    def approx_bytes(self) -> int:
        """The events' JSON size, kept alongside them so the head's size cap is O(1) per event."""
        if self._bytes is None:
            self._bytes = sum(event_bytes(event) for event in self.events) if self.events else 0
        return self._bytes

    def add_bytes(self, size: int) -> None:
        self._bytes = self.approx_bytes() + size

    def event_keys(self) -> set[tuple[int, str, str]]:
        """Keys of the recorded events, kept alongside them so deduplication is O(1)."""
        if self._keys is None:
            self._keys = {event.key for event in self.events} if self.events else set()
        return self._keys

    def compact_json(self) -> str:
        """json.dumps(self.to_json(), separators=(",", ":")), with each event's JSON encoded once (when it was
        recorded) instead of again at every write of its head. The keys are to_json's, in its order."""
        if self.milestones or self.marks or self.claims:
            front = STRICT_JSON.encode({"milestones": self.milestones, "marks": self.marks, "claims": self.claims})[:-1]
        else:  # most heads: one API request, no journey
            front = _NOTHING_DECIDED_OPEN
        events = self.events
        if len(events) == 1:  # most heads; an event's JSON is kept once built
            only = events[0]
            encoded = only._json if only._json is not None else only.compact_json()
        else:
            encoded = ",".join([event.compact_json() for event in events])
        truncated = self.truncated
        return (f'{front},"events":[{encoded}],"truncated":'
                f'{"true" if truncated is True else "false" if truncated is False else _scalar_json(truncated)},'
                f'"workflowId":{_scalar_json(self.workflow_id)},"repository":{_scalar_json(self.repository)},'
                f'"firstSeen":{_scalar_json(self.first_seen_ms)},"openSince":{_scalar_json(self.open_since_ms)}}}')

    def to_json(self) -> dict[str, Any]:
        return {
            "milestones": self.milestones,
            "marks": self.marks,
            "claims": self.claims,
            "events": [event.to_json() for event in self.events],
            "truncated": self.truncated,
            "workflowId": self.workflow_id,
            "repository": self.repository,
            "firstSeen": self.first_seen_ms,
            "openSince": self.open_since_ms,
        }

    @classmethod
    def from_json(cls, correlation_id: str, version: int, data: dict[str, Any]) -> TraceHead:
        return cls(
            correlation_id=correlation_id,
            version=version,
            milestones={k: int(v) for k, v in (data.get("milestones") or {}).items()},
            marks={k: int(v) for k, v in (data.get("marks") or {}).items()},
            claims={k: _text(v) for k, v in (data.get("claims") or {}).items()},
            events=[TraceEvent.from_json(e) for e in data.get("events") or []],
            truncated=bool(data.get("truncated")),
            workflow_id=_text(_kept_id(data.get("workflowId")), optional=True),
            repository=_text(_kept_id(data.get("repository")), optional=True),
            first_seen_ms=_optional_int(data.get("firstSeen")),
            open_since_ms=_optional_int(data.get("openSince")),
        )


def is_blank(value: Any) -> bool:
    """An empty or whitespace-only string: no workflow ID or repository (the first one kept wins for good)."""
    return isinstance(value, str) and not value.strip()


def _text(value: Any, optional: bool = False) -> Any:
    """A stored string field as the stitcher writes it; TypeError for anything else (readers format and match it)."""
    if isinstance(value, str) or (optional and value is None):
        return value
    raise TypeError(f"a {type(value).__name__} where a string belongs")


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _kept_id(value: Any) -> Any:
    """A stored workflow ID or repository; a blank one (written before the stitcher refused them) as None, so a
    later real one is recorded and the head's next write clears it."""
    return None if is_blank(value) else value


# json.dumps(…, separators=(",", ":")[, default=str]) without building an encoder per call; redaction's too
STRICT_JSON = json.JSONEncoder(separators=(",", ":"))
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), default=str)
_FIELDS_FRAME = len('{"t":,"s":,"a":,"l":,"m":}')


def event_bytes(event: TraceEvent, metadata_bytes: int | None = None) -> int:
    """An event's share of its head's stored JSON. `metadata_bytes`, the length of its metadata's compact JSON
    when the caller has it, saves encoding the metadata twice: the event's JSON is `{"t":…,"l":…` + `,"m":`
    + the metadata's + `}`."""
    if metadata_bytes is None:
        return len(COMPACT_JSON.encode(event.to_json()))
    time_ms, service, action, level = event.time_ms, event.service, event.action, event.level
    if type(time_ms) is int and type(service) is str and type(action) is str and type(level) is str:
        # an int's JSON is its repr; the few distinct services, actions and levels are encoded once each
        return (_FIELDS_FRAME + len(repr(time_ms)) + len(_string_json(service)) + len(_string_json(action))
                + len(_string_json(level)) + metadata_bytes)
    fields = {"t": time_ms, "s": service, "a": action, "l": level}
    return len(COMPACT_JSON.encode(fields)) + len(',"m":') + metadata_bytes


_NOTHING_DECIDED_OPEN = STRICT_JSON.encode({"milestones": {}, "marks": {}, "claims": {}})[:-1]  # without its }


@lru_cache(maxsize=4096)
def _string_json(text: str) -> str:
    return STRICT_JSON.encode(text)


@lru_cache(maxsize=4096)
def fields_json(service: str, action: str, level: str) -> str:
    """The middle of an event's JSON: its few distinct (service, action, level) triples are encoded once each."""
    return f'"s":{_string_json(service)},"a":{_string_json(action)},"l":{_string_json(level)},"m":'


def _scalar_json(value: Any) -> str:
    """STRICT_JSON.encode(value), without the encoder for the head's usual field values."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)  # as json writes an int
    return STRICT_JSON.encode(value)


def is_open(head: TraceHead | None) -> bool:
    """A unit of work opened and not yet resolved: what the open-units gauge and the orphan sweep count."""
    return head is not None and head.open_since_ms is not None
