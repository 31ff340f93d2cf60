"""A trace head's stored document is the codec's bytes on both adapters: its JSON when small, zlib'd when large.
A head written before small ones were kept raw (zlib at every size) still reads, and its next write is raw.

The helpers (tests/stored_items.py) read and overwrite the `doc` column or attribute directly, as an older slo
would have written it.
"""

from __future__ import annotations

import zlib

import pytest

from processors.stitching import TraceEvent, TraceHead
from processors.store import Commit, HeadWrite, keys
from processors.store.exceptions import CorruptItemError
from processors.store.types import HeadsRead
from tests.builders import T0, cid
from tests.stored_items import overwrite_doc, overwrite_version, stored_doc, stored_item

FIRST_SEEN_MS = int(T0 * 1000)


def request_head(n: int, events: int) -> TraceHead:
    """A head of `events` API requests: one is ~300 bytes of JSON, twenty are ~3.5 KB."""
    return TraceHead(
        correlation_id=cid(n), first_seen_ms=FIRST_SEEN_MS,
        events=[TraceEvent(FIRST_SEEN_MS + i, "api", "request.completed", "INFO", {"status": 200, "path": f"/v1/{i}"})
                for i in range(events)],
    )


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


DAMAGES = [
    ("bytes that are neither JSON nor zlib", b"\x00\xffnot a head"),
    ("a zlib stream cut short", zlib.compress(b'{"milestones":{}}' * 40, 6)[:-4]),
    ("JSON cut short", b'{"milestones":{"runner_started":'),
]


@pytest.mark.parametrize("doc", [doc for _, doc in DAMAGES], ids=[case for case, _ in DAMAGES])
def test_a_head_that_does_not_decode_is_set_apart_by_read_heads_and_refused_by_heads_on_every_adapter(store, doc):
    store.commit(Commit(heads={cid(n): HeadWrite(request_head(n, 1), ttl=0) for n in (1, 2)}))
    overwrite_doc(store, cid(2), doc)
    read = store.read_heads([cid(1), cid(2), cid(3)])
    assert set(read.heads) == {cid(1)} and read.damaged == {cid(2)}  # cid(3) was never stored: neither
    with pytest.raises(CorruptItemError, match=f"the stored trace {cid(2)} does not decode"):
        store.heads([cid(1), cid(2)])
    assert stored_doc(store, cid(2)) == doc  # reading changes nothing


@pytest.mark.parametrize("edit", ["REMOVE doc", "SET v = :text", "SET doc = :text"])
def test_a_head_item_an_edit_left_without_a_binary_doc_or_a_numeric_version_is_damaged(dynamodb_store, edit):
    dynamodb_store.commit(Commit(heads={cid(1): HeadWrite(request_head(1, 1), ttl=0)}))
    values = {":text": {"S": "edited"}} if ":text" in edit else {}
    dynamodb_store.client.update_item(TableName=dynamodb_store.table, UpdateExpression=edit,
                                      Key={"PK": {"S": keys.trace_pk(cid(1))}, "SK": {"S": keys.SK_TRACE_HEAD}},
                                      **({"ExpressionAttributeValues": values} if values else {}))
    assert dynamodb_store.read_heads([cid(1)]) == HeadsRead({}, frozenset({cid(1)}))


@pytest.mark.parametrize("version", ["1.5", "-1", str(2**63 - 1)],
                         ids=["a fraction", "a negative number", "SQLite's largest integer, which no write increments"])
def test_a_head_whose_stored_version_is_not_a_non_negative_integer_is_damaged_on_every_adapter(store, version):
    store.commit(Commit(heads={cid(n): HeadWrite(request_head(n, 1), ttl=0) for n in (1, 2)}))
    overwrite_version(store, cid(2), version)
    item = stored_item(store, cid(2))
    read = store.read_heads([cid(1), cid(2)])
    assert set(read.heads) == {cid(1)} and read.damaged == {cid(2)}  # read as 1, every conditional write conflicted
    with pytest.raises(CorruptItemError, match=f"the stored trace {cid(2)} does not decode"):
        store.trace(cid(2))
    assert stored_item(store, cid(2)) == item
