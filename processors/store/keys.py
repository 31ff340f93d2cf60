"""The store's codec: every key format, TTL and item encoding, in one place. Both adapters use it.

Nothing else in the project builds a partition key, a sort key or an expiry. docs/store.md shows the items.
A *series id* names one counter or digest series (`series_id`, defined in conventions so the spec can name its
series); only `series_revision` reads one back, so that a commit can record the revisions it writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from processors import conventions
from processors.store import tables
from processors.store.exceptions import CorruptItemError
from processors.timeutil import finite_seconds

if TYPE_CHECKING:
    from processors.decoding.types import Position
    from processors.stitching.model import TraceHead
    from processors.store.types import Commit

# --- series ids: named in conventions (the spec names its series without importing the store) ----------

series_id = conventions.series_id
series_revision = conventions.series_revision


def group_registry_series(series: str) -> str:
    """The counter series that lists a grouped SLI's admitted group values (one field per value, in the hour
    bucket of the event that admitted it). `_` starts the pipeline's own series; `!` never occurs in a series id."""
    return f"_groups!{series}"


GROUP_FIELD_PREFIX: Final = "="  # registry fields: `=` + the value, so no value meets a key or TTL attribute
GROUP_REGISTRY_SPAN: Final = (0, 4_102_444_800)  # [1970, 2100): a registry read takes every admission hour


def group_field(group: str) -> str:
    return GROUP_FIELD_PREFIX + group


def groups_of_rows(rows: Mapping[int, Mapping[str, int]]) -> set[str]:
    """The group values a registry's rows admitted."""
    prefix = len(GROUP_FIELD_PREFIX)
    return {name[prefix:] for fields in rows.values() for name, n in fields.items()
            if n > 0 and name.startswith(GROUP_FIELD_PREFIX)}


# --- partition keys and sort keys -------------------------------------------------------------------------

PK_COUNTER: Final = "CNT"  # CNT#{series}#{m|h}          SK = bucket start (ISO minute)
PK_DIGEST: Final = "DIG"  # DIG#{sketch series}#{m|h}   SK = bucket start
PK_CHECKPOINT: Final = "CKPT"  # CKPT                   SK = {stream}#{shard} (bounded_name)
PK_TRACE: Final = "TRACE"  # TRACE#{correlationId}      SK = HEAD
SK_TRACE_HEAD: Final = "HEAD"
PK_GAUGE: Final = "GAUGE"  # GAUGE                      SK = {name}
PK_ALERT_STATE: Final = "ALERTSTATE"  # ALERTSTATE       SK = {slo} (#{group} with a group)
PK_ALERT_LOG: Final = "ALERTLOG"  # ALERTLOG             SK = {at:012d}#{transition id}
PK_PARTIAL: Final = "PART"  # PART#{stream}#{shard} (bounded_name)  SK = chunk end position (padded)
PK_CURSOR: Final = "CURSOR"  # CURSOR                    SK = ROLLUP | SWEEP | ALERTSAVE
SK_ROLLUP: Final = "ROLLUP"
SK_SWEEP: Final = "SWEEP"
SK_ALERT_SAVE: Final = "ALERTSAVE"  # the alert saves' version, and a staged save while it is applied
PK_STAGED_PART: Final = "STAGEDPART"  # STAGEDPART#{save id}  SK = {index:04d}: a staged save's pieces after the first
PK_CLAIM: Final = "CLAIM"  # CLAIM#{slo}#{group}#{transition}#{minute}  SK = CLAIM
PK_SILENCE: Final = "SILENCE"  # SILENCE                 SK = {id}
PK_CORRECTION: Final = "CORRECTION"  # CORRECTION#{slo}  SK = {start}#{id}
PK_IMPORT: Final = "IMPORT"  # IMPORT#{log group}        SK = {log stream}
PK_REVISION: Final = "REV"  # REV#{sli}                 SK = {revision}; first_seen (N): its earliest minute
PK_BACKFILL: Final = "BACKFILL"  # BACKFILL#{sli}      SK = {revision}; doc: the plan of `slo backfill`

# Writers that are not a shard (the orphan sweep, test set-up) write their partials under this stream name.
DIRECT_STREAM: Final = "_direct"

BUCKET_KEY_FORMAT: Final = "%Y-%m-%dT%H:%MZ"  # lexicographic order is time order


def bucket_key(bucket_start: int) -> str:
    """A bucket's sort key: its start as an ISO minute."""
    return datetime.fromtimestamp(bucket_start, tz=UTC).strftime(BUCKET_KEY_FORMAT)


def bucket_from_key(key: str) -> int:
    """Raises ValueError for a key that is not a minute as bucket_key writes it."""
    return int(datetime.strptime(key, BUCKET_KEY_FORMAT).replace(tzinfo=UTC).timestamp())


def counter_pk(series: str, resolution: str) -> str:
    return f"{PK_COUNTER}#{series}#{resolution}"


def digest_pk(sketch: str, resolution: str) -> str:
    return f"{PK_DIGEST}#{sketch}#{resolution}"


def trace_pk(correlation_id: str) -> str:
    return f"{PK_TRACE}#{correlation_id}"


def correlation_id_of(trace_partition: str) -> str:
    """Raises ValueError for a key trace_pk never writes."""
    prefix, separator, correlation_id = trace_partition.partition("#")
    if prefix != PK_TRACE or not separator:
        raise ValueError("not a trace's partition key")
    return correlation_id


# A shard's names are any text: a replayed file's stream is `file:` and its path, a hand-made Kinesis event's its
# eventSourceARN. A key that would hold them past DynamoDB's bounds (PARTITION_KEY_BYTES, SORT_KEY_BYTES: the whole
# transaction was refused, so every event was a processing_error skip, or the replay failed) holds instead
# `~sha256:` and the hex SHA-256 of the UTF-8 text it would have held. Shorter names keep their text, so the
# items of every store written before are read as they are. The digest form holds no `#`, so no name's text
# (`{stream}#{shard}`) is ever one; the checkpoint keeps the names themselves (`stream`, `shard`), which
# listings and the rollup's watermark read back.
DIGEST_NAME_PREFIX: Final = "~sha256:"
CHECKPOINT_NAMES: Final = ("stream", "shard")  # a digest-keyed checkpoint's attributes (S): its stream and shard


def bounded_name(text: str, limit: int) -> str:
    """`text` when it is at most `limit` bytes of UTF-8, else `~sha256:{hex}` of those bytes (docs/store.md)."""
    if _within(text, limit):
        return text
    return DIGEST_NAME_PREFIX + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def checkpoint_sk(stream: str, shard: str) -> str:
    return bounded_name(f"{stream}#{shard}", SORT_KEY_BYTES)


def checkpoint_names_kept(stream: str, shard: str) -> bool:
    """Whether the checkpoint's key is a digest, so that its item keeps the names (CHECKPOINT_NAMES)."""
    return "#" not in checkpoint_sk(stream, shard)  # its text always holds one


def checkpoint_from_sk(sort_key: str) -> tuple[str, str]:
    """Raises ValueError for a key checkpoint_sk never writes as text (no #)."""
    stream, separator, shard = sort_key.rpartition("#")
    if not separator:
        raise ValueError("not a checkpoint's sort key")
    return stream, shard


def checkpoint_names(item: Mapping[str, Any]) -> tuple[str, str]:
    """A stored checkpoint's stream and shard: its sort key's text, or, under a digest, the names it keeps (which
    must be the digest's). Raises ValueError for a key or names checkpoint_sk never writes."""
    sort_key = item[tables.SORT_KEY]["S"]
    if "#" in sort_key or not sort_key.startswith(DIGEST_NAME_PREFIX):
        return checkpoint_from_sk(sort_key)
    names = [item.get(name) for name in CHECKPOINT_NAMES]
    stream, shard = (value.get("S") if isinstance(value, dict) else None for value in names)
    if not (isinstance(stream, str) and isinstance(shard, str) and checkpoint_sk(stream, shard) == sort_key):
        raise ValueError("a checkpoint's digest key without the names it is the digest of")
    return stream, shard


def alert_state_sk(slo: str, group: str = "") -> str:
    """An alert state's sort key, and its name in Store.load_alert_states: `slo`, or `slo#group` (quoted)."""
    return f"{slo}#{quote(group, safe='')}" if group else slo


ALERT_LOG_AT_DIGITS = 12


def alert_log_sk(at: int, transition_id: str) -> str:
    return f"{at:0{ALERT_LOG_AT_DIGITS}d}#{transition_id}"


def alert_log_recorded(recorded_ns: int, index: int) -> str:
    """The order a transition was recorded in (the save's write time, its place in the save): the log reads
    each minute's transitions in this order, as SQLite's does."""
    return f"{recorded_ns:020d}#{index:06d}"


def alert_log_since(since: int) -> str:
    return f"{since:0{ALERT_LOG_AT_DIGITS}d}"


def partial_pk(stream: str, shard: str) -> str:
    """Bounded so the pending index's sort key, which holds it, fits (PARTIAL_NAME_BYTES)."""
    return f"{PK_PARTIAL}#{bounded_name(f'{stream}#{shard}', PARTIAL_NAME_BYTES)}"


def partial_sk(position: Position) -> str:
    """Zero-padded so a shard's partials sort in position order (decoding takes no longer sequence number)."""
    return (f"{position.sequence:0{conventions.MAX_SEQUENCE_DIGITS}d}:"
            f"{position.sub_sequence:08d}:{position.event_index:08d}")


def claim_pk(slo: str, group: str, transition: str, minute: int) -> str:
    return f"{PK_CLAIM}#{slo}#{group}#{transition}#{minute}"


def staged_part_pk(save_id: str) -> str:
    return f"{PK_STAGED_PART}#{save_id}"


def staged_part_sk(index: int) -> str:
    return f"{index:04d}"


CLAIM_SK: Final = "CLAIM"
CLAIM_TTL: Final = 2 * conventions.DAY  # a claim only has to outlive the evaluations that could race for it


def claim_expires_at(minute: int) -> int:
    return minute + CLAIM_TTL


def correction_pk(slo: str) -> str:
    return f"{PK_CORRECTION}#{slo}"


def correction_sk(start: int, correction_id: str) -> str:
    """Sorted by the corrected window's start, then id (corrections are insert-only: a version each)."""
    return f"{start:012d}#{correction_id}"


SILENCE_PK: Final = PK_SILENCE  # one partition: silences are few and always listed whole


def silence_sk(silence_id: str) -> str:
    return silence_id


def import_pk(log_group: str) -> str:
    return f"{PK_IMPORT}#{log_group}"


def revision_pk(sli: str) -> str:
    """One partition per SLI: `slo status` reads all of an SLI's revisions with one Query."""
    return f"{PK_REVISION}#{sli}"


def revision_sk(revision: str) -> str:
    return revision


def backfill_pk(sli: str) -> str:
    """`slo backfill`'s plans of one SLI (documents, insert-only: the first run's range holds for every rerun)."""
    return f"{PK_BACKFILL}#{sli}"


def backfill_sk(revision: str) -> str:
    return revision


BACKFILL_STREAM_PREFIX: Final = "backfill:"
BACKFILL_SWEEP_STREAM: Final = "_sweep"  # a backfill's in-memory orphan sweep: checkpointed by minute


def backfill_stream(series: str, stream: str) -> str:
    """The checkpoint stream of one backfill source: apart from the live ingest's (and from another SLO's or
    revision's backfill), so a backfill applies each record once and the live checkpoints never move."""
    return f"{BACKFILL_STREAM_PREFIX}{series}:{stream}"


def is_backfill_stream(stream: str) -> bool:
    return stream.startswith(BACKFILL_STREAM_PREFIX)


# --- secondary indexes ------------------------------------------------------------------------------------


def workflow_gsi_pk(workflow_id: str) -> str:
    return f"WF#{workflow_id}"


def repository_gsi_pk(repository: str) -> str:
    return f"REPO#{repository}"


def first_seen_gsi_sk(first_seen_ms: int | None) -> str:
    return _iso_seconds((first_seen_ms or 0) / 1000)


FIND_TRACES_END_MS: Final = 4_102_444_799_999  # a trace search without an end: to the last ms before 2100


def first_seen_ms_of_gsi_sk(sort_key: str) -> int:
    """The second first_seen_gsi_sk kept, in ms: the search lists a head that does not decode by it. Raises
    ValueError for a key that is not such a second."""
    return int(datetime.strptime(sort_key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()) * 1000


def since_gsi_sk(since_ms: int) -> str:
    return _iso_seconds(since_ms / 1000)


def open_unit_gsi_pk(started_ms: int) -> str:
    """The open-unit index is bucketed by the hour the unit opened, so a sweep reads only hours that can be due."""
    return "OPEN#" + _iso_seconds(started_ms / 1000)[:13]


def open_hour_gsi_pk(hour_start: int) -> str:
    return "OPEN#" + _iso_seconds(hour_start)[:13]


def open_unit_gsi_sk(started_ms: int, correlation_id: str) -> str:
    return f"{started_ms:015d}#{correlation_id}"


def open_before_gsi_sk(before_ms: int) -> str:
    return f"{before_ms:015d}"


PENDING_GSI_PK: Final = "PENDING"  # the sparse pending-partials index has one partition: one Query reads it


def pending_gsi_sk(newest_event: float | None, written_ns: int, pk: str, sk: str) -> str:
    """Pending partials sort by their newest event, then by write time: the rollup folds a prefix."""
    newest_ms = int((newest_event or 0) * 1000)
    return f"{newest_ms:015d}#{written_ns:020d}#{pk}#{sk}"


# pending_gsi_sk's text around the partial's keys ({newest:015d}#{written:020d}#, #) and a shard's longest sort key
# (partial_sk: sequence, sub-sequence, event index) leave this much of a sort key's 1,024 bytes to `{stream}#{shard}`
# in the partition key (PART#...): 903 bytes, past which it is a digest.
_PENDING_KEY_TEXT: Final = 15 + 1 + 20 + 1 + 1
_PARTIAL_SK_BYTES: Final = conventions.MAX_SEQUENCE_DIGITS + 1 + 8 + 1 + 8
PARTIAL_NAME_BYTES: Final = 1024 - _PENDING_KEY_TEXT - _PARTIAL_SK_BYTES - len(f"{PK_PARTIAL}#")


def pending_newest_ms(gsi_sk: str) -> int:
    return int(gsi_sk.split("#", 1)[0])


def pending_written_ns(gsi_sk: str) -> int:
    return int(gsi_sk.split("#", 2)[1])


def direct_partial_sk(written_ns: int) -> str:
    """Partials of writers that are not a shard: unique by write time and a random suffix."""
    import secrets

    return f"{written_ns:020d}#{secrets.token_hex(4)}"


def newest_bucket(delta: PartialDelta) -> int:
    """The newest minute a partial touches (hour buckets only when it has no minutes, e.g. gauges: 0)."""
    minutes = [b for (_s, r, b) in (*delta.counters, *delta.digests) if r == conventions.RESOLUTION_MINUTE]
    minutes += [b for (_s, b) in delta.exemplars]
    if minutes:
        return max(minutes)
    hours = [b for (_s, _r, b) in (*delta.counters, *delta.digests)]
    return max(hours) if hours else 0


def pending_bound(watermark: float) -> str:
    """Sort keys below this bound hold partials whose newest event is before `watermark`."""
    return f"{int(watermark * 1000):015d}"


# --- TTLs (expiresAt, epoch seconds) ----------------------------------------------------------------------

HOUR_BUCKET_TTL: Final = 400 * conventions.DAY  # a year of hour rows for reports, plus slack
MINUTE_BUCKET_TTL: Final = conventions.DEFAULT_COUNTER_TTL_DAYS * conventions.DAY  # outlives the longest window
ROLLED_PARTIAL_TTL: Final = 2 * conventions.DAY  # a rolled partial is kept a while, to audit or re-check
# A staged save's parts are deleted once it is applied (the next evaluation, a minute later, at the latest); the TTL
# only removes those of a writer killed before it staged them, or before it deleted them.
STAGED_PART_TTL: Final = 30 * conventions.DAY


def bucket_expires_at(resolution: str, bucket: int) -> int:
    return bucket + (MINUTE_BUCKET_TTL if resolution == conventions.RESOLUTION_MINUTE else HOUR_BUCKET_TTL)


def trace_expires_at(first_seen_ms: int | None, trace_ttl_seconds: int) -> int:
    return int((first_seen_ms or 0) / 1000) + trace_ttl_seconds


def rolled_partial_expires_at(rolled_at: float) -> int:
    return int(rolled_at) + ROLLED_PARTIAL_TTL


# --- item encodings ---------------------------------------------------------------------------------------


# A head document below this many bytes of JSON is stored as that JSON; from it on, zlib'd (level 6). Most heads
# are one API request, ~300 bytes (5,330 of the 5,723 in bench/'s 5,000-record batch), where zlib saves ~90
# bytes, no DynamoDB write unit (1 per KB of item, keys included: 70-245 bytes of a head's item besides its
# document), and ~12 us of CPU each. Journey heads (0.6-2.6 KB) shrink 2-4x, which keeps them at one unit.
HEAD_RAW_BELOW: Final = 512


# A head document past this many bytes (stored, or once inflated) is damaged: the stitcher keeps a head's events
# under 64 KiB (stitching's MAX_HEAD_BYTES), so a larger one is an edit or a zlib bomb, and reading it must not
# take unbounded memory (a 400 KB DynamoDB item can inflate to ~400 MB).
HEAD_DOCUMENT_LIMIT: Final = 4 * 1024 * 1024


def encode_head(head: TraceHead) -> bytes:
    """A trace head document: its compact JSON, zlib'd when it is HEAD_RAW_BELOW bytes or more (docs/store.md)."""
    document = head.compact_json().encode()  # json.dumps(head.to_json(), separators=(",", ":"))
    return document if len(document) < HEAD_RAW_BELOW else zlib.compress(document, 6)


def decode_head(correlation_id: str, version: Any, blob: Any) -> TraceHead:
    """Either form: JSON starts with `{`, a zlib stream with 0x78 (every head written before raw ones, too).
    `version` and `blob` come as the adapter read them: an edit or another writer can leave anything there."""
    from processors.stitching.model import TraceHead

    try:
        number = _head_version(version)
        document = blob if blob[:1] == b"{" else _inflate_head(blob)
        if len(document) > HEAD_DOCUMENT_LIMIT:
            raise ValueError(f"a document over {HEAD_DOCUMENT_LIMIT} bytes")
        return TraceHead.from_json(correlation_id, number, json.loads(document))
    # ValueError: JSON's, the version's; OverflowError: a time of 1e999; RecursionError: JSON nested too deep
    except (zlib.error, ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # a UTF-8 error's own text quotes the stored byte it stopped at: the message names only where
        detail = f"not UTF-8 at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise CorruptItemError(f"the stored trace {correlation_id} does not decode: {detail}") from None


def _inflate_head(blob: bytes) -> bytes:
    """The zlib stream's document, inflated no further than one byte past HEAD_DOCUMENT_LIMIT."""
    inflater = zlib.decompressobj()
    document = inflater.decompress(blob, HEAD_DOCUMENT_LIMIT + 1)
    if len(document) <= HEAD_DOCUMENT_LIMIT and not inflater.eof:
        raise zlib.error("incomplete or truncated stream")
    return document


MAX_HEAD_VERSION: Final = 2**63 - 1  # SQLite's largest integer: a version there cannot be incremented


def _head_version(version: Any) -> int:
    """A head's version as stored: SQLite's int or DynamoDB's N string of a non-negative integer below
    MAX_HEAD_VERSION. Anything else (1.5, -1, True, text) is damaged: no conditional write could ever match it;
    and at the bound, SQLite's next write would store version + 1 as a REAL (1.5's case)."""
    if isinstance(version, str) and version.isascii() and version.isdigit() and len(version) <= 19:
        version = int(version)
    if type(version) is int and 0 <= version < MAX_HEAD_VERSION:  # type(): a bool is an int
        return version
    raise ValueError(f"a version that is not a non-negative integer below 2**63 - 1 ({type(version).__name__})")


def encode_json(document: Any) -> str:
    """Alert states, transitions and cursors: sorted keys, so equal documents are equal strings."""
    return json.dumps(document, sort_keys=True)


def judged_floors(
    floors: Mapping[str, int], judged: Mapping[str, int | None], evaluated_at: int
) -> dict[str, int] | None:
    """The alert saves' per-SLO floors (SLO -> newest evaluation time that judged it; SQLite's meta row, the
    DynamoDB control item's `floors`, decode_floors) after a save at `evaluated_at` that judged the SLOs of
    `judged` (their states written or, unchanged, not). None when the save is stale: an SLO it judged was judged
    later already, so every older evaluation is stale for it, written state or not; or, when `judged` maps an
    SLO to its floor as the evaluation read it before its states, another evaluation judged it since (an
    adjacent minute that overlapped: this one advanced states read before that one's save)."""
    if any(floors.get(slo, 0) > (evaluated_at if before is None else min(evaluated_at, before))
           for slo, before in judged.items()):
        return None
    return {**floors, **dict.fromkeys(judged, evaluated_at)}


def decode_floors(stored: str | None) -> dict[str, int]:
    """The alert saves' per-SLO floors as stored (JSON text, or None before the first save that judged one).
    Raises DamagedAttribute when `stored` is not a JSON object of integers."""
    floors: Any = {} if stored is None else _json_or_none(stored)
    if not isinstance(floors, dict) or not all(type(at) is int for at in floors.values()):
        raise DamagedAttribute("floors", stored)
    return floors


def _json_or_none(text: Any) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None


@dataclass(frozen=True)
class StagedAlertSave:
    """An alert save too large for one transaction, written whole before it is applied (DynamoDB cuts the encoded
    bytes into pieces of one item each).

    `states` maps a state's sort key to its JSON document; `log` holds (sort key, recorded order, JSON
    document) per new transition. Layout: zlib(JSON {"f": 1, "id", "at", "s": {sk: doc}, "l": [[sk, rec, doc]]}).
    """

    id: str
    evaluated_at: int
    states: dict[str, str]
    log: list[tuple[str, str, str]]


STAGED_ALERT_SAVE_FORMAT = 1


def encode_staged_alert_save(save: StagedAlertSave) -> bytes:
    document = {"f": STAGED_ALERT_SAVE_FORMAT, "id": save.id, "at": save.evaluated_at, "s": save.states,
                "l": [list(entry) for entry in save.log]}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


def decode_staged_alert_save(blob: bytes) -> StagedAlertSave:
    """Raises ValueError when the bytes are not a staged save of this format (damaged, or another program's)."""
    try:
        document = json.loads(zlib.decompress(blob))
        if document.get("f") != STAGED_ALERT_SAVE_FORMAT:
            raise ValueError(f"staged alert save: unknown format {document.get('f')!r}")
        return StagedAlertSave(document["id"], int(document["at"]), dict(document["s"]),
                               [(str(sk), str(rec), str(doc)) for sk, rec, doc in document["l"]])
    except (zlib.error, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        raise ValueError(f"staged alert save: does not decode ({type(exc).__name__})") from None


@dataclass
class PartialDelta:
    """What one checkpointed chunk adds to the rolled items: decoded from (or encoded into) a partial item."""

    counters: dict[tuple[str, str, int], dict[str, int]] = field(default_factory=dict)  # (series, res, bucket)
    exemplars: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (series, minute) -> bad ids
    digests: dict[tuple[str, str, int], bytes] = field(default_factory=dict)  # (sketch, res, bucket) -> t-digest
    gauges: dict[str, int] = field(default_factory=dict)
    arrival: float | None = None  # when the batch that wrote it arrived (`slo backtest` replays in that order)
    # what of the stored partial did not decode, one clause each ("its gauge 'x' holds ..."): left out of the
    # pieces above, so reads count what the rollup folds, and the rollup names it as lost (docs/store.md). The
    # first LOST_NAMED are named, the rest counted in lost_unnamed: a 10 KB edit can hold millions of them.
    lost: list[str] = field(default_factory=list)
    lost_unnamed: int = 0

    def is_empty(self) -> bool:
        return not (self.counters or self.exemplars or self.digests or self.gauges)

    def lose(self, clause: Callable[..., str], *args: Any) -> None:
        """Name one lost piece, `clause(*args)`, while fewer than LOST_NAMED are named; count it after."""
        if len(self.lost) < LOST_NAMED:
            self.lost.append(clause(*args))
        else:
            self.lost_unnamed += 1

    def loss(self) -> str:
        """What was lost, in one bounded line."""
        more = f"; and {self.lost_unnamed} more pieces" if self.lost_unnamed else ""
        return "; ".join(self.lost) + more

    def lose_digest(self, key: tuple[str, str, int], why: str) -> bool:
        """Leave out the digest of `key`, which does not decode (`why`); False when another caller did first."""
        if self.digests.pop(key, None) is None:  # pop: reads on several threads may find it at once
            return False
        self.lose(lambda: f"its digest of {key[0]} ({key[1]}) at {bucket_key(key[2])} does not decode ({why})")
        return True


LOST_NAMED: Final = 5  # a partial's lost pieces named in the rollup's line, at most (each clause is cut short too)


@dataclass(frozen=True)
class PendingPartial:
    """A partial not yet rolled up: its writer (a shard's partition), when it was written, and what it adds (with
    when its batch arrived, when the writer said)."""

    writer: str
    written_ns: int
    delta: PartialDelta


def delta_of(commit: Commit) -> PartialDelta:
    return PartialDelta(
        counters={tuple(key): dict(fields) for key, fields in commit.counters.items()},  # type: ignore[misc]
        exemplars={key: list(ids) for key, ids in commit.exemplars.items()},
        digests={tuple(key): digest.to_bytes() for key, digest in commit.digests.items()},  # type: ignore[misc]
        gauges=dict(commit.gauges),
        arrival=commit.checkpoint.arrival if commit.checkpoint is not None else None,
    )


PARTIAL_FORMAT: Final = 1  # bump when the layout below or the t-digest format changes; unknown formats are refused


class PartialFormatError(ValueError):
    """A partial of another format: a newer slo's, which a newer rollup folds. Refused, never taken for damage,
    so a layout change must keep the zlib JSON envelope and its integer `f`."""


def encode_partial(delta: PartialDelta) -> bytes:
    """Layout: zlib(JSON {"f": format, "c": [[series, res, bucket, {field: n}]], "x": [[series, minute, [id]]],
    "d": [[sketch, res, bucket, base64 t-digest]], "g": {name: n}, "a": arrival (optional)}), lists sorted so equal
    deltas encode equally."""
    document = {
        "f": PARTIAL_FORMAT,
        "c": [[s, r, b, fields] for (s, r, b), fields in sorted(delta.counters.items())],
        "x": [[s, b, ids] for (s, b), ids in sorted(delta.exemplars.items())],
        "d": [[s, r, b, base64.b64encode(blob).decode()] for (s, r, b), blob in sorted(delta.digests.items())],
        "g": dict(sorted(delta.gauges.items())),
    }
    if delta.arrival is not None:
        document["a"] = delta.arrival
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode(), 6)


# A partial's document past this many bytes once inflated is damaged: a commit's at most 100 items fit a 400 KB
# item, whose JSON inflates 1.5x (digests) to 13x (a group registry's names), so a larger one is an edit or a zlib
# bomb. Every read and the rollup inflate every pending partial: 8 MiB of JSON `{},` still takes ~210 MiB to
# parse (of a 512 MB evaluator; ~485 MiB at 16 MiB), and a 400 KB item could inflate to ~400 MB.
PARTIAL_DOCUMENT_LIMIT: Final = 8 * 1024 * 1024


def decode_partial(blob: Any) -> PartialDelta:
    """A stored partial, piece by piece: a counter row, an exemplar list, a digest or a gauge that is not what
    encode_partial writes is left out and named in `lost` (a digest's t-digest bytes are checked only when a read
    or the rollup merges them: `lose_digest`), and a blob that does not decode at all is a delta of nothing but
    its `lost`. Raises PartialFormatError for a partial of another format."""
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(blob, PARTIAL_DOCUMENT_LIMIT + 1)
        if len(text) > PARTIAL_DOCUMENT_LIMIT:
            return PartialDelta(lost=[f"it inflates past {PARTIAL_DOCUMENT_LIMIT} bytes"])
        if not inflater.eof:
            raise zlib.error("incomplete or truncated stream")
        document = json.loads(text)
    except (zlib.error, ValueError, TypeError, RecursionError) as exc:
        # a UTF-8 error's own text quotes the byte it stopped at: name only where
        detail = f"not UTF-8 at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else str(exc)
        return PartialDelta(lost=[f"it does not decode ({type(exc).__name__}: {detail})"])
    if not isinstance(document, dict):
        return PartialDelta(lost=[f"it is a JSON {type(document).__name__}, not an object"])
    form = document.get("f")
    if type(form) is int and form != PARTIAL_FORMAT:
        raise PartialFormatError(f"partial format {form}: this slo reads format {PARTIAL_FORMAT}")
    if form != PARTIAL_FORMAT:
        return PartialDelta(lost=[f"its format is {_shown(form)}, not an integer"])
    # when the partial's batch arrived: `slo backtest` orders by it, so one that is not a number is none, not lost
    delta = PartialDelta(arrival=finite_seconds(document.get("a")))
    # the checks are inline, not helpers: every read decodes every pending partial (ingest's too)
    # (a lost piece's clause is formatted only for the first LOST_NAMED)
    for n, entry in enumerate(_pieces(document, "c", list, delta)):
        if (type(entry) is list and len(entry) == 4 and _is_key(entry) and type(fields := entry[3]) is dict
                and _INTEGERS.issuperset(map(type, fields.values()))  # JSON's keys are text
                and _UNCOUNTED.isdisjoint(fields)):
            delta.counters[(entry[0], entry[1], entry[2])] = fields
        else:
            delta.lose(_row_lost, "counter", n, entry)
    for n, entry in enumerate(_pieces(document, "x", list, delta)):
        if (type(entry) is list and len(entry) == 3 and type(entry[0]) is str and _is_bucket(entry[1])
                and _fits_partition(entry[0], conventions.RESOLUTION_MINUTE)
                and type(ids := entry[2]) is list and len(ids) <= conventions.EXEMPLARS_PER_BUCKET_PER_COMMIT
                and _TEXTS.issuperset(map(type, ids)) and all(_fits(cid, PARTITION_KEY_BYTES) for cid in ids)):
            delta.exemplars[(entry[0], entry[1])] = ids
        else:
            delta.lose(_row_lost, "exemplar", n, entry)
    for n, entry in enumerate(_pieces(document, "d", list, delta)):
        try:
            if not (type(entry) is list and len(entry) == 4 and _is_key(entry) and type(entry[3]) is str):
                raise ValueError("not a digest row")
            delta.digests[(entry[0], entry[1], entry[2])] = base64.b64decode(entry[3], validate=True)
        except ValueError:  # binascii.Error is one
            delta.lose(_row_lost, "digest", n, entry[:3] if type(entry) is list else entry)
    for name, value in _pieces(document, "g", dict, delta):
        if type(value) is int and _fits(name, SORT_KEY_BYTES):  # the gauge item's sort key
            delta.gauges[name] = value
        else:
            delta.lose(_gauge_lost, name, value)
    return delta


def _row_lost(kind: str, n: int, entry: Any) -> str:
    return f"its {kind} row {n} {_shown(entry)} does not decode"


def _gauge_lost(name: str, value: Any) -> str:
    return f"its gauge {_shown(name)} holds {_shown(value)}"


def _pieces(document: dict[str, Any], name: str, kind: type, delta: PartialDelta) -> Any:
    """One kind of a partial's pieces: its list (its mapping's items), or nothing, its loss named in `delta`."""
    pieces = document.get(name)
    if type(pieces) is kind:
        return pieces.items() if isinstance(pieces, dict) else pieces
    delta.lose(lambda: f"its {_KINDS[name]} are {_shown(pieces)}, not a JSON {'object' if kind is dict else 'array'}")
    return ()


_KINDS: Final = {"c": "counters", "x": "exemplars", "d": "digests", "g": "gauges"}
_INTEGERS: Final = frozenset({int})  # by type(): a bool is not one
_TEXTS: Final = frozenset({str})
# counter fields the fold cannot ADD to a counter item (its key, TTL, exemplars, an index's key, a name DynamoDB
# refuses): the store never writes one, and the rollup's transaction was refused for good, every minute
_UNCOUNTED: Final = frozenset({"", tables.PARTITION_KEY, tables.SORT_KEY, tables.TTL_ATTRIBUTE, "x",
                               *(f"{index}{key}" for index in tables.INDEXES for key in ("PK", "SK"))})
LAST_BUCKET: Final = 253_402_300_740  # 9999-12-31T23:59Z: bucket_key's last minute


def _is_bucket(value: Any) -> bool:
    """A bucket as encode_partial writes one: an integer (int() would read 1.5 or true as 1) that bucket_key can
    name (the rollup writes it as a sort key)."""
    return type(value) is int and 0 <= value <= LAST_BUCKET


def _is_key(entry: list[Any]) -> bool:
    """A counter or digest row's (series, resolution, bucket), their item's key one DynamoDB takes."""
    return (type(entry[0]) is str and type(entry[1]) is str and _is_bucket(entry[2])
            and _fits_partition(entry[0], entry[1]))


# DynamoDB's bounds on a key (UTF-8 bytes): a partial's piece whose rolled item's key passes them (an edit; the
# store's series ids are far shorter) had the rollup's whole transaction refused, every minute. An exemplar id is
# a trace's key too; a commit keeps at most EXEMPLARS_PER_BUCKET_PER_COMMIT of a minute (more, an edit, made the
# rolled item pass 400 KB, refused the same way)
PARTITION_KEY_BYTES: Final = 2048 - 4  # the rolled item's partition key is CNT#... or DIG#...
SORT_KEY_BYTES: Final = 1024


def _within(text: str, limit: int) -> bool:
    """At most `limit` bytes in UTF-8 (4 bytes a character at most: most texts need no encoding)."""
    return 4 * len(text) <= limit or len(text.encode("utf-8", "surrogatepass")) <= limit


def _fits(text: str, limit: int) -> bool:
    """Non-empty and at most `limit` bytes in UTF-8."""
    return len(text) > 0 and _within(text, limit)


def _fits_partition(series: str, resolution: str) -> bool:
    """A rolled item's partition key, {CNT|DIG}#series#resolution, DynamoDB takes."""
    return (4 * (len(series) + 1 + len(resolution)) <= PARTITION_KEY_BYTES
            or _fits(f"{series}#{resolution}", PARTITION_KEY_BYTES))


def _shown(value: Any) -> str:
    """A stored value in a damaged-store line, cut short: what it is, not all of it."""
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class DamagedAttribute(ValueError):
    """An item's attribute of a type or value the store never writes there: the adapter names the item."""

    def __init__(self, name: str, value: Any):
        super().__init__(name)
        self.name, self.value = name, value


def integer_attribute(item: Mapping[str, Any], name: str) -> int:
    """An attribute the store writes as an integer N (a gauge, a revision's first minute, a state's time).
    Raises DamagedAttribute when it is missing, of another type, or a decimal (DynamoDB numbers may be 1.5)."""
    try:
        return int(item[name]["N"])
    except (KeyError, TypeError, ValueError):
        raise DamagedAttribute(name, item.get(name)) from None


def number_attribute(item: Mapping[str, Any], name: str) -> float:
    """An attribute the store writes as a number N that may have a fraction (a checkpoint's newest event time).
    Raises DamagedAttribute when it is missing or of another type."""
    try:
        return float(item[name]["N"])
    except (KeyError, TypeError, ValueError):
        raise DamagedAttribute(name, item.get(name)) from None


def stored_position(text: Any) -> Position:
    """A checkpoint's position as stored: Position.encode()'s text and nothing else. DynamoDB's commit compares
    that text, so `05:0:2`, read as 5:0:2, would never match again. Raises ValueError otherwise."""
    from processors.decoding.types import Position

    position = Position.decode(text) if isinstance(text, str) else None
    if position is None or position.encode() != text:
        raise ValueError("not a position as the store writes one")
    return position


def position_attribute(item: Mapping[str, Any], name: str) -> Position:
    """A checkpoint's position, an S of stored_position's text. Raises DamagedAttribute otherwise."""
    try:
        return stored_position(item[name]["S"])
    except (KeyError, TypeError, ValueError):
        raise DamagedAttribute(name, item.get(name)) from None


def counter_fields(item: Mapping[str, Any], skip: frozenset[str]) -> dict[str, int]:
    """A counter item's fields: every attribute but those in `skip` (keys, TTL, exemplars) is an integer N.
    Raises DamagedAttribute naming the first that is not; the check costs nothing until one fails."""
    try:
        return {name: int(value["N"]) for name, value in item.items() if name not in skip}
    except (KeyError, TypeError, ValueError):
        for name in item:
            if name not in skip:
                integer_attribute(item, name)
        raise


def _iso_seconds(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
