"""`slo replay` of a long filter-log-events document: its events are read a chunk at a time, not parsed whole
(sources._streamed_events), and it replays exactly as it did parsed whole."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from processors import conventions
from processors.cli import main
from processors.replay import sources
from tests.builders import T0, cid, log_line
from tests.unit.test_replay_reading import RecordingDecoder

EVENTS = 4000  # ~1.5 MiB pretty-printed: past _UNCOUNTED, and four chunks


def filter_log_events_output(count: int = EVENTS, start: int = 0) -> dict[str, Any]:
    """What `aws logs filter-log-events` prints: a request every 10 s, one in 7 failing."""
    events = [{"logStreamName": f"s{n % 3}", "timestamp": int((T0 + 10 * n) * 1000),
               "message": log_line("api_request", T0 + 10 * n, cid(n), "Api", status=500 if n % 7 == 0 else 200),
               "ingestionTime": int((T0 + 10 * n) * 1000) + 300, "eventId": str(10**55 + n)}
              for n in range(start, start + count)]
    return {"events": events, "searchedLogStreams": [{"logStreamName": "s0", "searchedCompletely": True}]}


def pretty(document: Any) -> bytes:
    return json.dumps(document, indent=4).encode()


def _read_whole(*args: Any) -> Iterator[Any]:
    """_streamed_events that gives every document back to be parsed whole: the reading before it."""
    return -1
    yield


def replayed(capsys: pytest.CaptureFixture[str], path: Path, db: Path, *extra: str) -> tuple[int, dict, str]:
    """(exit code, summary without its seconds, stderr) of `slo replay PATH --json`."""
    capsys.readouterr()
    code = main(["replay", str(path), "--db", str(db), "--json", "--log-group", "/aws/lambda/api", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    summary = json.loads(captured.out) if code == 0 else {}
    summary.pop("seconds", None)
    return code, summary, captured.err


def outputs(capsys: pytest.CaptureFixture[str], db: Path) -> tuple[str, str]:
    """`slo status --json` and `slo alerts --json` of a store."""
    capsys.readouterr()
    assert main(["status", "--db", str(db), "--json"]) == 0
    status = capsys.readouterr().out
    assert main(["alerts", "--db", str(db), "--json"]) == 0
    return status, capsys.readouterr().out


def test_a_long_filter_log_events_document_replays_as_read_whole_and_as_its_json_lines(
    tmp_path, capsys, monkeypatch
) -> None:
    document = filter_log_events_output()
    path = tmp_path / "export.json"
    path.write_bytes(pretty(document))
    assert path.stat().st_size > 1 << 20
    lines = tmp_path / "export.jsonl"
    lines.write_text("".join(event["message"] + "\n" for event in document["events"]))

    code, streamed, _ = replayed(capsys, path, tmp_path / "streamed.db")
    assert code == 0 and streamed["events"] == EVENTS and not streamed["skipped"]
    assert streamed["formats"] == {"filter-log-events": 1}
    with monkeypatch.context() as patch:
        patch.setattr(sources, "_streamed_events", _read_whole)
        assert replayed(capsys, path, tmp_path / "whole.db")[1] == streamed
    code, as_lines, _ = replayed(capsys, lines, tmp_path / "lines.db")
    assert code == 0 and as_lines["events"] == EVENTS
    status, alerts = outputs(capsys, tmp_path / "streamed.db")
    assert json.loads(alerts)  # the failures page: the comparison is not of empty lists
    assert outputs(capsys, tmp_path / "whole.db") == (status, alerts)
    assert outputs(capsys, tmp_path / "lines.db") == (status, alerts)

    assert replayed(capsys, path, tmp_path / "streamed.db")[1]["events"] == 0  # again: nothing applied twice
    with monkeypatch.context() as patch:  # nor by the reading before, whose positions are the same
        patch.setattr(sources, "_streamed_events", _read_whole)
        assert replayed(capsys, path, tmp_path / "streamed.db")[1]["events"] == 0
    assert outputs(capsys, tmp_path / "streamed.db") == (status, alerts)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_the_events_are_parsed_one_at_a_time_and_held_a_chunk_at_a_time(tmp_path, monkeypatch, gzipped) -> None:
    monkeypatch.setattr(sources.json, "JSONDecoder", RecordingDecoder)
    RecordingDecoder.reset()
    content = pretty(filter_log_events_output(3500))
    path = tmp_path / "export.json"
    path.write_bytes(gzip.compress(content, mtime=0) if gzipped else content)
    source = sources.FileSource(path)
    with source._open() as text:
        chunks = list(sources._json_documents(text, cut_short=lambda: False))
    assert [len(chunk.events) for chunk in chunks] == [1000, 1000, 1000, 500]
    assert [chunk.entries for chunk in chunks] == [1001, 1000, 1000, 500]  # 1 + the events, as read whole
    assert RecordingDecoder.never_built_whole(20)  # an event (9 values) at a time, never the list
    batches = list(source.batches())
    assert [batch.records[0].sequence for batch in batches] == [1, 2, 3, 4]
    assert sum(len(record.events) for batch in batches for record in batch.records) == 3500


def test_the_text_held_is_about_one_read_not_the_document(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sources, "_READ_CHUNK", 16 << 10)  # streamed past 64 KiB, read 16 KiB at a time
    monkeypatch.setattr(sources, "_UNCOUNTED", 64 << 10)
    monkeypatch.setattr(sources, "_SMALL_DOCUMENT", 4 << 10)
    held: list[int] = []
    more = sources._Text.more

    def noting(self: sources._Text, drop: int, size: int = 0) -> None:
        more(self, drop, size)
        held.append(len(self.buffer))

    monkeypatch.setattr(sources._Text, "more", noting)
    content = pretty(filter_log_events_output(20_000))  # ~7.5 MB
    path = tmp_path / "export.json"
    path.write_bytes(content)
    chunks = 0
    with sources.FileSource(path)._open() as text:
        for chunk in sources._json_documents(text, cut_short=lambda: False):
            chunks += 1
            assert len(chunk.events) <= sources.LINES_PER_BATCH
    assert chunks == 20
    assert max(held) < len(content) // 10  # up to the first chunk's text (~490 KB), then about one read more
    assert held[-1] < 64 << 10


def replay_outcome(capsys, path: Path, db: Path) -> tuple[int, dict, str]:
    return replayed(capsys, path, db, "--no-backtest")


def long_events(count: int = EVENTS, start: int = 0) -> list[bytes]:
    return [json.dumps(event, indent=4).encode() for event in filter_log_events_output(count, start)["events"]]


def events_document(*elements: bytes, head: bytes = b'{"events": [\n', tail: bytes = b"\n]}\n") -> bytes:
    return head + b",\n".join(elements) + tail


BOMB = b"[" + b",".join([b"{}"] * 700_000) + b"]"  # 2 MiB, 1.4 million values counted: past the cap of 1 million
HOSTILE = {
    "events last, after the other keys": (
        lambda: events_document(*long_events(), head=b'{"nextToken": "x", "searchedLogStreams": [],\n"events": ['),
        "same"),
    "events that are not a list": (lambda: pretty({"events": {str(n): n for n in range(100_000)}}), "same"),
    "duplicated events keys, the first short": (
        lambda: events_document(*long_events(500), tail=b'],\n"events": [' + b",".join(long_events(3500, 500)) + b"]}"),
        "same"),
    "another format's list after the events": (
        lambda: events_document(*long_events(), tail=b'],\n"Records": []}'), {conventions.SKIP_PAYLOAD_SHAPE: 1}),
    "duplicated events keys, the first long": (
        lambda: events_document(*long_events(), tail=b'],\n"events": [' + b",".join(long_events(10, 5000)) + b"]}"),
        {conventions.SKIP_PAYLOAD_SHAPE: 1}),
    "an event that is a 2 MiB list of {}, first": (lambda: events_document(BOMB, *long_events()), "same"),
    "an event that is a 2 MiB list of {}, after the first chunk": (
        lambda: events_document(*long_events()[:2000], BOMB, *long_events()[2000:]),
        {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}),
    "truncated mid-events": (lambda: events_document(*long_events())[:1_300_000], {conventions.SKIP_LINE_NOT_JSON: 1}),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_long_document_of_another_shape_is_counted_as_read_whole_or_as_a_skip(tmp_path, capsys, monkeypatch, case):
    build, expected = HOSTILE[case]
    path = tmp_path / "hostile.json"
    path.write_bytes(build())
    assert path.stat().st_size > 1 << 20 or "truncated" in case
    code, summary, err = replay_outcome(capsys, path, tmp_path / "streamed.db")
    if expected == "same":
        with monkeypatch.context() as patch:
            patch.setattr(sources, "_streamed_events", _read_whole)
            assert replay_outcome(capsys, path, tmp_path / "whole.db") == (code, summary, err)
    else:
        assert code == 0 and summary["skipped"] == expected and summary["events"] >= 1000


def test_an_event_of_too_many_values_is_refused_unbuilt_after_the_chunks_before_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sources, "MAX_DOCUMENT_VALUES", 100_000)
    monkeypatch.setattr(sources.json, "JSONDecoder", RecordingDecoder)
    RecordingDecoder.reset()
    path = tmp_path / "bomb.json"
    path.write_bytes(events_document(*long_events(20_000), BOMB))  # 7.6 MB of events, then the bomb
    code, summary, _ = replay_outcome(capsys, path, tmp_path / "slo.db")
    assert code == 0 and summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}
    assert 1000 <= summary["events"] < 20_000
    assert RecordingDecoder.never_built_whole(20)


def test_a_gzip_cut_short_mid_events_is_its_chunks_then_one_truncated_gzip(tmp_path, capsys) -> None:
    compressed = gzip.compress(pretty(filter_log_events_output()), mtime=0)
    path = tmp_path / "export.json.gz"
    path.write_bytes(compressed[: len(compressed) * 3 // 4])
    code, summary, _ = replay_outcome(capsys, path, tmp_path / "slo.db")
    assert code == 0 and summary["skipped"] == {conventions.SKIP_TRUNCATED_GZIP: 1}
    assert 1000 <= summary["events"] < EVENTS
