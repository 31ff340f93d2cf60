"""Wire shapes of CloudWatch Embedded Metric Format documents (the `_aws` metadata object)."""

from __future__ import annotations

from typing import TypedDict


class _MetricDefinitionRequired(TypedDict):
    Name: str


class MetricDefinition(_MetricDefinitionRequired, total=False):
    Unit: str
    StorageResolution: int  # 1 (high resolution) or 60; omitted means 60


class MetricDirective(TypedDict):
    Namespace: str
    Dimensions: list[list[str]]
    Metrics: list[MetricDefinition]


class AwsMetadata(TypedDict):
    Timestamp: int  # epoch milliseconds
    CloudWatchMetrics: list[MetricDirective]


# An EMF document is `{"_aws": AwsMetadata, <dimension>: str, ..., <metric>: number | [numbers]}`; the
# target members have caller-chosen names, so the document itself is a plain dict.
EmfDocument = dict[str, object]
