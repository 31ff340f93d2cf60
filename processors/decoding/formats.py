"""The log-format layer: one log line (a CloudWatch message) onto the internal event, per the spec's `log_format`.

A line is schema v1, or any JSON object whose fields the spec's paths find: Powertools Logger output (its dict
messages too, read under the line's own fields), Lambda's JSON log format (a JSON `message` is unwrapped once),
API Gateway access logs, a FireLens `log`. Field paths are compiled once; schema v1 takes a fast path that reads
no path at all. docs/log-schema.md.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import msgspec
import orjson

from processors import conventions
from processors.decoding.types import LogEvent, Position
from processors.spec.model import LogFormat
from processors.timeutil import iso8601_epoch

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Lambda's own lines in the JSON log format ("platform.start", "platform.report", ...): not service logs
_PLATFORM_PREFIXES = ("platform.", "extension.", "telemetry.")
_CLF = re.compile(r"^(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_EPOCH_MS_FROM = 1e11  # a number above this is epoch milliseconds (1973 in ms; year 5138 in seconds)
_MISSING = object()
_decode_json = msgspec.json.Decoder().decode
_fromisoformat = datetime.fromisoformat


def loads(data: str | bytes) -> Any:
    """JSON through msgspec, returning exactly what json.loads returns: msgspec reads integers of any size
    exactly, as the stdlib does (orjson reads one beyond 64 bits as a float, so it needed a scan for long numbers
    first, which cost more than the parse). What msgspec refuses and the stdlib accepts (NaN literals, lone
    surrogates, numbers beyond a float) is retried with the stdlib; errors are ValueErrors or RecursionError.
    On log messages msgspec parses faster than orjson (bench/harness.py)."""
    try:
        return _decode_json(data)
    except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
        return json.loads(data)


def loads_envelope(data: bytes) -> Any:
    """A CloudWatch Logs payload: orjson (faster than msgspec on whole payloads), or the stdlib where orjson
    refuses the text. orjson reads an integer beyond 64 bits as a float, which changes nothing here: decoding
    reads a payload's strings and each event's timestamp, and such a timestamp is past any believable time."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def is_correlation_id(value: object) -> bool:
    # fullmatch, not `$`: `$` also matches before a trailing newline, which would accept "<uuid>\n"
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def parse_log_time(value: object) -> float | None:
    """Epoch seconds from ISO 8601 (incl. Powertools' `2026-10-01 00:01:02,123+0000`), CLF
    (`01/Oct/2026:00:01:02 +0000`, API Gateway's requestTime) or an epoch number (ms above 1e11)."""
    if isinstance(value, str):
        epoch = iso8601_epoch(value)
        if epoch is not None:
            return epoch
        match = _CLF.match(value.strip()) if len(value) < 40 else None
        month = _MONTHS.get(match.group(2).lower()) if match else None
        if match is None or month is None:
            return None
        day, _, year, hour, minute, second, sign, off_h, off_m = match.groups()
        try:
            moment = datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
        except ValueError:
            return None
        offset = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1)
        return moment.timestamp() - offset
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e14:
        return float(value) / 1000.0 if value >= _EPOCH_MS_FROM else float(value)
    return None


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def _get(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, dict):
            return _MISSING
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def _first(document: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> Any:
    """The first value that is present and not null or empty."""
    for path in paths:
        value = _get(document, path)
        if value is not _MISSING and value is not None and value != "":
            return value
    return _MISSING


@dataclass(frozen=True)
class _Compiled:
    correlation_id: tuple[tuple[str, ...], ...]
    action: tuple[tuple[str, ...], ...]
    time: tuple[tuple[str, ...], ...]
    service: tuple[tuple[str, ...], ...]
    level: tuple[tuple[str, ...], ...]
    metadata: tuple[tuple[str, ...], ...]
    consumed: frozenset[str]  # top-level keys that are fields, not metadata


class LineParser:
    """A spec's `log_format`, compiled: `parse(message, ...)` → LogEvent or a skip kind.

    `notes` counts, by kind, what was accepted with a remark: a line without a usable correlation ID
    (`no_correlation_id` / `bad_correlation_id`: it still counts for SLIs, not for traces) and, in `warn`
    mode, the JSON Schema keywords a line breaks (`schema_<keyword>`).
    """

    def __init__(self, log_format: LogFormat) -> None:
        self.format = log_format
        paths = {
            name: tuple(_path(p) for p in getattr(log_format, name))
            for name in ("correlation_id", "action", "time", "service", "level", "metadata")
        }
        consumed = {path[0] for group in paths.values() for path in group} | {"message"}
        self._paths = _Compiled(**paths, consumed=frozenset(consumed))
        self._unwrap = log_format.unwrap
        self._access = log_format.access_log
        self._access_detect = tuple(_path(p) for p in self._access.detect) if self._access else ()
        # schema v1 needs no path lookups when the spec keeps v1's own fields first
        self._v1_fast = (
            paths["action"][:1] == (("metadata", "action"),)
            and paths["correlation_id"][:1] == (("correlationId",),)
            and paths["time"][:1] == (("timestamp",),)
            and paths["service"][:1] == (("service",),)
            and paths["metadata"][:1] == (("metadata",),)
        )
        self._validator = _validator() if log_format.validation != "lax" else None
        self._lean = self._validator is None and self._v1_fast

    def parse(
        self, message: Any, fallback_time_ms: Any, position: Position, log_group: str = "",
        notes: Any = None,
    ) -> LogEvent | str:
        if type(message) is str and message[:1] == "{":
            text = message  # no copy for the usual message (leading space is rare; a trailing one JSON allows)
        else:
            text = message.strip() if isinstance(message, str) else ""
            if not text.startswith("{"):
                return conventions.SKIP_MESSAGE_NOT_JSON
        try:  # loads, inlined
            log = _decode_json(text)
        except (ValueError, RecursionError):
            try:
                log = json.loads(text)
            except (ValueError, RecursionError):
                return conventions.SKIP_MESSAGE_NOT_JSON
        if not isinstance(log, dict):
            return conventions.SKIP_MESSAGE_NOT_JSON
        if self._lean:  # the hot path: schema v1, no validation, few calls
            metadata = log.get("metadata")
            action = metadata.get("action") if type(metadata) is dict else None
            if type(action) is str and action:
                stamp = log.get("timestamp")
                # parse_log_time(stamp), with iso8601_epoch's fast path for what loggers write inlined
                time: float | None
                if type(stamp) is str and len(stamp) == 24 and stamp[23] == "Z":
                    try:
                        time = _fromisoformat(stamp).timestamp()
                    except ValueError:
                        time = parse_log_time(stamp)
                else:
                    time = parse_log_time(stamp)
                if time is None:
                    time = _fallback(fallback_time_ms)
                    if time is None:
                        return conventions.SKIP_PAYLOAD_SHAPE
                raw_id = log.get("correlationId")
                if type(raw_id) is str and _UUID.fullmatch(raw_id) is not None:
                    correlation_id = raw_id.lower()
                else:
                    correlation_id = self._correlation_id(raw_id, notes)
                service = log.get("service")
                return LogEvent(position, time, correlation_id, action, service if type(service) is str else "",
                                log, log_group)
        fallback = _fallback(fallback_time_ms)
        v1 = self._is_v1(log)
        if not v1:
            inner = self._unwrapped(log)
            if inner is not None:  # the envelope's time is the better fallback
                fallback = parse_log_time(_first(log, self._paths.time)) or fallback
                log = inner
                v1 = self._is_v1(log)
        if self._validator is not None:
            skip = self._validate(log, notes)
            if skip:
                return skip
        if v1:
            return self._v1(log, fallback, position, log_group, notes)
        return self._general(log, fallback, position, log_group, notes)

    # --- schema v1: the hot path -----------------------------------------------------------------------

    def _is_v1(self, log: dict[str, Any]) -> bool:
        if not self._v1_fast:
            return False
        metadata = log.get("metadata")
        if not isinstance(metadata, dict):
            return False
        action = metadata.get("action")
        return isinstance(action, str) and action != ""

    def _v1(
        self, log: dict[str, Any], fallback: float | None, position: Position, log_group: str, notes: Any
    ) -> LogEvent | str:
        time = parse_log_time(log.get("timestamp"))
        if time is None:
            if fallback is None:
                return conventions.SKIP_PAYLOAD_SHAPE
            time = fallback
        service = log.get("service")
        return LogEvent(
            position=position,
            time=time,
            correlation_id=self._correlation_id(log.get("correlationId"), notes),
            action=log["metadata"]["action"],
            service=service if isinstance(service, str) else "",
            log=log,
            log_group=log_group,
        )

    # --- any other shape: compiled paths onto a schema-v1-shaped log --------------------------------------

    def _general(
        self, log: dict[str, Any], fallback: float | None, position: Position, log_group: str, notes: Any
    ) -> LogEvent | str:
        kind = log.get("type")
        if isinstance(kind, str) and kind.startswith(_PLATFORM_PREFIXES) and "record" in log:
            return conventions.SKIP_MESSAGE_NOT_JSON  # Lambda platform line: not a service's log (docs)
        paths = self._paths
        action = _first(log, paths.action)
        access = False
        if not isinstance(action, str) or not action:
            access = self._access is not None and all(_get(log, p) is not _MISSING for p in self._access_detect)
            if not access:
                return conventions.SKIP_NO_ACTION
            assert self._access is not None
            action = self._access.action
        stamp = _first(log, paths.time)
        time = parse_log_time(stamp) if stamp is not _MISSING else None
        if time is None:
            if fallback is None:
                return conventions.SKIP_PAYLOAD_SHAPE
            time = fallback
        metadata = _metadata(log, paths)
        metadata["action"] = action
        if access:
            self._access_numbers(metadata)
        found_service = _first(log, paths.service)
        service = found_service if isinstance(found_service, str) else ""
        level = _first(log, paths.level)
        raw_id = _first(log, paths.correlation_id)
        correlation_id = self._correlation_id(None if raw_id is _MISSING else raw_id, notes)
        normalized = {
            "timestamp": stamp if isinstance(stamp, str) else log.get("timestamp"),
            "level": level.upper() if isinstance(level, str) else None,
            "correlationId": correlation_id or None,
            "service": service,
            "message": log.get("message"),
            "metadata": metadata,
        }
        return LogEvent(
            position=position,
            time=time,
            correlation_id=correlation_id,
            action=action,
            service=service,
            log=normalized,
            log_group=log_group,
        )

    def _access_numbers(self, metadata: dict[str, Any]) -> None:
        assert self._access is not None
        for key in self._access.numbers:
            value = metadata.get(key)
            if isinstance(value, str) and value.isdigit():
                # isdigit also holds for digits int() refuses (superscripts), and for 4,300+ of them
                with contextlib.suppress(ValueError):
                    metadata[key] = int(value)
        duration = metadata.get(self._access.duration)
        if "duration" not in metadata and isinstance(duration, int | float):
            metadata["duration"] = duration

    def _unwrapped(self, log: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON document inside a string field (Lambda's `message`, FireLens' `log`), once."""
        for key in self._unwrap:
            value = log.get(key)
            if isinstance(value, str) and value.lstrip().startswith("{"):
                try:
                    inner = json.loads(value)
                except (ValueError, RecursionError):
                    return None
                return inner if isinstance(inner, dict) else None
        return None

    @staticmethod
    def _correlation_id(value: Any, notes: Any) -> str:
        if value is None or value == "":
            if notes is not None:
                notes[conventions.NOTE_NO_CORRELATION_ID] += 1
            return ""
        if not is_correlation_id(value):
            if notes is not None:
                notes[conventions.NOTE_BAD_CORRELATION_ID] += 1
            return ""
        return str(value).lower()

    def _validate(self, log: dict[str, Any], notes: Any) -> str:
        assert self._validator is not None
        kinds = {f"schema_{error.validator}" for error in self._validator.iter_errors(log)}
        if not kinds:
            return ""
        if self.format.validation == "strict":
            return conventions.SKIP_SCHEMA_INVALID
        if notes is not None:
            for kind in kinds:
                notes[kind] += 1
        return ""


def _metadata(log: dict[str, Any], paths: _Compiled) -> dict[str, Any]:
    """The line's other top-level keys, under the object at the first metadata path and over the objects at
    later ones (a Powertools dict message, by default): a later object only adds keys nothing before it has."""
    consumed = paths.consumed
    metadata = {k: v for k, v in log.items() if k not in consumed}
    for path in paths.metadata[1:]:
        nested = _get(log, path)
        if isinstance(nested, dict):
            for key, value in nested.items():
                metadata.setdefault(key, value)
    first = _get(log, paths.metadata[0]) if paths.metadata else None
    if isinstance(first, dict):
        metadata.update(first)
    return metadata


def _fallback(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return float(value) / 1000.0
        except OverflowError:  # an int beyond any float: as unbelievable a time as an infinite one
            return math.inf if value > 0 else -math.inf
    return None


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The shipped JSON Schema (Draft 2020-12), loaded once; jsonschema is imported only when a spec asks."""
    from importlib import resources

    from jsonschema import Draft202012Validator

    schema = json.loads(resources.files("processors.decoding").joinpath("log-v1.schema.json").read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@lru_cache(maxsize=8)
def parser_for(log_format: LogFormat) -> LineParser:
    """One compiled parser per format (the format is frozen and hashable)."""
    return LineParser(log_format)


DEFAULT_PARSER = LineParser(LogFormat())
