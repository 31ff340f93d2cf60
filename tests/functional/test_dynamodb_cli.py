"""`slo bootstrap`, then the whole CLI against DynamoDB on moto's server: the same commands, the other adapter."""

from __future__ import annotations

import json
import uuid

import pytest

from processors.cli import main
from tests.builders import EVENTS_DIR


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
