"""`slo trace`: JSON, waterfall and OTLP output, exit codes, search, and redaction, over traces built by ingest.

The command module is registered here by patching `processors.cli.COMMAND_MODULES` (the lead wires it in
for real); modules that do not exist yet are left out so the parser builds.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
from typing import Any

import pytest

import processors.cli as cli
import processors.cli.trace as trace_command
from processors.decoding import decode_record
from processors.ingest import Ingestor
from processors.stitching.model import TraceHead
from processors.store.keys import decode_head
from processors.store.types import Commit, HeadWrite
from tests import runner_platform as c
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record, log_line

SECRET = "ghp_TopSecret123"
_sequences = itertools.count(1_000)


def journey(
    correlation_id: str,
    at: float,
    *,
    workflow: str = "4242424242",
    repository: str = "acme/web",
    failed: bool = False,
) -> list[str]:
    """One workflow through every milestone, with a secret header and a secret nested in the error."""
    ids = {"workflowId": workflow, "repository": repository}
    error = {"type": "StepFailed", "step": "test", "token": SECRET} if failed else None
    return [
        log_line(
            c.WEBHOOK_RECEIVED,
            at,
            correlation_id,
            c.SERVICE_WEBHOOK,
            **ids,
            headers={"authorization": f"token {SECRET}"},
            authorization=SECRET,
        ),
        log_line(c.JOB_QUEUED, at + 0.080, correlation_id, c.SERVICE_WEBHOOK, **ids, queue="gha-jobs"),
        log_line(c.TASK_LAUNCHED, at + 0.392, correlation_id, c.SERVICE_QUEUE, **ids),
        log_line(c.RUNNER_STARTED, at + 1.496, correlation_id, c.SERVICE_RUNNER, **ids),
        log_line(c.CACHE_MISS, at + 9.0, correlation_id, c.SERVICE_RUNNER, **ids, cacheKey="deps-web"),
        log_line(
            c.WORKFLOW_COMPLETED,
            at + 242.008,
            correlation_id,
            c.SERVICE_RUNNER,
            **ids,
            conclusion="failure" if failed else "success",
            duration=240_512,
            error=error,
        ),
    ]


def ingest(store: Any, spec: Any, lines: list[str]) -> None:
    """Through the real decode → stitch → commit path, as the ingest Lambda does."""
    records = [kinesis_record(gz(cw_payload(lines)), next(_sequences))]
    Ingestor(store, spec).apply_batch(STREAM_ARN, "shardId-000000000000", [decode_record(r) for r in records])


@pytest.fixture
def slo(monkeypatch):  # type: ignore[no-untyped-def]
    # pytest-xdist workers inherit COLUMNS=80 from the terminal; these tests are about a pipe (100 columns)
    monkeypatch.delenv("COLUMNS", raising=False)
    return lambda *argv: cli.main([str(a) for a in argv])


@pytest.fixture
def db_path(sqlite_store, spec) -> str:  # type: ignore[no-untyped-def]
    """A SQLite store holding: cid(1) a success, cid(2) a failure two hours later, cid(3) another repository."""
    ingest(sqlite_store, spec, journey(cid(1), T0, workflow="1001"))
    ingest(sqlite_store, spec, journey(cid(2), T0 + 7200, workflow="1002", failed=True))
    ingest(sqlite_store, spec, journey(cid(3), T0 + 7260, workflow="1003", repository="acme/api"))
    return str(sqlite_store.path)


@pytest.mark.parametrize("pasted", [" {}", "{}\n", "\t{} "], ids=["a space before", "a newline after", "tabs"])
def test_an_id_pasted_with_blanks_around_it_is_the_id(slo, db_path, capsys, pasted):
    assert slo("trace", pasted.format(cid(2).upper()), "--json", "--db", db_path) == 0
    assert json.loads(capsys.readouterr().out)["correlationId"] == cid(2)


def test_json_of_a_found_trace_has_the_fixed_fields(slo, db_path, capsys):
    assert slo("trace", cid(2), "--json", "--db", db_path) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["correlationId"] == cid(2) and document["found"] is True
    assert document["workflowId"] == "1002" and document["repository"] == "acme/web"
    assert document["truncated"] is False and document["outcome"] == "failure"
    assert document["breakdownMs"] == {
        "dispatch": 80,
        "queue": 312,
        "startup": 1104,
        "execution": 240512,
        "total": 242008,
    }
    assert document["milestones"][c.WEBHOOK_RECEIVED] == "2026-10-01T02:00:00.000Z"
    assert [e["action"] for e in document["errors"]] == [c.WORKFLOW_COMPLETED]
    assert document["errors"][0]["error"]["type"] == "StepFailed"
    assert {"service", "action", "start", "end", "durationMs", "status"} <= set(document["spans"][0])


@pytest.mark.parametrize(
    ("case", "flags", "code", "stdout", "stderr"),
    [
        ("an unknown ID with --json is found: false and exit 0", ["--json"], 0, '"found": false', ""),
        ("an unknown ID in the terminal view is one line and exit 1", [], 1, "", "not found"),
        ("an unknown ID with --otlp is one line and exit 1", ["--otlp"], 1, "", "not found"),
    ],
)
def test_an_unknown_id(slo, db_path, capsys, case, flags, code, stdout, stderr):
    assert slo("trace", cid(99), *flags, "--db", db_path) == code, case
    out, err = capsys.readouterr()
    assert stdout in out and stderr in err, case
    if stderr:
        assert err.count("\n") == 1 and not out, case


class StoreThatMustNotBeCalled:
    def __enter__(self) -> StoreThatMustNotBeCalled:  # `with open_store(...) as store`, as a Store
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was used ({name}) for a malformed ID")


@pytest.mark.parametrize("flags", [[], ["--json"], ["--otlp"]], ids=["view", "json", "otlp"])
@pytest.mark.parametrize("value", ["not-a-uuid", "7d3f9a52-1c4e-4b8a-9f21", "'; DROP TABLE traces; --"])
def test_a_malformed_id_is_one_line_exit_2_and_never_reaches_the_store(slo, monkeypatch, capsys, flags, value):
    opened: list[Any] = []

    def open_store(*args: Any, **kwargs: Any) -> StoreThatMustNotBeCalled:
        opened.append(args)
        return StoreThatMustNotBeCalled()

    monkeypatch.setattr(trace_command, "open_store", open_store)
    assert slo("trace", value, *flags) == 2
    out, err = capsys.readouterr()
    assert not out and err.count("\n") == 1 and "not a correlation ID" in err
    assert opened == []


def test_a_well_formed_id_does_reach_the_store(slo, monkeypatch, capsys):
    """The wrapper above is the real seam: a UUID does open the store."""
    monkeypatch.setattr(trace_command, "open_store", lambda *a, **k: StoreThatMustNotBeCalled())
    with pytest.raises(AssertionError, match="the store was used"):
        slo("trace", cid(1), "--json")


def test_the_terminal_view_is_a_waterfall_with_the_error_marked(slo, db_path, capsys):
    assert slo("trace", cid(2), "--db", db_path) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert cid(2) in lines[0] and "failure" in lines[0]
    assert max(len(line) for line in lines) <= 100
    assert any("✗ workflow_completed" in line and line.rstrip().endswith("4m00s") for line in lines)
    assert "✗ Runner workflow_completed  StepFailed" in out


def test_otlp_out_writes_a_file_jaeger_can_load(slo, db_path, tmp_path, capsys):
    target = tmp_path / "trace.otlp.json"
    assert slo("trace", cid(2), "--otlp", "--out", target, "--db", db_path) == 0
    document = json.loads(target.read_text())
    spans = [s for rs in document["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert {s["traceId"] for s in spans} == {cid(2).replace("-", "")}
    assert f"wrote {len(spans)} spans" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("case", "flags", "expected"),
    [
        (
            "a repository search counts --since back from the newest ingested event",
            ["--repository", "acme/web", "--since", "1h"],
            [2],
        ),
        ("the default --since of 24h finds both, newest first", ["--repository", "acme/web"], [2, 1]),
        ("a workflow search finds its trace", ["--workflow", "1003"], [3]),
        (
            "--at moves the reference time of --since",
            ["--repository", "acme/web", "--since", "5m", "--at", "2026-10-01T02:03:00Z"],
            [2],
        ),
        (
            "--at ends the search: a trace first seen after it is left out",
            ["--repository", "acme/web", "--since", "1h", "--at", "2026-10-01T00:10:00Z"],
            [1],
        ),
        ("an unknown workflow finds nothing", ["--workflow", "404"], []),
        ("--limit caps the list", ["--repository", "acme/web", "--limit", "1"], [2]),
    ],
)
def test_search_lists_recent_correlation_ids(slo, db_path, capsys, case, flags, expected):
    assert slo("trace", *flags, "--json", "--db", db_path) == 0, case
    listing = json.loads(capsys.readouterr().out)
    assert [row["correlationId"] for row in listing["traces"]] == [cid(n) for n in expected], case


def test_search_rows_carry_first_seen_workflow_repository_and_outcome(slo, db_path, capsys):
    assert slo("trace", "--repository", "acme/web", "--json", "--db", db_path) == 0
    assert json.loads(capsys.readouterr().out)["traces"][0] == {
        "correlationId": cid(2),
        "firstSeen": "2026-10-01T02:00:00.000Z",
        "workflowId": "1002",
        "repository": "acme/web",
        "outcome": "failure",
    }


def test_search_prints_a_table_within_100_columns(slo, db_path, capsys):
    assert slo("trace", "--repository", "acme/web", "--db", db_path) == 0
    out = capsys.readouterr().out
    assert cid(1) in out and cid(2) in out and "failure" in out and "success" in out
    assert max(len(line) for line in out.splitlines()) <= 100


@pytest.mark.parametrize(
    ("case", "argv"),
    [
        ("an ID and a search together", ["trace", cid(1), "--workflow", "1"]),
        ("both search keys", ["trace", "--workflow", "1", "--repository", "a/b"]),
        ("neither an ID nor a search", ["trace"]),
        ("--out without --otlp", ["trace", cid(1), "--out", "x.json"]),
        ("--json with --otlp", ["trace", cid(1), "--json", "--otlp"]),
        ("--otlp with a search", ["trace", "--workflow", "1", "--otlp"]),
        ("a malformed --since", ["trace", "--workflow", "1", "--since", "yesterday"]),
        ("a zero --limit", ["trace", "--workflow", "1", "--limit", "0"]),
        ("an empty --workflow", ["trace", "--workflow", ""]),
        ("an empty --repository", ["trace", "--repository", ""]),
        ("a blank --workflow", ["trace", "--workflow", "  "]),
        ("a blank --repository", ["trace", "--repository", "\t"]),
        ("a search's --at with an ID", ["trace", cid(1), "--at", "not-a-time"]),
        ("a search's --since with an ID", ["trace", cid(1), "--since", "1h"]),
        ("a search's --limit with an ID", ["trace", cid(1), "--limit", "0"]),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(slo, db_path, capsys, case, argv):
    assert slo(*argv, "--db", db_path) == 2, case
    assert capsys.readouterr().err.count("\n") == 1, case


@pytest.mark.parametrize("flags", [["--json"], ["--otlp"], []], ids=["json", "otlp", "view"])
def test_secrets_logged_in_metadata_never_reach_the_output(slo, db_path, capsys, flags):
    assert slo("trace", cid(2), *flags, "--db", db_path) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert "authorization" not in out.lower()
    if flags == ["--json"]:
        assert json.loads(out)["errors"][0]["error"]["token"] == c.REDACTED


def stored_text(path: str) -> str:
    """Every trace row of a SQLite store as text, each head's document inflated: what the file holds."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT correlation_id, version, workflow_id, repository, doc FROM traces").fetchall()
    return "\n".join(f"{cid} {workflow} {repository} {decode_head(cid, version, doc).compact_json()}"
                     for cid, version, workflow, repository, doc in rows)


def test_secrets_logged_outside_metadata_never_reach_the_store_or_the_output(slo, sqlite_store, spec, capsys):
    # workflow ID, repository, service, action and level are kept outside metadata: each is redacted as it is
    ids = {"workflowId": f"run-{SECRET}0123456789abcdefghijklmnopqrst", "repository": "https://x:hunter2@github.com/a/b"}
    lines = [log_line(c.WEBHOOK_RECEIVED, T0, cid(7), c.SERVICE_WEBHOOK, **ids),
             log_line(c.RUNNER_STARTED, T0 + 1, cid(7), "Bearer svc0123456789", **ids),
             log_line("token=act0123456789", T0 + 2, cid(7), c.SERVICE_RUNNER, **ids),
             json.dumps({**json.loads(log_line(c.CACHE_HIT, T0 + 3, cid(7))), "level": "password=lvl0123456789"})]
    ingest(sqlite_store, spec, lines)
    secrets = [SECRET.lower(), "hunter2", "svc0123456789", "act0123456789", "lvl0123456789"]  # the level is upper-cased
    stored = stored_text(str(sqlite_store.path)).lower()
    assert cid(7) in stored and not [s for s in secrets if s in stored]
    for flags in (["--json"], ["--otlp"], []):
        assert slo("trace", cid(7), *flags, "--db", sqlite_store.path) == 0
        out = capsys.readouterr().out.lower()
        assert not [s for s in secrets if s in out], flags
    assert slo("trace", cid(7), "--json", "--db", sqlite_store.path) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["repository"] == f"https://{c.REDACTED}@github.com/a/b"
    assert {span["service"] for span in document["spans"]} >= {c.SERVICE_WEBHOOK, f"Bearer {c.REDACTED}"}


def test_the_dynamodb_store_gives_the_same_json(slo, spec, dynamodb_store, moto_endpoint, db_path, capsys):
    ingest(dynamodb_store, spec, journey(cid(2), T0 + 7200, workflow="1002", failed=True))
    assert slo("trace", cid(2), "--json", "--db", db_path) == 0
    from_sqlite = json.loads(capsys.readouterr().out)
    argv = ["--store", "dynamodb", "--table", dynamodb_store.table, "--endpoint-url", moto_endpoint]
    assert slo("trace", cid(2), "--json", *argv) == 0
    assert json.loads(capsys.readouterr().out) == from_sqlite
    assert slo("trace", "--workflow", "1002", "--json", *argv) == 0
    assert [r["correlationId"] for r in json.loads(capsys.readouterr().out)["traces"]] == [cid(2)]


@pytest.mark.parametrize("blank", ["", "  "], ids=["empty", "whitespace"])
def test_a_head_stored_with_a_blank_workflow_id_takes_the_next_real_one(store, spec, blank):
    # heads written before the stitcher refused blank IDs hold them; the first ID wins, so one would hide the rest
    stale = TraceHead(cid(7), workflow_id=blank, repository=blank, first_seen_ms=int(T0 * 1000))
    store.commit(Commit(heads={cid(7): HeadWrite(stale, ttl=0)}))
    ingest(store, spec, journey(cid(7), T0 + 60, workflow="7007", repository="acme/api"))
    assert [found for found, _ in store.find_traces(workflow_id="7007")] == [cid(7)]
    assert [found for found, _ in store.find_traces(repository="acme/api")] == [cid(7)]


def test_a_damaged_stored_trace_is_one_line_and_exit_2_and_a_listing_that_holds_it_lists_it_as_damaged(
    slo, db_path, capsys
):
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.execute("UPDATE traces SET doc = x'00ff00' WHERE correlation_id = ?", (cid(2),))
    assert slo("trace", cid(2), "--db", db_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the stored trace {cid(2)} does not decode" in err, err
    assert slo("trace", "--repository", "acme/web", "--db", db_path) == 0  # one item must not cost the listing
    captured = capsys.readouterr()
    assert cid(2) in captured.out and "damaged" in captured.out
    assert captured.err.count("\n") == 1 and f"does not decode: {cid(2)}" in captured.err


def test_control_characters_and_markup_a_log_holds_are_printed_as_text(slo, sqlite_store, spec, capsys):
    # a logged escape sequence must not clear the reader's screen, nor a logged "[red]" restyle the listing
    lines = [log_line(c.RUNNER_STARTED, T0 + 30, cid(8), "Ru\x1b[2Jnner", workflowId="8008",
                      repository="a\x1b[2Jb[red]x", error={"type": "Boom", "message": "bad \x1b[31m\n[/]"})]
    ingest(sqlite_store, spec, lines)
    for command in (["trace", cid(8)], ["trace", "--workflow", "8008"]):
        assert slo(*command, "--db", sqlite_store.path) == 0, command
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\\x1b[2J" in out, out
    assert "a\\x1b[2Jb[red]x" in out  # the listing shows the stored value, markup and all


@pytest.mark.parametrize(
    ("flag", "logged"),
    [
        ("--repository", f"https://x-access-token:{SECRET}@github.com/acme/secret-repo"),
        ("--workflow", "w" * 300),
    ],
    ids=["a repository with a secret in it", "a workflow ID past the cut"],
)
def test_a_search_finds_a_trace_by_the_value_as_logged_when_the_head_keeps_it_redacted_or_cut(
    slo, sqlite_store, spec, capsys, flag, logged
):
    field = {"--repository": "repository", "--workflow": "workflow"}[flag]
    ingest(sqlite_store, spec, journey(cid(7), T0, **{field: logged}))
    assert slo("trace", flag, logged, "--json", "--db", sqlite_store.path) == 0
    rows = json.loads(capsys.readouterr().out)["traces"]
    assert [row["correlationId"] for row in rows] == [cid(7)]
    assert SECRET not in json.dumps(rows)  # the query echoes the argument; the trace found is as stored
