"""Spec revisions through the CLI, on both adapters: a matcher change starts a new series, `slo status` says so
and reads the earlier one with --revision, and nothing of one revision is counted in the other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from processors.cli import main
from tests.builders import T0, iso
from tests.conftest import create_table

ROOT = Path(__file__).resolve().parents[2]
SLO = "api-availability"
# one api_request every 10 s; 404 and 429 are good under `lt 500` and bad under `lt 400`
STATUSES = (200, 200, 404, 200, 503, 200, 429, 200, 200, 200)


def write_requests(path: Path, first_hour: int, last_hour: int) -> Path:
    """JSON-lines api_request logs over [first_hour, last_hour) of 2026-10-01."""
    lines = []
    start = int(T0) + first_hour * 3600
    for index, moment in enumerate(range(start, int(T0) + last_hour * 3600, 10)):
        lines.append(json.dumps({
            "timestamp": iso(moment), "level": "INFO", "service": "api", "correlationId": f"req-{moment}",
            "metadata": {"action": "api_request", "status": STATUSES[index % len(STATUSES)], "duration": 12},
        }))
    path.write_text("\n".join(lines) + "\n")
    return path


def expected_counts(first_hour: int, last_hour: int, good_below: int) -> tuple[int, int]:
    n = (last_hour - first_hour) * 360
    good = sum(1 for index in range(n) if STATUSES[index % len(STATUSES)] < good_below)
    return good, n


@pytest.fixture
def specs(tmp_path: Path) -> tuple[str, str]:
    """(the shipped spec, the same spec with api-availability's matcher changed from `lt 500` to `lt 400`)."""
    shipped = (ROOT / "slos.yaml").read_text()
    old = "good: {status: {lt: 500}}"
    assert shipped.count(old) == 1
    v1, v2 = tmp_path / "v1.yaml", tmp_path / "v2.yaml"
    v1.write_text(shipped)
    v2.write_text(shipped.replace(old, "good: {status: {lt: 400}}"))
    return str(v1), str(v2)


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


@pytest.fixture
def changed(tmp_path: Path, specs: tuple[str, str], store_flags: list[str], capsys) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Hours 0-2 replayed under the shipped spec, then hours 2-4 under the changed matcher."""
    v1, v2 = specs
    early, late = write_requests(tmp_path / "early.jsonl", 0, 2), write_requests(tmp_path / "late.jsonl", 2, 4)
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

