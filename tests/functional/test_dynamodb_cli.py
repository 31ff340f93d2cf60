"""`slo bootstrap`, then the whole CLI against DynamoDB on moto's server: the same commands, the other adapter."""

from __future__ import annotations

import json
import uuid

import pytest

from processors.cli import main
from processors.store import DynamoDBStore, dynamodb_client
from tests.builders import EVENTS_DIR, T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line


def test_replay_status_and_trace_run_end_to_end_on_a_bootstrapped_table(moto_endpoint, capsys) -> None:  # type: ignore[no-untyped-def]
    table = f"slo-{uuid.uuid4().hex[:8]}"
    assert main(["bootstrap", "--endpoint-url", moto_endpoint, "--table", table, "--stream", f"{table}-logs"]) == 0
    assert "created" in capsys.readouterr().out
    store = ["--store", "dynamodb", "--table", table, "--endpoint-url", moto_endpoint]
    sample = str(EVENTS_DIR / "sample-kinesis-event.json")
    assert main(["replay", sample, *store, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["events"] == 2 and first["skipped"] == {"message_not_json": 1}
    assert main(["replay", sample, *store, "--json"]) == 0  # the checkpoint lives in the table too
    assert json.loads(capsys.readouterr().out)["records_already_applied"] == 1

    assert main(["trace", "7d3f9a52-1c4e-4b8a-9f21-5e6d7c8b9a01", "--json", *store]) == 0
    trace = json.loads(capsys.readouterr().out)
    assert trace["found"] is True
    assert trace["milestones"]["webhook_received"] == "2026-10-01T00:00:01.234Z"
    assert trace["breakdownMs"]["queue"] is None  # task_launched has not arrived

    assert main(["status", "--json", *store]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["at"] == "2026-10-01T00:01:00Z"
    assert [slo["name"] for slo in status["slos"]] == [
        "queue-latency", "cache-hit-rate", "deploy-success", "orphan-rate", "api-availability"
    ]
    assert status["trace_coverage"]["vocabulary_events"] == 2


def test_a_missing_table_is_a_one_line_error(moto_endpoint, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["status", "--store", "dynamodb", "--table", "no-such-table", "--endpoint-url", moto_endpoint])
    assert code == 2
    err = capsys.readouterr().err
    assert "no-such-table" in err and err.count("\n") == 1


@pytest.fixture(autouse=True)
def _no_table_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLO_TABLE_NAME", raising=False)


def test_replaying_into_a_missing_table_is_a_one_line_error(moto_endpoint, capsys) -> None:  # type: ignore[no-untyped-def]
    sample = str(EVENTS_DIR / "sample-kinesis-event.json")
    code = main(["replay", sample, "--store", "dynamodb", "--table", "absent", "--endpoint-url", moto_endpoint])
    assert code == 2
    assert "slo bootstrap" in capsys.readouterr().err



TAMPERED = [  # (case, items of this partition prefix, the edit of attribute #a, #a, the value it sets)
    ("a counter holding 1.5", "CNT#", "SET #a = :v", "good", {"N": "1.5"}),
    ("a counter holding text", "CNT#", "SET #a = :v", "total", {"S": "abc"}),
    ("a gauge holding text", "GAUGE", "SET #a = :v", "value", {"S": "x"}),
    ("a digest without its d", "DIG#", "REMOVE #a", "d", None),
    ("an alert state that is a list", "ALERTSTATE", "SET #a = :v", "doc", {"S": "[1]"}),
    ("an alert state's time holding text", "ALERTSTATE", "SET #a = :v", "at", {"S": "x"}),
    ("a checkpoint's position holding text", "CKPT", "SET #a = :v", "pos", {"S": "abc"}),
    ("an alert transition that is not JSON", "ALERTLOG", "SET #a = :v", "doc", {"S": "{nope"}),
    ("a silence that is not JSON", "SILENCE", "SET #a = :v", "doc", {"S": "{nope"}),
    ("a silence whose end is text", "SILENCE", "SET #a = :v", "doc", {"S": '{"id": "s", "slo": "*", "ends": "x"}'}),
    ("a correction that is a JSON list", "CORRECTION#", "SET #a = :v", "doc", {"S": "[1]"}),
]
DAMAGE_READERS = [["status"], ["status", "--latency", "queue-latency"], ["metrics"], ["scorecard"],
                  ["report", "--out", "REPORT"], ["alerts"], ["silence", "list"], ["replay", "EVENTS"]]


def test_an_item_of_a_type_the_store_never_writes_is_one_line_and_exit_2_and_read_only_commands_change_nothing(  # type: ignore[no-untyped-def]
        moto_endpoint, capsys, tmp_path) -> None:
    """A console edit or another program: every command that reads the item says so in one line, as SQLite's
    damaged rows do (tests/functional/test_smaller_defects.py). One table; each edit is undone before the next."""
    import boto3

    table = f"slo-{uuid.uuid4().hex[:8]}"
    assert main(["bootstrap", "--endpoint-url", moto_endpoint, "--table", table, "--stream", f"{table}-logs"]) == 0
    store = ["--store", "dynamodb", "--table", table, "--endpoint-url", moto_endpoint]
    # SLI events, then one five minutes later: the watermark passes the first minute, so its rolled items exist
    lines = [log_line("webhook_received", T0, cid(7), "WebhookHandlerGHA"),
             log_line("runner_started", T0 + 2, cid(7), "Runner"),
             log_line("api_request", T0 + 3, cid(8), "Api", status=200, duration=12)]
    later = [log_line("api_request", T0 + 300, cid(9), "Api", status=200, duration=12)]
    for n, batch in enumerate((lines, later), 1):
        path = tmp_path / f"events-{n}.json"
        path.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload(batch)), n)])))
        assert main(["replay", str(path), *store]) == 0
    assert main(["silence", "add", *store, "--all", "--for", "1h", "--reason", "deploy"]) == 0
    assert main(["correct", *store, "--slo", "api-availability", "--from", "2026-10-01T00:00:00Z",
                 "--to", "2026-10-01T00:01:00Z", "--reason", "load test"]) == 0
    transition = {"id": "api-availability#burn_rate#ticket#-#firing#1", "at_epoch": int(T0) + 60, "state": "firing"}
    DynamoDBStore(dynamodb_client(moto_endpoint), table).save_alert_evaluation({}, [transition], int(T0) + 60)
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint)

    def items() -> list[dict]:  # type: ignore[type-arg]
        found = client.scan(TableName=table, ConsistentRead=True)["Items"]
        return sorted(found, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))

    for k, (case, pk, expression, name, value) in enumerate(TAMPERED):
        events = tmp_path / f"events-later-{k}.json"  # a replay of new minutes evaluates them: it reads the states
        batch = [log_line("api_request", T0 + 600 + 60 * k, cid(10 + k), "Api", status=200, duration=12)]
        events.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload(batch)), 10 + k)])))
        whole = [i for i in items() if i["PK"]["S"].startswith(pk) and name in i]
        assert whole, case
        for item in whole:
            client.update_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]},
                               UpdateExpression=expression, ExpressionAttributeNames={"#a": name},
                               **({"ExpressionAttributeValues": {":v": value}} if value else {}))
        refused = []
        for command in DAMAGE_READERS:
            before = items()
            argv = [arg.replace("REPORT", str(tmp_path / "r.html")).replace("EVENTS", str(events)) for arg in command]
            capsys.readouterr()
            code = main([*argv, *store])
            err = capsys.readouterr().err
            assert code in (0, 2), (case, command, err)
            assert code == 0 or ("damaged" in err and len(err.strip().splitlines()) == 1), (case, command, err)
            assert command[0] == "replay" or items() == before, (case, command)
            refused += [command[0]] if code == 2 else []
        assert refused, f"{case}: no command read the damaged item"
        for item in whole:
            client.put_item(TableName=table, Item=item)
