"""Operator metrics (the spec's `metrics:` list) of one minute, and their EMF documents.

`operator_metric_points(minute, spec, alert_log)` computes them from one minute's readings
(processors.evaluating.service); `emit_points` prints them as CloudWatch Embedded Metric Format lines.
`slo metrics` shows the same points locally.
"""

from processors.metrics.emf import (
    MAX_DIMENSIONS_PER_SET,
    MAX_METRICS_PER_DOCUMENT,
    MAX_VALUES_PER_METRIC,
    build_documents,
    document_values,
    emit_points,
    namespace_problem,
    validate_document,
)
from processors.metrics.exceptions import EmfError, MetricsError
from processors.metrics.operator import (
    distribution_values,
    metrics_timestamp_ms,
    operator_metric_points,
)
from processors.metrics.types import AwsMetadata, EmfDocument, MetricDefinition, MetricDirective

__all__ = [
    "MAX_DIMENSIONS_PER_SET",
    "MAX_METRICS_PER_DOCUMENT",
    "MAX_VALUES_PER_METRIC",
    "AwsMetadata",
    "EmfDocument",
    "EmfError",
    "MetricDefinition",
    "MetricDirective",
    "MetricsError",
    "build_documents",
    "distribution_values",
    "document_values",
    "emit_points",
    "metrics_timestamp_ms",
    "namespace_problem",
    "operator_metric_points",
    "validate_document",
]
