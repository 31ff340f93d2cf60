"""A Powertools formatter whose every line is schema v1: six top-level keys, everything else in metadata."""

from __future__ import annotations

import json
import logging
import math
import os
import traceback
from collections.abc import Generator, Iterable, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.logging.formatter import (
    THREAD_LOCAL_KEYS,
    BasePowertoolsFormatter,
    clear_context_keys,
    remove_context_keys,
    set_context_keys,
)

from correlation import ids
from correlation.types import ErrorInfo, LogLine
from correlation.vocabulary import DEFAULT_ACTION, metadata_problems

# Attributes every LogRecord has; anything else on a record came from `extra=` or logger kwargs.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# Keys with a meaning of their own rather than metadata. Powertools appends service and sampling_rate
# itself; correlation_id comes from Logger.set_correlation_id() and inject_lambda_context().
_SERVICE = "service"
_DROPPED = frozenset({"sampling_rate"})
_CORRELATION_KEYS = ("correlationId", "correlation_id")
_METADATA = "metadata"
INVALID_FIELDS = "invalidFields"  # typed fields the schema would reject, kept as strings
MINTED_FLAG = "correlationIdMinted"
# Lambda sets this per invocation (Root=1-...;Parent=...;Sampled=1). Powertools' own formatter adds the Root
# as `xray_trace_id` at format time, not through append_keys, so a custom formatter must add it itself.
XRAY_TRACE_ENV = "_X_AMZN_TRACE_ID"
XRAY_TRACE_KEY = "xray_trace_id"


def xray_trace_id() -> str | None:
    header = os.environ.get(XRAY_TRACE_ENV)
    root = header.split(";")[0].removeprefix("Root=") if header else ""
    return root or None


def _level_name(levelno: int) -> str:
    for threshold, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO")):
        if levelno >= threshold:
            return name
    return "DEBUG"


def format_timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds and Z, e.g. 2026-10-01T06:00:00.123Z."""
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """A copy that json.dumps(allow_nan=False) accepts: string keys, finite floats, str() for the rest."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)


def exception_error(exc: BaseException) -> ErrorInfo:
    return {"type": type(exc).__name__, "message": str(exc)}


class SchemaV1Formatter(BasePowertoolsFormatter):
    """Formats records as schema-v1 JSON; pass it to Powertools `Logger(logger_formatter=...)`.

    correlationId is, first found: a `correlationId`/`correlation_id` passed to the log call, the current
    ID (correlation.set_correlation_id / bound), Powertools' Logger.set_correlation_id. With none valid,
    a fresh UUID is minted for the line and metadata.correlationIdMinted is true, so the line still
    validates and the gap can be found with a query.
    """

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self._keys: dict[str, Any] = {} if service is None else {_SERVICE: service}

    # --- the key store Powertools' Logger drives (append_keys, inject_lambda_context, ...) ---

    def append_keys(self, **additional_keys: Any) -> None:
        self._keys.update(additional_keys)

    def get_current_keys(self) -> dict[str, Any]:
        return self._keys

    def remove_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def clear_state(self) -> None:
        self._keys = {key: value for key, value in self._keys.items() if key == _SERVICE}

    @contextmanager
    def append_context_keys(self, **additional_keys: Any) -> Generator[None, None, None]:
        self.append_keys(**additional_keys)
        try:
            yield
        finally:
            self.remove_keys(additional_keys)

    def thread_safe_append_keys(self, **additional_keys: Any) -> None:
        set_context_keys(**additional_keys)

    def thread_safe_get_current_keys(self) -> dict[str, Any]:
        return THREAD_LOCAL_KEYS.get()

    def thread_safe_remove_keys(self, keys: Iterable[str]) -> None:
        remove_context_keys(keys)

    def thread_safe_clear_keys(self) -> None:
        clear_context_keys()

    # --- formatting ---

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.to_line(record), separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    def to_line(self, record: logging.LogRecord) -> LogLine:
        # Later sources win: logger keys < thread-safe keys < `metadata=` dict < other per-call keys.
        extras = {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRS}
        per_call_metadata = extras.pop(_METADATA, None)
        fields: dict[str, Any] = {**self._keys, **THREAD_LOCAL_KEYS.get()}
        if isinstance(per_call_metadata, Mapping):
            fields.update(per_call_metadata)
        elif per_call_metadata is not None:
            extras[_METADATA] = per_call_metadata
        fields.update(extras)

        service = fields.pop(_SERVICE, None)
        candidates = [extras.get(key) for key in _CORRELATION_KEYS]
        candidates.append(ids.get_correlation_id())
        candidates += [fields.get(key) for key in _CORRELATION_KEYS]
        correlation_id = next((c for c in map(ids.parse_correlation_id, candidates) if c), None)
        for key in _CORRELATION_KEYS:  # a valid one is top-level; an invalid one is kept as data
            if key in fields and (fields[key] is None or ids.parse_correlation_id(fields[key]) is not None):
                del fields[key]
        for key in _DROPPED:
            fields.pop(key, None)
        trace_id = xray_trace_id()
        if trace_id is not None:
            fields.setdefault(XRAY_TRACE_KEY, trace_id)  # under metadata, as docs/producers.md says

        if isinstance(record.msg, Mapping):  # logger.info({...}): a dict message is metadata
            fields = {**record.msg, **fields}
            message = None
        else:
            message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None and "error" not in fields:
            error = exception_error(record.exc_info[1])
            error["stack"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            fields["error"] = error
        if record.stack_info:
            fields.setdefault("stack_info", record.stack_info)

        metadata: dict[str, Any] = _jsonable(
            {key: value for key, value in fields.items() if value is not None}
        )
        invalid = {key: json.dumps(metadata.pop(key)) for key in metadata_problems(metadata)}
        if invalid:
            metadata[INVALID_FIELDS] = invalid
        metadata = {"action": metadata.pop("action", DEFAULT_ACTION), **metadata}  # action first, for readers
        if correlation_id is None:
            correlation_id = ids.new_correlation_id()
            metadata[MINTED_FLAG] = True
        return {
            "timestamp": format_timestamp(record.created),
            "level": _level_name(record.levelno),
            "correlationId": correlation_id,
            "service": str(service) if service else "service_undefined",
            "message": message if message is not None else str(metadata["action"]),
            "metadata": metadata,
        }
