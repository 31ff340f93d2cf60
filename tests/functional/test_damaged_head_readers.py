"""Readers of many trace heads at once are not lost to one damaged head, on both adapters, through the CLI.

`slo report` leaves a damaged exemplar (or a damaged --trace) out of a report that is otherwise whole, and says
so on stderr in one line; a `slo trace --repository` listing lists it as "damaged". `slo trace ID` of the damaged
ID itself stays a one-line error, exit 2. The head is damaged behind the store's back (tests/stored_items.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from processors.cli import main
from processors.ingest import Ingestor
from processors.spec import Spec
from processors.store import SqliteStore, keys, tables
from processors.timeutil import iso_seconds
from tests.builders import T0, cid, log_line
from tests.functional.test_damaged_heads import DAMAGE, DAMAGED, FIRST, JOURNEYS, deliver, records
from tests.stored_items import overwrite_doc

ALERT_AT = int(T0) + 600
LEFT_OUT = f"left out 1 trace(s) whose stored head does not decode: {DAMAGED} (docs/store.md, Damaged trace heads)"


def page_with_exemplars(exemplars: list[str]) -> dict[str, Any]:
    return {"id": f"api-availability#burn_rate#page#1h/5m#firing#{ALERT_AT}", "slo": "api-availability",
            "kind": "burn_rate", "severity": "page", "tier": "1h/5m", "state": "firing",
            "at": iso_seconds(ALERT_AT), "at_epoch": ALERT_AT, "exemplars": exemplars}


@pytest.fixture
def damaged(store: Any, spec: Spec) -> list[str]:
    """The store's CLI flags, after the journeys' first batch, an alert whose exemplars are three of them, and
    cid(2)'s head overwritten by bytes that do not decode."""
    deliver(Ingestor(store, spec), FIRST)
    store.save_alert_evaluation({"api-availability": {"v": 1}}, [page_with_exemplars([cid(0), DAMAGED, cid(1)])],
                                ALERT_AT)
    overwrite_doc(store, DAMAGED, DAMAGE)
    if isinstance(store, SqliteStore):
        return ["--db", store.path]
    return ["--store", "dynamodb", "--table", store.table, "--endpoint-url", store.client.meta.endpoint_url]


def report(capsys: Any, tmp_path: Any, flags: list[str], *extra: str) -> tuple[int, str, str]:
    out = tmp_path / "report.html"
    code = main(["report", *flags, "--since", iso_seconds(T0 - 3600), "--until", iso_seconds(T0 + 3600),
                 "--out", str(out), *extra])
    captured = capsys.readouterr()
    return code, captured.err, out.read_text(encoding="utf-8") if out.exists() else ""


def test_a_report_leaves_a_damaged_exemplar_out_shows_the_worst_of_the_rest_and_says_so_in_one_line(
    damaged, capsys, tmp_path
) -> None:
    code, err, html = report(capsys, tmp_path, damaged)
    assert code == 0, err
    assert [line for line in err.splitlines() if "does not decode" in line] == [f"slo: report: {LEFT_OUT}"]
    assert "the worst exemplar of the latest alerts" in html
    assert "1 exemplar trace(s) whose stored head does not decode" in html
    assert "damaged head" not in html and "damaged head" not in err  # never the stored bytes


def test_a_report_asked_for_a_damaged_trace_is_written_without_it(damaged, capsys, tmp_path) -> None:
    code, err, html = report(capsys, tmp_path, damaged, "--trace", DAMAGED)
    assert code == 0, err
    assert f"slo: report: {LEFT_OUT}" in err.splitlines()
    assert f"No trace to show: the stored trace {DAMAGED} (asked for with --trace) does not decode" in html


def test_a_repository_listing_lists_a_damaged_trace_as_damaged(damaged, capsys) -> None:
    code = main(["trace", *damaged, "--repository", "o/r", "--since", "1h", "--at", iso_seconds(T0 + 600),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = {row["correlationId"]: row for row in json.loads(captured.out)["traces"]}
    assert set(rows) == {cid(n) for n in JOURNEYS}
    assert rows[DAMAGED]["outcome"] == "damaged" and rows[DAMAGED]["firstSeen"].startswith(iso_seconds(T0 + 120)[:19])
    assert rows[DAMAGED]["repository"] == "o/r"  # what the index found it by, though the head does not decode
    assert {rows[cid(n)]["outcome"] for n in JOURNEYS if cid(n) != DAMAGED} == {"running"}
    assert [line for line in captured.err.splitlines() if "does not decode" in line] == [
        f"slo: trace: 1 listed trace(s) whose stored head does not decode: {DAMAGED} (docs/store.md, Damaged trace "
        "heads)"
    ]


def break_search_key(store: Any, correlation_id: str) -> None:
    """The trace's repository-search key made what the store never writes: on DynamoDB its index sort key followed
    by an x (it still sorts inside the search's range of seconds); SQLite's first-seen column holding text."""
    if isinstance(store, SqliteStore):
        store.db.execute("UPDATE traces SET first_seen_ms = 'x' WHERE correlation_id = ?", (correlation_id,))
        return
    key = {"PK": {"S": keys.trace_pk(correlation_id)}, "SK": {"S": keys.SK_TRACE_HEAD}}
    attribute = f"{tables.GSI_BY_REPOSITORY}SK"
    item = store.client.get_item(TableName=store.table, Key=key, ConsistentRead=True)["Item"]
    store.client.update_item(TableName=store.table, Key=key, UpdateExpression="SET #k = :k",
                             ExpressionAttributeNames={"#k": attribute},
                             ExpressionAttributeValues={":k": {"S": item[attribute]["S"] + "x"}})


def test_a_listing_leaves_out_a_damaged_trace_whose_search_key_is_not_a_time_and_lists_the_rest(
    damaged, store, capsys
) -> None:
    """Nothing places such a trace in the listing (its head does not decode, its key is not a time): DynamoDB's
    search, which finds it by the key's text, leaves it out and says so in one line; the whole listing was the
    one-line error naming it, exit 2. SQLite's column compares as a number, so text there is outside every
    search's range: the trace is not found, as a DynamoDB key outside the range is not."""
    break_search_key(store, DAMAGED)
    code = main(["trace", *damaged, "--repository", "o/r", "--since", "1h", "--at", iso_seconds(T0 + 600),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = {row["correlationId"]: row for row in json.loads(captured.out)["traces"]}
    assert set(rows) == {cid(n) for n in JOURNEYS if cid(n) != DAMAGED}
    assert {row["outcome"] for row in rows.values()} == {"running"}
    named = [line for line in captured.err.splitlines() if DAMAGED in line]
    if isinstance(store, SqliteStore):
        assert named == []
    else:
        assert named == [f"slo: trace: left out 1 trace(s) whose stored head does not decode and whose search key "
                         f"is not a time: {DAMAGED} (docs/store.md, Damaged trace heads)"]


def test_a_workflow_listing_names_a_damaged_trace_by_the_workflow_it_was_found_by(damaged, capsys) -> None:
    code = main(["trace", *damaged, "--workflow", "2", "--since", "1h", "--at", iso_seconds(T0 + 600), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (row,) = json.loads(captured.out)["traces"]
    assert (row["correlationId"], row["outcome"], row["workflowId"]) == (DAMAGED, "damaged", "2")


def test_slo_trace_of_the_damaged_id_itself_stays_a_one_line_error(damaged, capsys) -> None:
    code = main(["trace", *damaged, DAMAGED])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"slo: error: the stored trace {DAMAGED} does not decode") and err.count("\n") == 1


def test_a_listing_with_a_damaged_trace_is_the_same_on_both_adapters(
    sqlite_store, dynamodb_store, spec, capsys
) -> None:
    """DynamoDB's search lists a damaged head at the second its index key keeps, SQLite's at the millisecond its
    column keeps: a damaged trace first seen at .900 s was listed at different times, and in a different order
    beside a trace first seen at .200 s of the same second."""
    lines = [log_line("webhook_received", T0 + 1.9, cid(7), "WebhookHandlerGHA", workflowId="7", repository="o/r"),
             log_line("webhook_received", T0 + 1.2, cid(8), "WebhookHandlerGHA", workflowId="8", repository="o/r")]
    listings = []
    for store in (sqlite_store, dynamodb_store):
        deliver(Ingestor(store, spec), records([lines], 10))
        overwrite_doc(store, cid(7), DAMAGE)
        flags = (["--db", str(store.path)] if isinstance(store, SqliteStore) else
                 ["--store", "dynamodb", "--table", store.table, "--endpoint-url", store.client.meta.endpoint_url])
        capsys.readouterr()
        assert main(["trace", *flags, "--repository", "o/r", "--since", "1h", "--at", iso_seconds(T0 + 600),
                     "--json"]) == 0
        listings.append(capsys.readouterr().out)
    assert listings[0] == listings[1]
    assert [(row["correlationId"], row["outcome"]) for row in json.loads(listings[0])["traces"]] == [
        (cid(8), "pending"), (cid(7), "damaged")]
