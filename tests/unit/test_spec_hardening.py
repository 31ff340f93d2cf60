"""A hostile spec is refused in one line with exit 2: aliases, anchors, non-string text, huge files and windows,
and paths that are not regular files (devices, FIFOs)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from processors.cli import main
from processors.spec import SpecError, load_spec, parse_spec
from processors.spec.loader import MAX_SPEC_BYTES

HEAD = """apiVersion: slo-pipeline/v1
kind: SLOSpec
slos:
  - name: api
    objective: 0.999
"""
SLI = """    sli:
      events:
        match: {action: api_request}
        good: {status: {lt: 500}}
"""

ALIAS_BOMB = """apiVersion: slo-pipeline/v1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
slos:
  - name: api
    objective: 0.999
    description: *g
""" + SLI

REFUSED = [
    ("an alias bomb inside a description is refused at its first anchor", ALIAS_BOMB, "anchors are not allowed", 2),
    ("a plain alias is refused", HEAD + "    description: *x\n" + SLI, "aliases are not allowed", 6),
    ("an anchor alone is refused", HEAD + "    description: &x text\n" + SLI, "anchors are not allowed", 6),
    ("a merge key is refused", HEAD + "    alerting: {<<: *base}\n" + SLI, "aliases are not allowed", 6),
    ("a number as description is refused", HEAD + "    description: 42\n" + SLI, "must be a string", 6),
    ("a list as runbook is refused", HEAD + "    runbook: [a, b]\n" + SLI, "must be a string", 6),
    ("a mapping as description is refused", HEAD + "    description: {a: 1}\n" + SLI, "must be a string", 6),
    ("a window of 9999999999999999999999d is refused", HEAD + "    window: 9999999999999999999999d\n" + SLI,
     "longer than 400d", 6),
    ("a window of 401d is refused", HEAD + "    window: 401d\n" + SLI, "longer than 400d", 6),
    ("a default window of 58w is refused", HEAD.replace("slos:", "defaults: {window: 58w}\nslos:") + SLI,
     "longer than 400d", None),
    ("a max_runtime of 1000d is refused", HEAD.replace("slos:", "defaults:\n  max_runtime: 1000d\nslos:") + SLI,
     "longer than 400d", 4),
    ("a trace_ttl_days past SQLite's integers is refused",
     HEAD.replace("slos:", "defaults:\n  trace_ttl_days: 1000000000000000000000000000000\nslos:") + SLI,
     "defaults.trace_ttl_days: must be an integer from 1 to 400 (days)", 4),
    ("a trace_ttl_days whose expiry overflows SQLite is refused",
     HEAD.replace("slos:", "defaults:\n  trace_ttl_days: 200000000000000\nslos:") + SLI,
     "defaults.trace_ttl_days: must be an integer from 1 to 400 (days)", 4),
    ("a trace_ttl_days of 401 is refused", HEAD.replace("slos:", "defaults:\n  trace_ttl_days: 401\nslos:") + SLI,
     "defaults.trace_ttl_days: must be an integer from 1 to 400 (days)", 4),
    ("an integer past Python's 4300-digit limit is refused",
     HEAD.replace("slos:", "defaults:\n  trace_ttl_days: " + "9" * 5000 + "\nslos:") + SLI,
     "a number longer than 100 characters", 4),
    ("an integer past a float's range is refused, not an OverflowError",
     HEAD.replace("0.999", "9" * 400) + SLI, "a number longer than 100 characters", 5),
    ("a date in year 0 is refused", HEAD + "    description: 0000-01-01\n" + SLI,
     "not a valid timestamp: year 0 is out of range", 6),
    ("a date past the month's end is refused", HEAD + "    description: 2026-02-30\n" + SLI,
     "not a valid timestamp: day is out of range for month", 6),
    ("a malformed explicit timestamp is refused", HEAD + "    description: !!timestamp x\n" + SLI,
     "not a valid timestamp", 6),
    ("a malformed explicit int inside a list is refused", HEAD + "    description: [1, !!int x]\n" + SLI,
     "not a valid int: invalid literal", 6),
    ("a malformed explicit float is refused", HEAD + "    description: !!float x\n" + SLI,
     "not a valid float: could not convert", 6),
    ("a long base-60 float that overflowed while PyYAML built it is refused",
     HEAD + "    description: 1" + ":1" * 200 + ".5\n" + SLI, "a number longer than 100 characters", 6),
    ("a long base-60 integer that took seconds to build is refused",
     HEAD + "    description: 1" + ":1" * 50000 + "\n" + SLI, "a number longer than 100 characters", 6),
    ("a window with more digits than int() reads is refused as too long",
     HEAD + "    window: " + "9" * 5000 + "d\n" + SLI, "longer than 400d", 6),
    ("a burn-rate tier with more digits than int() reads is refused as too long",
     HEAD + "    alerting:\n      tiers:\n        - {severity: page, long: " + "9" * 5000 + "d, short: 1h, factor: 2}\n"
     + SLI, "longer than 400d", None),
    ("a burn-rate tier over 401 days is refused",
     HEAD + "    alerting:\n      tiers:\n        - {severity: page, long: 401d, short: 1h, factor: 2}\n" + SLI,
     "longer than 400d", None),
    ("a list among an in condition's values is refused",
     HEAD + SLI.replace("{action: api_request}", "{action: {in: [api_request, [1, 2]]}}"),
     "match.action: in takes a list of strings, numbers, booleans or nulls", 8),
    ("a mapping among a not_in condition's values is refused",
     HEAD + SLI.replace("{status: {lt: 500}}", "{status: {not_in: [500, {a: 1}]}}"),
     "good.status: not_in takes a list of strings, numbers, booleans or nulls", 9),
    ("an SLO name too long for the store's keys is refused", HEAD.replace("name: api", "name: " + "a" * 201) + SLI,
     "name: must be a non-empty string of at most 200 characters, with no control characters", 4),
    ("a sketch name too long for the store's keys is refused",
     HEAD + SLI + "latency:\n  - {name: " + "s" * 201 + ", field: duration, match: {action: api_request}}\n",
     "latency[0].name: must be a non-empty string of at most 200 characters, with no control characters", None),
    ("an SLO name holding a newline and a terminal escape is refused",
     HEAD.replace("name: api", 'name: "api\\x1b[2J\\nX"') + SLI, "with no control characters", 4),
    ("an action condition of a number, which no event's action (a string) equals, is refused",
     HEAD + SLI.replace("{action: api_request}", "{action: 5}"),
     "match.action: an action is a non-empty string", 8),
    ("an action condition of null is refused", HEAD + SLI.replace("{action: api_request}", "{action: null}"),
     "match.action: an action is a non-empty string", 8),
    ("a number among an action's in values is refused",
     HEAD + SLI.replace("{action: api_request}", "{action: {in: [api_request, 5]}}"),
     "match.action: an action is a non-empty string", 8),
    ("an action compared as a number is refused",
     HEAD + SLI.replace("{action: api_request}", "{action: {lt: 5}}"),
     "match.action: an action is a non-empty string", 8),
    ("a mapping among a severity's routes is refused",
     HEAD.replace("slos:", "routes: {page: [sns, {a: 1}]}\nslos:") + SLI,
     "routes.page: must be a non-empty list of", 3),
    ("deeply nested flow YAML is refused", HEAD + "    description: " + "[" * 5000 + "]" * 5000 + "\n" + SLI,
     "", None),
]


@pytest.mark.parametrize(("case", "text", "says", "line"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_hostile_spec_is_refused_with_file_line_and_reason(case: str, text: str, says: str,
                                                             line: int | None) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "hostile.yaml")
    assert says in str(caught.value)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("hostile.yaml")
    if line is not None:
        assert caught.value.line == line


def test_the_limits_keep_what_a_real_spec_needs() -> None:
    spec = parse_spec(HEAD + "    window: 400d\n    description: one line\n    runbook: https://runbooks/api\n" + SLI)
    assert spec.slos[0].window == 400 * 86400 and spec.slos[0].runbook == "https://runbooks/api"
    spec = parse_spec(HEAD.replace("slos:", "defaults:\n  trace_ttl_days: 400\nslos:") + SLI)
    assert spec.trace_ttl_days == 400


def run_validate(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_validate_refuses_the_alias_bomb_in_one_line_with_exit_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    assert "anchors are not allowed" in run_validate(path, capsys)


def test_validate_refuses_a_numeric_action_that_once_crashed_its_lint_in_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "numeric-action.yaml"
    path.write_text(HEAD + SLI.replace("{action: api_request}", "{action: {in: [api_request, 5]}}"))
    assert "match.action: an action is a non-empty string" in run_validate(path, capsys)


def test_validate_refuses_a_spec_file_over_the_size_cap_without_reading_it(tmp_path: Path, capsys) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(HEAD + SLI + "#" * MAX_SPEC_BYTES + "\n")
    assert "larger than 1024 KiB" in run_validate(path, capsys)


def test_validate_refuses_a_huge_window_that_once_crashed_status(tmp_path: Path, capsys) -> None:
    path = tmp_path / "window.yaml"
    path.write_text(HEAD + "    window: 9999999999999999999999d\n" + SLI)
    assert "slos[api].window: longer than 400d" in run_validate(path, capsys)


def a_fifo(tmp_path: Path) -> Path:
    path = tmp_path / "spec.fifo"
    os.mkfifo(path)
    return path


def a_link_to_a_fifo(tmp_path: Path) -> Path:
    link = tmp_path / "link.yaml"
    link.symlink_to(a_fifo(tmp_path))
    return link


NOT_REGULAR = [
    ("a character device is refused", lambda tmp_path: Path("/dev/null")),
    ("a FIFO with no writer is refused without blocking", a_fifo),
    ("a symlink to a FIFO is refused without blocking", a_link_to_a_fifo),
    ("a folder is refused", lambda tmp_path: tmp_path),
]


@pytest.mark.parametrize(("case", "make"), NOT_REGULAR, ids=[c[0] for c in NOT_REGULAR])
def test_a_spec_path_that_is_not_a_regular_file_is_refused_before_it_is_opened(case: str, make, tmp_path: Path,
                                                                               capsys) -> None:
    path = make(tmp_path)
    with pytest.raises(SpecError, match="not a regular file"):
        load_spec(path)
    assert "not a regular file" in run_validate(path, capsys)


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))  # a regression fails, not swaps


SPEC_READERS = [
    ("validate reads its spec argument", ["validate", "/dev/zero"]),
    ("status reads --spec", ["status", "--db", "{db}", "--spec", "/dev/zero"]),
    ("export reads --spec", ["export", "--spec", "/dev/zero"]),
]


@pytest.mark.parametrize(("case", "argv"), SPEC_READERS, ids=[c[0] for c in SPEC_READERS])
def test_dev_zero_as_the_spec_is_refused_in_one_line_by_every_command_that_reads_one(case: str, argv: list[str],
                                                                                    tmp_path: Path) -> None:
    # in a child with a timeout and a memory cap: reading /dev/zero unbounded once grew to 9 GB
    argv = [arg.format(db=tmp_path / "store.db") for arg in argv]
    result = subprocess.run(
        [sys.executable, "-m", "processors.cli", *argv], capture_output=True, text=True, check=False, timeout=60,
        preexec_fn=_cap_memory, cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "slo: error: /dev/zero: not a regular file"
    assert not (tmp_path / "store.db").exists()


def test_replay_refuses_a_trace_ttl_that_once_overflowed_sqlite_in_one_line_without_creating_the_store(
        tmp_path: Path, capsys) -> None:
    spec = tmp_path / "ttl.yaml"
    spec.write_text(HEAD.replace("slos:", "defaults:\n  trace_ttl_days: 200000000000000\nslos:") + SLI)
    events = Path(__file__).resolve().parents[2] / "events" / "sample-kinesis-event.json"
    db = tmp_path / "store.db"
    capsys.readouterr()
    assert main(["replay", "--db", str(db), "--spec", str(spec), str(events)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"slo: error: {spec}:4: defaults.trace_ttl_days: must be an integer from 1 "
                                        "to 400 (days)"]
    assert not db.exists()


OPENSLO_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openslo"
OPENSLO_REFUSED = [
    ("an OpenSLO window with more digits than int() reads", "timeslices.yaml", "duration: 4w",
     "duration: " + "9" * 5000 + "w"),
    ("an OpenSLO lookback window with more digits than int() reads", "ratio-bad-total-by-reference.yaml",
     "lookbackWindow: 1d", "lookbackWindow: " + "9" * 5000 + "d"),
]


@pytest.mark.parametrize(("case", "fixture", "old", "new"), OPENSLO_REFUSED, ids=[c[0] for c in OPENSLO_REFUSED])
def test_a_hostile_openslo_duration_is_refused_in_one_line_as_too_long(case: str, fixture: str, old: str,
                                                                       new: str) -> None:
    text = (OPENSLO_FIXTURES / fixture).read_text()
    assert old in text
    with pytest.raises(SpecError) as caught:
        parse_spec(text.replace(old, new, 1), "openslo.yaml")
    assert "longer than 400d" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("value", ['"²"', '"' + "9" * 5000 + '"'], ids=["a superscript digit", "5000 digits"])
def test_an_openslo_min_bad_events_annotation_int_cannot_read_is_refused_in_one_line(value: str) -> None:
    text = (OPENSLO_FIXTURES / "ratio-bad-total-by-reference.yaml").read_text()
    slo = "metadata:\n  name: deploy-success\n"
    assert slo in text
    text = text.replace(slo, f"{slo}  annotations:\n    slo-pipeline.dev/min-bad-events: {value}\n", 1)
    with pytest.raises(SpecError, match=r"alerting\.min_bad_events: must be an integer ≥ 0$"):
        parse_spec(text, "openslo.yaml")


METRIC = "metrics:\n  - {name: ApiRequests, kind: count, unit: Count, source: {slo: api}}\n"
EMF_REFUSES = [
    ("a unit CloudWatch does not know", METRIC.replace("unit: Count", "unit: Bananas"),
     "metrics[ApiRequests].unit: must be a CloudWatch unit name"),
    ("a metric name past CloudWatch's 255 characters", METRIC.replace("ApiRequests", "A" * 256),
     "name: must be a metric name (letters, digits, _; at most 255)"),
    ("an SLO headline metric name past CloudWatch's 255 characters", "",
     "slos[api].metric: must be a metric name (letters, digits, _; at most 255)"),
]


@pytest.mark.parametrize(("case", "metrics", "says"), EMF_REFUSES, ids=[c[0] for c in EMF_REFUSES])
def test_a_metric_that_emf_would_refuse_at_every_evaluation_is_refused_by_validate(case: str, metrics: str,
                                                                                   says: str) -> None:
    head = HEAD if metrics else HEAD + "    metric: " + "A" * 256 + "\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(head + SLI + metrics, "hostile.yaml")
    assert says in str(caught.value)


def test_a_metric_of_255_characters_and_a_cloudwatch_unit_are_kept() -> None:
    spec = parse_spec(HEAD + "    metric: " + "A" * 255 + "\n" + SLI + METRIC.replace("unit: Count", "unit: Percent"))
    assert spec.slos[0].metric == "A" * 255 and spec.metrics[0].unit == "Percent"


COST = ("latency:\n  - {name: api-time, match: {action: api_request}}\n"
        "metrics:\n  - {name: ApiCost, kind: cost, per_hour: 0.096, source: {sketch: api-time}}\n")


def test_a_cost_per_hour_that_would_overflow_the_cost_to_infinity_is_refused() -> None:
    with pytest.raises(SpecError, match=r"metrics\[ApiCost\]\.per_hour: .* from 0 to 1,000,000"):
        parse_spec(HEAD + SLI + COST.replace("0.096", "1.0e+308"), "hostile.yaml")
    assert parse_spec(HEAD + SLI + COST.replace("0.096", "1000000")).metrics[0].per_hour == 1_000_000


def test_a_group_by_of_thousands_of_fields_that_took_a_minute_to_check_is_refused() -> None:
    fields = ", ".join(f"f{i}" for i in range(20000))  # its duplicate check was quadratic: 70 s
    with pytest.raises(SpecError, match=r"slos\[api\]\.group_by: lists more than 10 fields$"):
        parse_spec(HEAD + SLI + f"    group_by: [{fields}]\n", "hostile.yaml")
    ten = ", ".join(f"f{i}" for i in range(10))
    assert len(parse_spec(HEAD + SLI + f"    group_by: [{ten}]\n").slos[0].group_by) == 10


def test_counter_metrics_are_shared_by_lookup_not_by_comparing_each_with_every_other(monkeypatch) -> None:
    # a list scan compared 5,000 counter sources 12.5 million times: 56 s for a 830 KB spec of 14,000
    from processors.spec.model import EventsSli

    comparisons = 0
    original = EventsSli.__eq__

    def counting(self: EventsSli, other: object) -> bool:
        nonlocal comparisons
        comparisons += 1
        return original(self, other)

    monkeypatch.setattr(EventsSli, "__eq__", counting)
    metrics = "".join(f"  - {{name: M{i}, kind: count, source: {{match: {{a: {i % 1000}}}}}}}\n" for i in range(2000))
    spec = parse_spec(HEAD + SLI + "metrics:\n" + metrics)
    assert len(spec.metrics) == 2000 and len(spec.counters) == 1000  # equal sources still share one counter
    assert comparisons < 2000


def test_two_metrics_whose_different_sources_would_count_into_one_series_are_refused() -> None:
    # RunnersStarted and runners_started both named the series _runners-started: each reported the sum of both
    metrics = ("metrics:\n  - {name: RunnersStarted, kind: count, source: {match: {action: runner_started}}}\n"
               "  - {name: runners_started, kind: count, source: {match: {action: job_queued}}}\n")
    with pytest.raises(SpecError, match=r"metrics\[runners_started\]\.name: its counter series '_runners-started'"):
        parse_spec(HEAD + SLI + metrics, "hostile.yaml")
    same_source = metrics.replace("job_queued", "runner_started")
    assert len(parse_spec(HEAD + SLI + same_source).counters) == 1  # the same source still shares its series


def _value_paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The path of every value in a loaded YAML document, nested ones included."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return [path for key, child in children for path in [(*prefix, key), *_value_paths(child, (*prefix, key))]]


def _crashes(documents: list[object], value: object) -> list[str]:
    """Each value of `documents` (YAML, one or more) replaced by `value` in turn, and parsed and linted: what
    raised anything but a SpecError."""
    import copy

    import yaml

    from processors.spec.lint import lint

    crashed = []
    for index, root in enumerate(documents):
        for path in _value_paths(root):
            mutated = copy.deepcopy(documents)
            node = mutated[index]
            for key in path[:-1]:
                node = node[key]  # type: ignore[index]
            node[path[-1]] = value  # type: ignore[index]
            try:
                lint(parse_spec(yaml.safe_dump_all(mutated, sort_keys=False), "mutated.yaml"))
            except SpecError:
                pass
            except Exception as exc:  # the point: any other exception is the finding
                crashed.append(f"{index}{path}: {type(exc).__name__}: {exc}")
    return crashed


def test_a_list_in_place_of_any_value_of_the_shipped_spec_is_a_spec_error_never_a_type_error() -> None:
    """A name looked up in a set of names (a metric kind, a unit, a milestone, a sketch) raised TypeError when it
    was a list or a mapping: unhashable. Every command that loads the spec, and the Lambdas, crashed on it."""
    import yaml

    from processors.spec.loader import default_spec_path

    assert _crashes([yaml.safe_load(Path(default_spec_path()).read_text())], [{"a": 1}]) == []


@pytest.mark.parametrize("fixture", sorted(p.name for p in OPENSLO_FIXTURES.glob("*.yaml")))
def test_a_list_in_place_of_any_value_of_an_openslo_file_is_a_spec_error_never_a_type_error(fixture: str) -> None:
    """A kind, an alertPolicyRef or a conditionRef that is a list (unhashable, looked up among the file's
    objects), or an AlertPolicy's metadata or a DataSource's spec that is not a mapping, raised TypeError or
    AttributeError."""
    import yaml

    documents = list(yaml.safe_load_all((OPENSLO_FIXTURES / fixture).read_text()))
    assert _crashes(documents, [{"a": 1}]) == []


@pytest.mark.parametrize("value", [[{"a": 1}], 5], ids=["a list", "a number"])
def test_openslo_annotations_that_are_not_a_mapping_are_a_spec_error(value: object) -> None:
    """The exported spec's Service and SLO annotations (not the embedded spec, which the test above covers)."""
    import yaml

    from processors.spec.openslo import export_openslo

    documents = list(yaml.safe_load_all(export_openslo(load_spec())))
    annotated = [i for i, document in enumerate(documents) if "annotations" in document.get("metadata", {})]
    assert annotated
    for index in annotated:
        mutated = [dict(d, metadata={**d["metadata"], "annotations": value}) if i == index else d
                   for i, d in enumerate(documents)]
        with pytest.raises(SpecError, match="annotations"):
            parse_spec(yaml.safe_dump_all(mutated, sort_keys=False), "mutated.yaml")
