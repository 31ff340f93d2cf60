"""`slo local-dynamodb` answers Query from a partition's items, and an index Query from items looked up by the
index's partition key (cached until the next write): the answers and their pages must be stock moto's."""

from __future__ import annotations

from typing import Any

import boto3

from processors.store import tables
from tests.conftest import create_table

PK, SK = tables.PARTITION_KEY, tables.SORT_KEY
OPEN_PK, OPEN_SK = f"{tables.GSI_OPEN_UNITS}PK", f"{tables.GSI_OPEN_UNITS}SK"


def _item(pk: str, sk: str, hour: str | None = None, started: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {PK: {"S": pk}, SK: {"S": sk}}
    if hour is not None:
        item[OPEN_PK], item[OPEN_SK] = {"S": hour}, {"S": started}
    return item


def _pages(client: Any, table: str, **kwargs: Any) -> list[list[tuple[str, str]]]:
    pages, start = [], None
    while True:
        extra: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        page = client.query(TableName=table, Limit=2, **kwargs, **extra)
        pages.append([(item[PK]["S"], item[SK]["S"]) for item in page["Items"]])
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def _open(client: Any, table: str, hour: str, **kwargs: Any) -> list[list[tuple[str, str]]]:
    return _pages(
        client, table, IndexName=tables.GSI_OPEN_UNITS, KeyConditionExpression="#pk = :pk",
        ExpressionAttributeNames={"#pk": OPEN_PK}, ExpressionAttributeValues={":pk": {"S": hour}}, **kwargs,
    )


def test_table_and_index_queries_page_in_key_order_and_see_every_write(moto_endpoint: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    table = create_table(moto_endpoint)
    for item in [
        _item("T#b", "HEAD", "OPEN#1", "002#b"), _item("T#a", "HEAD", "OPEN#1", "002#a"),
        _item("T#c", "HEAD", "OPEN#1", "001#c"), _item("T#d", "HEAD", "OPEN#2", "001#d"),
        _item("P", "3"), _item("P", "1"), _item("P", "2"), _item("Q", "0"),
    ]:
        client.put_item(TableName=table, Item=item)

    partition = _pages(client, table, KeyConditionExpression="#pk = :pk", ExpressionAttributeNames={"#pk": PK},
                       ExpressionAttributeValues={":pk": {"S": "P"}})
    assert partition == [[("P", "1"), ("P", "2")], [("P", "3")]]
    # the index's sort key, then the table's key; backwards too
    assert _open(client, table, "OPEN#1") == [[("T#c", "HEAD"), ("T#a", "HEAD")], [("T#b", "HEAD")]]
    assert _open(client, table, "OPEN#1", ScanIndexForward=False) == [
        [("T#b", "HEAD"), ("T#a", "HEAD")], [("T#c", "HEAD")]]
    assert _open(client, table, "OPEN#3") == [[]]

    # an update that removes the index key, a put that moves an item, a delete and a failed transaction: each
    # is seen by the next query
    client.update_item(TableName=table, Key={PK: {"S": "T#c"}, SK: {"S": "HEAD"}},
                       UpdateExpression="REMOVE #pk, #sk", ExpressionAttributeNames={"#pk": OPEN_PK, "#sk": OPEN_SK})
    assert _open(client, table, "OPEN#1") == [[("T#a", "HEAD"), ("T#b", "HEAD")]]
    client.put_item(TableName=table, Item=_item("T#d", "HEAD", "OPEN#1", "000#d"))
    assert _open(client, table, "OPEN#1") == [[("T#d", "HEAD"), ("T#a", "HEAD")], [("T#b", "HEAD")]]
    assert _open(client, table, "OPEN#2") == [[]]
    client.delete_item(TableName=table, Key={PK: {"S": "T#a"}, SK: {"S": "HEAD"}})
    assert _open(client, table, "OPEN#1") == [[("T#d", "HEAD"), ("T#b", "HEAD")]]
    try:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": _item("T#e", "HEAD", "OPEN#1", "000#e")}},
            {"Put": {"TableName": table, "Item": _item("Q", "0"), "ConditionExpression": "attribute_not_exists(#pk)",
                     "ExpressionAttributeNames": {"#pk": PK}}},
        ])
    except client.exceptions.TransactionCanceledException:
        pass
    else:
        raise AssertionError("the transaction should have been cancelled")
    assert _open(client, table, "OPEN#1") == [[("T#d", "HEAD"), ("T#b", "HEAD")]]
