"""`slo replay` of a folder of many files: the merge's budget bounds what the files hold at once (smaller batches
when many files are open, a file not yet due left closed), and none of that changes what the store ends with.

The folders are the generator's lines as JSON-lines files, one per "log stream" (a hash of the line), each
spanning the whole sample, as `aws logs` exports per stream are. The budget is shrunk so that 24 files stand
in for thousands: batches then shrink to a few lines, and every file past none waits closed.
"""

from __future__ import annotations

import functools
import heapq
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.cli import main
from processors.replay import sources
from processors.replay.sources import FileSource, MergeBudget, MergeInput, ShardBatch, arrival_order
from tests.builders import T0, cid, log_line
from tests.functional.test_replay_sample import load_generator

HOURS = 4  # the incident is at 03:00: the backtest records alert transitions
FILES = 24
LOG_GROUP = "/aws/lambda/gha-platform"


def tiny_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """24 files as thousands would be: no file kept open from its check, 10-line batches with 24 open."""
    monkeypatch.setattr(sources, "LINE_BUDGET", 240)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    traffic = load_generator().Traffic(20261001, HOURS)
    traffic.generate()
    return [message for _, _, _, message in sorted(traffic.lines, key=lambda line: line[0])]


def write_folder(folder: Path, lines: list[str], count: int) -> Path:
    folder.mkdir()
    parts: list[list[str]] = [[] for _ in range(count)]
    for line in lines:
        parts[zlib.crc32(line.encode()) % count].append(line)
    for n, part in enumerate(parts):
        (folder / f"stream-{n:02}.jsonl").write_text("".join(line + "\n" for line in part))
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def without(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: without(v, key) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [without(v, key) for v in value]
    return value


def store_of(capsys: pytest.CaptureFixture[str], db: Path, lines: list[str]) -> dict[str, Any]:
    """What a reader of the store sees: status, alert transitions and the traces of a sample of IDs. Without
    the alerts' exemplars: the bad IDs of one minute are listed in the order they were applied, which is the
    order the files' lines interleave in, not the order of one file's."""
    ids = sorted({json.loads(line)["correlationId"] for line in lines[::97] if '"correlationId": "' in line})[:12]
    traces = {}
    for correlation_id in ids:
        capsys.readouterr()
        main(["trace", correlation_id, "--db", str(db), "--json"])
        traces[correlation_id] = capsys.readouterr().out
    return {
        "status": without(run(capsys, "status", "--db", str(db)), "exemplars"),
        "alerts": without(run(capsys, "alerts", "--db", str(db)), "exemplars"),
        "traces": traces,
    }


def replay(capsys: pytest.CaptureFixture[str], path: Path, db: Path) -> dict[str, Any]:
    summary = run(capsys, "replay", str(path), "--db", str(db), "--log-group", LOG_GROUP)
    summary.pop("seconds")
    return summary


def test_many_files_replay_into_the_same_store_as_their_lines_in_one_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, lines: list[str]
) -> None:
    """One file of every line, and the same lines in 24 files with the budget shrunk (10-line batches, every
    file opened only when due): the same status, alert transitions and traces, and the same summary but for
    the batches and their commits."""
    one = tmp_path / "all.jsonl"
    one.write_text("".join(line + "\n" for line in lines))
    folder = write_folder(tmp_path / "streams", lines, FILES)
    single = replay(capsys, one, tmp_path / "one.db")
    with monkeypatch.context() as patched:
        tiny_budget(patched)
        shrunk = replay(capsys, folder, tmp_path / "shrunk.db")
    assert shrunk["batches"] > 50 * single["batches"]  # the budget did cut small batches
    batching = {"files", "formats", "batches", "commits"}
    assert {k: v for k, v in shrunk.items() if k not in batching} == {
        k: v for k, v in single.items() if k not in batching
    }
    expected = store_of(capsys, tmp_path / "one.db", lines)
    assert expected["alerts"], "the sample's incident records alert transitions"
    assert store_of(capsys, tmp_path / "shrunk.db", lines) == expected


def test_files_within_the_budget_read_whole_batches_and_count_as_one_file_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str]
) -> None:
    """24 files of about 280 lines fit the default budget: each is one whole batch, as before the budget, and
    each batch spans the whole sample from its start. The backtest still walks every minute the applied data
    reaches (before, it jumped the 4 hours as a gap between batches and evaluated 1 minute)."""
    one = tmp_path / "all.jsonl"
    one.write_text("".join(line + "\n" for line in lines))
    folder = write_folder(tmp_path / "streams", lines, FILES)
    single = replay(capsys, one, tmp_path / "one.db")
    summary = replay(capsys, folder, tmp_path / "whole.db")
    assert summary["batches"] == FILES
    assert summary["minutes_evaluated"] == single["minutes_evaluated"] > HOURS * 60 - 5
    expected, got = store_of(capsys, tmp_path / "one.db", lines), store_of(capsys, tmp_path / "whole.db", lines)
    assert without(got["status"], "alerts") == without(expected["status"], "alerts")
    assert got["traces"] == expected["traces"]
    assert got["alerts"] == expected["alerts"]


def test_a_second_replay_of_many_files_applies_nothing_whatever_the_batches_of_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, lines: list[str]
) -> None:
    """Positions of JSON-lines files are line numbers, not batch numbers: a replay cut into 10-line batches
    and one cut into 1,000-line batches apply the same records, once."""
    folder = write_folder(tmp_path / "streams", lines[: len(lines) // 4], FILES)
    db = tmp_path / "slo.db"
    with monkeypatch.context() as patched:
        tiny_budget(patched)
        first = replay(capsys, folder, db)
    status = run(capsys, "status", "--db", str(db))
    second = replay(capsys, folder, db)
    assert first["records_already_applied"] == 0 and first["events"] > 0
    assert second["records_already_applied"] == second["records"] == first["records"]
    assert second["sli_events"] == second["commits"] == 0
    assert run(capsys, "status", "--db", str(db)) == status


def merged(paths: list[Path], budget: MergeBudget) -> list[tuple[str, int, int]]:
    """(file, lines in the batch, files open as it was cut) for every batch of the merge."""
    inputs = [MergeInput.checked(path, FileSource(path, budget=budget).batches, budget=budget) for path in paths]
    return [(Path(b.origin).name, b.record_count, budget.open_files) for b in arrival_order(inputs, budget)]


def overlapping(folder: Path, files: int, lines: int) -> list[Path]:
    """`files` files of `lines` lines each, all spanning the same seconds."""
    paths = []
    for f in range(files):
        path = folder / f"{f:02}.jsonl"
        path.write_text("".join(log_line("api_request", T0 + n, cid(f * lines + n), "Api", status=200) + "\n"
                                for n in range(lines)))
        paths.append(path)
    return paths


class RecordedBudget(MergeBudget):
    """A budget that remembers each batch size it gave, with the files open then."""

    def __init__(self) -> None:
        super().__init__()
        self.given: set[tuple[int, int]] = set()

    @property
    def batch_lines(self) -> int:
        lines = super().batch_lines
        self.given.add((self.open_files, lines))
        return lines


def held_at_each_batch(batches: list[tuple[str, int, int]]) -> list[int]:
    """The lines the merge held as it gave each batch: the next batch of every file it had opened."""
    held = []
    for at in range(len(batches)):
        opened = {name for name, _, _ in batches[: at + 1]}
        later: dict[str, int] = {}
        for name, lines, _ in batches[at + 1 :]:
            later.setdefault(name, lines)
        held.append(sum(lines for name, lines in later.items() if name in opened))
    return held


def test_the_budget_cuts_smaller_batches_the_more_files_are_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 files of 500 lines over the same seconds share 400 lines: each checks a whole first batch alone (400
    lines, then closed), and the merge, where all 20 are due at once, cuts 20 lines a batch; the batches held
    together never pass the budget."""
    monkeypatch.setattr(sources, "LINE_BUDGET", 400)
    budget = RecordedBudget()
    batches = merged(overlapping(tmp_path, 20, 500), budget)
    assert sum(lines for _, lines, _ in batches) == 20 * 500
    assert budget.given == {(1, 400), (20, 20)}
    assert {lines for _, lines, _ in batches} == {20}
    assert max(held_at_each_batch(batches)) <= 400


def test_a_file_waits_closed_until_its_first_batch_is_due_and_files_in_sequence_are_open_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Per-hour files (each later than the one before) past the budget's first files are opened in turn: at
    most two are open at once, and each reads whole batches."""
    monkeypatch.setattr(sources, "LINE_BUDGET", 400)  # keeps no file open from its check (400 < 1,000)
    paths = []
    for f in range(12):
        path = tmp_path / f"{f:02}.jsonl"
        path.write_text("".join(log_line("api_request", T0 + 3600 * f + n, cid(100 * f + n), "Api", status=200)
                                + "\n" for n in range(50)))
        paths.append(path)
    batches = merged(paths, MergeBudget())
    assert [name for name, _, _ in batches] == [path.name for path in paths]  # one whole batch each, in order
    assert {lines for _, lines, _ in batches} == {50}
    assert max(open_files for _, _, open_files in batches) <= 2


def test_a_few_files_are_kept_open_from_their_check_and_read_whole_batches_as_before(
    tmp_path: Path,
) -> None:
    budget = MergeBudget()
    paths = overlapping(tmp_path, 3, 2500)
    batches = merged(paths, budget)
    assert budget.kept == 3
    assert [lines for _, lines, _ in batches] == [1000, 1000, 1000, 1000, 1000, 1000, 500, 500, 500]


@given(
    files=st.lists(st.lists(st.integers(0, 30), max_size=5), max_size=6),
    waits=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_files_waiting_closed_or_open_merge_in_the_order_heapq_merge_gives(
    files: list[list[int]], waits: list[bool]
) -> None:
    """By order_time, ties in the files' order, as the merge was before (heapq.merge): a file that waits closed
    is opened in time for its first batch."""
    batches = [
        [ShardBatch("s", "x", order_time=float(t), origin=f"{f}:{n}") for n, t in enumerate(sorted(times))]
        for f, times in enumerate(files)
    ]
    expected = [b.origin for b in heapq.merge(*(iter(file) for file in batches), key=lambda b: b.order_time)]
    inputs: list[MergeInput | Any] = [
        MergeInput(functools.partial(iter, file), file[0].order_time) if waits[f] and file else iter(file)
        for f, file in enumerate(batches)
    ]
    assert [b.origin for b in arrival_order(inputs)] == expected
