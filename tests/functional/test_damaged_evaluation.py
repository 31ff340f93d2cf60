"""One damaged item stops only the paging it touches: the evaluator Lambda on each adapter, with a digest or an
alert state edited behind the store's back, still pages the SLO it does not touch, names what it left out in one
ERROR line and counts it (DamagedItems), and raises nothing (a retry would read the same item). DynamoDB runs on
moto's server.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from processors import conventions
from processors.alerting.notify import SnsNotifier
from processors.counting import Counts
from processors.decoding import decode_record
from processors.handlers import evaluator
from processors.ingest import Ingestor
from processors.sketch import TDigest
from processors.spec import load_spec
from processors.store import Commit, DynamoDBStore, SqliteStore, keys
from processors.store.exceptions import CorruptItemError, StoreError
from processors.store.types import CounterKey, DigestKey
from processors.store.view import StoreView
from processors.timeutil import iso_seconds
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record, log_line
from tests.conftest import FakeLambdaContext
from tests.contract.test_damaged_items import second_fold_raises, two_transactions_the_first_losing_its_digest
from tests.contract.test_notification_claims import outage
from tests.fakes.alerting import MemoryNotifier, RecordingSns
from tests.functional.test_evaluator_handler import emf_documents, metric_values
from tests.stored_items import overwrite_document

M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
NOT_A_DIGEST = b"\xde\xad"


def damage_digest(store: SqliteStore | DynamoDBStore, key: DigestKey) -> None:
    """The digest's bytes overwritten as a console edit or another program would."""
    if isinstance(store, SqliteStore):
        changed = store.db.execute("UPDATE digests SET data = ? WHERE sketch = ? AND resolution = ? AND bucket = ?",
                                   (NOT_A_DIGEST, key.sketch, key.resolution, key.bucket)).rowcount
        assert changed == 1
        return
    store.client.update_item(
        TableName=store.table,
        Key={"PK": {"S": keys.digest_pk(key.sketch, key.resolution)}, "SK": {"S": keys.bucket_key(key.bucket)}},
        UpdateExpression="SET d = :v", ConditionExpression="attribute_exists(d)",
        ExpressionAttributeValues={":v": {"B": NOT_A_DIGEST}})


def ingest_a_later_event(store: Any, spec: Any, now: int) -> None:
    """A healthy event 4 minutes after `now`: it moves DynamoDB's watermark past the outage's minutes."""
    later = kinesis_record(gz(cw_payload([log_line("api_request", now + 4 * conventions.MINUTE, cid(999), "Api",
                                                   status=200)])), 999)
    Ingestor(store, spec).apply_batch(STREAM_ARN, "shardId-000000000000", [decode_record(later)])


def test_a_damaged_digest_leaves_out_its_slo_and_the_operator_minute_and_the_outage_still_pages(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    spec = load_spec()
    now = outage(store, spec)  # api-availability burns: it pages at `now`
    latency = next(slo for slo in spec.slos if slo.kind == "latency")
    in_its_window = DigestKey(latency.series(), M, now - 2 * conventions.MINUTE)  # read by its last 5 minutes
    operator_minute = DigestKey(spec.sketch_series("runner-startup"), M, now - conventions.MINUTE)
    store.commit(Commit(digests={in_its_window: TDigest.from_values([1200.0]),
                                 operator_minute: TDigest.from_values([900.0])}))
    # a later event moves DynamoDB's watermark past both minutes: the rollup makes them rolled items, which is
    # what a console edit reaches (SQLite writes rolled rows on commit)
    ingest_a_later_event(store, spec, now)
    store.rollup(now + conventions.HOUR)
    assert not any(partial.delta.digests for partial in store.pending_partials())
    damage_digest(store, in_its_window)
    damage_digest(store, operator_minute)
    notifier = MemoryNotifier()
    deps = evaluator.Dependencies(store, spec, notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    capsys.readouterr()

    result = evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())

    pages = [t for t in notifier.sent if t["severity"] == "page"]
    assert [t["slo"] for t in pages] == ["api-availability"]
    assert result["damaged"] == 2
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    named = " ".join(getattr(error, "damaged", []))
    assert f"{latency.name}: " in named and "operator metrics: " in named and "a damaged store" in named
    assert error.exc_info is None
    ((_, counted),) = metric_values(emf_documents(capsys.readouterr().out), evaluator.METRIC_DAMAGED_ITEMS)
    assert counted == 2
    states = store.load_alert_states()
    assert "api-availability" in states and latency.name not in states  # its state is left as it was


def damage_state(store: SqliteStore | DynamoDBStore, slo: str, doc: str = "[1]") -> Any:
    """The state's document overwritten with `doc` (by default JSON that is not an object); returns the raw row or
    item."""
    if isinstance(store, SqliteStore):
        assert store.db.execute("UPDATE alert_states SET doc = ? WHERE slo = ?", (doc, slo)).rowcount == 1
        return store.db.execute("SELECT * FROM alert_states WHERE slo = ?", (slo,)).fetchone()
    key = {"PK": {"S": keys.PK_ALERT_STATE}, "SK": {"S": keys.alert_state_sk(slo)}}
    store.client.update_item(TableName=store.table, Key=key, UpdateExpression="SET doc = :v",
                             ConditionExpression="attribute_exists(doc)",
                             ExpressionAttributeValues={":v": {"S": doc}})
    return store.client.get_item(TableName=store.table, Key=key, ConsistentRead=True)["Item"]


def test_a_damaged_alert_state_leaves_its_slo_alone_and_the_outage_still_pages(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    spec = load_spec()
    now = outage(store, spec)
    store.save_alert_evaluation({"deploy-success": {"burn": {"level": "ok"}}}, [], now - conventions.HOUR)
    damaged_item = damage_state(store, "deploy-success")
    notifier = MemoryNotifier()
    deps = evaluator.Dependencies(store, spec, notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    capsys.readouterr()

    result = evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())

    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    assert result["damaged"] == 1
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [line.split(": ")[0] for line in getattr(error, "damaged", [])] == ["deploy-success"]
    ((_, counted),) = metric_values(emf_documents(capsys.readouterr().out), evaluator.METRIC_DAMAGED_ITEMS)
    assert counted == 1
    damaged: dict[str, str] = {}
    assert "api-availability" in store.load_alert_states(damaged) and list(damaged) == ["deploy-success"]
    if isinstance(store, SqliteStore):
        assert store.db.execute("SELECT * FROM alert_states WHERE slo = 'deploy-success'").fetchone() == damaged_item
    else:
        key = {"PK": {"S": keys.PK_ALERT_STATE}, "SK": {"S": keys.alert_state_sk("deploy-success")}}
        assert store.client.get_item(TableName=store.table, Key=key, ConsistentRead=True)["Item"] == damaged_item


@pytest.mark.parametrize("doc", ['{"burn": [1]}', '{"burn": {"level": "page", "suppressed": 5}}', '{"budget": [1]}',
                                 '{"no_data": 5}', '{"budget": {"level": [1]}}'],
                         ids=["its burn is a list", "its suppressed tiers are a number", "its budget is a list",
                              "its no-data part is a number", "its budget level is a list"])
def test_an_alert_state_whose_parts_are_not_objects_leaves_its_slo_alone_and_the_outage_still_pages(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, doc: str) -> None:
    """A JSON object whose burn, budget or no-data part is not one passed the state's check, then coerce_state
    raised an AttributeError or TypeError out of record_evaluation: no SLO's state was saved and nothing was paged,
    every minute, until someone found and mended the item."""
    spec = load_spec()
    now = outage(store, spec)
    store.save_alert_evaluation({"deploy-success": {"burn": {"level": "ok"}}}, [], now - conventions.HOUR)
    damaged_item = damage_state(store, "deploy-success", doc)

    notifier, result = run_evaluator(store, spec, now, monkeypatch)

    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    assert result["damaged"] == 1
    (named,) = damaged_line(caplog)
    assert named.startswith("deploy-success: ") and "a damaged store" in named
    assert "api-availability" in store.load_alert_states({})
    if isinstance(store, SqliteStore):  # left as it was
        assert store.db.execute("SELECT * FROM alert_states WHERE slo = 'deploy-success'").fetchone() == damaged_item


WAITING: dict[str, Any] = {"id": "deploy-success#burn_rate#page#-#firing#1", "slo": "deploy-success",
                           "kind": "burn_rate", "severity": "page", "state": "firing"}


UNREADABLE_ENTRIES: list[dict[str, Any]] = [
    {"transition": {"id": "x"}, "routes": ["page"]},
    {"transition": {**WAITING, "at_epoch": "x"}, "routes": ["page"]},
    {"transition": {**WAITING, "at_epoch": float("inf")}, "routes": ["page"]},
    {"transition": {**WAITING, "at_epoch": 0}, "routes": [{}]},
    {"transition": {**WAITING, "at_epoch": 0, "tier": 5}, "routes": ["page"]},
]


@pytest.mark.parametrize("entry", UNREADABLE_ENTRIES, ids=["its transition names no slo", "its time is text",
                                                          "its time is infinite", "a route is an object",
                                                          "its tier is a number"])
def test_an_outbox_entry_that_does_not_read_is_left_out_and_every_slo_is_still_paged(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, entry: dict[str, Any]) -> None:
    """A state's outbox entry of a shape delivery cannot read passed the outbox's filter (a dict transition, a
    list of routes), then delivery raised a KeyError, ValueError, OverflowError or TypeError after the states were
    saved: the evaluator Lambda raised every minute, and the entry, carried into each new state, stayed."""
    spec = load_spec()
    now = outage(store, spec)
    store.save_alert_evaluation({"deploy-success": {"burn": {"level": "ok"}}}, [], now - conventions.HOUR)
    damaged = {**entry, "transition": {**entry["transition"]}}
    if damaged["transition"].get("at_epoch") == 0:
        damaged["transition"]["at_epoch"] = now - conventions.MINUTE
    damage_state(store, "deploy-success", json.dumps({"burn": {"level": "ok"}, "outbox": [damaged]}))

    notifier, result = run_evaluator(store, spec, now, monkeypatch)

    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    assert result["slos"] == len(spec.slos)
    assert [name for name in damaged_line(caplog) if "outbox entry" in name] == [
        f"deploy-success: an outbox entry that does not read is left out: {str(damaged)[:80]}"]



def test_a_waiting_page_whose_details_do_not_read_is_sent_without_them_named_and_every_slo_is_still_paged(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    """A page waiting in an outbox whose budget is text and whose forecast is infinite (a hand edit, another
    program or version): the SNS formatter raised an AttributeError out of delivery, after the states were saved,
    so the evaluator Lambda raised every minute, the entry carried into each state, and no page after it went."""
    spec = load_spec()
    now = outage(store, spec)
    waiting = {**WAITING, "route": "page", "tier": "1h/5m", "at_epoch": now - conventions.MINUTE, "budget": "x",
               "forecast": {"1h": float("inf")}, "burn_rates": {"1h": 15.0, "5m": 20.0},
               "thresholds": {"factor": 14.4, "short_window": "5m", "long_window": "1h"}}
    store.save_alert_evaluation({"deploy-success": {"burn": {"level": "ok"}, "outbox": [
        {"transition": waiting, "routes": [""]}]}}, [], now - conventions.HOUR)
    sns = RecordingSns()
    deps = evaluator.Dependencies(store, spec, SnsNotifier(sns, "arn:page", "arn:ticket"), lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    capsys.readouterr()

    result = evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())

    assert sorted(json.loads(m["Message"])["slo"] for m in sns.sent if m["TopicArn"] == "arn:page") == [
        "api-availability", "deploy-success"]
    (sent,) = [json.loads(m["Message"]) for m in sns.sent if json.loads(m["Message"])["slo"] == "deploy-success"]
    assert "budget" not in sent and "forecast" not in sent and sent["burn_rates"] == waiting["burn_rates"]
    assert damaged_line(caplog) == ["deploy-success: its burn_rate firing notification is sent without what does "
                                    "not read: budget is str 'x'; forecast is dict \"{'1h': inf}\""]
    assert result["damaged"] == 1
    ((_, counted),) = metric_values(emf_documents(capsys.readouterr().out), evaluator.METRIC_DAMAGED_ITEMS)
    assert counted == 1
    assert "outbox" not in store.load_alert_states()["deploy-success"]


def damage_counter(store: SqliteStore | DynamoDBStore, series: str, bucket: int) -> None:
    """An hour counter's good count overwritten with what the store never writes there."""
    if isinstance(store, SqliteStore):
        changed = store.db.execute("UPDATE counters SET value = 'abc' WHERE sli = ? AND resolution = ? AND bucket = ?"
                                   " AND field = 'good'", (series, conventions.RESOLUTION_HOUR, bucket)).rowcount
        assert changed == 1
        return
    store.client.update_item(
        TableName=store.table,
        Key={"PK": {"S": keys.counter_pk(series, conventions.RESOLUTION_HOUR)}, "SK": {"S": keys.bucket_key(bucket)}},
        UpdateExpression="SET good = :v", ConditionExpression="attribute_exists(good)",
        ExpressionAttributeValues={":v": {"N": "1.5"}})


def test_a_page_waiting_in_the_outbox_of_an_slo_a_damaged_item_leaves_out_is_still_delivered(
        store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page was decided from healthy reads and saved in the SLO's outbox when its route failed; a counter
    damaged since leaves the SLO out of the next minutes, but not the delivery of what it already decided."""
    spec = load_spec()
    now = outage(store, spec)
    ingest_a_later_event(store, spec, now)
    notifier = MemoryNotifier()
    deps = evaluator.Dependencies(store, spec, notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    notifier.fail_routes.add("page")
    assert evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())["failed"]
    waiting = [entry["transition"]["id"] for entry in store.load_alert_states()["api-availability"]["outbox"]]
    assert len(waiting) == 2  # the page and the budget's exhaustion, both routed to the page route
    availability = next(slo for slo in spec.slos if slo.name == "api-availability")
    hours = store.buckets(availability.series(), conventions.RESOLUTION_HOUR, now - conventions.DAY, now)
    damage_counter(store, availability.series(), min(hours))
    notifier.fail_routes.clear()
    notifier.sent.clear()

    result = evaluator.lambda_handler({"time": iso_seconds(now + conventions.MINUTE)}, FakeLambdaContext())

    assert result["damaged"] == 1
    assert [t["id"] for t in notifier.sent] == waiting
    assert "failed" not in result
    state = store.load_alert_states()["api-availability"]
    assert "outbox" not in state and state["evaluated_at"] == now  # the rest of its state is left as it was
    notifier.sent.clear()
    evaluator.lambda_handler({"time": iso_seconds(now + conventions.MINUTE)}, FakeLambdaContext())  # a retry
    assert notifier.sent == []


def test_a_counter_holding_text_that_a_new_partial_adds_to_leaves_out_its_slo_not_the_whole_minute(
        dynamodb_store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """DynamoDB refuses the rollup's whole transaction when its ADD meets text: the rollup raised a StoreError,
    so the evaluator Lambda raised every minute (no SLO paged) until the item was mended."""
    store, spec = dynamodb_store, load_spec()
    now = outage(store, spec)
    availability = next(slo for slo in spec.slos if slo.name == "api-availability")

    def apply(*lines: tuple[float, int]) -> None:
        records = [kinesis_record(gz(cw_payload([log_line("api_request", at, cid(seq), "Api", status=200)])), seq)
                   for at, seq in lines]
        Ingestor(store, spec).apply_batch(STREAM_ARN, "shardId-000000000000", [decode_record(r) for r in records])

    apply((now + 4 * conventions.MINUTE, 500))  # moves the watermark past the outage
    store.rollup(now + conventions.HOUR)
    late = int(T0) // conventions.MINUTE * conventions.MINUTE
    store.client.update_item(
        TableName=store.table,
        Key={"PK": {"S": keys.counter_pk(availability.series(), M)}, "SK": {"S": keys.bucket_key(late)}},
        UpdateExpression="SET good = :v", ConditionExpression="attribute_exists(good)",
        ExpressionAttributeValues={":v": {"S": "abc"}})
    apply((late + 1, 501), (now + 5 * conventions.MINUTE, 502))  # a late good request adds to that counter
    apply((now + 12 * conventions.MINUTE, 503))
    deps = evaluator.Dependencies(store, spec, MemoryNotifier(), lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)

    result = evaluator.lambda_handler({"time": iso_seconds(now + 15 * conventions.MINUTE)}, FakeLambdaContext())

    assert result["slos"] == len(spec.slos) - 1
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [line.split(": ")[0] for line in getattr(error, "damaged", [])] == ["rollup", "api-availability"]


def test_a_page_whose_exemplars_do_not_decode_is_sent_without_them_and_every_other_slo_is_saved(
        dynamodb_store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Exemplars are read while the minute is recorded, after every SLO was evaluated: exemplars that are text
    raised a KeyError there, and no SLO's state was saved or paged that minute (nor the next)."""
    store, spec = dynamodb_store, load_spec()
    now = outage(store, spec)
    ingest_a_later_event(store, spec, now)
    store.rollup(now + conventions.HOUR)
    availability = next(slo for slo in spec.slos if slo.name == "api-availability")
    for minute in range(now - 5 * conventions.MINUTE, now, conventions.MINUTE):  # the page tier's short window
        store.client.update_item(
            TableName=store.table,
            Key={"PK": {"S": keys.counter_pk(availability.series(), M)}, "SK": {"S": keys.bucket_key(minute)}},
            UpdateExpression="SET x = :v", ConditionExpression="attribute_exists(x)",
            ExpressionAttributeValues={":v": {"S": "abc"}})
    notifier = MemoryNotifier()
    deps = evaluator.Dependencies(store, spec, notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)

    result = evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())

    pages = [t for t in notifier.sent if t["severity"] == "page" and t["kind"] == "burn_rate"]
    assert [(t["slo"], t.get("exemplars")) for t in pages] == [("api-availability", [])]
    assert result["damaged"] == 1
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "the exemplars of" in " ".join(getattr(error, "damaged", []))
    assert set(store.load_alert_states()) >= {slo.name for slo in spec.slos if not slo.group_by}


def damage_partial(store: DynamoDBStore, writer: str, edit: Any) -> None:
    """The pending partial's `p` rewritten: `edit` takes its decoded delta and returns the new bytes."""
    ((pk, sk),) = [(item["PK"]["S"], item["SK"]["S"]) for item in store.client.scan(TableName=store.table)["Items"]
                   if item["PK"]["S"] == writer and "GSI4PK" in item]
    (partial,) = [p for p in store.pending_partials() if p.writer == writer]
    blob = edit(partial.delta)
    store.client.update_item(TableName=store.table, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                             UpdateExpression="SET p = :v", ExpressionAttributeValues={":v": {"B": blob}})
    store.refresh()


def its_digest_not_a_digest(delta: keys.PartialDelta) -> bytes:
    return keys.encode_partial(keys.PartialDelta(delta.counters, delta.exemplars,
                                                 dict.fromkeys(delta.digests, NOT_A_DIGEST), delta.gauges))


@pytest.mark.parametrize(("edit", "kept"), [
    (its_digest_not_a_digest, True),
    (lambda _delta: NOT_A_DIGEST, False),
], ids=["its own digest does not decode", "it does not decode at all"])
def test_a_pending_partial_that_does_not_decode_costs_only_what_is_damaged_and_its_slo_is_evaluated_next_minute(
        dynamodb_store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: Any, edit: Any, kept: bool) -> None:
    """A partial whose own digest did not decode was left pending for good: every minute read it, so the latency
    SLO it feeds was left out until someone deleted the partial by hand (losing its counts of every other SLI
    too); one whose `p` did not decode at all failed every SLO's reads, every minute. The rollup folds what
    decodes, names the partial once (DamagedItems), and every SLO is evaluated that minute and the next."""
    store, spec = dynamodb_store, load_spec()
    now = outage(store, spec)
    ingest_a_later_event(store, spec, now)
    store.rollup(now + conventions.HOUR)
    latency = next(slo for slo in spec.slos if slo.kind == "latency")
    availability = next(slo for slo in spec.slos if slo.name == "api-availability")
    minute = now - 5 * conventions.MINUTE  # in both SLOs' 5-minute windows, and a minute behind the watermark
    before = store.window_counts(availability.series(), minute, now)
    store.commit(Commit(
        counters={CounterKey(availability.series(), M, minute): {"good": 3, "total": 3},
                  CounterKey(availability.series(), H, minute - minute % conventions.HOUR): {"good": 3, "total": 3}},
        digests={DigestKey(latency.series(), M, minute): TDigest.from_values([900.0])}))
    damage_partial(store, keys.partial_pk(keys.DIRECT_STREAM, store.writer_id), edit)  # the later event's stays
    notifier = MemoryNotifier()
    deps = evaluator.Dependencies(store, spec, notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    capsys.readouterr()

    result = evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())

    assert result["slos"] == len(spec.slos) and result["damaged"] == 1
    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    # the latency SLO the lost digest fed is evaluated: the line does not say it is not
    assert "a pending partial's piece for good); the rest is evaluated" in error.getMessage()
    (named,) = getattr(error, "damaged", [])
    assert named.startswith(f"rollup: {store.table}: a damaged store: the partial {keys.PK_PARTIAL}#")
    assert named.endswith("(folded without it: lost)")
    ((_, counted),) = metric_values(emf_documents(capsys.readouterr().out), evaluator.METRIC_DAMAGED_ITEMS)
    assert counted == 1
    assert [p.writer for p in store.pending_partials()] == [keys.partial_pk(STREAM_ARN, "shardId-000000000000")]
    assert latency.name in store.load_alert_states()
    added = Counts(3, 3) if kept else Counts(0, 0)
    assert store.window_counts(availability.series(), minute, now) == Counts(before.good + added.good,
                                                                            before.total + added.total)
    caplog.clear()

    again = evaluator.lambda_handler({"time": iso_seconds(now + conventions.MINUTE)}, FakeLambdaContext())

    assert again["slos"] == len(spec.slos) and "damaged" not in again
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def damage_transition(store: SqliteStore | DynamoDBStore, transition: dict[str, Any], text: str = "{nope") -> None:
    """A logged transition's document overwritten with `text` (by default, text that is not JSON)."""
    if isinstance(store, SqliteStore):
        assert store.db.execute("UPDATE alert_log SET doc = ? WHERE id = ?", (text, transition["id"])).rowcount == 1
        return
    store.client.update_item(
        TableName=store.table,
        Key={"PK": {"S": keys.PK_ALERT_LOG}, "SK": {"S": keys.alert_log_sk(transition["at_epoch"], transition["id"])}},
        UpdateExpression="SET doc = :v", ConditionExpression="attribute_exists(doc)",
        ExpressionAttributeValues={":v": {"S": text}})


def run_evaluator(store: Any, spec: Any, now: int, monkeypatch: pytest.MonkeyPatch) -> tuple[MemoryNotifier, Any]:
    notifier = MemoryNotifier()
    deps = evaluator.Dependencies(store, spec, notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    return notifier, evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())


def damaged_line(caplog: pytest.LogCaptureFixture) -> list[str]:
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.exc_info is None
    return list(getattr(error, "damaged", []))


def test_a_damaged_transition_leaves_out_the_operator_minute_and_every_slo_is_evaluated_and_paged(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    """The alert log decides no page (alert states do): it feeds MTTR, which only the operator metrics emit.
    One transition that did not decode raised out of evaluate_at: no SLO was evaluated, paged or saved."""
    spec = load_spec()
    now = outage(store, spec)
    old: dict[str, Any] = {"id": "deploy-success#burn_rate#ticket#-#firing#1", "at_epoch": now - conventions.DAY, "slo":
           "deploy-success", "kind": "burn_rate", "state": "firing"}
    store.save_alert_evaluation({}, [old], now - conventions.DAY)
    damage_transition(store, old)
    capsys.readouterr()

    notifier, result = run_evaluator(store, spec, now, monkeypatch)

    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    assert result["slos"] == len(spec.slos) and result["damaged"] == 1
    (named,) = damaged_line(caplog)
    assert named.startswith("operator metrics: ") and "the alert transition" in named and old["id"] in named
    documents = emf_documents(capsys.readouterr().out)
    ((_, counted),) = metric_values(documents, evaluator.METRIC_DAMAGED_ITEMS)
    assert counted == 1
    assert not metric_values(documents, "RunnersStarted")  # the operator minute is left out
    assert set(store.load_alert_states()) >= {slo.name for slo in spec.slos if not slo.group_by}


@pytest.mark.parametrize(("field", "value"), [("at_epoch", "1e400"), ("cleared_at_epoch", "NaN")],
                         ids=["its time is infinite", "its clearing time is NaN"])
def test_a_transition_whose_time_is_not_a_finite_number_leaves_out_the_operator_minute_and_every_slo_is_paged(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, field: str, value: str) -> None:
    """JSON reads 1e400, Infinity and NaN as floats: such a transition read as a JSON object, then MTTR's int() of
    its time raised an OverflowError or ValueError out of evaluate_at, which isolates only damaged items, so the
    Lambda raised every minute and no SLO was evaluated, paged or saved (as for the silence whose end was one)."""
    spec = load_spec()
    now = outage(store, spec)
    fired: dict[str, Any] = {"id": "api-availability#burn_rate#page#-#firing#1", "at_epoch": now - conventions.DAY,
                             "slo": "api-availability", "kind": "burn_rate", "severity": "page", "state": "firing"}
    resolved = {**fired, "id": "api-availability#burn_rate#page#-#resolved#1", "state": "resolved",
                "at_epoch": now - conventions.DAY + 600, "cleared_at_epoch": now - conventions.DAY + 300}
    store.save_alert_evaluation({}, [fired, resolved], now - conventions.DAY + 600)
    damaged = fired if field == "at_epoch" else resolved
    damage_transition(store, damaged, json.dumps({k: v for k, v in damaged.items() if k != field})[:-1]
                      + f', "{field}": {value}}}')

    notifier, result = run_evaluator(store, spec, now, monkeypatch)

    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    assert result["slos"] == len(spec.slos) and result["damaged"] == 1
    (named,) = damaged_line(caplog)
    assert named.startswith("operator metrics: ") and damaged["id"] in named and field in named


@pytest.mark.parametrize("text", ["{nope", "[1]", '{"id": "s2", "slo": "api-availability", "ends": "x"}'],
                         ids=["not JSON", "not an object", "its end is text"])
def test_a_damaged_silence_is_left_out_of_the_silences_and_every_slo_is_evaluated_and_paged(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, text: str) -> None:
    """A silence only holds pages back, and one that does not read may not say which SLOs: read without it, the
    worst is a page a silence would have held (named, DamagedItems). A healthy silence still holds its SLO's page.
    It raised out of record_evaluation: no SLO's state was saved and nothing was paged."""
    spec = load_spec()
    now = outage(store, spec)
    store.add_silence({"id": "s1", "slo": "api-availability", "starts": now - conventions.HOUR, "ends": now + 60})
    store.add_silence({"id": "s2", "slo": "api-availability", "starts": now - conventions.HOUR, "ends": now + 60})
    overwrite_document(store, keys.SILENCE_PK, keys.silence_sk("s2"), text)

    notifier, result = run_evaluator(store, spec, now, monkeypatch)

    assert not [t for t in notifier.sent if t["severity"] == "page"]  # s1 holds it
    logged = [t for t in store.alert_log() if t["slo"] == "api-availability" and t["severity"] == "page"]
    assert logged and all(t.get("silenced") for t in logged)
    assert result["slos"] == len(spec.slos) and result["damaged"] == 1
    (named,) = damaged_line(caplog)
    assert named.startswith("silences: ") and "s2" in named and "a damaged store" in named
    assert set(store.load_alert_states()) >= {slo.name for slo in spec.slos if not slo.group_by}
    store.remove_silence("s1")
    notifier, _ = run_evaluator(store, spec, now + conventions.MINUTE, monkeypatch)
    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]


def test_a_damaged_correction_leaves_out_its_slo_and_every_other_slo_is_evaluated_and_paged(
        store: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A correction changes its SLO's counts, as a counter does: its SLO is left out, as for a damaged counter
    (state as it was, no metrics). Corrections are read per SLO, so the item names its SLO. It raised out of
    evaluate_at: no SLO was evaluated, paged or saved."""
    spec = load_spec()
    now = outage(store, spec)
    start = now - conventions.DAY
    assert store.add_correction({"id": "c1", "slo": "deploy-success", "start": start, "end": start + 60})
    overwrite_document(store, keys.correction_pk("deploy-success"), keys.correction_sk(start, "c1"),
                   '{"id": "c1", "slo": "deploy-success", "start": "x", "end": 1}')

    notifier, result = run_evaluator(store, spec, now, monkeypatch)

    assert [t["slo"] for t in notifier.sent if t["severity"] == "page"] == ["api-availability"]
    assert result["slos"] == len(spec.slos) - 1 and result["damaged"] == 1
    (named,) = damaged_line(caplog)
    assert named.startswith("deploy-success: ") and "c1" in named and "a damaged store" in named
    states = store.load_alert_states()
    assert "api-availability" in states and "deploy-success" not in states


@pytest.mark.parametrize("raises", [True, False], ids=["a store error the Lambda raises", "a damaged store"])
def test_a_rollup_that_raises_midway_still_names_the_pieces_it_lost_for_good(
        dynamodb_store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: Any, raises: bool) -> None:
    """The partial folded before the error lost its digest for good, and the rollup's report naming it was
    dropped with the error: the ERROR line named only the error (or, raised, nothing did), and the next rollup
    finds the partial folded, so nothing ever named the loss."""
    store, spec = dynamodb_store, load_spec()
    now = outage(store, spec)
    ingest_a_later_event(store, spec, now)
    store.rollup(now + conventions.HOUR)
    sk = two_transactions_the_first_losing_its_digest(store, now - 3 * conventions.HOUR, "no-slo-reads-it")
    error = StoreError("refused") if raises else CorruptItemError("a damaged store: the digest … does not decode")
    second_fold_raises(monkeypatch, error)
    deps = evaluator.Dependencies(store, spec, MemoryNotifier(), lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)
    capsys.readouterr()

    if raises:
        with pytest.raises(StoreError, match="refused"):
            evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())
    else:
        assert evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())["damaged"] == 2

    (error_line,) = [r for r in caplog.records if r.levelname == "ERROR" and getattr(r, "damaged", None)]
    lost = [line for line in getattr(error_line, "damaged", []) if line.endswith("(folded without it: lost)")]
    assert len(lost) == 1 and lost[0].startswith("rollup: ") and f" at {sk}: its digest of " in lost[0]
    ((_, counted),) = metric_values(emf_documents(capsys.readouterr().out), evaluator.METRIC_DAMAGED_ITEMS)
    assert counted == (1 if raises else 2)


def test_a_rollup_that_raises_after_meeting_a_damaged_rolled_digest_does_not_call_the_partials_it_holds_lost(
        dynamodb_store: DynamoDBStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A rolled digest that does not decode leaves the partials merging into it pending, whole: nothing of them is
    lost. When the rollup then raised, the line naming that digest said "the rollup failed after folding partials
    whose damaged pieces are lost for good", though it had folded nothing and lost nothing."""
    store, spec = dynamodb_store, load_spec()
    now = outage(store, spec)
    ingest_a_later_event(store, spec, now)
    key = DigestKey("no-slo-reads-it", M, now - 3 * conventions.HOUR)
    store.commit(Commit(digests={key: TDigest.from_values([7.0])}))
    store.rollup(now + conventions.HOUR)
    damage_digest(store, key)
    minutes = [key.bucket + (n + 1) * conventions.MINUTE for n in range(120)]
    for half, digests in ((minutes[:60], {key: TDigest.from_values([9.0])}), (minutes[60:], {})):
        store.commit(Commit(counters={CounterKey("no-slo-reads-it", M, m): {"good": 1, "total": 1} for m in half},
                            digests=digests))  # a transaction apiece: the first merges into the damaged digest
    store.refresh()
    second_fold_raises(monkeypatch, StoreError("refused"))
    deps = evaluator.Dependencies(store, spec, MemoryNotifier(), lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)

    with pytest.raises(StoreError, match="refused"):
        evaluator.lambda_handler({"time": iso_seconds(now)}, FakeLambdaContext())

    (line,) = [r for r in caplog.records if r.levelname == "ERROR" and getattr(r, "damaged", None)]
    (named,) = getattr(line, "damaged", [])
    assert named.startswith("rollup: ") and "does not decode" in named
    assert "the partials a damaged rolled item touches stay pending" in line.getMessage()
    assert [p.delta.digests.keys() for p in store.pending_partials() if key in p.delta.digests]  # held, whole
