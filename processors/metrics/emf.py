"""MetricPoints as CloudWatch Embedded Metric Format documents, built within EMF's limits, and a checker.

Layout follows the EMF specification: `_aws.Timestamp` (epoch ms), one MetricDirective per document
with one dimension set, each dimension a string member and each metric a numeric member (an array when
a name repeats: a distribution). Every set starts with `service`, as Powertools does, so these metrics
match the dashboards' `["service", "slo-pipeline"]` rows (processors/dashboards/).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from numbers import Real
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from processors.evaluating.metrics import Dimensions, MetricPoint
from processors.metrics.exceptions import EmfError
from processors.metrics.types import EmfDocument, MetricDefinition

MAX_METRICS_PER_DOCUMENT = 100
MAX_DIMENSIONS_PER_SET = 30
MAX_VALUES_PER_METRIC = 100
MAX_NAME_LENGTH = 255
VALID_UNITS = frozenset(unit.value for unit in MetricUnit)
STORAGE_RESOLUTIONS = (1, 60)
SERVICE_DIMENSION = "service"
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
DEFAULT_SERVICE_NAME = "slo-pipeline"  # processors.dashboards.SERVICE_NAME; the template sets the env var to it

Value = float | list[float]


def default_service() -> str:
    return os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME


def namespace_problem(namespace: str) -> str | None:
    """Why PutMetricData would refuse `namespace`, or None: it takes 1..255 ASCII characters but no control
    character, not starting with ':' (its pattern [^:].*), and keeps namespaces starting with AWS/ for AWS."""
    if not 1 <= len(namespace) <= MAX_NAME_LENGTH:
        return f"must be 1..{MAX_NAME_LENGTH} characters, got {len(namespace)}"
    if not all(" " <= character <= "~" for character in namespace):
        return f"{namespace!r}: CloudWatch takes printable ASCII only (no control character, no accent)"
    if namespace.startswith(":"):
        return f"{namespace!r}: CloudWatch refuses one that starts with ':'"
    if namespace.startswith("AWS/"):
        return f"{namespace!r}: CloudWatch keeps namespaces starting with AWS/ for AWS services"
    return None


def build_documents(
    points: Iterable[MetricPoint], namespace: str, timestamp_ms: int, service: str | None = None
) -> list[EmfDocument]:
    """EMF documents for `points`: one per dimension set, split so none exceeds 100 metrics or 100 values.

    Points sharing a name and dimension set become one metric whose member is an array (a distribution).
    Raises EmfError for a point CloudWatch would reject, so nothing invalid is ever printed.
    """
    if (problem := namespace_problem(namespace)) is not None:
        raise EmfError(f"namespace {problem}")
    base: Dimensions = ((SERVICE_DIMENSION, service),) if service else ()
    groups: dict[Dimensions, dict[str, tuple[str, list[float]]]] = {}
    for point in points:
        _check_point(point)
        dimensions = base + tuple(pair for pair in point.dimensions if pair[0] != SERVICE_DIMENSION)
        if len(dimensions) > MAX_DIMENSIONS_PER_SET:
            raise EmfError(f"{point.name}: {len(dimensions)} dimensions, EMF allows {MAX_DIMENSIONS_PER_SET}")
        metrics = groups.setdefault(dimensions, {})
        unit, values = metrics.setdefault(point.name, (point.unit, []))
        if unit != point.unit:
            raise EmfError(f"{point.name}: points disagree on the unit ({unit} vs {point.unit})")
        values.append(float(point.value))
    documents: list[EmfDocument] = []
    for dimensions, metrics in groups.items():
        for chunk in _pack(metrics):
            documents.append(_document(namespace, timestamp_ms, dimensions, chunk))
    return documents


def _check_point(point: MetricPoint) -> None:
    if not 1 <= len(point.name) <= MAX_NAME_LENGTH:
        raise EmfError(f"metric name must be 1..{MAX_NAME_LENGTH} characters, got {point.name!r}")
    if point.unit not in VALID_UNITS:
        raise EmfError(f"{point.name}: unit {point.unit!r} is not a CloudWatch unit")
    if isinstance(point.value, bool) or not isinstance(point.value, Real) or not math.isfinite(point.value):
        raise EmfError(f"{point.name}: value {point.value!r} is not a finite number")
    for name, value in point.dimensions:
        if not isinstance(name, str) or not isinstance(value, str) or not name or not value:
            raise EmfError(f"{point.name}: dimension {name!r}={value!r} must be non-empty strings")


def _pack(metrics: Mapping[str, tuple[str, list[float]]]) -> list[list[tuple[str, str, list[float]]]]:
    """Metrics into documents of at most 100 names; a metric with over 100 values continues in the next."""
    documents: list[list[tuple[str, str, list[float]]]] = []
    for name, (unit, values) in metrics.items():
        for offset in range(0, len(values), MAX_VALUES_PER_METRIC):
            chunk = (name, unit, values[offset : offset + MAX_VALUES_PER_METRIC])
            for document in documents:
                if len(document) < MAX_METRICS_PER_DOCUMENT and all(entry[0] != name for entry in document):
                    document.append(chunk)
                    break
            else:
                documents.append([chunk])
    return documents


def _document(
    namespace: str, timestamp_ms: int, dimensions: Dimensions, metrics: list[tuple[str, str, list[float]]]
) -> EmfDocument:
    definitions: list[MetricDefinition] = [{"Name": name, "Unit": unit} for name, unit, _values in metrics]
    document: EmfDocument = {
        "_aws": {
            "Timestamp": int(timestamp_ms),
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [[name for name, _ in dimensions]], "Metrics": definitions}
            ],
        }
    }
    document.update(dict(dimensions))
    for name, _unit, values in metrics:
        document[name] = values[0] if len(values) == 1 else values
    return document


def validate_document(document: Mapping[str, Any]) -> list[str]:
    """What makes `document` invalid EMF, one line each; empty when CloudWatch would extract it."""
    problems: list[str] = []
    aws = document.get("_aws")
    if not isinstance(aws, dict):
        return ["_aws: missing or not an object"]
    timestamp = aws.get("Timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        problems.append(f"_aws.Timestamp: {timestamp!r} is not a non-negative integer (epoch ms)")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return [*problems, "_aws.CloudWatchMetrics: missing or not a list"]
    for index, directive in enumerate(directives):
        where = f"_aws.CloudWatchMetrics[{index}]"
        if not isinstance(directive, dict):
            problems.append(f"{where}: not an object")
            continue
        problems.extend(_directive_problems(document, directive, where))
    return problems


def _directive_problems(document: Mapping[str, Any], directive: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str):
        problems.append(f"{where}.Namespace: {namespace!r} is not a string")
    elif (problem := namespace_problem(namespace)) is not None:
        problems.append(f"{where}.Namespace: {problem}")
    dimension_sets = directive.get("Dimensions")
    if not isinstance(dimension_sets, list):
        problems.append(f"{where}.Dimensions: missing or not a list of dimension sets")
        dimension_sets = []
    for set_index, dimension_set in enumerate(dimension_sets):
        at = f"{where}.Dimensions[{set_index}]"
        if not isinstance(dimension_set, list):
            problems.append(f"{at}: not a list of dimension names")
            continue
        if len(dimension_set) > MAX_DIMENSIONS_PER_SET:
            problems.append(f"{at}: {len(dimension_set)} dimensions, at most {MAX_DIMENSIONS_PER_SET}")
        for name in dimension_set:
            if not isinstance(document.get(name), str):
                problems.append(f"{at}: dimension {name!r} has no string member at the root")
    definitions = directive.get("Metrics")
    if not isinstance(definitions, list):
        return [*problems, f"{where}.Metrics: missing or not a list"]
    if len(definitions) > MAX_METRICS_PER_DOCUMENT:
        problems.append(f"{where}.Metrics: {len(definitions)} metrics, at most {MAX_METRICS_PER_DOCUMENT}")
    names = [d.get("Name") for d in definitions if isinstance(d, dict)]
    if len(names) != len(set(map(str, names))):
        problems.append(f"{where}.Metrics: a metric name appears twice")
    for metric_index, definition in enumerate(definitions):
        at = f"{where}.Metrics[{metric_index}]"
        if not isinstance(definition, dict):
            problems.append(f"{at}: not an object")
            continue
        problems.extend(_definition_problems(document, definition, at))
    return problems


def _definition_problems(document: Mapping[str, Any], definition: Mapping[str, Any], at: str) -> list[str]:
    problems: list[str] = []
    name = definition.get("Name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        return [f"{at}.Name: {name!r} is not a 1..{MAX_NAME_LENGTH} character string"]
    if "Unit" in definition and definition["Unit"] not in VALID_UNITS:
        problems.append(f"{at}.Unit: {definition['Unit']!r} is not a CloudWatch unit")
    if "StorageResolution" in definition and definition["StorageResolution"] not in STORAGE_RESOLUTIONS:
        problems.append(f"{at}.StorageResolution: {definition['StorageResolution']!r} is not 1 or 60")
    value = document.get(name)
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES_PER_METRIC:
        problems.append(f"{name}: {len(values)} values, 1..{MAX_VALUES_PER_METRIC} allowed")
    if not all(_finite_number(v) for v in values):
        problems.append(f"{name}: member {value!r} is not a finite number or a list of them")
    return problems


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def document_values(documents: Iterable[Mapping[str, Any]]) -> dict[tuple[str, Dimensions], Value]:
    """(metric name, dimensions without `service`) → value, read back from documents (for comparisons)."""
    found: dict[tuple[str, Dimensions], Value] = {}
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = directive["Dimensions"][0] if directive["Dimensions"] else []
            dimensions = tuple((n, str(document[n])) for n in names if n != SERVICE_DIMENSION)
            for definition in directive["Metrics"]:
                value = document[definition["Name"]]
                key = (definition["Name"], dimensions)
                if key in found:  # a distribution continued in a later document
                    previous = found[key]
                    value = [*(previous if isinstance(previous, list) else [previous]), *_as_list(value)]
                found[key] = value
    return found


def _as_list(value: Value) -> list[float]:
    return value if isinstance(value, list) else [value]


def emit_points(
    points: Iterable[MetricPoint],
    namespace: str,
    timestamp_ms: int,
    service: str | None = None,
    write: Callable[[str], object] = print,
) -> list[EmfDocument]:
    """Print `points` as EMF lines (Lambda stdout goes to CloudWatch Logs, which extracts the metrics).

    `service` defaults to $POWERTOOLS_SERVICE_NAME, else "slo-pipeline"; pass "" for no service dimension.
    """
    documents = build_documents(points, namespace, timestamp_ms, default_service() if service is None else service)
    for document in documents:
        write(json.dumps(document, separators=(",", ":")))
    return documents
