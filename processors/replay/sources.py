"""Read replay inputs into shard batches, whatever their form: one generator of batches per file.

A PATH is a file or a folder (read in name order). Each file's format is detected once, from its first
document, and named in the replay summary (`FORMATS`):

- `kinesis`: Lambda Kinesis events (`{"Records": [...]}`; one document, as `sam local invoke -e` takes, or
  JSON Lines of them);
- `cloudwatch-payload`: raw CloudWatch Logs subscription payloads (`logEvents`), one or concatenated, which is
  also what a CloudWatch Logs → Firehose → S3 object holds (back to back on one line, however long);
- `awslogs`: the envelope CloudWatch Logs hands a Lambda subscriber (`{"awslogs": {"data": ...}}`);
- `firehose`: a Firehose transformation event (`records[].data`: a gzip payload or one log line);
- `filter-log-events` / `get-log-events`: the output of those APIs (`aws logs ...`), one document or JSON
  Lines of pages; the log group is `--log-group` or the file's name;
- `json-lines`: one log line per line, whatever the first line holds (a line of `aws logs tail` is its message, at
  the time before it); or log lines pretty-printed (`jq .`) or back to back, one per document, when the first
  document reads as a log event;
and gzip of any of these. Files that are not Kinesis events get a stable synthetic stream (their absolute
path) and positions (document and line numbers), so replaying the same file twice applies it once.

Reading is bounded: a line (one JSON-lines document) holds at most DecodeLimits.max_payload_bytes, a
document that is not one line at most MAX_DOCUMENT_BYTES; either holds at most MAX_DOCUMENT_VALUES values, and in
a gzip file at most VALUES_PER_ENTRY per entry the file may still yield (see below), counted in C before it is
parsed (_DocumentCount), so that a document of tiny values costs no more memory than a real one; beyond, a
counted payload_too_large. A gzip file
inflates to at most inflate_bound(its size), with what the payloads inside it inflate to: MAX_INFLATE_RATIO
times its size, or INFLATE_FLOOR_BYTES if more, so a gzip bomb costs time in proportion to the file, not to
what it claims to hold; and it yields at most
entry_bound(its size) entries (lines, documents, the records or log events their lists hold, and the log
events inside their encoded payloads), so a bomb of tiny lines costs decoding in proportion to the file too.
What it yielded up to a bound is replayed (a file is a stream); the rest, unread, is one counted
payload_too_large. A gzip that breaks (truncated, corrupt, or with garbage after its last member) is read up to
the break, and the rest is one counted truncated_gzip; concatenated members are one stream, under one bound.

Each file's batches are decoded as they are read, and `slo replay` applies them as they come: across files,
`arrival_order` merges the per-file generators by arrival time (a k-way merge, one batch held per open file),
so memory does not grow with the input, nor with the number of files: a file is opened when the merge reaches
its first batch (a file waiting its turn holds nothing), and the files open at once share a MergeBudget of
decoded lines and read buffers (JSON-lines batches are cut smaller the more are open): 2,000 JSON-lines files of
a 7-day history peaked at 76 MB cut by time, 92 MB by log stream (889 and 900 MB when each held a batch;
bench/bench_replay_files.py). A long filter-log-events / get-log-events document's events are parsed one at a
time as its text is read, and held a batch (LINES_PER_BATCH) at a time (_streamed_events), where the document was
parsed whole while its file was open: 50 per-log-stream exports of the 7-day history, open at once, peaked at
970 → 269 MB (of the 2-day one, 364 → 250 MB). Other documents are parsed whole, and no document's batches are
cut smaller (their positions are batch numbers). Each batch says how many bytes of its file it consumed
(compressed bytes for gzip), for a progress bar over the bytes read.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import gzip
import heapq
import io
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from processors import conventions
from processors.decoding import (
    DEFAULT_LIMITS,
    DEFAULT_PARSER,
    DecodedRecord,
    LineParser,
    Position,
    decode_log_events,
    decode_message,
    decode_payload,
    decode_record,
)
from processors.decoding.records import sequence_of, shard_of, stream_of
from processors.timeutil import iso8601_epoch

LINES_PER_BATCH = 1000
# How many decoded log lines (about 3 KB each, with their events) the batches held by the merge may hold
# together: while every file open holds a whole batch within it (up to 20 files open at once), batches are cut
# as they always were; past that, JSON-lines batches are cut smaller, down to MIN_BATCH_LINES (see MergeBudget).
LINE_BUDGET = 20_000
MIN_BATCH_LINES = 10
# The read buffers of the JSON-lines files open at once, together: _LINE_CHUNK each while few are open (64),
# smaller when more are, down to MIN_READ_CHUNK. A chunk costs ~3 times its size (its bytes, its text, its lines).
READ_BUDGET = 4 << 20
MIN_READ_CHUNK = 4 << 10
SUFFIXES = {".json", ".jsonl", ".ndjson", ".gz", ".log", ".txt"}
FORMATS = (
    "kinesis", "cloudwatch-payload", "awslogs", "firehose", "filter-log-events", "get-log-events", "json-lines",
)
_GZIP_MAGIC = b"\x1f\x8b"
# Files easily given by mistake that are not logs, by their first bytes: each is refused in one line naming what it
# is (or skipped in a folder), where it was read as text lines. The store itself replayed "decoded" stray JSON from
# its pages. Firehose may write its S3 objects zipped or Snappy-framed instead of gzipped.
_NOT_LOGS = (
    (b"SQLite format 3\x00", "a SQLite database (a store?), not log files"),
    (b"PK\x03\x04", "a zip archive: unzip it first (replay reads plain or gzip files)"),
    (b"\xff\x06\x00\x00sNaPpY", "Snappy-compressed: decompress it first (replay reads plain or gzip files)"),
    (b"\xfd7zXZ\x00", "xz-compressed: decompress it first (replay reads plain or gzip files)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed: decompress it first (replay reads plain or gzip files)"),
    *((b"BZh" + bytes([level]), "bzip2-compressed: decompress it first (replay reads plain or gzip files)")
      for level in b"123456789"),
)
_SIGNATURE_BYTES = max(len(magic) for magic, _ in _NOT_LOGS)
# Windows PowerShell's `>` and Out-File write UTF-16 (little-endian) with a byte order mark
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ENTRY_LISTS = ("Records", "logEvents", "records", "events")  # the lists the formats' entries are in
_ENCODED_PAYLOADS = ("kinesis", "awslogs", "firehose")  # formats whose entries hold gzip payloads of log events
_NON_BLANK = re.compile(r"\S")
# A line of `aws logs tail`: the event's time (to the microsecond with its offset, or to the second with
# --format short), its log stream's name (not with --format short), then its message: here, one of JSON
_TAIL_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)?) (?:[^\s{]\S* )?(?=\{)")
# The rows `aws logs filter-log-events` / `get-log-events` write with `--output text` start with these
_CLI_TEXT_ROWS = ("EVENTS\t", "SEARCHEDLOGSTREAMS\t")
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # one pretty-printed document (e.g. a merged filter-log-events export)
# How far a gzip file may inflate: real log files compress 1-12x here (the docs' sample as JSON lines 8.7x, as a
# Firehose S3 object 12x, as filter-log-events output 11x, Kinesis events of gzip payloads 2.7x) and ~5-30x in
# the wild; gzip's own ceiling is ~1032x, which a bomb of newlines reaches. 200x leaves real logs a wide margin.
MAX_INFLATE_RATIO = conventions.MAX_INFLATE_RATIO
# Small files may always inflate as far as one CloudWatch payload may (the ingest's 8 MiB cap), so a short,
# repetitive fixture (one line 100,000 times is ~230x) still reads whole, and a small bomb stops at 8 MiB.
INFLATE_FLOOR_BYTES = 8 * 1024 * 1024
# How many entries (lines, documents, the Kinesis records, log events or Firehose records in their lists, and the
# log events in those records' payloads) a gzip file may yield per compressed byte: each costs ~5 us to decode
# and apply, so a bomb of tiny lines ("{}" 10 million times is 29 KB) would cost minutes within the inflate
# bound. Real logs hold 0.006-0.033 per compressed byte here (the 8-hour sample's Kinesis events 0.0062 with
# their payloads' log events, its log lines as JSON lines 0.033, as filter-log-events output 0.022, as a Firehose
# S3 object 0.025): 1 per byte leaves them a 30x margin.
MAX_ENTRIES_PER_BYTE = conventions.MAX_ENTRIES_PER_BYTE
# Small files may always yield this many (a 100 KB gzip of one short line 100,000 times reads whole): ~0.5 s.
ENTRY_FLOOR = 100_000
# How many values one document's parse may build (objects, lists, strings, numbers: a Python object each, 24-200
# bytes): 64 MiB of a pretty-printed list of `{}` is 16.7 million dicts, 1.25 GB. Real documents hold 0.005-0.011
# values per byte (filter-log-events output, Kinesis and Firehose events: docs/log-schema.md), ~750,000 in 64 MiB,
# and a document of 1 million costs at most ~230 MB whatever their shape. One with more is refused unparsed: its
# values are counted in C, not built (_DocumentCount).
MAX_DOCUMENT_VALUES = 1_000_000
# In a gzip file, a document may also hold no more than this many values per entry the file may still yield
# (entry_bound): real documents hold 4-14 (a Firehose event 4 per record, a CloudWatch payload ~5 per log event,
# filter-log-events output 6 per event, a Kinesis event 14 per record), so a bomb's document of tiny values
# meets the entry bound before it is parsed, not after.
VALUES_PER_ENTRY = 64
# Text from a document's start up to this long is parsed without counting (its values cost at most ~40 MB); a
# longer one is counted first, unless it ends within its first 4 KiB or _SMALL_DOCUMENT characters (a look that
# costs a copy of them, where a count would cost a pass over a window 4 times larger; a copy of 64 KiB for each
# 1 KB payload of a Firehose S3 object cost 14% of reading it).
_UNCOUNTED = 1 << 20
_SMALL_DOCUMENT = 1 << 16
# A JSON string, escapes and all (an unfinished one runs to the end of the text): possessive and unrolled, so a
# string costs one pass however many escaped quotes it holds.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
# A closing bracket followed by anything but `,` `]` `}`: in valid JSON, the end of a document (a parse stops there)
_DOCUMENT_END = re.compile(r"[\]}]\s*+[^\s,\]}]")
_READ_CHUNK = 1 << 20
_LINE_CHUNK = 1 << 16  # lines are read in pieces this large: a long line is joined once, not held twice
# what a file of garbage yields: a file with nothing else decoded is refused, not replayed as "0 records"
_GARBAGE = conventions.MALFORMED_KINDS | {conventions.SKIP_MESSAGE_NOT_JSON}


class _TooLarge:
    """A line or document past the reading cap (consumed, never held)."""


TOO_LARGE = _TooLarge()
_LONG = object()  # a long object: its events may be read a chunk at a time (_streamed_events)


@dataclass(frozen=True)
class _Unread:
    """The rest of a gzip file, left unread (past its inflate bound, or past a break): one skip of `kind`."""

    kind: str


def inflate_bound(compressed_bytes: int) -> int:
    """How many bytes a gzip file of `compressed_bytes` may inflate to before the rest is left unread."""
    return max(INFLATE_FLOOR_BYTES, MAX_INFLATE_RATIO * compressed_bytes)


def entry_bound(compressed_bytes: int) -> int:
    """How many entries (see entries_of) a gzip file of `compressed_bytes` may yield before the rest is unread."""
    return max(ENTRY_FLOOR, MAX_ENTRIES_PER_BYTE * compressed_bytes)


class _BoundedGunzip(io.RawIOBase):
    """A gzip file's inflated bytes up to `limit`, then end of file; `unread` says why it ended early, if it did:
    payload_too_large past the limit, truncated_gzip where the gzip breaks (the bytes before it are kept). It
    keeps the file's entry bound too (`spend`). It owns `compressed` and closes it (a GzipFile given a
    fileobj leaves it open)."""

    def __init__(self, compressed: IO[bytes], limit: int, entries: int = ENTRY_FLOOR) -> None:
        super().__init__()
        self._compressed = compressed
        self._gzip = gzip.GzipFile(fileobj=compressed)
        self._left = limit
        self._entries_left = entries
        self.unread: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.unread is not None:
            return 0
        try:  # read1, not read: a break loses nothing inflated before it
            data = self._gzip.read1(min(len(buffer), self._left) or 1)  # at the limit, one byte tells if more follow
        except (OSError, EOFError, zlib.error):
            self.unread = conventions.SKIP_TRUNCATED_GZIP
            return 0
        if len(data) > self._left:
            self.unread = conventions.SKIP_PAYLOAD_TOO_LARGE
            return 0
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)

    def spend(self, entries: int, inflated: int = 0) -> bool:
        """Count `entries` against the entry bound and `inflated` bytes (what payloads inside the file inflated
        to) against the inflate bound: whether both hold."""
        self._entries_left -= entries
        self._left -= inflated
        return self._entries_left >= 0 and self._left >= 0

    @property
    def entries_left(self) -> int:
        return max(self._entries_left, 0)

    def close(self) -> None:
        try:
            self._gzip.close()
        finally:
            self._compressed.close()
            super().close()


def values_left(gunzip: _BoundedGunzip | None) -> int:
    """How many values the next document's parse may build: MAX_DOCUMENT_VALUES, and in a gzip file no more than
    VALUES_PER_ENTRY per entry it may still yield."""
    if gunzip is None:
        return MAX_DOCUMENT_VALUES
    return min(MAX_DOCUMENT_VALUES, VALUES_PER_ENTRY * gunzip.entries_left)


class _DocumentCount:
    """The values a parse of the document at the start of a text would build, counted without building them.

    A value is a container or follows a comma, save a container's first: 1 plus the commas and opening brackets
    outside strings bound them (keys are not counted; the parser shares equal ones). The count stops where the
    document ends (_DOCUMENT_END: a parse stops there, valid JSON or not), so the documents after it, as in a
    Firehose S3 object, are not counted; or at the end of the text, as a parse of an unfinished document does.
    It runs in C: one regex empties the strings, str.count counts. It is kept as the text grows, up to the last
    line break counted (no JSON string holds one), so a long pretty-printed document read in growing pieces is
    counted once, not once per piece; its window grows 4x at a time, so a document ahead of others costs about
    its own length."""

    def __init__(self) -> None:
        self._counted = 0  # characters from the document's start counted and kept (up to a line break)
        self._values = 1
        self._depth = 0  # brackets opened and not closed in them
        self._ended = False  # where the document ends was found
        self._closed = False  # the last bracket or value counted was a closing bracket

    @property
    def kept(self) -> int:
        """How many characters from the document's start are counted and kept: text a reader may drop."""
        return self._counted

    def values(self, text: str, at: int, most: int) -> tuple[int, bool]:
        """(at most how many values the document at `at` holds, a count past `most` may stop early; whether it is
        unfinished: a bracket is still open at the end of `text`, so a parse would fail for want of the rest)."""
        window = _SMALL_DOCUMENT
        while not self._ended and self._values <= most and (start := at + self._counted) < len(text):
            window *= 4
            stop = min(start + window, len(text))
            line_end = text.rfind("\n", start, stop) + 1
            if line_end:  # kept: the count goes on from there once the text has grown
                values, depth, self._ended, self._closed = self._count(text[start:line_end])
                self._values, self._depth, self._counted = self._values + values, self._depth + depth, line_end - at
            elif stop < len(text):  # no line break yet (a document on one line): a wider window, unless it ended
                values, _, ended, _ = self._count(text[start:stop])
                if ended or self._values + values > most:
                    return self._values + values, False
            else:  # the unfinished last line: counted, not kept
                values, depth, ended, _ = self._count(text[start:stop])
                return self._values + values, not ended and self._depth + depth > 0
        return self._values, not self._ended and self._depth > 0

    def _count(self, text: str) -> tuple[int, int, bool, bool]:
        """(values in `text`, brackets it leaves open, whether the document ends in it, whether it ends in a
        closing bracket), up to where the document ends."""
        bare = _STRING.sub("", text)
        head = bare.lstrip()[:1]
        if not head:  # blanks and strings only
            return 0, 0, False, self._closed
        if self._closed and head not in ",]}":
            return 0, 0, True, False  # it ended where the text counted before did
        end = _DOCUMENT_END.search(bare)
        upto = end.start() + 1 if end else len(bare)
        opened = bare.count("[", 0, upto) + bare.count("{", 0, upto)
        closed = bare.count("]", 0, upto) + bare.count("}", 0, upto)
        return bare.count(",", 0, upto) + opened, opened - closed, end is not None, bare.rstrip()[-1:] in ("]", "}")


def _json_line(line: str, most: int) -> Any:
    """A line's JSON document; None if it is not JSON; TOO_LARGE if it holds more than `most` values (counted
    first, see _DocumentCount)."""
    first = _NON_BLANK.search(line)
    at = first.start() if first else 0
    if len(line) - at > _UNCOUNTED and line[at] in "{[" and _DocumentCount().values(line, at, most)[0] > most:
        return TOO_LARGE
    return _json(line)


def _decode(
    decoder: json.JSONDecoder, text: str, at: int, count: _DocumentCount, most: int, whole: bool,
    stream: bool = False,
) -> tuple[Any, int]:
    """The document at `at` and where it ends (ValueError or RecursionError if none is whole there), or
    (TOO_LARGE, -1) if it holds more than `most` values. A long one is counted before it is parsed, and not
    parsed while it is unfinished, unless the text is `whole` (a parse would fail for want of the rest); a long
    object is (_LONG, -1) if it may `stream` (see _streamed_events)."""
    if len(text) - at > _UNCOUNTED and text[at] in "{[":
        for look in (_SMALL_DOCUMENT // 16, _SMALL_DOCUMENT):  # a short document needs no count
            with contextlib.suppress(ValueError, RecursionError):
                document, end = decoder.raw_decode(text[at : at + look])
                return document, at + end
        if stream and text[at] == "{":
            return _LONG, -1
        values, unfinished = count.values(text, at, most)
        if values > most:
            return TOO_LARGE, -1
        if unfinished and not whole:
            raise ValueError("an unfinished document")
    return decoder.raw_decode(text, at)


class SourceError(Exception):
    """A replay input that cannot be read at all (missing, unreadable): one line for the user."""


class NotLogEventsError(SourceError):
    """A readable JSON file that holds no log events (e.g. an API Gateway test event)."""


# A file whose first records hold nothing decodable is looked at to its end before anything is applied;
# this many records are held while looking (past that, the file is read again rather than held).
PRIME_RECORDS = 10_000
_SPARE_FILES = 256  # descriptors beyond one per input: the store, the interpreter's own, a DynamoDB client's


def decodable_batches(
    path: Path, open_batches: Callable[[], Iterator[ShardBatch]], container: bool = False
) -> Iterator[ShardBatch]:
    """The file's batches as a lazy iterator, or NotLogEventsError naming `path` (raised here, before anything is
    applied) when it is empty or nothing in it decodes. In a well-formed container (an awslogs envelope, say),
    lines that are not JSON are a Lambda's plain output, not garbage: the file is replayed and they are counted.
    Holds at most PRIME_RECORDS
    records while it looks; past that it scans on without holding them and, once something decodes, reads
    the file again from the start."""
    garbage = conventions.MALFORMED_KINDS if container else _GARBAGE
    batches = open_batches()
    held: list[ShardBatch] = []
    count = 0
    overflowed = False
    kinds: set[str] = set()
    for batch in batches:
        if any(record.events or record.notes or set(record.skips) - garbage for record in batch.records):
            if not overflowed:
                return _chained([*held, batch], batches)
            _close(batches)  # its file, before the file is opened again
            return open_batches()
        kinds.update(kind for record in batch.records for kind in record.skips)
        count += batch.record_count
        if not overflowed:
            held.append(batch)
            overflowed = count > PRIME_RECORDS
            if overflowed:
                held.clear()
    if not count:
        raise NotLogEventsError(f"{path}: empty (no records, or only empty lists of them), nothing to replay")
    if not kinds:  # records that hold nothing at all: e.g. CloudWatch Logs payloads with an empty logEvents list
        raise NotLogEventsError(f"{path}: no log events in {count} record(s), nothing to replay")
    raise NotLogEventsError(f"{path}: nothing decodable in {count} record(s) ({', '.join(sorted(kinds))})")


def _chained(held: list[ShardBatch], rest: Iterator[ShardBatch]) -> Iterator[ShardBatch]:
    """`held`, then `rest`; closing it closes `rest` (its file), as itertools.chain would not."""
    try:
        yield from held
        held.clear()
        yield from rest
    finally:
        _close(rest)


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)  # a generator's: runs its `finally`, closing its file
    if close is not None:
        close()


def allow_open_files(files: int) -> None:
    """Raise this process's soft limit of open files toward its hard limit, so that `files` inputs fit.

    arrival_order holds open every file it has started and not finished (a file longer than one batch stays
    open between its batches; files spanning the same days are all started at once), so a folder of more such
    files than the soft limit (1,024 on many systems) failed part way with "Too many open files". Past the hard
    limit it still does, naming the file."""
    try:
        import resource
    except ImportError:  # not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = files + _SPARE_FILES
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


@dataclass
class MergeBudget:
    """What the files of one merge share: LINE_BUDGET decoded lines and READ_BUDGET bytes of read buffers, split
    between the files open at once. arrival_order keeps `open_files` and `held` (the lines of the batches it
    holds, one per open file). FileSource reads `batch_lines` as it cuts each JSON-lines batch, and `read_chunk`
    as it opens a file. The default, one file open, is a whole batch and a whole chunk."""

    open_files: int = 1
    held: int = 0
    kept: int = 0  # files whose check's reader stays open (MergeInput)

    @property
    def batch_lines(self) -> int:
        """An equal share of the budget, and no more than what the other files' batches left of it (a batch cut
        while fewer files were open may still be held): together, at most LINE_BUDGET + MIN_BATCH_LINES per file
        open."""
        share = min(LINE_BUDGET // max(self.open_files, 1), LINE_BUDGET - self.held)
        return min(LINES_PER_BATCH, max(MIN_BATCH_LINES, share))

    @property
    def read_chunk(self) -> int:
        return max(MIN_READ_CHUNK, min(_LINE_CHUNK, READ_BUDGET // max(self.open_files, 1)))

    def keep(self) -> bool:
        """Whether one more file may stay open from its check until the merge reaches it: as many as read whole
        batches within the budget (LINE_BUDGET // LINES_PER_BATCH)."""
        if self.kept >= LINE_BUDGET // LINES_PER_BATCH:
            return False
        self.kept += 1
        self.open_files = self.kept
        return True


@dataclass
class MergeInput:
    """One file of a merge: how to open it, its first batch's order_time, and its reader if it is open already.

    `checked` checks it at once (decodable_batches: a file of nothing decodable is refused before anything is
    applied) and then, past the budget's first files, closes it: the merge opens it again, from its start, when
    its first batch is due, so a file that waits for its turn holds no batch, buffer or descriptor. The check
    reads a whole first batch: a smaller one (a smaller share of the budget) starts no earlier, so the merge
    never opens a file late."""

    open_batches: Callable[[], Iterator[ShardBatch]]
    first_order_time: float = 0.0
    reader: Iterator[ShardBatch] | None = None

    @classmethod
    def checked(
        cls, path: Path, open_batches: Callable[[], Iterator[ShardBatch]], container: bool = False,
        budget: MergeBudget | None = None,
    ) -> MergeInput:
        batches = decodable_batches(path, open_batches, container)
        first = next(batches)
        if budget is None or budget.keep():
            return cls(open_batches, first.order_time, _chained([first], batches))
        _close(batches)
        return cls(open_batches, first.order_time)


@dataclass
class ReplayInputs:
    """The checked files of one replay (or backfill) and what their merge shares: `arrival_order(inputs, budget)`
    reads them. `bytes` is their total size, for a progress bar; `formats` counts each file's format."""

    files: list[Path]
    inputs: list[MergeInput]
    budget: MergeBudget
    formats: Counter[str]
    bytes: int


def checked_inputs(
    paths: list[str], parser: LineParser, log_group: str | None, skipped: Callable[[NotLogEventsError], None]
) -> ReplayInputs:
    """Every file of `paths`, each checked before anything is applied (the first few stay open, the rest wait
    closed, see MergeInput). A file with nothing decodable is NotLogEventsError when it was named, and a folder's
    is left out and passed to `skipped` (an API Gateway test event beside the logs, say). SourceError or
    OSError when a path cannot be read."""
    files = expand_paths(paths)
    allow_open_files(len(files))  # the k-way merge holds open each file it has started and not finished
    named = {str(path) for path in paths}
    budget, inputs, formats = MergeBudget(), [], Counter[str]()
    for path in list(files):
        try:
            source = FileSource(path, parser, log_group, budget)
            # each call of source.batches reads the file afresh with the same positions, its format detected once
            inputs.append(MergeInput.checked(path, source.batches, source.format != "json-lines", budget))
            formats[source.format] += 1
        except NotLogEventsError as exc:
            if str(path) in named:
                raise
            files.remove(path)
            skipped(exc)
    return ReplayInputs(files, inputs, budget, formats, sum(path.stat().st_size for path in files))


def _never_opened() -> Iterator[ShardBatch]:
    raise AssertionError("an input given as an iterator is open already")


def arrival_order(
    files: Iterable[MergeInput | Iterator[ShardBatch]], budget: MergeBudget | None = None
) -> Iterator[ShardBatch]:
    """One stream of batches in arrival order: a k-way merge of per-file iterators (each in arrival order
    already) by order_time, ties in the files' order, as heapq.merge orders them; batches without an arrival
    time sort first. A file open holds one batch; a MergeInput not yet due holds nothing (it is opened when its
    first_order_time comes up). `budget.open_files` counts the files open, so each cuts its share."""
    budget = budget if budget is not None else MergeBudget()
    inputs = [f if isinstance(f, MergeInput) else MergeInput(_never_opened, reader=f) for f in files]
    waiting = sorted(source.first_order_time for source in inputs if source.reader is None)
    opened = 0  # of the waiting files
    live = budget.open_files = sum(source.reader is not None for source in inputs)
    budget.held = 0
    heap: list[tuple[float, int, ShardBatch | None, Iterator[ShardBatch] | None]] = []
    for index, source in enumerate(inputs):
        if source.reader is None:
            heap.append((source.first_order_time, index, None, None))
        elif (batch := next(source.reader, None)) is not None:
            heap.append((batch.order_time, index, batch, source.reader))
            budget.held += batch.record_count
        else:
            live -= 1
        source.reader = None  # the heap holds what it reads; a finished file is dropped
    heapq.heapify(heap)
    try:
        while heap:
            order_time, index, head, reader = heap[0]
            # the files open, and those whose first batch is due and will open next, share the budget
            due = max(bisect.bisect_right(waiting, order_time) - opened, 0)
            if reader is None:  # due: open it; its first batch may start later than the check's
                opened, live, due = opened + 1, live + 1, max(due - 1, 0)
                budget.open_files = live + due
                reader = inputs[index].open_batches()
                head = next(reader, None)
                if head is not None and head.order_time > order_time:
                    heapq.heapreplace(heap, (head.order_time, index, head, reader))
                    budget.held += head.record_count
                    continue
            elif head is not None:
                budget.held -= head.record_count
            if head is not None:
                yield head
                budget.open_files = live + due
                head = next(reader, None)
            if head is None:
                heapq.heappop(heap)
                live -= 1
            else:
                heapq.heapreplace(heap, (head.order_time, index, head, reader))
                budget.held += head.record_count
    finally:
        for _, _, _, reader in heap:
            if reader is not None:
                _close(reader)


@dataclass
class ShardBatch:
    stream: str
    shard: str
    records: list[DecodedRecord] = field(default_factory=list)
    order_time: float = 0.0  # when this batch would have arrived: orders batches across shards
    origin: str = ""
    bytes_read: int = 0  # bytes of its file consumed since the file's previous batch (compressed for gzip)

    @property
    def record_count(self) -> int:
        return len(self.records)


def expand_paths(paths: list[str]) -> list[Path]:
    """The files to replay, each once: a file reached again (a symlink to it, a folder given twice) is left out,
    since its synthetic stream is the path it is reached by and its events would count again."""
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
    seen: set[tuple[int, int]] = set()
    unique = []
    for file in files:
        try:
            status = file.stat()
        except OSError:  # gone since it was listed: opening it says so
            unique.append(file)
            continue
        if (status.st_dev, status.st_ino) not in seen:
            seen.add((status.st_dev, status.st_ino))
            unique.append(file)
    return unique


def entries_of(document: Any) -> int:
    """What a document costs against a gzip file's entry bound: 1, plus the entries of the lists it holds."""
    if not isinstance(document, dict):
        return 1
    return 1 + sum(len(value) for key in _ENTRY_LISTS if isinstance(value := document.get(key), list))


def _nested_costs(batches: list[ShardBatch]) -> tuple[int, int]:
    """What a document's encoded payloads (Kinesis records' data, an awslogs envelope's, Firehose records') cost
    that entries_of and the file's own inflation cannot see without decoding them: their log events, against the
    entry bound, and the bytes they inflated to, against the inflate bound. A gzip of Kinesis records whose
    payloads are gzip of 10,000 log events each held ~100 times more events than compressed bytes; one whose
    payloads each inflate to the 8 MiB cap, ~1,000 times more inflated bytes."""
    records = [record for batch in batches for record in batch.records]
    return sum(record.log_events_seen for record in records), sum(record.inflated_bytes for record in records)


def document_format(document: Any) -> str | None:
    """The format a file's first JSON document announces; None when it is not a container of log events."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("Records"), list):
        return "kinesis"
    if isinstance(document.get("awslogs"), dict):
        return "awslogs"
    if "logEvents" in document or "messageType" in document:
        return "cloudwatch-payload"
    if isinstance(document.get("records"), list) and ("deliveryStreamArn" in document or "invocationId" in document):
        return "firehose"
    if isinstance(document.get("events"), list):
        if "searchedLogStreams" in document or any(isinstance(e, dict) and "eventId" in e for e in document["events"]):
            return "filter-log-events"
        return "get-log-events"
    return None


class FileSource:
    """One replay file: its format, detected once from the first document, and a generator of its batches."""

    def __init__(
        self, path: Path, parser: LineParser = DEFAULT_PARSER, log_group: str | None = None,
        budget: MergeBudget | None = None,
    ) -> None:
        self.path = path
        self.parser = parser
        self.budget = budget if budget is not None else MergeBudget()  # its share of the merge's, read as it reads
        self.log_group = log_group or path.name
        self.stream = f"file:{os.path.abspath(path)}"
        self._sequence = 0
        self._order_time = 0.0
        self._raw: IO[bytes] | None = None  # the open file under the decoder, for bytes read
        self._size = 0  # its size: where a closed file's reading ended, for bytes read
        self._gunzip: _BoundedGunzip | None = None  # the inflater of the last opened gzip file, and its bounds
        self._charged = 0
        self.format, self._lines_mode = self._detect()

    # --- detection ------------------------------------------------------------------------------------

    def _open(self) -> IO[str]:
        """The file as text, inflated if gzip; closing it closes the file (callers use `with`). UTF-8, without the
        byte order mark Windows tools write first (PowerShell's Out-File, Notepad's "UTF-8 with BOM"), or UTF-16
        after its byte order mark (Windows PowerShell's `>`).
        NotLogEventsError when its first bytes say it is not logs (_NOT_LOGS)."""
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - the returned wrapper owns it
        except OSError as exc:
            raise SourceError(f"{self.path}: cannot read ({exc.strerror})") from None
        try:
            head = handle.read(_SIGNATURE_BYTES)
            handle.seek(0)
            size = os.fstat(handle.fileno()).st_size
        except OSError as exc:
            handle.close()
            raise SourceError(f"{self.path}: cannot read ({exc.strerror})") from None
        for magic, what in _NOT_LOGS:
            if head.startswith(magic):
                handle.close()
                raise NotLogEventsError(f"{self.path}: {what}")
        self._raw, self._size, self._charged, self._gunzip = handle, size, 0, None
        if head.startswith(_GZIP_MAGIC):
            self._gunzip = _BoundedGunzip(handle, inflate_bound(size), entry_bound(size))
            inflated = io.BufferedReader(self._gunzip, self.budget.read_chunk)
            try:
                head = inflated.peek(len(_UTF16_BOMS[0]))
            except (OSError, EOFError, zlib.error):  # a gzip that breaks at once: read (and counted) as it breaks
                head = b""
            return io.TextIOWrapper(inflated, encoding=_encoding(head), errors="replace")
        return io.TextIOWrapper(handle, encoding=_encoding(head), errors="replace")

    def _spend(self, entries: int, inflated: int = 0) -> bool:
        """Whether a gzip file may yield `entries` more, whose payloads inflated to `inflated` bytes (see
        entry_bound, inflate_bound); always True for other files."""
        return self._gunzip is None or self._gunzip.spend(entries, inflated)

    def _detect(self) -> tuple[str, bool]:
        """(format, whether documents are one per line)."""
        try:
            with self._open() as text:
                first: str | _TooLarge = ""
                lines = _bounded_lines(text, self.line_cap)
                for line in lines:
                    first = line if isinstance(line, _TooLarge) else line.strip()
                    break
                after = next(lines, None) if isinstance(first, _TooLarge) else None
                most = values_left(self._gunzip)
        except (OSError, EOFError, zlib.error):
            return "cloudwatch-payload", False  # a file that breaks: counted as such, not an error
        if isinstance(first, _TooLarge):  # one huge line, or objects back to back (a Firehose S3 object)
            first_document = self._first_document() if self._first_character() == "{" else None
            found = self._announced(first_document)
            if found:
                return found, False
            if isinstance(after, str) and not after.lstrip().startswith(("{", "[")):
                return "json-lines", True  # a log whose first line is too long: the line after it tells
            value = _json_line(after, most) if isinstance(after, str) else None
            if value is not None and value is not TOO_LARGE:
                return self._announced(value) or "json-lines", True
            return "cloudwatch-payload", True  # a counted payload_too_large, then lines of what it cannot tell
        if first.startswith(_CLI_TEXT_ROWS):
            raise NotLogEventsError(
                f"{self.path}: `aws logs` output as text (`--output text`, or a profile's output = text): replay "
                "reads its JSON, `--output json`"
            )
        if not first.startswith(("{", "[")):
            return "json-lines", True  # text lines: each is a counted skip
        whole_line = _json_line(first, most)
        if whole_line is TOO_LARGE:
            return "cloudwatch-payload", True  # a line of too many values: a counted payload_too_large
        if whole_line is not None:
            return self._announced(whole_line) or "json-lines", True
        # a pretty-printed document, or documents concatenated without newlines (a Firehose S3 object)
        first_document = self._first_document()
        if isinstance(first_document, _Unread | _TooLarge):
            return "cloudwatch-payload", False  # past a reading bound before it is whole (or the gzip breaks): counted
        found = self._announced(first_document)
        if found is None and self._is_log_line(first_document):
            return "json-lines", False  # log lines pretty-printed (jq's output) or back to back: one per document
        if isinstance(first_document, str):  # the text from the first document on does not parse
            raise NotLogEventsError(f"{self.path}: not JSON from its first document on (cut off, or corrupt)")
        if found is None:
            keys = ", ".join(list(first_document)[:4]) if isinstance(first_document, dict) else "not an object"
            raise NotLogEventsError(
                f"{self.path}: not a Kinesis event, CloudWatch Logs payload, awslogs or Firehose event, "
                f"log-events output or log line (keys: {keys})"
            )
        return found, False

    def _announced(self, document: Any) -> str | None:
        """document_format, refusing what looks like a known format but cannot be replayed as it is."""
        records = document.get("Records") if isinstance(document, dict) else None
        first = records[0] if isinstance(records, list) and records else None
        if isinstance(first, dict) and "kinesis" not in first and "SequenceNumber" in first and "Data" in first:
            raise NotLogEventsError(
                f"{self.path}: `aws kinesis get-records` output, whose records name no stream or shard: replay "
                "reads Lambda's Kinesis events (a DLQ's batch cannot be redriven exactly once: docs/deploy.md, DLQ)"
            )
        return document_format(document)

    def _is_log_line(self, document: Any) -> bool:
        """Whether a document that announces no format reads as a log event."""
        if not isinstance(document, dict):
            return False
        return not isinstance(self.parser.parse(json.dumps(document), None, Position(0)), str)

    def _first_document(self) -> Any:
        """The first item of the file read as documents; of a long log-events document, its first chunk's events."""
        first = next(self._documents(lines_mode=False), None)
        return first.document if isinstance(first, _EventsChunk) else first

    def _first_character(self) -> str:
        with self._open() as text:
            while chunk := text.read(_LINE_CHUNK):
                if found := _NON_BLANK.search(chunk):
                    return chunk[found.start()]
        return ""

    @property
    def line_cap(self) -> int:
        return DEFAULT_LIMITS.max_payload_bytes

    def _documents(self, lines_mode: bool) -> Generator[Any, None, None]:
        """Documents: raw lines (lines mode), or parsed JSON concatenated or pretty-printed; TOO_LARGE past a
        cap; the text after the last parsable document, once; last, _Unread if a gzip file ended early."""
        with self._open() as text:
            gunzip = self._gunzip
            if lines_mode:
                for line in _bounded_lines(text, self.line_cap, self.budget.read_chunk):
                    if gunzip and gunzip.unread and isinstance(line, str) and not line.endswith("\n"):
                        break  # the line the gzip ended in is part of the rest, unread
                    yield line
            else:
                yield from _json_documents(text, cut_short=lambda: bool(gunzip and gunzip.unread),
                                           most_values=lambda: values_left(gunzip))
        if gunzip and gunzip.unread:
            yield _Unread(gunzip.unread)

    # --- batches --------------------------------------------------------------------------------------

    def batches(self) -> Iterator[ShardBatch]:
        """The file's batches, read from its start: each call is a fresh reader with the same positions (the
        format is not detected again). Finish or close one before starting the next."""
        self._sequence, self._order_time = 0, 0.0
        try:
            for batch in self._batches():
                if self._raw is not None:  # once closed, the file was read to its end or left unread: charge it all
                    position = self._size if self._raw.closed else self._raw.tell()
                    batch.bytes_read, self._charged = max(position - self._charged, 0), position
                yield batch
        finally:
            self._raw = self._gunzip = None  # a closed inflater still holds its state: thousands of files add up

    def _batches(self) -> Iterator[ShardBatch]:
        try:
            if self.format == "json-lines":
                with contextlib.closing(self._documents(self._lines_mode)) as lines:
                    yield from self._log_lines(lines if self._lines_mode else _as_lines(lines))
                return
            with contextlib.closing(self._documents(self._lines_mode)) as documents:
                for item in documents:
                    finished = yield from self._document_batches(item)
                    del item  # not held while the next document is parsed (two large ones would be twice the memory)
                    if finished:
                        return
        except (OSError, EOFError, zlib.error):
            yield self._skip(conventions.SKIP_TRUNCATED_GZIP)

    def _document_batches(self, item: Any) -> Generator[ShardBatch, None, bool]:
        """One document's batches (a line's, parsed here); whether the rest of the file is left unread."""
        if isinstance(item, _Unread):
            yield self._skip(item.kind)
            return False
        if isinstance(item, _EventsChunk):  # a long log-events document's, charged and cut as if read whole
            if not self._spend(item.entries):
                yield self._skip(conventions.SKIP_PAYLOAD_TOO_LARGE)  # this chunk and the rest, unread
                return True
            yield from self._log_events(item.events)
            return False
        document = _json_line(item, values_left(self._gunzip)) if isinstance(item, str) else item
        if not self._spend(entries_of(document)):
            yield self._skip(conventions.SKIP_PAYLOAD_TOO_LARGE)  # this document and the rest, unread
            return True
        if isinstance(document, _TooLarge):
            yield self._skip(conventions.SKIP_PAYLOAD_TOO_LARGE)
        elif document is None:  # a cut-off or corrupt line
            yield self._skip(conventions.SKIP_LINE_NOT_JSON)
        elif document_format(document) not in _ENCODED_PAYLOADS:  # every entry is in its lists
            yield from self._container(document)  # lazily: a long events list, a batch at a time
        else:
            decoded = list(self._container(document))
            entries, inflated = _nested_costs(decoded)
            if not self._spend(entries, inflated):
                yield self._skip(conventions.SKIP_PAYLOAD_TOO_LARGE)  # this document and the rest, unread
                return True
            yield from decoded
        return False

    def _skip(self, kind: str) -> ShardBatch:
        record = self._record()
        record.skips[kind] += 1
        return self._batch("unparsed", [record])

    def _container(self, document: Any) -> Iterator[ShardBatch]:
        kind = document_format(document)
        if kind is None:  # a document of another shape inside a container file: counted, not fatal
            yield self._skip(conventions.SKIP_PAYLOAD_SHAPE)
        elif kind == "kinesis":
            yield from _kinesis_batches(self.path, document["Records"], self.parser)
        elif kind == "cloudwatch-payload":
            record = self._record()
            decode_payload(json.dumps(document).encode(), record.sequence, 0, record, parser=self.parser)
            yield self._batch("payloads", [record])
        elif kind == "awslogs":
            record = self._record()
            decode_payload(_b64(document["awslogs"].get("data")), record.sequence, 0, record, parser=self.parser)
            yield self._batch("payloads", [record])
        elif kind == "firehose":
            yield self._batch("payloads", [self._firehose_record(r) for r in document["records"]])
        else:
            yield from self._log_events(document["events"])

    def _firehose_record(self, raw: Any) -> DecodedRecord:
        record = self._record()
        data = _b64(raw.get("data") if isinstance(raw, dict) else None)
        if data.startswith(_GZIP_MAGIC) or data.lstrip().startswith(b'{"messageType"'):
            decode_payload(data, record.sequence, 0, record, parser=self.parser)
        else:  # a Firehose record that is one log line (a direct PUT)
            text = data.decode("utf-8", errors="replace")
            decode_log_events([{"message": text, "timestamp": _arrival_ms(raw)}], record.sequence, 0, record,
                              self.log_group, parser=self.parser)
        return record

    def _log_events(self, events: list[Any]) -> Iterator[ShardBatch]:
        """filter-log-events / get-log-events events ({timestamp, message, ...}), cut into batches."""
        for offset in range(0, len(events), LINES_PER_BATCH):
            record = self._record()
            decode_log_events(events[offset : offset + LINES_PER_BATCH], record.sequence, 0, record,
                              self.log_group, parser=self.parser)
            yield self._batch("events", [record])

    def _log_lines(self, lines: Iterable[str | _TooLarge | _Unread]) -> Iterator[ShardBatch]:
        """Plain log lines: one record per line, positions = line numbers; the unread rest of a gzip, one more."""
        records: list[DecodedRecord] = []
        for line in lines:
            if not isinstance(line, _Unread) and not self._spend(1):
                line = _Unread(conventions.SKIP_PAYLOAD_TOO_LARGE)  # past the entry bound: this line and the rest
            record = self._record()
            if isinstance(line, _Unread):  # not a log event: the rest of the file
                record.skips[line.kind] += 1
            elif isinstance(line, _TooLarge):
                record.log_events_seen = 1
                record.skips[conventions.SKIP_MESSAGE_TOO_LARGE] += 1
            else:
                record.log_events_seen = 1
                message, time_ms = _untailed(line)
                decode_message(message, time_ms, Position(record.sequence), record, self.log_group, parser=self.parser)
            records.append(record)
            if isinstance(line, _Unread):
                break
            if len(records) >= self.budget.batch_lines:  # positions are line numbers, whatever the batch size
                yield self._batch("lines", records)
                records = []
        if records:
            yield self._batch("lines", records)

    def _record(self) -> DecodedRecord:
        self._sequence += 1
        return DecodedRecord(sequence=self._sequence, arrival=None)

    def _batch(self, shard: str, records: list[DecodedRecord]) -> ShardBatch:
        batch = ShardBatch(stream=self.stream, shard=shard, records=records, origin=str(self.path))
        # never earlier than the file's previous batch: one shard's batches must apply in file order
        self._order_time = max(self._order_time, _first_event_time(batch))
        batch.order_time = self._order_time
        return batch


def read_batches(path: Path, parser: LineParser = DEFAULT_PARSER, log_group: str | None = None) -> Iterator[ShardBatch]:
    """The batches of one file, lazily (detection raises SourceError at once)."""
    return FileSource(path, parser, log_group).batches()


def _as_lines(documents: Iterable[Any]) -> Iterator[str | _TooLarge | _Unread]:
    """The documents of a file of log lines pretty-printed or back to back, each as its line's text (the text
    after the last one that parses as it is: a counted skip)."""
    for document in documents:
        if isinstance(document, _EventsChunk):  # a long log-events document among the lines: a line, too long
            yield json.dumps(document.document)
        else:
            yield document if isinstance(document, str | _TooLarge | _Unread) else json.dumps(document)


def _untailed(line: str) -> tuple[str, float | None]:
    """A line of `aws logs tail` as its message and its time in epoch milliseconds (the fallback a CloudWatch
    event's timestamp is); any other line as it is, without a time."""
    if line[:1] == "{":
        return line, None
    match = _TAIL_LINE.match(line)
    if match is None:
        return line, None
    seconds = iso8601_epoch(match.group(1))
    return line[match.end() :], None if seconds is None else seconds * 1000


def _bounded_lines(text: IO[str], cap: int, chunk_size: int = _LINE_CHUNK) -> Iterator[str | _TooLarge]:
    """Its non-blank lines, each of at most `cap` characters; a longer one is consumed and yields TOO_LARGE.

    Read a chunk at a time and split in C, so a run of blank lines costs next to nothing (a readline each made a
    file of newlines, or a gzip of them, take a minute per 100 MB). A line is copied once, when it is whole.
    """
    head: list[str] = []  # the line the previous chunks ended in, so far
    head_size = 0
    oversized = False  # that line is already past the cap: the rest of it is consumed, not kept
    while chunk := text.read(chunk_size):
        if len(chunk) <= cap and chunk.isspace():  # blank lines (padding, or a bomb): only the first may count
            first, last = chunk.find("\n"), chunk.rfind("\n")
            ended, unfinished = ([] if first < 0 else [chunk[:first]]), chunk[last + 1 :]
        else:
            *ended, unfinished = chunk.split("\n")
        if ended:
            if oversized or head_size + len(ended[0]) > cap:
                yield TOO_LARGE
            else:
                line = "".join([*head, ended[0], "\n"])
                head.clear()
                if not line.isspace():
                    yield line
            for line in filter(None, ended[1:]):  # empty lines are dropped in C
                if len(line) > cap:
                    yield TOO_LARGE
                elif not line.isspace():
                    yield line + "\n"
            head, head_size, oversized = [], 0, False
        if unfinished:
            head.append(unfinished)
            head_size += len(unfinished)
        if head_size > cap:
            head, head_size, oversized = [], 0, True
    if oversized:
        yield TOO_LARGE
    elif head and not (line := "".join(head)).isspace():
        yield line


def _json_documents(
    text: IO[str], cut_short: Callable[[], bool], most_values: Callable[[], int] = lambda: MAX_DOCUMENT_VALUES
) -> Iterator[Any]:
    """Parsed JSON documents, concatenated or pretty-printed; TOO_LARGE past MAX_DOCUMENT_BYTES or past
    `most_values` values (counted before the parse); the text after the last one, once, unless the file was
    `cut_short` there (then that text belongs to the rest, unread). A long log-events document comes as
    _EventsChunks (_streamed_events)."""
    decoder = json.JSONDecoder()
    count = _DocumentCount()  # of the document at `at`
    source = _Text(text, want=_READ_CHUNK)
    at, stream = 0, True  # `stream`: the document at `at` has not been tried as a stream of events yet
    while True:
        buffer, eof = source.buffer, source.eof
        blank_to = _NON_BLANK.search(buffer, at)  # in C: a run of blanks costs next to nothing
        at = blank_to.start() if blank_to else len(buffer)
        if at >= len(buffer) and eof:
            return
        try:
            document, end = (_decode(decoder, buffer, at, count, most_values(), eof, stream) if at < len(buffer)
                             else (None, -1))
        except (ValueError, RecursionError):
            document, end = None, -1
            if eof:
                if not cut_short():
                    yield buffer[at:]  # the rest is not JSON: one counted skip
                return
        if document is _LONG:
            del buffer
            after = yield from _streamed_events(decoder, source, at, count, most_values(), cut_short)
            if after is None:  # its reading ended the file's
                return
            if after >= 0:
                at, count, stream = after, _DocumentCount(), True
            else:  # read whole, as before
                stream = False
            continue
        if document is TOO_LARGE:
            yield TOO_LARGE
            return
        if end >= 0:
            yield document
            document, at, count, stream = None, end, _DocumentCount(), True  # not held while the next is parsed
            continue
        if len(buffer) - at > MAX_DOCUMENT_BYTES:
            yield TOO_LARGE
            return
        if stream and buffer[at : at + 1] == "{" and len(buffer) - at <= _UNCOUNTED:
            # read just past _UNCOUNTED, which tells whether it is long: a stream of events then holds less text
            source.more(at, _UNCOUNTED + _LINE_CHUNK - (len(buffer) - at))
        else:
            source.more(at)
        at = 0  # `count` holds: its positions are from the document's start


@dataclass
class _Text:
    """A text read in growing pieces: `buffer` is what is held of it (what was before was dropped)."""

    source: IO[str]
    want: int
    buffer: str = ""
    eof: bool = False

    def more(self, drop: int, size: int = 0) -> None:
        """Read `size` more characters, or the next of the geometric sizes (re-parsing a growing buffer stays
        linear), dropping the buffer's first `drop`."""
        chunk = self.source.read(size or self.want)
        if not size:
            self.want = min(self.want * 2, MAX_DOCUMENT_BYTES)
        self.eof = chunk == ""
        self.buffer = self.buffer[drop:] + chunk


@dataclass
class _EventsChunk:
    """LINES_PER_BATCH events of a long filter-log-events / get-log-events document (the last chunk: the rest),
    parsed as its text is read (_streamed_events). `entries` is its cost against the entry bound: its events, and
    the document itself in its first chunk."""

    events: list[Any]
    entries: int
    searched: bool  # the document's searchedLogStreams came before these events

    @property
    def document(self) -> dict[str, Any]:
        """What the file's format is detected from (document_format)."""
        return {"events": self.events, **({"searchedLogStreams": []} if self.searched else {})}


# Top-level keys that make a document another format than log-events output (document_format)
_OTHER_FORMAT_KEYS = frozenset({"Records", "awslogs", "logEvents", "messageType", "records", "deliveryStreamArn",
                                "invocationId"})


class _Fallback(Exception):
    """The document does not read as a stream of events from here: `kind` says what it is instead."""

    def __init__(self, kind: str | None) -> None:
        super().__init__(kind)
        self.kind = kind  # a skip kind; None for the end of the text; "" for too large


class _EventsWalk:
    """The reading of one long object's text, a value at a time: what `_streamed_events` parses with.

    Every character is counted (_DocumentCount, from the document's start) before any value in it is parsed, so
    no parse builds more values than the document may hold; once `committed` (its first chunk is out), the text
    parsed and counted is dropped, so the buffer holds about one read ahead of the event being parsed."""

    def __init__(self, decoder: json.JSONDecoder, source: _Text, at: int, count: _DocumentCount, most: int) -> None:
        self.decoder, self.source, self.count, self.most = decoder, source, count, most
        self.start = at  # the document's start in the buffer (negative once text before it is dropped)
        self.committed = False
        self.counted()

    def counted(self) -> None:
        if self.count.values(self.source.buffer, self.start, self.most)[0] > self.most:
            raise _Fallback("")

    def more(self, at: int) -> int:
        """Read on: where `at` is once the buffer is read on (and, committed, its parsed text dropped)."""
        source = self.source
        if source.eof:
            raise _Fallback(None)
        if len(source.buffer) - (at if self.committed else self.start) > MAX_DOCUMENT_BYTES:
            raise _Fallback("")
        if self.committed:  # drop what is parsed, up to what is counted and kept (a line break), and read a little
            drop = max(min(at, self.start + self.count.kept), 0)
            source.more(drop, _LINE_CHUNK if drop else max(_READ_CHUNK, len(source.buffer)))  # else geometric
        else:
            drop = 0
            source.more(0)
        self.start -= drop
        self.counted()
        return at - drop

    def mark(self, at: int) -> tuple[str, int]:
        """The next non-blank character from `at`, and where it is."""
        while not (found := _NON_BLANK.search(self.source.buffer, at)):
            at = self.more(at)
        return found.group(), found.start()

    def after_item(self, at: int, close: str) -> tuple[str, int]:
        """After an item of a list or object: the next item's first mark, past its `,`, or `close`, and where
        it is. Anything else, or a `,` just before `close`, is not JSON."""
        mark, at = self.mark(at)
        if mark == ",":
            mark, at = self.mark(at + 1)
            if mark == close:
                raise _Fallback(conventions.SKIP_LINE_NOT_JSON)
        elif mark != close:
            raise _Fallback(conventions.SKIP_LINE_NOT_JSON)
        return mark, at

    def value(self, at: int) -> tuple[Any, int]:
        """The value from `at` (after blanks), and where it ends; parsed again once more text is read if it
        needs the rest (a number at the end of the text may go on)."""
        while True:
            _, at = self.mark(at)
            buffer = self.source.buffer
            try:
                value, end = self.decoder.raw_decode(buffer, at)
            except (ValueError, RecursionError):
                pass
            else:
                if self.source.eof or _NON_BLANK.search(buffer, end):
                    return value, end
                del value
            at = self.more(at)


def _streamed_events(
    decoder: json.JSONDecoder, source: _Text, at: int, count: _DocumentCount, most: int, cut_short: Callable[[], bool]
) -> Generator[Any, None, int | None]:
    """The `events` of the long object at `at` in `source`, parsed one at a time as its text is read, in chunks
    of LINES_PER_BATCH (_EventsChunk): a file holds one chunk and about one read of text, not the document (50
    per-log-stream exports of a 7-day history, open at once, held 970 MB parsed whole). Other members are parsed
    whole and dropped. The chunks cut the events where _log_events would, so their records and positions are those
    of the document read whole.

    Returns where the object ends; -1 if it is not log-events output, read so far (another format's key, events
    that are not a list, JSON that does not parse, past a bound), before its first chunk is out: it is then read
    whole, as before (nothing is dropped until then). After that, the rest of the file is left: its pending events,
    then TOO_LARGE past a bound, one line_not_json where it does not parse or ends (nothing if it was `cut_short`:
    that is the rest, unread), one payload_shape for another format's key or a second events list; it returns None.
    """
    events: list[Any] = []
    first, searched, listed = True, False, False
    walk: _EventsWalk | None = None
    try:
        walk = _EventsWalk(decoder, source, at, count, most)
        mark, at = walk.mark(at + 1)
        while mark != "}":
            if mark != '"':
                raise _Fallback(conventions.SKIP_LINE_NOT_JSON)
            key, at = walk.value(at)
            mark, at = walk.mark(at)
            if mark != ":":
                raise _Fallback(conventions.SKIP_LINE_NOT_JSON)
            if key in _OTHER_FORMAT_KEYS or (key == "events" and listed):
                raise _Fallback(conventions.SKIP_PAYLOAD_SHAPE)
            if key == "events":
                mark, at = walk.mark(at + 1)
                if mark != "[":
                    raise _Fallback(conventions.SKIP_PAYLOAD_SHAPE)
                listed = True
                mark, at = walk.mark(at + 1)
                while mark != "]":
                    if len(events) == LINES_PER_BATCH:  # and more follow
                        yield _EventsChunk(events, len(events) + first, searched)
                        events, first, walk.committed = [], False, True
                    event, at = walk.value(at)
                    events.append(event)
                    mark, at = walk.after_item(at, "]")
                at += 1
            else:
                _, at = walk.value(at + 1)  # a short value (a token, the log streams searched): counted already
                searched = searched or key == "searchedLogStreams"
            mark, at = walk.after_item(at, "}")
        if not listed:
            raise _Fallback(conventions.SKIP_PAYLOAD_SHAPE)
        yield _EventsChunk(events, len(events) + first, searched)
        return at + 1
    except _Fallback as stop:
        if walk is None or not walk.committed:
            return -1
        if events:
            yield _EventsChunk(events, len(events), searched)
        if stop.kind == "":
            yield TOO_LARGE
        elif stop.kind is not None or not cut_short():
            yield _Unread(stop.kind or conventions.SKIP_LINE_NOT_JSON)
        return None


def _encoding(head: bytes) -> str:
    """A file's text encoding, from its first bytes: UTF-16 after its byte order mark, else UTF-8 (without the
    one Windows tools may write first)."""
    return "utf-16" if head.startswith(_UTF16_BOMS) else "utf-8-sig"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error):
        return b""


def _arrival_ms(raw: Any) -> Any:
    return raw.get("approximateArrivalTimestamp") if isinstance(raw, dict) else None


def _kinesis_batches(path: Path, records: list[Any], parser: LineParser) -> Iterator[ShardBatch]:
    """One batch per (stream, shard), in the file's order, as Lambda would deliver them."""
    batches: dict[tuple[str, str], ShardBatch] = {}
    for raw in records:
        if not isinstance(raw, dict):
            continue
        record = KinesisStreamRecord(raw)
        key = (stream_of(record), shard_of(record))
        batch = batches.setdefault(key, ShardBatch(stream=key[0], shard=key[1], origin=str(path)))
        decoded = decode_record(raw, parser=parser)
        batch.records.append(decoded)
        if sequence_of(record) is not None and decoded.arrival is not None and not batch.order_time:
            batch.order_time = decoded.arrival
    yield from batches.values()


def _first_event_time(batch: ShardBatch) -> float:
    times = [event.time for record in batch.records for event in record.events]
    return min(times) if times else 0.0
