"""A DynamoDB item holding what DynamoDB lets it hold but the store never writes (a console edit, another program
writing the table): a counter or gauge whose number is not an integer, a revision time or alert evaluation time
of another type, a digest without its `d` or one that does not decode, an alert state that is not a JSON object,
a checkpoint whose position or newest time is not what the store writes, a sweep cursor or alert-save version
that is not an integer, a staged alert save that does not read, a transition, document or exemplar of another
type. Each is a CorruptItemError naming the item, as SQLite's rows are (tests/functional/test_smaller_defects.py),
never a TypeError, ValueError or KeyError; reading changes nothing. A shape SQLite's columns can hold too (a
checkpoint's, a digest's) is damaged there the same way. A pending partial is the exception: what of it does not
decode is lost alone, left out of reads and folded without, and named once by the rollup.

The items are edited through the raw client on moto's server, behind the store's back; SQLite's rows through a
connection of their own.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sqlite3
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from processors import conventions
from processors.counting import Counts
from processors.decoding import DecodedRecord, decode_record
from processors.decoding.types import Position
from processors.ingest import Ingestor
from processors.sketch import TDigest
from processors.spec.model import Spec
from processors.store import Commit, DynamoDBStore, SqliteStore, Store, keys, tables
from processors.store.exceptions import CorruptItemError
from processors.store.types import CheckpointAdvance, CounterKey, DigestKey, RollupReport
from tests.builders import T0, cid, cw_payload, gz, kinesis_record, log_line, series
from tests.stored_items import overwrite_document

SLI = conventions.series_id("api-availability", "r1")
SKETCH = "api-latency"
MINUTE = int(T0) - int(T0) % conventions.HOUR
M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
SLO = "api-availability"
STREAM, SHARD = "logs", "shardId-000000000001"


def digest_of(*values: float) -> TDigest:
    return TDigest.from_values(list(values))


def fill(store: Store) -> None:
    """Rolled counter (with an exemplar), revision, gauge and digest items, a checkpoint, an alert state and a
    transition, a silence and the sweep cursor: what every reader below reads."""
    store.commit(Commit(
        checkpoint=CheckpointAdvance(STREAM, SHARD, None, Position(5, 0, 2)),  # no newest: no watermark
        counters={CounterKey(SLI, M, MINUTE): {"good": 2, "total": 3}, CounterKey(SLI, H, MINUTE): {"good": 2,
                                                                                                       "total": 3}},
        exemplars={(SLI, MINUTE): ["cid-1"]},
        digests={DigestKey(SKETCH, M, MINUTE): digest_of(12, 30), DigestKey(SKETCH, H, MINUTE): digest_of(12, 30)},
        gauges={"open-units": 1},
    ))
    assert isinstance(store, SqliteStore) or store.rollup(MINUTE + conventions.DAY).folded == 1
    store.save_alert_evaluation({SLO: {"state": "ok"}}, [TRANSITION], MINUTE + conventions.MINUTE)
    store.add_silence({"id": "s1", "starts": MINUTE, "ends": MINUTE + conventions.HOUR})
    store.open_units(MINUTE + conventions.HOUR)


TRANSITION = {"id": "t1", "at_epoch": MINUTE + conventions.MINUTE, "state": "firing"}


@pytest.fixture
def rolled(dynamodb_store: DynamoDBStore) -> DynamoDBStore:
    fill(dynamodb_store)
    return dynamodb_store


@pytest.fixture
def filled(sqlite_store: SqliteStore) -> SqliteStore:
    fill(sqlite_store)
    return sqlite_store


def table_items(store: DynamoDBStore) -> list[dict[str, Any]]:
    return sorted(store.client.scan(TableName=store.table, ConsistentRead=True)["Items"],
                  key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


COUNTER = (keys.counter_pk(SLI, M), keys.bucket_key(MINUTE))
DIGEST = (keys.digest_pk(SKETCH, M), keys.bucket_key(MINUTE))
REVISION = (keys.revision_pk("api-availability"), keys.revision_sk("r1"))
GAUGE = (keys.PK_GAUGE, "open-units")
STATE = (keys.PK_ALERT_STATE, keys.alert_state_sk(SLO))
CHECKPOINT = (keys.PK_CHECKPOINT, keys.checkpoint_sk(STREAM, SHARD))
SWEEP = (keys.PK_CURSOR, keys.SK_SWEEP)
ALERT_SAVE = (keys.PK_CURSOR, keys.SK_ALERT_SAVE)
LOG = (keys.PK_ALERT_LOG, keys.alert_log_sk(MINUTE + conventions.MINUTE, "t1"))
SILENCE = (keys.SILENCE_PK, keys.silence_sk("s1"))


WINDOW = (MINUTE, MINUTE + conventions.MINUTE)
READ_COUNTERS: Callable[[DynamoDBStore], Any] = lambda s: s.window_counts(SLI, *WINDOW)  # noqa: E731
READ_DIGEST: Callable[[Store], Any] = lambda s: s.digest(SKETCH, *WINDOW)  # noqa: E731
READ_CHECKPOINT: Callable[[Store], Any] = lambda s: s.checkpoint(STREAM, SHARD)  # noqa: E731
LIST_CHECKPOINTS: Callable[[Store], Any] = lambda s: s.newest_event_time()  # noqa: E731
READ_STATES: Callable[[Store], Any] = lambda s: s.load_alert_states()  # noqa: E731
SAVE_STATES: Callable[[Store], Any] = (  # noqa: E731
    lambda s: s.save_alert_evaluation({SLO: {"state": "ok"}}, [], MINUTE + 2 * conventions.MINUTE))
SWEEP_UNITS: Callable[[Store], Any] = lambda s: s.open_units(MINUTE + 2 * conventions.HOUR)  # noqa: E731
STAGED_ID = "0123abcd"
STAGED: dict[str, Any] = {":b": {"B": b"x"}, ":i": {"S": STAGED_ID}}  # the first piece of a save and its id


# (case, item, update expression (#name: an attribute), its values, the read, what the error names)
TAMPERED: list[tuple[str, tuple[str, str], str, dict[str, Any] | None, Callable[[DynamoDBStore], Any], str]] = [
    ("a counter holding 1.5", COUNTER, "SET good = :v", {":v": {"N": "1.5"}}, READ_COUNTERS,
     "the good counter of"),
    ("a counter holding text", COUNTER, "SET good = :v", {":v": {"S": "abc"}}, READ_COUNTERS,
     "the good counter of"),
    ("a revision's first time holding text", REVISION, "SET first_seen = :v", {":v": {"S": "x"}},
     lambda s: s.revisions("api-availability"), "the revision r1 of api-availability"),
    ("a revision's first time holding 1.5", REVISION, "SET first_seen = :v", {":v": {"N": "1.5"}},
     lambda s: s.revisions("api-availability"), "the revision r1 of api-availability"),
    ("a revision without its first time", REVISION, "REMOVE first_seen", None,
     lambda s: s.revisions("api-availability"), "the revision r1 of api-availability"),
    ("a gauge holding text", GAUGE, "SET #value = :v", {":v": {"S": "x"}}, lambda s: s.gauge("open-units"),
     "the gauge open-units"),
    ("a gauge holding 1.5", GAUGE, "SET #value = :v", {":v": {"N": "1.5"}}, lambda s: s.gauge("open-units"),
     "the gauge open-units"),
    ("exemplars that are not a list", COUNTER, "SET x = :v", {":v": {"S": "abc"}},
     lambda s: s.exemplars(SLI, *WINDOW), "the exemplars of"),
    ("exemplars that are not text", COUNTER, "SET x = :v", {":v": {"L": [{"N": "1"}]}},
     lambda s: s.exemplars(SLI, *WINDOW), "the exemplars of"),
    ("a digest without its d", DIGEST, "REMOVE d", None, READ_DIGEST, "digest"),
    ("a digest that is not one", DIGEST, "SET d = :v", {":v": {"B": b"\xde\xad\xbe\xef"}}, READ_DIGEST,
     "digest"),
    ("a digest holding text", DIGEST, "SET d = :v", {":v": {"S": "x"}}, READ_DIGEST, "digest"),
    ("an alert state that is not JSON", STATE, "SET doc = :v", {":v": {"S": "{nope"}},
     lambda s: s.load_alert_states(), f"the alert state of {SLO}"),
    ("an alert state that is a list", STATE, "SET doc = :v", {":v": {"S": "[1]"}},
     lambda s: s.load_alert_states(), f"the alert state of {SLO}"),
    ("an alert state that is a number", STATE, "SET doc = :v", {":v": {"N": "1"}},
     lambda s: s.load_alert_states(), f"the alert state of {SLO}"),
    ("an alert state's time holding text", STATE, "SET #at = :v", {":v": {"S": "x"}},
     lambda s: s.load_alert_states(), f"the alert state of {SLO}"),
    ("a checkpoint's position holding text", CHECKPOINT, "SET #pos = :v", {":v": {"S": "abc"}}, READ_CHECKPOINT,
     f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's position holding a number", CHECKPOINT, "SET #pos = :v", {":v": {"N": "5"}}, READ_CHECKPOINT,
     f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's position spelled otherwise", CHECKPOINT, "SET #pos = :v", {":v": {"S": "05:0:2"}},
     READ_CHECKPOINT, f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint without its position", CHECKPOINT, "REMOVE #pos", None, LIST_CHECKPOINTS,
     f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's newest time holding text", CHECKPOINT, "SET #newest = :v", {":v": {"S": "1.5"}},
     LIST_CHECKPOINTS, f"the newest event time of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's newest time holding a list", CHECKPOINT, "SET #newest = :v", {":v": {"L": []}},
     READ_CHECKPOINT, f"the newest event time of the checkpoint of {STREAM}/{SHARD}"),
    ("the sweep cursor holding 1.5", SWEEP, "SET #hour = :v", {":v": {"N": "1.5"}}, SWEEP_UNITS,
     "the sweep cursor"),
    ("the sweep cursor holding text", SWEEP, "SET #hour = :v", {":v": {"S": "x"}}, SWEEP_UNITS,
     "the sweep cursor"),
    ("the alert saves' version holding text", ALERT_SAVE, "SET #ver = :v", {":v": {"S": "x"}}, READ_STATES,
     "the version of the alert saves"),
    ("the alert saves' version holding 1.5", ALERT_SAVE, "SET #ver = :v", {":v": {"N": "1.5"}}, SAVE_STATES,
     "the version of the alert saves"),
    ("a staged alert save whose part count is text", ALERT_SAVE, "SET #staged = :b, #sid = :i, #parts = :v",
     {**STAGED, ":v": {"S": "x"}}, READ_STATES, "the staged alert save"),
    ("a staged alert save whose part count is 1.5", ALERT_SAVE, "SET #staged = :b, #sid = :i, #parts = :v",
     {**STAGED, ":v": {"N": "1.5"}}, SAVE_STATES, "the staged alert save"),
    ("a staged alert save without its id", ALERT_SAVE, "SET #staged = :b", {":b": STAGED[":b"]}, READ_STATES,
     "the staged alert save"),
    ("a staged alert save holding text", ALERT_SAVE, "SET #staged = :v, #sid = :i",
     {":v": {"S": "x"}, ":i": STAGED[":i"]}, READ_STATES, "the staged alert save"),
    ("a staged alert save that does not decode", ALERT_SAVE, "SET #staged = :b, #sid = :i", STAGED, SAVE_STATES,
     "the staged alert save"),
    ("an alert transition holding a number", LOG, "SET #doc = :v", {":v": {"N": "1"}}, lambda s: s.alert_log(),
     "the alert transition"),
    ("an alert transition that is not JSON", LOG, "SET #doc = :v", {":v": {"S": "{nope"}}, lambda s: s.alert_log(),
     "the alert transition"),
    ("an alert transition's order holding a number", LOG, "SET #rec = :v", {":v": {"N": "1"}},
     lambda s: s.alert_log(), "the recorded order of the alert transition"),
    ("a silence holding a number", SILENCE, "SET #doc = :v", {":v": {"N": "1"}}, lambda s: s.silences(),
     "the document s1 under SILENCE"),
]


def attribute_names(expression: str) -> dict[str, str]:
    """`#name` stands for the attribute `name`: `value` and `hour` are among DynamoDB's reserved words."""
    return {f"#{name}": name for name in re.findall(r"#(\w+)", expression)}


@pytest.mark.parametrize(("item", "expression", "values", "read", "names"),
                         [case[1:] for case in TAMPERED], ids=[case[0] for case in TAMPERED])
def test_an_item_holding_a_value_of_the_wrong_type_is_a_corrupt_item_error_and_reading_changes_nothing(
        rolled: DynamoDBStore, item: tuple[str, str], expression: str, values: dict[str, Any] | None,
        read: Callable[[DynamoDBStore], Any], names: str) -> None:
    read(rolled)  # whole, it reads
    extra: dict[str, Any] = {"ExpressionAttributeValues": values} if values else {}
    if "#" in expression:
        extra["ExpressionAttributeNames"] = attribute_names(expression)
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": item[0]}, "SK": {"S": item[1]}},
                              UpdateExpression=expression, **extra)
    before = table_items(rolled)
    with pytest.raises(CorruptItemError, match=f"a damaged store: .*{names}"):
        read(rolled)
    assert table_items(rolled) == before


SAVE_TRANSITION: Callable[[Store], Any] = lambda s: s.save_alert_evaluation(  # noqa: E731
    {SLO: {"state": "ok"}}, [{**TRANSITION, "id": "t2"}], MINUTE + 2 * conventions.MINUTE)
COMMIT_DIGEST: Callable[[Store], Any] = (  # noqa: E731
    lambda s: s.commit(Commit(digests={DigestKey(SKETCH, M, MINUTE): digest_of(40)})))

# The same damage in SQLite's rows, where its columns can hold it: (case, the edit, the read, what the error names)
SQLITE_TAMPERED: list[tuple[str, str, Callable[[Store], Any], str]] = [
    ("a checkpoint's position holding text", "UPDATE checkpoints SET position = 'abc'", READ_CHECKPOINT,
     f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's position holding a blob", "UPDATE checkpoints SET position = x'353a303a32'", LIST_CHECKPOINTS,
     f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's position spelled otherwise", "UPDATE checkpoints SET position = '05:0:2'", READ_CHECKPOINT,
     f"the position of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's newest time holding text", "UPDATE checkpoints SET newest_event = 'x'", LIST_CHECKPOINTS,
     f"the newest event time of the checkpoint of {STREAM}/{SHARD}"),
    ("a checkpoint's newest time past any number", "UPDATE checkpoints SET newest_event = 1e400", READ_CHECKPOINT,
     f"the newest event time of the checkpoint of {STREAM}/{SHARD}"),
    ("a digest's version holding 1.5", "UPDATE digests SET version = 1.5 WHERE resolution = 'm'", COMMIT_DIGEST,
     "the version of the digest"),
    ("a digest's version holding text", "UPDATE digests SET version = 'x' WHERE resolution = 'm'", COMMIT_DIGEST,
     "the version of the digest"),
    ("a digest holding text", "UPDATE digests SET data = 'x' WHERE resolution = 'm'", READ_DIGEST, "the digest"),
    ("an exemplar holding a blob", "UPDATE exemplars SET correlation_id = x'00'",
     lambda s: s.exemplars(SLI, *WINDOW), f"the exemplars of {SLI}"),
    ("an alert transition that is not JSON", "UPDATE alert_log SET doc = '{nope'", lambda s: s.alert_log(),
     "the alert transition t1"),
    ("an alert transition's order holding text", "UPDATE alert_log SET recorded_seq = 'x' WHERE id = 't1'",
     SAVE_TRANSITION, "the recorded order of an alert transition"),
]


def sqlite_rows(store: SqliteStore) -> list[str]:
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        return list(db.iterdump())


@pytest.mark.parametrize(("edit", "read", "names"), [case[1:] for case in SQLITE_TAMPERED],
                         ids=[case[0] for case in SQLITE_TAMPERED])
def test_a_sqlite_row_holding_what_the_store_never_writes_is_a_corrupt_item_error_and_reading_changes_nothing(
        filled: SqliteStore, edit: str, read: Callable[[Store], Any], names: str) -> None:
    """A commit over a digest whose version is 1.5 wrote nothing of the digest and said nothing: int() read the
    version as 1, and the update's `version = 1` matched no row."""
    read(filled)  # whole, it reads
    with contextlib.closing(sqlite3.connect(filled.path)) as db:
        assert db.execute(edit).rowcount == 1
        db.commit()
    before = sqlite_rows(filled)
    with pytest.raises(CorruptItemError, match=f"a damaged store: .*{names}"):
        read(filled)
    assert sqlite_rows(filled) == before


OFF_KEY = keys.bucket_key(MINUTE) + "x"  # sorts between two minutes' keys, so a range read of both meets it
TWO_MINUTES = (MINUTE, MINUTE + 2 * conventions.MINUTE)
CID = "cid-damaged"
WHEN = keys.first_seen_gsi_sk(MINUTE * 1000)


def trace_item(pk: str, index: str, index_pk: str, index_sk: str) -> dict[str, Any]:
    """A trace head item as a console edit could leave it: indexed under `index`, its document not decoding."""
    return {"PK": {"S": pk}, "SK": {"S": keys.SK_TRACE_HEAD}, "v": {"N": "1"}, "doc": {"B": b"\xde\xad"},
            f"{index}PK": {"S": index_pk}, f"{index}SK": {"S": index_sk}}


FIND_BY_WORKFLOW: Callable[[Store], Any] = lambda s: s.find_traces(workflow_id="wf-1")  # noqa: E731
# (case, the item put, the read, what the error names)
DAMAGED_KEYS: list[tuple[str, dict[str, Any], Callable[[DynamoDBStore], Any], str]] = [
    ("a checkpoint whose key has no #", {"PK": {"S": keys.PK_CHECKPOINT}, "SK": {"S": "logs-shard-2"},
                                         "pos": {"S": "5:0:2"}}, LIST_CHECKPOINTS,
     "the sort key of a checkpoint holds 'logs-shard-2'"),
    ("a counter whose key is not a minute", {"PK": {"S": COUNTER[0]}, "SK": {"S": OFF_KEY}, "good": {"N": "1"}},
     lambda s: s.window_counts(SLI, *TWO_MINUTES), f"the sort key of a bucket of {COUNTER[0]} holds '{OFF_KEY}'"),
    ("exemplars whose key is not a minute", {"PK": {"S": COUNTER[0]}, "SK": {"S": OFF_KEY}, "x": {"L": []}},
     lambda s: s.exemplars(SLI, *TWO_MINUTES), f"the sort key of a bucket of {COUNTER[0]} holds '{OFF_KEY}'"),
    ("a digest whose key is not a minute", {"PK": {"S": DIGEST[0]}, "SK": {"S": OFF_KEY},
                                             "d": {"B": digest_of(1).to_bytes()}},
     lambda s: s.digest(SKETCH, *TWO_MINUTES), f"the sort key of a bucket of {DIGEST[0]} holds '{OFF_KEY}'"),
    ("a damaged trace whose search key is not a time",
     trace_item(keys.trace_pk(CID), tables.GSI_BY_WORKFLOW, keys.workflow_gsi_pk("wf-1"), WHEN + "x"),
     FIND_BY_WORKFLOW, f"the trace-search key of the trace {CID} holds '{WHEN}x'"),
    ("a trace found by workflow whose key has no #",
     trace_item(keys.PK_TRACE, tables.GSI_BY_WORKFLOW, keys.workflow_gsi_pk("wf-1"), WHEN), FIND_BY_WORKFLOW,
     f"the partition key of a trace holds '{keys.PK_TRACE}'"),
    ("an open unit whose key has no #",
     trace_item(keys.PK_TRACE, tables.GSI_OPEN_UNITS, keys.open_unit_gsi_pk(MINUTE * 1000),
                keys.open_unit_gsi_sk(MINUTE * 1000, CID)),
     lambda s: s.open_units(MINUTE + conventions.HOUR), f"the partition key of a trace holds '{keys.PK_TRACE}'"),
]


@pytest.mark.parametrize(("item", "read", "names"), [case[1:] for case in DAMAGED_KEYS],
                         ids=[case[0] for case in DAMAGED_KEYS])
def test_an_item_whose_key_the_store_never_writes_is_a_corrupt_item_error_naming_it_and_reading_changes_nothing(
        rolled: DynamoDBStore, item: dict[str, Any], read: Callable[[DynamoDBStore], Any], names: str) -> None:
    """A console edit or another program can put an item under any key: its reader split or parsed the key
    (checkpoint_from_sk, bucket_from_key, correlation_id_of, first_seen_ms_of_gsi_sk) and raised a ValueError
    or IndexError."""
    read(rolled)  # whole, it reads
    rolled.client.put_item(TableName=rolled.table, Item=item)
    before = table_items(rolled)
    with pytest.raises(CorruptItemError, match=f"a damaged store: {re.escape(names)}"):
        read(rolled)
    assert table_items(rolled) == before


@pytest.mark.parametrize("column", ["stream", "shard"])
def test_a_sqlite_checkpoint_whose_stream_or_shard_is_not_text_is_a_corrupt_item_error_naming_it(
        filled: SqliteStore, column: str) -> None:
    """SQLite keeps a checkpoint's stream and shard apart, as text; a blob there (a hand edit) was a TypeError
    wherever a checkpoint's stream is read as text (slo status's default time: is it a backfill's?), or a
    checkpoint of a bytes stream or shard."""
    with contextlib.closing(sqlite3.connect(filled.path)) as db:
        assert db.execute("UPDATE checkpoints SET newest_event = ?", (float(MINUTE),)).rowcount == 1
        db.commit()
    assert LIST_CHECKPOINTS(filled) == MINUTE  # whole, it reads
    with contextlib.closing(sqlite3.connect(filled.path)) as db:
        assert db.execute(f"UPDATE checkpoints SET {column} = CAST({column} AS BLOB)").rowcount == 1
        db.commit()
    before = sqlite_rows(filled)
    with pytest.raises(CorruptItemError, match=f"a damaged store: the {column} of a checkpoint holds b'"):
        LIST_CHECKPOINTS(filled)
    assert sqlite_rows(filled) == before


def api_records(*sequences: int) -> list[DecodedRecord]:
    """One API request (status 200) per sequence number: a good and a total of api-availability each."""
    return [decode_record(kinesis_record(gz(cw_payload([
        log_line("api_request", T0 + n, cid(n), "Api", status=200, duration=12.5)])), sequence))
        for n, sequence in enumerate(sequences)]


APPLY_AGAIN: Callable[[Store, Spec], Any] = (  # noqa: E731
    lambda s, spec: Ingestor(s, spec).apply_batch(STREAM, SHARD, api_records(10, 11)))
# (case, what meets the blob): get_checkpoint, ingest (a redelivered batch), and a commit that takes the shard as new
BLOB_READS: list[tuple[str, Callable[[Store, Spec], Any]]] = [
    ("its checkpoint read", lambda s, spec: READ_CHECKPOINT(s)),
    ("a redelivered batch", APPLY_AGAIN),
    ("a commit of the shard as new", lambda s, spec: s.commit(Commit(
        checkpoint=CheckpointAdvance(STREAM, SHARD, None, Position(12, 0, 0))))),
]


@pytest.mark.parametrize("read", [case[1] for case in BLOB_READS], ids=[case[0] for case in BLOB_READS])
@pytest.mark.parametrize("column", ["stream", "shard"])
def test_a_sqlite_checkpoint_whose_stream_or_shard_is_a_blob_is_met_by_its_shard_whose_records_are_not_applied_again(
        sqlite_store: SqliteStore, spec: Spec, column: str, read: Callable[[Store, Spec], Any]) -> None:
    """`stream = ?` never matches text to a blob, so the shard's checkpoint was not found (only listings saw the
    blob): the shard looked new, a redelivered batch was applied a second time (its counts doubled) and its commit
    wrote a second checkpoint row beside the blob one."""
    APPLY_AGAIN(sqlite_store, spec)
    counted = sqlite_store.window_counts(series("api-availability", spec), int(T0) - conventions.HOUR,
                                         int(T0) + conventions.HOUR)
    assert (counted.good, counted.total) == (2, 2)
    with contextlib.closing(sqlite3.connect(sqlite_store.path)) as db:
        assert db.execute(f"UPDATE checkpoints SET {column} = CAST({column} AS BLOB)").rowcount == 1
        db.commit()
    before = sqlite_rows(sqlite_store)
    with pytest.raises(CorruptItemError, match=f"a damaged store: the {column} of a checkpoint holds b'"):
        read(sqlite_store, spec)
    assert sqlite_rows(sqlite_store) == before


def heaviest_digest() -> bytes:
    """A digest that decodes, of two centroids whose weights total 2**63 - 1 (an edit: no store counts so many);
    merged with any other, the total passes int64."""
    header = struct.pack("<BBdddI", 1, 8, 100.0, 12.0, 30.0, 2)
    return header + struct.pack("<2d", 12.0, 30.0) + struct.pack("<2Q", 2**62, 2**62 - 1) + b"\x00"


def test_a_digest_whose_weights_overflow_once_merged_is_a_corrupt_item_error_where_it_is_merged(
        store: Store) -> None:
    """Each digest's weights fit an int64 (from_bytes checks them); a merge of the edited one with a new sample
    wrapped its sums, so the merged digest was written (SQLite's commit, DynamoDB's rollup) or read (DynamoDB's
    window with its pending partial) and failed only when read again, naming no item it came from."""
    fill(store)
    if isinstance(store, SqliteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as db:
            assert db.execute("UPDATE digests SET data = ? WHERE resolution = 'm'", (heaviest_digest(),)).rowcount == 1
            db.commit()
        read: Callable[[Store], Any] = COMMIT_DIGEST
        names = "the digest"
    else:
        assert isinstance(store, DynamoDBStore)
        store.client.update_item(TableName=store.table, Key={"PK": {"S": DIGEST[0]}, "SK": {"S": DIGEST[1]}},
                                 UpdateExpression="SET d = :v",
                                 ExpressionAttributeValues={":v": {"B": heaviest_digest()}})
        COMMIT_DIGEST(store)  # into a pending partial: DynamoDB's commit merges no digest
        read = READ_DIGEST
        names = f"a digest of {SKETCH}"
    assert TDigest.from_bytes(heaviest_digest()).count == 2**63 - 1
    with pytest.raises(CorruptItemError, match=f"a damaged store: {names} .*total weight overflows int64"):
        read(store)
    if isinstance(store, DynamoDBStore):
        report = store.rollup(MINUTE + conventions.DAY)
        assert report.folded == 0 and len(report.damaged) == 1
        assert re.search(f"a damaged store: the digest .*{SKETCH}.*total weight overflows", report.damaged[0])


def test_a_partial_whose_own_digest_overflows_once_merged_folds_without_it_and_keeps_the_stored_one(
        rolled: DynamoDBStore) -> None:
    """The heaviest digest of a key whose digests overflow together is the edited one: here a pending partial's,
    lost as one that does not decode is; the stored digest and the partial's counts are kept."""
    rolled.commit(Commit(counters={CounterKey(SLI, M, MINUTE): {"good": 1, "total": 1}},
                         digests={DigestKey(SKETCH, M, MINUTE): digest_of(40)}))
    (partial,) = rolled.pending_partials()
    (item,) = [i for i in table_items(rolled) if i["PK"]["S"] == partial.writer]
    delta = keys.PartialDelta(partial.delta.counters, partial.delta.exemplars,
                              {key: heaviest_digest() for key in partial.delta.digests}, partial.delta.gauges)
    rolled.client.update_item(TableName=rolled.table, Key={"PK": item["PK"], "SK": item["SK"]},
                              UpdateExpression="SET p = :v",
                              ExpressionAttributeValues={":v": {"B": keys.encode_partial(delta)}})
    rolled.refresh()

    report = rolled.rollup(MINUTE + conventions.DAY)

    assert (report.folded, report.pending, len(report.damaged)) == (1, 0, 1)
    assert re.search("its digest of .* does not decode .*total weight overflows int64.* lost", report.damaged[0])
    assert rolled.digest(SKETCH, *WINDOW) == digest_of(12, 30)
    assert rolled.window_counts(SLI, *WINDOW) == Counts(3, 4)


@pytest.mark.parametrize(("expression", "values"), [
    ("SET d = :v", {":v": {"B": b"\xde\xad"}}),
    ("REMOVE d", None),
], ids=["bytes that do not decode", "no d"])
def test_a_rollup_leaves_the_partial_merging_into_a_damaged_digest_pending_names_it_and_folds_the_rest(
        rolled: DynamoDBStore, expression: str, values: dict[str, Any] | None) -> None:
    """Ingest writes digest deltas into its partial and reads no digest (merges_digests_on_commit is off), so its
    commit lands. The rollup that would merge the delta into the damaged item leaves that partial pending and the
    item as it is, names the item, and folds every other partial: one console edit must not stop the rollup for
    good (reads count pending partials as rolled items, so the healthy minute reads the same either way)."""
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": DIGEST[0]}, "SK": {"S": DIGEST[1]}},
                              UpdateExpression=expression, **({"ExpressionAttributeValues": values} if values else {}))
    later = MINUTE + conventions.MINUTE
    rolled.commit(Commit(digests={DigestKey(SKETCH, M, MINUTE): digest_of(40)}))
    rolled.commit(Commit(counters={CounterKey(SLI, M, later): {"good": 1, "total": 2}},
                         digests={DigestKey(SKETCH, M, later): digest_of(7)}))
    damaged_before = [i for i in table_items(rolled) if (i["PK"]["S"], i["SK"]["S"]) == DIGEST]

    report = rolled.rollup(MINUTE + conventions.DAY)

    assert report.folded == 1
    assert len(report.damaged) == 1 and re.search(f"a damaged store: the digest .*{SKETCH}", report.damaged[0])
    assert [p.delta.digests for p in rolled.pending_partials()] == [{(SKETCH, M, MINUTE): digest_of(40).to_bytes()}]
    assert [i for i in table_items(rolled) if (i["PK"]["S"], i["SK"]["S"]) == DIGEST] == damaged_before
    assert rolled.window_counts(SLI, later, later + conventions.MINUTE) == Counts(1, 2)
    assert rolled.digest(SKETCH, later, later + conventions.MINUTE) == digest_of(7)
    with pytest.raises(CorruptItemError, match=f"a damaged store: the digest .*{SKETCH}"):
        report.checked()  # what replay and backfill call: they cannot go on past it
    again = rolled.rollup(MINUTE + conventions.DAY)
    assert (again.folded, again.damaged) == (0, report.damaged)


def test_reads_after_a_rollup_that_left_a_damaged_partial_pending_still_count_it(rolled: DynamoDBStore) -> None:
    """The evaluator reads through the store that just rolled up: the partial left pending by a damaged digest
    carries counts of other SLIs too, and they must be read as pending, not dropped with the folded partials."""
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": DIGEST[0]}, "SK": {"S": DIGEST[1]}},
                              UpdateExpression="SET d = :v", ExpressionAttributeValues={":v": {"B": b"\xde\xad"}})
    later = MINUTE + conventions.MINUTE
    rolled.commit(Commit(counters={CounterKey(SLI, M, later): {"good": 5, "total": 9}},
                         digests={DigestKey(SKETCH, M, MINUTE): digest_of(40)}))
    rolled.commit(Commit(counters={CounterKey(SLI, M, later): {"good": 1, "total": 2}}))

    report = rolled.rollup(MINUTE + conventions.DAY)

    assert rolled.window_counts(SLI, later, later + conventions.MINUTE) == Counts(6, 11)
    assert (report.folded, report.pending, len(report.damaged)) == (1, 1, 1)


STATE_CASES = [case for case in TAMPERED if case[1] == STATE]


@pytest.mark.parametrize(("expression", "values"), [case[2:4] for case in STATE_CASES],
                         ids=[case[0] for case in STATE_CASES])
def test_a_damaged_alert_state_is_named_and_left_out_when_the_caller_asks_and_the_others_are_read(
        rolled: DynamoDBStore, expression: str, values: dict[str, Any] | None) -> None:
    """What the evaluator Lambda asks (record_evaluation's left_out): it leaves that SLO alone and evaluates the
    rest; every other caller still gets the CorruptItemError above."""
    rolled.save_alert_evaluation({"deploy-success": {"state": "ok"}}, [], MINUTE + conventions.MINUTE)
    extra: dict[str, Any] = {"ExpressionAttributeValues": values} if values else {}
    if "#" in expression:
        extra["ExpressionAttributeNames"] = attribute_names(expression)
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": STATE[0]}, "SK": {"S": STATE[1]}},
                              UpdateExpression=expression, **extra)
    damaged: dict[str, str] = {}
    assert rolled.load_alert_states(damaged) == {"deploy-success": {"state": "ok"}}
    assert list(damaged) == [SLO] and re.search(f"a damaged store: .*the alert state of {SLO}", damaged[SLO])


@pytest.mark.parametrize("text", ["{nope", "[1]", '{"id": "s2", "slo": "*", "ends": "x"}'],
                         ids=["not JSON", "a JSON list", "its end is text"])
def test_a_damaged_silence_is_named_and_left_out_when_the_caller_asks_and_the_others_are_read(
        store: Store, text: str) -> None:
    """The evaluator Lambda reads the silences without the one that does not decode (record_evaluation's
    left_out); every other caller is refused, naming it, on either adapter."""
    for silence_id in ("s1", "s2", "s3"):
        store.add_silence({"id": silence_id, "slo": "*", "starts": MINUTE, "ends": MINUTE + conventions.HOUR})
    overwrite_document(store, keys.SILENCE_PK, keys.silence_sk("s2"), text)  # type: ignore[arg-type]
    with pytest.raises(CorruptItemError, match=r"a damaged store: .*s2"):
        store.silences()
    damaged: list[str] = []
    assert [silence["id"] for silence in store.silences(damaged)] == ["s1", "s3"]
    (named,) = damaged
    assert "a damaged store: " in named and "s2" in named


@pytest.mark.parametrize("text", ["{nope", "[1]"], ids=["not JSON", "a JSON list"])
def test_a_backfill_plan_that_does_not_decode_is_a_corrupt_item_error_naming_it(store: Store, text: str) -> None:
    """Read through the same documents as silences: a plan that was not JSON was json's ValueError, one that was
    not an object an AttributeError (`slo backfill` ended in a traceback)."""
    plan = {"slo": SLI, "revision": "r1", "start": MINUTE, "end": MINUTE + conventions.HOUR}
    store.begin_backfill(plan)
    overwrite_document(store, keys.backfill_pk(SLI), keys.backfill_sk("r1"), text)  # type: ignore[arg-type]
    with pytest.raises(CorruptItemError, match=r"a damaged store: .*r1"):
        store.begin_backfill(plan)


def test_a_rollup_of_many_partials_folds_each_once_around_a_damaged_digest_found_after_earlier_transactions(
        rolled: DynamoDBStore) -> None:
    """150 partials fold in 5 transactions; the stored digest the 120th merges into holds bytes that do not
    decode, which the fold finds in its fourth transaction, after three committed. Every other partial is folded
    once, the 120th stays pending and read, and folds once the item is deleted."""
    minutes = [MINUTE + (n + 1) * conventions.MINUTE for n in range(150)]
    damaged = (keys.digest_pk(SKETCH, M), keys.bucket_key(minutes[119]))
    rolled.commit(Commit(digests={DigestKey(SKETCH, M, minutes[119]): digest_of(1000)}))
    assert rolled.rollup(MINUTE + conventions.DAY).folded == 1
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": damaged[0]}, "SK": {"S": damaged[1]}},
                              UpdateExpression="SET d = :v", ExpressionAttributeValues={":v": {"B": b"\xde\xad"}})
    for n, minute in enumerate(minutes):
        rolled.commit(Commit(counters={CounterKey(SLI, M, minute): {"good": 1, "total": 2}},
                             digests={DigestKey(SKETCH, M, minute): digest_of(n)}))
    whole = (minutes[0], minutes[-1] + conventions.MINUTE)

    def counted() -> Counts:  # the minute counters alone (the partials hold no hour rows)
        rows = rolled.buckets(SLI, M, *whole).values()
        return Counts(sum(row["good"] for row in rows), sum(row["total"] for row in rows))

    report = rolled.rollup(MINUTE + conventions.DAY)

    assert (report.folded, report.transactions, report.pending, len(report.damaged)) == (149, 5, 1, 1)
    assert counted() == Counts(150, 300)
    assert [rolled.digest(SKETCH, m, m + conventions.MINUTE) for m in minutes[:3]] == [digest_of(n) for n in range(3)]
    again = rolled.rollup(MINUTE + conventions.DAY)
    assert (again.folded, again.pending, again.damaged) == (0, 1, report.damaged)
    assert counted() == Counts(150, 300)
    rolled.client.delete_item(TableName=rolled.table, Key={"PK": {"S": damaged[0]}, "SK": {"S": damaged[1]}})
    mended = rolled.rollup(MINUTE + conventions.DAY)
    assert (mended.folded, mended.pending, mended.damaged) == (1, 0, [])
    assert counted() == Counts(150, 300)
    assert rolled.digest(SKETCH, minutes[119], minutes[119] + conventions.MINUTE) == digest_of(119)


def test_a_partial_whose_own_digest_does_not_decode_folds_without_it_and_keeps_its_counts(
        rolled: DynamoDBStore) -> None:
    """Such a partial was left pending for good, its digest read (and failing the read) every minute: only the
    digest is lost. Partials of two shards (or two backfills, whose sequences both count from 0) share a sort key;
    the other shard's is folded whole, and reads before the rollup count what it folds."""
    later = MINUTE + conventions.MINUTE
    for shard, value in (("shard-a", 5), ("shard-b", 6)):
        rolled.commit(Commit(
            checkpoint=CheckpointAdvance("stream", shard, None, Position(7), newest_event=float(later)),
            counters={CounterKey(SLI, M, later): {"good": 1, "total": 2}},
            digests={DigestKey(SKETCH, M, later): digest_of(value)},
        ))
    (damaged,) = [p for p in rolled.pending_partials() if p.writer == keys.partial_pk("stream", "shard-a")]
    a_day_later = MINUTE + conventions.DAY
    for shard in ("shard-a", "shard-b"):  # moves the watermark past the first two
        rolled.commit(Commit(
            checkpoint=CheckpointAdvance("stream", shard, Position(7), Position(8), newest_event=float(a_day_later)),
            counters={CounterKey(SLI, M, a_day_later): {"good": 1, "total": 1}},
        ))
    sk = keys.partial_sk(Position(7))
    delta = keys.PartialDelta(damaged.delta.counters, damaged.delta.exemplars,
                              {key: b"\xde\xad" for key in damaged.delta.digests}, damaged.delta.gauges)
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": damaged.writer}, "SK": {"S": sk}},
                              UpdateExpression="SET p = :v",
                              ExpressionAttributeValues={":v": {"B": keys.encode_partial(delta)}})
    rolled.refresh()
    window = (later, later + conventions.MINUTE)
    assert rolled.digest(SKETCH, *window) == digest_of(6)  # pending: read without it
    assert rolled.window_counts(SLI, *window) == Counts(2, 4)

    report = rolled.rollup(MINUTE + conventions.DAY)

    assert (report.folded, report.pending, len(report.damaged)) == (2, 2, 1)
    assert re.fullmatch(f"{rolled.table}: a damaged store: the partial {damaged.writer} at {sk}: its digest of "
                        f"{SKETCH} \\(m\\) at {keys.bucket_key(later)} does not decode \\(.*\\) \\(folded without it: "
                        "lost\\)", report.damaged[0])
    assert [p.writer for p in rolled.pending_partials() if p.delta.digests] == []
    assert rolled.digest(SKETCH, *window) == digest_of(6)
    assert rolled.window_counts(SLI, *window) == Counts(2, 4)
    with pytest.raises(CorruptItemError, match="folded without it: lost"):
        report.checked()  # what replay and backfill call: they say so in one line
    again = rolled.rollup(MINUTE + conventions.DAY)
    assert (again.folded, again.damaged) == (0, [])


def partial_document(store: DynamoDBStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """The key and decoded document of the store's one pending partial."""
    (item,) = [i for i in table_items(store) if i["PK"]["S"].startswith(keys.PK_PARTIAL) and "GSI4PK" in i]
    return {"PK": item["PK"], "SK": item["SK"]}, json.loads(zlib.decompress(item["p"]["B"]))


def below_one(text: str) -> str:
    """A digest's base64 with its compression set to 0.5: it passed from_bytes, and merge_bytes then raised a
    bare SketchError (not a damaged store) from every read of it and from the rollup, every minute."""
    blob = bytearray(base64.b64decode(text))
    struct.pack_into("<d", blob, 2, 0.5)
    return base64.b64encode(bytes(blob)).decode()


PIECE_EDITS: list[tuple[str, Callable[[dict[str, Any]], None], Counts, int, int, str]] = [
    # (case, the edit of the partial's document, counts then read, gauge, digest's count, what the loss names)
    ("a counter row holding 1.5", lambda d: d["c"][0][3].update(good=1.5), Counts(0, 0), 1, 2,
     f"its counter row 0 .*{SLI}.* does not decode"),
    ("counters that are not a list", lambda d: d.update(c={}), Counts(0, 0), 1, 2, "its counters are {}"),
    ("a gauge holding text", lambda d: d["g"].update({"open-units": "x"}), Counts(3, 5), 0, 2,
     'its gauge "open-units" holds "x"'),
    ("an exemplar row whose ids are text", lambda d: d["x"][0].__setitem__(2, "cid-9"), Counts(3, 5), 1, 2,
     "its exemplar row 0 .* does not decode"),
    ("a digest row that is not base64", lambda d: d["d"][0].__setitem__(3, "%%"), Counts(3, 5), 1, 0,
     "its digest row 0 .* does not decode"),
    ("a counter row adding to the item's TTL", lambda d: d["c"][0][3].update(expiresAt=1), Counts(0, 0), 1, 2,
     "its counter row 0 .* does not decode"),
    ("a counter row adding to the item's exemplars", lambda d: d["c"][0][3].update(x=1), Counts(0, 0), 1, 2,
     "its counter row 0 .* does not decode"),
    ("a gauge without a name", lambda d: d["g"].update({"": 1}), Counts(3, 5), 1, 2, 'its gauge "" holds 1'),
    ("a counter row whose series is longer than a key", lambda d: d["c"][0].__setitem__(0, "s" * 3000),
     Counts(0, 0), 1, 2, "its counter row 0 .* does not decode"),
    ("an exemplar row of 60,000 ids", lambda d: d["x"][0][2].extend(f"cid-{n:08d}" for n in range(60_000)),
     Counts(3, 5), 1, 2, "its exemplar row 0 .* does not decode"),
    ("a gauge whose name is longer than a key", lambda d: d["g"].update({"é" * 600: 1}), Counts(3, 5), 1, 2,
     "its gauge .* holds 1"),
    ("a digest whose compression is below 1", lambda d: d["d"][0].__setitem__(3, below_one(d["d"][0][3])),
     Counts(3, 5), 1, 0, r"its digest of api-latency \(m\) at .* does not decode \(corrupt t-digest: compression 0.5"),
]


@pytest.mark.parametrize(("edit", "counts", "gauge", "digested", "names"), [case[1:] for case in PIECE_EDITS],
                         ids=[case[0] for case in PIECE_EDITS])
def test_a_pending_partial_piece_that_does_not_decode_is_lost_alone_read_and_rolled_alike(
        rolled: DynamoDBStore, edit: Callable[[dict[str, Any]], None], counts: Counts, gauge: int, digested: int,
        names: str) -> None:
    """A partial whose counter row, exemplars, digest or gauge is not what the store writes did not decode at all:
    every read raised (every SLO left out, every minute), and a count of 1.5 was read as 1. The piece is left out
    of reads and of the fold, named once, and the rest of the partial is counted and folded."""
    later = MINUTE + conventions.MINUTE
    rolled.commit(Commit(counters={CounterKey(SLI, M, later): {"good": 3, "total": 5}},
                         exemplars={(SLI, later): ["cid-1"]}, gauges={"open-units": 1},
                         digests={DigestKey(SKETCH, M, later): digest_of(1, 2)}))
    key, document = partial_document(rolled)
    edit(document)
    rolled.client.update_item(TableName=rolled.table, Key=key, UpdateExpression="SET p = :v",
                              ExpressionAttributeValues={":v": {"B": zlib.compress(json.dumps(document).encode())}})
    rolled.refresh()
    window = (later, later + conventions.MINUTE)

    def read() -> tuple[Counts, int, int]:
        found = rolled.digest(SKETCH, *window)
        return rolled.window_counts(SLI, *window), rolled.gauge("open-units") - 1, found.count if found else 0

    pending = read()
    report = rolled.rollup(MINUTE + conventions.DAY)

    assert pending == read() == (counts, gauge, digested)
    assert (report.folded, report.pending, len(report.damaged)) == (1, 0, 1)
    assert re.search(f"the partial {key['PK']['S']} at {key['SK']['S']}: {names}", report.damaged[0])
    exemplars = rolled.exemplars(SLI, *window)
    assert exemplars == ([] if "exemplar" in names else ["cid-1"])


PARTIAL_EDITS = [  # (case, update expression (#name: an attribute), its values, what the loss names)
    ("a partial without its p", "REMOVE #p", None, "its p holds nothing, not a binary"),
    ("a partial holding text", "SET #p = :v", {":v": {"S": "x"}}, "its p holds {'S': 'x'}, not a binary"),
    ("a partial that does not decode", "SET #p = :v", {":v": {"B": b"\xde\xad"}}, "it does not decode"),
    ("a partial that is not a JSON object", "SET #p = :v", {":v": {"B": zlib.compress(b'[1]')}},
     "it is a JSON list, not an object"),
    ("a partial without its format", "SET #p = :v", {":v": {"B": zlib.compress(b'{"g": {}}')}},
     "its format is null, not an integer"),
]


@pytest.mark.parametrize(("expression", "values", "names"), [case[1:] for case in PARTIAL_EDITS],
                         ids=[case[0] for case in PARTIAL_EDITS])
def test_a_pending_partial_that_does_not_decode_at_all_is_read_as_nothing_and_folded_as_lost(
        dynamodb_store: DynamoDBStore, expression: str, values: dict[str, Any] | None, names: str) -> None:
    """Every read on DynamoDB adds the partials not yet rolled up, and the rollup folds them: such an item failed
    both, every SLO's reads every minute, until someone deleted it by hand. Nothing of it can be read, by this slo
    or any other: reads count none of it, the rollup unmarks it (its `p` kept, as every rolled partial's is) and
    names it once."""
    dynamodb_store.commit(Commit(gauges={"open-units": 1}))
    assert dynamodb_store.gauge("open-units") == 1  # from the pending partial
    (partial,) = [item for item in table_items(dynamodb_store) if item["PK"]["S"].startswith(keys.PK_PARTIAL)]
    key = {"PK": partial["PK"], "SK": partial["SK"]}
    dynamodb_store.client.update_item(
        TableName=dynamodb_store.table, Key=key, UpdateExpression=expression,
        ExpressionAttributeNames=attribute_names(expression),
        **({"ExpressionAttributeValues": values} if values else {}))
    dynamodb_store.refresh()
    edited = dynamodb_store.client.get_item(TableName=dynamodb_store.table, Key=key, ConsistentRead=True)["Item"]
    assert dynamodb_store.gauge("open-units") == 0

    report = dynamodb_store.rollup(MINUTE + conventions.DAY)

    assert (report.folded, report.pending, len(report.damaged)) == (1, 0, 1)
    assert report.damaged[0].startswith(f"{dynamodb_store.table}: a damaged store: the partial "
                                        f"{partial['PK']['S']} at {partial['SK']['S']}: {names}")
    assert report.damaged[0].endswith(" (folded without it: lost)")
    assert dynamodb_store.gauge("open-units") == 0
    rolled = dynamodb_store.client.get_item(TableName=dynamodb_store.table, Key=key, ConsistentRead=True)["Item"]
    index = ("GSI4PK", "GSI4SK", "expiresAt")
    assert {k: v for k, v in rolled.items() if k not in index} == {k: v for k, v in edited.items() if k not in index}
    assert "GSI4PK" not in rolled and "expiresAt" in rolled
    assert dynamodb_store.rollup(MINUTE + conventions.DAY).damaged == []


def test_a_pending_partial_whose_index_key_is_not_the_stores_is_read_whole_and_folded_by_its_newest_minute(
        dynamodb_store: DynamoDBStore) -> None:
    """Its index key raised in every read, as a partial that does not decode did; nothing of it is lost."""
    dynamodb_store.commit(Commit(gauges={"open-units": 1}))
    (partial,) = [item for item in table_items(dynamodb_store) if item["PK"]["S"].startswith(keys.PK_PARTIAL)]
    dynamodb_store.client.update_item(TableName=dynamodb_store.table, Key={"PK": partial["PK"], "SK": partial["SK"]},
                                      UpdateExpression="SET GSI4SK = :v", ExpressionAttributeValues={":v": {"S": "x"}})
    dynamodb_store.refresh()
    assert dynamodb_store.gauge("open-units") == 1

    report = dynamodb_store.rollup(MINUTE + conventions.DAY)

    assert (report.folded, report.pending, len(report.damaged)) == (1, 0, 1)
    assert "its pending index key 'x' is not the store's" in report.damaged[0]
    assert dynamodb_store.gauge("open-units") == 1


def test_a_pending_partial_of_another_format_is_a_corrupt_item_error_and_reading_changes_nothing(
        dynamodb_store: DynamoDBStore) -> None:
    """A newer slo's partial, which a newer rollup folds: never taken for damage and folded as lost."""
    dynamodb_store.commit(Commit(gauges={"open-units": 1}))
    (partial,) = [item for item in table_items(dynamodb_store) if item["PK"]["S"].startswith(keys.PK_PARTIAL)]
    dynamodb_store.client.update_item(TableName=dynamodb_store.table, Key={"PK": partial["PK"], "SK": partial["SK"]},
                                      UpdateExpression="SET p = :v",
                                      ExpressionAttributeValues={":v": {"B": zlib.compress(b'{"f": 9}')}})
    dynamodb_store.refresh()
    before = table_items(dynamodb_store)
    error = f"a damaged store: the partial {partial['PK']['S']} at .* \\(partial format 9: this slo reads format 1\\)"
    with pytest.raises(CorruptItemError, match=error):
        dynamodb_store.gauge("open-units")
    with pytest.raises(CorruptItemError, match=error):
        dynamodb_store.rollup(MINUTE + conventions.DAY)
    lease = [(keys.PK_CURSOR, keys.SK_ROLLUP)]  # the rollup's lease is taken and released whatever it finds
    assert [i for i in table_items(dynamodb_store) if (i["PK"]["S"], i["SK"]["S"]) not in lease] == \
        [i for i in before if (i["PK"]["S"], i["SK"]["S"]) not in lease]


@pytest.mark.parametrize(("item", "expression", "values", "names"), [
    (COUNTER, "SET good = :v", {":v": {"S": "abc"}}, "good counter of"),
    (COUNTER, "SET x = :v", {":v": {"S": "abc"}}, "exemplars of"),
    (GAUGE, "SET #a = :v", {":v": {"S": "x"}}, "gauge open-units"),
], ids=["a counter holding text", "exemplars that are not a list", "a gauge holding text"])
def test_a_rollup_leaves_the_partials_adding_to_a_rolled_item_it_cannot_add_to_pending_and_folds_the_rest(
        rolled: DynamoDBStore, item: tuple[str, str], expression: str, values: dict[str, Any], names: str) -> None:
    """DynamoDB refuses the whole fold transaction (ValidationException) when an ADD or list_append meets text:
    every rollup failed, the evaluator Lambda raised each minute and no SLO paged, until the item was mended."""
    extra: dict[str, Any] = {"ExpressionAttributeNames": {"#a": "value"}} if "#a" in expression else {}
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": item[0]}, "SK": {"S": item[1]}},
                              UpdateExpression=expression, ExpressionAttributeValues=values, **extra)
    later = MINUTE + conventions.MINUTE
    rolled.commit(Commit(counters={CounterKey(SLI, M, MINUTE): {"good": 1, "total": 2}},
                         exemplars={(SLI, MINUTE): ["cid-1"]}, gauges={"open-units": 1}))
    rolled.commit(Commit(counters={CounterKey(SLI, M, later): {"good": 1, "total": 2}}))
    key = {"PK": {"S": item[0]}, "SK": {"S": item[1]}}
    before = rolled.client.get_item(TableName=rolled.table, Key=key, ConsistentRead=True)["Item"]

    report = rolled.rollup(MINUTE + conventions.DAY)

    assert (report.folded, report.pending, len(report.damaged)) == (1, 1, 1)
    assert re.search(f"a damaged store: the {names} ", report.damaged[0])
    assert rolled.window_counts(SLI, later, later + conventions.MINUTE) == Counts(1, 2)
    assert rolled.client.get_item(TableName=rolled.table, Key=key, ConsistentRead=True)["Item"] == before
    rolled.client.delete_item(TableName=rolled.table, Key={"PK": {"S": item[0]}, "SK": {"S": item[1]}})
    assert rolled.rollup(MINUTE + conventions.DAY).folded == 1


def test_reads_after_a_rollup_that_raised_midway_count_each_partial_once(
        rolled: DynamoDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The evaluator Lambda reads on after a rollup raises a damaged-store error (reads see rolled and pending
    items alike), through the same store: the partials folded before the error must not be read as pending too."""
    minutes = [MINUTE + (n + 1) * conventions.MINUTE for n in range(120)]
    for half in (minutes[:60], minutes[60:]):  # 61 items each: a transaction apiece
        rolled.commit(Commit(counters={CounterKey(SLI, M, m): {"good": 1, "total": 1} for m in half}))
    fold_group, folds = DynamoDBStore._fold_group, []

    def second_does_not_decode(store: DynamoDBStore, group: Any, digests: Any) -> None:
        folds.append(group)
        if len(folds) > 1:  # as a merge of digests that decode alone but not together would
            raise CorruptItemError("a damaged store: the digest … does not decode")
        fold_group(store, group, digests)

    monkeypatch.setattr(DynamoDBStore, "_fold_group", second_does_not_decode)
    with pytest.raises(CorruptItemError):
        rolled.rollup(MINUTE + conventions.DAY)

    rows = rolled.buckets(SLI, M, minutes[0], minutes[-1] + conventions.MINUTE).values()
    assert sum(row["total"] for row in rows) == 120


def two_transactions_the_first_losing_its_digest(store: DynamoDBStore, start: int = MINUTE, sli: str = SLI) -> str:
    """Two pending partials of 60 counters each from `start` (a transaction apiece); the first's digest no longer
    decodes. Returns the first's sort key."""
    minutes = [start + (n + 1) * conventions.MINUTE for n in range(120)]
    for half in (minutes[:60], minutes[60:]):
        store.commit(Commit(counters={CounterKey(sli, M, m): {"good": 1, "total": 1} for m in half},
                            digests={DigestKey(SKETCH, M, half[0]): digest_of(7)}))
    mine = keys.partial_pk(keys.DIRECT_STREAM, store.writer_id)  # commits without a checkpoint
    first = min((i for i in table_items(store) if "GSI4PK" in i and i["PK"]["S"] == mine),
                key=lambda i: keys.pending_written_ns(i["GSI4SK"]["S"]))
    delta = keys.decode_partial(first["p"]["B"])
    blob = keys.encode_partial(keys.PartialDelta(delta.counters, delta.exemplars,
                                                 dict.fromkeys(delta.digests, b"\xde\xad"), delta.gauges))
    store.client.update_item(TableName=store.table, Key={"PK": first["PK"], "SK": first["SK"]},
                             UpdateExpression="SET p = :v", ExpressionAttributeValues={":v": {"B": blob}})
    store.refresh()
    return str(first["SK"]["S"])


def second_fold_raises(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """The rollup's second transaction raises `error`, as a merge of digests that decode alone but not together
    would (nothing pins it on a piece), or a refusal no damaged item explains."""
    fold_group, groups = DynamoDBStore._fold_group, []

    def second_raises(store: DynamoDBStore, group: Any, digests: Any) -> None:
        partials = {id(partial) for partial in group}  # a group is tried again once its damage is found
        if partials not in groups:
            groups.append(partials)
        if len(groups) > 1:
            raise error
        fold_group(store, group, digests)

    monkeypatch.setattr(DynamoDBStore, "_fold_group", second_raises)


def test_a_rollup_that_raises_midway_leaves_what_it_folded_and_named_in_the_report_it_was_given(
        rolled: DynamoDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first partial was folded without its digest, for good, and the report naming it was dropped with the
    error: nothing named the loss, then or later (the next rollup finds the partial folded)."""
    sk = two_transactions_the_first_losing_its_digest(rolled)
    second_fold_raises(monkeypatch, CorruptItemError("a damaged store: the digest … does not decode"))
    report = RollupReport()

    with pytest.raises(CorruptItemError, match="the digest … does not decode"):
        rolled.rollup(MINUTE + conventions.DAY, report)

    assert (report.folded, report.transactions) == (1, 1)
    (named,) = report.damaged
    assert f"the partial {keys.PK_PARTIAL}#" in named and f" at {sk}: its digest of {SKETCH}" in named
    assert named.endswith("(folded without it: lost)")


def test_a_staged_alert_save_lands_beside_a_state_whose_time_is_damaged_and_leaves_it_as_it_was(
        dynamodb_store: DynamoDBStore) -> None:
    """The evaluator Lambda leaves a damaged alert state alone and saves the rest (load_alert_states(damaged)); a
    save of more than one transaction's states (a grouped SLO's) checked every stored state's time and raised."""
    store = dynamodb_store
    store.save_alert_evaluation({"broken": {"burn": {}}}, [], MINUTE)
    key = {"PK": {"S": keys.PK_ALERT_STATE}, "SK": {"S": "broken"}}
    store.client.update_item(TableName=store.table, Key=key, UpdateExpression="SET #a = :v",
                             ExpressionAttributeNames={"#a": "at"}, ExpressionAttributeValues={":v": {"S": "x"}})
    before = store.client.get_item(TableName=store.table, Key=key, ConsistentRead=True)["Item"]

    store.save_alert_evaluation({f"slo-{n}": {"burn": {}} for n in range(150)}, [], MINUTE + conventions.MINUTE)

    damaged: dict[str, str] = {}
    assert len(store.load_alert_states(damaged)) == 150 and list(damaged) == ["broken"]
    assert store.client.get_item(TableName=store.table, Key=key, ConsistentRead=True)["Item"] == before


def test_a_staged_alert_save_whose_later_piece_is_not_binary_is_a_corrupt_item_error_and_reading_changes_nothing(
        rolled: DynamoDBStore) -> None:
    """A save too large for one transaction is read from the control item and its part items (a KeyError 'B')."""
    sid = STAGED_ID
    rolled.client.put_item(TableName=rolled.table, Item={"PK": {"S": keys.staged_part_pk(sid)},
                                                         "SK": {"S": keys.staged_part_sk(1)}, "b": {"S": "x"}})
    rolled.client.update_item(TableName=rolled.table, Key={"PK": {"S": ALERT_SAVE[0]}, "SK": {"S": ALERT_SAVE[1]}},
                              UpdateExpression="SET #staged = :b, #sid = :i, #parts = :v",
                              ExpressionAttributeNames=attribute_names("#staged #sid #parts"),
                              ExpressionAttributeValues={**STAGED, ":v": {"N": "2"}})
    before = table_items(rolled)
    with pytest.raises(CorruptItemError, match=f"a damaged store: the staged alert save {sid} at 0001 holds"):
        rolled.load_alert_states()
    assert table_items(rolled) == before
