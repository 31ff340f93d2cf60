"""EMF documents: the structure of the CloudWatch Embedded Metric Format specification, its limits (100 metrics
a document, 30 dimensions a set, 100 values a metric), and agreement with Powertools' own serialization."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import jsonschema
import pytest

from processors.evaluating import MetricPoint
from processors.metrics import (
    EmfError,
    build_documents,
    document_values,
    emit_points,
    namespace_problem,
    validate_document,
)

TIMESTAMP_MS = 1_790_823_840_000

# The EMF specification's document structure as a JSON Schema (root, _aws metadata, MetricDirective,
# MetricDefinition). Target members are checked by validate_document: a schema can't follow the names.
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 255},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 255},
                                        "Unit": {"type": "string"},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def point(name: str, value: float = 1.0, unit: str = "Count", **dimensions: str) -> MetricPoint:
    return MetricPoint(name, value, unit, tuple(dimensions.items()))


def build(points: list[MetricPoint], service: str = "slo-pipeline") -> list[dict[str, Any]]:
    return build_documents(points, "SloPipeline", TIMESTAMP_MS, service)


def assert_valid(documents: list[dict[str, Any]]) -> None:
    for document in documents:
        jsonschema.validate(document, EMF_SCHEMA)
        assert validate_document(document) == []
        json.dumps(document, allow_nan=False)  # real JSON: no NaN or Infinity


# --- building -----------------------------------------------------------------------------------------------


def test_a_minute_of_operator_points_is_one_valid_document_with_the_service_dimension() -> None:
    documents = build([point("RunnersStarted", 3), point("CacheHitRate", 0.75, "None"),
                       point("QueueAge", 120.0, "Milliseconds"), point("QueueAge", 480.0, "Milliseconds")])
    assert_valid(documents)
    [document] = documents
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert document["_aws"]["Timestamp"] == TIMESTAMP_MS
    assert directive["Dimensions"] == [["service"]] and document["service"] == "slo-pipeline"
    assert document["RunnersStarted"] == 3.0
    assert document["QueueAge"] == [120.0, 480.0]  # a repeated name is a distribution
    assert {"Name": "CacheHitRate", "Unit": "None"} in directive["Metrics"]


def test_each_dimension_set_is_its_own_document() -> None:
    documents = build([point("MTTR", 480, "Seconds"), point("MTTR", 480, "Seconds", SLO="api-availability"),
                       point("MTTR", 120, "Seconds", SLO="queue-latency")])
    assert_valid(documents)
    assert [d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] for d in documents] == [
        [["service"]], [["service", "SLO"]], [["service", "SLO"]]
    ]
    assert document_values(documents) == {
        ("MTTR", ()): 480.0,
        ("MTTR", (("SLO", "api-availability"),)): 480.0,
        ("MTTR", (("SLO", "queue-latency"),)): 120.0,
    }


@pytest.mark.parametrize(
    ("metrics", "values_each", "expected_documents"),
    [
        (100, 1, 1),
        (101, 1, 2),
        (250, 1, 3),
        (1, 100, 1),
        (1, 101, 2),
        (3, 250, 3),
    ],
)
def test_documents_are_split_at_emfs_hundred_metrics_and_hundred_values_and_lose_nothing(
    metrics: int, values_each: int, expected_documents: int
) -> None:
    points = [point(f"M{m}", float(v)) for m in range(metrics) for v in range(values_each)]
    documents = build(points)
    assert_valid(documents)
    assert len(documents) == expected_documents
    read_back = document_values(documents)
    for m in range(metrics):
        value = read_back[(f"M{m}", ())]
        assert (value if isinstance(value, list) else [value]) == [float(v) for v in range(values_each)]


def test_twenty_nine_dimensions_plus_service_fit_and_thirty_do_not() -> None:
    fits = point("X", 1.0, "Count", **{f"D{i}": "v" for i in range(29)})
    assert_valid(build([fits]))
    with pytest.raises(EmfError, match="31 dimensions"):
        build([point("X", 1.0, "Count", **{f"D{i}": "v" for i in range(30)})])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (point("X", math.nan), "not a finite number"),
        (point("X", math.inf), "not a finite number"),
        (point("X", 1.0, "Minutes"), "not a CloudWatch unit"),
        (point("", 1.0), "metric name"),
        (point("X" * 256, 1.0), "metric name"),
        (point("X", 1.0, "Count", SLO=""), "non-empty strings"),
    ],
)
def test_a_point_cloudwatch_would_reject_is_refused_before_printing(bad: MetricPoint, message: str) -> None:
    with pytest.raises(EmfError, match=message):
        build([point("Fine"), bad])


def test_one_name_with_two_units_is_refused() -> None:
    with pytest.raises(EmfError, match="disagree on the unit"):
        build([point("X", 1.0, "Count"), point("X", 1.0, "Seconds")])


def test_an_empty_namespace_is_refused() -> None:
    with pytest.raises(EmfError, match="namespace"):
        build_documents([point("X")], "", TIMESTAMP_MS)


@pytest.mark.parametrize(
    ("namespace", "refused"),
    [("SloPipeline", False), ("Team A/slo-pipeline_1.0 #x~", False), ("n" * 255, False), ("AWSome", False),
     ("", True), ("n" * 256, True), ("Slo\nPipeline", True), ("Slo\x7f", True), ("Slö", True), (":Slo", True),
     ("AWS/Lambda", True)],
)
def test_a_namespace_cloudwatch_refuses_is_refused_before_anything_is_printed(namespace: str, refused: bool) -> None:
    """PutMetricData's Namespace: 1..255 ASCII characters but no control character, not starting with ':' (its
    pattern [^:].*), and AWS/ is kept for AWS's own services."""
    assert (namespace_problem(namespace) is not None) is refused
    if refused:
        with pytest.raises(EmfError, match="namespace"):
            build_documents([point("X")], namespace, TIMESTAMP_MS)
        document = dict(build([point("X")])[0])
        document["_aws"] = {**document["_aws"], "CloudWatchMetrics": [
            {**document["_aws"]["CloudWatchMetrics"][0], "Namespace": namespace}]}
        assert any("Namespace" in problem for problem in validate_document(document))
    else:
        assert_valid(build_documents([point("X")], namespace, TIMESTAMP_MS))


def test_no_service_gives_documents_with_no_dimensions() -> None:
    documents = build([point("X")], service="")
    assert_valid(documents)
    assert documents[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]


def test_emit_points_prints_one_compact_json_line_a_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "from-env")
    lines: list[str] = []
    documents = emit_points([point(f"M{m}") for m in range(150)], "Ns", TIMESTAMP_MS, write=lines.append)
    assert len(lines) == len(documents) == 2
    assert [json.loads(line) for line in lines] == documents
    assert all(json.loads(line)["service"] == "from-env" for line in lines)


# --- the validator ------------------------------------------------------------------------------------------


def good_document() -> dict[str, Any]:
    return build([point("RunnersStarted", 2), point("QueueAge", 5.0, "Milliseconds", SLO="x")])[1]


def mutate(path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(good_document())
    target: Any = document
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return document


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("_aws", DELETE, "_aws: missing"),
        ("_aws.Timestamp", DELETE, "Timestamp"),
        ("_aws.Timestamp", 1790823840.5, "Timestamp"),
        ("_aws.Timestamp", "2026-10-01T03:04:00Z", "Timestamp"),
        ("_aws.CloudWatchMetrics", {}, "CloudWatchMetrics: missing or not a list"),
        ("_aws.CloudWatchMetrics.0.Namespace", "", "Namespace"),
        ("_aws.CloudWatchMetrics.0.Metrics.0.Unit", "Minutes", "not a CloudWatch unit"),
        ("_aws.CloudWatchMetrics.0.Metrics.0.StorageResolution", 5, "not 1 or 60"),
        ("QueueAge", DELETE, "QueueAge"),
        ("QueueAge", "5", "not a finite number"),
        ("QueueAge", [1.0] * 101, "101 values"),
        ("QueueAge", [], "0 values"),
        ("SLO", DELETE, "dimension 'SLO' has no string member"),
        ("SLO", 7, "dimension 'SLO' has no string member"),
        ("_aws.CloudWatchMetrics.0.Dimensions", [[f"D{i}" for i in range(31)]], "31 dimensions"),
    ],
)
def test_the_validator_names_what_breaks_the_specification(path: str, value: Any, problem: str) -> None:
    assert validate_document(good_document()) == []
    problems = validate_document(mutate(path, value))
    assert any(problem in p for p in problems), problems


def test_the_validator_counts_metrics_per_directive() -> None:
    document = build([point(f"M{m}") for m in range(100)])[0]
    document["_aws"]["CloudWatchMetrics"][0]["Metrics"].append({"Name": "M100", "Unit": "Count"})
    document["M100"] = 1.0
    assert any("101 metrics" in p for p in validate_document(document))


# --- agreement with Powertools ------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:This metric doesn't meet the requirements")  # the sample year is 2026
def test_our_documents_carry_what_powertools_serialize_metric_set_carries_for_the_same_points() -> None:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    points = [point("RunnersStarted", 4), point("CacheHitRate", 0.75, "None"), point("CacheEntrySize", 3e6, "Bytes"),
              point("QueueProcessingRate", 0.066667, "Count/Second"),
              *(point("QueueAge", v, "Milliseconds") for v in (500.0, 700.0, 900.0))]
    provider = AmazonCloudWatchEMFProvider(namespace="SloPipeline", service="slo-pipeline")
    for p in points:
        provider.add_metric(name=p.name, unit=p.unit, value=p.value)
    provider.set_timestamp(TIMESTAMP_MS)
    theirs = provider.serialize_metric_set()
    [ours] = build(points)
    assert_valid([dict(theirs)])
    assert ours["_aws"]["Timestamp"] == theirs["_aws"]["Timestamp"]
    assert ours["_aws"]["CloudWatchMetrics"] == theirs["_aws"]["CloudWatchMetrics"]
    for p in points:
        ours_value = ours[p.name] if isinstance(ours[p.name], list) else [ours[p.name]]
        assert ours_value == theirs[p.name]  # Powertools always writes a list
    assert ours["service"] == theirs["service"]
