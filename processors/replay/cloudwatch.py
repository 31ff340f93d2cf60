"""History straight from CloudWatch Logs: FilterLogEvents pages → per-log-stream shard batches, exactly once.

Each log stream is a shard of its own (stream `IMPORT#{log group}`, keyed by processors/store/keys.py); a
record is one millisecond of that log stream, its events ordered by their CloudWatch event ID (duplicates
by ID dropped). The ingest checkpoint of that shard is the import's checkpoint: importing an overlapping
range again applies only what lies past it, so each event counts once. A millisecond is never split
across batches (the newest one of a page waits for the next page), so a checkpoint never cuts one.

Throttling (ThrottlingException, "Rate exceeded") is retried with capped exponential backoff and jitter.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from processors.decoding import DEFAULT_PARSER, DecodedRecord, LineParser, decode_log_events
from processors.replay.sources import ShardBatch
from processors.store import keys

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "LimitExceededException"}
)
PAGE_LIMIT = 10_000  # FilterLogEvents' maximum
MAX_ATTEMPTS = 8
BASE_DELAY = 0.2  # seconds; doubled per attempt, capped, with full jitter
MAX_DELAY = 10.0


class CloudWatchImportError(Exception):
    """An import that cannot proceed (throttled past the retries, no such log group): one line for the user."""


@dataclass
class ImportStats:
    log_groups: int = 0
    log_streams: set[str] = field(default_factory=set)
    pages: int = 0
    events: int = 0
    duplicate_ids: int = 0
    throttled: int = 0  # retries after throttling


def with_backoff(call: Callable[[], Any], stats: ImportStats, sleep: Callable[[float], None],
                 rng: random.Random, attempts: int = MAX_ATTEMPTS) -> Any:
    """`call()`, retried on throttling with capped exponential backoff and full jitter."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in THROTTLING_CODES or attempt == attempts - 1:
                raise
            stats.throttled += 1
            sleep(rng.uniform(0, min(MAX_DELAY, BASE_DELAY * 2**attempt)))
    raise AssertionError("unreachable")


def log_groups(client: Any, prefixes: list[str], stats: ImportStats, sleep: Callable[[float], None],
               rng: random.Random) -> list[str]:
    """The log groups whose names start with any of `prefixes`, sorted."""
    names: set[str] = set()
    for prefix in prefixes:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupNamePrefix": prefix}
            if token:
                kwargs["nextToken"] = token
            page = with_backoff(partial(client.describe_log_groups, **kwargs), stats, sleep, rng)
            names.update(group["logGroupName"] for group in page.get("logGroups", []))
            token = page.get("nextToken")
            if not token:
                break
    return sorted(names)


class LogGroupImporter:
    """FilterLogEvents over [start_ms, end_ms) of one log group, as shard batches per log stream."""

    def __init__(
        self,
        client: Any,
        parser: LineParser = DEFAULT_PARSER,
        stats: ImportStats | None = None,
        sleep: Callable[[float], None] = time.sleep,
        seed: int = 0,
    ) -> None:
        self.client = client
        self.parser = parser
        self.stats = stats or ImportStats()
        self.sleep = sleep
        self.rng = random.Random(seed)  # jitter only; fixed seed keeps tests reproducible

    def batches(
        self, group: str, start_ms: int, end_ms: int, progress: Callable[[int], None] | None = None
    ) -> Iterator[ShardBatch]:
        """Batches in page order; `progress(ms)` gets the newest event time seen so far."""
        pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "endTime": end_ms,
                                      "limit": PAGE_LIMIT}
            if token:
                kwargs["nextToken"] = token
            page = with_backoff(partial(self.client.filter_log_events, **kwargs), self.stats, self.sleep, self.rng)
            self.stats.pages += 1
            events = page.get("events", [])
            for event in events:
                if isinstance(event, dict) and isinstance(event.get("logStreamName"), str):
                    pending[event["logStreamName"]].append(event)
            self.stats.events += len(events)
            token = page.get("nextToken")
            if events and progress:
                progress(max(int(e.get("timestamp", 0)) for e in events))
            yield from self._flush(group, pending, final=not token)
            if not token:
                return

    def _flush(self, group: str, pending: dict[str, list[dict[str, Any]]], final: bool) -> Iterator[ShardBatch]:
        for stream_name in sorted(pending):
            events = pending[stream_name]
            if not events:
                continue
            by_ms: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for event in events:
                by_ms[int(event.get("timestamp", 0))].append(event)
            ready = sorted(by_ms)
            if not final:
                ready = ready[:-1]  # the newest millisecond may continue on the next page
            pending[stream_name] = [] if final else by_ms[max(by_ms)]
            if not ready:
                continue
            self.stats.log_streams.add(f"{group}/{stream_name}")
            by_minute: dict[int, list[tuple[int, list[dict[str, Any]]]]] = defaultdict(list)
            for ms in ready:  # one batch per minute, so a backtest can interleave log streams minute by minute
                by_minute[ms // 60_000].append((ms, by_ms[ms]))
            for minute in sorted(by_minute):
                yield self._batch(group, stream_name, by_minute[minute])

    def _batch(self, group: str, stream_name: str, milliseconds: list[tuple[int, list[dict[str, Any]]]]) -> ShardBatch:
        batch = ShardBatch(stream=keys.import_pk(group), shard=stream_name, origin=f"{group}/{stream_name}")
        for ms, events in milliseconds:
            unique: dict[str, dict[str, Any]] = {}
            for event in events:
                unique.setdefault(str(event.get("eventId", "")), event)
            self.stats.duplicate_ids += len(events) - len(unique)
            ordered = [unique[event_id] for event_id in sorted(unique, key=lambda i: (len(i), i))]
            record = DecodedRecord(sequence=ms, arrival=None)
            decode_log_events(ordered, ms, 0, record, group, parser=self.parser)
            batch.records.append(record)
        # CloudWatch's timestamp, not the lines' own: it orders one log stream's batches as their checkpoint does
        batch.order_time = milliseconds[0][0] / 1000.0
        return batch
