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
    ("status with a window but no latency sketch", ["status", "--window", "soon"],
     "--window goes with --latency SKETCH"),
    ("status of a latency sketch by group", ["status", "--latency", "api-latency", "--group", "repository"],
     "--group and --latency are exclusive"),
    ("an unknown command", ["frobnicate"], "invalid choice"),
    ("a trace ID that is not a UUID", ["trace", "not-a-uuid"], "not a correlation ID"),
    ("the dynamodb store without a table", ["status", "--store", "dynamodb"], "--table"),
    ("validate of a missing spec", ["validate", "/no/such/slos.yaml"], "no such file"),
    ("a report into a directory that does not exist", ["report", "--out", "/nonexistent/dir/r.html"],
     "--out: no directory /nonexistent/dir"),
    ("alerts since something that is neither a time nor a duration", ["alerts", "--since", "lately"],
     "--since: not an ISO 8601 time or a duration"),
    ("an OpenSLO service named with a newline and an escape", ["export", "--service", "svc\n\x1b[2J"],
     "control characters"),
    ("an OpenSLO service named by 201 characters, past an SLO name's 200", ["export", "--service", "s" * 201],
     "at most 200 characters"),
    ("an OpenSLO service named by blanks", ["export", "--service", "  "], "blank"),
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


@pytest.mark.parametrize("argv", [["silence", "remove", "X"], ["status", "--at", "X"], ["status", "--slo", "X"]],
                         ids=["a silence ID", "a time", "an SLO name"])
def test_an_error_quoting_a_huge_argument_is_cut_to_a_readable_line(argv, db, capsys) -> None:  # type: ignore[no-untyped-def]
    """Linux allows 128 KiB per argument, and the error quoted it whole: a 120 KB line."""
    huge = "a" * 120_000
    assert main([huge if arg == "X" else arg for arg in argv] + ["--db", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slo: error: ") and err.count("\n") == 1 and len(err) < 1_100, len(err)
    # cut where it is quoted (a silence ID, at 64 characters, keeping the hint after it), else as a whole line
    assert err.rstrip("\n").endswith(" characters)") or ("…'" in err and len(err) < 200), err[:300]


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


HUGE = "9" * 21
# Arguments the product cannot hold: each is refused in one line before anything reads or writes the store.
OUT_OF_RANGE = [
    ("alerts since a duration longer than the years 1..9999", ["alerts", "--since", f"{HUGE}m"], "--since"),
    ("alerts since a duration with more digits than int() reads", ["alerts", "--since", "9" * 5000 + "m"],
     "--since"),
    ("alerts since a duration reaching before year 1", ["alerts", "--since", "600000w"], "years 1..9999"),
    ("a trace search since a duration longer than the years 1..9999",
     ["trace", "--repository", "acme/web", "--since", f"{HUGE}m"], "--since"),
    ("a trace search reaching before year 1", ["trace", "--repository", "acme/web", "--since", "600000w"],
     "years 1..9999"),
    ("a trace search at year 1, whose default --since reaches before it",
     ["trace", "--repository", "acme/web", "--at", "0001-01-01T00:00:00Z"],
     "--since: '24h' from 0001-01-01T00:00:00Z lands outside the years 1..9999"),
    ("a trace search with a limit SQLite cannot hold", ["trace", "--repository", "acme/web", "--limit", HUGE],
     "--limit"),
    ("a silence for longer than the years 1..9999", ["silence", "add", "--all", "--for", f"{HUGE}m", "--reason", "r"],
     "--for"),
    ("a silence ending after year 9999", ["silence", "add", "--all", "--for", "500000w", "--reason", "r"],
     "years 1..9999"),
    ("a status latency window longer than the years 1..9999",
     ["status", "--latency", "api-latency", "--window", f"{HUGE}h"], "--window"),
    ("a status latency window reaching before year 1", ["status", "--latency", "api-latency", "--window", "520000w"],
     "--window: '520000w' from 2026-10-01T00:01:00Z lands outside the years 1..9999"),
    ("metrics since a duration with more digits than int() reads", ["metrics", "--since", "9" * 5000 + "m"],
     "--since"),
    ("metrics since a duration reaching before year 1", ["metrics", "--at", "0001-01-01T00:05:00Z", "--since", "1h"],
     "--since: '1h' from 0001-01-01T00:05:00Z lands outside the years 1..9999"),
    ("a bootstrap with more shards than Kinesis takes", ["bootstrap", "--shards", HUGE], "--shards"),
    ("a local DynamoDB on a port past 65535", ["local-dynamodb", "--port", HUGE], "--port"),
    ("a local DynamoDB on a host that does not resolve", ["local-dynamodb", "--host", "256.256.256.256"],
     "cannot listen on 256.256.256.256:5000"),
    ("a local DynamoDB on the empty host", ["local-dynamodb", "--host", "", "--port", "0"], "--host: empty value"),
]
NOT_TEXT = [
    ("a trace search for a workflow that is not UTF-8", ["trace", "--workflow", "\udcff"], "not UTF-8"),
    ("a trace search for a repository that is not UTF-8", ["trace", "--repository", "\udcff/\udcfe"], "not UTF-8"),
    ("the removal of a silence whose ID is not UTF-8", ["silence", "remove", "\udcff\udcfe"], "not UTF-8"),
    ("an EMF namespace that is empty", ["metrics", "--emf", "--namespace", ""], "--namespace: empty value"),
    ("an EMF namespace longer than 255 characters", ["metrics", "--emf", "--namespace", "n" * 256],
     "--namespace: must be 1..255"),
    ("an EMF namespace holding a control character", ["metrics", "--emf", "--namespace", "Slo\x01Pipeline"],
     "--namespace: 'Slo\\x01Pipeline': CloudWatch takes printable ASCII"),
    ("an EMF namespace holding a character that is not ASCII", ["metrics", "--emf", "--namespace", "Slö"],
     "--namespace: 'Slö': CloudWatch takes printable ASCII"),
    ("an EMF namespace that starts with a colon", ["metrics", "--emf", "--namespace", ":Slo"],
     "--namespace: ':Slo': CloudWatch refuses one that starts with ':'"),
    ("an EMF namespace that AWS keeps for its services", ["metrics", "--emf", "--namespace", "AWS/Lambda"],
     "--namespace: 'AWS/Lambda': CloudWatch keeps namespaces starting with AWS/ for AWS"),
    ("a silence of an SLO named by the empty string",
     ["silence", "add", "--slo", "", "--for", "1h", "--reason", "r"], "--slo: empty value"),
    ("a silence of an SLO named by --slo=", ["silence", "add", "--slo=", "--for", "1h", "--reason", "r"],
     "--slo: empty value"),
    ("a status at the empty time", ["status", "--at", ""], "--at: empty value"),
    ("a status of the empty latency sketch", ["status", "--latency", ""], "--latency: empty value"),
    ("metrics since the empty time", ["metrics", "--since", ""], "--since: empty value"),
    ("a replay of the empty path", ["replay", ""], "an empty argument"),
    ("a silence whose reason holds a newline and a terminal escape",
     ["silence", "add", "--all", "--for", "1h", "--reason", "a\nb\x1b[31m"], "control characters"),
    ("a correction whose author holds a terminal escape",
     ["correct", "--slo", "api-availability", "--from", "2026-10-01T00:00:00Z", "--to", "2026-10-01T01:00:00Z",
      "--reason", "r", "--by", "\x1b[2J"], "control characters"),
    ("a silence whose reason holds a right-to-left override (Trojan Source)",
     ["silence", "add", "--all", "--for", "1h", "--reason", "approved \u202eby nobody"], "control characters"),
    ("a correction whose author holds a bidirectional isolate",
     ["correct", "--slo", "api-availability", "--from", "2026-10-01T00:00:00Z", "--to", "2026-10-01T01:00:00Z",
      "--reason", "r", "--by", "eve\u2066"], "control characters"),
]


@pytest.mark.parametrize(("case", "argv", "message"), OUT_OF_RANGE + NOT_TEXT,
                         ids=[m[0] for m in OUT_OF_RANGE + NOT_TEXT])
def test_arguments_the_product_cannot_hold_are_one_line_and_exit_2(case, argv, message, db, capsys) -> None:  # type: ignore[no-untyped-def]
    if argv[0] not in ("bootstrap", "local-dynamodb"):
        argv = [*argv, "--db", db]
    before = dump(db)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.startswith("slo: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert dump(db) == before


def test_a_local_dynamodb_on_a_port_in_use_is_one_line_and_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["local-dynamodb", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"slo: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    "argv",
    [["export"], ["emit", "runner_started"], ["validate"]],
    ids=["export", "emit", "validate"],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_2(argv) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CORRELATION_ID": cid(1), "PYTHONPATH": str(repo)}
    with open("/dev/full", "w") as full:  # a full disk: every write fails with ENOSPC
        done = subprocess.run([sys.executable, "-m", "processors.cli", *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=repo, timeout=60)
    assert (done.returncode, done.stderr) == (2, "slo: error: No space left on device\n")


@pytest.mark.parametrize(
    "argv",
    [["status"], ["status", "--json"], ["trace", cid(1)], ["trace", "--repository", "octo/app"], ["alerts"]],
    ids=["status", "status-json", "trace", "trace-listing", "alerts"],
)
def test_a_reader_that_leaves_early_ends_the_command_quietly_with_exit_0(db, argv) -> None:  # type: ignore[no-untyped-def]
    """`slo status | head -1`: the reader's end is closed before the command writes, so every write fails."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "processors.cli", *argv, "--db", db], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(repo)},
                              cwd=repo, timeout=60)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize(
    "argv",
    [["status"], ["alerts", "--json"], ["trace", cid(1)], ["metrics"], ["silence", "list"], ["replay", "EVENTS"]],
    ids=["status", "alerts", "trace", "metrics", "silence-list", "replay"],
)
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_db_that_is_a_fifo_or_a_folder_is_one_line_and_exit_2_without_waiting(tmp_path, argv, kind) -> None:  # type: ignore[no-untyped-def]
    """Opening a FIFO for reading waits for a writer that never comes: the command must refuse it, not hang."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    db = tmp_path / "slo.db"
    if kind == "fifo":
        os.mkfifo(db)
    else:
        db.mkdir()
    events = tmp_path / "events.jsonl"
    events.write_text(log_line("api_request", T0, cid(1), "Api", status=200) + "\n")
    argv = [str(events) if arg == "EVENTS" else arg for arg in argv]
    done = subprocess.run([sys.executable, "-m", "processors.cli", *argv, "--db", str(db)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(repo)}, cwd=repo, stdin=subprocess.DEVNULL,
                          timeout=30)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"slo: error: --db: {db} is not a regular file (a SQLite store is one)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl", "slo.db"]


@pytest.mark.parametrize(
    "argv",
    [["silence", "remove", "abcd1234"], ["backfill", "--slo", "api-availability", "EVENTS"]],
    ids=["silence-remove", "backfill"],
)
@pytest.mark.parametrize(("kind", "message"), [("missing", "no store at"), ("empty", "not an slo-pipeline store")])
def test_a_command_that_changes_only_an_existing_store_never_creates_one(tmp_path, capsys, argv, kind, message) -> None:  # type: ignore[no-untyped-def]
    """`silence remove` and `backfill` refused on a --db that is missing (in a folder that is missing too) or a
    zero-byte file leave no store, folder or schema behind."""
    events = tmp_path / "events.jsonl"
    events.write_text(log_line("api_request", T0, cid(1), "Api", status=200) + "\n")
    db = tmp_path / "new" / "slo.db" if kind == "missing" else tmp_path / "slo.db"
    if kind == "empty":
        db.touch()
    argv = [str(events) if arg == "EVENTS" else arg for arg in argv]
    before = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    assert main([*argv, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert kind == "missing" or db.stat().st_size == 0


@pytest.mark.parametrize(
    "argv",
    [["report", "--out", "STORE"], ["report", "--out", "LINK"], ["report", "--out", "STORE-wal"],
     ["trace", cid(1), "--otlp", "--out", "STORE"]],
    ids=["report", "report-through-a-symlink", "report-over-the-wal", "trace-otlp"],
)
def test_an_output_file_that_is_the_store_is_refused_and_the_store_is_unchanged(db, tmp_path, capsys, argv) -> None:  # type: ignore[no-untyped-def]
    """`--out` naming the --db file (a swapped pair of arguments) overwrote the store with HTML or OTLP JSON."""
    import gc
    import hashlib
    from pathlib import Path

    gc.collect()  # the fixture's replay connection closes (and takes its write-ahead log) before the files are read
    (tmp_path / "link.db").symlink_to(db)
    Path(db + "-wal").touch()
    names = {"STORE": db, "LINK": str(tmp_path / "link.db"), "STORE-wal": db + "-wal"}
    argv = [names.get(arg, arg) for arg in argv]
    before = {name: hashlib.sha256(Path(path).read_bytes()).hexdigest() for name, path in names.items()}
    capsys.readouterr()
    assert main([*argv, "--db", db]) == 2
    err = capsys.readouterr().err
    assert err == f"slo: error: --out: {argv[argv.index('--out') + 1]} is the store --db {db}; write elsewhere\n"
    assert {name: hashlib.sha256(Path(path).read_bytes()).hexdigest() for name, path in names.items()} == before


@pytest.mark.parametrize("argv", [["report", "--out", "SPEC"], ["trace", cid(1), "--otlp", "--out", "SPEC"]],
                         ids=["report", "trace-otlp"])
def test_an_output_file_that_is_the_spec_is_refused_and_the_spec_is_unchanged(db, tmp_path, capsys, argv) -> None:  # type: ignore[no-untyped-def]
    """`--out` naming the --spec file (a swapped pair of arguments) overwrote the spec with HTML or OTLP JSON."""
    from pathlib import Path

    from processors.spec.loader import default_spec_path

    spec = tmp_path / "slos.yaml"
    spec.write_bytes(Path(default_spec_path()).read_bytes())
    before = spec.read_bytes()
    capsys.readouterr()
    assert main([*(str(spec) if arg == "SPEC" else arg for arg in argv), "--db", db, "--spec", str(spec)]) == 2
    assert capsys.readouterr().err == f"slo: error: --out: {spec} is the spec --spec {spec}; write elsewhere\n"
    assert spec.read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "flag"),
    [(["report", "--db", "DB", "--out", "FIFO"], "--out"),
     (["report", "--db", "DB", "--out", "OUT", "--csv", "CSV"], "--csv"),
     (["trace", cid(1), "--db", "DB", "--otlp", "--out", "FIFO"], "trace"), (["export", "--out", "FIFO"], "export")],
    ids=["report", "report-csv", "trace-otlp", "export"],
)
def test_an_output_that_is_a_fifo_no_one_reads_is_one_line_and_exit_2_without_waiting(db, tmp_path, argv,
                                                                                       flag) -> None:  # type: ignore[no-untyped-def]
    """open(FIFO, "w") waits for a reader that never comes: the command must refuse it, not hang."""
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    (tmp_path / "csv").mkdir()
    os.mkfifo(tmp_path / "csv" / "alerts.csv")  # the first table --csv writes
    paths = {"DB": db, "FIFO": str(fifo), "OUT": str(tmp_path / "r.html"), "CSV": str(tmp_path / "csv")}
    argv = [paths.get(arg, arg) for arg in argv]
    done = subprocess.run([sys.executable, "-m", "processors.cli", *argv], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(repo)}, cwd=repo, stdin=subprocess.DEVNULL,
                          timeout=30)
    assert done.returncode == 2 and done.stderr.startswith(f"slo: error: {flag}: cannot write "), done.stderr
    assert done.stderr.endswith(": a FIFO that no one reads\n") and done.stderr.count("\n") == 1, done.stderr


def test_a_file_name_holding_a_terminal_escape_and_a_newline_is_quoted_in_one_printable_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Names come from whoever wrote the folder (logs copied from S3): printed raw, an escape recolours or clears
    the terminal, and a newline splits the one-line error, the second line posing as output of its own."""
    import json

    folder = tmp_path / "logs"
    folder.mkdir()
    hostile = folder / "a\x1b[2Jb\nslo: error: forged.json"
    hostile.write_text("garbage\n")
    line = log_line("api_request", T0, cid(1), "Api", status=200)
    (folder / "good.json").write_text(json.dumps(kinesis_event([kinesis_record(gz(cw_payload([line])), 1)])))
    db = str(tmp_path / "slo.db")
    capsys.readouterr()
    assert main(["replay", str(folder), "--db", db, "--no-backtest"]) == 0
    skipped = capsys.readouterr().err
    assert skipped.startswith("slo: skipping ") and skipped.count("\n") == 1 and "\x1b" not in skipped, skipped
    assert "a\\x1b[2Jb\\x0aslo: error: forged.json" in skipped
    assert main(["replay", str(hostile), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slo: error: ") and err.count("\n") == 1 and "\x1b" not in err, err
