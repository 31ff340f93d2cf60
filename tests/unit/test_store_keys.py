"""The store codec (processors/store/keys.py): series ids, bucket keys, TTLs, the head and partial encodings."""

from __future__ import annotations

import hashlib
import json
import re
import tracemalloc
import zlib

import pytest

from processors import conventions
from processors.decoding import Position
from processors.stitching import TraceEvent, TraceHead
from processors.store import keys
from processors.store.exceptions import CorruptItemError
from tests.builders import T0


@pytest.mark.parametrize(
    ("sli", "revision", "group", "expected"),
    [
        ("api-availability", "", "", "api-availability"),
        ("api-availability", "3f2a", "", "api-availability@3f2a"),
        ("deploy-success", "3f2a", "acme/web", "deploy-success@3f2a/acme%2Fweb"),
        ("deploy-success", "", "acme/web", "deploy-success@/acme%2Fweb"),
        ("deploy-success", "r1", "a#b c", "deploy-success@r1/a%23b%20c"),
    ],
    ids=[
        "an sli alone is its own series id",
        "a revision is appended after an at sign",
        "a group is quoted after the revision",
        "a group without a revision keeps the at sign",
        "a group never leaks the key separator",
    ],
)
def test_series_ids_are_built_in_one_shape(sli, revision, group, expected):
    assert keys.series_id(sli, revision, group) == expected


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ("deploy-success@abc12345", ("deploy-success", "abc12345")),
        ("deploy-success@abc12345/org%2Frepo%40x", ("deploy-success", "abc12345")),
        ("_trace-coverage", None),
        ("deploy-success@/repo", None),
    ],
    ids=[
        "a revisioned series gives its SLI and revision",
        "a group (quoted, so never an @ or /) is left out",
        "a plain series is not revisioned",
        "a group without a revision has no revision to record",
    ],
)
def test_a_series_id_reads_back_its_sli_and_revision(series, expected):
    assert keys.series_revision(series) == expected


def test_bucket_keys_sort_in_time_order_and_round_trip():
    buckets = [int(T0) + n * 3599 for n in range(50)]
    buckets = [b - b % 60 for b in buckets]
    assert sorted(keys.bucket_key(b) for b in buckets) == [keys.bucket_key(b) for b in sorted(buckets)]
    assert all(keys.bucket_from_key(keys.bucket_key(b)) == b for b in buckets)


def test_partial_sort_keys_follow_position_order():
    positions = [Position(9, 0, 0), Position(10, 0, 0), Position(10, 0, 2), Position(10, 1, 0), Position(10**50)]
    assert sorted(positions, key=keys.partial_sk) == positions


def test_minute_and_hour_buckets_expire_after_their_ttls():
    assert keys.bucket_expires_at(conventions.RESOLUTION_MINUTE, 600) == 600 + 40 * conventions.DAY
    assert keys.bucket_expires_at(conventions.RESOLUTION_HOUR, 3600) == 3600 + 400 * conventions.DAY
    assert keys.trace_expires_at(1_500_000, 10) == 1510


def test_a_trace_head_round_trips_through_its_encoding():
    head = TraceHead(correlation_id="c1", milestones={"a": 1}, workflow_id="w", first_seen_ms=5, open_since_ms=7)
    decoded = keys.decode_head("c1", 3, keys.encode_head(head))
    assert (decoded.version, decoded.milestones, decoded.workflow_id, decoded.open_since_ms) == (3, {"a": 1}, "w", 7)


def head_of_json_size(size: int) -> TraceHead:
    """A one-request head whose compact JSON is exactly `size` bytes (padded in one metadata string)."""
    def head(padding: str) -> TraceHead:
        return TraceHead(correlation_id="c1", first_seen_ms=5,
                         events=[TraceEvent(5, "api", "request.completed", "INFO", {"path": padding})])
    base = len(head("").compact_json())
    return head("x" * (size - base))


@pytest.mark.parametrize(
    ("size", "compressed"),
    [(300, False), (keys.HEAD_RAW_BELOW - 1, False), (keys.HEAD_RAW_BELOW, True), (2600, True)],
    ids=[
        "a one-request head of 300 bytes is stored as its JSON",
        "a head one byte under the threshold is stored as its JSON",
        "a head at the threshold is zlib'd",
        "a journey head of 2.6 KB is zlib'd",
    ],
)
def test_a_head_is_stored_as_json_below_the_threshold_and_zlibbed_from_it(size, compressed):
    head = head_of_json_size(size)
    document = head.compact_json().encode()
    assert len(document) == size
    blob = keys.encode_head(head)
    if compressed:
        assert blob[:1] == b"\x78" and len(blob) < size and zlib.decompress(blob) == document
    else:
        assert blob == document
    assert keys.decode_head("c1", 2, blob).to_json() == head.to_json()


@pytest.mark.parametrize("size", [300, 2600], ids=["a small head", "a large head"])
def test_a_head_written_the_old_way_zlib_at_any_size_still_decodes(size):
    head = head_of_json_size(size)
    old = zlib.compress(json.dumps(head.to_json(), separators=(",", ":")).encode(), 6)  # every head before raw ones
    decoded = keys.decode_head("c1", 4, old)
    assert (decoded.version, decoded.to_json()) == (4, head.to_json())


@pytest.mark.parametrize(
    "blob",
    [b"\x00\xff\x00", b"\x78\x9c\x00", b"{not json", b"[1, 2]", b'{"milestones": {"a": "x"}}',
     zlib.compress(b"{\"events\": [{\"t\": 1}]}"), b'{"milestones": {"a": 1e999}}',
     b'{"events": [{"t": 1e999, "s": "s", "a": "a"}]}',
     zlib.compress(b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
     b'{"events": [{"t": 1, "s": 5, "a": "a"}]}', b'{"events": [{"t": 1, "s": "s", "a": "a", "m": [1]}]}',
     b'{"firstSeen": "x"}', b'{"openSince": "x"}', b'{"workflowId": [1]}', b'{"repository": {"a": 1}}',
     b'{"claims": {"a": 1}}'],
    ids=["junk", "a broken zlib stream", "broken JSON", "not an object", "a milestone not a time", "an event short",
         "a milestone too large for an int", "an event time too large for an int", "JSON nested too deep",
         "an event service not a string", "an event's metadata not an object", "a first-seen time not a number",
         "an open-since time not a number", "a workflow ID not a string", "a repository not a string",
         "a claim not a string"],
)
def test_a_stored_head_that_does_not_decode_is_one_store_error_naming_it(blob):
    with pytest.raises(CorruptItemError, match="the stored trace c1 does not decode"):
        keys.decode_head("c1", 1, blob)


def test_a_head_that_is_not_utf8_is_named_without_quoting_its_stored_bytes():
    with pytest.raises(CorruptItemError) as raised:
        keys.decode_head("c1", 1, b'{"workflowId": "\xe9"}')
    assert str(raised.value) == "the stored trace c1 does not decode: not UTF-8 at byte 16"


@pytest.mark.parametrize("compressed", [True, False], ids=["zlib'd", "raw JSON"])
def test_a_head_document_past_the_bound_is_damaged_and_is_not_inflated_whole(compressed):
    document = b'{"events": [], "x": "' + b" " * (64 * 1024 * 1024) + b'"}'  # an edit: JSON the stitcher never writes
    blob = zlib.compress(document, 9) if compressed else document
    tracemalloc.start()
    try:
        with pytest.raises(CorruptItemError, match="the stored trace c1 does not decode: a document over"):
            keys.decode_head("c1", 1, blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * keys.HEAD_DOCUMENT_LIMIT


VERSIONS = [
    ("a fraction", 1.5, False),
    ("a negative number", -1, False),
    ("a bool", True, False),
    ("a float of a whole", 2.0, False),
    ("DynamoDB's N of a fraction", "1.5", False),
    ("DynamoDB's N of a negative number", "-1", False),
    ("text that is not a number", "one", False),
    ("a digit that is not ASCII", "\u0663", False),
    ("nothing", None, False),
    ("SQLite's largest integer, which no write can increment", 2**63 - 1, False),
    ("DynamoDB's N of SQLite's largest integer", str(2**63 - 1), False),
    ("DynamoDB's N of 38 digits", "9" * 38, False),
    ("the largest version a write can increment", 2**63 - 2, True),
    ("SQLite's integer", 3, True),
    ("DynamoDB's N string", "3", True),
    ("zero", 0, True),
]


@pytest.mark.parametrize("version, decodes", [(v, ok) for _, v, ok in VERSIONS], ids=[case for case, _, _ in VERSIONS])
def test_a_head_decodes_only_with_a_version_that_is_a_non_negative_integer(version, decodes):
    blob = keys.encode_head(head_of_json_size(300))
    if decodes:
        assert keys.decode_head("c1", version, blob).version == int(version)
    else:
        with pytest.raises(CorruptItemError, match="the stored trace c1 does not decode: a version that is not"):
            keys.decode_head("c1", version, blob)


def test_a_partial_delta_round_trips_and_unknown_formats_are_refused():
    delta = keys.PartialDelta(
        counters={("api", "m", 60): {"good": 1, "total": 2}, ("cache", "h", 0): {"g1": 1, "t1": 1}},
        exemplars={("api", 60): ["c1", "c2"]},
        digests={("queue", "m", 60): b"\x01\x02\x00"},
        gauges={"runners-active": -1},
    )
    assert keys.decode_partial(keys.encode_partial(delta)) == delta
    import json
    import zlib

    future = zlib.compress(json.dumps({"f": 99}).encode())
    with pytest.raises(ValueError, match="format 99"):
        keys.decode_partial(future)


def test_a_partial_keeps_its_batch_arrival_and_one_written_without_it_reads_as_none():
    delta = keys.PartialDelta(counters={("api", "m", 60): {"good": 1, "total": 1}}, arrival=1790812881.1585314)
    assert keys.decode_partial(keys.encode_partial(delta)).arrival == 1790812881.1585314
    without = keys.PartialDelta(counters={("api", "m", 60): {"good": 1, "total": 1}})
    assert keys.decode_partial(keys.encode_partial(without)).arrival is None
    import zlib

    assert b'"a"' not in zlib.decompress(keys.encode_partial(without)), "older readers see no change"


def test_pending_sort_keys_order_by_newest_event_then_write_time():
    first = keys.pending_gsi_sk(100.5, 2, "PART#s#a", "x")
    second = keys.pending_gsi_sk(100.5, 10, "PART#s#b", "x")
    third = keys.pending_gsi_sk(101.0, 1, "PART#s#a", "y")
    assert first < second < third
    assert first < keys.pending_bound(100.6) <= third
    assert keys.pending_newest_ms(third) == 101_000


def test_partial_keys_sort_in_position_order_up_to_the_longest_sequence_decoding_takes() -> None:
    longest = 10**conventions.MAX_SEQUENCE_DIGITS - 1
    positions = [Position(0), Position(7, 1, 2), Position(10**55), Position(longest, 0, 0), Position(longest, 0, 1)]
    assert sorted(positions, key=keys.partial_sk) == positions
    assert len({len(keys.partial_sk(p)) for p in positions}) == 1


def _partial(**pieces: object) -> bytes:
    return zlib.compress(json.dumps({"f": 1, "c": [], "x": [], "d": [], "g": {}, **pieces}).encode())


@pytest.mark.parametrize(("blob", "counters", "lost"), [
    (_partial(c=[["api", "m", 60, {"good": 1}], ["api", "m", 10**20, {"good": 1}]]), {("api", "m", 60): {"good": 1}},
     r"its counter row 1 \["),
    (_partial(c=[["api", "m", 60, {"good": 1.5}]]), {}, "its counter row 0"),
    (_partial(c=[["api", "m", 60.0, {"good": 1}]]), {}, "its counter row 0"),
    (_partial(c=[["api", "m", 60, {"good": True}]]), {}, "its counter row 0"),
    (_partial(c=[["api", "m", 60, {"good": 1}]], g=[]), {("api", "m", 60): {"good": 1}}, "its gauges are"),
    (_partial(c="x"), {}, 'its counters are "x", not a JSON array'),
    (b"\xde\xad", {}, r"it does not decode \(error: "),
    (_partial(c=[["api", "m", 60, {"good": 1, "expiresAt": 1}]]), {}, "its counter row 0"),
    (_partial(c=[["api", "m", 60, {"good": 1, "x": 1}]]), {}, "its counter row 0"),
    (_partial(c=[["api", "h", 60, {"GSI4PK": 1}]]), {}, "its counter row 0"),
    (_partial(c=[["api", "m", 60, {"": 1}]]), {}, "its counter row 0"),
    (_partial(g={"": 1}), {}, 'its gauge "" holds 1'),
    (_partial(x=[["api", 60, [f"cid-{n}" for n in range(6)]], ["api", 120, [f"cid-{n}" for n in range(5)]]]), {},
     "its exemplar row 0"),
    (_partial(x=[["api", 60, [""]]]), {}, "its exemplar row 0"),
    (_partial(c=[["é" * 1100, "m", 60, {"good": 1}], ["é" * 1000, "m", 60, {"good": 1}]]),  # 2,202 and 2,002 bytes
     {("é" * 1000, "m", 60): {"good": 1}}, "its counter row 0"),
], ids=["a bucket no key can name", "a count of 1.5", "a bucket of 60.0", "a count of true", "gauges not an object",
        "counters not a list", "bytes that are not zlib", "a count of the item's TTL", "a count of its exemplars",
        "a count of an index key", "a count without a name", "a gauge without a name",
        "six exemplars of a minute", "an exemplar without an id", "a key past DynamoDB's bound"])
def test_a_partial_piece_that_is_not_what_the_store_writes_is_lost_and_named_and_the_rest_decodes(
        blob: bytes, counters: dict[tuple[str, str, int], dict[str, int]], lost: str) -> None:
    """int() read 1.5 and true as 1 and took any bucket (the rollup's bucket_key then raised); a piece that did
    not decode failed the whole partial, every read and every rollup."""
    delta = keys.decode_partial(blob)
    assert delta.counters == counters
    (named,) = delta.lost
    assert re.match(lost, named)


def test_a_partial_that_inflates_past_the_bound_is_lost_whole_and_is_not_inflated_whole():
    """Every read and the rollup inflate every pending partial: a zlib bomb edited into one (a 400 KB item can
    inflate to ~400 MB) took that much memory in the evaluator each minute."""
    document = b'{"f": 1, "c": [], "x": "' + b" " * (64 * 1024 * 1024) + b'"}'
    blob = zlib.compress(document, 9)
    tracemalloc.start()
    try:
        delta = keys.decode_partial(blob)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert delta.lost == [f"it inflates past {keys.PARTIAL_DOCUMENT_LIMIT} bytes"] and delta.is_empty()
    assert peak < 3 * keys.PARTIAL_DOCUMENT_LIMIT


def test_a_partial_cut_short_is_lost_whole_and_named():
    whole = keys.encode_partial(keys.PartialDelta(counters={("api", "m", 60): {"good": 1}}))
    delta = keys.decode_partial(whole[:-4])  # its adler32 trailer cut off
    assert delta.is_empty() and delta.lost[0].startswith("it does not decode (error: ")


def test_a_partial_of_a_million_pieces_that_do_not_decode_names_a_few_and_counts_the_rest() -> None:
    """A 10 KB edit of "c": [0, 0, ...] named each of its rows: 214 MB of clauses in memory on every read, and as
    one line in the rollup's report and the evaluator's ERROR log."""
    n = 1_000_000
    blob = zlib.compress(b'{"f":1,"c":[' + b",".join([b"0"] * n) + b'],"x":[],"d":[],"g":{}}', 9)
    delta = keys.decode_partial(blob)
    assert delta.is_empty() and len(delta.lost) == keys.LOST_NAMED and delta.lost_unnamed == n - keys.LOST_NAMED
    assert delta.loss().endswith(f"; and {n - keys.LOST_NAMED} more pieces") and len(delta.loss()) < 500


@pytest.mark.parametrize(
    ("stream", "shard"),
    [("arn:aws:kinesis:us-east-1:123456789012:stream/logs", "shardId-000000000000"), ("s" * 900, "shard-0"),
     ("file:/" + "é" * 508, "x"), ("a#b", "c"), ("~sha256:" + "0" * 64, "shard-0")],
    ids=["a Kinesis ARN", "903 bytes of names", "1,024 bytes of a checkpoint's key", "a stream holding #",
         "a stream that looks like a digest"],
)
def test_names_within_the_key_limits_keep_the_keys_every_store_was_written_with(stream, shard):
    assert keys.checkpoint_sk(stream, shard) == f"{stream}#{shard}"
    assert not keys.checkpoint_names_kept(stream, shard)
    assert keys.checkpoint_names({"SK": {"S": f"{stream}#{shard}"}}) == keys.checkpoint_from_sk(f"{stream}#{shard}")
    if len(f"{stream}#{shard}".encode()) <= 903:
        assert keys.partial_pk(stream, shard) == f"PART#{stream}#{shard}"


@pytest.mark.parametrize("length", [904, 1_000, 3_000, 100_000])
def test_names_past_the_key_limits_are_keyed_by_their_digest_and_every_key_fits(length):
    stream, shard = "s" * (length - len("#shard-0")), "shard-0"
    digest = "~sha256:" + hashlib.sha256(f"{stream}#{shard}".encode()).hexdigest()
    assert keys.partial_pk(stream, shard) == f"PART#{digest}"
    checkpoint = keys.checkpoint_sk(stream, shard)
    assert checkpoint == (digest if length > 1024 else f"{stream}#{shard}")
    assert keys.checkpoint_names_kept(stream, shard) == (length > 1024)
    position = Position(10**conventions.MAX_SEQUENCE_DIGITS - 1, 2**31, 2**31)
    pk, sk = keys.partial_pk(stream, shard), keys.partial_sk(position)
    index_key = keys.pending_gsi_sk(4_102_444_800, 2**63 - 1, pk, sk)
    assert len(index_key.encode()) <= 1024 and len(checkpoint.encode()) <= 1024 and len(pk.encode()) <= 2048


def test_a_digest_keyed_checkpoint_reads_its_names_back_and_only_names_that_are_its_digests():
    stream, shard = "file:/" + "p" * 3000, "shard-0"
    key = keys.checkpoint_sk(stream, shard)
    assert keys.checkpoint_names({"SK": {"S": key}, "stream": {"S": stream}, "shard": {"S": shard}}) == (stream, shard)
    for damaged in ({}, {"stream": {"S": stream}}, {"stream": {"S": stream + "x"}, "shard": {"S": shard}},
                    {"stream": {"B": b"x"}, "shard": {"S": shard}}, {"stream": "x", "shard": {"S": shard}}):
        with pytest.raises(ValueError):
            keys.checkpoint_names({"SK": {"S": key}, **damaged})
