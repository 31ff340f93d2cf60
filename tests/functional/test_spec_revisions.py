"""Spec revisions through the CLI, on both adapters: a matcher change starts a new series, `slo status` says so
and reads the earlier one with --revision, and nothing of one revision is counted in the other."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processors.cli import main
from tests.conftest import create_table
from tests.revisions import SLO, STATUSES, write_orphans, write_requests, write_specs, write_units


def expected_counts(first_hour: int, last_hour: int, good_below: int) -> tuple[int, int]:
    n = (last_hour - first_hour) * 360
    good = sum(1 for index in range(n) if STATUSES[index % len(STATUSES)] < good_below)
    return good, n


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return write_specs(tmp_path_factory.mktemp("specs"))


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_flags(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    if request.param == "sqlite":
        yield ["--db", str(tmp_path / "slo.db")]
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        yield ["--store", "dynamodb", "--table", create_table(endpoint), "--endpoint-url", endpoint]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def api_status(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run(capsys, "status", "--json", *argv)
    assert code == 0, err
    return next(slo for slo in json.loads(out)["slos"] if slo["name"] == SLO)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(hours 0-2, hours 2-4) of api_request logs."""
    folder = tmp_path_factory.mktemp("history")
    return write_requests(folder / "early.jsonl", 0, 2), write_requests(folder / "late.jsonl", 2, 4)


@pytest.fixture
def changed(specs: tuple[str, str], history: tuple[Path, Path], store_flags: list[str], capsys) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Hours 0-2 replayed under the shipped spec, then hours 2-4 under the changed matcher."""
    v1, v2 = specs
    early, late = history
    assert run(capsys, "replay", str(early), "--spec", v1, "--no-backtest", *store_flags)[0] == 0
    assert run(capsys, "replay", str(late), "--spec", v2, "--no-backtest", *store_flags)[0] == 0
    from processors.spec import load_spec

    return {
        "v1": v1, "v2": v2, "early": str(early), "late": str(late),
        "old": load_spec(v1).slo(SLO).revision, "new": load_spec(v2).slo(SLO).revision,
    }


def test_a_changed_matcher_is_reported_from_the_new_revisions_first_event_with_a_notice(changed, store_flags, capsys):  # type: ignore[no-untyped-def]
    status = api_status(capsys, "--spec", changed["v2"], *store_flags)
    assert (status["good"], status["total"]) == expected_counts(2, 4, 400)  # the new series only: no mixing
    assert status["revision"] == changed["new"] != changed["old"]
    assert status["revision_since"] == "2026-10-01T02:00:00Z"
    assert status["other_revisions"] == [{"revision": changed["old"], "since": "2026-10-01T00:00:00Z"}]
    notice = (f"{SLO}: revision {changed['new']} since 2026-10-01 02:00 UTC; the earlier revision {changed['old']} "
              f"is readable with --revision {changed['old']}")
    assert status["notice"] == notice
    code, out, _ = run(capsys, "status", "--spec", changed["v2"], *store_flags)
    assert code == 0 and out.count(notice) == 1
    others = [line for line in out.splitlines() if "revision" in line]
    assert others == [notice]  # the unchanged SLOs have one revision each: no notice


def test_status_revision_reads_the_earlier_revisions_series_unchanged(changed, store_flags, capsys):  # type: ignore[no-untyped-def]
    for wanted in (changed["old"], changed["old"][:4]):  # the whole revision, or a unique prefix
        status = api_status(capsys, "--spec", changed["v2"], "--revision", wanted, *store_flags)
        assert (status["good"], status["total"]) == expected_counts(0, 2, 500)
        assert status["revision"] == changed["old"]
        assert status["notice"].startswith(f"{SLO}: showing revision {changed['old']} (since 2026-10-01 00:00 UTC)")


def test_an_unknown_revision_is_one_line_and_exit_2(changed, store_flags, capsys):  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "status", "--spec", changed["v2"], "--revision", "ffff0000", *store_flags)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "'ffff0000'" in err and changed["old"] in err


def test_a_single_revision_has_no_notice(specs, store_flags, tmp_path, capsys):  # type: ignore[no-untyped-def]
    early = write_requests(tmp_path / "early.jsonl", 0, 2)
    assert run(capsys, "replay", str(early), "--spec", specs[0], "--no-backtest", *store_flags)[0] == 0
    status = api_status(capsys, "--spec", specs[0], *store_flags)
    assert status["notice"] is None and status["other_revisions"] == []
    assert status["revision_since"] == "2026-10-01T00:00:00Z"



# --- slo backfill: the new revision re-derived from history, exactly once -------------------------------------

FIGURES = ("good", "total", "attainment", "budget", "burn_rates")
MOMENTS = ("2026-10-01T01:00:00Z", "2026-10-01T04:00:00Z")  # inside the backfilled range, and at its end


def figures(capsys, spec: str, flags: list[str], *extra: str) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    """api-availability's figures at each of MOMENTS: minute-level windows (5m, 30m) catch a misplaced minute."""
    return {at: {k: api_status(capsys, "--spec", spec, "--at", at, *extra, *flags)[k] for k in FIGURES}
            for at in MOMENTS}


def untouched(capsys, spec: str, flags: list[str]) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """What a backfill must leave alone: the other SLOs, the trace coverage and the api-latency sketch."""
    code, out, err = run(capsys, "status", "--json", "--spec", spec, *flags)
    assert code == 0, err
    document = json.loads(out)
    code, latency, err = run(capsys, "status", "--json", "--spec", spec, "--latency", "api-latency", "--window", "1d",
                             *flags)
    assert code == 0, err
    return {
        "slos": {s["name"]: (s["good"], s["total"]) for s in document["slos"] if s["name"] != SLO},
        "coverage": document["trace_coverage"], "latency": json.loads(latency)["count"],
    }


def backfill(capsys, changed, flags: list[str], *paths: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code, out, err = run(capsys, "backfill", "--slo", SLO, "--spec", changed["v2"], "--json",
                         *(paths or (changed["early"], changed["late"])), *flags)
    assert code == 0, err
    return dict(json.loads(out))


def quiet_main(*argv: str) -> str:
    """`slo ARGV`'s stdout, for module fixtures (capsys is per test)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture(scope="module")
def fresh(specs, history, tmp_path_factory) -> dict[str, dict]:  # type: ignore[no-untyped-def, type-arg]
    """The truth: all four hours replayed under the changed spec into an empty store (once per module)."""
    db = ["--db", str(tmp_path_factory.mktemp("fresh") / "fresh.db")]
    quiet_main("replay", *map(str, history), "--spec", specs[1], "--no-backtest", *db)
    found = {}
    for at in MOMENTS:
        document = json.loads(quiet_main("status", "--json", "--spec", specs[1], "--at", at, *db))
        slo = next(slo for slo in document["slos"] if slo["name"] == SLO)
        found[at] = {k: slo[k] for k in FIGURES}
    return found


def test_backfill_gives_the_new_revision_a_fresh_replays_counts_and_leaves_the_old_revision_alone(  # type: ignore[no-untyped-def]
    changed, fresh, store_flags, capsys
):
    old_before = figures(capsys, changed["v2"], store_flags, "--revision", changed["old"])
    others_before = untouched(capsys, changed["v2"], store_flags)
    assert api_status(capsys, "--spec", changed["v2"], *store_flags)["total"] == 720  # before: from 02:00 only

    summary = backfill(capsys, changed, store_flags)
    assert (summary["since"], summary["until"]) == ("2026-09-01T02:00:00Z", "2026-10-01T02:00:00Z")
    assert summary["events_counted"] == 720 and summary["events_outside_range"] == 720  # late.jsonl: live already
    assert figures(capsys, changed["v2"], store_flags) == fresh
    assert figures(capsys, changed["v2"], store_flags, "--revision", changed["old"]) == old_before  # no mixing
    assert untouched(capsys, changed["v2"], store_flags) == others_before  # no other SLO or counter recounted
    status = api_status(capsys, "--spec", changed["v2"], *store_flags)
    assert status["revision_since"] == "2026-10-01T00:00:00Z"  # the new series now begins with its history


def test_a_second_backfill_counts_nothing_and_keeps_the_first_runs_range(changed, fresh, store_flags, capsys):  # type: ignore[no-untyped-def]
    backfill(capsys, changed, store_flags)
    again = backfill(capsys, changed, store_flags)
    assert again["events_counted"] == 0 and again["records_already_applied"] == again["records"] == 1440
    assert (again["since"], again["until"]) == ("2026-09-01T02:00:00Z", "2026-10-01T02:00:00Z")
    assert figures(capsys, changed["v2"], store_flags) == fresh


def test_an_interrupted_backfill_resumes_where_it_stopped_and_counts_nothing_twice(  # type: ignore[no-untyped-def]
    changed, fresh, store_flags, tmp_path, capsys, monkeypatch
):
    from processors.store.base import Store

    commit, commits = Store.commit, []

    def interrupted(self, batch):  # type: ignore[no-untyped-def]
        if len(commits) == 1:
            raise KeyboardInterrupt  # after one commit landed: part of early.jsonl is counted
        commits.append(batch)
        commit(self, batch)

    history = [str(write_requests(tmp_path / f"early-{h}.jsonl", h, h + 1)) for h in (0, 1)]  # two commits at least
    monkeypatch.setattr(Store, "commit", interrupted)
    assert main(["backfill", "--slo", SLO, "--spec", changed["v2"], *history, *store_flags]) == 130
    monkeypatch.setattr(Store, "commit", commit)
    assert len(commits) == 1 and commits[0].checkpoint is not None
    partly = api_status(capsys, "--spec", changed["v2"], "--at", MOMENTS[-1], *store_flags)["total"]
    assert 720 < partly < 1440  # the live 720 plus some, not all, of the history
    resumed = backfill(capsys, changed, store_flags, *history, changed["late"])
    assert 0 < resumed["events_counted"] < 720 and resumed["records_already_applied"] > 0
    assert figures(capsys, changed["v2"], store_flags) == fresh


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--slo", "nope", "x.jsonl"], "no SLO named 'nope'"),
        (["--slo", SLO], "give replay PATHs"),
        (["--slo", SLO, "--since", "soon", "x.jsonl"], "--since: not an ISO 8601 time or a duration"),
        (["--slo", SLO, "--since", "2026-10-01T03:00:00Z", "x.jsonl"], "--since must be before 2026-10-01T02:00:00Z"),
        (["--slo", SLO, "--log-group-prefix", "/aws", "x.jsonl"], "not both"),
        (["--slo", SLO, "missing.jsonl"], "missing.jsonl: no such file or folder"),
        (["--slo", SLO, "--log-group", " "], "take a name"),
        (["--slo", SLO, "--window", "soon", "x.jsonl"], "--window and --logs-endpoint-url are for reading CloudWatch"),
        (["--slo", SLO, "--logs-endpoint-url", "http://127.0.0.1:1", "x.jsonl"], "are for reading CloudWatch Logs"),
    ],
    ids=["an unknown SLO", "no history to read", "a bad --since",
         "a range after the live series", "files and log groups together", "a missing file", "a blank log group",
         "a CloudWatch window with files", "a CloudWatch endpoint with files"],
)
@pytest.mark.parametrize("store_flags", ["sqlite"], indirect=True)
def test_backfill_mistakes_are_one_line_and_exit_2(changed, store_flags, tmp_path, capsys, args, says) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x.jsonl").write_text(Path(changed["early"]).read_text())
    argv = [a if not a.endswith(".jsonl") else str(tmp_path / a) for a in args]
    code, out, err = run(capsys, "backfill", *argv, "--spec", changed["v2"], *store_flags)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and says in err, err


@pytest.mark.parametrize("store_flags", ["sqlite"], indirect=True)
def test_a_backfill_refused_before_its_first_write_leaves_no_range_behind(changed, fresh, store_flags, capsys):  # type: ignore[no-untyped-def]
    # the range is recorded at the first write: a run that never wrote must not pin a later run's --since
    unreachable = ["--log-group", "g", "--logs-endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"]
    code, out, err = run(capsys, "backfill", "--slo", SLO, "--spec", changed["v2"], "--since", "1h", *unreachable,
                         *store_flags)
    assert (code, out, err.count("\n")) == (2, "", 1), err
    summary = backfill(capsys, changed, store_flags)
    assert (summary["since"], summary["until"]) == ("2026-09-01T02:00:00Z", "2026-10-01T02:00:00Z")
    assert figures(capsys, changed["v2"], store_flags) == fresh


def dump(db: Path) -> list[str]:
    """Every row of a SQLite store, as SQL text (the write-ahead log read too)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as connection:
        return list(connection.iterdump())


@pytest.mark.parametrize(
    ("reach", "says"),
    [(["--since", "1970-01-01T00:00:00Z"], "3653 days"), (["--since", "100d", "--window", "1m"], "larger --window")],
    ids=["back to 1970", "100 days a minute at a time"],
)
@pytest.mark.parametrize("store_flags", ["sqlite"], indirect=True)
def test_a_cloudwatch_backfill_past_retention_or_of_too_many_windows_is_refused_and_writes_nothing(  # type: ignore[no-untyped-def]
    changed, store_flags, moto_endpoint, capsys, reach, says
):
    import uuid

    from tests.history import client

    group = f"/aws/lambda/gha-far-{uuid.uuid4().hex[:8]}"
    client(moto_endpoint, "logs").create_log_group(logGroupName=group)
    db = Path(store_flags[1])
    before = dump(db)
    code, out, err = run(capsys, "backfill", "--slo", SLO, "--spec", changed["v2"], *reach, "--log-group", group,
                         "--logs-endpoint-url", moto_endpoint, *store_flags)
    assert (code, out, err.count("\n")) == (2, "", 1) and says in err, err
    assert dump(db) == before  # no backfill plan recorded, nothing counted


def test_backfill_reads_cloudwatch_logs_like_slo_import_exactly_once(specs, moto_endpoint, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import time
    import uuid

    from processors.timeutil import parse_iso8601
    from tests.history import LOG_STREAM, client

    day = int(time.time()) // 3600 * 3600 - 4 * 3600  # CloudWatch Logs keeps recent events only: four hours ago
    v1, v2 = specs
    early = write_requests(tmp_path / "early.jsonl", 0, 2, day)
    late = write_requests(tmp_path / "late.jsonl", 2, 4, day)
    db, fresh = ["--db", str(tmp_path / "slo.db")], ["--db", str(tmp_path / "fresh.db")]
    assert run(capsys, "replay", str(early), "--spec", v1, "--no-backtest", *db)[0] == 0
    assert run(capsys, "replay", str(late), "--spec", v2, "--no-backtest", *db)[0] == 0
    assert run(capsys, "replay", str(early), str(late), "--spec", v2, "--no-backtest", *fresh)[0] == 0
    logs, group = client(moto_endpoint, "logs"), f"/aws/lambda/gha-backfill-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=LOG_STREAM)
    lines = early.read_text().splitlines()
    stamped = [{"timestamp": int(parse_iso8601(json.loads(line)["timestamp"]).timestamp() * 1000), "message": line}
               for line in lines]
    logs.put_log_events(logGroupName=group, logStreamName=LOG_STREAM, logEvents=stamped)
    source = ["--log-group-prefix", group, "--logs-endpoint-url", moto_endpoint]
    at = ["--at", datetime.fromtimestamp(day + 4 * 3600, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    for counted in (720, 0):  # the second run finds every record applied
        code, out, err = run(capsys, "backfill", "--slo", SLO, "--spec", v2, "--json", *source, *db)
        assert code == 0, err
        summary = json.loads(out)
        assert summary["events_counted"] == counted and summary["events_fetched"] >= 720  # pages may overlap
        got = {k: api_status(capsys, "--spec", v2, *at, *db)[k] for k in FIGURES}
        assert got == {k: api_status(capsys, "--spec", v2, *at, *fresh)[k] for k in FIGURES}


@pytest.mark.parametrize(
    ("slo", "write", "units"),
    [("queue-latency", write_units, 60), ("orphan-rate", write_orphans, 60)],
    ids=["a latency SLO, stitched from two files", "a resolution SLO, its late units swept as event time passes"],
)
def test_a_stitched_slos_backfill_counts_as_a_fresh_replay_does(store_flags, tmp_path, capsys, slo, write, units):  # type: ignore[no-untyped-def]
    paths, changed = write(tmp_path, units)
    files = [str(path) for path in paths]
    fresh = ["--db", str(tmp_path / "fresh.db")]
    assert run(capsys, "replay", *files, "--no-backtest", *store_flags)[0] == 0  # the shipped spec
    assert run(capsys, "replay", *files, "--spec", changed, "--no-backtest", *fresh)[0] == 0

    def figures(*flags: str) -> dict:  # type: ignore[type-arg]
        code, out, err = run(capsys, "status", "--json", "--spec", changed, *flags)
        assert code == 0, err
        found = next(s for s in json.loads(out)["slos"] if s["name"] == slo)
        return {k: found.get(k) for k in ("good", "total", "latency_ms", "burn_rates")}

    assert figures(*store_flags)["total"] == 0  # the changed SLI's series has no events yet
    for counted in (units, 0):
        code, out, err = run(capsys, "backfill", "--slo", slo, "--spec", changed, "--json", *files, *store_flags)
        assert code == 0, err
        assert json.loads(out)["events_counted"] == counted
        got = figures(*store_flags)
        assert got == figures(*fresh)
        assert got["total"] == units and 0 < got["good"] < units
