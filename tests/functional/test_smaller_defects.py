"""The smaller defects of issue #12, each pinned: IDs, read-only commands, endpoint URLs, Ctrl-C in COMMIT."""

from __future__ import annotations

import contextlib
import copy
import gc
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import processors.store as store_package
from processors import conventions
from processors.cli import main
from processors.decoding import decode_record, is_correlation_id
from processors.handlers import trace_api
from processors.store.exceptions import CorruptItemError
from processors.store.sqlite import SqliteStore
from tests.builders import EVENTS_DIR, T0, cid, cw_payload, gz, kinesis_event, kinesis_record, load_event, log_line
from tests.functional.test_trace_api import LambdaContext


def test_a_uuid_with_a_trailing_newline_is_not_a_correlation_id() -> None:
    assert is_correlation_id(cid(1)) and is_correlation_id(cid(1).upper())
    assert not is_correlation_id(cid(1) + "\n") and not is_correlation_id(cid(1) + "\r\n")
    decoded = decode_record(kinesis_record(gz(cw_payload([log_line("api_request", T0, cid(1) + "\n", "Api")])), 1))
    assert decoded.notes == {conventions.NOTE_BAD_CORRELATION_ID: 1}
    assert [event.correlation_id for event in decoded.events] == [""]  # counted, but joins no trace


@pytest.fixture
def replayed(tmp_path: Path) -> str:
    lines = [log_line("webhook_received", T0, cid(7), "WebhookHandlerGHA"),
             log_line("runner_started", T0 + 2, cid(7), "Runner")]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload(lines)), 1)])))
    db = str(tmp_path / "slo.db")
    assert main(["replay", str(path), "--db", db, "--no-backtest"]) == 0
    gc.collect()  # the replay's writer connection closes, as at the end of a real `slo replay` process
    return db


def test_an_upper_case_id_finds_the_trace_ingest_stored_in_lower_case(replayed: str, capsys) -> None:
    capsys.readouterr()
    assert main(["trace", cid(7).upper(), "--db", replayed, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["correlationId"] == cid(7)


def test_the_trace_api_answers_an_upper_case_id(replayed: str, monkeypatch) -> None:
    monkeypatch.setattr(trace_api, "store_factory", lambda: store_package.open_sqlite_store(replayed, read_only=True))
    event = copy.deepcopy(load_event("apigw-get-trace.json"))
    event["pathParameters"] = {"correlationId": cid(7).upper()}
    event["path"] = f"/traces/{cid(7).upper()}"
    response = trace_api.lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 200 and json.loads(response["body"])["correlationId"] == cid(7)


READ_ONLY = [["status"], ["alerts"], ["metrics"], ["trace", cid(7)], ["report", "--out", "REPORT"]]


def fingerprint(directory: Path) -> dict[str, str]:
    """The store's bytes. SQLite's WAL index (-shm), which a reader of a WAL database maps, is not content;
    a write-ahead log with anything in it would be."""
    files = {p.name: p for p in directory.iterdir() if p.is_file() and not p.name.endswith("-shm")}
    return {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in files.items()
            if not (name.endswith("-wal") and p.stat().st_size == 0)}


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_never_turns_a_zero_byte_file_into_a_store(tmp_path: Path, capsys, command) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    argv = [arg.replace("REPORT", str(tmp_path / "r.html")) for arg in command]
    capsys.readouterr()
    assert main([*argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "not an slo-pipeline store" in err and len(err.strip().splitlines()) == 1
    assert db.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_on_a_store_missing_a_table_is_one_line_and_exit_2(replayed: str, tmp_path: Path,
                                                                               capsys, command) -> None:
    damaged = tmp_path / "damaged.db"
    with contextlib.closing(sqlite3.connect(replayed)) as source, \
            contextlib.closing(sqlite3.connect(damaged)) as target:
        source.backup(target)
        target.execute("DROP TABLE counters")
    argv = [arg.replace("REPORT", str(tmp_path / "r.html")) for arg in command]
    capsys.readouterr()
    assert main([*argv, "--db", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "a damaged store: no table counters" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("command", [*READ_ONLY, ["replay", "EVENTS"]], ids=lambda c: c[0])
def test_a_store_whose_schema_version_is_not_a_number_is_one_line_and_exit_2_and_stays_as_it_was(
        replayed: str, tmp_path: Path, capsys, command) -> None:
    damaged = tmp_path / "store" / "damaged.db"
    damaged.parent.mkdir()
    with contextlib.closing(sqlite3.connect(replayed)) as source, \
            contextlib.closing(sqlite3.connect(damaged)) as target:
        source.backup(target)
        target.execute("UPDATE meta SET value = 'abc' WHERE key = 'schema_version'")
        target.commit()
    before = fingerprint(damaged.parent)
    events = str(EVENTS_DIR / "sample-kinesis-event.json")
    argv = [arg.replace("REPORT", str(tmp_path / "r.html")).replace("EVENTS", events) for arg in command]
    capsys.readouterr()
    assert main([*argv, "--db", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "store schema vabc" in err and len(err.strip().splitlines()) == 1, err
    assert fingerprint(damaged.parent) == before


TAMPERED = [
    ("a counter holding text", "UPDATE counters SET value = 'abc'"),
    ("a counter holding a blob", "UPDATE counters SET value = x'00ff'"),
    ("a counter holding a float past any integer", "UPDATE counters SET value = 1e400"),
    ("a revision's first time holding text", "UPDATE revisions SET first_seen = 'x'"),
    ("a gauge holding text", "UPDATE gauges SET value = 'x'"),
    ("a digest that is not one", "UPDATE digests SET data = x'deadbeef'"),
    ("an empty digest", "UPDATE digests SET data = x''"),
    ("an alert state that is not JSON", "UPDATE alert_states SET doc = '{nope'"),
    ("an alert state that is a list", "UPDATE alert_states SET doc = '[1]'"),
    ("an alert state's time holding text", "UPDATE alert_states SET evaluated_at = 'x'"),
    ("a checkpoint's position holding text", "UPDATE checkpoints SET position = 'abc'"),
]
DAMAGE_READERS = [["status"], ["status", "--latency", "queue-latency"], ["metrics"], ["scorecard"],
                  ["report", "--out", "REPORT"], ["replay", "EVENTS"]]


@pytest.fixture
def evaluated(tmp_path: Path) -> str:
    """A store with counters, revisions, a gauge, digests and alert states: a replay with its backtest."""
    lines = [log_line("webhook_received", T0, cid(7), "WebhookHandlerGHA"),
             log_line("runner_started", T0 + 2, cid(7), "Runner"),
             log_line("api_request", T0 + 3, cid(8), "Api", status=200, duration=12)]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload(lines)), 1)])))
    db = str(tmp_path / "store" / "slo.db")
    assert main(["replay", str(path), "--db", db]) == 0
    gc.collect()
    return db


def assert_each_reads_or_says_damaged(store_path: str, capsys: Any, commands: list[list[str]],
                                     changes_store: Any = lambda command: False) -> None:
    """Each command either reads the store or says it is damaged in one line, exit 2; the read-only ones change
    nothing in its folder."""
    for command in commands:
        before = fingerprint(Path(store_path).parent)
        capsys.readouterr()
        code = main([*command, "--db", store_path])
        err = capsys.readouterr().err
        assert code in (0, 2), (command, err)
        assert code == 0 or ("damaged" in err and len(err.strip().splitlines()) == 1), (command, err)
        assert changes_store(command) or fingerprint(Path(store_path).parent) == before, command


@pytest.mark.parametrize(("case", "damage"), TAMPERED, ids=[c[0] for c in TAMPERED])
def test_a_store_holding_a_value_of_the_wrong_type_is_one_line_and_exit_2_never_a_traceback(
        evaluated: str, tmp_path: Path, capsys, case: str, damage: str) -> None:
    """Another program's file with the store's tables, or a hand edit: its rows hold what SQLite lets a column
    hold. Every command that reads the damaged row says so in one line; the read-only ones change nothing."""
    with contextlib.closing(sqlite3.connect(evaluated)) as db:
        assert db.execute(damage).rowcount > 0
        db.commit()
    events = str(EVENTS_DIR / "sample-kinesis-event.json")
    commands = [[arg.replace("REPORT", str(tmp_path / "r.html")).replace("EVENTS", events) for arg in command]
                for command in DAMAGE_READERS]
    assert_each_reads_or_says_damaged(evaluated, capsys, commands, lambda command: command[0] == "replay")


DAMAGED_DOCUMENTS = [
    ("a correction whose end is text", "CORRECTION#%", "end", "x"),
    ("a correction whose creation time is a list", "CORRECTION#%", "created_at", [{"a": 1}]),
    ("a correction without its start", "CORRECTION#%", "start", None),
    ("a silence whose end is a list", "SILENCE", "ends", [{"a": 1}]),
    ("a silence whose SLO is a number", "SILENCE", "slo", 5),
    ("a correction that is not JSON", "CORRECTION#%", None, "{nope"),
    ("a silence that is a JSON list", "SILENCE", None, [1]),
    ("a silence whose end is infinite", "SILENCE", "ends", float("inf")),
    ("a correction whose start is not a number (NaN)", "CORRECTION#%", "start", float("nan")),
    ("a correction whose version is infinite", "CORRECTION#%", "version", float("-inf")),
    ("a silence without its id", "SILENCE", "id", None),
    ("a silence without its SLO", "SILENCE", "slo", None),
    ("a silence without its start", "SILENCE", "starts", None),
    ("a silence without its end", "SILENCE", "ends", None),
]


@pytest.mark.parametrize(("case", "pk", "field", "value"), DAMAGED_DOCUMENTS, ids=[c[0] for c in DAMAGED_DOCUMENTS])
def test_a_stored_silence_or_correction_of_another_shape_is_one_line_and_exit_2_never_a_traceback(
        evaluated: str, tmp_path: Path, capsys, case: str, pk: str, field: str | None, value: object) -> None:
    """Every command that reads the SLOs' corrections (status, scorecard, report, metrics) or the silences met
    such a document with int() or a time format: a traceback each."""
    assert main(["correct", "--db", evaluated, "--slo", "api-availability", "--from", "2026-10-01T00:00:00Z",
                 "--to", "2026-10-01T00:01:00Z", "--reason", "load test"]) == 0
    assert main(["silence", "add", "--db", evaluated, "--all", "--for", "1h", "--reason", "deploy"]) == 0
    with contextlib.closing(sqlite3.connect(evaluated)) as db:
        (doc,) = db.execute("SELECT doc FROM documents WHERE pk LIKE ?", (pk,)).fetchone()
        document = json.loads(doc)
        if field is None:
            damaged = value if isinstance(value, str) else json.dumps(value)
        else:
            document.pop(field) if value is None else document.update({field: value})
            damaged = json.dumps(document)
        db.execute("UPDATE documents SET doc = ? WHERE pk LIKE ?", (damaged, pk))
        db.commit()
    gc.collect()
    readers = [["status"], ["scorecard"], ["metrics"], ["report", "--out", str(tmp_path / "r.html")]]
    listers = [["silence", "list"]] if pk == "SILENCE" else []
    assert_each_reads_or_says_damaged(evaluated, capsys, [*readers, *listers])


def test_a_silence_whose_end_is_infinite_is_refused_before_the_evaluator_takes_int_of_it(evaluated: str) -> None:
    """JSON reads Infinity, NaN and 1e400 as floats: a float passed the type check, then silenced_at's int() ended
    every evaluation (and paging with it) in an OverflowError traceback."""
    assert main(["silence", "add", "--db", evaluated, "--all", "--for", "1h", "--reason", "deploy"]) == 0
    with contextlib.closing(sqlite3.connect(evaluated)) as db:
        (doc,) = db.execute("SELECT doc FROM documents WHERE pk = 'SILENCE'").fetchone()
        damaged = doc.replace('"ends": ', '"ends": 1e400, "x": ')  # the real end moves to x
        db.execute("UPDATE documents SET doc = ? WHERE pk = 'SILENCE'", (damaged,))
        db.commit()
    gc.collect()
    store = SqliteStore(evaluated)
    try:
        with pytest.raises(CorruptItemError, match="ends"):
            store.silences()
    finally:
        store.close()


def test_a_silence_or_correction_whose_odd_field_the_evaluator_does_not_need_is_still_read(evaluated: str,
                                                                                           capsys) -> None:
    """The evaluator reads both every minute: refusing a document for its reason's type would stop paging."""
    assert main(["correct", "--db", evaluated, "--slo", "api-availability", "--from", "2026-10-01T00:00:00Z",
                 "--to", "2026-10-01T00:01:00Z", "--reason", "load test"]) == 0
    assert main(["silence", "add", "--db", evaluated, "--all", "--for", "1h", "--reason", "deploy"]) == 0
    with contextlib.closing(sqlite3.connect(evaluated)) as db:
        for pk, doc in db.execute("SELECT pk, doc FROM documents").fetchall():
            odd = {**json.loads(doc), "reason": 5, "created_by": ["x"], "slo": json.loads(doc)["slo"]}
            db.execute("UPDATE documents SET doc = ? WHERE pk = ?", (json.dumps(odd), pk))
        db.commit()
    gc.collect()
    capsys.readouterr()
    assert main(["status", "--db", evaluated]) == 0, capsys.readouterr().err


def test_a_silence_ending_at_an_integer_too_large_for_a_float_is_read_as_the_evaluator_reads_it(evaluated: str) -> None:
    """int() takes any JSON integer, so the evaluator reads it; the check for a non-finite float must not
    overflow converting it to one."""
    assert main(["silence", "add", "--db", evaluated, "--all", "--for", "1h", "--reason", "deploy"]) == 0
    with contextlib.closing(sqlite3.connect(evaluated)) as db:
        (doc,) = db.execute("SELECT doc FROM documents WHERE pk = 'SILENCE'").fetchone()
        huge = json.dumps({**json.loads(doc), "ends": 10**400})
        db.execute("UPDATE documents SET doc = ? WHERE pk = 'SILENCE'", (huge,))
        db.commit()
    gc.collect()
    store = SqliteStore(evaluated)
    try:
        assert [silence["ends"] for silence in store.silences()] == [10**400]
    finally:
        store.close()


FIRING = {
    "at": "2026-10-01T00:02:00Z", "at_epoch": int(T0) + 120, "budget": {"consumed": 2.18, "remaining": -1.18},
    "burn_rates": {"3d": 2.18, "6h": 2.18}, "exemplars": [cid(7)], "forecast": {"1h": None, "6h": None},
    "id": "api-availability#burn_rate#ticket#3d/6h#firing#1", "incident": "api-availability#1", "kind": "burn_rate",
    "notify": True, "objective": 0.999, "route": "ticket", "severity": "ticket", "slo": "api-availability",
    "state": "firing", "suppressed": [], "thresholds": {"factor": 1.0, "long_window": "3d", "short_window": "6h"},
    "tier": "3d/6h",
}
DAMAGED_TRANSITIONS = [
    ("budget", [{"a": 1}]), ("burn_rates", [{"a": 1}]), ("thresholds", [{"a": 1}]), ("exemplars", -1),
    ("exemplars", {"a": 1}), ("suppressed", [{"a": 1}]), ("tier", [{"a": 1}]), ("at_epoch", "x"),
    ("budget.consumed", "x"), ("burn_rates.3d", "x"), ("thresholds.factor", [{"a": 1}]), (None, [1]),
]


@pytest.mark.parametrize(
    ("field", "value"), DAMAGED_TRANSITIONS, ids=[f"{c[0]} = {c[1]!r}" for c in DAMAGED_TRANSITIONS]
)
def test_a_stored_alert_transition_of_another_shape_is_one_line_and_exit_2_never_a_traceback(
        evaluated: str, tmp_path: Path, capsys, field: str | None, value: object) -> None:
    """slo alerts and slo report met a transition's field of another type (a hand edit, another program) with a
    format, len() or .get(): a traceback each."""
    document: Any = copy.deepcopy(FIRING)
    if field is None:
        document = value
    else:
        *parents, name = field.split(".")
        node = document
        for parent in parents:
            node = node[parent]
        node[name] = value
    with contextlib.closing(sqlite3.connect(evaluated)) as db:
        db.execute("INSERT INTO alert_log VALUES (?, ?, ?, ?)", (FIRING["id"], FIRING["at_epoch"], 1,
                                                                   json.dumps(document)))
        db.commit()
    gc.collect()
    assert_each_reads_or_says_damaged(evaluated, capsys, [
        ["alerts"], ["alerts", "--json"], ["report", "--out", str(tmp_path / "r.html")], ["scorecard"], ["metrics"],
        ["status"],
    ])


def test_a_store_whose_pages_are_damaged_is_one_line_and_exit_2(replayed: str, tmp_path: Path, capsys) -> None:
    damaged = tmp_path / "damaged.db"
    with contextlib.closing(sqlite3.connect(replayed)) as source, \
            contextlib.closing(sqlite3.connect(damaged)) as target:
        source.backup(target)
        page_size = target.execute("PRAGMA page_size").fetchone()[0]
        (root,) = target.execute("SELECT rootpage FROM sqlite_master WHERE name = 'traces'").fetchone()
    with damaged.open("r+b") as file:  # the traces table's root page: opening the store reads other pages only
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)
    capsys.readouterr()
    assert main(["trace", cid(7), "--db", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert "the SQLite store is damaged" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_leaves_every_byte_of_a_store_unchanged(replayed: str, tmp_path: Path, capsys,
                                                                    command) -> None:
    directory = Path(replayed).parent
    before = fingerprint(directory)
    argv = [arg.replace("REPORT", str(tmp_path / "out" / "r.html")) for arg in command]
    (tmp_path / "out").mkdir()
    main([*argv, "--db", replayed, "--at", "2026-10-01T00:05:00Z"] if command[0] in ("status", "metrics")
         else [*argv, "--db", replayed])
    assert fingerprint(directory) == before


@pytest.mark.parametrize(
    "url", ["localhost:8000", "http//localhost", "ftp://h/x", "http://h:port", "http://", "://x"]
)
@pytest.mark.parametrize("command", [["status"], ["replay", "events"], ["bootstrap"]], ids=lambda c: c[0])
def test_a_malformed_endpoint_url_is_one_line_exit_2(tmp_path: Path, capsys, url: str, command) -> None:
    events = tmp_path / "events.log"
    events.write_text(log_line("api_request", T0, cid(1), "Api", status=200) + "\n")
    argv = [*[str(events) if arg == "events" else arg for arg in command], "--endpoint-url", url]
    if command[0] != "bootstrap":
        argv += ["--store", "dynamodb", "--table", "t"]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--endpoint-url" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


class InterruptAtCommit:
    """Wraps the store's sqlite3 connection to model a Ctrl-C (SIGINT) Python delivers while COMMIT runs.

    `after` True: the signal lands once SQLite finished the COMMIT; False: just before it ran.
    """

    def __init__(self, connection: Any, *, after: bool) -> None:
        self.connection = connection
        self.after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and not self.after:
            raise KeyboardInterrupt
        result = self.connection.execute(sql, *args)
        if sql == "COMMIT":
            raise KeyboardInterrupt
        return result


@pytest.mark.parametrize("after", [True, False], ids=["after the commit landed", "before the commit ran"])
def test_ctrl_c_inside_commit_is_one_line_and_the_store_stays_consistent(tmp_path, capsys, monkeypatch, after):
    path = tmp_path / "events.json"
    path.write_text(json.dumps(kinesis_event([kinesis_record(
        gz(cw_payload([log_line("api_request", T0, cid(1), "Api", status=200)])), 1)])))
    db = str(tmp_path / "slo.db")
    real_open = store_package.open_sqlite_store

    def interrupted(path: str, *, read_only: bool = False) -> Any:
        store = real_open(path, read_only=read_only)
        store.db = InterruptAtCommit(store.db, after=after)  # type: ignore[assignment]
        return store

    monkeypatch.setattr(store_package, "open_sqlite_store", interrupted)
    capsys.readouterr()
    assert main(["replay", str(path), "--db", db, "--no-backtest"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "slo: interrupted"
    monkeypatch.setattr(store_package, "open_sqlite_store", real_open)
    assert main(["replay", str(path), "--db", db, "--no-backtest", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == (0 if after else 1)  # applied exactly once either way
    assert summary["records_already_applied"] == (1 if after else 0)
