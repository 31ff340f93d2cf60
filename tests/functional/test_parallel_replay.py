"""Several `slo replay --ingest-only` processes, one per shard file, then `slo backtest`, leave a DynamoDB table
as one `slo replay` of every file does: the same `slo status --json` and the same alert log.

The workers are separate processes writing one table on the local DynamoDB server at once (moto, serialized,
per-item rollback). The input is a randomized two-shard history whose payloads arrive up to 90 s late and
out of order, with bad phases that open and resolve alerts.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from tests.conftest import dynamodb_client
from tests.functional.test_backtest_window_view import random_history


def table(endpoint: str) -> list[str]:
    name = f"slo-{uuid.uuid4().hex[:8]}"
    assert main(["bootstrap", "--endpoint-url", endpoint, "--table", name, "--stream", f"{name}-logs"]) == 0
    return ["--store", "dynamodb", "--table", name, "--endpoint-url", endpoint]


def outputs(store: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, Any]:
    capsys.readouterr()
    assert main(["status", "--json", *store]) == 0
    status = json.loads(capsys.readouterr().out)
    assert main(["alerts", "--json", "--since", "2026-01-01T00:00:00Z", *store]) == 0
    return status, json.loads(capsys.readouterr().out)


def worker(path: Path, store: list[str]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "processors.cli", "replay", str(path), *store, "--ingest-only", "--json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize(
    ("seed", "minutes"),
    [(4, 45), pytest.param(4, 150, marks=pytest.mark.slow), pytest.param(5, 150, marks=pytest.mark.slow)],
)
def test_per_shard_workers_and_a_backtest_equal_one_replay(  # type: ignore[no-untyped-def]
    moto_endpoint, tmp_path: Path, capsys, seed: int, minutes: int
) -> None:
    random_history(tmp_path / "in", seed, minutes)
    one = table(moto_endpoint)
    assert main(["replay", str(tmp_path / "in"), *one, "--json"]) == 0

    split = table(moto_endpoint)
    workers = [worker(path, split) for path in sorted((tmp_path / "in").glob("*.jsonl"))]
    reports = []
    for process in workers:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    assert all(r["minutes_evaluated"] == 0 and r["orphans_swept"] == 0 for r in reports), "workers only ingest"
    capsys.readouterr()
    assert main(["backtest", *split, "--json"]) == 0
    backtest = json.loads(capsys.readouterr().out)
    assert backtest["minutes_evaluated"] >= minutes - 2

    status, alerts = outputs(one, capsys)
    assert alerts, "the history's bad phases open alerts"
    assert outputs(split, capsys) == (status, alerts)


def test_batches_without_an_arrival_time_are_applied_first_by_both(moto_endpoint, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    random_history(tmp_path / "in", 4, 30)
    shard = tmp_path / "in" / "shardId-000000000001.jsonl"
    events = [json.loads(line) for line in shard.read_text().splitlines()]
    for event in events:
        for record in event["Records"]:
            del record["kinesis"]["approximateArrivalTimestamp"]
    shard.write_text("".join(json.dumps(event) + "\n" for event in events))
    one = table(moto_endpoint)
    assert main(["replay", str(tmp_path / "in"), *one]) == 0
    split = table(moto_endpoint)
    for path in sorted((tmp_path / "in").glob("*.jsonl")):
        assert main(["replay", str(path), *split, "--ingest-only"]) == 0
    assert main(["backtest", *split]) == 0
    assert outputs(split, capsys) == outputs(one, capsys)


def test_a_second_backtest_is_refused_and_changes_nothing(moto_endpoint, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    random_history(tmp_path / "in", 6, minutes=20)
    store = table(moto_endpoint)
    for path in sorted((tmp_path / "in").glob("*.jsonl")):
        assert main(["replay", str(path), *store, "--ingest-only"]) == 0
    assert main(["backtest", *store]) == 0
    before = outputs(store, capsys)
    assert main(["backtest", *store]) == 2
    err = capsys.readouterr().err
    assert "has been rolled up, swept and evaluated already" in err and err.count("\n") == 1
    assert outputs(store, capsys) == before


def test_a_backtest_after_an_ordinary_replay_is_refused(moto_endpoint, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    random_history(tmp_path / "in", 7, minutes=10)
    store = table(moto_endpoint)
    assert main(["replay", str(tmp_path / "in"), *store]) == 0  # it rolled up at each minute
    assert main(["backtest", *store]) == 2
    assert "rolled up" in capsys.readouterr().err


def test_a_backtest_of_an_empty_table_says_what_to_run_first(moto_endpoint, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["backtest", *table(moto_endpoint)]) == 2
    assert "--ingest-only" in capsys.readouterr().err


def test_ingest_only_and_backtest_are_refused_on_sqlite(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    random_history(tmp_path / "in", 8, minutes=5)
    db = str(tmp_path / "slo.db")
    assert main(["replay", str(tmp_path / "in"), "--db", db, "--ingest-only"]) == 2
    assert "DynamoDB" in capsys.readouterr().err
    assert main(["backtest", "--db", db]) == 2
    assert "DynamoDB" in capsys.readouterr().err
    assert not Path(db).exists(), "a refused command creates no store"


def test_a_backtest_stopped_midway_leaves_a_table_a_second_backtest_refuses(  # type: ignore[no-untyped-def]
    moto_endpoint, tmp_path: Path, capsys, monkeypatch
) -> None:
    from processors.sweeping import Sweeper

    random_history(tmp_path / "in", 9, minutes=20)
    store = table(moto_endpoint)
    for path in sorted((tmp_path / "in").glob("*.jsonl")):
        assert main(["replay", str(path), *store, "--ingest-only"]) == 0
    sweep, calls = Sweeper.sweep, []

    def interrupted(self, now, oldest_applied=None):  # type: ignore[no-untyped-def]
        calls.append(now)
        if len(calls) == 5:  # Ctrl-C (or a crash) after 4 minutes were swept and evaluated, before the rollup
            raise KeyboardInterrupt
        return sweep(self, now, oldest_applied)

    monkeypatch.setattr(Sweeper, "sweep", interrupted)
    assert main(["backtest", *store]) == 130
    monkeypatch.setattr(Sweeper, "sweep", sweep)
    capsys.readouterr()
    # a second run would evaluate from the first minute again over the alert states the first left at its 4th
    assert main(["backtest", *store]) == 2
    err = capsys.readouterr().err
    assert "backtest" in err and err.count("\n") == 1


def test_a_backtest_of_a_partial_whose_digest_does_not_decode_refuses_in_one_line(  # type: ignore[no-untyped-def]
    moto_endpoint, tmp_path: Path, capsys
) -> None:
    """The backtest replays every pending partial's digests into its window view: one whose t-digest bytes do not
    decode (base64 that decodes, 365bd3f's lost piece) was a SketchFormatError traceback. It is lost, as the
    rollup loses it, and the backtest's closing rollup refuses in one line naming it, as replay's does."""
    random_history(tmp_path / "in", 6, minutes=10)
    store = table(moto_endpoint)
    for path in sorted((tmp_path / "in").glob("*.jsonl")):
        assert main(["replay", str(path), *store, "--ingest-only"]) == 0
    client, name = dynamodb_client(moto_endpoint), store[store.index("--table") + 1]
    items = client.scan(TableName=name, FilterExpression="attribute_exists(GSI4PK)")["Items"]
    documents = [(item, json.loads(zlib.decompress(item["p"]["B"]))) for item in items]
    item, document = next((i, d) for i, d in documents if d["d"])
    document["d"][0][3] = base64.b64encode(b"\x01 not a t-digest").decode()
    client.update_item(TableName=name, Key={"PK": item["PK"], "SK": item["SK"]}, UpdateExpression="SET p = :v",
                       ExpressionAttributeValues={":v": {"B": zlib.compress(json.dumps(document).encode())}})
    capsys.readouterr()

    assert main(["backtest", *store]) == 2

    err = capsys.readouterr().err
    assert f"the partial {item['PK']['S']} at {item['SK']['S']}: its digest of" in err and err.count("\n") == 1
    assert "(folded without it: lost)" in err
