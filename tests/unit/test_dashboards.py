"""The dashboard generator: driven by the spec, drawing the burn-rate thresholds, and kept in the template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from processors.dashboards import (
    DASHBOARD_NAMES,
    DashboardError,
    DashboardSlo,
    build_dashboards,
    default_thresholds,
    render,
    rewrite_template,
)

SLOS = (DashboardSlo("queue-latency", 0.999), DashboardSlo("api-availability", 0.999))
# SLO metrics (evaluator) and runner metrics, as the product spec names them
ALLOWED_METRICS = set(
    [
        "SLOQueueLatencyP95",
        "SLOCacheHitRate",
        "SLODeploySuccessRate",
        "SLOOrphanRate",
        "SLOApiAvailability",
        "SLOAttainment",
        "SLOBurnRate",
        "SLOBudgetRemaining",
        "RunnersStarted",
        "RunnersCompleted",
        "RunnersActive",
        "RunnerStartupTime",
        "RunnerExecutionTime",
        "CacheHits",
        "CacheMisses",
        "CacheHitRate",
        "QueueProcessingRate",
        "QueueAge",
        "ReconciliationRuns",
        "ReconciliationFailures",
        "MTTR",
        "FailedWorkflowRate",
        "CostPerBuild",
        "TraceCoverage",
    ]
)


def metric_rows(body: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], str):
                rows.append(row)
    return rows


def widget_titles(body: dict[str, Any]) -> list[str]:
    return [w["properties"].get("title", "") for w in body["widgets"]]


def test_there_are_five_dashboards_in_a_fixed_order() -> None:
    assert tuple(build_dashboards(SLOS)) == DASHBOARD_NAMES


def test_adding_an_slo_adds_its_attainment_burn_budget_and_violation_widgets() -> None:
    before = build_dashboards(SLOS)["slo-error-budgets"]
    after = build_dashboards((*SLOS, DashboardSlo("checkout-latency", 0.99)))["slo-error-budgets"]
    new = [t for t in widget_titles(after) if t.startswith("checkout-latency")]
    assert len(new) == 4
    assert len(after["widgets"]) == len(before["widgets"]) + 5  # 4 graphs and a heading


def test_burn_rate_widgets_draw_the_workbook_thresholds_as_horizontal_lines() -> None:
    body = build_dashboards(SLOS)["slo-error-budgets"]
    burn = [w for w in body["widgets"] if w["properties"].get("title", "").endswith("burn rate")]
    assert len(burn) == len(SLOS)
    for widget in burn:
        lines = [a["value"] for a in widget["properties"]["annotations"]["horizontal"]]
        assert lines == pytest.approx([14.4, 6, 3, 1])
        windows = [row[row.index("Window") + 1] for row in widget["properties"]["metrics"]]
        assert windows == [t.window for t in default_thresholds()]


def test_attainment_widgets_draw_the_objective_as_a_ratio() -> None:
    body = build_dashboards((DashboardSlo("deploy-success", 0.995),))["slo-error-budgets"]
    (widget,) = [w for w in body["widgets"] if w["properties"].get("title") == "deploy-success: attainment"]
    assert widget["properties"]["annotations"]["horizontal"] == [{"label": "objective 0.995", "value": 0.995}]


def test_every_metric_is_one_the_product_emits_under_the_stack_namespace() -> None:
    for name, body in build_dashboards(SLOS).items():
        for row in metric_rows(body):
            assert row[0] == "${MetricsNamespace}", name
            assert row[1] in ALLOWED_METRICS, (name, row[1])
            assert row[2:4] == ["service", "slo-pipeline"], name


def test_the_system_overview_reads_queue_depth_from_sqs() -> None:
    body = build_dashboards(SLOS)["system-overview"]
    expressions = [
        row[0]["expression"]
        for w in body["widgets"]
        for row in w["properties"].get("metrics", [])
        if isinstance(row[0], dict)
    ]
    assert any("AWS/SQS" in e and "ApproximateNumberOfMessagesVisible" in e for e in expressions)


def test_the_tracing_dashboard_queries_logs_by_a_correlation_id_variable() -> None:
    body = build_dashboards(SLOS)["request-tracing"]
    (variable,) = body["variables"]
    queries = [w["properties"]["query"] for w in body["widgets"] if w["type"] == "log"]
    assert any(f'correlationId = "{variable["pattern"]}"' in q for q in queries)


def test_widgets_never_overlap() -> None:
    for name, body in build_dashboards(SLOS).items():
        cells: set[tuple[int, int]] = set()
        for w in body["widgets"]:
            mine = {
                (x, y)
                for x in range(w["x"], w["x"] + w["width"])
                for y in range(w["y"], w["y"] + w["height"])
            }
            assert not cells & mine, name
            cells |= mine


def test_render_is_json_with_one_widget_a_line() -> None:
    body = build_dashboards(SLOS)["reliability"]
    text = render(body)
    assert json.loads(text) == body
    assert text.count("\n") == len(body["widgets"]) + 4


TEMPLATE = """\
Resources:
  Board:
    Properties:
      # BEGIN GENERATED dashboard: {name}
      DashboardBody: !Sub |
        {{"old": true}}
      # END GENERATED dashboard: {name}
"""


def test_rewriting_the_template_replaces_only_the_marked_blocks_and_is_idempotent() -> None:
    dashboards = build_dashboards(SLOS)
    text = "".join(TEMPLATE.format(name=name) for name in dashboards)
    once = rewrite_template(text, dashboards)
    assert '"old"' not in once
    assert rewrite_template(once, dashboards) == once
    assert once.count("DashboardBody: !Sub |") == len(dashboards)


def test_a_template_without_markers_is_an_error_that_names_the_dashboard() -> None:
    with pytest.raises(DashboardError, match="reliability"):
        rewrite_template("Resources: {}\n", {"reliability": {"widgets": []}})


def test_slo_dashboards_check_fails_on_stale_files_and_passes_after_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import processors.cli as cli

    dashboards = build_dashboards(SLOS)
    (tmp_path / "template.yaml").write_text("".join(TEMPLATE.format(name=name) for name in dashboards))
    out = tmp_path / "dashboards"
    assert cli.main(["dashboards", "--out", str(out), "--check"]) == 1
    assert cli.main(["dashboards", "--out", str(out)]) == 0
    assert cli.main(["dashboards", "--out", str(out), "--check"]) == 0
    assert cli.main(["dashboards", "--out", str(out), "--template", str(tmp_path / "missing.yaml")]) == 2
    assert sorted(p.stem for p in out.iterdir()) == sorted(DASHBOARD_NAMES)
    assert "no template" in capsys.readouterr().err
