"""Cold start: a handler's import pulls in neither the X-Ray SDK (tracing is lazy, processors/handlers/tracing.py)
nor numpy (only digest merges need it), nor Powertools' event handler package (every resolver, asyncio, ssl).
Timing lives in bench/bench_coldstart.py; this checks what is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

HANDLERS = ("evaluator", "ingest", "sweeper", "trace_api")
HEAVY = "'aws_xray_sdk', 'numpy', 'rich', 'aws_lambda_powertools.event_handler'"
PROBE = "import sys, processors.handlers.{name}; print(sorted({{" + HEAVY + "}} & set(sys.modules)))"


@pytest.mark.parametrize("name", HANDLERS)
def test_importing_a_handler_loads_no_xray_sdk_numpy_rich_or_powertools_event_handler(name):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(name=name)],
        capture_output=True, text=True, check=True, env={"POWERTOOLS_TRACE_DISABLED": "true", "PATH": ""},
    )
    assert out.stdout.strip() == "[]"


def test_the_tracer_is_built_on_first_use_only_when_tracing_is_enabled(monkeypatch):
    from processors.handlers.tracing import LazyTracer

    calls = []
    tracer = LazyTracer()
    handler = tracer.capture_lambda_handler(lambda event, context: calls.append(event) or "done")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert handler({"n": 1}, None) == "done" and calls == [{"n": 1}]
    assert tracer._tracer is None  # disabled: no Tracer, so no X-Ray SDK
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    assert tracer._real() is not None


THREADS = ("import os, processors.sketch; "
           "print(len(os.listdir('/proc/self/task')), os.environ.get('OPENBLAS_NUM_THREADS', '-'))")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads in /proc")
def test_loading_the_sketch_starts_no_openblas_worker_threads_unless_the_caller_asks() -> None:
    """OpenBLAS starts a spinning worker per core when numpy loads; the sketch uses no BLAS (tdigest.py)."""
    alone = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, check=True,
                           env={"PATH": ""})
    assert alone.stdout.split() == ["1", "1"]
    chosen = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True, check=True,
                            env={"PATH": "", "OPENBLAS_NUM_THREADS": "2"})
    assert chosen.stdout.split()[1] == "2"
