"""`slo replay` on hostile files: never silent, never a traceback, never unbounded (time or memory)."""

from __future__ import annotations

import base64
import gc
import gzip
import json
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors import conventions
from processors.cli import main
from processors.replay import sources
from tests.builders import T0, cid, cw_payload, gz, iso, kinesis_event, kinesis_record, log_line
from tests.unit.test_decode_bounds import gzip_bomb
from tests.unit.test_replay_reading import TINY_VALUES, RecordingDecoder, scale_bounds


def replay_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    capsys.readouterr()
    assert main(["replay", *args, "--json", "--no-backtest"]) == 0
    return json.loads(capsys.readouterr().out)


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["replay", *args]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    return captured.err


def test_a_cut_off_line_in_a_json_lines_event_file_is_counted_once_as_line_not_json(tmp_path, capsys) -> None:
    lines = [json.dumps(kinesis_event([kinesis_record(gz(cw_payload([log_line("api_request", T0 + n, cid(n), "Api",
                                                                               status=200)])), n + 1)]))
             for n in range(3)]
    lines[1] = lines[1][: len(lines[1]) // 2]  # cut off mid-line
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "slo.db")
    first = replay_json(capsys, str(path), "--db", db)
    assert first["skipped"] == {conventions.SKIP_LINE_NOT_JSON: 1}
    assert first["events"] == 2 and first["malformed"] == 1
    again = replay_json(capsys, str(path), "--db", db)
    assert again["skipped"] == {} and again["events"] == 0


@pytest.mark.parametrize(
    ("case", "content", "says"),
    [
        ("an empty file", b"", "empty"),
        ("a file of blank lines", b"\n\n  \n", "empty"),
        ("a file of text garbage", b"this is not a log\nnor is this\n", "nothing decodable"),
        ("a gzip bomb of one payload", gzip_bomb(32 << 20), "payload_too_large"),
        ("a truncated gzip of a pretty-printed payload",  # past the first read (64 KiB): was a traceback
         gzip.compress(json.dumps(cw_payload([log_line("api_request", T0 + n, cid(n), "Api", status=200)
                                              for n in range(1000)]), indent=2).encode(), mtime=0)[:-20],
         "truncated_gzip"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_file_with_nothing_decodable_exits_2_with_one_line_naming_it(tmp_path, capsys, case, content, says) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert str(path) in err and says in err
    assert not (tmp_path / "slo.db").exists()


EMPTY_PAYLOAD = cw_payload([])  # a DATA_MESSAGE whose logEvents list is empty (CloudWatch Logs never sends one)


@pytest.mark.parametrize(
    ("case", "document", "says"),
    [
        ("a CloudWatch Logs payload with no log events", EMPTY_PAYLOAD, "no log events in 1 record(s)"),
        ("a Kinesis event of such payloads", kinesis_event([kinesis_record(gz(EMPTY_PAYLOAD), n) for n in (1, 2)]),
         "no log events in 2 record(s)"),
        ("a Kinesis event with an empty Records list", kinesis_event([]), "empty (no records"),
        ("filter-log-events output with no events", {"events": [], "searchedLogStreams": []}, "empty (no records"),
        ("an empty JSON-lines file", "", "empty (no records"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_file_without_log_events_is_refused_saying_so(tmp_path, capsys, case, document, says) -> None:
    """An empty logEvents list was "nothing decodable in 1 record(s) ()": no kind was named, as none was skipped."""
    path = tmp_path / "input.jsonl"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert str(path) in err and says in err and "()" not in err


def test_a_payload_with_no_log_events_beside_a_good_one_is_a_record_and_nothing_more(tmp_path, capsys) -> None:
    """Nothing was dropped, so it is neither a skip nor a note: it counts as a record, as it does at ingest."""
    good = cw_payload([log_line("api_request", T0, cid(1), "Api", status=200)])
    path = tmp_path / "payloads.jsonl"
    path.write_text(json.dumps(EMPTY_PAYLOAD) + "\n" + json.dumps(good) + "\n")
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert (summary["records"], summary["events"], summary["skipped"], summary["notes"]) == (2, 1, {}, {})


def test_a_gzip_bomb_beside_a_good_record_is_payload_too_large_and_the_good_one_counts(tmp_path, capsys) -> None:
    good = kinesis_record(gz(cw_payload([log_line("api_request", T0, cid(1), "Api", status=200)])), 2)
    path = tmp_path / "events.json"
    path.write_text(json.dumps(kinesis_event([kinesis_record(gzip_bomb(32 << 20), 1), good])))
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1} and summary["events"] == 1


def test_a_year_long_gap_in_event_time_is_jumped_not_walked(tmp_path, capsys) -> None:
    year = 365 * 86400
    lines = [log_line("api_request", T0 - year + n * 60, cid(n), "Api", status=200) for n in range(3)]
    lines += [log_line("api_request", T0 + n * 60, cid(10 + n), "Api", status=200) for n in range(3)]
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["replay", str(path), "--db", str(tmp_path / "slo.db"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 6
    assert summary["minutes_evaluated"] <= 10  # ~5 minutes of data; walking the gap would be 525,600


def test_a_year_9999_line_is_bad_timestamp_and_status_still_works(tmp_path, capsys) -> None:
    line = json.loads(log_line("api_request", T0, cid(2), "Api", status=200))
    line["timestamp"] = "9999-12-31T23:59:59Z"
    path = tmp_path / "app.log"
    path.write_text(log_line("api_request", T0, cid(1), "Api", status=200) + "\n" + json.dumps(line) + "\n")
    db = str(tmp_path / "slo.db")
    assert replay_json(capsys, str(path), "--db", db)["skipped"] == {conventions.SKIP_BAD_TIMESTAMP: 1}
    assert main(["status", "--db", db, "--json"]) == 0


def test_deeply_nested_json_is_garbage_not_a_recursion_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert "RecursionError" not in err


def test_secrets_in_values_never_reach_the_trace_json_or_the_report(tmp_path, capsys) -> None:
    lines = [
        log_line("webhook_received", T0, cid(1), "WebhookHandlerGHA", path="/hook?token=tok-123456&password=pw-98765",
                 error="401 from upstream: Authorization: Bearer sekr1t-bearer-value"),
        log_line("job_queued", T0 + 1, cid(1), "QueueProcessor",
                 reason={"credentials": {"user": "bob"}, "note": "used AKIAIOSFODNN7EXAMPLE"}),
    ]
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    db = str(tmp_path / "slo.db")
    assert main(["replay", str(path), "--db", db, "--no-backtest"]) == 0
    capsys.readouterr()
    assert main(["trace", cid(1), "--db", db, "--json"]) == 0
    served = capsys.readouterr().out
    report = tmp_path / "report.html"
    assert main(["report", "--db", db, "--trace", cid(1), "--out", str(report)]) == 0
    for text in (served, report.read_text()):
        for secret in ("tok-123456", "pw-98765", "sekr1t-bearer-value", "AKIAIOSFODNN7EXAMPLE", "bob"):
            assert secret not in text
    assert "Authorization: [REDACTED]" in served  # redacted in place, the rest of the error kept


def test_a_gzipped_events_file_is_replayed_a_line_at_a_time_not_inflated_whole(tmp_path, capsys, monkeypatch) -> None:
    import tracemalloc

    lines, pad = 64, "p" * (1 << 20)  # 64 Lambda events of ~1 MiB each: 64 MiB inflated, ~70 KiB on disk
    monkeypatch.setattr(sources, "INFLATE_FLOOR_BYTES", 128 << 20)  # a ~950x file: a bomb but for this floor
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wt", compresslevel=1) as out:
        for n in range(lines):
            line = log_line("api_request", T0 + n, cid(n), "Api", status=200)
            event = kinesis_event([kinesis_record(gz(cw_payload([line], t_ms=int((T0 + n) * 1000))), n + 1)])
            out.write(json.dumps({**event, "pad": pad}) + "\n")
    assert path.stat().st_size < 1 << 20
    replay_json(capsys, str(path), "--db", str(tmp_path / "warm.db"))  # imports and caches, outside the trace
    tracemalloc.start()
    try:
        summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary["events"] == lines and summary["records"] == lines
    assert peak < (lines << 20) // 8, f"peak {peak / 2**20:.1f} MiB for {lines} MiB inflated"


def test_a_json_lines_log_whose_time_no_datetime_holds_is_a_counted_skip_not_a_traceback(tmp_path, capsys) -> None:
    good = json.loads(log_line("api_request", T0, cid(1), "Api", status=200))
    lines = [good, {**good, "timestamp": "0001-01-01T00:00:00+01:00"},
             {**good, "timestamp": "9999-12-31T23:59:59-01:00"}]
    path = tmp_path / "logs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["events"] == 1 and summary["skipped"] == {conventions.SKIP_PAYLOAD_SHAPE: 2}


@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["waterfall", "json"])
def test_a_stored_lone_surrogate_prints_escaped_instead_of_a_traceback(tmp_path, capsys, flags) -> None:
    """JSON may escape a lone surrogate, and json.loads keeps it in a service or a metadata string: the trace
    holds it, and printing it raised UnicodeEncodeError."""
    line = json.loads(log_line("api_request", T0, cid(1), "Api", status=500, path="/x", error="boom"))
    line["service"], line["metadata"]["path"], line["metadata"]["error"] = "Api\ud800", "/x\udfff", "boom\ud800"
    path = tmp_path / "logs.jsonl"
    path.write_text(json.dumps(line) + "\n")
    db = str(tmp_path / "slo.db")
    assert replay_json(capsys, str(path), "--db", db)["events"] == 1
    assert main(["trace", cid(1), "--db", db, *flags]) == 0
    out = capsys.readouterr().out
    assert "\\ud800" in out



# --- gzip files that inflate too far, or break ------------------------------------------------------------


def api_lines(numbers: range) -> bytes:
    return "".join(log_line("api_request", T0 + n, cid(n), "Api", status=200) + "\n" for n in numbers).encode()


def traced(db: str, n: int) -> bool:
    return main(["trace", cid(n), "--db", db]) == 0  # 1: not found


def test_a_gzip_bomb_is_cut_at_its_inflate_bound_and_the_next_file_still_replays(tmp_path, capsys, monkeypatch) -> None:
    """The floor is lowered to 1 MiB so that a bomb of 8 MB of newlines (~8 KB on disk) is enough: its bound is
    then ~1.6 MB (200x). Three lines, then a second gzip member (the bomb), then three lines past the bound."""
    monkeypatch.setattr(sources, "INFLATE_FLOOR_BYTES", 1 << 20)
    bomb = tmp_path / "a-bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress(api_lines(range(1, 4)), mtime=0)
                     + gzip.compress(b"\n" * 8_000_000 + api_lines(range(4, 7)), mtime=0))
    real = tmp_path / "b-real.jsonl.gz"  # real logs (~8x) past the floor: read whole
    real.write_bytes(gzip.compress(api_lines(range(10, 5010)), mtime=0))
    assert real.stat().st_size * sources.MAX_INFLATE_RATIO > len(gzip.decompress(real.read_bytes())) > 1 << 20
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(bomb), str(real), "--db", db)
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}
    assert summary["events"] == 3 + 5000
    assert all(traced(db, n) for n in (1, 2, 3, 10, 5009))
    assert not any(traced(db, n) for n in (4, 5, 6))  # nothing from past the bound


def test_a_gzip_bomb_of_blank_lines_alone_is_refused_as_payload_too_large(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sources, "INFLATE_FLOOR_BYTES", 1 << 20)  # the floor lowered: an 8 MB bomb is enough
    path = tmp_path / "blank.log.gz"
    path.write_bytes(gzip.compress(b"\n" * 8_000_000, mtime=0))
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert "payload_too_large" in err and "empty" not in err


def test_a_pretty_printed_gzip_bomb_keeps_the_payload_before_it(tmp_path, capsys, monkeypatch) -> None:
    """Concatenated documents, as a Firehose S3 object holds them: the bomb between two payloads is cut."""
    monkeypatch.setattr(sources, "INFLATE_FLOOR_BYTES", 1 << 20)
    first, past = ([log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in numbers]
                   for numbers in (range(1, 4), range(4, 7)))
    path = tmp_path / "firehose-object.gz"
    path.write_bytes(gzip.compress(json.dumps(cw_payload(first), indent=2).encode() + b" " * 8_000_000
                                   + json.dumps(cw_payload(past, stream="t")).encode(), mtime=0))
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(path), "--db", db)
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1} and summary["events"] == 3
    assert not any(traced(db, n) for n in (4, 5, 6))


def junk_then_real(form: str, junk: int) -> bytes:
    """Three real lines, `junk` tiny entries (a bomb of "{}" lines, or of empty log events), three more."""
    if form == "json-lines":
        return api_lines(range(1, 4)) + b"{}\n" * junk + api_lines(range(4, 7))
    first, past = ([log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in numbers]
                   for numbers in (range(1, 4), range(4, 7)))
    bomb = {"events": [{}] * junk, "searchedLogStreams": []}  # one document of tiny entries
    return b"".join(json.dumps(document).encode() for document in (cw_payload(first), bomb, cw_payload(past)))


@pytest.mark.parametrize(
    ("form", "applied_junk"),
    [
        ("json-lines", {conventions.SKIP_NO_ACTION: 997}),  # the floor is 1,000 lines: 3 real, 997 junk
        ("concatenated documents", {}),  # the bomb document is past the bound whole: unread with the rest
    ],
)
def test_a_gzip_of_tiny_entries_is_cut_at_its_entry_bound_and_the_next_file_still_replays(
    tmp_path, capsys, monkeypatch, form, applied_junk
) -> None:
    """A 29 KB gzip of 10 million "{}" lines took 15 s within the inflate bound; the floor is lowered to 1,000
    entries here so that 50,000 (a few hundred bytes on disk) are past it."""
    monkeypatch.setattr(sources, "ENTRY_FLOOR", 1000)
    bomb = tmp_path / "a-bomb.gz"
    bomb.write_bytes(gzip.compress(junk_then_real(form, 50_000), mtime=0))
    assert bomb.stat().st_size * sources.MAX_ENTRIES_PER_BYTE < 1000
    real = tmp_path / "b-real.jsonl.gz"  # real logs past the floor: read whole
    real.write_bytes(gzip.compress(api_lines(range(10, 5010)), mtime=0))
    assert real.stat().st_size * sources.MAX_ENTRIES_PER_BYTE > 5000 > 1000
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(bomb), str(real), "--db", db)
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1, **applied_junk}
    assert summary["events"] == 3 + 5000
    assert all(traced(db, n) for n in (1, 2, 3, 10, 5009))
    assert not any(traced(db, n) for n in (4, 5, 6))  # nothing from past the bound


def test_the_log_events_inside_a_gzip_of_kinesis_records_count_against_its_entry_bound(
    tmp_path, capsys, monkeypatch
) -> None:
    """The records' payloads are gzip of many log events each: a 115 KB gzip of 5,000 such records (10,000 events
    each, so the outer gzip compresses its repeats) held 50 million events and ran for minutes within both
    bounds, which counted only the records. The floor is lowered to 1,000 entries so 40 payloads of 1,000 are
    past the bound many times over."""
    monkeypatch.setattr(sources, "ENTRY_FLOOR", 1000)
    first, past = ([log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in numbers]
                   for numbers in (range(1, 4), range(4, 7)))
    junk = gz(cw_payload([log_line("api_request", T0, cid(99), "Api", status=200)] * 1000))
    records = [kinesis_record(gz(cw_payload(first)), 1), *(kinesis_record(junk, 2 + n) for n in range(40)),
               kinesis_record(gz(cw_payload(past)), 50)]
    bomb = tmp_path / "a-bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress("".join(json.dumps(kinesis_event([r])) + "\n" for r in records).encode(), mtime=0))
    bound = sources.entry_bound(bomb.stat().st_size)
    assert bound < 40 * 1000 / 4
    real = tmp_path / "b-real.jsonl.gz"
    real.write_bytes(gzip.compress(api_lines(range(10, 5010)), mtime=0))
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(bomb), str(real), "--db", db)
    assert summary["skipped"][conventions.SKIP_PAYLOAD_TOO_LARGE] == 1
    assert summary["events"] <= 3 + bound + 5000
    assert all(traced(db, n) for n in (1, 2, 3, 10, 5009))
    assert not any(traced(db, n) for n in (4, 5, 6))  # nothing from past the bound


def test_what_the_payloads_inside_a_gzip_inflate_to_counts_against_its_inflate_bound(
    tmp_path, capsys, monkeypatch
) -> None:
    """A 69 KB gzip of Kinesis records whose payloads each inflate to the 8 MiB cap (the outer gzip compresses the
    repeated records) inflated 10 GB inside its inflate bound and took 21 s to be refused; 1 MB of it would take
    minutes. The floor is lowered to 1 MiB so that the first such payload is past the bound."""
    monkeypatch.setattr(sources, "INFLATE_FLOOR_BYTES", 1 << 20)
    first, past = ([log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in numbers]
                   for numbers in (range(1, 4), range(4, 7)))
    inner_bomb = gzip.compress(b" " * (9 << 20), mtime=0)
    records = [kinesis_record(gz(cw_payload(first)), 1), *(kinesis_record(inner_bomb, 2 + n) for n in range(20)),
               kinesis_record(gz(cw_payload(past)), 30)]
    bomb = tmp_path / "a-bomb.jsonl.gz"
    bomb.write_bytes(gzip.compress("".join(json.dumps(kinesis_event([r])) + "\n" for r in records).encode(), mtime=0))
    assert sources.inflate_bound(bomb.stat().st_size) < 8 << 20
    real = tmp_path / "b-real.jsonl.gz"
    real.write_bytes(gzip.compress(api_lines(range(10, 5010)), mtime=0))
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(bomb), str(real), "--db", db)
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1} and summary["events"] == 3 + 5000
    assert all(traced(db, n) for n in (1, 2, 3, 10, 5009))
    assert not any(traced(db, n) for n in (4, 5, 6))  # nothing from past the bound


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("form", ["json-lines", "kinesis"])
def test_a_file_that_starts_with_a_utf8_byte_order_mark_replays_whole(tmp_path, capsys, form, compress) -> None:
    """Windows tools write one: a JSON-lines log lost its first line as message_not_json, a Kinesis event file
    was refused ("nothing decodable")."""
    lines = [log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in range(1, 4)]
    text = "".join(f"{line}\n" for line in lines) if form == "json-lines" else json.dumps(
        kinesis_event([kinesis_record(gz(cw_payload(lines)), 1)]), indent=2)
    data = b"\xef\xbb\xbf" + text.encode()
    path = tmp_path / "windows.json"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["events"] == 3 and not summary.get("skipped")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("form", ["json-lines", "filter-log-events"])
def test_a_utf16_file_with_its_byte_order_mark_replays_whole(tmp_path, capsys, form, encoding, compress) -> None:
    """Windows PowerShell's `>` and Out-File write UTF-16 with a byte order mark (`aws logs filter-log-events ...
    > out.json`): read as UTF-8, every line was garbage and the file was refused as "nothing decodable in N
    record(s) (message_not_json)", which said nothing of why."""
    lines = [log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in range(1, 4)]
    text = "".join(f"{line}\r\n" for line in lines) if form == "json-lines" else json.dumps(
        {"events": [{"logStreamName": "s", "timestamp": int((T0 + n) * 1000), "message": line,
                     "ingestionTime": int((T0 + n) * 1000), "eventId": f"{n:056d}"} for n, line in enumerate(lines, 1)],
         "searchedLogStreams": []}, indent=4).replace("\n", "\r\n")
    data = "\ufeff".encode(encoding) + text.encode(encoding)
    path = tmp_path / "powershell.json"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["events"] == 3 and not summary.get("skipped") and summary["formats"] == {form: 1}


@pytest.mark.parametrize("event_id", [5, 1.5, True], ids=["int", "float", "bool"])
def test_a_kinesis_record_whose_event_id_is_a_number_is_of_an_unknown_shard_not_a_traceback(
    tmp_path, capsys, event_id
) -> None:
    """shard_of tested `":" in eventID`, a TypeError traceback out of `slo replay` for a number (a hand-edited
    or generated event file); a record without a usable eventID is of `shardId-unknown`, as one without any."""
    lines = [log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in range(1, 3)]
    event = kinesis_event([kinesis_record(gz(cw_payload(lines)), 1)])
    event["Records"][0]["eventID"] = event_id
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["events"] == 2 and not summary.get("skipped")


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("layout", ["pretty", "back-to-back"])
def test_log_lines_pretty_printed_or_back_to_back_replay_as_log_lines(tmp_path, capsys, layout, compress) -> None:
    """`jq . app.jsonl` or `jq '.events[].message | fromjson'` prints each log line pretty-printed, and a
    writer that forgot its newlines puts them back to back: such a file was refused as "not a Kinesis event,
    ... or log line (keys: timestamp, level, service, message)", naming a log line's keys. Each document is a
    line now, at a position of its own (a second replay applies nothing), and garbage after them a counted skip."""
    lines = [json.loads(log_line("api_request", T0 + n, cid(n), "Api", status=200)) for n in range(1, 4)]
    text = "\n".join(json.dumps(line, indent=2) for line in lines) if layout == "pretty" else "".join(
        json.dumps(line) for line in lines)
    data = (text + "\n{\"timestamp\": ").encode()
    path = tmp_path / "lines.json"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(path), "--db", db)
    assert summary["events"] == 3 and summary["formats"] == {"json-lines": 1}
    assert summary["skipped"] == {conventions.SKIP_MESSAGE_NOT_JSON: 1}
    again = replay_json(capsys, str(path), "--db", db)
    assert again["events"] == 0 and again["records_already_applied"] == 4


@pytest.mark.parametrize("layout", ["detailed", "short"])
def test_aws_logs_tail_output_replays_each_message_at_its_time(tmp_path, capsys, layout) -> None:
    """`aws logs tail GROUP > out.log` writes each event as its time, its log stream's name (the default,
    `--format detailed`; not with `--format short`) and its message: every line was message_not_json and the file
    was refused as "nothing decodable in N record(s) (message_not_json)". The message after the prefix is the log
    line, the prefix's time its fallback (as a CloudWatch event's timestamp); Lambda's text lines stay skips."""
    def prefix(at: float) -> str:
        moment = datetime.fromtimestamp(at, UTC)
        if layout == "short":
            return moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{moment.isoformat(timespec='microseconds')} 2026/10/01/[$LATEST]0f3a9c1d2b4e5f60"

    no_time = json.loads(log_line("api_request", T0 + 3, cid(3), "Api", status=503))
    del no_time["timestamp"]
    rows = [f"{prefix(T0)} START RequestId: 52fdfc07-2182-454f-963f-5f0f9a621d72 Version: $LATEST",
            *(f"{prefix(T0 + n)} {log_line('api_request', T0 + n, cid(n), 'Api', status=200)}" for n in (1, 2)),
            f"{prefix(T0 + 3)} {json.dumps(no_time)}",
            f"{prefix(T0 + 4)} END RequestId: 52fdfc07-2182-454f-963f-5f0f9a621d72"]
    path = tmp_path / "tail.log"
    path.write_text("".join(f"{row}\n" for row in rows))
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(path), "--db", db)
    assert summary["events"] == 3 and summary["skipped"] == {conventions.SKIP_MESSAGE_NOT_JSON: 2}
    assert summary["formats"] == {"json-lines": 1}
    capsys.readouterr()
    assert main(["trace", cid(3), "--json", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["firstSeen"].startswith(iso(T0 + 3)[:19])


def test_a_file_reached_twice_in_one_replay_counts_once(tmp_path, capsys) -> None:
    """Through a symlink beside it, or given again: each path was a stream of its own, so a folder holding a log
    and a `latest.jsonl` link to it counted every request twice."""
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(api_lines(range(1, 6)))
    (folder / "latest.jsonl").symlink_to("a.jsonl")
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(folder), str(folder / "latest.jsonl"), str(folder / "a.jsonl"), "--db", db)
    assert summary["files"] == 1 and summary["events"] == 5 and not summary["records_already_applied"]


def test_a_truncated_gzip_of_log_lines_keeps_every_line_before_the_break(tmp_path, capsys) -> None:
    """Lines up to a batch (1,000) before the break were lost with it; so was the break's own line, rightly."""
    data = gzip.compress(api_lines(range(1, 1501)), mtime=0)[:-20]
    whole_lines = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(data).count(b"\n")
    assert 1000 < whole_lines < 1500
    path = tmp_path / "app.log.gz"
    path.write_bytes(data)
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["skipped"] == {conventions.SKIP_TRUNCATED_GZIP: 1} and summary["events"] == whole_lines


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_a_folder_of_more_files_than_the_soft_limit_of_open_files_replays(tmp_path, capsys, monkeypatch) -> None:
    """The k-way merge holds every file longer than one batch open until it is done: more of them than the soft
    limit (1,024 on many systems) failed part way with "Too many open files". Batches of 2 lines stand in for
    1,000, and a soft limit 40 above what is open for 100 files."""
    resource = pytest.importorskip("resource")
    monkeypatch.setattr(sources, "LINES_PER_BATCH", 2)
    folder = tmp_path / "logs"
    folder.mkdir()
    for f in range(100):
        (folder / f"{f:03}.jsonl.gz").write_bytes(gzip.compress(api_lines(range(10 * f + 1, 10 * f + 4)), mtime=0))
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 40, limits[1]))
    try:
        summary = replay_json(capsys, str(folder), "--db", str(tmp_path / "slo.db"))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)
    assert (summary["files"], summary["events"], summary["skipped"]) == (100, 300, {})


# --- documents of too many values -------------------------------------------------------------------------


@pytest.fixture
def few_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """The value cap lowered to 1,000 and counted past 4 KiB, read 4 KiB at a time; every parse noted."""
    scale_bounds(monkeypatch, uncounted=4096, small_document=512, read_chunk=4096)


def tiny_values_bomb(value: str, times: int = 20_000) -> bytes:
    return ('{"events": [\n' + ",\n".join([TINY_VALUES[value]] * times) + "\n]}\n").encode()


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("value", TINY_VALUES)
def test_a_document_of_tiny_values_past_the_cap_is_refused_as_payload_too_large_unparsed(
    tmp_path, capsys, few_values, value, gzipped
) -> None:
    """A 665 KB gzip of 15 million `{}` in an events list peaked at 1.2-1.6 GB before the entry bound refused
    it, and a plain file of them had no bound but its 64 MiB: here 20,000 values against a cap of 1,000."""
    path = tmp_path / "bomb.json"
    path.write_bytes(gzip.compress(tiny_values_bomb(value), mtime=0) if gzipped else tiny_values_bomb(value))
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert "payload_too_large" in err
    assert RecordingDecoder.never_built_whole(3)  # an element at a time at most: `{"a":{"a":0}}` is 3


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_document_of_too_many_values_after_a_payload_keeps_the_payload_and_leaves_the_rest_unread(
    tmp_path, capsys, few_values, gzipped
) -> None:
    first, past = ([log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in numbers]
                   for numbers in (range(1, 4), range(4, 7)))
    content = b"".join([json.dumps(cw_payload(first)).encode(), tiny_values_bomb("floats"),
                        json.dumps(cw_payload(past, stream="t")).encode()])
    path = tmp_path / "firehose-object"
    path.write_bytes(gzip.compress(content, mtime=0) if gzipped else content)
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(path), "--db", db)
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1} and summary["events"] == 3
    assert all(traced(db, n) for n in (1, 2, 3)) and not any(traced(db, n) for n in (4, 5, 6))


def test_a_json_line_of_too_many_values_is_payload_too_large_and_the_lines_after_it_replay(
    tmp_path, capsys, few_values
) -> None:
    events = [json.dumps(kinesis_event([kinesis_record(gz(cw_payload(
        [log_line("api_request", T0 + n, cid(n), "Api", status=200)])), n)])) for n in (1, 2)]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([events[0], "[" + ",".join(["0.5"] * 5000) + "]", events[1]]) + "\n")
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(path), "--db", db)
    assert summary["skipped"] == {conventions.SKIP_PAYLOAD_TOO_LARGE: 1}
    assert summary["events"] == 2 and traced(db, 1) and traced(db, 2)


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_in_a_gzip_file_a_document_may_hold_64_values_per_entry_the_file_may_still_yield(
    tmp_path, capsys, monkeypatch, gzipped
) -> None:
    """Three log events and 200,000 numbers beside them: four entries, but more values than 64 per entry the
    gzip may yield (the floor lowered to 100; ~1 KB on disk is ~1,000 entries), so it is refused before it is
    parsed; a plain file has no entry bound."""
    monkeypatch.setattr(sources, "ENTRY_FLOOR", 100)
    payload = cw_payload([log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in range(1, 4)])
    content = json.dumps({**payload, "padding": [0] * 200_000}, indent=2).encode()
    path = tmp_path / "payload.json"
    path.write_bytes(gzip.compress(content, mtime=0) if gzipped else content)
    entries = sources.entry_bound(len(gzip.compress(content, mtime=0)))
    assert sources.VALUES_PER_ENTRY * entries < 200_000 < sources.MAX_DOCUMENT_VALUES
    db = str(tmp_path / "slo.db")
    if gzipped:
        assert "payload_too_large" in refused(capsys, str(path), "--db", db)
    else:
        assert replay_json(capsys, str(path), "--db", db)["events"] == 3


def filter_log_events_output(numbers: range) -> dict:
    """What `aws logs filter-log-events` prints; one message is long and full of braces, commas and quotes."""
    note = '{"a": [1, {"b": "\\""}]},'
    events = [{"logStreamName": "s", "timestamp": int((T0 + n) * 1000),
               "message": log_line("api_request", T0 + n, cid(n), "Api", status=200,
                                   note=note * (500 if n == numbers[0] else 1)),
               "ingestionTime": int((T0 + n) * 1000) + 300, "eventId": str(10**55 + n)} for n in numbers]
    return {"events": events, "searchedLogStreams": [{"logStreamName": "s", "searchedCompletely": True}]}


REAL_DOCUMENTS = {
    "filter-log-events output, pretty-printed": json.dumps(filter_log_events_output(range(1, 300)), indent=2).encode(),
    "a Firehose S3 object of payloads back to back": b"".join(
        json.dumps(cw_payload([log_line("api_request", T0 + n, cid(n), "Api", status=200)] * 3, stream=f"s{n}"),
                   indent=indent).encode() for n in range(1, 60) for indent in [(None, 2)[n % 2]]),
    "a Kinesis event, pretty-printed": json.dumps(kinesis_event([kinesis_record(gz(cw_payload(
        [log_line("api_request", T0 + n, cid(n), "Api", status=200)])), n) for n in range(1, 60)]), indent=2).encode(),
}


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("form", REAL_DOCUMENTS)
def test_real_documents_replay_the_same_whether_their_values_are_counted_or_not(
    tmp_path, capsys, monkeypatch, form, gzipped
) -> None:
    path = tmp_path / "real.json"
    path.write_bytes(gzip.compress(REAL_DOCUMENTS[form], mtime=0) if gzipped else REAL_DOCUMENTS[form])
    replayed = []
    for counted in (False, True):
        with monkeypatch.context() as patch:
            if counted:  # every document counted, read in pieces of 1 KiB, under a cap the largest (~1,800) is near
                patch.setattr(sources, "MAX_DOCUMENT_VALUES", 2500)
                patch.setattr(sources, "_UNCOUNTED", 256)
                patch.setattr(sources, "_SMALL_DOCUMENT", 64)
                patch.setattr(sources, "_READ_CHUNK", 1024)
            else:
                patch.setattr(sources, "_UNCOUNTED", 1 << 40)
            db = str(tmp_path / f"{counted}.db")
            summary = replay_json(capsys, str(path), "--db", db)
            summary.pop("seconds")
            assert main(["status", "--db", db, "--json"]) == 0
            replayed.append((summary, capsys.readouterr().out))
    assert replayed[0] == replayed[1]
    assert replayed[0][0]["events"] > 50 and not replayed[0][0]["skipped"]


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_firehose_s3_object_longer_than_the_line_cap_replays_whole(tmp_path, capsys, monkeypatch, gzipped) -> None:
    """Its payloads are back to back, with no line break: past 8 MiB (a 3.8 MB gzip of a day's payloads inflates to
    30 MB) the file was one line too long, so one payload_too_large. The cap is lowered to 4 KiB here."""
    monkeypatch.setattr(sources.FileSource, "line_cap", property(lambda self: 4096))
    content = b"".join(json.dumps(cw_payload([log_line("api_request", T0 + n, cid(n), "Api", status=200)],
                                             stream=f"s{n}")).encode() for n in range(1, 40))
    assert len(content) > 4096 and b"\n" not in content
    path = tmp_path / "firehose-object"
    path.write_bytes(gzip.compress(content, mtime=0) if gzipped else content)
    db = str(tmp_path / "slo.db")
    summary = replay_json(capsys, str(path), "--db", db)
    assert summary["formats"] == {"cloudwatch-payload": 1} and summary["events"] == 39 and not summary["skipped"]


def test_one_json_line_longer_than_the_line_cap_is_still_one_payload_too_large(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sources.FileSource, "line_cap", property(lambda self: 4096))
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"not": "a log container", "padding": "x" * 5000}) + "\n")
    assert "payload_too_large" in refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))


@pytest.mark.parametrize("first", ["log line", "text"])
def test_a_json_lines_log_whose_first_line_is_past_the_line_cap_keeps_the_lines_after_it(
    tmp_path, capsys, monkeypatch, first
) -> None:
    """The format was told by the first line alone: one past the cap that begins no known document made the file
    one of CloudWatch payloads a line, so every log line after it was payload_wrong_shape and the file was refused
    as "nothing decodable in 3 record(s) (payload_too_large, payload_wrong_shape)". The line after it tells now."""
    monkeypatch.setattr(sources.FileSource, "line_cap", property(lambda self: 4096))
    long = log_line("api_request", T0, cid(0), "Api", stack="x" * 5000) if first == "log line" else "x" * 5000
    lines = [long] + [log_line("api_request", T0 + n, cid(n), "Api", status=200) for n in (1, 2)]
    path = tmp_path / "app.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines))
    summary = replay_json(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert summary["events"] == 2 and summary["formats"] == {"json-lines": 1}
    assert summary["skipped"] == {conventions.SKIP_MESSAGE_TOO_LARGE: 1}


@pytest.mark.parametrize("command", [["replay"], ["backfill", "--slo", "api-availability"]], ids=["replay", "backfill"])
def test_a_file_of_another_kind_in_a_folder_is_skipped_in_one_line_and_named_alone_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "app.log").write_text(log_line("api_request", T0, cid(1), "Api", status=200) + "\n")
    other = folder / "apigw.json"
    other.write_text(json.dumps({"resource": "/", "httpMethod": "GET"}, indent=2))
    db = str(tmp_path / "slo.db")
    assert main(["replay", str(folder / "app.log"), "--db", db, "--no-backtest"]) == 0  # backfill adds to a store
    capsys.readouterr()
    assert main([*command, str(folder), "--db", db]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("slo: ")] == [
        f"slo: skipping {other}: not a Kinesis event, CloudWatch Logs payload, awslogs or Firehose event, "
        "log-events output or log line (keys: resource, httpMethod)"
    ]
    assert main([*command, str(other), "--db", db]) == 2
    assert capsys.readouterr().err.startswith(f"slo: error: {other}: not a Kinesis event")


def test_aws_kinesis_get_records_output_is_refused_in_one_line_saying_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aws kinesis get-records` writes the Kinesis API's shape (SequenceNumber, Data), not Lambda's, and names
    no stream or shard, so its records have no position replay could apply exactly once: it was refused as
    "nothing decodable in 1 record(s) (no_sequence)", which reads as a damaged file."""
    data = base64.b64encode(gz(cw_payload([log_line("api_request", T0, cid(1), "Api", status=200)]))).decode()
    page = {"Records": [{"SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
                         "ApproximateArrivalTimestamp": "2026-10-01T00:00:10+00:00", "Data": data,
                         "PartitionKey": "p"}],
            "NextShardIterator": "AAAA", "MillisBehindLatest": 0}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page, indent=4))
    db = tmp_path / "slo.db"
    err = refused(capsys, str(path), "--db", str(db))
    assert err.startswith(f"slo: error: {path}: `aws kinesis get-records` output") and "docs/deploy.md, DLQ" in err
    assert not db.exists()


@pytest.mark.parametrize("command", ["filter-log-events", "get-log-events"])
def test_aws_logs_output_as_text_is_refused_in_one_line_saying_to_ask_for_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`aws logs filter-log-events --output text` (or a profile whose output is text) writes tab-separated rows,
    `EVENTS` first: it was refused as "nothing decodable in N record(s) (message_not_json)"."""
    line = log_line("api_request", T0, cid(1), "Api", status=200)
    ms = int(T0 * 1000)
    row = (f"EVENTS\t{1:056d}\t{ms}\ts\t{line}\t{ms}" if command == "filter-log-events"
           else f"EVENTS\t{ms}\t{line}\t{ms}")
    path = tmp_path / "events.txt"
    path.write_text(f"{row}\n{row}\n")
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert err.startswith(f"slo: error: {path}: `aws logs` output as text") and "--output json" in err


@pytest.mark.parametrize("layout", ["pretty", "one line"])
def test_a_cut_off_document_is_refused_in_one_line_saying_it_is_not_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str
) -> None:
    """A Kinesis event file cut short (an interrupted download, a full disk) was refused as "not a Kinesis
    event, CloudWatch Logs payload, ... (keys: not an object)", as if it were a file of another kind."""
    event = kinesis_event([kinesis_record(gz(cw_payload([log_line("api_request", T0, cid(1), "Api")])), 1)])
    text = json.dumps(event, indent=2 if layout == "pretty" else None)
    path = tmp_path / "event.json"
    path.write_text(text[: len(text) - 20])
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert err.strip() == f"slo: error: {path}: not JSON from its first document on (cut off, or corrupt)"


def _archived(kind: str, log: bytes) -> bytes:
    import bz2
    import io
    import lzma
    import zipfile

    if kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.log", log)
        return buffer.getvalue()
    if kind == "xz":
        return lzma.compress(log)
    if kind == "bzip2":
        return bz2.compress(log)
    if kind == "zstd":  # a zstd frame's magic number (RFC 8878), then what the frame would hold
        return b"\x28\xb5\x2f\xfd" + log
    return b"\xff\x06\x00\x00sNaPpY" + log  # the Snappy framing format's stream identifier chunk


@pytest.mark.parametrize(
    ("kind", "says"),
    [("zip", "a zip archive: unzip it first"), ("xz", "xz-compressed"), ("bzip2", "bzip2-compressed"),
     ("zstd", "zstd-compressed"), ("snappy", "Snappy-compressed")],
)
def test_a_compressed_file_replay_cannot_read_is_refused_in_one_line_saying_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, says: str
) -> None:
    """Such a file was read as text lines: counted skips by the thousand, or nothing decodable without a reason."""
    path = tmp_path / f"logs.{kind}"
    path.write_bytes(_archived(kind, (log_line("api_request", T0, cid(1), "Api", status=200) + "\n").encode()))
    err = refused(capsys, str(path), "--db", str(tmp_path / "slo.db"))
    assert err.startswith(f"slo: error: {path}: {says}")
    assert not (tmp_path / "slo.db").exists()


def test_a_store_given_as_replay_input_is_refused_in_one_line_and_left_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`slo replay slo.db --db slo.db` replayed the store into itself: its pages hold JSON text, so lines of them
    were read as log lines (thousands of skips, exit 0, on a real store), or refused as "nothing decodable"."""
    log = tmp_path / "app.log"
    log.write_text("".join(log_line("api_request", T0 + n, cid(n), "Api", status=200) + "\n" for n in range(200)))
    store = tmp_path / "slo.db"
    assert replay_json(capsys, str(log), "--db", str(store))["events"] == 200
    before = store.read_bytes()
    err = refused(capsys, str(store), "--db", str(store))
    assert err.strip() == f"slo: error: {store}: a SQLite database (a store?), not log files"
    assert store.read_bytes() == before


def test_a_replay_closes_its_store_before_it_returns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its SQLite connection was left to the garbage collector, whose close checkpoints the write-ahead log into
    the file: in one process (a test, or a tool calling main), the store's bytes changed at an arbitrary later
    moment, under whatever command ran then."""
    log = tmp_path / "app.log"
    log.write_text("".join(log_line("api_request", T0 + n, cid(n), "Api", status=200) + "\n" for n in range(50)))
    store = tmp_path / "slo.db"
    gc.disable()  # what a late collection looks like
    try:
        assert replay_json(capsys, str(log), "--db", str(store))["events"] == 50
        assert not Path(f"{store}-wal").exists()  # the last connection's close checkpoints and removes it
    finally:
        gc.enable()
