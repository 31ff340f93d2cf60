"""What of a log's metadata may be stored: an allow-list, with secret-looking values redacted at any depth."""

from __future__ import annotations

from typing import Any

from processors import conventions

ALLOWED_METADATA = frozenset(
    {
        "action",
        "workflowId",
        "runId",
        "jobId",
        "repository",
        "duration",
        "status",
        "conclusion",
        "error",
        "runnerId",
        "taskArn",
        "cluster",
        "queue",
        "method",
        "path",
        "route",
        "bytes",
        "attempt",
        "reason",
        "cacheKey",
    }
)
MAX_DEPTH = 6
MAX_STRING = 512


def is_secret_key(key: str) -> bool:
    folded = key.lower().replace("_", "").replace("-", "")
    return any(fragment in folded for fragment in conventions.SECRET_KEY_FRAGMENTS)


def redact(value: Any, depth: int = 0) -> Any:
    """A copy with values under secret-looking keys replaced, long strings cut, depth bounded."""
    if depth > MAX_DEPTH:
        return "[TRUNCATED]"
    if isinstance(value, dict):
        return {
            str(key): conventions.REDACTED if is_secret_key(str(key)) else redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, depth + 1) for item in value[:50]]
    if isinstance(value, str) and len(value) > MAX_STRING:
        return value[:MAX_STRING] + "…"
    return value


_SCALARS = (int, float, bool, type(None))


def storable_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Only allow-listed keys (none of which looks secret), their values redacted at any depth."""
    return {
        key: value if isinstance(value, _SCALARS) else redact(value)
        for key, value in metadata.items()
        if key in ALLOWED_METADATA
    }


assert not any(is_secret_key(key) for key in ALLOWED_METADATA), "an allow-listed key looks secret"
