"""Operator metrics of one minute, computed from a store fed by the real ingest; and `slo metrics` agreeing
with the EMF the evaluator emits for the same data."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from processors.decoding import decode_record
from processors.evaluating import MetricPoint
from processors.evaluating.service import alert_log_since, evaluate_at, metric_minute, minute_readings
from processors.ingest import Ingestor
from processors.metrics import build_documents, distribution_values, document_values, metrics_timestamp_ms
from processors.metrics import operator_metric_points as points_of
from processors.sketch import TDigest
from processors.store.view import StoreView
from tests import runner_platform as conventions
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record, log_line

SHARD = "shardId-000000000000"


def operator_metric_points(store: Any, spec: Any, now: float, alert_log: Any = None) -> list[MetricPoint]:
    """The points of the minute before `now`, read as the evaluator reads them."""
    view = StoreView(store)
    log = view.alert_log(since=alert_log_since(spec, int(now))) if alert_log is None else alert_log
    return points_of(minute_readings(view, spec, now), spec, log)

MINUTE = int(T0) + 10 * 60  # the minute under test: [MINUTE, MINUTE + 60)
NOW = MINUTE + 60

# (correlation n, queue age s, startup s, execution s, conclusion, cache action, cache bytes)
WORKFLOWS = (
    (1, 0.5, 2.0, 20.0, "success", "cache_hit", 1000),
    (2, 0.7, 3.0, 30.0, "failure", "cache_hit", 3000),
    (3, 0.9, 4.0, 10.0, "cancelled", "cache_miss", 5000),
    (4, 1.1, 2.5, 25.0, "success", "cache_hit", None),
)


def workflow_lines(n: int, start: float, age: float, startup: float, execution: float, conclusion: str,
                   cache: str, size: int | None) -> list[str]:
    ids = {"workflowId": str(n), "repository": "o/r"}
    queued = start
    launched = queued + age
    started = launched + startup
    cache_metadata = {"bytes": size} if size is not None else {}
    return [
        log_line("job_queued", queued, cid(n), "WebhookHandlerGHA", **ids),
        log_line("task_launched", launched, cid(n), "QueueProcessor", **ids),
        log_line("runner_started", started, cid(n), "Runner", **ids),
        log_line(cache, started + 1, cid(n), "Runner", **ids, **cache_metadata),
        log_line("workflow_completed", started + execution, cid(n), "Runner", conclusion=conclusion, **ids),
    ]


def minute_lines() -> list[str]:
    """Four journeys wholly inside the minute, two reconciliations, and noise just outside it."""
    lines = []
    for n, age, startup, execution, conclusion, cache, size in WORKFLOWS:
        lines += workflow_lines(n, MINUTE + 1 + n, age, startup, execution, conclusion, cache, size)
    lines.append(log_line("reconcile_completed", MINUTE + 5, cid(50), "Reconciler", status="success"))
    lines.append(log_line("reconcile_completed", MINUTE + 35, cid(51), "Reconciler", status="failure"))
    lines += [log_line("cache_evicted", MINUTE + 40 + n, cid(52 + n), "Runner", bytes=1000) for n in range(3)]
    lines.append(log_line("runner_orphaned", MINUTE + 45, cid(70), "Reconciler", reason="instance terminated"))
    # the minute is half-open: an event at MINUTE - 0.001 or at NOW belongs to a neighbour
    lines.append(log_line("runner_started", MINUTE - 0.001, cid(60), "Runner"))
    lines.append(log_line("cache_miss", NOW, cid(61), "Runner", bytes=10**9))
    lines.append(log_line("task_launched", NOW + 1, cid(62), "QueueProcessor"))
    return lines


def ingest(store: Any, spec: Any, lines: list[str], sequence: int = 100) -> None:
    records = [kinesis_record(gz(cw_payload(lines[i : i + 5])), sequence + i) for i in range(0, len(lines), 5)]
    Ingestor(store, spec).apply_batch(STREAM_ARN, SHARD, [decode_record(r) for r in records])


def by_name(points: list[MetricPoint]) -> dict[str, Any]:
    """name (plus `/SLO=…` when dimensioned) → value, or the list of values of a distribution."""
    found: dict[str, Any] = {}
    for point in points:
        key = point.name + "".join(f"/{k}={v}" for k, v in point.dimensions)
        if key in found:
            previous = found[key]
            found[key] = [*(previous if isinstance(previous, list) else [previous]), point.value]
        else:
            found[key] = point.value
    return found


@pytest.fixture
def loaded(sqlite_store: Any, spec: Any) -> Any:
    ingest(sqlite_store, spec, minute_lines())
    return sqlite_store


def expected_quantile(values: list[float], q: float) -> float:
    return round(float(TDigest.from_values(values).quantile(q)), 3)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("RunnersStarted", 4),  # the one at MINUTE - 1 ms is the previous minute's
        ("RunnersCompleted", 4),  # every completion, cancelled included
        ("CacheHits", 3),
        ("CacheMisses", 1),  # the miss at NOW is the next minute's
        ("CacheHitRate", 0.75),
        ("CacheEntrySize", 3000.0),  # mean of the lookups that carry metadata.bytes
        ("QueueProcessingRate", round(4 / 60, 6)),
        ("ReconciliationRuns", 2),
        ("ReconciliationFailures", 1),
        ("ReconciliationSuccess", 0.5),  # success / runs of the minute
        ("CacheEvictions", 3),
        ("OrphanedRunners", 1),  # cid(70)'s first resolution; cid(1..4) resolved by completing
        ("RunnerUtilization", 1 / 20),  # the one open runner over the metric's capacity
        ("FailedWorkflowRate", round(1 / 3, 6)),  # failure / (success + failure): cancelled is left out
        ("QueueAgeCount", 4),
        ("RunnerStartupTimeCount", 4),
        ("RunnerExecutionTimeCount", 4),
        ("CostPerBuild", round(np.mean([20.0, 30.0, 10.0, 25.0]) * 1000 * 0.096 / 3_600_000, 6)),
    ],
)
def test_each_counter_and_ratio_of_the_minute_has_its_hand_computed_value(
    loaded: Any, spec: Any, metric: str, expected: float
) -> None:
    values = by_name(operator_metric_points(loaded, spec, NOW))
    assert values[metric] == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("metric", "durations_s"),
    [
        ("QueueAge", [w[1] for w in WORKFLOWS]),
        ("RunnerStartupTime", [w[2] for w in WORKFLOWS]),
        ("RunnerExecutionTime", [w[3] for w in WORKFLOWS]),
    ],
)
def test_latency_percentiles_come_from_the_minute_digest_and_the_distribution_holds_one_value_per_event(
    loaded: Any, spec: Any, metric: str, durations_s: list[float]
) -> None:
    values = by_name(operator_metric_points(loaded, spec, NOW))
    millis = [d * 1000 for d in durations_s]
    for suffix, q in (("P50", 0.5), ("P95", 0.95), ("P99", 0.99)):
        assert values[f"{metric}{suffix}"] == pytest.approx(expected_quantile(millis, q), abs=0.01)
    assert sorted(values[metric]) == pytest.approx(sorted(millis), abs=0.01)


def test_the_gauge_is_the_store_level_of_open_units(loaded: Any, spec: Any) -> None:
    values = by_name(operator_metric_points(loaded, spec, NOW))
    assert values["RunnersActive"] == loaded.gauge("open-units") == 1  # only cid(60) never completed


def test_a_quiet_minute_emits_zero_counters_and_no_ratio_so_nothing_is_nan(loaded: Any, spec: Any) -> None:
    values = by_name(operator_metric_points(loaded, spec, NOW + 3600))
    assert values["RunnersStarted"] == values["CacheHits"] == values["ReconciliationRuns"] == 0
    assert values["QueueProcessingRate"] == 0
    assert values["CacheEvictions"] == values["OrphanedRunners"] == 0
    for absent in ("CacheHitRate", "CacheEntrySize", "FailedWorkflowRate", "CostPerBuild", "MTTR", "QueueAgeP95",
                   "ReconciliationSuccess"):  # no runs: missing, not 100%
        assert absent not in values
    assert all(math.isfinite(v) for v in values.values() if not isinstance(v, list))


def test_evaluate_at_reads_the_same_minute_the_metrics_range_reads(loaded: Any, spec: Any) -> None:
    evaluated = evaluate_at(StoreView(loaded), spec, NOW)
    assert evaluated.minute is not None and (evaluated.minute.start, evaluated.minute.end) == (MINUTE, NOW)
    assert points_of(evaluated.minute, spec, evaluated.alert_log) == operator_metric_points(loaded, spec, NOW)


def test_now_is_floored_to_the_minute(loaded: Any, spec: Any) -> None:
    assert metric_minute(NOW + 59.9) == (MINUTE, NOW)
    assert operator_metric_points(loaded, spec, NOW + 59.9) == operator_metric_points(loaded, spec, NOW)
    assert metrics_timestamp_ms(NOW) == MINUTE * 1000


@pytest.mark.parametrize(
    ("extra_lines", "expected"),
    [
        ([], 1.0),  # the minute's 26 vocabulary events all carry a propagated ID
        ([log_line("job_queued", MINUTE + 20, None, "WebhookHandlerGHA")], 26 / 27),
        ([log_line("task_launched", MINUTE + 20, cid(71), "QueueProcessor", correlationIdMinted=True)], 26 / 27),
        ([log_line("log", MINUTE + 20, None, "Runner")], 1.0),  # free-form lines are not vocabulary events
    ],
    ids=[
        "every vocabulary event propagated its id",
        "a vocabulary line without an id is uncovered",
        "a vocabulary line whose id was minted is uncovered",
        "a free form line without an id does not count",
    ],
)
def test_trace_coverage_is_the_share_of_the_minutes_vocabulary_events_with_a_propagated_id(
    loaded: Any, spec: Any, extra_lines: list[str], expected: float
) -> None:
    if extra_lines:  # CloudWatch's own timestamp places an uncorrelated line in the minute
        record = kinesis_record(gz(cw_payload(extra_lines, t_ms=(MINUTE + 20) * 1000)), 900)
        Ingestor(loaded, spec).apply_batch(STREAM_ARN, SHARD, [decode_record(record)])
    values = by_name(operator_metric_points(loaded, spec, NOW))
    assert values["TraceCoverage"] == pytest.approx(round(expected, 6), abs=1e-9)
    coverage = StoreView(loaded).trace_coverage(MINUTE, NOW)
    assert values["TraceCoverage"] == pytest.approx(round(coverage.good / coverage.total, 6), abs=1e-9)
    point = next(p for p in operator_metric_points(loaded, spec, NOW) if p.name == "TraceCoverage")
    assert point.unit == "None"  # a ratio 0..1, like CacheHitRate


def test_a_minute_without_vocabulary_events_emits_no_trace_coverage(loaded: Any, spec: Any) -> None:
    assert "TraceCoverage" not in by_name(operator_metric_points(loaded, spec, NOW + 3600))


def test_a_spec_without_a_cost_metric_emits_no_cost_per_build(loaded: Any, spec: Any) -> None:
    from dataclasses import replace

    metrics = tuple(m for m in spec.metrics if m.kind != "cost")
    values = by_name(operator_metric_points(loaded, replace(spec, metrics=metrics), NOW))
    assert "CostPerBuild" not in values


def page(slo: str, state: str, at: int) -> dict[str, Any]:
    return {"id": f"{slo}-{state}-{at}", "slo": slo, "kind": "burn_rate", "severity": "page", "state": state,
            "at_epoch": at}


def test_mttr_is_the_mean_of_page_incidents_that_ended_in_the_minute_overall_and_per_slo(
    loaded: Any, spec: Any
) -> None:
    log = [
        page("api-availability", "firing", MINUTE - 480),
        page("queue-latency", "firing", MINUTE - 120),
        page("api-availability", "resolved", MINUTE + 10),  # 490 s
        page("queue-latency", "resolved", MINUTE + 50),  # 170 s
        page("orphan-rate", "firing", MINUTE - 900),
        page("orphan-rate", "resolved", NOW),  # ends in the next minute: not this one's
    ]
    values = by_name(operator_metric_points(loaded, spec, NOW, alert_log=log))
    assert values["MTTR"] == pytest.approx((490 + 170) / 2)
    assert values["MTTR/SLO=api-availability"] == 490
    assert values["MTTR/SLO=queue-latency"] == 170
    assert "MTTR/SLO=orphan-rate" not in values


@pytest.mark.parametrize(
    ("count", "expected_values"),
    [(1, 1), (7, 7), (100, 100), (101, 100), (5000, 100)],
)
def test_a_distribution_has_one_value_per_event_up_to_emfs_hundred(count: int, expected_values: int) -> None:
    digest = TDigest.from_values(np.random.default_rng(3).lognormal(7, 1, count))
    values = distribution_values(digest)
    assert len(values) == expected_values
    assert values == sorted(values)
    assert digest.min - 0.001 <= values[0] and values[-1] <= digest.max + 0.001  # rounded to the microsecond


# --- slo metrics: the same numbers as the EMF the handler prints ------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    import processors.cli as cli

    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_slo_metrics_json_equals_the_values_of_the_emf_built_from_the_same_points(
    loaded: Any, spec: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(monkeypatch, capsys, "metrics", "--db", str(loaded.path), "--at", "2026-10-01T00:11:00Z",
                        "--json")
    assert code == 0
    document = json.loads(out)
    assert document["minute"] == {"from": "2026-10-01T00:10:00Z", "to": "2026-10-01T00:11:00Z"}
    emitted = document_values(
        build_documents(operator_metric_points(loaded, spec, NOW), "SloPipeline", metrics_timestamp_ms(NOW),
                        "slo-pipeline")
    )
    shown = {(e["name"], tuple(e["dimensions"].items())): e["value"] for e in document["operator"]}
    assert shown == emitted
    # the evaluator's points ride along; headlines appear for SLOs with traffic (no API requests here)
    slo_names = {e["name"] for e in document["slo"]}
    assert {"SLOAttainment", "SLOBurnRate", "SLOBudgetRemaining"} <= slo_names
    assert {conventions.SLO_METRIC_NAMES[conventions.DEPLOY_SUCCESS], "SLOOrphanRate"} <= slo_names


def test_slo_metrics_defaults_to_the_newest_minute_with_data(
    loaded: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(monkeypatch, capsys, "metrics", "--db", str(loaded.path), "--json")
    assert code == 0
    assert json.loads(out)["minute"]["from"] == "2026-10-01T00:11:00Z"  # the newest event is at NOW + 1 s


def test_slo_metrics_emf_prints_the_evaluators_slo_points_and_the_operator_points(
    loaded: Any, spec: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from processors.evaluating.metrics import slo_points
    from processors.metrics import emit_points

    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    code, out = run_cli(monkeypatch, capsys, "metrics", "--db", str(loaded.path), "--at", "2026-10-01T00:11:00Z",
                        "--emf")
    lines: list[str] = []
    evaluation = evaluate_at(StoreView(loaded), spec, NOW, readings=False).evaluation
    points = [*(p for slo in evaluation.slos for p in slo_points(slo)), *operator_metric_points(loaded, spec, NOW)]
    emit_points(points, "SloPipeline", metrics_timestamp_ms(NOW), write=lines.append)
    assert code == 0
    assert out.splitlines() == lines
    assert json.loads(lines[0])["service"] == "slo-pipeline"
    # what --help promises: the SLO* metrics the evaluator prints, by SLO
    emitted = {name for name, _dimensions in document_values(json.loads(line) for line in lines)}
    assert {"SLOAttainment", "SLOBurnRate", "SLOBudgetRemaining", "SLOOrphanRate", "RunnersStarted"} <= emitted


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--at", "yesterday"), "--at: not an ISO 8601 time"),
        (("--since", "soon"), "--since: not a duration"),
        (("--at", "2026-10-01T00:11:00Z", "--since", "2026-10-01T00:12:00Z"), "must be before --at"),
        (("--since", "10m", "--emf"), "--emf prints one minute"),
    ],
)
def test_slo_metrics_mistakes_are_one_line_usage_errors(
    loaded: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
    message: str
) -> None:
    import processors.cli as cli

    assert cli.main(["metrics", "--db", str(loaded.path), *argv]) == 2
    assert message in capsys.readouterr().err


def test_slo_metrics_since_prints_one_row_a_minute(
    loaded: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_cli(monkeypatch, capsys, "metrics", "--db", str(loaded.path), "--at", "2026-10-01T00:12:00Z",
                        "--since", "3m", "--json")
    minutes = json.loads(out)["minutes"]
    assert code == 0
    assert [m["from"][11:16] for m in minutes] == ["00:09", "00:10", "00:11"]
    started = [next(e["value"] for e in m["operator"] if e["name"] == "RunnersStarted") for m in minutes]
    assert started == [1, 4, 0]
