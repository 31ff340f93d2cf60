"""User mistakes at the `slo` prompt: one line on stderr, exit code 2, no traceback, store untouched."""

from __future__ import annotations

import os
import sqlite3

import pytest

from processors.cli import main
from tests.builders import T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line


@pytest.fixture
def db(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A store with one applied record."""
    path = tmp_path / "events.json"
    import json

    line = log_line("api_request", T0, cid(1), "Api", status=200)
    path.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload([line])), 1)])))
    store = str(tmp_path / "slo.db")
    assert main(["replay", str(path), "--db", store, "--no-backtest"]) == 0
    return store


def dump(path: str) -> list[str]:
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


MISTAKES = [
    ("a replay of a missing path", ["replay", "/no/such/file.json"], "no such file or folder"),
    ("status on a store that does not exist", ["status", "--db", "/tmp/definitely-missing.db"], "no store at"),
    ("status with a time that is not ISO 8601", ["status", "--at", "yesterday-ish"], "--at: not an ISO 8601 time"),
    ("status of a latency sketch the spec lacks", ["status", "--latency", "nope"], "no sketch named 'nope'"),
    ("status with a bad window", ["status", "--latency", "api-latency", "--window", "soon"],
     "--window: not a duration"),
    ("an unknown command", ["frobnicate"], "invalid choice"),
    ("a trace ID that is not a UUID", ["trace", "not-a-uuid"], "not a correlation ID"),
    ("the dynamodb store without a table", ["status", "--store", "dynamodb"], "--table"),
    ("validate of a missing spec", ["validate", "/no/such/slos.yaml"], "no such file"),
    ("a report into a directory that does not exist", ["report", "--out", "/nonexistent/dir/r.html"],
     "--out: no directory /nonexistent/dir"),
    ("alerts since something that is neither a time nor a duration", ["alerts", "--since", "lately"],
     "--since: not an ISO 8601 time or a duration"),
]


@pytest.mark.parametrize(("case", "argv", "message"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistakes_are_one_line_and_exit_2(case, argv, message, db, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("SLO_TABLE_NAME", raising=False)
    if "--db" not in argv and argv[0] in ("status", "trace", "report", "alerts"):
        argv = [*argv, "--db", db]
    before = dump(db)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert dump(db) == before
    assert not os.path.exists("/nonexistent")  # nothing was created on the way


def test_validate_points_at_the_line_of_a_bad_objective(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "slos.yaml"
    spec.write_text(
        "apiVersion: slo-pipeline/v1\nslos:\n  - name: api\n    objective: 99.9\n"
        "    sli: {events: {match: {action: api_request}, good: {status: {lt: 500}}}}\n"
    )
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:4: slos[api].objective: must be a ratio" in err


def test_replaying_a_bad_file_counts_skips_and_exits_0(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "junk.jsonl"
    bad.write_text('{"timestamp": "x"}\nnot json at all\n')
    assert main(["replay", str(bad), "--db", str(tmp_path / "s.db"), "--json"]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 0
    assert summary["skipped"] == {"message_not_json": 1, "no_action": 1}
