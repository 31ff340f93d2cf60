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
from tests import runner_platform as conventions

SLOS = (DashboardSlo("queue-latency", 0.999), DashboardSlo("api-availability", 0.999))


def emitted_metrics() -> dict[str, set[tuple[str, ...]]]:
    """Metric name → the dimension sets (besides `service`) the code emits it with, from the emitters'
    own names: the operator metrics, the evaluator's SLO points and the ingest and sweeper handlers."""
    from processors.evaluating import metrics as evaluating
    from processors.handlers import evaluator, sweeper
    from processors.metrics import operator

    plain: set[tuple[str, ...]] = {()}
    by_slo = {(evaluating.DIMENSION_SLO,)}
    emitted: dict[str, set[tuple[str, ...]]] = {}
    from processors.spec import load_spec

    for metric in load_spec().metrics:  # the spec's operator metrics
        emitted[metric.name] = plain | by_slo if metric.kind == "mttr" else set(plain)  # MTTR: overall and per SLO
        if metric.kind == "latency":
            for suffix in (*(s for s, _q in operator.QUANTILES), "Count"):
                emitted[f"{metric.name}{suffix}"] = set(plain)
    emitted[operator.TRACE_COVERAGE_METRIC] = set(plain)
    emitted[evaluating.METRIC_ATTAINMENT] = set(by_slo)
    emitted[evaluating.METRIC_BUDGET_REMAINING] = set(by_slo)
    emitted[evaluating.METRIC_COMPLIANT] = set(by_slo)
    emitted[evaluating.METRIC_MONTH_BUDGET_USED] = set(by_slo)
    emitted[evaluating.METRIC_BURN_RATE] = {(evaluating.DIMENSION_SLO, evaluating.DIMENSION_WINDOW)}
    emitted[evaluating.METRIC_EVALUATIONS_COMPLETED] = set(plain)
    emitted[evaluating.METRIC_EVALUATION_DURATION] = set(plain)
    emitted[evaluator.METRIC_NOTIFICATION_FAILURES] = set(plain)
    emitted[sweeper.METRIC_ORPHANS_SWEPT] = set(plain)
    for headline in conventions.SLO_METRIC_NAMES.values():
        if headline.endswith("P95"):  # a latency SLO's headline comes as P50/P95/P99 (slo_points)
            for quantile in ("P50", "P95", "P99"):
                emitted[headline[: -len("P95")] + quantile] = set(plain)
        else:
            emitted[headline] = set(plain)
    for name in ingest_handler_metrics():
        emitted[name] = set(plain)
    return emitted


def ingest_handler_metrics() -> list[str]:
    """What the ingest Lambda's emit_batch_metrics adds to its Powertools Metrics, recorded."""
    from collections import Counter
    from types import SimpleNamespace

    from processors.handlers import ingest
    from processors.ingest import BatchReport

    class Recorder:
        def __init__(self) -> None:
            self.names: list[str] = []

        def add_metric(self, name: str, unit: Any, value: float) -> None:
            self.names.append(name)

        def add_metadata(self, key: str, value: Any) -> None:
            pass

    recorder = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest, "metrics", recorder)
        report = BatchReport(records=1, events=1, skips=Counter({conventions.SKIP_NOT_GZIP: 1}))
        ingest.emit_batch_metrics(report, [SimpleNamespace(arrival=0.0)], now=1.0)  # type: ignore[list-item]
    return recorder.names


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


def test_every_metric_row_is_under_the_stack_namespace_and_the_service_dimension() -> None:
    for name, body in build_dashboards(SLOS).items():
        for row in metric_rows(body):
            assert row[0] == "${MetricsNamespace}", name
            assert row[2:4] == ["service", "slo-pipeline"], name


def test_every_metric_the_dashboards_read_is_one_the_code_emits_with_those_dimensions() -> None:
    emitted = emitted_metrics()
    assert "TraceCoverage" in emitted  # the evaluator emits it with the operator metrics
    for name, body in build_dashboards(SLOS).items():
        for row in metric_rows(body):
            assert row[1] in emitted, (name, row[1])
            dimensions = tuple(row[4:-1:2] if isinstance(row[-1], dict) else row[4::2])
            assert dimensions in emitted[row[1]], (name, row[1], dimensions)


def test_the_only_metrics_outside_the_stack_namespace_are_aws_ones_read_by_search() -> None:
    for name, body in build_dashboards(SLOS).items():
        for widget in body["widgets"]:
            for row in widget["properties"].get("metrics", []):
                if isinstance(row[0], dict) and "SEARCH(" in row[0]["expression"]:
                    assert "{AWS/" in row[0]["expression"], name


def test_mttr_is_shown_in_minutes_from_the_seconds_it_is_emitted_in_overall_and_per_slo() -> None:
    body = build_dashboards(SLOS)["reliability"]
    (widget,) = [w for w in body["widgets"] if w["properties"].get("title") == "MTTR (minutes)"]
    rows = widget["properties"]["metrics"]
    hidden = {row[-1]["id"]: row[4:-1] for row in rows if isinstance(row[0], str)}
    assert all(not row[-1]["visible"] for row in rows if isinstance(row[0], str))
    expressions = [row[0] for row in rows if isinstance(row[0], dict)]
    assert all(e["expression"] == f"{e['id'].removesuffix('_min')} / 60" for e in expressions)
    assert all("minutes" in e["label"] for e in expressions)
    assert sorted(map(tuple, hidden.values())) == sorted([(), *(("SLO", slo.name) for slo in SLOS)])


def test_the_request_rate_is_per_minute_whatever_the_period() -> None:
    body = build_dashboards(SLOS)["system-overview"]
    (widget,) = [w for w in body["widgets"] if w["properties"].get("title") == "Request rate (per minute)"]
    rows = widget["properties"]["metrics"]
    stats = {row[1]: row[-1]["stat"] for row in rows if isinstance(row[0], str)}
    assert stats == {"RunnersStarted": "Sum", "QueueProcessingRate": "Average"}  # a count; a per-second rate
    expressions = {row[0]["expression"] for row in rows if isinstance(row[0], dict)}
    assert expressions == {"started / (PERIOD(started) / 60)", "launch_rate * 60"}
    assert all(row[0]["label"].endswith("/ min") for row in rows if isinstance(row[0], dict))


def test_metric_math_only_refers_to_ids_defined_in_its_widget() -> None:
    import re

    for name, body in build_dashboards(SLOS).items():
        for widget in body["widgets"]:
            rows = widget["properties"].get("metrics", [])
            ids = {
                row[-1]["id"]
                for row in rows
                if isinstance(row[0], str) and isinstance(row[-1], dict) and "id" in row[-1]
            }
            ids |= {row[0]["id"] for row in rows if isinstance(row[0], dict)}
            for row in rows:
                if isinstance(row[0], dict) and "SEARCH(" not in row[0]["expression"]:
                    used = set(re.findall(r"\b[a-z][a-z0-9_]*\b", row[0]["expression"]))
                    assert used <= ids, (name, row[0]["expression"], used - ids)


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
    (tmp_path / "template.yaml").write_text(
        "".join(TEMPLATE.format(name=name) for name in dashboards)
        + "  # BEGIN GENERATED query definitions\n  # END GENERATED query definitions\n"  # the saved queries
    )
    out = tmp_path / "dashboards"
    assert cli.main(["dashboards", "--out", str(out), "--check"]) == 1
    assert cli.main(["dashboards", "--out", str(out)]) == 0
    assert cli.main(["dashboards", "--out", str(out), "--check"]) == 0
    assert cli.main(["dashboards", "--out", str(out), "--template", str(tmp_path / "missing.yaml")]) == 2
    assert sorted(p.stem for p in out.iterdir()) == sorted(DASHBOARD_NAMES)
    assert "no template" in capsys.readouterr().err


def plotted(dashboards: dict[str, dict[str, Any]]) -> set[str]:
    return {row[1] for body in dashboards.values() for row in metric_rows(body) if row[0] == "${MetricsNamespace}"}


ENGINE_METRICS = {"SLOAttainment", "SLOBurnRate", "SLOBudgetRemaining", "SLOCompliant", "SLOMonthBudgetUsed"}


@pytest.mark.parametrize("spec_path", ["processors/slos.yaml", "examples/order-pipeline/slos.yaml"])
def test_the_dashboards_plot_every_operator_metric_the_spec_declares_and_no_other(spec_path: str) -> None:
    from processors.dashboards import slos_from_spec
    from processors.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / spec_path)
    dashboards = build_dashboards(slos_from_spec(spec), targets=spec.targets, metrics=spec.metrics)
    declared = {m.name for m in spec.metrics} | {slo.metric for slo in spec.slos if slo.metric}
    pipeline = {"TraceCoverage", "EventsProcessed", "EventsSkipped", "MalformedRecords"}
    assert {m.name for m in spec.metrics} <= plotted(dashboards)
    assert plotted(dashboards) - declared - ENGINE_METRICS - pipeline == set()


def test_another_spec_gets_no_runner_widgets_and_a_graph_per_declared_metric() -> None:
    from processors.dashboards import slos_from_spec
    from processors.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "examples" / "order-pipeline" / "slos.yaml")
    overview = build_dashboards(slos_from_spec(spec), metrics=spec.metrics)["system-overview"]
    titles = widget_titles(overview)
    assert not any("runner" in title.lower() or "cache" in title.lower() for title in titles)
    assert "FulfilmentTime (Milliseconds)" in titles and "OrdersReceived (Count)" in titles


UNUSABLE_OUTS = [
    ("an --out that is a file", "a-file", "is a file, not a folder"),
    ("an --out that cannot be made", "/proc/no-such-process/x", "--out: cannot write /proc/no-such-process"),
    ("an --out inside a file", "a-file/x", "--out: cannot write"),
]


@pytest.mark.parametrize(("case", "out", "message"), UNUSABLE_OUTS, ids=[c for c, _, _ in UNUSABLE_OUTS])
def test_slo_dashboards_into_an_unusable_out_is_one_line_and_exit_2(
    case: str, out: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import processors.cli as cli

    (tmp_path / "a-file").write_text("kept\n")
    assert cli.main(["dashboards", "--out", str(tmp_path / out), "--no-template"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("slo: error: ") and err.count("\n") == 1 and message in err, err
    assert (tmp_path / "a-file").read_text() == "kept\n"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("slo: error: ") and err.count("\n") == 1, err[:2000]
    return err


def test_a_template_with_no_template_is_refused_in_one_line_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import processors.cli as cli

    (tmp_path / "template.yaml").write_text("kept\n")
    argv = ["dashboards", "--out", str(tmp_path / "o"), "--template", str(tmp_path / "template.yaml"), "--no-template"]
    assert cli.main(argv) == 2
    assert "--no-template: not allowed with argument --template" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["template.yaml"]


def test_a_template_that_is_not_utf8_is_refused_in_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import processors.cli as cli

    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe")
    assert cli.main(["dashboards", "--out", str(tmp_path / "o"), "--template", str(tmp_path / "bin.yaml")]) == 2
    assert "not UTF-8" in one_error_line(capsys)


def test_a_template_over_the_size_cap_is_refused_in_one_line_before_it_is_decoded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import processors.cli as cli
    from processors.cli.dashboards import MAX_TEMPLATE_BYTES

    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(MAX_TEMPLATE_BYTES + 1)  # sparse: no disk used
    assert cli.main(["dashboards", "--out", str(tmp_path / "o"), "--template", str(big)]) == 2
    assert "larger than 4 MiB" in one_error_line(capsys)


def test_an_existing_output_that_is_not_utf8_is_stale_so_check_fails_and_a_run_rewrites_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import processors.cli as cli

    out = tmp_path / "o"
    assert cli.main(["dashboards", "--out", str(out), "--no-template"]) == 0
    broken = out / "system-overview.json"
    broken.write_bytes(b"\xff\xfe")
    capsys.readouterr()
    assert cli.main(["dashboards", "--out", str(out), "--no-template", "--check"]) == 1
    assert capsys.readouterr().out == f"stale: {broken} (run `slo dashboards --out {out}`)\n"
    assert cli.main(["dashboards", "--out", str(out), "--no-template"]) == 0
    assert json.loads(broken.read_text(encoding="utf-8"))["widgets"]


def test_an_output_with_crlf_line_ends_is_up_to_date_as_before(tmp_path: Path) -> None:
    import processors.cli as cli

    out = tmp_path / "o"
    assert cli.main(["dashboards", "--out", str(out), "--no-template"]) == 0
    for path in out.iterdir():
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert cli.main(["dashboards", "--out", str(out), "--no-template", "--check"]) == 0
