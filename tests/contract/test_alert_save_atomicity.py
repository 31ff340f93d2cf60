"""An alert save is all or nothing however large it is: DynamoDB's TransactWriteItems stops at 100 items, so a
grouped SLO's hundred groups plus their transitions used to be saved in chunks, and a crash or a stale chunk
left half a save behind.

The first tests run on both adapters. The crash and race tests are DynamoDB's (SQLite's save is one SQL
transaction): moto's server neither crashes a writer half way nor interleaves another writer between two of
our requests, so a thin wrapper around the boto3 client does that, at the request named in each test.
"""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from processors.store import DynamoDBStore, dynamodb_client
from processors.store.dynamodb import STAGED_PART_LIMIT
from processors.store.keys import (
    PK_CURSOR,
    PK_STAGED_PART,
    SK_ALERT_SAVE,
    StagedAlertSave,
    encode_json,
    encode_staged_alert_save,
)

GROUPS = 150  # states: more than one transaction holds
FIRING = 120  # transitions of one save: more than one transaction holds, too


def group(n: int) -> str:
    return f"build-{n:03d}#eu"


def large_save(at: int, version: int) -> tuple[dict[str, dict], list[dict]]:
    states = {f"api#{group(n)}": {"v": version, "at": at} for n in range(GROUPS)}
    transitions = [
        {"id": f"api#{group(n)}#burn_rate#page#1h/5m#firing#{at}", "slo": "api", "group": group(n), "at_epoch": at}
        for n in range(FIRING)
    ]
    return states, transitions


def larger_than_one_item(at: int) -> tuple[dict[str, dict], list[dict]]:
    """A large save whose staged form needs more than one item: each state carries 6 KB of seeded random hex,
    which zlib cannot shrink much (in production, a mass incident's transitions, exemplars and outboxes across
    a thousand or more groups: docs/store.md gives the measured sizes)."""
    rng = random.Random(7)
    states, transitions = large_save(at, 1)
    return {key: {**state, "note": rng.randbytes(3000).hex()} for key, state in states.items()}, transitions


def staged_bytes(states: dict[str, dict], at: int) -> int:
    return len(encode_staged_alert_save(StagedAlertSave("x", at, {k: encode_json(v) for k, v in states.items()}, [])))


def test_a_save_larger_than_a_transaction_records_every_state_and_transition_in_order(store) -> None:
    states, transitions = large_save(600, 1)
    recorded = store.save_alert_evaluation(states, transitions, 600)
    assert [t["id"] for t in recorded] == [t["id"] for t in transitions]
    assert store.load_alert_states() == states
    assert [t["id"] for t in store.alert_log()] == [t["id"] for t in transitions]
    assert store.save_alert_evaluation(states, transitions, 600) == []  # a retry records nothing twice


def test_a_large_save_that_is_stale_for_one_of_its_slos_records_nothing_at_all(store) -> None:
    store.save_alert_evaluation({f"api#{group(140)}": {"v": 9}}, [], 900)  # in the second hundred
    states, transitions = large_save(600, 1)
    assert store.save_alert_evaluation(states, transitions, 600) == []
    assert store.load_alert_states() == {f"api#{group(140)}": {"v": 9}}
    assert store.alert_log() == []


def test_a_save_too_large_for_one_staged_item_records_every_state_and_transition(store) -> None:
    states, transitions = larger_than_one_item(600)
    assert staged_bytes(states, 600) > STAGED_PART_LIMIT  # DynamoDB stages it in more than one item
    recorded = store.save_alert_evaluation(states, transitions, 600)
    assert [t["id"] for t in recorded] == [t["id"] for t in transitions]
    assert store.load_alert_states() == states
    assert [t["id"] for t in store.alert_log()] == [t["id"] for t in transitions]
    assert store.save_alert_evaluation(states, transitions, 600) == []


def test_a_save_staged_in_several_items_commits_beside_the_floors_of_hundreds_of_long_named_slos(store) -> None:
    """DynamoDB keeps the floors (keys.judged_floors) in the control item beside a staged save's first piece: 300
    SLOs of 200 characters (the longest a name may be; removed SLOs keep their floor) are 62 KB of floors, and
    the first piece of 350 KiB with them was more than the item's 400 KB, so every large save failed for good."""
    store.save_alert_evaluation({}, [], 500, judged={f"{n:03d}-" + "x" * 196 for n in range(300)})
    states, transitions = larger_than_one_item(600)
    assert len(store.save_alert_evaluation(states, transitions, 600, judged={"api"})) == FIRING
    outboxes = {key: {**state, "outbox": [{"n": 1}]} for key, state in states.items()}
    store.save_alert_evaluation(outboxes, [], 600)  # the outbox's save, which moves no floor: the same room
    assert store.load_alert_states() == outboxes
    assert len(store.alert_log()) == FIRING


class CrashingClient:
    """The boto3 client, until the named request: that one raises (as a Lambda killed mid-save would stop)."""

    def __init__(self, client: Any, crash_on: str, after: int = 0) -> None:
        self._client = client
        self._crash_on = crash_on
        self._left = after
        self._lock = threading.Lock()  # a staged save's puts run in several threads: they die at one count

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._crash_on:
            return method

        def call(**kwargs: Any) -> Any:
            with self._lock:
                if self._left == 0:
                    raise SystemExit("killed")
                self._left -= 1
            return method(**kwargs)

        return call


@pytest.fixture
def table(moto_endpoint: str) -> tuple[str, str]:
    from tests.conftest import create_table

    return moto_endpoint, create_table(moto_endpoint)


def store_over(table: tuple[str, str], wrap: Any = None) -> DynamoDBStore:
    endpoint, name = table
    client = dynamodb_client(endpoint)
    return DynamoDBStore(wrap(client) if wrap else client, name)


def killed_while_applying_a_save_of_two_parts(table: tuple[str, str]) -> tuple[dict[str, dict], list[dict]]:
    """A save of two staged parts, committed, whose writer dies 40 item writes into applying it (after its part);
    returns what it saved."""
    states, transitions = larger_than_one_item(600)
    dying = store_over(table, lambda client: CrashingClient(client, "put_item", after=41))
    with pytest.raises(SystemExit):
        dying.save_alert_evaluation(states, transitions, 600)
    return states, transitions


def staged_save(store: DynamoDBStore) -> Any:
    item = store.client.get_item(TableName=store.table, Key={"PK": {"S": PK_CURSOR}, "SK": {"S": SK_ALERT_SAVE}})
    return item.get("Item", {}).get("staged")


def test_a_writer_killed_while_applying_a_large_save_leaves_it_whole_to_readers(table) -> None:
    states, transitions = large_save(600, 1)
    dying = store_over(table, lambda client: CrashingClient(client, "put_item", after=40))  # 40 of 270 applied
    with pytest.raises(SystemExit):
        dying.save_alert_evaluation(states, transitions, 600)
    reader = store_over(table)
    assert staged_save(reader) is not None  # committed, not yet applied
    assert reader.load_alert_states() == states
    assert [t["id"] for t in reader.alert_log()] == [t["id"] for t in transitions]
    assert [t["id"] for t in reader.alert_log(since=600)] == [t["id"] for t in transitions]


def test_the_next_save_applies_a_killed_writers_large_save_before_its_own(table) -> None:
    states, transitions = large_save(600, 1)
    dying = store_over(table, lambda client: CrashingClient(client, "put_item", after=40))
    with pytest.raises(SystemExit):
        dying.save_alert_evaluation(states, transitions, 600)
    store = store_over(table)
    later = {"deploy": {"v": 2}}
    assert store.save_alert_evaluation(later, [{"id": "deploy#budget#660", "at_epoch": 660}], 660) != []
    assert staged_save(store) is None
    assert store.load_alert_states() == {**states, **later}
    assert [t["id"] for t in store.alert_log()] == [t["id"] for t in transitions] + ["deploy#budget#660"]


def killed_at_staging(table: tuple[str, str], states: dict[str, dict], transitions: list[dict]) -> DynamoDBStore:
    """A large save whose writer dies at its staging update, the commit point; returns a reader of the table,
    which holds no state and no transition."""
    dying = store_over(table, lambda client: CrashingClient(client, "update_item"))
    with pytest.raises(SystemExit):
        dying.save_alert_evaluation(states, transitions, 600)
    reader = store_over(table)
    assert reader.load_alert_states() == {}
    assert reader.alert_log() == []
    return reader


def test_a_writer_killed_before_its_large_save_is_staged_leaves_nothing(table) -> None:
    killed_at_staging(table, *large_save(600, 1))


def staged_parts(store: DynamoDBStore) -> list[dict[str, Any]]:
    """Every item holding a piece of a staged save past the first, whoever wrote it (every page of the scan: the
    states applied before a crash can fill the first)."""
    pages = store.client.get_paginator("scan").paginate(
        TableName=store.table, FilterExpression="begins_with(PK, :p)",
        ExpressionAttributeValues={":p": {"S": f"{PK_STAGED_PART}#"}},
    )
    return [item for page in pages for item in page["Items"]]


def test_a_writer_killed_while_applying_a_save_staged_in_several_items_leaves_it_whole_to_readers(table) -> None:
    states, transitions = killed_while_applying_a_save_of_two_parts(table)
    reader = store_over(table)
    assert staged_save(reader) is not None and staged_parts(reader)
    assert reader.load_alert_states() == states
    assert [t["id"] for t in reader.alert_log()] == [t["id"] for t in transitions]


def test_the_next_save_applies_a_save_staged_in_several_items_and_removes_its_parts(table) -> None:
    states, _transitions = killed_while_applying_a_save_of_two_parts(table)
    store = store_over(table)
    later = {"deploy": {"v": 2}}
    assert store.save_alert_evaluation(later, [{"id": "deploy#budget#660", "at_epoch": 660}], 660) != []
    assert staged_save(store) is None
    assert staged_parts(store) == []
    assert store.load_alert_states() == {**states, **later}
    assert len(store.alert_log()) == FIRING + 1


def test_a_writer_killed_after_writing_its_parts_but_before_staging_leaves_nothing_but_expiring_parts(table) -> None:
    parts = staged_parts(killed_at_staging(table, *larger_than_one_item(600)))
    assert parts and all("expiresAt" in part for part in parts)  # unreferenced: they expire


class InterleavingClient:
    """The boto3 client; just before the first `method` request (the staging update_item by default), another
    writer's save lands."""

    def __init__(self, client: Any, other_save: Any, method: str = "update_item") -> None:
        self._client = client
        self._other_save = other_save
        self._method = method
        self._lock = threading.Lock()  # in threads (a staged save's puts), every request waits for the other save

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._method or self._other_save is None:
            return method

        def call(**kwargs: Any) -> Any:
            with self._lock:
                other, self._other_save = self._other_save, None
                if other is not None:
                    other()
            return method(**kwargs)

        return call


def test_a_newer_save_landing_during_a_large_saves_staleness_check_makes_it_stale(table) -> None:
    other = store_over(table)
    newer = {f"api#{group(3)}": {"v": 9}}
    racing = store_over(table, lambda client: InterleavingClient(
        client, lambda: other.save_alert_evaluation(newer, [], 900)
    ))
    states, transitions = large_save(600, 1)
    assert racing.save_alert_evaluation(states, transitions, 600) == []
    assert racing.load_alert_states() == newer
    assert racing.alert_log() == []


def test_an_older_save_landing_during_a_large_saves_check_is_kept_beside_it(table) -> None:
    other = store_over(table)
    older = {"deploy": {"v": 1}}
    racing = store_over(table, lambda client: InterleavingClient(
        client, lambda: other.save_alert_evaluation(older, [{"id": "deploy#budget#540", "at_epoch": 540}], 540)
    ))
    states, transitions = large_save(600, 1)
    assert len(racing.save_alert_evaluation(states, transitions, 600)) == FIRING  # checked again, then saved
    assert racing.load_alert_states() == {**older, **states}
    assert len(racing.alert_log()) == FIRING + 1


def test_a_reader_whose_staged_parts_were_applied_and_removed_meanwhile_reads_again(table) -> None:
    states, _transitions = killed_while_applying_a_save_of_two_parts(table)
    other = store_over(table)
    later = {"deploy": {"v": 2}}
    reader = store_over(table, lambda client: InterleavingClient(  # its first query is for the staged parts
        client, lambda: other.save_alert_evaluation(later, [], 660), method="query"
    ))
    assert reader.load_alert_states() == {**states, **later}
    assert staged_parts(reader) == []


def test_a_large_save_applied_after_another_writer_applied_it_and_saved_a_newer_state_keeps_that_state(table) -> None:
    other = store_over(table)
    newer = {f"api#{group(3)}": {"v": 9}}
    racing = store_over(table, lambda client: InterleavingClient(  # before its first put: the other applies it
        client, lambda: other.save_alert_evaluation(newer, [], 900), method="put_item"
    ))
    states, transitions = large_save(600, 1)
    assert len(racing.save_alert_evaluation(states, transitions, 600)) == FIRING
    assert racing.load_alert_states() == {**states, **newer}  # its put of that state was refused: newer kept
    assert [t["id"] for t in racing.alert_log()] == [t["id"] for t in transitions]
    assert staged_save(racing) is None


def test_a_save_that_judged_an_slo_later_landing_before_an_older_ones_transaction_makes_it_stale(table) -> None:
    """The floors move only under the version they were read at: an older save whose read preceded a newer
    steady minute (it wrote no state, only the floors) retries, finds the newer floor, and records nothing;
    without the condition it wrote its own floor back over the newer one, and a later retry got in too."""
    other = store_over(table)
    other.save_alert_evaluation({"api": {"v": 1}}, [], 300, judged={"api"})
    racing = store_over(table, lambda client: InterleavingClient(
        client, lambda: other.save_alert_evaluation({}, [], 500, judged={"api"}), "transact_write_items"))
    firing = {"id": "api#burn_rate#page#1h/5m#firing#400", "slo": "api", "at_epoch": 400}
    assert racing.save_alert_evaluation({"api": {"v": 2}}, [firing], 400, judged={"api"}) == []
    assert other.alert_floors() == {"api": 500}
    assert other.save_alert_evaluation({"api": {"v": 3}}, [], 450, judged={"api"}) == []
    assert other.load_alert_states() == {"api": {"v": 1}} and other.alert_log() == []


def test_a_table_whose_control_item_predates_the_floors_takes_them_on_its_next_save(table) -> None:
    store = store_over(table)
    store.client.put_item(TableName=store.table, Item={"PK": {"S": PK_CURSOR}, "SK": {"S": SK_ALERT_SAVE},
                                                       "ver": {"N": "7"}})
    assert store.alert_floors() == {}
    states, transitions = large_save(500, 1)
    assert len(store.save_alert_evaluation(states, transitions, 500, judged={"api"})) == FIRING
    assert store.alert_floors() == {"api": 500}
    assert store.save_alert_evaluation({}, [], 400, judged={"api"}) == []
