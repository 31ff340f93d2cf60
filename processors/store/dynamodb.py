"""The DynamoDB adapter: one table (tables.py), one TransactWriteItems per commit (≤ 100 items).

Every conditional write names its condition; a failed condition becomes CommitConflictError, and
throttling or a transaction conflict becomes TransientStoreError, so the handler reports the batch for retry.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from processors import conventions
from processors.counting import Rows
from processors.store import keys, tables
from processors.store.base import DigestRows, Store, decoded_digest, lose_undecodable_digests, transition_time
from processors.store.exceptions import (
    CommitConflictError,
    CorruptItemError,
    StoreError,
    StoreUnavailableError,
    ThrottledError,
    TransactionConflictError,
    TransientStoreError,
)
from processors.store.types import Checkpoint, Commit, DigestKey, NotificationClaim, RollupReport
from processors.timeutil import floor_to

PK, SK = tables.PARTITION_KEY, tables.SORT_KEY
_T = TypeVar("_T")
TRANSACTION_LIMIT = 100
BATCH_GET_LIMIT = 100
ALERT_SAVE_ATTEMPTS = 5  # a save retried after other saves landed between its read and its write
STAGED_PART_LIMIT = 350 * 1024  # one piece of a staged save per item, under DynamoDB's 400 KB with its key and version

key_not_exists = "attribute_not_exists(#pk)"
version_matches = "#v = :expected"
position_matches = "#pos = :expected"
state_not_newer = "attribute_not_exists(#pk) OR #at <= :at"
still_pending = "attribute_exists(#gpk)"
lease_free = "attribute_not_exists(#pk) OR #until < :now OR #owner = :me"
claim_available = "attribute_not_exists(#pk) OR (#published = :no AND (#owner = :owner OR #lease < :now))"
claim_owned = "#owner = :owner AND #published = :no"
first_seen_later = "attribute_not_exists(#first) OR #first > :first"
no_staged_save = "attribute_not_exists(#staged)"
staged_save_is = "#sid = :sid"
version_unset = "attribute_not_exists(#v)"

THROTTLE_CODES = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
CONFLICT_CODES = {"TransactionInProgressException", "TransactionConflictException"}
TRANSIENT_CODES = {"InternalServerError", "ServiceUnavailable"}
CONFLICT_REASONS = {"ConditionalCheckFailed"}
PERMANENT_REASONS = {"ValidationError"}  # e.g. an item over 400 KB
COUNTER_BOOKKEEPING = frozenset({PK, SK, tables.TTL_ATTRIBUTE, "x"})  # a counter item's attributes that are not counts


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def _key(pk: str, sk: str) -> dict[str, dict[str, str]]:
    return {PK: _s(pk), SK: _s(sk)}


def _raise_mapped(exc: ClientError, what: str) -> None:
    code = exc.response.get("Error", {}).get("Code", "")
    if code == "TransactionCanceledException":
        reasons = [str(r.get("Code")) for r in exc.response.get("CancellationReasons", []) if r.get("Code") != "None"]
        if any(reason in CONFLICT_REASONS for reason in reasons):
            raise CommitConflictError(f"{what}: a condition failed ({', '.join(reasons)})") from exc
        if any(reason in PERMANENT_REASONS for reason in reasons):  # retrying the same items fails again
            raise StoreError(f"{what}: transaction refused ({', '.join(reasons)})") from exc
        if "TransactionConflict" in reasons:
            raise TransactionConflictError(f"{what}: transaction conflict ({', '.join(reasons)})") from exc
        if any(reason in THROTTLE_CODES for reason in reasons):
            raise ThrottledError(f"{what}: throttled ({', '.join(reasons)})") from exc
        raise TransientStoreError(f"{what}: transaction cancelled ({', '.join(reasons) or code})") from exc
    if code in THROTTLE_CODES:
        raise ThrottledError(f"{what}: {code}") from exc
    if code in CONFLICT_CODES:
        raise TransactionConflictError(f"{what}: {code}") from exc
    if code in TRANSIENT_CODES:
        raise TransientStoreError(f"{what}: {code}") from exc
    if code == "ResourceNotFoundException":
        raise StoreUnavailableError(f"{what}: table not found ({exc})") from exc
    raise StoreError(f"{what}: {code}: {exc}") from exc


class _Staged(NamedTuple):
    """A staged alert save as read, and the number of items it is stored in (the control item and its parts)."""

    save: keys.StagedAlertSave
    parts: int


class _Pending(NamedTuple):
    pk: str
    sk: str
    index_key: str  # its sort key in the pending index: newest bucket, write time
    delta: keys.PartialDelta


def _targets(delta: keys.PartialDelta) -> set[tuple[str, ...]]:
    """The rolled items folding `delta` writes (one per counter bucket, exemplar minute, gauge, digest)."""
    found: set[tuple[str, ...]] = {("c", s, r, str(b)) for s, r, b in delta.counters}
    found |= {("c", s, conventions.RESOLUTION_MINUTE, str(b)) for s, b in delta.exemplars}
    found |= {("g", name) for name in delta.gauges}
    found |= {("d", s, r, str(b)) for s, r, b in delta.digests}
    return found


# what a rollup found damaged: a stored digest by its key, a rolled counter or gauge by its item's (pk, sk), with the
# error's line (a partial's own pieces that do not decode are not here: they are lost, PartialDelta.lost)
_Damaged = dict[DigestKey | tuple[str, str], str]
_INT64_MAX = (1 << 63) - 1  # the most a digest's weights may total


def _added_to(delta: keys.PartialDelta) -> list[tuple[str, str]]:
    """The rolled counter and gauge items folding `delta` adds to, as (pk, sk)."""
    found = [(keys.counter_pk(s, r), keys.bucket_key(b)) for s, r, b in delta.counters]
    found += [(keys.counter_pk(s, conventions.RESOLUTION_MINUTE), keys.bucket_key(b)) for s, b in delta.exemplars]
    return found + [(keys.PK_GAUGE, name) for name in delta.gauges]


def _shown(value: Any) -> str:
    """An attribute as a damaged-store line shows it: at most 40 characters of it."""
    shown = "nothing" if value is None else repr(value)
    return shown if len(shown) <= 40 else f"{shown[:40]}…"


def _cut(name: str) -> str:
    """A stream or shard name in a damaged-store line: at most 100 characters of it."""
    return name if len(name) <= 100 else f"{name[:100]}…"


def _stored_floors(control: dict[str, Any]) -> Any:
    """The alert saves' floors as the control item holds them: JSON text (an S), or None before the first."""
    return control["floors"].get("S", control["floors"]) if "floors" in control else None


def _without(damaged: _Damaged, group: list[_Pending], report: RollupReport) -> list[_Pending]:
    """`group` without the partials a damaged item touches; each damage is named once in `report.damaged`."""
    if not damaged:
        return group
    kept = []
    for partial in group:
        touched = [*(DigestKey._make(key) for key in partial.delta.digests), *_added_to(partial.delta)]
        why = [damaged[key] for key in touched if key in damaged]
        report.damaged.extend(w for w in why if w not in report.damaged)
        if not why:
            kept.append(partial)
    return kept


def _find_undecodable(
    group: list[_Pending], digests: dict[DigestKey, tuple[bytes, int]], damaged: _Damaged
) -> int:
    """Name in `damaged` each stored digest `group` merges into holding bytes that do not decode, and leave out
    of its partials their own digests that do not decode (lost: the partial folds without them). How many such
    digests of the partials."""
    from processors.sketch import TDigest

    for stored in {DigestKey._make(key) for partial in group for key in partial.delta.digests}:
        if stored in digests:
            try:
                decoded_digest(TDigest.from_bytes, digests[stored][0], f"the digest {stored}")
            except CorruptItemError as exc:
                damaged[stored] = str(exc)
    lost = lose_undecodable_digests(partial.delta for partial in group)
    return lost + _lose_overflowing(group, digests, damaged)


def _lose_overflowing(
    group: list[_Pending], digests: dict[DigestKey, tuple[bytes, int]], damaged: _Damaged
) -> int:
    """Where the digests of one key all decode but their weights together pass int64 (merge refuses them), the
    heaviest was edited (no store counts 2**63 samples): a stored one is named in `damaged`, a partial's own is
    lost, as one that does not decode is. How many digests of the partials."""
    from processors.sketch import TDigest

    weights: dict[DigestKey, list[tuple[int, _Pending | None]]] = {}
    for key in {DigestKey._make(key) for partial in group for key in partial.delta.digests}:
        if key in digests and key not in damaged:
            weights.setdefault(key, []).append((TDigest.from_bytes(digests[key][0]).count, None))
    for partial in group:
        for piece, blob in partial.delta.digests.items():  # each decodes: lose_undecodable_digests left out the rest
            weights.setdefault(DigestKey._make(piece), []).append((TDigest.from_bytes(blob).count, partial))
    lost = 0
    why = "corrupt t-digest: the total weight overflows int64 merged with the other digests of its key"
    for key, parts in weights.items():
        if sum(count for count, _ in parts) > _INT64_MAX:
            _, heaviest = max(parts, key=lambda part: part[0])
            if heaviest is None:
                damaged[key] = f"a damaged store: the digest {key} does not decode ({why})"
            else:
                lost += heaviest.delta.lose_digest(key, why)
    return lost


class DynamoDBStore(Store):
    max_items_per_commit: int | None = TRANSACTION_LIMIT
    merges_digests_on_commit = False  # ingest writes digest deltas into its partial; the rollup merges them
    rollup_lateness = 2 * conventions.MINUTE  # the watermark trails the slowest active shard by this much
    idle_shard_after = 15 * conventions.MINUTE
    lease_seconds = 60
    late_open_allowance = conventions.DAY  # the sweep re-reads this far back whatever its cursor says
    read_concurrency = 8  # bucket Queries a grouped SLO's evaluation makes at once (under botocore's 10 connections)
    write_concurrency = 8  # a staged alert save's PutItems in flight at once (the same bound)

    def __init__(self, client: Any, table_name: str, *, trace_ttl_days: int = conventions.DEFAULT_TRACE_TTL_DAYS):
        super().__init__()
        self.client = client
        self.table = table_name
        self.trace_ttl_days = trace_ttl_days
        self.writer_id = uuid.uuid4().hex[:12]  # names this process's direct partials and rollup lease
        self._pending_cache: list[_Pending] | None = None
        self._stats_lock = threading.Lock()  # Queries and a staged save's puts may run in several threads

    # --- low-level helpers ----------------------------------------------------------------------------

    def _damaged(self, what: str, value: Any) -> CorruptItemError:
        """An item holding what DynamoDB lets it hold but the store never writes (a console edit, another program
        writing the table): one error naming it, as SQLite's rows are, not a KeyError from whatever reads it."""
        return CorruptItemError(f"{self.table}: a damaged store: {what} holds {_shown(value)}")

    def _integer(self, item: dict[str, Any], name: str, what: str) -> int:
        return self._attribute(keys.integer_attribute, item, name, what)

    def _attribute(self, decode: Callable[[dict[str, Any], str], _T], item: dict[str, Any], name: str,
                   what: str) -> _T:
        """`decode(item, name)` (a keys.*_attribute), or the damaged-store error naming `what`."""
        try:
            return decode(item, name)
        except keys.DamagedAttribute as exc:
            raise self._damaged(what, exc.value) from None

    def _parsed_key(self, parse: Callable[[str], _T], key: str, what: str) -> _T:
        """`parse(key)` (a keys.* reader of a stored key: a console edit can put an item under any key), or the
        damaged-store error naming `what` and the key."""
        try:
            return parse(key)
        except ValueError:
            raise self._damaged(what, key) from None

    def _bucket_of(self, item: dict[str, Any]) -> int:
        return self._parsed_key(keys.bucket_from_key, item[SK]["S"], f"the sort key of a bucket of {item[PK]['S']}")

    def _trace_id_of(self, item: dict[str, Any]) -> str:
        return self._parsed_key(keys.correlation_id_of, item[PK]["S"], "the partition key of a trace")

    def _digest_blob(self, item: dict[str, Any]) -> bytes:
        blob = item.get("d", {}).get("B")
        if blob is None:
            raise self._damaged(f"the digest {item[PK]['S']} at {item[SK]['S']}", item.get("d"))
        return bytes(blob)

    def _state_document(self, sk: str, doc: Any) -> dict[str, Any]:
        """An alert state's document: the JSON object the evaluator wrote, or the item is damaged."""
        try:
            state = json.loads(doc)
        except (TypeError, ValueError, RecursionError):
            raise self._damaged(f"the alert state of {sk}", doc) from None
        if not isinstance(state, dict):
            raise self._damaged(f"the alert state of {sk}", doc)
        return state

    def _query(self, what: str, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            with self._stats_lock:
                self.stats.read_requests += 1
            try:
                page = self.client.query(TableName=self.table, **kwargs)
            except ClientError as exc:
                _raise_mapped(exc, what)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(self, keys: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for offset in range(0, len(keys), BATCH_GET_LIMIT):
            pending: dict[str, Any] = {self.table: {"Keys": keys[offset : offset + BATCH_GET_LIMIT]}}
            attempt = 0
            while pending:
                self.stats.read_requests += 1
                try:
                    page = self.client.batch_get_item(RequestItems=pending)
                except ClientError as exc:
                    _raise_mapped(exc, what)
                items.extend(page.get("Responses", {}).get(self.table, []))
                pending = page.get("UnprocessedKeys") or {}
                if pending:
                    attempt += 1
                    if attempt > 8:
                        raise TransientStoreError(f"{what}: keys still unprocessed after {attempt} attempts")
                    time.sleep(min(0.05 * 2**attempt, 1.0))
        return items

    def _range(self, pk: str, start: int, end: int) -> list[dict[str, Any]]:
        """Buckets with start <= bucket < end. Bucket keys are minutes, so the last one is end's minute minus one
        (not end - step: an hour read ending mid-hour must still see the current hour)."""
        last = floor_to(end - 1, conventions.MINUTE)
        if last < start:
            return []
        return self._query(
            f"query {pk}",
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": PK, "#sk": SK},
            ExpressionAttributeValues={
                ":pk": _s(pk),
                ":low": _s(keys.bucket_key(start)),
                ":high": _s(keys.bucket_key(last)),
            },
        )

    # --- ingest ---------------------------------------------------------------------------------------

    def _checkpoint_from(self, item: dict[str, Any]) -> Checkpoint:
        try:
            stream, shard = keys.checkpoint_names(item)
        except ValueError:
            raise self._damaged("the sort key of a checkpoint", item[SK]["S"]) from None
        what = f"the checkpoint of {_cut(stream)}/{_cut(shard)}"  # a name can be thousands of characters
        position = self._attribute(keys.position_attribute, item, "pos", f"the position of {what}")
        newest = (self._attribute(keys.number_attribute, item, "newest", f"the newest event time of {what}")
                  if "newest" in item else None)
        return Checkpoint(stream, shard, position, newest)

    def _get_checkpoint(self, stream: str, shard: str) -> Checkpoint | None:
        self.stats.read_requests += 1
        try:
            key = _key(keys.PK_CHECKPOINT, keys.checkpoint_sk(stream, shard))
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            _raise_mapped(exc, "read checkpoint")
        return self._checkpoint_from(item) if item else None

    def _list_checkpoints(self) -> list[Checkpoint]:
        return [self._checkpoint_from(item) for item in self._partition("list checkpoints", keys.PK_CHECKPOINT)]

    def _partition(self, what: str, pk: str) -> list[dict[str, Any]]:
        """Every item of one partition, read consistently."""
        return self._query(
            what,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues={":pk": _s(pk)},
            ConsistentRead=True,
        )

    def _get_head_items(self, correlation_ids: list[str]) -> dict[str, tuple[Any, Any]]:
        wanted = [_key(keys.trace_pk(cid), keys.SK_TRACE_HEAD) for cid in correlation_ids]
        return {  # an attribute an edit removed or retyped reads as None: the head does not decode
            keys.correlation_id_of(item[PK]["S"]): (item.get("v", {}).get("N"), item.get("doc", {}).get("B"))
            for item in self._batch_get(wanted, "read trace heads")
        }

    def _get_digests(
        self, digest_keys: list[DigestKey], damaged: _Damaged | None = None
    ) -> dict[DigestKey, tuple[bytes, int]]:
        """Stored digests and their versions; one that is damaged is raised, or, given `damaged`, named there."""
        wanted = {(keys.digest_pk(k.sketch, k.resolution), keys.bucket_key(k.bucket)): k for k in digest_keys}
        found = {}
        for item in self._batch_get([_key(pk, sk) for pk, sk in wanted], "read digests"):
            key = wanted[(item[PK]["S"], item[SK]["S"])]
            try:
                found[key] = (self._digest_blob(item), self._integer(item, "v", f"the version of the digest {key}"))
            except CorruptItemError as exc:
                if damaged is None:
                    raise
                damaged[key] = str(exc)
        return found

    def _commit(self, commit: Commit, digests: dict[DigestKey, tuple[bytes, int]]) -> None:
        """Checkpoint (conditional) + one insert-only partial + trace heads (versioned): no item two shards write."""
        actions = self._commit_actions(commit)
        self._transact(actions, "commit")
        self._pending_cache = None  # our own partial is pending now

    def _transact(self, actions: list[dict[str, Any]], what: str) -> None:
        if len(actions) > TRANSACTION_LIMIT:
            raise StoreError(f"{what} of {len(actions)} items exceeds the {TRANSACTION_LIMIT}-item transaction limit")
        if not actions:
            return
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            _raise_mapped(exc, what)
        except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError) as exc:
            # the outcome is unknown; the retry's conditions (checkpoint, versions, insert-only) decide it
            raise TransientStoreError(f"{what}: {type(exc).__name__}, outcome unknown") from exc
        finally:
            self.stats.write_requests += 1
        self.stats.items_written += len(actions)

    def _commit_actions(self, commit: Commit) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        advance = commit.checkpoint
        if advance is not None:
            item = {
                **_key(keys.PK_CHECKPOINT, keys.checkpoint_sk(advance.stream, advance.shard)),
                "pos": _s(advance.position.encode()),
            }
            if advance.newest_event is not None:
                item["newest"] = _n(float(advance.newest_event))
            if keys.checkpoint_names_kept(advance.stream, advance.shard):  # its key is a digest of them
                item |= dict(zip(keys.CHECKPOINT_NAMES, (_s(advance.stream), _s(advance.shard)), strict=True))
            put: dict[str, Any] = {"TableName": self.table, "Item": item}
            if advance.expected is None:
                put |= {"ConditionExpression": key_not_exists, "ExpressionAttributeNames": {"#pk": PK}}
            else:
                put |= {
                    "ConditionExpression": position_matches,
                    "ExpressionAttributeNames": {"#pos": "pos"},
                    "ExpressionAttributeValues": {":expected": _s(advance.expected.encode())},
                }
            actions.append({"Put": put})
        delta = keys.delta_of(commit)
        if not delta.is_empty():
            written_ns = time.time_ns()
            if advance is not None:
                pk, sk = keys.partial_pk(advance.stream, advance.shard), keys.partial_sk(advance.position)
            else:  # the sweep or a test: the heads' versions (if any) make it at most once
                pk = keys.partial_pk(keys.DIRECT_STREAM, self.writer_id)
                sk = keys.direct_partial_sk(written_ns)
            partial = {
                **_key(pk, sk),
                "p": {"B": keys.encode_partial(delta)},
                f"{tables.GSI_PENDING}PK": _s(keys.PENDING_GSI_PK),
                f"{tables.GSI_PENDING}SK": _s(keys.pending_gsi_sk(keys.newest_bucket(delta), written_ns, pk, sk)),
            }
            actions.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": partial,
                        "ConditionExpression": key_not_exists,
                        "ExpressionAttributeNames": {"#pk": PK},
                    }
                }
            )
        for cid, write in commit.heads.items():
            head = write.head
            head_item: dict[str, Any] = {
                **_key(keys.trace_pk(cid), keys.SK_TRACE_HEAD),
                "v": _n(head.version + 1),
                "doc": {"B": keys.encode_head(head)},
                tables.TTL_ATTRIBUTE: _n(write.ttl),
            }
            first_seen = keys.first_seen_gsi_sk(head.first_seen_ms)
            if head.workflow_id:
                head_item[f"{tables.GSI_BY_WORKFLOW}PK"] = _s(keys.workflow_gsi_pk(head.workflow_id))
                head_item[f"{tables.GSI_BY_WORKFLOW}SK"] = _s(first_seen)
            if head.repository:
                head_item[f"{tables.GSI_BY_REPOSITORY}PK"] = _s(keys.repository_gsi_pk(head.repository))
                head_item[f"{tables.GSI_BY_REPOSITORY}SK"] = _s(first_seen)
            if head.open_since_ms is not None:
                head_item[f"{tables.GSI_OPEN_UNITS}PK"] = _s(keys.open_unit_gsi_pk(head.open_since_ms))
                head_item[f"{tables.GSI_OPEN_UNITS}SK"] = _s(keys.open_unit_gsi_sk(head.open_since_ms, cid))
            actions.append({"Put": self._versioned_put(head_item, head.version)})
        return actions

    # --- pending partials and the rollup --------------------------------------------------------------

    def refresh(self) -> None:
        self._pending_cache = None

    def _pending(self) -> list[_Pending]:
        """Every pending partial, in write order: one Query of the sparse pending index (paged at 1 MB)."""
        if self._pending_cache is None:
            items = self._query(
                "pending partials",
                IndexName=tables.GSI_PENDING,
                KeyConditionExpression="#pk = :pk",
                ExpressionAttributeNames={"#pk": f"{tables.GSI_PENDING}PK"},
                ExpressionAttributeValues={":pk": _s(keys.PENDING_GSI_PK)},
            )
            pending = [self._pending_from(item) for item in items]
            self._pending_cache = sorted(pending, key=lambda p: keys.pending_written_ns(p.index_key))
        return self._pending_cache

    def _pending_from(self, item: dict[str, Any]) -> _Pending:
        """A pending partial item: its delta, and its index key as pending_gsi_sk writes it (newest, written).

        What of it does not decode is left out of the delta and named in its `lost` (all of it, when its `p` does
        not decode at all): reads count the rest, and the rollup folds the rest and names the loss. An index key
        that is not the store's is replaced by one of the delta's newest minute. Only a partial of another format
        (a newer slo's) is raised: a newer rollup folds it."""
        pk, sk = item[PK]["S"], item[SK]["S"]
        p = item.get("p")
        if isinstance(p, dict) and "B" in p:
            try:
                delta = keys.decode_partial(p["B"])
            except keys.PartialFormatError as exc:
                raise CorruptItemError(f"{self.table}: a damaged store: the partial {pk} at {sk} does not decode "
                                       f"({exc})") from None
        else:
            delta = keys.PartialDelta(lost=[f"its p holds {_shown(p)}, not a binary"])
        index_key = item[f"{tables.GSI_PENDING}SK"]["S"]  # DynamoDB refuses an index key of another type
        try:
            keys.pending_newest_ms(index_key), keys.pending_written_ns(index_key)
        except (ValueError, IndexError):
            delta.lose(lambda: f"its pending index key {_shown(index_key)} is not the store's")
            index_key = keys.pending_gsi_sk(keys.newest_bucket(delta), 0, pk, sk)
        return _Pending(pk, sk, index_key, delta)

    def _pending_deltas(self) -> list[keys.PartialDelta]:
        return [pending.delta for pending in self._pending()]

    def pending_partials(self) -> list[keys.PendingPartial]:
        self._pending_cache = None
        pending = self._pending()
        # their digests are decoded one by one (`slo backtest`): leave out those the rollup folds them without
        lose_undecodable_digests(p.delta for p in pending)
        return [keys.PendingPartial(p.pk, keys.pending_written_ns(p.index_key), p.delta) for p in pending]

    def scheduled_work_done(self) -> set[str]:
        """One Query of the CURSOR partition: the rollup lease (kept once released), the sweep cursor and the
        alert-save control item each say that part of the schedule has run."""
        done = {keys.SK_ROLLUP: "rolled up", keys.SK_SWEEP: "swept", keys.SK_ALERT_SAVE: "evaluated"}
        return {done[item[SK]["S"]] for item in self._partition("read the cursors", keys.PK_CURSOR)
                if item[SK]["S"] in done}

    def watermark(self, now: float) -> float:
        """min over active shards of their newest applied event, minus the lateness allowance (docs/store.md).

        A shard idle for longer than `idle_shard_after` (no records, so no invocations) does not hold it back."""
        newest = [c.newest_event for c in self._list_checkpoints()
                  if c.newest_event is not None and not keys.is_backfill_stream(c.stream)]  # backfills are history
        active = [n for n in newest if n >= max(newest) - self.idle_shard_after] if newest else []
        return min([*active, now]) - self.rollup_lateness

    def _rollup(self, now: float, report: RollupReport) -> RollupReport:
        try:
            acquired = self._acquire_lease()
        except TransientStoreError as exc:  # throttled: this minute's reads still see every partial
            report.skipped = str(exc)
            return report
        if not acquired:
            report.skipped = "another rollup holds the lease"
            return report
        try:
            self._pending_cache = None
            pending = self._pending()
            report.watermark = watermark = self.watermark(now)
            bound_ms = int(watermark * 1000) - conventions.MINUTE * 1000
            fold = [p for p in pending if keys.pending_newest_ms(p.index_key) <= bound_ms]
            keep = [p for p in pending if keys.pending_newest_ms(p.index_key) > bound_ms]
            try:
                left = self._fold(fold, report)
            except TransientStoreError as exc:  # a racing rollup or a throttle: the next run folds what is left
                report.skipped = str(exc)
                self._pending_cache = None
                report.pending = len(pending) - report.folded
                return report
            except BaseException:  # raised after some folds, perhaps: what is pending is read again, not assumed
                self._pending_cache = None
                raise
            # what damage left pending is read as pending: its counts of every other SLI too
            self._pending_cache = sorted(keep + left, key=lambda p: keys.pending_written_ns(p.index_key))
            report.pending = len(self._pending_cache)
            return report
        finally:
            self._release_lease()

    def _fold(self, fold: list[_Pending], report: RollupReport) -> list[_Pending]:
        """Fold partials in transactions of ≤ 100 items: each partial is unmarked (conditionally) in the same
        transaction that adds it, so a partial is rolled exactly once whatever crashes or races.

        A stored digest that does not decode leaves the partials that would merge into it pending (named in
        `report.damaged`, and returned) and the rest folded: reads see pending partials as they see rolled items, so
        what the damage does not touch reads as before, and one console edit does not stop the rollup for good. A
        partial's own piece that does not decode is folded as lost, and the rest of the partial with the others."""
        digest_keys = sorted({DigestKey(*key) for p in fold for key in p.delta.digests})
        damaged: _Damaged = {}
        digests = self._get_digests(digest_keys, damaged) if digest_keys else {}
        group: list[_Pending] = []
        targets: set[tuple[str, ...]] = set()
        left: list[_Pending] = []
        for partial in fold:
            mine = _targets(partial.delta)
            if group and len(group) + 1 + len(targets | mine) > TRANSACTION_LIMIT:
                left += self._fold_undamaged(group, digests, damaged, report)
                group, targets = [], set()
            group.append(partial)
            targets |= mine
        if group:
            left += self._fold_undamaged(group, digests, damaged, report)
        return left

    def _fold_undamaged(
        self, group: list[_Pending], digests: dict[DigestKey, tuple[bytes, int]],
        damaged: _Damaged, report: RollupReport,
    ) -> list[_Pending]:
        """Fold `group` but the partials a damaged item touches; returns those, left pending. A partial's own piece
        that does not decode is folded as lost (the rest of the partial is folded) and named. The damage is looked
        for only once a fold fails, so healthy folds read and decode nothing more."""
        whole = group
        while group := _without(damaged, group, report):
            found = len(damaged)
            try:
                self._fold_group(group, digests)
                break
            except (TransientStoreError, StoreUnavailableError):
                raise
            except StoreError as exc:
                lost = 0
                if isinstance(exc, CorruptItemError):  # a digest does not decode: find which
                    lost = _find_undecodable(group, digests, damaged)
                else:  # DynamoDB refused the transaction: an ADD or list_append may have met text
                    self._find_unaddable(group, damaged)
                if len(damaged) == found and not lost:
                    raise
        if group:
            report.folded += len(group)
            report.transactions += 1
            report.damaged += [f"{self.table}: a damaged store: the partial {p.pk} at {p.sk}: {p.delta.loss()}"
                               " (folded without it: lost)" for p in group if p.delta.lost]
        folded = {id(partial) for partial in group}
        return [partial for partial in whole if id(partial) not in folded]

    def _find_unaddable(self, group: list[_Pending], damaged: _Damaged) -> None:
        """Name in `damaged` each rolled counter or gauge `group` adds to whose item holds what ADD cannot add to
        (a count that is not a number) or list_append cannot append to (exemplars that are not a list)."""
        for item in self._batch_get([_key(pk, sk) for pk, sk in {k for p in group for k in _added_to(p.delta)}],
                                    "read rolled items"):
            pk, sk = item[PK]["S"], item[SK]["S"]
            for name, value in item.items():
                if name not in (PK, SK, tables.TTL_ATTRIBUTE) and set(value) != ({"L"} if name == "x" else {"N"}):
                    what = (f"the gauge {sk}" if pk == keys.PK_GAUGE else f"the exemplars of {pk} at {sk}"
                            if name == "x" else f"the {name} counter of {pk} at {sk}")
                    damaged[(pk, sk)] = str(self._damaged(what, value))
                    break

    def _fold_group(self, group: list[_Pending], digests: dict[DigestKey, tuple[bytes, int]]) -> None:
        from processors.sketch import TDigest

        counters: dict[tuple[str, str, int], dict[str, int]] = {}
        exemplars: dict[tuple[str, int], list[str]] = {}
        gauges: dict[str, int] = {}
        sketches: dict[DigestKey, list[bytes]] = {}
        for partial in group:
            for key, fields in partial.delta.counters.items():
                row = counters.setdefault(key, {})
                for name, value in fields.items():
                    row[name] = row.get(name, 0) + value
            for minute_key, ids in partial.delta.exemplars.items():
                exemplars.setdefault(minute_key, []).extend(ids)
            for name, value in partial.delta.gauges.items():
                gauges[name] = gauges.get(name, 0) + value
            for key, blob in partial.delta.digests.items():
                sketches.setdefault(DigestKey(*key), []).append(blob)
        rolled_at = _n(keys.rolled_partial_expires_at(time.time()))
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _key(partial.pk, partial.sk),
                    "UpdateExpression": "REMOVE #gpk, #gsk SET #ttl = :ttl",
                    "ConditionExpression": still_pending,
                    "ExpressionAttributeNames": {
                        "#gpk": f"{tables.GSI_PENDING}PK",
                        "#gsk": f"{tables.GSI_PENDING}SK",
                        "#ttl": tables.TTL_ATTRIBUTE,
                    },
                    "ExpressionAttributeValues": {":ttl": rolled_at},
                }
            }
            for partial in group
        ]
        actions += self._counter_actions(counters, exemplars)
        for name, delta in sorted(gauges.items()):
            if delta:
                actions.append(
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _key(keys.PK_GAUGE, name),
                            "UpdateExpression": "ADD #value :delta",
                            "ExpressionAttributeNames": {"#value": "value"},
                            "ExpressionAttributeValues": {":delta": _n(delta)},
                        }
                    }
                )
        merged: dict[DigestKey, tuple[bytes, int]] = {}
        for key, blobs in sketches.items():
            stored, version = digests.get(key, (None, 0))
            digest = decoded_digest(TDigest.merge_bytes, ([stored] if stored else []) + blobs, f"the digest {key}")
            merged[key] = (digest.to_bytes(), version)
            digest_item: dict[str, Any] = {
                **_key(keys.digest_pk(key.sketch, key.resolution), keys.bucket_key(key.bucket)),
                "d": {"B": merged[key][0]},
                "v": _n(version + 1),
                tables.TTL_ATTRIBUTE: _n(keys.bucket_expires_at(key.resolution, key.bucket)),
            }
            actions.append({"Put": self._versioned_put(digest_item, version)})
        self._transact(actions, "rollup")
        for key, (blob, version) in merged.items():
            digests[key] = (blob, version + 1)

    def _counter_actions(
        self, counters: dict[tuple[str, str, int], dict[str, int]], exemplars: dict[tuple[str, int], list[str]]
    ) -> list[dict[str, Any]]:
        actions: list[dict[str, Any]] = []
        exemplar_keys = set(exemplars)
        for (sli, resolution, bucket), fields in sorted(counters.items()):
            fields = {name: value for name, value in fields.items() if value}
            names = {f"#f{i}": name for i, name in enumerate(fields)}
            values: dict[str, Any] = {f":f{i}": _n(value) for i, value in enumerate(fields.values())}
            values[":ttl"] = _n(keys.bucket_expires_at(resolution, bucket))
            names["#ttl"] = tables.TTL_ATTRIBUTE
            expression = "SET #ttl = :ttl"
            if fields:
                expression = "ADD " + ", ".join(f"#f{i} :f{i}" for i in range(len(fields))) + " " + expression
            if resolution == conventions.RESOLUTION_MINUTE and (sli, bucket) in exemplar_keys:
                exemplar_keys.discard((sli, bucket))
                expression += ", #x = list_append(if_not_exists(#x, :empty), :x)"
                names["#x"] = "x"
                values[":empty"] = {"L": []}
                values[":x"] = {"L": [_s(cid) for cid in exemplars[(sli, bucket)]]}
            actions.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(keys.counter_pk(sli, resolution), keys.bucket_key(bucket)),
                        "UpdateExpression": expression,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        for sli, bucket in sorted(exemplar_keys):
            actions.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(keys.counter_pk(sli, conventions.RESOLUTION_MINUTE), keys.bucket_key(bucket)),
                        "UpdateExpression": "SET #x = list_append(if_not_exists(#x, :empty), :x)",
                        "ExpressionAttributeNames": {"#x": "x"},
                        "ExpressionAttributeValues": {
                            ":empty": {"L": []},
                            ":x": {"L": [_s(cid) for cid in exemplars[(sli, bucket)]]},
                        },
                    }
                }
            )
        return actions

    def _acquire_lease(self) -> bool:
        """The rollup's single writer: a lease on the ROLLUP cursor item (expires, so a crash frees it)."""
        wall = time.time()
        self.stats.write_requests += 1
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **_key(keys.PK_CURSOR, keys.SK_ROLLUP),
                    "owner": _s(self.writer_id),
                    "until": _n(int(wall) + self.lease_seconds),
                },
                ConditionExpression=lease_free,
                ExpressionAttributeNames={"#pk": PK, "#until": "until", "#owner": "owner"},
                ExpressionAttributeValues={":now": _n(int(wall)), ":me": _s(self.writer_id)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            _raise_mapped(exc, "rollup lease")
        return True

    def _release_lease(self) -> None:
        self.stats.write_requests += 1
        with contextlib.suppress(ClientError):  # expired and taken over, or already gone: not ours either way
            self.client.update_item(  # kept, expired: it also says a rollup has run (`scheduled_work_done`)
                TableName=self.table,
                Key=_key(keys.PK_CURSOR, keys.SK_ROLLUP),
                UpdateExpression="SET #until = :zero",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner", "#until": "until"},
                ExpressionAttributeValues={":me": _s(self.writer_id), ":zero": _n(0)},
            )

    def _versioned_put(self, item: dict[str, Any], version: int) -> dict[str, Any]:
        if version == 0:
            return {
                "TableName": self.table,
                "Item": item,
                "ConditionExpression": key_not_exists,
                "ExpressionAttributeNames": {"#pk": PK},
            }
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": version_matches,
            "ExpressionAttributeNames": {"#v": "v"},
            "ExpressionAttributeValues": {":expected": _n(version)},
        }

    # --- reads ----------------------------------------------------------------------------------------

    def _query_buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        rows: dict[int, dict[str, int]] = {}
        for item in self._range(keys.counter_pk(sli, resolution), start, end):
            try:
                rows[self._bucket_of(item)] = keys.counter_fields(item, COUNTER_BOOKKEEPING)
            except keys.DamagedAttribute as exc:
                raise self._damaged(f"the {exc.name} counter of {sli} at {item[SK]['S']}", exc.value) from None
        return rows

    def _put_revision(self, sli: str, revision: str, first_seen: int) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_key(keys.revision_pk(sli), keys.revision_sk(revision)),
                UpdateExpression="SET #first = :first",
                ConditionExpression=first_seen_later,
                ExpressionAttributeNames={"#first": "first_seen"},
                ExpressionAttributeValues={":first": _n(first_seen)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                _raise_mapped(exc, "record revision")  # already recorded as early or earlier: nothing to do
        finally:
            self.stats.write_requests += 1

    def _query_revisions(self, sli: str) -> dict[str, int]:
        items = self._query(
            "revisions",
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues={":pk": _s(keys.revision_pk(sli))},
            ConsistentRead=True,
        )
        return {item[SK]["S"]: self._integer(item, "first_seen", f"the revision {item[SK]['S']} of {sli}")
                for item in items}

    def _get_gauge(self, name: str) -> int:
        self.stats.read_requests += 1
        try:
            key = _key(keys.PK_GAUGE, name)
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            _raise_mapped(exc, "read gauge")
        return self._integer(item, "value", f"the gauge {name}") if item and "value" in item else 0

    def _query_exemplars(self, sli: str, start: int, end: int) -> dict[int, list[str]]:
        found = {}
        for item in self._range(keys.counter_pk(sli, conventions.RESOLUTION_MINUTE), start, end):
            if "x" in item:
                ids = item["x"].get("L") if isinstance(item["x"], dict) else None
                if not isinstance(ids, list) or not all(isinstance(e, dict) and "S" in e for e in ids):
                    raise self._damaged(f"the exemplars of {sli} at {item[SK]['S']}", item["x"])
                found[self._bucket_of(item)] = [entry["S"] for entry in ids]
        return found

    def _query_digests(self, sketch: str, resolution: str, start: int, end: int) -> DigestRows:
        return {
            self._bucket_of(item): self._digest_blob(item)
            for item in self._range(keys.digest_pk(sketch, resolution), start, end)
        }

    def _find_traces(
        self, workflow_id: str | None, repository: str | None, since_ms: int, until_ms: int, limit: int,
        damaged: dict[str, str] | None,
    ) -> list[tuple[str, int]]:
        if workflow_id is not None:
            index, partition = tables.GSI_BY_WORKFLOW, keys.workflow_gsi_pk(workflow_id)
        else:
            assert repository is not None  # find_traces asks for exactly one
            index, partition = tables.GSI_BY_REPOSITORY, keys.repository_gsi_pk(repository)
        items = self._query(
            "search traces",
            IndexName=index,
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :since AND :until",
            ExpressionAttributeNames={"#pk": f"{index}PK", "#sk": f"{index}SK"},
            ExpressionAttributeValues={
                ":pk": _s(partition),
                ":since": _s(keys.since_gsi_sk(since_ms)),
                ":until": _s(keys.since_gsi_sk(until_ms)),
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        listed = {self._trace_id_of(item): item[f"{index}SK"]["S"] for item in items[:limit]}
        read = self.read_heads(listed)
        found = [(cid, head.first_seen_ms or 0) for cid, head in read.heads.items()]
        for cid in sorted(read.damaged):  # listed all the same, first seen to the second its index key holds
            try:
                found.append((cid, self._parsed_key(keys.first_seen_ms_of_gsi_sk, listed[cid],
                                                    f"the trace-search key of the trace {cid}")))
            except CorruptItemError as exc:  # and a key that is not a time: nothing places it
                if damaged is None:
                    raise
                damaged[cid] = str(exc)
        return sorted(found, key=lambda pair: pair[1], reverse=True)

    def _open_units(self, opened_before_ms: int, oldest_applied_ms: int | None) -> list[str]:
        """Query the sparse open-unit index hour by hour, from the sweep cursor (the oldest hour that held an
        open unit last time) or the late-arrival floor, whichever is older, to the hour of `opened_before`.

        A unit can only open in an hour before the cursor if its start event was written after the previous
        sweep. The floor is the hour of the oldest event the caller applied since then, when it knows it (a
        replay does); else `late_open_allowance` (Kinesis keeps records 24 h by default) is read again."""
        before = opened_before_ms // 1000
        last_hour = floor_to(before, conventions.HOUR)
        horizon = floor_to(before - self.trace_ttl_days * conventions.DAY, conventions.HOUR)
        cursor = self._get_sweep_cursor()
        if oldest_applied_ms is None:
            floor = floor_to(before - self.late_open_allowance, conventions.HOUR)
        else:
            floor = floor_to(oldest_applied_ms // 1000, conventions.HOUR)
        first_hour = horizon if cursor is None else max(horizon, min(cursor, floor))
        found: list[str] = []
        oldest_open: int | None = None
        for hour in range(first_hour, last_hour + 1, conventions.HOUR):
            items = self._query(
                "open units",
                IndexName=tables.GSI_OPEN_UNITS,
                KeyConditionExpression="#pk = :pk AND #sk < :before",
                ExpressionAttributeNames={"#pk": f"{tables.GSI_OPEN_UNITS}PK", "#sk": f"{tables.GSI_OPEN_UNITS}SK"},
                ExpressionAttributeValues={
                    ":pk": _s(keys.open_hour_gsi_pk(hour)),
                    ":before": _s(keys.open_before_gsi_sk(opened_before_ms)),
                },
            )
            if items and oldest_open is None:
                oldest_open = hour
            found.extend(self._trace_id_of(item) for item in items)
        new_cursor = last_hour if oldest_open is None else oldest_open
        if new_cursor != cursor:
            self._put_sweep_cursor(new_cursor)
        return found

    def _get_sweep_cursor(self) -> int | None:
        self.stats.read_requests += 1
        try:
            key = _key(keys.PK_CURSOR, keys.SK_SWEEP)
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            _raise_mapped(exc, "read sweep cursor")
        return self._integer(item, "hour", "the sweep cursor") if item and "hour" in item else None

    def _put_sweep_cursor(self, hour: int) -> None:
        """A hint, not a claim: the last sweep to finish wins, and the late-arrival floor bounds any mistake."""
        self.stats.write_requests += 1
        try:
            self.client.put_item(TableName=self.table, Item={**_key(keys.PK_CURSOR, keys.SK_SWEEP), "hour": _n(hour)})
        except ClientError as exc:
            with contextlib.suppress(TransientStoreError):  # the next sweep reads from the older cursor: safe
                _raise_mapped(exc, "write sweep cursor")

    # --- alerts ---------------------------------------------------------------------------------------

    def _load_alert_states(self, damaged: dict[str, str] | None) -> dict[str, dict[str, Any]]:
        found: dict[str, str] = {}
        stored, staged = self._read_with_staged(lambda: self._stored_alert_states(found))
        states: dict[str, dict[str, Any]] = {}
        documents = [*((sk, doc) for sk, (doc, _at) in stored.items()),
                     *(staged.states.items() if staged else ())]  # staged: committed, not yet applied, newest
        for sk, doc in documents:
            try:
                states[sk] = self._state_document(sk, doc)
                found.pop(sk, None)
            except CorruptItemError as exc:
                states.pop(sk, None)
                found[sk] = str(exc)
        if found and damaged is None:
            raise CorruptItemError(next(iter(found.values())))
        if damaged is not None:
            damaged.update(found)
        return states

    def _stored_alert_states(self, damaged: dict[str, str] | None = None) -> dict[str, tuple[Any, int]]:
        """The state items as stored: sort key -> (JSON document, evaluation time). One whose time is not an
        integer is raised, or, given `damaged`, named there instead. A `doc` that is not S is kept as its
        attribute: _state_document refuses it, naming what it holds."""
        found = {}
        if damaged is not None:
            damaged.clear()  # a read started again (a save landed meanwhile) reads every item again
        for item in self._partition("alert states", keys.PK_ALERT_STATE):
            sk = item[SK]["S"]
            try:
                at = self._integer(item, "at", f"the evaluation time of the alert state of {sk}")
            except CorruptItemError as exc:
                if damaged is None:
                    raise
                damaged[sk] = str(exc)
                continue
            found[sk] = (item.get("doc", {}).get("S", item.get("doc")), at)
        return found

    def _read_with_staged(self, read: Callable[[], _T]) -> tuple[_T, keys.StagedAlertSave | None]:
        """`read()` and the staged save to lay over it, as of one version: a save committed while reading
        (its items perhaps half applied) makes the read start again."""
        for _attempt in range(ALERT_SAVE_ATTEMPTS):
            version, staged, _floors = self._alert_save_control()
            found = read()
            if self._alert_save_version() == version:
                return found, staged.save if staged else None
        raise TransientStoreError(f"read alerts: saves landed meanwhile {ALERT_SAVE_ATTEMPTS} times")

    def _alert_save_item(self) -> dict[str, Any]:
        """The control item of alert saves (CURSOR / ALERTSAVE), empty before the first save."""
        self.stats.read_requests += 1
        try:
            key = _key(keys.PK_CURSOR, keys.SK_ALERT_SAVE)
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            _raise_mapped(exc, "read alert save version")
        return item or {}

    def _alert_save_version(self, item: dict[str, Any] | None = None) -> int:
        """The alert saves' version (every save adds one), of `item` if the control item was read already."""
        item = self._alert_save_item() if item is None else item
        return self._integer(item, "ver", "the version of the alert saves") if "ver" in item else 0

    def _alert_save_control(self) -> tuple[int, _Staged | None, Any]:
        """The alert saves' version, the staged save not yet applied, if any, read whole (the first piece in
        the control item, the others in its part items), and the per-SLO floors as stored (`floors`, JSON text,
        keys.judged_floors). Parts missing mean whoever applied the save has cleared it and deleted them since:
        the control item is read again."""
        for _attempt in range(ALERT_SAVE_ATTEMPTS):
            item = self._alert_save_item()
            version = self._alert_save_version(item)
            floors = _stored_floors(item)
            if "staged" not in item:
                return version, None, floors
            sid, parts, first = self._staged_control(item)
            pieces = [first]
            if parts > 1:
                found = self._query(
                    "read staged alert save", KeyConditionExpression="#pk = :pk", ExpressionAttributeNames={"#pk": PK},
                    ExpressionAttributeValues={":pk": _s(keys.staged_part_pk(sid))}, ConsistentRead=True,
                )
                pieces += [self._staged_piece(sid, part) for part in found]
            if len(pieces) == parts:
                try:
                    return version, _Staged(keys.decode_staged_alert_save(b"".join(pieces)), parts), floors
                except ValueError:
                    raise self._damaged(f"the staged alert save {sid}", item["staged"]) from None
        raise CorruptItemError(f"the staged alert save {sid} is missing parts ({len(pieces)} of {parts} found)")

    def _staged_control(self, item: dict[str, Any]) -> tuple[str, int, bytes]:
        """A staged save's id, its number of pieces and its first piece, as the control item holds them."""
        sid = item.get("sid", {}).get("S")
        if sid is None:
            raise self._damaged("the id of the staged alert save", item.get("sid"))
        parts = self._integer(item, "parts", f"the part count of the staged alert save {sid}") if "parts" in item else 1
        if parts < 1:
            raise self._damaged(f"the part count of the staged alert save {sid}", item["parts"])
        return sid, parts, self._staged_piece(sid, item, "staged")

    def _staged_piece(self, sid: str, item: dict[str, Any], name: str = "b") -> bytes:
        piece = item.get(name, {}).get("B")
        if piece is None:
            raise self._damaged(f"the staged alert save {sid} at {item[SK]['S']}", item.get(name))
        return bytes(piece)

    def _log_key(self, transition: dict[str, Any], evaluated_at: int) -> dict[str, Any]:
        at = transition_time(transition, evaluated_at)
        return _key(keys.PK_ALERT_LOG, keys.alert_log_sk(at, transition["id"]))

    def _alert_floors(self) -> dict[str, int]:
        return self._decoded_floors(_stored_floors(self._alert_save_item()))

    def _decoded_floors(self, stored: Any) -> dict[str, int]:
        try:
            return keys.decode_floors(stored)
        except keys.DamagedAttribute:
            raise self._damaged("the alert saves' floors", stored) from None

    def _save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int,
        judged: dict[str, int | None],
    ) -> list[dict[str, Any]]:
        """One transaction when the save fits in one (≤ 100 items with the version); else the whole save is
        staged (its pieces past the first written first, then the first into the control item: the commit point,
        readers see it from then on) and then applied item by item.

        Every save adds one to the version, on the condition that no staged save is waiting, so a staged save
        is committed only if nothing was saved since its staleness check read the states; a save that finds a
        staged one applies it first (its writer may have crashed), then tries again.
        """
        for _attempt in range(ALERT_SAVE_ATTEMPTS):
            version, staged, stored_floors = self._alert_save_control()
            if staged is not None:
                self._apply_staged(staged.save, staged.parts)
                continue
            floors: dict[str, int] | None = None
            if judged:
                floors = keys.judged_floors(self._decoded_floors(stored_floors), judged, evaluated_at)
                if floors is None:
                    return []  # an SLO it judged was judged by a later evaluation: this one is stale
            log_keys = [self._log_key(t, evaluated_at) for t in transitions]
            existing = {item[SK]["S"] for item in self._batch_get(log_keys, "read alert log")} if log_keys else set()
            new = [(t, k) for t, k in zip(transitions, log_keys, strict=True) if k[SK]["S"] not in existing]
            recorded_ns = time.time_ns()
            state_docs = {keys.alert_state_sk(slo): keys.encode_json(state) for slo, state in states.items()}
            log = [
                (key[SK]["S"], keys.alert_log_recorded(recorded_ns, index), keys.encode_json(transition))
                for index, (transition, key) in enumerate(new)
            ]
            if 1 + len(state_docs) + len(log) <= TRANSACTION_LIMIT:
                outcome = self._save_in_one_transaction(state_docs, log, evaluated_at, version, floors)
            else:
                held = [stored_floors, keys.encode_json(floors) if floors is not None else None]
                outcome = self._save_staged(version, state_docs, log, evaluated_at, floors,
                                            sum(len(f.encode()) for f in held if isinstance(f, str)))
            if outcome == "stale":
                return []  # a newer (or the same) evaluation was recorded first: this one is stale
            if outcome == "saved":
                return [transition for transition, _ in new]
        raise TransientStoreError(f"save alert evaluation: other saves landed first {ALERT_SAVE_ATTEMPTS} times")

    def _state_put(self, sk: str, doc: str, evaluated_at: int) -> dict[str, Any]:
        return {
            "TableName": self.table,
            "Item": {**_key(keys.PK_ALERT_STATE, sk), "doc": _s(doc), "at": _n(evaluated_at)},
            "ConditionExpression": state_not_newer,
            "ExpressionAttributeNames": {"#pk": PK, "#at": "at"},
            "ExpressionAttributeValues": {":at": _n(evaluated_at)},
        }

    def _log_item(self, sk: str, recorded: str, doc: str) -> dict[str, Any]:
        return {**_key(keys.PK_ALERT_LOG, sk), "doc": _s(doc), "rec": _s(recorded)}

    def _save_in_one_transaction(
        self, state_docs: dict[str, str], log: list[tuple[str, str, str]], evaluated_at: int, version: int,
        floors: dict[str, int] | None,
    ) -> str:
        """'saved', 'stale', or 'retry' (a staged save appeared since the version was read; with `floors`, any
        save landed since: the floors were checked against the version read)."""
        control: dict[str, Any] = {
            "TableName": self.table,
            "Key": _key(keys.PK_CURSOR, keys.SK_ALERT_SAVE),
            "UpdateExpression": "ADD #v :one",
            "ConditionExpression": no_staged_save,
            "ExpressionAttributeNames": {"#v": "ver", "#staged": "staged"},
            "ExpressionAttributeValues": {":one": _n(1)},
        }
        if floors is not None:
            control["UpdateExpression"] += " SET #floors = :floors"
            control["ConditionExpression"] += f" AND ({version_unset if version == 0 else version_matches})"
            control["ExpressionAttributeNames"]["#floors"] = "floors"
            control["ExpressionAttributeValues"][":floors"] = _s(keys.encode_json(floors))
            if version:
                control["ExpressionAttributeValues"][":expected"] = _n(version)
        actions: list[dict[str, Any]] = [{"Update": control}]
        actions += [{"Put": self._state_put(sk, doc, evaluated_at)} for sk, doc in state_docs.items()]
        actions += [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": self._log_item(sk, recorded, doc),
                    "ConditionExpression": key_not_exists,
                    "ExpressionAttributeNames": {"#pk": PK},
                }
            }
            for sk, recorded, doc in log
        ]
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return "retry"
            try:
                _raise_mapped(exc, "save alert evaluation")
            except CommitConflictError:
                return "stale"
        finally:
            self.stats.write_requests += 1
        self.stats.items_written += len(actions)
        return "saved"

    def _save_staged(
        self, version: int, state_docs: dict[str, str], log: list[tuple[str, str, str]], evaluated_at: int,
        floors: dict[str, int] | None, floors_bytes: int = 0,
    ) -> str:
        """Check staleness, commit the whole save as a staged save if the version has not moved, apply it.

        The encoded save is cut into pieces of one item each. All but the first are written first, as part items
        nothing refers to yet; the first goes into the control item with the number of pieces, in the one
        conditional update that commits the save, as when it was a single item. The control item also holds the
        floors: the first piece is shorter by `floors_bytes` (the stored floors and those replacing them: moto's
        server counts both while it replaces them), or a few hundred SLOs' floors would take the item past the
        400 KB limit and no large save could ever commit."""
        damaged: dict[str, str] = {}  # a state this save does not write may be damaged: the evaluator leaves it be
        stored = self._stored_alert_states(damaged)
        if written := [why for sk, why in damaged.items() if sk in state_docs]:
            raise CorruptItemError(written[0])
        if any(stored[sk][1] > evaluated_at for sk in state_docs if sk in stored):
            return "stale"
        staged = keys.StagedAlertSave(uuid.uuid4().hex, evaluated_at, state_docs, log)
        blob = keys.encode_staged_alert_save(staged)
        first = max(STAGED_PART_LIMIT - floors_bytes, 1024)  # past 350 KiB of floors, the item is too large
        pieces = [blob[:first], *(blob[offset : offset + STAGED_PART_LIMIT]
                                  for offset in range(first, len(blob), STAGED_PART_LIMIT))]
        expires = int(time.time()) + keys.STAGED_PART_TTL
        for index, piece in enumerate(pieces[1:], 1):
            item = {**_key(keys.staged_part_pk(staged.id), keys.staged_part_sk(index)), "b": {"B": piece},
                    tables.TTL_ATTRIBUTE: _n(expires)}
            try:
                self.client.put_item(TableName=self.table, Item=item)
            except ClientError as exc:
                _raise_mapped(exc, "stage alert evaluation")
            finally:
                self.stats.write_requests += 1
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_key(keys.PK_CURSOR, keys.SK_ALERT_SAVE),
                UpdateExpression="SET #staged = :staged, #sid = :sid, #parts = :parts"
                                 f"{'' if floors is None else ', #floors = :floors'} ADD #v :one",
                ConditionExpression=f"({version_unset if version == 0 else version_matches}) AND {no_staged_save}",
                ExpressionAttributeNames={"#staged": "staged", "#sid": "sid", "#parts": "parts", "#v": "ver",
                                          **({} if floors is None else {"#floors": "floors"})},
                ExpressionAttributeValues={
                    ":staged": {"B": pieces[0]}, ":sid": _s(staged.id), ":parts": _n(len(pieces)), ":one": _n(1),
                    **({} if version == 0 else {":expected": _n(version)}),
                    **({} if floors is None else {":floors": _s(keys.encode_json(floors))}),
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                self._delete_staged_parts(staged.id, len(pieces))  # never committed: nothing reads them
                return "retry"  # another save landed since the states were read: check staleness again
            _raise_mapped(exc, "stage alert evaluation")
        finally:
            self.stats.write_requests += 1
        self._apply_staged(staged, len(pieces))
        return "saved"

    def _delete_staged_parts(self, save_id: str, parts: int) -> None:
        """Best effort: a part left behind is never read again, and expires (STAGED_PART_TTL)."""
        for index in range(1, parts):
            try:
                self.client.delete_item(
                    TableName=self.table, Key=_key(keys.staged_part_pk(save_id), keys.staged_part_sk(index))
                )
            except ClientError as exc:
                with contextlib.suppress(TransientStoreError):
                    _raise_mapped(exc, "delete staged alert save part")
            finally:
                self.stats.write_requests += 1

    def _apply_staged(self, staged: keys.StagedAlertSave, parts: int) -> None:
        """Write a committed staged save into the state and log items, clear it, then delete its parts.
        Idempotent: the writer and any save that finds it waiting may both apply it.

        One PutItem per item, each state under its own condition, `write_concurrency` in flight at once: a
        thousand groups' states are a thousand requests' latency one by one. Not in transactions: an item in a
        transaction costs two write units, and nothing here needs the items to land together (the staged save
        is the commit; a reader applies what is missing)."""
        puts = [self._state_put(sk, doc, staged.evaluated_at) for sk, doc in staged.states.items()]
        puts += [{"TableName": self.table, "Item": self._log_item(sk, recorded, doc)}
                 for sk, recorded, doc in staged.log]
        with ThreadPoolExecutor(max_workers=self.write_concurrency) as pool:
            list(pool.map(self._apply_put, puts))  # list: a put's error is raised here
        try:
            self.client.update_item(
                TableName=self.table,
                Key=_key(keys.PK_CURSOR, keys.SK_ALERT_SAVE),
                UpdateExpression="REMOVE #staged, #sid, #parts",
                ConditionExpression=staged_save_is,
                ExpressionAttributeNames={"#staged": "staged", "#sid": "sid", "#parts": "parts"},
                ExpressionAttributeValues={":sid": _s(staged.id)},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                _raise_mapped(exc, "clear staged alert save")
            # another writer applied and cleared it first
        finally:
            self.stats.write_requests += 1
        self._delete_staged_parts(staged.id, parts)  # after the clear: a reader that still sees it reads them

    def _apply_put(self, put: dict[str, Any]) -> None:
        written = 0
        try:
            self.client.put_item(**put)
            written = 1
        except ClientError as exc:
            if "ConditionExpression" not in put or exc.response.get("Error", {}).get("Code") != (
                "ConditionalCheckFailedException"
            ):
                _raise_mapped(exc, "apply staged alert save")
            # a newer state landed after another writer applied and cleared this save: keep it
        finally:
            with self._stats_lock:
                self.stats.write_requests += 1
                self.stats.items_written += written

    def _put_claim(self, claim: NotificationClaim, owner: str, now: float) -> bool:
        pk = keys.claim_pk(claim.slo, claim.group, claim.transition, claim.minute)
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **_key(pk, keys.CLAIM_SK),
                    "owner": _s(owner),
                    "published": {"BOOL": False},
                    "lease": _n(now + claim.lease_seconds),
                    tables.TTL_ATTRIBUTE: _n(keys.claim_expires_at(claim.minute)),
                },
                ConditionExpression=claim_available,
                ExpressionAttributeNames={"#pk": PK, "#published": "published", "#owner": "owner", "#lease": "lease"},
                ExpressionAttributeValues={":no": {"BOOL": False}, ":owner": _s(owner), ":now": _n(float(now))},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # another evaluation holds (or published) this transition
            _raise_mapped(exc, "claim notification")
        finally:
            self.stats.write_requests += 1
        return True

    def _settle_claim(self, claim: NotificationClaim, owner: str, published: bool) -> None:
        key = _key(keys.claim_pk(claim.slo, claim.group, claim.transition, claim.minute), keys.CLAIM_SK)
        names = {"#owner": "owner", "#published": "published"}
        values: dict[str, Any] = {":owner": _s(owner), ":no": {"BOOL": False}}
        try:
            if published:
                self.client.update_item(
                    TableName=self.table, Key=key, UpdateExpression="SET #published = :yes",
                    ConditionExpression=claim_owned, ExpressionAttributeNames=names,
                    ExpressionAttributeValues={**values, ":yes": {"BOOL": True}},
                )
            else:
                self.client.delete_item(
                    TableName=self.table, Key=key, ConditionExpression=claim_owned,
                    ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                _raise_mapped(exc, "settle notification claim")
        finally:
            self.stats.write_requests += 1

    def _claim_published(self, claim: NotificationClaim) -> bool:
        key = _key(keys.claim_pk(claim.slo, claim.group, claim.transition, claim.minute), keys.CLAIM_SK)
        self.stats.read_requests += 1
        try:
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            _raise_mapped(exc, "read notification claim")
        return bool(item and item.get("published", {}).get("BOOL"))

    def _insert_document(self, pk: str, sk: str, doc: dict[str, Any]) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**_key(pk, sk), "doc": _s(json.dumps(doc, sort_keys=True))},
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PK},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # insert-only: that id exists
            _raise_mapped(exc, "insert document")
        finally:
            self.stats.write_requests += 1
        return True

    def _list_documents(self, pk: str) -> list[tuple[str, Any]]:
        items = self._query(
            "list documents", KeyConditionExpression="#pk = :pk", ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues={":pk": _s(pk)},
        )
        documents: list[tuple[str, Any]] = []
        for item in items:
            sk, doc = item[SK]["S"], item.get("doc", {})
            try:
                documents.append((sk, json.loads(doc["S"])))
            except (KeyError, TypeError, ValueError, RecursionError):
                documents.append((sk, self._damaged(f"the document {sk} under {pk}", doc.get("S", doc))))
        return documents

    def _delete_document(self, pk: str, sk: str) -> bool:
        try:
            response = self.client.delete_item(TableName=self.table, Key=_key(pk, sk), ReturnValues="ALL_OLD")
        except ClientError as exc:
            _raise_mapped(exc, "delete document")
        finally:
            self.stats.write_requests += 1
        return "Attributes" in response

    def _alert_log(self, since: int | None) -> list[dict[str, Any]]:
        items, staged = self._read_with_staged(functools.partial(
            self._query,
            "alert log",
            KeyConditionExpression="#pk = :pk AND #sk >= :since",
            ExpressionAttributeNames={"#pk": PK, "#sk": SK},
            ExpressionAttributeValues={
                ":pk": _s(keys.PK_ALERT_LOG),
                ":since": _s(keys.alert_log_since(since or 0)),
            },
            ConsistentRead=True,
        ))
        if staged is not None:  # committed, perhaps not yet applied: its transitions are in the log
            applied = {item[SK]["S"] for item in items}
            low = keys.alert_log_since(since or 0)
            items += [self._log_item(sk, recorded, doc) for sk, recorded, doc in staged.log
                      if sk >= low and sk not in applied]
        entries = [self._log_entry(item) for item in items]
        # within one minute, in the order recorded (as SQLite's log is), not by transition ID; items written
        # before `rec` existed sort first, by ID
        entries.sort(key=lambda entry: (entry[0][: keys.ALERT_LOG_AT_DIGITS], entry[1]))
        return [self._transition_document(sk, doc) for sk, _recorded, doc in entries]

    def _log_entry(self, item: dict[str, Any]) -> tuple[str, str, str]:
        """A log item's sort key, recorded order ("" before `rec` existed) and document, each the text written."""
        sk, doc, recorded = item[SK]["S"], item.get("doc", {}).get("S"), item.get("rec", _s("")).get("S")
        if doc is None:
            raise self._damaged(f"the alert transition {sk}", item.get("doc"))
        if recorded is None:
            raise self._damaged(f"the recorded order of the alert transition {sk}", item.get("rec"))
        return sk, recorded, doc

    def _transition_document(self, sk: str, doc: str) -> Any:
        """A transition's JSON (Store.alert_log refuses one that is not an object, on either adapter)."""
        try:
            return json.loads(doc)
        except (ValueError, RecursionError):
            raise self._damaged(f"the alert transition {sk}", doc) from None
