"""Read replay inputs into shard batches, whatever their form.

A PATH is a file or a folder (read in name order) of: Lambda Kinesis events (one JSON document, as
`sam local invoke -e` takes, or JSON Lines of them); raw CloudWatch Logs payloads (gzip or JSON); or plain
JSON-lines log files (one structured log per line). Files that are not Kinesis events get a stable
synthetic stream (their absolute path) and positions (payload or line number), so replaying the same
file twice applies it once.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from processors import conventions
from processors.decoding import DEFAULT_LIMITS, DecodedRecord, Position, decode_message, decode_payload, decode_record
from processors.decoding.records import inflate, sequence_of, shard_of, stream_of

LINES_PER_BATCH = 1000
SUFFIXES = {".json", ".jsonl", ".ndjson", ".gz", ".log", ".txt"}


class SourceError(Exception):
    """A replay input that cannot be read at all (missing, unreadable): one line for the user."""


class NotLogEventsError(SourceError):
    """A readable JSON file that holds no log events (e.g. an API Gateway test event)."""


# what a file of garbage yields: a file with nothing else decoded is refused, not replayed as "0 records"
_GARBAGE = conventions.MALFORMED_KINDS | {conventions.SKIP_MESSAGE_NOT_JSON}


def require_decodable(path: Path, batches: list[ShardBatch]) -> list[ShardBatch]:
    """`batches`, or NotLogEventsError naming `path` when it is empty or nothing in it decoded."""
    records = [record for batch in batches for record in batch.records]
    if not records:
        raise NotLogEventsError(f"{path}: empty, nothing to replay")
    if any(record.events or record.uncorrelated_times or set(record.skips) - _GARBAGE for record in records):
        return batches
    kinds = ", ".join(sorted({kind for record in records for kind in record.skips}))
    raise NotLogEventsError(f"{path}: nothing decodable in {len(records)} record(s) ({kinds})")


@dataclass
class ShardBatch:
    stream: str
    shard: str
    records: list[DecodedRecord] = field(default_factory=list)
    order_time: float = 0.0  # when this batch would have arrived: orders batches across shards
    origin: str = ""

    @property
    def record_count(self) -> int:
        return len(self.records)


def expand_paths(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
            if not found:
                raise SourceError(f"{raw}: no event files (*.json, *.jsonl, *.gz, *.log) in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise SourceError(f"{raw}: not a regular file or folder")
        else:
            raise SourceError(f"{raw}: no such file or folder")
    return files


def read_batches(path: Path) -> Iterator[ShardBatch]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from None
    if data.startswith(b"\x1f\x8b"):
        inflated = inflate(data, DEFAULT_LIMITS.max_payload_bytes)
        if inflated == conventions.SKIP_PAYLOAD_TOO_LARGE and _is_lines(data):
            inflated = _inflate_file(data)  # a large gzipped log file, not one payload
        if isinstance(inflated, str):  # counted as a truncated or too large payload, not an error
            yield _payload_batch(path, [data])
            return
        data = inflated
    text = data.decode("utf-8", errors="replace").strip()
    whole = _json(text)
    if isinstance(whole, dict):
        yield from _from_document(path, whole, 0)
        return
    lines = [line for line in text.splitlines() if line.strip()]
    documents = [_json(line) for line in lines]
    first = next((document for document in documents if document is not None), None)
    if isinstance(first, dict) and ("Records" in first or "logEvents" in first):
        unparsed: list[int] = []
        for index, document in enumerate(documents):
            if isinstance(document, dict):
                yield from _from_document(path, document, index)
            else:
                unparsed.append(index)
        if unparsed:
            yield _unparsed_lines(path, unparsed)
        return
    yield from _log_lines(path, lines)


def _is_lines(data: bytes) -> bool:
    """Whether a gzip file's first 64 KiB hold a line break: a log file, rather than one huge payload."""
    return b"\n" in zlib.decompressobj(zlib.MAX_WBITS | 32).decompress(data, 65536).strip()


def _inflate_file(data: bytes) -> bytes | str:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        return conventions.SKIP_TRUNCATED_GZIP


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _unparsed_lines(path: Path, indexes: list[int]) -> ShardBatch:
    """A JSON-lines file's cut-off or corrupt lines: each a counted skip at its own position (applied once).

    They sit on a shard of their own, so their checkpoint never hides the file's other batches.
    """
    batch = ShardBatch(stream=f"file:{os.path.abspath(path)}", shard="unparsed-lines", origin=str(path))
    for index in indexes:
        record = DecodedRecord(sequence=index, arrival=None)
        record.skips[conventions.SKIP_LINE_NOT_JSON] += 1
        batch.records.append(record)
    return batch


def _from_document(path: Path, document: dict[str, Any], index: int) -> Iterator[ShardBatch]:
    if "Records" in document and isinstance(document["Records"], list):
        yield from _kinesis_batches(path, document["Records"])
    elif "logEvents" in document or "messageType" in document:
        yield _payload_batch(path, [json.dumps(document).encode()], first_sequence=index)
    elif "metadata" in document or "correlationId" in document:
        yield from _log_lines(path, [json.dumps(document)])
    else:
        keys = ", ".join(list(document)[:4])
        raise NotLogEventsError(f"{path}: not a Kinesis event, CloudWatch Logs payload or log line (keys: {keys})")


def _kinesis_batches(path: Path, records: list[Any]) -> Iterator[ShardBatch]:
    """One batch per (stream, shard), in the file's order, as Lambda would deliver them."""
    batches: dict[tuple[str, str], ShardBatch] = {}
    for raw in records:
        if not isinstance(raw, dict):
            continue
        record = KinesisStreamRecord(raw)
        key = (stream_of(record), shard_of(record))
        batch = batches.setdefault(key, ShardBatch(stream=key[0], shard=key[1], origin=str(path)))
        decoded = decode_record(raw)
        batch.records.append(decoded)
        if sequence_of(record) is not None and decoded.arrival is not None and not batch.order_time:
            batch.order_time = decoded.arrival
    yield from batches.values()


def _payload_batch(path: Path, payloads: list[bytes], first_sequence: int = 0) -> ShardBatch:
    batch = ShardBatch(stream=f"file:{os.path.abspath(path)}", shard="payloads", origin=str(path))
    for offset, payload in enumerate(payloads):
        record = DecodedRecord(sequence=first_sequence + offset, arrival=None)
        decode_payload(payload, record.sequence, 0, record)
        batch.records.append(record)
    batch.order_time = _first_event_time(batch)
    return batch


def _log_lines(path: Path, lines: list[str]) -> Iterator[ShardBatch]:
    stream = f"file:{os.path.abspath(path)}"
    for offset in range(0, len(lines), LINES_PER_BATCH):
        batch = ShardBatch(stream=stream, shard="lines", origin=str(path))
        for number, line in enumerate(lines[offset : offset + LINES_PER_BATCH], start=offset + 1):
            record = DecodedRecord(sequence=number, arrival=None)
            record.log_events_seen = 1
            decode_message(line, None, Position(number), record)
            batch.records.append(record)
        batch.order_time = _first_event_time(batch)
        yield batch


def _first_event_time(batch: ShardBatch) -> float:
    times = [event.time for record in batch.records for event in record.events]
    return min(times) if times else 0.0


