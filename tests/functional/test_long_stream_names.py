"""A stream or shard name past DynamoDB's key limits (a replayed file's path, a hand-made event's ARN) counts on
both adapters as on SQLite, exactly once: the codec keys such a shard's items by a digest of its names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from processors.cli import main
from tests.builders import T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line
from tests.conftest import create_table

LINES = [log_line("webhook_received", T0, cid(7), "WebhookHandlerGHA"),
         log_line("runner_started", T0 + 2, cid(7), "Runner"),
         log_line("api_request", T0 + 3, cid(8), "Api", status=200, duration=12)]


def long_path(root: Path, length: int) -> Path:
    """A JSON-lines log at a path of about `length` characters: its stream is `file:` and the path."""
    folder = root
    while len(str(folder)) < length - 220:
        folder /= "d" * 200
    folder /= "d" * (length - len(str(folder)) - 20)
    folder.mkdir(parents=True)
    path = folder / "events.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    return path


def long_arn_event(root: Path, length: int) -> Path:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/" + "s" * length
    root.mkdir()
    path = root / "event.json"
    path.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload(LINES)), 1, stream_arn=arn)])))
    return path


def replay(path: Path, store: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["replay", str(path), *store, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    report: dict[str, Any] = json.loads(captured.out)
    return report


@pytest.mark.parametrize("length", [1_000, 3_000])
@pytest.mark.parametrize("source", [long_path, long_arn_event], ids=["a file's path", "a Kinesis event's ARN"])
def test_a_stream_name_past_the_key_limits_counts_every_event_once_on_both_adapters(
        source: Callable[[Path, int], Path], length: int, tmp_path: Path, moto_endpoint: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = source(tmp_path / "in", length)
    sqlite = ["--db", str(tmp_path / "slo.db")]
    dynamodb = ["--store", "dynamodb", "--table", create_table(moto_endpoint), "--endpoint-url", moto_endpoint]
    reports: dict[str, dict[str, Any]] = {}
    statuses: dict[str, str] = {}
    for name, store in (("sqlite", sqlite), ("dynamodb", dynamodb)):
        first = replay(path, store, capsys)
        assert first["events"] == 3 and first["skipped"] == {}, (name, first)
        again = replay(path, store, capsys)
        assert again["events"] == 0 and again["records_already_applied"] == first["records"], (name, again)
        reports[name] = {key: first[key] for key in ("records", "events", "skipped")}
        for command in (["status", "--at", "2026-10-01T00:05:00Z"], ["alerts"], ["trace", cid(7)]):
            assert main([*command, "--json", *store]) == 0
            statuses[name] = statuses.get(name, "") + capsys.readouterr().out
    assert reports["sqlite"] == reports["dynamodb"]
    assert statuses["sqlite"] == statuses["dynamodb"]
