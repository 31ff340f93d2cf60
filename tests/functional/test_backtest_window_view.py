"""The replay's in-memory window view and the store-reading evaluator give identical alert transitions.

Each input is replayed twice into fresh SQLite stores: once evaluating every minute through the store
(StoreView, the Lambda's path), once through the WindowView fed by the replay's commits. The alert logs
(states, severities, times, exemplars) must be equal. The view answers no latency query (StoreView reads the
digests), so their equality on the sample, which has latency values, also shows the alert policy reads none.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from processors import conventions
from processors.cli.replay import minute_hooks
from processors.replay import Replayer, read_batches
from processors.replay.backtest import backtest_hook
from processors.replay.sources import arrival_order, decodable_batches, expand_paths
from processors.replay.window_view import HORIZON, _Prefix
from processors.spec import load_spec
from processors.store import SqliteStore
from tests.builders import EVENTS_DIR, T0, cid, cw_payload, gz, kinesis_event, kinesis_record, log_line


def replay(folder: Path, db: Path, through_store: bool) -> list[dict[str, Any]]:
    spec = load_spec()
    store = SqliteStore(str(db))
    if through_store:
        hooks, on_commit = [backtest_hook(store, spec)], None
    else:
        hooks, on_commit = minute_hooks(store, spec)
        assert on_commit is not None, "a fresh store is backtested through the window view"
    files = expand_paths([str(folder)])
    batches = arrival_order(decodable_batches(path, functools.partial(read_batches, path)) for path in files)
    report = Replayer(store, spec, hooks, on_commit).run(batches)
    assert report.minutes_evaluated > 0
    return store.alert_log()


def both(folder: Path, tmp_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return replay(folder, tmp_path / "store.db", True), replay(folder, tmp_path / "view.db", False)


def test_the_sample_pages_and_resolves_identically_through_the_view_and_the_store(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", EVENTS_DIR / "generate.py")
    generator = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(generator)  # type: ignore[union-attr]
    generator.write(tmp_path / "events", 20261001, 4)  # covers the 03:00 incident and its downgrade
    through_store, through_view = both(tmp_path / "events" / "stream", tmp_path)
    assert any(t["severity"] == "page" for t in through_store), "the sample's incident pages"
    assert through_view == through_store


def random_history(folder: Path, seed: int, minutes: int = 150) -> None:
    """Two shards of API requests, cache lookups and workflow results whose bad rates jump between phases;
    payloads arrive up to 90 s late and out of order, so commits land on minutes the view has passed."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    shards: dict[str, list[dict[str, Any]]] = {"shardId-000000000000": [], "shardId-000000000001": []}
    bad = 0.001
    n = 0
    for minute in range(minutes):
        if rng.random() < 0.08:
            bad = rng.choice((0.0005, 0.002, 0.05, 0.3, 0.9))
        lines: list[tuple[float, str]] = []
        for _ in range(rng.randrange(5, 40)):
            n += 1
            at = T0 + minute * 60 + rng.uniform(0, 60)
            if rng.random() < 0.6:
                status = 503 if rng.random() < bad else 200
                lines.append((at, log_line("api_request", at, cid(n), "Api", status=status, duration=40.0)))
            elif rng.random() < 0.5:
                action = "cache_miss" if rng.random() < bad * 2 else "cache_hit"
                lines.append((at, log_line(action, at, cid(n), "Runner", cacheKey="k")))
            else:
                conclusion = "failure" if rng.random() < bad else "success"
                lines.append((at, log_line("workflow_completed", at, cid(n), "Runner", conclusion=conclusion,
                                           duration=1000)))
        rng.shuffle(lines)
        for start in range(0, len(lines), 7):
            chunk = lines[start : start + 7]
            arrival = max(at for at, _ in chunk) + rng.uniform(1, 90)
            payload = cw_payload([m for _, m in chunk], t_ms=int(min(at for at, _ in chunk) * 1000))
            shards[rng.choice(list(shards))].append({"arrival": arrival, "data": gz(payload)})
    for shard, payloads in shards.items():
        payloads.sort(key=lambda p: p["arrival"])
        events, batch, sequence = [], [], 10**20
        for payload in payloads:
            sequence += 1
            if batch and payload["arrival"] - batch[0]["kinesis"]["approximateArrivalTimestamp"] > 60:
                events.append(kinesis_event(batch))
                batch = []
            batch.append(kinesis_record(payload["data"], sequence, shard=shard, arrival=payload["arrival"]))
        events.append(kinesis_event(batch))
        (folder / f"{shard}.jsonl").write_text("".join(json.dumps(event) + "\n" for event in events))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_randomized_history_gives_the_same_transitions_through_the_view_and_the_store(
    tmp_path: Path, seed: int
) -> None:
    random_history(tmp_path / "in", seed)
    through_store, through_view = both(tmp_path / "in", tmp_path)
    assert through_store, "the history's bad phases open alerts"
    assert through_view == through_store


def test_a_line_decades_before_the_rest_gives_the_same_transitions_through_the_view_and_the_store(
    tmp_path: Path,
) -> None:
    """A JSON-lines log accepts any time from 1970 (it has no arrival times), so one line of an unset clock
    (`"timestamp": 0`) put 56 years between two of the view's minutes: walking them took a minute of CPU and
    750 MB for a file of two lines. The view jumps past its horizon; what it answers is the store's."""
    random_history(tmp_path / "in", 1, minutes=60)
    unset_clock = json.loads(log_line("api_request", T0, cid(0), "Api", status=503, duration=40.0))
    unset_clock["timestamp"] = "1970-01-01T00:00:05Z"
    (tmp_path / "in" / "a-unset-clock.jsonl").write_text(json.dumps(unset_clock) + "\n")
    through_store, through_view = both(tmp_path / "in", tmp_path)
    assert through_store, "the history's bad phases open alerts"
    assert through_view == through_store


def test_the_view_jumps_a_gap_past_its_horizon_in_memory_that_does_not_grow_with_the_gap() -> None:
    step = conventions.MINUTE
    prefix = _Prefix(step, 0)
    prefix.add(0, 1, 1)
    later = 10 * 365 * conventions.DAY  # a line from 1970 before a 1980 log: 5 million minutes walked before
    prefix.add(later, 2, 3)
    tracemalloc.start()
    try:
        prefix.advance(later + step)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak} bytes"
    assert len(prefix.good) <= HORIZON // step + 2
    assert prefix.sum(later, later + step) == (2, 3)
    assert prefix.sum(later - 30 * conventions.DAY, later + step) == (2, 3)


def test_the_view_passes_minutes_without_data_in_time_that_does_not_grow_with_them() -> None:
    """A log of one line a month from 1970 to 2100 (a JSON-lines log accepts any of those times) made the view
    append every minute between them one by one: 1,532 lines took 57 s. Minutes without data are repeated at
    once now; the sums read the same."""
    step, month = conventions.MINUTE, 31 * conventions.DAY
    prefix = _Prefix(step, 0)
    started = time.process_time()
    for n in range(1, 2001):
        prefix.add(n * month, n, 2 * n)
        prefix.advance(n * month + step)
        assert prefix.sum(n * month, n * month + step) == (n, 2 * n)
        assert prefix.sum(n * month - 30 * conventions.DAY, n * month + step) == (n, 2 * n)
        assert prefix.sum((n - 1) * month, n * month + step) == (2 * n - 1, 4 * n - 2)
    assert time.process_time() - started < 10, "89 million minutes appended one by one took ~30 s here"
