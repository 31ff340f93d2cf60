"""The store port. Public methods are concrete and shared; adapters fill in the private `_hooks`.

Adapters: sqlite.py (the embedded default for the CLI) and dynamodb.py (the Lambda handlers). Both pass
tests/contract. Times are epoch seconds; buckets are minute or hour starts.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Self, TypeVar

from processors import conventions
from processors.counting import Counts, Rows, plan_window, window_counts
from processors.store.exceptions import CorruptItemError, StoreError
from processors.store.keys import FIND_TRACES_END_MS, PartialDelta, PendingPartial, decode_head
from processors.store.types import (
    Checkpoint,
    Commit,
    DigestKey,
    HeadsRead,
    NotificationClaim,
    RollupReport,
    StoreStats,
)
from processors.timeutil import floor_to, transition_epoch

if TYPE_CHECKING:
    from processors.sketch import TDigest
    from processors.stitching.model import TraceHead

DigestRows = Mapping[int, bytes]
DIGEST_CACHE_SIZE = 4096  # digests a commit cache holds: a few hours of minute and hour digests per sketch


class Store(ABC):
    """Reads are the rolled items plus the pending partials (`_pending_deltas`); SQLite has none pending."""

    #: Items one commit may write; None means unbounded (a single SQL transaction).
    max_items_per_commit: int | None = None
    #: True when a commit merges its digest deltas into the stored digests (read-merge-write); False when the
    #: adapter stores the deltas as they are and a single-writer rollup merges them later (DynamoDB).
    merges_digests_on_commit: bool = True

    trace_ttl_days: int = conventions.DEFAULT_TRACE_TTL_DAYS  # the open-unit lookback (the spec's value)
    #: Threads that may read bucket rows at once (StoreView.warm); 1 where a connection serves one thread.
    read_concurrency: int = 1

    def __init__(self) -> None:
        self.stats = StoreStats()
        self._revisions_noted: dict[tuple[str, str], int] = {}  # (sli, revision) -> first minute written here
        # digests as this store's own last commits wrote them, with their versions (SqliteStore keeps one while
        # it groups a replay's commits): a commit merges its deltas into these instead of reading the bytes back
        self._digest_cache: dict[DigestKey, tuple[TDigest, int]] | None = None

    # --- ingest ---------------------------------------------------------------------------------------

    def checkpoint(self, stream: str, shard: str) -> Checkpoint | None:
        return self._get_checkpoint(stream, shard)

    def checkpoints(self) -> list[Checkpoint]:
        return self._list_checkpoints()

    def newest_event_time(self) -> float | None:
        """The newest event time any shard has applied: the default `--at` of `slo status`."""
        from processors.store.keys import is_backfill_stream

        times = [c.newest_event for c in self.checkpoints()
                 if c.newest_event is not None and not is_backfill_stream(c.stream)]  # live shards only
        return max(times) if times else None

    def default_at(self) -> int | None:
        """The end of the newest minute with ingested data: where `slo status` and friends look by default."""
        newest = self.newest_event_time()
        return None if newest is None else floor_to(newest, conventions.MINUTE) + conventions.MINUTE

    def heads(self, correlation_ids: Iterable[str]) -> dict[str, TraceHead]:
        """The stored heads of these IDs. Raises CorruptItemError when one does not decode: `slo trace` says which.
        Ingest and the orphan sweep use read_heads, which sets such heads apart instead."""
        wanted = sorted(set(correlation_ids))
        if not wanted:
            return {}
        return {cid: decode_head(cid, version, blob) for cid, (version, blob) in self._get_head_items(wanted).items()}

    def read_heads(self, correlation_ids: Iterable[str]) -> HeadsRead:
        """The stored heads of these IDs, with those that do not decode in `damaged` rather than raised: one
        damaged item must not block a shard (docs/store.md, Damaged trace heads)."""
        wanted = sorted(set(correlation_ids))
        heads: dict[str, TraceHead] = {}
        damaged: set[str] = set()
        for cid, (version, blob) in (self._get_head_items(wanted) if wanted else {}).items():
            try:
                heads[cid] = decode_head(cid, version, blob)
            except CorruptItemError:
                damaged.add(cid)
        return HeadsRead(heads, frozenset(damaged))

    def commit(self, commit: Commit) -> None:
        """Apply `commit` atomically: all of it or none. Raises CommitConflictError if anything it read moved."""
        if commit.is_empty() and commit.checkpoint is None:
            return
        _refuse_unencodable_text(commit)
        self._note_revisions(commit)
        merged: dict[DigestKey, tuple[bytes, int]] = {}
        cache = self._digest_cache
        written: dict[DigestKey, tuple[TDigest, int]] = {}
        if commit.digests and self.merges_digests_on_commit:
            from processors.sketch import TDigest

            missing = sorted(key for key in commit.digests if cache is None or key not in cache)
            existing = self._get_digests(missing) if missing else {}
            for key, delta in commit.digests.items():
                if cache is not None and key in cache:
                    before, version = cache.pop(key)  # what this store wrote last: from_bytes of it is equal
                    parts = [before, delta]
                else:
                    stored, version = existing.get(key, (None, 0))
                    parts = [delta] if stored is None else [
                        decoded_digest(TDigest.from_bytes, stored, f"the digest {key}"), delta
                    ]
                # parts that decode alone can still pass int64 together: the stored one was edited
                digest = decoded_digest(TDigest.merge, parts, f"the digest {key}")
                merged[key] = (digest.to_bytes(), version)
                written[key] = (digest, version + 1)
        try:
            self._commit(commit, merged)
        except BaseException:
            if cache is not None:
                cache.clear()  # refused or lost (a lost group takes earlier commits with it): read again
            raise
        if cache is not None and written:
            cache.update(written)
            while len(cache) > DIGEST_CACHE_SIZE:
                del cache[next(iter(cache))]  # the least recently written
        self.stats.commits += 1

    def grouped_commits(self) -> AbstractContextManager[None]:
        """A scope in which the adapter may apply consecutive commits in fewer transactions, each commit still
        all or nothing (SQLite groups them, docs/store.md); by default every commit is its own transaction."""
        return nullcontext()

    def _note_revisions(self, commit: Commit) -> None:
        """Record each (SLI, revision) this commit counts, with its earliest minute, before the counters land.

        The write keeps the minimum, so it is idempotent and order-free (late data moves it earlier); this store
        writes a revision again only when a commit reaches before what it already recorded.
        """
        from processors.store.keys import series_revision

        firsts: dict[tuple[str, str], int] = {}
        for key in commit.counters:
            if key.resolution != conventions.RESOLUTION_MINUTE:
                continue
            found = series_revision(key.sli)
            if found is not None and key.bucket < firsts.get(found, key.bucket + 1):
                firsts[found] = key.bucket
        for (sli, revision), first in sorted(firsts.items()):
            if first < self._revisions_noted.get((sli, revision), first + 1):
                self._put_revision(sli, revision, first)
                self._revisions_noted[(sli, revision)] = first

    def revisions(self, sli: str) -> dict[str, int]:
        """revision -> the first minute (epoch seconds) counted under it, for one SLI, oldest first."""
        return dict(sorted(self._query_revisions(sli).items(), key=lambda item: (item[1], item[0])))

    def begin_backfill(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Record the plan of `slo backfill` for (plan["slo"], plan["revision"]), or find the one a first run
        recorded: the first run's plan (its time range) is the one every rerun and resumed run follows."""
        from processors.store import keys

        if self._insert_document(keys.backfill_pk(str(plan["slo"])), keys.backfill_sk(str(plan["revision"])),
                                 dict(plan)):
            return dict(plan)
        recorded = self.backfill_plan(str(plan["slo"]), str(plan["revision"]))
        assert recorded is not None  # insert-only: what refused the insert is there
        return recorded

    def backfill_plan(self, sli: str, revision: str) -> dict[str, Any] | None:
        """The plan a first `slo backfill` of (sli, revision) recorded, or None."""
        from processors.store import keys

        plans = self._read_documents(keys.backfill_pk(sli), {}, "backfill plan")
        return next((doc for doc in plans if doc.get("revision") == revision), None)

    def gauge(self, name: str) -> int:
        """A level kept exactly once by commit deltas (e.g. open-units)."""
        return self._get_gauge(name) + sum(delta.gauges.get(name, 0) for delta in self._pending_deltas())

    # --- rollup ---------------------------------------------------------------------------------------

    def rollup(self, now: float, report: RollupReport | None = None) -> RollupReport:
        """Fold pending partials into the rolled items, up to the watermark (docs/store.md). Reads are the same
        before and after; only their cost changes. The scheduled evaluator calls this before it evaluates.

        Returns `report` (a new one without it), filled as the rollup goes: when it raises midway, what it had
        folded and named (`damaged`: partials' pieces lost for good, and damaged rolled items whose partials stay
        pending) is there for the caller to report."""
        return self._rollup(now, RollupReport() if report is None else report)

    def refresh(self) -> None:  # noqa: B027 - optional hook
        """Forget cached pending partials: the next read sees what other writers committed meanwhile."""

    def _rollup(self, now: float, report: RollupReport) -> RollupReport:
        return report

    def pending_partials(self) -> list[PendingPartial]:
        """Every partial not yet rolled up, in write order (none where commits write the rolled items)."""
        return []

    def scheduled_work_done(self) -> set[str]:
        """What the schedule has done here, of "rolled up", "swept" and "evaluated", as their cursors say: what
        ingest alone, as `slo replay --ingest-only` does, never writes (none where nothing keeps such cursors)."""
        return set()

    def _pending_deltas(self) -> list[PartialDelta]:
        """Partials not yet folded into the rolled items, oldest first (none when commits write rolled items)."""
        return []

    # --- counters -------------------------------------------------------------------------------------

    def buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        """Counter rows with start <= bucket < end."""
        rows = self._query_buckets(sli, resolution, start, end)
        pending = self._pending_deltas()
        if not pending:
            return rows
        merged = {bucket: dict(fields) for bucket, fields in rows.items()}
        for delta in pending:
            for (series, res, bucket), fields in delta.counters.items():
                if series == sli and res == resolution and start <= bucket < end:
                    row = merged.setdefault(bucket, {})
                    for name, value in fields.items():
                        row[name] = row.get(name, 0) + value
        return merged

    def groups(self, series: str) -> set[str]:
        """The group values admitted for a grouped SLI (its registry series, keys.group_registry_series): one query."""
        from processors.store import keys

        low, high = keys.GROUP_REGISTRY_SPAN
        registry = keys.group_registry_series(series)
        return keys.groups_of_rows(self.buckets(registry, conventions.RESOLUTION_HOUR, low, high))

    def window_counts(self, sli: str, start: int, end: int) -> Counts:
        return window_counts(self.buckets, sli, start, end)

    def exemplars(self, sli: str, start: int, end: int, limit: int = 5) -> list[str]:
        """Recent bad correlation IDs in [start, end), newest first, without repeats."""
        seen: list[str] = []
        found = {bucket: list(ids) for bucket, ids in self._query_exemplars(sli, start, end).items()}
        for delta in self._pending_deltas():
            for (series, bucket), ids in delta.exemplars.items():
                if series == sli and start <= bucket < end:
                    found.setdefault(bucket, []).extend(ids)
        for _bucket, ids in sorted(found.items(), reverse=True):
            for correlation_id in reversed(ids):
                if correlation_id not in seen:
                    seen.append(correlation_id)
                if len(seen) >= limit:
                    return seen
        return seen

    # --- latency digests ------------------------------------------------------------------------------

    def digest(self, sketch: str, start: int, end: int) -> TDigest | None:
        """The merged digest over [start, end): hour digests plus minute edges, like counters."""
        from processors.sketch import TDigest

        plan = plan_window(start, end)
        pending = self._pending_deltas()
        stored = [
            (resolution, low, high, self._query_digests(sketch, resolution, low, high))
            for resolution, (low, high) in (
                (conventions.RESOLUTION_MINUTE, plan.head_minutes),
                (conventions.RESOLUTION_HOUR, plan.hours),
                (conventions.RESOLUTION_MINUTE, plan.tail_minutes),
            )
            if low < high
        ]

        def window_blobs() -> list[bytes]:
            blobs: list[bytes] = []
            for resolution, low, high, rows in stored:
                blobs.extend(rows.values())
                for delta in pending:
                    blobs.extend(
                        blob
                        for (name, res, bucket), blob in delta.digests.items()
                        if name == sketch and res == resolution and low <= bucket < high
                    )
            return blobs

        blobs = window_blobs()
        if not blobs:
            return None
        try:  # one decode of the window's blobs, not one per blob
            merged = decoded_digest(TDigest.merge_bytes, blobs, f"a digest of {sketch}")
        except CorruptItemError:
            # a pending partial's own digest that does not decode is lost (the rollup folds the partial without
            # it): merged again without it, from the rows already read. A rolled one is raised, as it was.
            if not lose_undecodable_digests(pending):
                raise
            blobs = window_blobs()
            if not blobs:
                return None
            merged = decoded_digest(TDigest.merge_bytes, blobs, f"a digest of {sketch}")
        return merged if merged.count else None

    # --- traces ---------------------------------------------------------------------------------------

    def trace(self, correlation_id: str) -> TraceHead | None:
        return self.heads([correlation_id]).get(correlation_id)

    def find_traces(
        self,
        *,
        workflow_id: str | None = None,
        repository: str | None = None,
        since: int = 0,
        until: int | None = None,
        limit: int = 50,
        damaged: dict[str, str] | None = None,
    ) -> list[tuple[str, int]]:
        """(correlation ID, first-seen ms) newest first, by workflow or repository, first seen from `since` to
        `until` (epoch seconds, the whole second of `until` included: the index keys traces by the second).
        An empty or blank value is refused: the stitcher records neither on a head. A trace found that nothing
        places (its head does not decode and its index key is not a time: docs/store.md, Damaged trace heads) is
        a CorruptItemError, or, given `damaged`, left out and named there (ID -> the error's line)."""
        if (workflow_id is None) == (repository is None):
            raise ValueError("give exactly one of workflow_id or repository")
        if (workflow_id or repository or "").strip() == "":
            raise ValueError("the workflow_id or repository to search for is empty")
        until_ms = (until + 1) * 1000 - 1 if until is not None else FIND_TRACES_END_MS
        return self._find_traces(workflow_id, repository, since * 1000, until_ms, limit, damaged)

    def open_units(self, opened_before: float, oldest_applied: float | None = None) -> list[str]:
        """Correlation IDs of units of work that opened before `opened_before` and have not resolved, oldest first
        (ties by ID). Both adapters look back the same way: from the hour `trace_ttl_days` before it, as far as
        trace heads live. `oldest_applied` is the oldest event time the caller applied since its previous call, or
        the oldest start of a unit it opened if older (math.inf: none); None when it cannot know (the scheduled
        sweeper). An adapter that reads from a cursor (DynamoDB) re-reads from there, or else from its
        late-arrival allowance: a unit that opened before the cursor can only have been written since."""
        applied_ms = None if oldest_applied is None else int(max(min(oldest_applied, opened_before), 0) * 1000)
        return self._open_units(int(opened_before * 1000), applied_ms)

    def open_units_since_ms(self, started_before_ms: int) -> int:
        """The first hour (epoch ms) the open-unit lookback reads: the same bound in every adapter."""
        first = started_before_ms // 1000 - self.trace_ttl_days * conventions.DAY
        return (first - first % conventions.HOUR) * 1000

    # --- alerts ---------------------------------------------------------------------------------------

    def load_alert_states(self, damaged: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """Every alert state by key. One whose item does not decode, or whose burn, budget or no-data part is not
        an object (coerce_state reads their fields) or whose budget level is not text, is a CorruptItemError, or,
        given `damaged`, left out and named there (key -> the error's line): the evaluator leaves that SLO or group
        alone."""
        states = self._load_alert_states(damaged)
        for key, state in list(states.items()):
            part = _damaged_state_part(state)
            if part is None:
                continue
            error = CorruptItemError(f"a damaged store: the alert state of {key} has {part}")
            if damaged is None:
                raise error
            del states[key]
            damaged[key] = str(error)
        return states

    def alert_floors(self) -> dict[str, int]:
        """Each SLO's floor: the newest evaluation that judged it (`keys.judged_floors`). The evaluator reads them
        before the states, and gives them back to the save as `judged`. A floor that does not decode is a
        CorruptItemError (as it is to every save that judges an SLO)."""
        return self._alert_floors()

    def save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int,
        judged: Collection[str] | Mapping[str, int] = (),
    ) -> list[dict[str, Any]]:
        """Store states and append transitions atomically; returns the transitions not recorded before.

        A save is stale, and records nothing, when one of its states was stored by a later evaluation, or when
        an SLO in `judged` (the SLOs this evaluation judged, their unchanged states not in `states`) was judged
        by a later one (`keys.judged_floors`); or, `judged` mapping each to its floor as read before the states
        (alert_floors), by any other one since."""
        for transition in transitions:
            if "id" not in transition:
                raise ValueError("every transition needs a deterministic 'id'")
        read: dict[str, int | None] = (
            {slo: judged[slo] for slo in sorted(judged)} if isinstance(judged, Mapping)
            else dict.fromkeys(sorted(set(judged))))
        return self._save_alert_evaluation(states, transitions, evaluated_at, read)

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        """Transitions oldest first. One that is not a JSON object (a hand edit, another program) is a damaged
        store, as a state that is not one is: every reader takes a transition for a mapping. So is one whose time
        is a float int() refuses (JSON reads 1e400, Infinity and NaN as floats): MTTR takes int() of it."""
        log = self._alert_log(since)
        for transition in log:
            if not isinstance(transition, dict):
                raise CorruptItemError(f"a damaged store: an alert transition is a JSON {type(transition).__name__}, "
                                       "not an object")
            for name in _TRANSITION_TIMES:
                value = transition.get(name)
                if isinstance(value, float) and not math.isfinite(value):
                    raise CorruptItemError(f"a damaged store: the alert transition {str(transition.get('id'))[:80]!r} "
                                           f"has {name} {value!r}")
        return log

    def claim_notification(self, claim: NotificationClaim, owner: str, now: float) -> bool:
        """True when `owner` may publish this transition: a conditional write that one caller wins.

        The claim is a lease (`claim.lease_seconds` from `now`, the caller's clock): a claimant that crashed
        before publishing loses it when the lease ends, so the page is late rather than lost. Claiming again
        as the same owner succeeds. A published claim is never taken again.
        """
        return self._put_claim(claim, owner, now)

    def settle_notification(self, claim: NotificationClaim, owner: str, *, published: bool) -> None:
        """After publishing: mark the claim published, or (the publish failed) give it back for a retry."""
        self._settle_claim(claim, owner, published)

    def notification_published(self, claim: NotificationClaim) -> bool:
        """True when some evaluation published this claim; False when it is free or held by a live lease (a
        claim that was refused and is not published is still to be delivered: the caller keeps it pending)."""
        return self._claim_published(claim)

    # --- silences and budget corrections (small documents, insert-only) -------------------------------

    def add_silence(self, silence: Mapping[str, Any]) -> bool:
        """Store a silence document (needs "id"); False when that id exists already."""
        from processors.store import keys

        return self._insert_document(keys.SILENCE_PK, keys.silence_sk(str(silence["id"])), dict(silence))

    def silences(self, damaged: list[str] | None = None) -> list[dict[str, Any]]:
        """Every silence. One that the evaluator cannot read is a CorruptItemError naming it, or, given `damaged`
        (the evaluator Lambda's), named there and left out: the others are read."""
        from processors.store import keys

        return self._read_documents(keys.SILENCE_PK, _SILENCE_FIELDS, "silence", damaged)

    def remove_silence(self, silence_id: str) -> bool:
        from processors.store import keys

        return self._delete_document(keys.SILENCE_PK, keys.silence_sk(silence_id))

    def add_correction(self, correction: Mapping[str, Any]) -> bool:
        """Store one version of a budget correction (needs "id", "slo", "start"); never overwrites one.

        Corrections are audit records (who, when, why): they are added, never edited or deleted here.
        """
        from processors.store import keys

        pk = keys.correction_pk(str(correction["slo"]))
        return self._insert_document(pk, keys.correction_sk(int(correction["start"]), str(correction["id"])),
                                     dict(correction))

    def corrections(self, slos: Iterable[str]) -> list[dict[str, Any]]:
        """Every correction of these SLOs, by SLO then window start."""
        from processors.store import keys

        return [
            doc
            for slo in sorted(set(slos))
            for doc in self._read_documents(keys.correction_pk(slo), _CORRECTION_FIELDS, "correction")
        ]

    def _read_documents(
        self, pk: str, fields: _Fields, what: str, damaged: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The documents under `pk`; one that does not decode, or that the evaluator cannot read (`fields`), is
        raised, or, given `damaged`, named there and left out."""
        documents = []
        for sk, document in self._list_documents(pk):
            try:
                if isinstance(document, CorruptItemError):  # not JSON (an adapter's hook names it)
                    raise document
                documents.append(_checked(sk, document, fields, what))
            except CorruptItemError as exc:
                if damaged is None:
                    raise
                damaged.append(str(exc))
        return documents

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        """Closed on leaving `with`, as a file is: a SQLite store left to the garbage collector checkpoints its
        write-ahead log into the file whenever it is collected, under whatever runs then."""
        self.close()

    # --- hooks ----------------------------------------------------------------------------------------

    @abstractmethod
    def _insert_document(self, pk: str, sk: str, doc: dict[str, Any]) -> bool: ...

    @abstractmethod
    def _list_documents(self, pk: str) -> list[tuple[str, Any]]:
        """(sort key, document) under `pk`, by sort key: the document's JSON, or the CorruptItemError naming an
        item that does not hold JSON text."""

    @abstractmethod
    def _delete_document(self, pk: str, sk: str) -> bool: ...

    @abstractmethod
    def _get_checkpoint(self, stream: str, shard: str) -> Checkpoint | None: ...

    @abstractmethod
    def _list_checkpoints(self) -> list[Checkpoint]: ...

    @abstractmethod
    def _get_head_items(self, correlation_ids: list[str]) -> dict[str, tuple[Any, Any]]:
        """(version, document) of each stored head found, as read: keys.decode_head checks and decodes them."""

    @abstractmethod
    def _get_digests(self, keys: list[DigestKey]) -> dict[DigestKey, tuple[bytes, int]]: ...

    @abstractmethod
    def _commit(self, commit: Commit, digests: dict[DigestKey, tuple[bytes, int]]) -> None: ...

    @abstractmethod
    def _get_gauge(self, name: str) -> int: ...

    @abstractmethod
    def _put_revision(self, sli: str, revision: str, first_seen: int) -> None:
        """Create the revision item, or lower its first_seen to `first_seen`; never raise it."""

    @abstractmethod
    def _query_revisions(self, sli: str) -> dict[str, int]: ...

    @abstractmethod
    def _query_buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows: ...

    @abstractmethod
    def _query_exemplars(self, sli: str, start: int, end: int) -> dict[int, list[str]]: ...

    @abstractmethod
    def _query_digests(self, sketch: str, resolution: str, start: int, end: int) -> DigestRows: ...

    @abstractmethod
    def _find_traces(
        self, workflow_id: str | None, repository: str | None, since_ms: int, until_ms: int, limit: int,
        damaged: dict[str, str] | None,
    ) -> list[tuple[str, int]]: ...

    @abstractmethod
    def _open_units(self, opened_before_ms: int, oldest_applied_ms: int | None) -> list[str]: ...

    @abstractmethod
    def _load_alert_states(self, damaged: dict[str, str] | None) -> dict[str, dict[str, Any]]: ...

    @abstractmethod
    def _alert_floors(self) -> dict[str, int]: ...

    @abstractmethod
    def _save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int,
        judged: dict[str, int | None],
    ) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _alert_log(self, since: int | None) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _put_claim(self, claim: NotificationClaim, owner: str, now: float) -> bool: ...

    @abstractmethod
    def _settle_claim(self, claim: NotificationClaim, owner: str, published: bool) -> None: ...

    @abstractmethod
    def _claim_published(self, claim: NotificationClaim) -> bool: ...


# What a silence's and a correction's document must hold for the evaluator (alerting.state.silenced_at,
# evaluating.corrections.Correction) to read it: numbers where it takes int() of a time or a version, and a
# correction's id, SLO and window (True: always there). A document that breaks these (a hand edit, another
# program) is refused whole; one the evaluator could read is never refused, so the evaluation never stops on a
# field it does not need.
_NUMBER = (int, float)
_TRANSITION_TIMES = ("at_epoch", "cleared_at_epoch")  # what readers of the alert log take int() of when a number
_Fields = dict[str, tuple[type | tuple[type, ...], bool]]
_SILENCE_FIELDS: _Fields = {"starts": (_NUMBER, False), "ends": (_NUMBER, False)}
_CORRECTION_FIELDS: _Fields = {
    "id": (object, True), "slo": (object, True), "start": (_NUMBER, True), "end": (_NUMBER, True),
    "created_at": (_NUMBER, False), "version": (_NUMBER, False),
}


def _checked(sk: str, document: Any, fields: _Fields, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise CorruptItemError(f"a damaged store: the {what} {sk[:80]!r} is a JSON {type(document).__name__}, "
                               "not an object")
    for name, (kind, required) in fields.items():
        value = document.get(name)
        if name not in document and not required:
            continue
        if name not in document or not isinstance(value, kind) or (kind is _NUMBER and not _finite(value)):
            shown = repr(value)[:40] if name in document else "nothing"
            raise CorruptItemError(f"a damaged store: the {what} {str(document.get('id'))[:40]!r} has {name} "
                                   f"{shown}")
    return document


def _damaged_state_part(state: dict[str, Any]) -> str | None:
    """What in a stored alert state the evaluator cannot read: a burn, budget or no-data part (or the burn's
    suppressed tiers, the budget's level) of another shape than the evaluator writes. None when it reads."""
    for name in ("burn", "budget", "no_data"):
        part = state.get(name)
        if part and not isinstance(part, dict):
            return f"{name} {repr(part)[:40]}"
    suppressed = (state.get("burn") or {}).get("suppressed")
    if suppressed and not isinstance(suppressed, list):
        return f"burn.suppressed {repr(suppressed)[:40]}"
    level = (state.get("budget") or {}).get("level")  # a key of the budget thresholds, or None
    if level is not None and not isinstance(level, str):
        return f"budget.level {repr(level)[:40]}"
    return None


def _finite(value: Any) -> bool:
    """A number int() takes: JSON reads Infinity, NaN and 1e400 as floats, which int() refuses with a traceback.
    An int of any size is one (math.isfinite would overflow converting 10**400 to a float)."""
    return not isinstance(value, bool) and (not isinstance(value, float) or math.isfinite(value))


_Blobs = TypeVar("_Blobs")


def decoded_digest(decode: Callable[[_Blobs], TDigest], stored: _Blobs, what: str) -> TDigest:
    """`decode(stored)` (TDigest.from_bytes of a blob, merge_bytes of several); bytes that do not decode are a
    damaged store naming `what`, not the sketch's own error from deep in a read, a commit or a rollup."""
    from processors.sketch import SketchFormatError

    try:
        return decode(stored)
    except SketchFormatError as exc:
        raise CorruptItemError(f"a damaged store: {what} does not decode ({exc})") from None


def lose_undecodable_digests(deltas: Iterable[PartialDelta]) -> int:
    """Leave out of each pending delta the digests that do not decode alone, each named in its `lost`: what the
    rollup folds the partial without, so reads of it pending leave out the same (docs/store.md). How many."""
    from processors.sketch import SketchFormatError, TDigest

    lost = 0
    for delta in deltas:
        for key, blob in list(delta.digests.items()):
            try:
                TDigest.from_bytes(blob)
            except SketchFormatError as exc:
                lost += delta.lose_digest(key, str(exc))
    return lost


def transition_time(transition: Mapping[str, Any], default: int) -> int:
    """A transition's time in epoch seconds (timeutil.transition_epoch), or `default` without one."""
    at = transition_epoch(transition)
    return default if at is None else at


def _refuse_unencodable_text(commit: Commit) -> None:
    """Refuse for good (StoreError: the ingestor skips the event as processing_error) a commit whose text, stored
    as it is, no store can encode: a lone surrogate, which JSON may escape (`"\\ud800"`) and json.loads keeps, in
    a trace head's workflow or repository or in a group value (a counter's field). SQLite raised
    UnicodeEncodeError, which failed the whole batch; DynamoDB's answer is no better."""
    texts = [text for write in commit.heads.values() for text in (write.head.workflow_id, write.head.repository)
             if text is not None and not text.isascii()]
    texts += [name for fields in commit.counters.values() for name in fields if not name.isascii()]
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StoreError(f"text that is not valid Unicode (a lone surrogate): {text[:40]!r}") from exc
