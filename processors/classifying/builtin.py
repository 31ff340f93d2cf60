"""Built-in counters behind the operator metrics (RunnersStarted, CacheHits, ReconciliationRuns, …).

They are events SLIs like any in the spec, counted per minute and hour under the same checkpoint, so
the metrics are exactly once too. Their names start with `_` so they never collide with a user's SLO.
"""

from __future__ import annotations

from processors import conventions as c
from processors.spec.model import Condition, EventsSli, Matcher, Slo

RUNNERS_STARTED = "_runners-started"
WORKFLOWS_COMPLETED = "_workflows-completed"  # good = conclusion success
CACHE_LOOKUPS = "_cache-lookups"  # good = hit
TASKS_LAUNCHED = "_tasks-launched"
RECONCILIATIONS = "_reconciliations"  # good = status success
CACHE_EVICTIONS = "_cache-evictions"
RUNNERS_ACTIVE_GAUGE = "runners-active"
# The spec's sketches (slos.yaml `latency:`) the operator metrics read each minute.
QUEUE_AGE_SKETCH = "queue-age"
RUNNER_STARTUP_SKETCH = "runner-startup"
RUNNER_EXECUTION_SKETCH = "runner-execution"
CACHE_BYTES_SKETCH = "cache-bytes"


def _action(name: str) -> Condition:
    return Condition(("metadata", "action"), "eq", name)


def _counter(name: str, match: Matcher, good: Matcher | None = None) -> Slo:
    return Slo(name=name, objective=0.5, sli=EventsSli(match=match, good=good or match), window=30 * c.DAY)


BUILTIN_COUNTERS: tuple[Slo, ...] = (
    _counter(RUNNERS_STARTED, Matcher((_action(c.RUNNER_STARTED),))),
    _counter(
        WORKFLOWS_COMPLETED,
        Matcher((_action(c.WORKFLOW_COMPLETED),)),
        Matcher((Condition(("metadata", "conclusion"), "eq", "success"),)),
    ),
    _counter(
        CACHE_LOOKUPS,
        Matcher((Condition(("metadata", "action"), "in", [c.CACHE_HIT, c.CACHE_MISS]),)),
        Matcher((_action(c.CACHE_HIT),)),
    ),
    _counter(TASKS_LAUNCHED, Matcher((_action(c.TASK_LAUNCHED),))),
    _counter(CACHE_EVICTIONS, Matcher((_action(c.CACHE_EVICTED),))),
    _counter(
        RECONCILIATIONS,
        Matcher((_action(c.RECONCILE_COMPLETED),)),
        Matcher((Condition(("metadata", "status"), "eq", "success"),)),
    ),
)

# What the operator metrics of a minute read (processors.evaluating.service.minute_readings).
OPERATOR_COUNTERS: tuple[str, ...] = tuple(slo.name for slo in BUILTIN_COUNTERS)
OPERATOR_GAUGES: tuple[str, ...] = (RUNNERS_ACTIVE_GAUGE,)
OPERATOR_SKETCHES: tuple[str, ...] = (
    QUEUE_AGE_SKETCH,
    RUNNER_STARTUP_SKETCH,
    RUNNER_EXECUTION_SKETCH,
    CACHE_BYTES_SKETCH,
)
