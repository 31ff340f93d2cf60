"""A trace head's stored document is the codec's bytes on both adapters: its JSON when small, zlib'd when large.
A head written before small ones were kept raw (zlib at every size) still reads, and its next write is raw.

The helpers read and overwrite the `doc` column or attribute directly, as an older slo would have written it.
"""

from __future__ import annotations

import zlib

from processors.stitching import TraceEvent, TraceHead
from processors.store import Commit, DynamoDBStore, HeadWrite, SqliteStore, keys
from tests.builders import T0, cid

FIRST_SEEN_MS = int(T0 * 1000)


def request_head(n: int, events: int) -> TraceHead:
    """A head of `events` API requests: one is ~300 bytes of JSON, twenty are ~3.5 KB."""
    return TraceHead(
        correlation_id=cid(n), first_seen_ms=FIRST_SEEN_MS,
        events=[TraceEvent(FIRST_SEEN_MS + i, "api", "request.completed", "INFO", {"status": 200, "path": f"/v1/{i}"})
                for i in range(events)],
    )


def stored_doc(store: SqliteStore | DynamoDBStore, correlation_id: str) -> bytes:
    if isinstance(store, SqliteStore):
        (doc,) = store.db.execute("SELECT doc FROM traces WHERE correlation_id = ?", (correlation_id,)).fetchone()
        return bytes(doc)
    key = {"PK": {"S": keys.trace_pk(correlation_id)}, "SK": {"S": keys.SK_TRACE_HEAD}}
    return bytes(store.client.get_item(TableName=store.table, Key=key)["Item"]["doc"]["B"])


def overwrite_doc(store: SqliteStore | DynamoDBStore, correlation_id: str, doc: bytes) -> None:
    if isinstance(store, SqliteStore):
        store.db.execute("UPDATE traces SET doc = ? WHERE correlation_id = ?", (doc, correlation_id))
        return
    key = {"PK": {"S": keys.trace_pk(correlation_id)}, "SK": {"S": keys.SK_TRACE_HEAD}}
    store.client.update_item(TableName=store.table, Key=key, UpdateExpression="SET doc = :d",
                             ExpressionAttributeValues={":d": {"B": doc}})


def test_a_small_head_is_stored_as_its_json_and_a_large_one_zlibbed_on_every_adapter(store):
    small, large = request_head(1, 1), request_head(2, 20)
    store.commit(Commit(heads={cid(1): HeadWrite(small, ttl=0), cid(2): HeadWrite(large, ttl=0)}))
    assert stored_doc(store, cid(1)) == small.compact_json().encode()
    large_doc = stored_doc(store, cid(2))
    assert large_doc[:1] == b"\x78" and zlib.decompress(large_doc) == large.compact_json().encode()
    assert len(large_doc) < len(large.compact_json()) // 2
    read = store.heads([cid(1), cid(2)])
    assert {c: h.to_json() for c, h in read.items()} == {cid(1): small.to_json(), cid(2): large.to_json()}


def test_a_head_written_zlibbed_by_an_older_slo_reads_and_its_next_write_is_raw(store):
    head = request_head(3, 1)
    store.commit(Commit(heads={cid(3): HeadWrite(head, ttl=0)}))
    overwrite_doc(store, cid(3), zlib.compress(head.compact_json().encode(), 6))
    stored = store.trace(cid(3))
    assert stored is not None and stored.version == 1 and stored.to_json() == head.to_json()
    stored.milestones["runner_started"] = FIRST_SEEN_MS
    store.commit(Commit(heads={cid(3): HeadWrite(stored, ttl=0)}))
    assert stored_doc(store, cid(3))[:1] == b"{"
    assert store.trace(cid(3)).milestones == {"runner_started": FIRST_SEEN_MS}
