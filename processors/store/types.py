"""Shapes that cross the store port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from processors.decoding.types import Position
from processors.stitching.model import TraceHead
from processors.store.exceptions import CorruptItemError


class CounterKey(NamedTuple):
    sli: str
    resolution: str  # conventions.RESOLUTION_MINUTE | RESOLUTION_HOUR
    bucket: int  # bucket start, epoch seconds


class DigestKey(NamedTuple):
    sketch: str
    resolution: str
    bucket: int


@dataclass(frozen=True)
class Checkpoint:
    stream: str
    shard: str
    position: Position
    newest_event: float | None = None  # newest event time applied through this shard


@dataclass(frozen=True)
class CheckpointAdvance:
    stream: str
    shard: str
    expected: Position | None  # what the commit read; the write is conditional on it
    position: Position
    newest_event: float | None = None
    arrival: float | None = None  # when the batch arrived (a replay's order time): `slo backtest` orders by it


@dataclass(frozen=True)
class HeadsRead:
    """Trace heads by correlation ID, and the IDs whose stored head is there but does not decode (`damaged`):
    a writer must neither treat those as new traces nor overwrite them (docs/store.md, Damaged trace heads)."""

    heads: dict[str, TraceHead]
    damaged: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HeadWrite:
    head: TraceHead  # the new state; head.version is the version it was read at
    ttl: int  # expiresAt, epoch seconds


def commit_item_count(
    *, checkpoint: bool, counters: int, digests: int, heads: int, gauges: int, lone_exemplars: int = 0
) -> int:
    """Items one commit writes: the one definition ingest's chunking and the adapters' statistics share.
    Exemplars ride on their minute's counter item; only those without one are items of their own."""
    return int(checkpoint) + counters + digests + heads + gauges + lone_exemplars


@dataclass
class Commit:
    """Everything one chunk of a batch changes, applied atomically and at most once."""

    checkpoint: CheckpointAdvance | None = None
    counters: dict[CounterKey, dict[str, int]] = field(default_factory=dict)
    exemplars: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (sli, minute) -> bad ids
    digests: dict[DigestKey, Any] = field(default_factory=dict)  # TDigest of this chunk's values
    heads: dict[str, HeadWrite] = field(default_factory=dict)
    gauges: dict[str, int] = field(default_factory=dict)  # name -> delta, e.g. open-units

    def item_count(self) -> int:
        """Items the commit writes (a DynamoDB transaction allows 100)."""
        return commit_item_count(
            checkpoint=self.checkpoint is not None,
            counters=len(self.counters),
            digests=len(self.digests),
            heads=len(self.heads),
            gauges=len(self.gauges),
            lone_exemplars=sum(1 for key in self.exemplars if (key[0], "m", key[1]) not in self.counters),
        )

    def is_empty(self) -> bool:
        return not (self.counters or self.digests or self.heads or self.exemplars or self.gauges)


@dataclass(frozen=True)
class NotificationClaim:
    """The right to publish one alert transition: (slo, group, transition, minute), held as a lease."""

    slo: str
    transition: str  # kind/severity/tier/state, e.g. burn_rate#page#1h/5m#firing
    minute: int
    group: str = ""
    lease_seconds: int = 120  # longer than an evaluation can take (the evaluator times out at 55 s)


@dataclass
class StoreStats:
    """Requests the adapter made, for benchmarks and the closing figures."""

    write_requests: int = 0
    items_written: int = 0
    read_requests: int = 0
    commits: int = 0


@dataclass
class RollupReport:
    """What one rollup run did: partials folded into rolled items, and those left pending past the watermark."""

    folded: int = 0
    pending: int = 0
    transactions: int = 0
    watermark: float | None = None
    skipped: str | None = None  # why nothing was folded (another rollup holds the lease, a lost race)
    damaged: list[str] = field(default_factory=list)  # items that do not decode: what touches them stays pending

    def checked(self) -> RollupReport:
        """This report, or the damaged-store error its first damaged item names (callers that cannot go on)."""
        if self.damaged:
            raise CorruptItemError(self.damaged[0])
        return self
