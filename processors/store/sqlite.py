"""The embedded store: one SQLite file, one transaction per commit. The CLI's default."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from processors.counting import Rows
from processors.decoding.types import Position
from processors.store.base import DigestRows, Store, transition_time
from processors.store.exceptions import CommitConflictError, CorruptItemError, StoreUnavailableError
from processors.store.keys import (
    DamagedAttribute,
    claim_expires_at,
    claim_pk,
    decode_floors,
    encode_head,
    judged_floors,
    stored_position,
)
from processors.store.types import Checkpoint, Commit, DigestKey, HeadWrite, NotificationClaim

SCHEMA_VERSION = 1
#: Commits a grouped transaction holds before it commits (see `grouped_commits` and docs/store.md)
GROUP_COMMITS = 64
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    stream TEXT NOT NULL, shard TEXT NOT NULL, position TEXT NOT NULL, newest_event REAL,
    PRIMARY KEY (stream, shard));
CREATE TABLE IF NOT EXISTS counters (
    sli TEXT NOT NULL, resolution TEXT NOT NULL, bucket INTEGER NOT NULL, field TEXT NOT NULL,
    value INTEGER NOT NULL, PRIMARY KEY (sli, resolution, bucket, field)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS exemplars (
    sli TEXT NOT NULL, bucket INTEGER NOT NULL, seq INTEGER NOT NULL, correlation_id TEXT NOT NULL,
    PRIMARY KEY (sli, bucket, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS digests (
    sketch TEXT NOT NULL, resolution TEXT NOT NULL, bucket INTEGER NOT NULL, data BLOB NOT NULL,
    version INTEGER NOT NULL, PRIMARY KEY (sketch, resolution, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS traces (
    correlation_id TEXT PRIMARY KEY, version INTEGER NOT NULL, workflow_id TEXT, repository TEXT,
    first_seen_ms INTEGER, open_since_ms INTEGER, expires_at INTEGER, doc BLOB NOT NULL);
-- Partial indexes: most heads (one API request) have no workflow or repository, and indexing their NULLs cost
-- every insert (a 5,000-record batch: ~5 ms into a new file, ~20 ms into one of 20 such batches). `column = ?`
-- implies IS NOT NULL, so trace searches use them.
-- Files made before them hold full indexes under the old names, dropped here (an older slo that opens the file
-- to write makes them again: harmless, both are kept up to date).
CREATE INDEX IF NOT EXISTS traces_with_workflow ON traces (workflow_id, first_seen_ms) WHERE workflow_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS traces_with_repository ON traces (repository, first_seen_ms) WHERE repository IS NOT NULL;
DROP INDEX IF EXISTS traces_by_workflow;
DROP INDEX IF EXISTS traces_by_repository;
CREATE INDEX IF NOT EXISTS traces_open ON traces (open_since_ms) WHERE open_since_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS gauges (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    pk TEXT PRIMARY KEY, owner TEXT NOT NULL, published INTEGER NOT NULL, lease_until REAL NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    sli TEXT NOT NULL, revision TEXT NOT NULL, first_seen INTEGER NOT NULL, PRIMARY KEY (sli, revision));
CREATE TABLE IF NOT EXISTS documents (pk TEXT NOT NULL, sk TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (pk, sk));
CREATE TABLE IF NOT EXISTS alert_states (slo TEXT PRIMARY KEY, evaluated_at INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_log (
    id TEXT PRIMARY KEY, at INTEGER NOT NULL, recorded_seq INTEGER NOT NULL, doc TEXT NOT NULL);
"""

# sqlite3 binds int, float and str as they are, but passes None and bytes (a head's NULL columns, its document,
# a digest) through its adaptation protocol first, which looks for __adapt__ and __conform__ and fails (two
# attribute errors per value: about a twentieth of a batch's ingest CPU). Registered adapters that return the
# value unchanged answer that lookup at once: bytes(b) is b for bytes, and {}.get(None) is None. The values
# bound, and so what is stored, are the same.
sqlite3.register_adapter(bytes, bytes)
_NOTHING: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NOTHING.get)  # C, as bytes is: a Python function would cost a call

ALERT_FLOORS = "alert_floors"  # meta: SLO -> the newest evaluation that judged it (keys.judged_floors)
_TABLES = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA)


def _head_values(write: HeadWrite) -> tuple[Any, ...]:
    """The traces columns after correlation_id and version."""
    head = write.head
    return (head.workflow_id, head.repository, head.first_seen_ms, head.open_since_ms, write.ttl, encode_head(head))


class SqliteStore(Store):
    max_items_per_commit: int | None = None

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """`read_only` opens an existing store for reading and never creates or changes a file."""
        super().__init__()
        self.path = str(path)
        self._grouping = False  # inside grouped_commits(): commits are savepoints of one open transaction
        self._grouped = 0  # commits in the open grouped transaction
        self._group_size = GROUP_COMMITS
        if self.path != ":memory:" and not read_only:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            if read_only:
                uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
                self.db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
            else:
                self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailableError(f"{self.path}: not an slo-pipeline store ({exc})") from None
        if read_only and row is None:
            raise StoreUnavailableError(f"{self.path}: not an slo-pipeline store (no schema version)")
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):  # compared as text: a damaged or foreign file may hold anything there
            raise StoreUnavailableError(f"{self.path}: store schema v{row[0]}, this slo expects v{SCHEMA_VERSION}")
        if read_only:  # a writable open made any missing table above
            present = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if missing := sorted(set(_TABLES) - present):
                raise StoreUnavailableError(f"{self.path}: a damaged store: no table {', '.join(missing)}")

    def close(self) -> None:
        self.db.close()

    # --- transactions ---------------------------------------------------------------------------------

    @contextmanager
    def grouped_commits(self, size: int = GROUP_COMMITS) -> Iterator[None]:
        """Apply up to `size` consecutive commits (and alert saves) in one SQL transaction, each a savepoint.

        A refused commit rolls back to its savepoint and nothing of it lands, as alone; a crash loses the open
        group whole, with the checkpoints it advanced, so a rerun applies it again (docs/store.md). On leaving,
        the commits completed so far are committed, whatever stopped the caller.
        """
        self._grouping, self._group_size, self._grouped = True, size, 0
        self._digest_cache = {}  # this connection is the writer that matters here; a conflict clears it
        try:
            yield
        finally:
            self._grouping, self._digest_cache = False, None
            if self.db.in_transaction:
                self.db.execute("COMMIT")
            self._grouped = 0

    def _begin(self) -> None:
        if not self._grouping:
            self.db.execute("BEGIN IMMEDIATE")
            return
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("SAVEPOINT one_commit")

    def _finish(self) -> None:
        if not self._grouping:
            self.db.execute("COMMIT")
            return
        self.db.execute("RELEASE one_commit")
        self._grouped += 1

    def _close_full_group(self) -> None:
        """Commit the open group once it holds its size; a group that cannot commit is lost whole (rerun)."""
        if not self._grouping or self._grouped < self._group_size:
            return
        self._grouped = 0
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise StoreUnavailableError(f"{self.path}: a group of commits failed to commit ({exc})") from None

    def _abandon(self) -> None:
        """Undo what the current commit wrote (the savepoint only, when grouped)."""
        db = self.db
        if not db.in_transaction:  # a Ctrl-C inside COMMIT may land after the commit took effect
            return
        if self._grouping:
            db.execute("ROLLBACK TO one_commit")
            db.execute("RELEASE one_commit")
        else:
            db.execute("ROLLBACK")

    # --- ingest ---------------------------------------------------------------------------------------

    def _get_checkpoint(self, stream: str, shard: str) -> Checkpoint | None:
        self.stats.read_requests += 1
        row = self._checkpoint_row(stream, shard)
        return self._checkpoint(stream, shard, *row) if row else None

    def _checkpoint_row(self, stream: str, shard: str) -> tuple[Any, Any] | None:
        """The shard's (position, newest_event), or None for a shard never applied. `=` never matches text to a
        blob, so a stream or shard edited into a blob of its own bytes hid its row: the shard looked new and its
        records were applied again. Only a miss (a new shard's first batch) looks for that row, and names it."""
        db = self.db
        row = db.execute(
            "SELECT position, newest_event FROM checkpoints WHERE stream = ? AND shard = ?", (stream, shard)
        ).fetchone()
        if row is None and (hidden := db.execute(
            "SELECT stream, shard, position, newest_event FROM checkpoints "
            "WHERE stream IN (?, CAST(? AS BLOB)) AND shard IN (?, CAST(? AS BLOB))", (stream, stream, shard, shard)
        ).fetchone()):
            self._checkpoint(*hidden)  # raises: a blob is never a checkpoint's stream or shard
        return row

    def _list_checkpoints(self) -> list[Checkpoint]:
        self.stats.read_requests += 1
        rows = self.db.execute("SELECT stream, shard, position, newest_event FROM checkpoints").fetchall()
        return [self._checkpoint(*row) for row in rows]

    def _checkpoint(self, stream: Any, shard: Any, position: Any, newest: Any) -> Checkpoint:
        for name, value in (("stream", stream), ("shard", shard)):
            if type(value) is not str:  # the columns' TEXT affinity keeps a blob a blob
                raise self._damaged(f"the {name} of a checkpoint", value)
        if newest is not None and (type(newest) not in (int, float) or not math.isfinite(newest)):
            raise self._damaged(f"the newest event time of the checkpoint of {stream}/{shard}", newest)
        return Checkpoint(stream, shard, self._position(stream, shard, position), newest)

    def _position(self, stream: str, shard: str, position: Any) -> Position:
        try:
            return stored_position(position)
        except ValueError:
            raise self._damaged(f"the position of the checkpoint of {stream}/{shard}", position) from None

    def _get_head_items(self, correlation_ids: list[str]) -> dict[str, tuple[Any, Any]]:
        self.stats.read_requests += 1
        items: dict[str, tuple[Any, Any]] = {}
        for offset in range(0, len(correlation_ids), 500):
            chunk = correlation_ids[offset : offset + 500]
            marks = ",".join("?" * len(chunk))
            for cid, version, doc in self.db.execute(
                f"SELECT correlation_id, version, doc FROM traces WHERE correlation_id IN ({marks})", chunk
            ):
                items[cid] = (version, doc)
        return items

    def _get_digests(self, keys: list[DigestKey]) -> dict[DigestKey, tuple[bytes, int]]:
        self.stats.read_requests += 1
        found = {}
        for sketch, resolution, bucket, data, version in self._select_digests("data, version", keys):
            key = DigestKey(sketch, resolution, bucket)
            found[key] = (self._blob(data, f"the digest {key}"),
                          self._integer(version, f"the version of the digest {key}"))
        return found

    def _digest_versions(self, keys: list[DigestKey]) -> dict[DigestKey, int]:
        found = {}
        for sketch, resolution, bucket, version in self._select_digests("version", keys):
            key = DigestKey(sketch, resolution, bucket)
            found[key] = self._integer(version, f"the version of the digest {key}")
        return found

    def _select_digests(self, columns: str, keys: list[DigestKey]) -> Iterator[tuple[Any, ...]]:
        """Rows (sketch, resolution, bucket, *columns) of `keys`, a few hundred keys a statement."""
        for offset in range(0, len(keys), 300):  # 3 variables a key, under the 999 of older SQLite builds
            chunk = keys[offset : offset + 300]
            marks = ",".join(["(?, ?, ?)"] * len(chunk))
            yield from self.db.execute(  # CROSS JOIN keeps the keys outside: a primary-key search per key
                f"SELECT sketch, resolution, bucket, {columns} FROM (VALUES {marks}) AS k CROSS JOIN digests "
                "ON sketch = k.column1 AND resolution = k.column2 AND bucket = k.column3",
                [part for key in chunk for part in key],
            )

    def _commit(self, commit: Commit, digests: dict[DigestKey, tuple[bytes, int]]) -> None:
        db = self.db
        self._begin()
        try:
            advance = commit.checkpoint
            if advance is not None:
                row = self._checkpoint_row(advance.stream, advance.shard)
                current = self._position(advance.stream, advance.shard, row[0]) if row else None
                if current != advance.expected:
                    raise CommitConflictError(
                        f"checkpoint of {advance.shard} moved: expected {advance.expected}, found {current}"
                    )
                db.execute(
                    "INSERT INTO checkpoints VALUES (?, ?, ?, ?) ON CONFLICT (stream, shard) DO UPDATE "
                    "SET position = excluded.position, newest_event = excluded.newest_event",
                    (advance.stream, advance.shard, advance.position.encode(), advance.newest_event),
                )
            db.executemany(  # one statement for the whole commit: a call per row group cost more than the rows
                "INSERT INTO counters VALUES (?, ?, ?, ?, ?) ON CONFLICT (sli, resolution, bucket, field) "
                "DO UPDATE SET value = value + excluded.value",
                [
                    (sli, resolution, bucket, name, value)
                    for (sli, resolution, bucket), fields in commit.counters.items()
                    for name, value in fields.items()
                ],
            )
            for (sli, bucket), ids in commit.exemplars.items():
                (last,) = db.execute(
                    "SELECT COALESCE(MAX(seq), -1) FROM exemplars WHERE sli = ? AND bucket = ?", (sli, bucket)
                ).fetchone()
                db.executemany(
                    "INSERT INTO exemplars VALUES (?, ?, ?, ?)",
                    [(sli, bucket, last + 1 + i, cid) for i, cid in enumerate(ids)],
                )
            db.executemany(
                "INSERT INTO gauges VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                list(commit.gauges.items()),
            )
            if digests:
                # versions are checked under the write lock (BEGIN IMMEDIATE), then written set-wise
                stored_versions = self._digest_versions(list(digests))
                for key, (_blob, version) in digests.items():
                    if stored_versions.get(key) != (version or None):
                        moved = "was created concurrently" if version == 0 else "moved"
                        raise CommitConflictError(f"digest {key} {moved}")
                db.executemany(
                    "UPDATE digests SET data = ?, version = version + 1 "
                    "WHERE sketch = ? AND resolution = ? AND bucket = ? AND version = ?",
                    [(blob, *key, version) for key, (blob, version) in digests.items() if version],
                )
                db.executemany(
                    "INSERT INTO digests VALUES (?, ?, ?, ?, 1)",
                    [(*key, blob) for key, (blob, version) in digests.items() if not version],
                )
            created = [(cid, write) for cid, write in commit.heads.items() if write.head.version == 0]
            inserting = ""  # the head being inserted: executemany takes each row just before it runs it
            try:
                db.executemany(
                    "INSERT INTO traces VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
                    ((inserting := cid, *_head_values(write)) for cid, write in created),
                )
            except sqlite3.IntegrityError:
                raise CommitConflictError(f"trace {inserting} was created concurrently") from None
            for cid, write in commit.heads.items():
                head = write.head
                if head.version != 0:
                    values = _head_values(write)
                    updated = db.execute(
                        "UPDATE traces SET version = version + 1, workflow_id = ?, repository = ?, "
                        "first_seen_ms = ?, open_since_ms = ?, expires_at = ?, doc = ? "
                        "WHERE correlation_id = ? AND version = ?",
                        (*values, cid, head.version),
                    ).rowcount
                    if not updated:
                        raise CommitConflictError(f"trace {cid} moved")
            self._finish()
        except BaseException:
            self._abandon()
            raise
        self._close_full_group()
        self.stats.write_requests += 1
        self.stats.items_written += commit.item_count()

    # --- reads ----------------------------------------------------------------------------------------

    def _damaged(self, what: str, value: Any) -> CorruptItemError:
        """A row holding what SQLite let its column hold but the store never writes (another program's file with
        these tables, a hand edit): one error naming it, not a TypeError from whatever adds it up."""
        shown = repr(value)
        shown = shown if len(shown) <= 40 else f"{shown[:40]}…"
        return CorruptItemError(f"{self.path}: a damaged store: {what} holds {shown}")

    def _integer(self, value: Any, what: str) -> int:
        if type(value) is not int:
            raise self._damaged(what, value)
        return value

    def _blob(self, value: Any, what: str) -> bytes:
        if type(value) is not bytes:  # text in a BLOB column: bytes() of it was a TypeError, of an integer zeros
            raise self._damaged(what, value)
        return value

    def _query_buckets(self, sli: str, resolution: str, start: int, end: int) -> Rows:
        self.stats.read_requests += 1
        rows: dict[int, dict[str, int]] = {}
        for bucket, name, value in self.db.execute(
            "SELECT bucket, field, value FROM counters "
            "WHERE sli = ? AND resolution = ? AND bucket >= ? AND bucket < ?",
            (sli, resolution, start, end),
        ):
            if type(value) is not int:
                raise self._damaged(f"the {name} counter of {sli} at {bucket}", value)
            rows.setdefault(bucket, {})[name] = value
        return rows

    def _put_revision(self, sli: str, revision: str, first_seen: int) -> None:
        self.stats.write_requests += 1
        self.db.execute(
            "INSERT INTO revisions VALUES (?, ?, ?) ON CONFLICT (sli, revision) "
            "DO UPDATE SET first_seen = min(first_seen, excluded.first_seen)",
            (sli, revision, first_seen),
        )

    def _query_revisions(self, sli: str) -> dict[str, int]:
        self.stats.read_requests += 1
        rows = self.db.execute("SELECT revision, first_seen FROM revisions WHERE sli = ?", (sli,)).fetchall()
        return {revision: self._integer(first, f"the revision {revision} of {sli}") for revision, first in rows}

    def _get_gauge(self, name: str) -> int:
        self.stats.read_requests += 1
        row = self.db.execute("SELECT value FROM gauges WHERE name = ?", (name,)).fetchone()
        return self._integer(row[0], f"the gauge {name}") if row else 0

    def _query_exemplars(self, sli: str, start: int, end: int) -> dict[int, list[str]]:
        self.stats.read_requests += 1
        found: dict[int, list[str]] = {}
        for bucket, cid in self.db.execute(
            "SELECT bucket, correlation_id FROM exemplars WHERE sli = ? AND bucket >= ? AND bucket < ? "
            "ORDER BY bucket, seq",
            (sli, start, end),
        ):
            if type(cid) is not str:
                raise self._damaged(f"the exemplars of {sli} at {bucket}", cid)
            found.setdefault(bucket, []).append(cid)
        return found

    def _query_digests(self, sketch: str, resolution: str, start: int, end: int) -> DigestRows:
        self.stats.read_requests += 1
        return {
            bucket: self._blob(data, f"the digest {DigestKey(sketch, resolution, bucket)}")
            for bucket, data in self.db.execute(
                "SELECT bucket, data FROM digests WHERE sketch = ? AND resolution = ? AND bucket >= ? AND bucket < ?",
                (sketch, resolution, start, end),
            )
        }

    def _find_traces(
        self, workflow_id: str | None, repository: str | None, since_ms: int, until_ms: int, limit: int,
        damaged: dict[str, str] | None,
    ) -> list[tuple[str, int]]:
        # `damaged` stays empty: the column compares as a number, so a first-seen time that is not one (text, a
        # blob) is outside every range searched, and its trace is not found
        self.stats.read_requests += 1
        column, value = ("workflow_id", workflow_id) if workflow_id is not None else ("repository", repository)
        rows = self.db.execute(
            f"SELECT correlation_id, first_seen_ms FROM traces WHERE {column} = ? AND first_seen_ms >= ? "
            "AND first_seen_ms <= ? ORDER BY first_seen_ms DESC LIMIT ?",
            (value, since_ms, until_ms, limit),
        ).fetchall()
        return [(cid, int(first)) for cid, first in rows]

    def _open_units(self, opened_before_ms: int, oldest_applied_ms: int | None) -> list[str]:
        self.stats.read_requests += 1
        rows = self.db.execute(
            "SELECT correlation_id FROM traces WHERE open_since_ms IS NOT NULL AND open_since_ms < ? "
            "AND open_since_ms >= ? ORDER BY open_since_ms, correlation_id",
            (opened_before_ms, self.open_units_since_ms(opened_before_ms)),
        ).fetchall()
        return [cid for (cid,) in rows]

    # --- alerts ---------------------------------------------------------------------------------------

    def _load_alert_states(self, damaged: dict[str, str] | None) -> dict[str, dict[str, Any]]:
        self.stats.read_requests += 1
        states = {}
        for slo, doc in self.db.execute("SELECT slo, doc FROM alert_states"):
            try:
                state = json.loads(doc)
            except (TypeError, ValueError, RecursionError):
                state = None
            if isinstance(state, dict):
                states[slo] = state
            elif damaged is None:
                raise self._damaged(f"the alert state of {slo}", doc)
            else:
                damaged[slo] = str(self._damaged(f"the alert state of {slo}", doc))
        return states

    def _alert_floors(self) -> dict[str, int]:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (ALERT_FLOORS,)).fetchone()
        try:
            return decode_floors(row[0] if row else None)
        except DamagedAttribute:
            raise self._damaged("the alert saves' floors", row[0] if row else None) from None

    def _save_alert_evaluation(
        self, states: dict[str, dict[str, Any]], transitions: list[dict[str, Any]], evaluated_at: int,
        judged: dict[str, int | None],
    ) -> list[dict[str, Any]]:
        db = self.db
        recorded: list[dict[str, Any]] = []
        self._begin()
        try:
            # per SLO, as DynamoDB's conditions are: only the states this save writes, and the SLOs it judged,
            # can make it stale
            marks = ",".join("?" * len(states))
            (newest,) = db.execute(
                f"SELECT COALESCE(MAX(evaluated_at), 0) FROM alert_states WHERE slo IN ({marks})", list(states)
            ).fetchone()
            if self._integer(newest, "an alert state's evaluation time") > evaluated_at:  # a newer one came first
                self._abandon()
                return []
            if judged:
                floors = judged_floors(self._alert_floors(), judged, evaluated_at)
                if floors is None:  # an SLO it judged was judged later already
                    self._abandon()
                    return []
                db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           (ALERT_FLOORS, json.dumps(floors, sort_keys=True)))
            for slo, state in states.items():
                db.execute(
                    "INSERT INTO alert_states VALUES (?, ?, ?) ON CONFLICT (slo) DO UPDATE "
                    "SET evaluated_at = excluded.evaluated_at, doc = excluded.doc "
                    "WHERE alert_states.evaluated_at <= excluded.evaluated_at",
                    (slo, evaluated_at, json.dumps(state, sort_keys=True)),
                )
            (seq,) = db.execute("SELECT COALESCE(MAX(recorded_seq), 0) FROM alert_log").fetchone()
            seq = self._integer(seq, "the recorded order of an alert transition")
            for transition in transitions:
                at = transition_time(transition, evaluated_at)
                seq += 1
                inserted = db.execute(
                    "INSERT OR IGNORE INTO alert_log VALUES (?, ?, ?, ?)",
                    (transition["id"], at, seq, json.dumps(transition, sort_keys=True)),
                ).rowcount
                if inserted:
                    recorded.append(transition)
            self._finish()
        except BaseException:
            self._abandon()
            raise
        self._close_full_group()
        self.stats.write_requests += 1
        return recorded

    def _put_claim(self, claim: NotificationClaim, owner: str, now: float) -> bool:
        pk = claim_pk(claim.slo, claim.group, claim.transition, claim.minute)
        self.stats.write_requests += 1
        # one statement is atomic: insert, or take over the same owner's claim or an expired unpublished lease
        won = self.db.execute(
            "INSERT INTO claims VALUES (?, ?, 0, ?, ?) ON CONFLICT (pk) DO UPDATE "
            "SET owner = excluded.owner, lease_until = excluded.lease_until "
            "WHERE claims.published = 0 AND (claims.owner = excluded.owner OR claims.lease_until < ?)",
            (pk, owner, now + claim.lease_seconds, claim_expires_at(claim.minute), now),
        ).rowcount
        return bool(won)

    def _settle_claim(self, claim: NotificationClaim, owner: str, published: bool) -> None:
        pk = claim_pk(claim.slo, claim.group, claim.transition, claim.minute)
        self.stats.write_requests += 1
        if published:
            self.db.execute("UPDATE claims SET published = 1 WHERE pk = ? AND owner = ?", (pk, owner))
        else:
            self.db.execute("DELETE FROM claims WHERE pk = ? AND owner = ? AND published = 0", (pk, owner))

    def _claim_published(self, claim: NotificationClaim) -> bool:
        pk = claim_pk(claim.slo, claim.group, claim.transition, claim.minute)
        self.stats.read_requests += 1
        row = self.db.execute("SELECT published FROM claims WHERE pk = ?", (pk,)).fetchone()
        return bool(row and row[0])

    def _insert_document(self, pk: str, sk: str, doc: dict[str, Any]) -> bool:
        self.stats.write_requests += 1
        with self.db:
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO documents VALUES (?, ?, ?)", (pk, sk, json.dumps(doc, sort_keys=True))
            ).rowcount
        return bool(inserted)

    def _list_documents(self, pk: str) -> list[tuple[str, Any]]:
        self.stats.read_requests += 1
        try:
            rows = self.db.execute("SELECT sk, doc FROM documents WHERE pk = ? ORDER BY sk", (pk,)).fetchall()
        except sqlite3.OperationalError:
            return []  # a store written before documents existed, opened read-only: it has none
        documents: list[tuple[str, Any]] = []
        for sk, doc in rows:
            try:
                documents.append((sk, json.loads(doc)))
            except (TypeError, ValueError, RecursionError):
                documents.append((sk, self._damaged(f"the document {sk} under {pk}", doc)))
        return documents

    def _delete_document(self, pk: str, sk: str) -> bool:
        self.stats.write_requests += 1
        with self.db:
            return bool(self.db.execute("DELETE FROM documents WHERE pk = ? AND sk = ?", (pk, sk)).rowcount)

    def _alert_log(self, since: int | None) -> list[dict[str, Any]]:
        self.stats.read_requests += 1
        rows = self.db.execute(
            "SELECT id, doc FROM alert_log WHERE at >= ? ORDER BY at, recorded_seq", (since or 0,)
        ).fetchall()
        log = []
        for transition_id, doc in rows:
            try:
                log.append(json.loads(doc))
            except (TypeError, ValueError, RecursionError):
                raise self._damaged(f"the alert transition {transition_id}", doc) from None
        return log


