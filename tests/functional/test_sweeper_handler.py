"""The orphan sweeper Lambda: open runners past max_runtime become one bad orphan-rate event, once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from processors.decoding import decode_record
from processors.handlers import sweeper
from processors.ingest import Ingestor
from processors.sweeping import Sweeper
from tests import runner_platform as conventions
from tests.builders import T0, cid, cw_payload, gz, kinesis_record, log_line, series


def scheduled(at: str) -> dict[str, Any]:
    return {"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": at, "region": "us-east-1", "resources": [], "detail": {}}


@pytest.fixture
def ingestor(store: Any, spec: Any, monkeypatch: pytest.MonkeyPatch) -> Ingestor:
    built = Ingestor(store, spec)
    lines = [log_line("runner_started", T0, cid(1)), log_line("runner_started", T0 + 60, cid(2)),
             log_line("workflow_completed", T0 + 120, cid(2), conclusion="success")]
    built.apply_batch("s", "shard", [decode_record(kinesis_record(gz(cw_payload(lines)), 1))])
    swept = Sweeper(store, spec)  # the sweeper's own service: no Ingestor needed to sweep
    monkeypatch.setattr(sweeper, "_sweeper", lambda: swept)
    return built


def orphan_counts(store: Any) -> tuple[int, int]:
    counts = store.window_counts(series(conventions.ORPHAN_RATE), int(T0) - 3600, int(T0) + 8 * 3600)
    return counts.good, counts.total


def test_a_runner_past_max_runtime_is_swept_once_however_often_the_sweeper_runs(ingestor, lambda_context) -> None:
    assert sweeper.lambda_handler(scheduled("2026-10-01T05:59:00Z"), lambda_context)["swept"] == 0
    assert sweeper.lambda_handler(scheduled("2026-10-01T06:01:00Z"), lambda_context)["swept"] == 1
    assert sweeper.lambda_handler(scheduled("2026-10-01T06:01:00Z"), lambda_context)["swept"] == 0  # a retry
    assert sweeper.lambda_handler(scheduled("2026-10-01T07:00:00Z"), lambda_context)["swept"] == 0
    assert orphan_counts(ingestor.store) == (1, 2)  # the completed runner good, the silent one bad
    assert ingestor.store.gauge("open-units") == 0


def test_a_completion_that_arrives_after_the_sweep_does_not_flip_it(ingestor, lambda_context) -> None:
    sweeper.lambda_handler(scheduled("2026-10-01T06:01:00Z"), lambda_context)
    late = [log_line("workflow_completed", T0 + 6.5 * 3600, cid(1), conclusion="success")]
    ingestor.apply_batch("s", "shard", [decode_record(kinesis_record(gz(cw_payload(late)), 2))])
    assert orphan_counts(ingestor.store) == (1, 2)


def test_a_scheduled_event_dated_hours_ahead_sweeps_no_runner_early(store, spec, monkeypatch, lambda_context) -> None:
    """A hand-made event 7 hours ahead: every runner open now would be past max_runtime, swept and counted bad."""
    now = time.time()
    line = log_line("runner_started", now - 60, cid(3))
    Ingestor(store, spec).apply_batch("s", "shard", [decode_record(kinesis_record(gz(cw_payload([line])), 1,
                                                                                  arrival=now))])
    monkeypatch.setattr(sweeper, "_sweeper", lambda: Sweeper(store, spec))
    ahead = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 7 * 3600))
    assert sweeper.lambda_handler(scheduled(ahead), lambda_context)["swept"] == 0
    assert store.gauge("open-units") == 1
