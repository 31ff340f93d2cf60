"""The evaluator Lambda with fakes (a generated stream behind an in-memory store): schedule time, alerts,
idempotent retries and the EMF documents it prints."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pytest

from processors.handlers import evaluator
from processors.spec import load_spec
from processors.store.types import RollupReport
from tests import runner_platform as conventions
from tests.fakes.alerting import MemoryAlertStore, MemoryNotifier
from tests.fakes.evaluating import Phase, SeriesView, minute_counts

T0 = 1_790_000_000 // 3600 * 3600
HISTORY = 3 * 1440


@dataclass
class LambdaContext:
    function_name: str = "slo-evaluator"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:slo-evaluator"
    aws_request_id: str = "req-1"


def scheduled_event(at: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/slo-evaluator-every-minute"],
        "detail": {},
    }


class FakeStore(MemoryAlertStore):
    def rollup(self, now: float, report: RollupReport | None = None) -> RollupReport:  # nothing pending in a fake
        return RollupReport() if report is None else report


@pytest.fixture
def deps(monkeypatch: pytest.MonkeyPatch) -> evaluator.Dependencies:
    spec = load_spec()
    api = conventions.API_AVAILABILITY
    series = {slo.name: minute_counts([Phase(HISTORY + 60, 20)]) for slo in spec.slos}
    series[api] = minute_counts([Phase(HISTORY, 20), Phase(60, 20, 1.0)])  # an outage from T0
    alerts = FakeStore()
    latency = {"queue-latency": {"p50": 900.0, "p95": 2000.0}}
    view = SeriesView(T0 - HISTORY * 60, series, latency=latency, alerts=alerts)
    built = evaluator.Dependencies(alerts, spec, MemoryNotifier(), lambda: view)
    monkeypatch.setattr(evaluator, "_dependencies", lambda: built)
    return built


def emf_documents(output: str) -> list[dict[str, Any]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_values(documents: list[dict[str, Any]], name: str) -> list[tuple[dict[str, str], Any]]:
    found = []
    for doc in documents:
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        if any(m["Name"] == name for m in directive["Metrics"]):
            dims = {d: doc[d] for group in directive["Dimensions"] for d in group}
            value = doc[name]
            found.append((dims, value[0] if isinstance(value, list) and len(value) == 1 else value))
    return found


def test_an_outage_pages_once_at_the_scheduled_minute_and_a_retry_sends_nothing(deps, capsys) -> None:  # type: ignore[no-untyped-def]
    event = scheduled_event("2026-09-21T14:01:00Z")
    assert evaluator.scheduled_minute(event, T0 + 3600) == T0 + 60
    first = evaluator.lambda_handler(event, LambdaContext())
    retry = evaluator.lambda_handler(event, LambdaContext())
    assert first["at"] == "2026-09-21T14:01:00Z"
    assert {
        "slo": "api-availability",
        "kind": "burn_rate",
        "severity": "page",
        "tier": "1h/5m",
        "state": "firing",
    } in first["transitions"]
    assert retry["transitions"] == []
    pages = [t for t in deps.notifier.sent if t["severity"] == "page"]  # type: ignore[attr-defined]
    assert len(pages) == 1 and len(pages[0]["exemplars"]) == 5
    capsys.readouterr()


def test_a_scheduled_time_with_seconds_is_floored_and_a_missing_one_uses_the_wall_clock() -> None:
    assert evaluator.scheduled_minute(scheduled_event("2026-09-21T14:01:59Z"), T0 + 3600) == T0 + 60
    assert evaluator.scheduled_minute({}, T0 + 119.5) == T0 + 60


def test_a_scheduled_time_after_the_wall_clock_is_not_believed_beyond_a_minute_of_skew() -> None:
    """Only a hand-made event is dated later than its run: at 2099 every alert state would be saved as evaluated
    then, refusing each real evaluation until 2099 as stale, and every open unit swept as an orphan."""
    assert evaluator.scheduled_minute(scheduled_event("2099-01-01T00:00:00Z"), T0 + 119.5) == T0 + 60
    assert evaluator.scheduled_minute(scheduled_event("2026-09-21T14:02:59Z"), T0 + 119.5) == T0 + 120  # skew
    assert evaluator.scheduled_minute(scheduled_event("2026-09-21T14:03:00Z"), T0 + 119.5) == T0 + 60


def test_the_handler_prints_emf_with_slo_and_window_dimensions_and_never_nan(deps, capsys) -> None:  # type: ignore[no-untyped-def]
    evaluator.lambda_handler(scheduled_event("2026-09-21T14:05:00Z"), LambdaContext())
    documents = emf_documents(capsys.readouterr().out)
    assert documents
    for doc in documents:
        directive = doc["_aws"]["CloudWatchMetrics"][0]
        assert len(directive["Metrics"]) <= 100 and all(len(g) <= 30 for g in directive["Dimensions"])
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]  # EMF allows a value or a list of values
            assert all(math.isfinite(v) for v in (value if isinstance(value, list) else [value]))
    burn = metric_values(documents, "SLOBurnRate")
    assert len(burn) == len(deps.spec.slos) * 7
    api_5m = [v for dims, v in burn if dims["SLO"] == "api-availability" and dims["Window"] == "5m"]
    assert api_5m == [pytest.approx(1000.0)]  # five minutes all bad at 99.9%
    assert all(dims["service"] for dims, _ in burn)
    assert len(metric_values(documents, "SLOAttainment")) == len(deps.spec.slos)
    assert len(metric_values(documents, "SLOBudgetRemaining")) == len(deps.spec.slos)
    (completed,) = metric_values(documents, "EvaluationsCompleted")
    assert completed[1] == 1.0 and "SLO" not in completed[0]
    assert metric_values(documents, "EvaluationDurationMs")
    assert metric_values(documents, "SLOApiAvailability") and metric_values(documents, "SLOCacheHitRate")
    assert metric_values(documents, "SLOQueueLatencyP95")[0][1] == 2000.0
    assert metric_values(documents, "SLOQueueLatencyP50") and not metric_values(
        documents, "SLOQueueLatencyP99"
    )
