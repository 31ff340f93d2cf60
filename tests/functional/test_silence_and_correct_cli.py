"""`slo silence` and `slo correct` end to end on a SQLite store: what they write, what `slo status` then shows,
and their mistakes (one line, exit 2, store unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processors.cli import main
from processors.decoding import Position
from processors.store import CheckpointAdvance, Commit, CounterKey, SqliteStore
from tests import runner_platform as conventions
from tests.builders import T0, series

M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
HOUR0 = int(T0)  # 2026-10-01T00:00Z
API = series(conventions.API_AVAILABILITY)


@pytest.fixture
def db(tmp_path: Path) -> str:
    """api-availability: 100 good requests a minute for an hour, then 10 minutes that all failed."""
    path = str(tmp_path / "slo.db")
    store = SqliteStore(path)
    rows = {CounterKey(API, M, HOUR0 + m * 60): {"good": 100, "total": 100} for m in range(60)}
    rows.update({CounterKey(API, M, HOUR0 + m * 60): {"good": 0, "total": 100}
                 for m in range(60, 70)})
    # ingest writes each event into its minute and its hour bucket; a window reads whole hours from the latter
    rows[CounterKey(API, H, HOUR0)] = {"good": 6000, "total": 6000}
    rows[CounterKey(API, H, HOUR0 + 3600)] = {"good": 0, "total": 1000}
    advance = CheckpointAdvance("stream", "shard-0", None, Position(1), newest_event=HOUR0 + 70 * 60 - 1)
    store.commit(Commit(checkpoint=advance, counters=rows))
    store.close()
    return path


def status(db: str, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["status", "--db", db, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def api(document: dict) -> dict:  # type: ignore[type-arg]
    return next(s for s in document["slos"] if s["name"] == conventions.API_AVAILABILITY)


def test_a_correction_leaves_its_window_out_of_status_and_is_listed_with_who_and_why(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = api(status(db, capsys))
    assert before["total"] == 7000 and before["good"] == 6000
    argv = ["correct", "--db", db, "--slo", "api-availability", "--from", "2026-10-01T01:00:00Z",
            "--to", "2026-10-01T01:05:00Z", "--reason", "load test", "--by", "ann"]
    assert main(argv) == 0
    assert "api-availability-v1" in capsys.readouterr().out
    assert main([*argv[:-4], "--to", "2026-10-01T01:10:00Z", "--reason", "the rest of it", "--by", "bob"]) == 0
    capsys.readouterr()
    document = status(db, capsys)
    after = api(document)
    assert after["total"] == 6000 and after["good"] == 6000 and after["budget"]["consumed"] == 0.0
    assert [(c["id"], c["version"], c["by"], c["reason"]) for c in document["corrections"]] == [
        ("api-availability-v1", 1, "ann", "load test"),
        ("api-availability-v2", 2, "bob", "the rest of it"),
    ]


def test_silences_are_added_listed_and_removed(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["silence", "add", "--db", db, "--all", "--from", "2026-10-01T00:00:00Z", "--for", "2h",
                 "--reason", "planned maintenance", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["slo"] == "*" and added["ends"] - added["starts"] == 7200
    assert main(["silence", "list", "--db", db, "--json"]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [added["id"]]
    assert main(["silence", "remove", "--db", db, added["id"]]) == 0
    capsys.readouterr()
    assert main(["silence", "list", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == "no silences"


@pytest.mark.parametrize(
    ("case", "argv", "message"),
    [
        ("an unknown SLO", ["correct", "--slo", "nope", "--from", "2026-10-01T01:00:00Z", "--to",
                            "2026-10-01T02:00:00Z", "--reason", "x"], "no SLO named"),
        ("a window that ends before it starts", ["correct", "--slo", "api-availability", "--from",
                                                 "2026-10-01T02:00:00Z", "--to", "2026-10-01T01:00:00Z",
                                                 "--reason", "x"], "must end after"),
        ("a silence without a length", ["silence", "add", "--all", "--reason", "x"], "--until"),
        ("a silence of a bad duration", ["silence", "add", "--all", "--for", "soon", "--reason", "x"], "--for"),
        ("removing an unknown silence", ["silence", "remove", "nope"], "no silence"),
        ("removing a silence of a 100 KB id", ["silence", "remove", "i" * 100_000], "no silence 'iiii"),
        ("a silence's reason of 1,001 characters", ["silence", "add", "--all", "--for", "2h", "--reason", "r" * 1001],
         "--reason: at most 1,000 characters, not 1,001"),
        ("a silence by a blank name", ["silence", "add", "--all", "--for", "2h", "--reason", "x", "--by", " "],
         "--by: blank"),
        ("a silence by a name of 201 characters", ["silence", "add", "--all", "--for", "2h", "--reason", "x",
                                                   "--by", "b" * 201], "--by: at most 200 characters, not 201"),
        ("a correction's reason of a megabyte", ["correct", "--slo", "api-availability", "--from",
                                                 "2026-10-01T01:00:00Z", "--to", "2026-10-01T02:00:00Z",
                                                 "--reason", "r" * 1_000_000],
         "--reason: at most 1,000 characters, not 1,000,000"),
        ("a correction by a blank name", ["correct", "--slo", "api-availability", "--from", "2026-10-01T01:00:00Z",
                                          "--to", "2026-10-01T02:00:00Z", "--reason", "x", "--by", " \u3000"],
         "--by: blank"),
        ("a correction by a name of 201 characters", ["correct", "--slo", "api-availability", "--from",
                                                      "2026-10-01T01:00:00Z", "--to", "2026-10-01T02:00:00Z",
                                                      "--reason", "x", "--by", "b" * 201],
         "--by: at most 200 characters, not 201"),
    ],
)
def test_mistakes_are_one_line_exit_2_and_change_nothing(
    db: str, capsys: pytest.CaptureFixture[str], case: str, argv: list[str], message: str
) -> None:
    assert main([*argv[:2], "--db", db, *argv[2:]] if argv[0] == "silence" else [argv[0], "--db", db, *argv[1:]]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and len(err) < 300, case
    store = SqliteStore(db)
    assert store.silences() == [] and store.corrections(["api-availability"]) == []
    store.close()


@pytest.mark.parametrize(
    ("reason", "by", "listed"),
    [
        ("a\nb\x1b[2J", "e\x1b[31mve", ["a\\x0ab\\x1b[2J", "e\\x1b[31mve"]),
        # an override shows "approved by nobody" reversed after it: a terminal must see the mark, not obey it
        ("approved \u202eydobon yb", "eve\u2066", ["approved \\u202eydobon yb", "eve\\u2066"]),
    ],
    ids=["a newline and terminal escapes", "a bidirectional override and isolate"],
)
def test_a_stored_reason_holding_control_characters_is_listed_escaped(
    db: str, capsys: pytest.CaptureFixture[str], reason: str, by: str, listed: list[str]
) -> None:
    # --reason refuses them now; a store written before may still hold them
    assert main(["silence", "add", "--db", db, "--all", "--for", "2h", "--reason", "r", "--json"]) == 0
    silence = json.loads(capsys.readouterr().out)
    store = SqliteStore(db)
    store.add_silence(dict(silence, id="0ld5113c", reason=reason, created_by=by))
    store.close()
    assert main(["silence", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert not any(mark in out for mark in "\x1b\u202e\u2066") and all(text in out for text in listed)
    assert len(out.splitlines()) == 2  # one line per silence
