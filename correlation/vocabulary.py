"""Names the producers share: the event vocabulary, the propagation keys, and schema v1's typed fields.

The vocabulary mirrors the shipped spec, processors/slos.yaml (a test keeps them equal); it is copied so that services
can install this package without the pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from correlation.exceptions import UnknownActionError

HEADER: Final = "X-Correlation-ID"  # HTTP request and response header
ENV_VAR: Final = "CORRELATION_ID"  # ECS tasks (runner) and `slo emit`
SQS_ATTRIBUTE: Final = "CorrelationId"  # SQS message attribute, DataType String

VOCABULARY: Final = (
    "webhook_received",
    "job_queued",
    "task_launched",
    "runner_started",
    "cache_hit",
    "cache_miss",
    "workflow_completed",
    "runner_orphaned",
    "api_request",
    "reconcile_completed",
    "cache_evicted",
)

# metadata.action of free-form lines (logger().info("...") without an action): outside the vocabulary, so no
# SLI of the spec matches it (the pipeline decodes it and counts it for nothing), but the line still
# satisfies the schema's required action.
DEFAULT_ACTION: Final = "log"

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
CONCLUSIONS: Final = ("success", "failure", "cancelled")


def check_action(action: object) -> str:
    """The action, if it is in the vocabulary; otherwise UnknownActionError naming the vocabulary."""
    if isinstance(action, str) and action in VOCABULARY:
        return action
    raise UnknownActionError(
        f"unknown action {action!r}: not in the event vocabulary ({', '.join(VOCABULARY)}); "
        "no SLI would count it"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# What schema v1 requires of the metadata fields it types; every other key is free.
_FIELD_RULES: Final = {
    "action": ("a non-empty string", lambda v: isinstance(v, str) and v != ""),
    "workflowId": ("a string or an integer", lambda v: isinstance(v, str | int) and not isinstance(v, bool)),
    "repository": ("a string", lambda v: isinstance(v, str)),
    "duration": ("a number of milliseconds >= 0", lambda v: _is_number(v) and v >= 0),
    "status": ("an integer or a string", lambda v: isinstance(v, str | int) and not isinstance(v, bool)),
    "conclusion": (f"one of {', '.join(CONCLUSIONS)}", lambda v: v in CONCLUSIONS),
    "error": ("an object, a string or null", lambda v: v is None or isinstance(v, str | Mapping)),
    "bytes": ("a number >= 0", lambda v: _is_number(v) and v >= 0),
}


def metadata_problems(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Field name → what schema v1 expects, for each typed field whose value it would reject."""
    problems = {}
    for key, (expected, accepts) in _FIELD_RULES.items():
        if key in metadata and not accepts(metadata[key]):
            problems[key] = f"metadata.{key} must be {expected}, got {metadata[key]!r}"
    return problems
