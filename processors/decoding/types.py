"""Shapes produced by decoding: where a log event sits in its shard, and the event itself."""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from processors import conventions

# Position, LogEvent and SliEvent, made once or more per log event, are msgspec Structs: their __init__ is C, a
# third of a slotted dataclass's generated Python one. They are what those dataclasses were (unsafe_hash=True,
# not frozen): equal and ordered by fields, hashed as the tuple of their fields (__hash__ below: a Struct that is
# not frozen has none), with the same repr. Nothing assigns to one after it is made.


class Position(msgspec.Struct, order=True, gc=False):  # ints only: nothing for the cycle collector to track
    """A log event's place in its shard: Kinesis sequence, KPL sub-sequence, index in the CloudWatch payload.

    Positions order totally within a shard, so a checkpoint is simply the highest applied position.
    """

    sequence: int
    sub_sequence: int = 0
    event_index: int = 0

    def __hash__(self) -> int:
        return hash((self.sequence, self.sub_sequence, self.event_index))

    def encode(self) -> str:
        return f"{self.sequence}:{self.sub_sequence}:{self.event_index}"

    @classmethod
    def decode(cls, text: str) -> Position:
        sequence, sub_sequence, event_index = text.split(":")
        return cls(int(sequence), int(sub_sequence), int(event_index))

    def identity(self, stream: str, shard: str) -> str:
        """A globally unique name for this log event, used to make claims re-entrant under retries."""
        return f"{stream}/{shard}/{self.encode()}"


class LogEvent(msgspec.Struct):
    """One log line mapped onto the internal event (decoding/formats.py): time, action, correlation ID (empty
    when the line has none usable: it counts for SLIs but joins no trace), service, and `log`, the line in
    schema-v1 shape that matchers read."""

    position: Position
    time: float  # epoch seconds: the log's `timestamp`, else the CloudWatch event's timestamp
    correlation_id: str
    action: str
    service: str
    log: dict[str, Any]
    log_group: str = ""

    def __hash__(self) -> int:  # as unsafe_hash's: a TypeError, since `log` is a dict
        return hash((self.position, self.time, self.correlation_id, self.action, self.service, self.log,
                     self.log_group))

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.log.get("metadata")
        return metadata if isinstance(metadata, dict) else {}


@dataclass(frozen=True)
class DecodeLimits:
    """How much one payload may inflate to and hold, and which event times are believable.

    `now` is the clock in the Lambda; a replay leaves it None and each Kinesis record is judged against its
    own arrival time (a file without arrivals: by the wall clock, with no lower bound, since replaying old
    logs is the point). `retention_seconds` None means no lower bound.
    """

    max_payload_bytes: int = conventions.MAX_PAYLOAD_BYTES_DEFAULT
    max_events_per_payload: int = conventions.MAX_LOG_EVENTS_PER_PAYLOAD
    max_message_bytes: int = conventions.MAX_MESSAGE_BYTES_DEFAULT
    retention_seconds: int | None = conventions.DEFAULT_COUNTER_TTL_DAYS * conventions.DAY
    future_seconds: int = conventions.FUTURE_TOLERANCE_SECONDS
    now: float | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, now: float | None = None) -> DecodeLimits:
        """The Lambda's limits: SLO_MAX_PAYLOAD_BYTES / SLO_MAX_MESSAGE_BYTES override the defaults."""
        payload = _positive_int(environ.get(conventions.ENV_MAX_PAYLOAD_BYTES), conventions.MAX_PAYLOAD_BYTES_DEFAULT)
        message = _positive_int(environ.get(conventions.ENV_MAX_MESSAGE_BYTES), conventions.MAX_MESSAGE_BYTES_DEFAULT)
        return cls(max_payload_bytes=payload, max_message_bytes=message, now=now)

    def aggregate_bounds(self, record_bytes: int) -> tuple[int, int]:
        """(inflated bytes, log events) a KPL aggregate of `record_bytes` may reach over all its user records: as
        much as one payload may, or in proportion to its bytes (as a replayed gzip file) if more. Without them a
        1 MB aggregate of small bombs inflated to ~1 GB, or held 11.6 million log events."""
        return (max(self.max_payload_bytes, conventions.MAX_INFLATE_RATIO * record_bytes),
                max(self.max_events_per_payload, conventions.MAX_ENTRIES_PER_BYTE * record_bytes))

    def believable(self, moment: float, now: float | None) -> bool:
        """Finite and inside [now - retention, now + future]; with no `now` at all, inside [1970, 2100)."""
        low, high = self.bounds(now)
        return low <= moment <= high

    def bounds(self, now: float | None) -> tuple[float, float]:
        """(low, high): a moment is believable when low <= moment <= high, which no infinite or NaN moment is
        (low is at least 0 and high at most the largest float, or either is NaN). Decoding computes them once
        per payload."""
        if now is None:
            return 0.0, _BEFORE_2100
        low = -math.inf if self.retention_seconds is None else now - self.retention_seconds
        high = now + self.future_seconds
        # max(low, 0.0) and min(high, _MAX_FLOAT), as the builtins compare (a NaN stays), without their calls
        return (0.0 if low < 0.0 else low), (_MAX_FLOAT if high > _MAX_FLOAT else high)


_BEFORE_2100 = math.nextafter(4102444800.0, 0.0)  # the last float before 2100-01-01: `< 2100` as `<=`
_MAX_FLOAT = sys.float_info.max


def _positive_int(text: str | None, default: int) -> int:
    try:
        value = int(text) if text else default
    except ValueError:
        return default
    return value if value > 0 else default


DEFAULT_LIMITS = DecodeLimits()

_empty_counter = dict.__new__


@dataclass(init=False)
class DecodedRecord:
    """Everything one Kinesis record yielded: its log events in position order, and counted skips."""

    sequence: int
    arrival: float | None
    events: list[LogEvent] = field(default_factory=list)
    skips: Counter[str] = field(default_factory=Counter)
    log_events_seen: int = 0
    inflated_bytes: int = 0  # what its gzip payload inflated to (to the cap, past it): replay bounds a file's total
    # accepted with a remark, by kind: no_correlation_id, bad_correlation_id, schema_<keyword> (warn mode)
    notes: Counter[str] = field(default_factory=Counter)

    def __init__(
        self, sequence: int, arrival: float | None, events: list[LogEvent] | None = None,
        skips: Counter[str] | None = None, log_events_seen: int = 0, notes: Counter[str] | None = None,
    ) -> None:
        # one per record: the generated __init__ with its factories, without calling them; an empty Counter
        # is made without Counter.__init__, which does nothing for an empty one (in Python)
        self.sequence = sequence
        self.arrival = arrival
        self.events = [] if events is None else events
        self.skips = _empty_counter(Counter) if skips is None else skips
        self.log_events_seen = log_events_seen
        self.inflated_bytes = 0
        self.notes = _empty_counter(Counter) if notes is None else notes

    @property
    def last_position(self) -> Position:
        """The highest position inside this record, so a checkpoint can cover the whole record."""
        return Position(self.sequence, 2**31 - 1, 2**31 - 1)
