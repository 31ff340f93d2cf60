"""Raw access to a trace head's item (and a silence's or correction's document) through each adapter's own table,
as an older slo, another writer or a manual edit would leave it: the `doc` column or attribute read, overwritten or
deleted behind the store's back."""

from __future__ import annotations

from typing import Any

from processors.store import DynamoDBStore, SqliteStore, keys


def _head_key(correlation_id: str) -> dict[str, Any]:
    return {"PK": {"S": keys.trace_pk(correlation_id)}, "SK": {"S": keys.SK_TRACE_HEAD}}


def stored_doc(store: SqliteStore | DynamoDBStore, correlation_id: str) -> bytes:
    if isinstance(store, SqliteStore):
        (doc,) = store.db.execute("SELECT doc FROM traces WHERE correlation_id = ?", (correlation_id,)).fetchone()
        return bytes(doc)
    return bytes(store.client.get_item(TableName=store.table, Key=_head_key(correlation_id))["Item"]["doc"]["B"])


def stored_item(store: SqliteStore | DynamoDBStore, correlation_id: str) -> Any:
    """The head's whole row or item, every column or attribute, to compare before and after."""
    if isinstance(store, SqliteStore):
        return store.db.execute("SELECT * FROM traces WHERE correlation_id = ?", (correlation_id,)).fetchone()
    return store.client.get_item(TableName=store.table, Key=_head_key(correlation_id), ConsistentRead=True)["Item"]


def overwrite_doc(store: SqliteStore | DynamoDBStore, correlation_id: str, doc: bytes) -> None:
    if isinstance(store, SqliteStore):
        store.db.execute("UPDATE traces SET doc = ? WHERE correlation_id = ?", (doc, correlation_id))
        return
    store.client.update_item(TableName=store.table, Key=_head_key(correlation_id), UpdateExpression="SET doc = :d",
                             ExpressionAttributeValues={":d": {"B": doc}})


def overwrite_version(store: SqliteStore | DynamoDBStore, correlation_id: str, version: str) -> None:
    """`version` as a number's text: SQLite stores 1.5 as a REAL (the column's affinity), DynamoDB as N "1.5"."""
    if isinstance(store, SqliteStore):
        store.db.execute("UPDATE traces SET version = ? WHERE correlation_id = ?", (version, correlation_id))
        return
    store.client.update_item(TableName=store.table, Key=_head_key(correlation_id), UpdateExpression="SET v = :v",
                             ExpressionAttributeValues={":v": {"N": version}})


def delete_head(store: SqliteStore | DynamoDBStore, correlation_id: str) -> None:
    """The repair docs/store.md gives for a damaged head: delete its item."""
    if isinstance(store, SqliteStore):
        store.db.execute("DELETE FROM traces WHERE correlation_id = ?", (correlation_id,))
        return
    store.client.delete_item(TableName=store.table, Key=_head_key(correlation_id))


def lower_open_units(store: SqliteStore | DynamoDBStore) -> None:
    """The second step of that repair, for a damaged open unit: the open-units gauge, one lower."""
    if isinstance(store, SqliteStore):
        store.db.execute("UPDATE gauges SET value = value - 1 WHERE name = 'open-units'")
        return
    store.client.update_item(TableName=store.table, Key={"PK": {"S": "GAUGE"}, "SK": {"S": "open-units"}},
                             UpdateExpression="ADD #v :d", ExpressionAttributeNames={"#v": "value"},
                             ExpressionAttributeValues={":d": {"N": "-1"}})


def overwrite_document(store: SqliteStore | DynamoDBStore, pk: str, sk: str, text: str) -> None:
    """A silence's or correction's stored document (its `documents` row, its `doc` attribute) overwritten."""
    if isinstance(store, SqliteStore):
        changed = store.db.execute("UPDATE documents SET doc = ? WHERE pk = ? AND sk = ?", (text, pk, sk)).rowcount
        assert changed == 1
        return
    store.client.update_item(TableName=store.table, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                             UpdateExpression="SET doc = :v", ConditionExpression="attribute_exists(doc)",
                             ExpressionAttributeValues={":v": {"S": text}})
