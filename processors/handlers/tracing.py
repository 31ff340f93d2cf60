"""Powertools' Tracer, built on first use and only when tracing is on.

`aws_xray_sdk`, which `Tracer()` imports, was 65–80% of every handler's import CPU (issue #14). The template
turns on Lambda's active X-Ray tracing, which records each invocation without the SDK, and sets
POWERTOOLS_TRACE_DISABLED=true. Set it to false to get Powertools' subsegments and annotations back: the SDK is
then imported on the first invocation, not at import time. The evaluator's read-ahead threads (store/view.py)
are traced too: in Lambda the SDK gives each thread the function's segment, so their DynamoDB calls hang off it
rather than `## lambda_handler` (tests/functional/test_tracing_read_ahead.py).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

_OFF = {"1", "true", "yes", "on"}


def tracing_enabled() -> bool:
    """Powertools' own reading of POWERTOOLS_TRACE_DISABLED."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in _OFF


class LazyTracer:
    """The part of Tracer's API the handlers use; every call is a no-op while tracing is disabled."""

    def __init__(self) -> None:
        self._tracer: Any = None

    def _real(self) -> Any:
        if self._tracer is None and tracing_enabled():
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer()
        return self._tracer

    def capture_lambda_handler(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        traced: list[Callable[..., Any]] = []

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any) -> Any:
            if not traced:
                real = self._real()
                traced.append(real.capture_lambda_handler(handler) if real is not None else handler)
            return traced[0](event, context)

        return wrapper

    def capture_method(self, method: Callable[..., Any]) -> Callable[..., Any]:
        traced: list[Callable[..., Any]] = []

        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not traced:
                real = self._real()
                traced.append(real.capture_method(method) if real is not None else method)
            return traced[0](*args, **kwargs)

        return wrapper

    def put_annotation(self, key: str, value: str | int | float | bool) -> None:
        real = self._real()
        if real is not None:
            real.put_annotation(key=key, value=value)
