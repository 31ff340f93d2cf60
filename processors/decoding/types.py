"""Shapes produced by decoding: where a log event sits in its shard, and the event itself."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Position:
    """A log event's place in its shard: Kinesis sequence, KPL sub-sequence, index in the CloudWatch payload.

    Positions order totally within a shard, so a checkpoint is simply the highest applied position.
    """

    sequence: int
    sub_sequence: int = 0
    event_index: int = 0

    def encode(self) -> str:
        return f"{self.sequence}:{self.sub_sequence}:{self.event_index}"

    @classmethod
    def decode(cls, text: str) -> Position:
        sequence, sub_sequence, event_index = text.split(":")
        return cls(int(sequence), int(sub_sequence), int(event_index))

    def identity(self, stream: str, shard: str) -> str:
        """A globally unique name for this log event, used to make claims re-entrant under retries."""
        return f"{stream}/{shard}/{self.encode()}"


@dataclass(frozen=True)
class LogEvent:
    """One structured log line (schema v1) that carries a correlation ID and an action."""

    position: Position
    time: float  # epoch seconds: the log's `timestamp`, else the CloudWatch event's timestamp
    correlation_id: str
    action: str
    service: str
    log: dict[str, Any]
    log_group: str = ""

    @property
    def metadata(self) -> dict[str, Any]:
        metadata = self.log.get("metadata")
        return metadata if isinstance(metadata, dict) else {}


@dataclass
class DecodedRecord:
    """Everything one Kinesis record yielded: its log events in position order, and counted skips."""

    sequence: int
    arrival: float | None
    events: list[LogEvent] = field(default_factory=list)
    skips: Counter[str] = field(default_factory=Counter)
    log_events_seen: int = 0
    # times (epoch s) of vocabulary events whose correlation ID is missing or malformed: trace coverage
    uncorrelated_times: list[float] = field(default_factory=list)

    @property
    def last_position(self) -> Position:
        """The highest position inside this record, so a checkpoint can cover the whole record."""
        return Position(self.sequence, 2**31 - 1, 2**31 - 1)
