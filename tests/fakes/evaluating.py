"""Generated request streams and an in-memory SliView over them, for scenario tests and the benchmark.

Streams are data: a list of phases (minutes, requests per minute, error ratio). Without a seed the
counts are exact and evenly spread (10 requests/hour is one request every 6 minutes); with a seed, the bad
events of each minute are drawn binomially, so runs are noisy but reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from processors import conventions
from processors.counting import Counts
from processors.spec.model import Slo

_EPSILON = 1e-9


@dataclass(frozen=True)
class Phase:
    minutes: int
    requests_per_minute: float
    error_ratio: float = 0.0


def minute_counts(phases: Iterable[Phase], *, seed: int | None = None) -> list[Counts]:
    rng = random.Random(seed) if seed is not None else None
    counts: list[Counts] = []
    requests = errors = 0.0
    for phase in phases:
        for _ in range(phase.minutes):
            before = math.floor(requests + _EPSILON)
            requests += phase.requests_per_minute
            total = math.floor(requests + _EPSILON) - before
            if rng is not None:
                bad = sum(rng.random() < phase.error_ratio for _ in range(total))
            else:
                before_bad = math.floor(errors + _EPSILON)
                errors += total * phase.error_ratio
                bad = math.floor(errors + _EPSILON) - before_bad
            counts.append(Counts(total - bad, total))
    return counts


class QuietOperatorReads:
    """The operator metrics' reads of a quiet pipeline: no built-in counters, digests or gauges."""

    def trace_coverage(self, start: int, end: int) -> Counts:
        return Counts()

    def minute_bucket(self, sli: str, start: int) -> Counts:
        return Counts()

    def digest(self, sketch: str, start: int, end: int) -> None:
        return None

    def gauge(self, name: str) -> int:
        return 0


class SeriesView(QuietOperatorReads):
    """An SliView over per-minute counts that begin at `start`; every window is two prefix-sum lookups."""

    def __init__(
        self,
        start: int,
        series: Mapping[str, Sequence[Counts]],
        latency: Mapping[str, dict[str, float]] | None = None,
        alerts: Any = None,
    ) -> None:
        self.alerts = alerts  # an AlertStore whose log this view reads (None: an empty log)
        self.start = start
        self.series = {name: list(values) for name, values in series.items()}
        self.latency = dict(latency or {})
        self._good = {n: [0, *accumulate(c.good for c in v)] for n, v in self.series.items()}
        self._total = {n: [0, *accumulate(c.total for c in v)] for n, v in self.series.items()}

    def _index(self, name: str, moment: int) -> int:
        index = (moment - self.start) // conventions.MINUTE
        return min(max(index, 0), len(self.series.get(name, ())))

    def counts(self, slo: Slo, start: int, end: int) -> Counts:
        if slo.name not in self.series:
            return Counts()
        low, high = self._index(slo.name, start), self._index(slo.name, end)
        if high <= low:
            return Counts()
        good, total = self._good[slo.name], self._total[slo.name]
        return Counts(good[high] - good[low], total[high] - total[low])

    def bad_exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        slo_name = _name(series)
        values = self.series.get(slo_name, [])
        ids: list[str] = []
        for index in range(self._index(slo_name, end) - 1, self._index(slo_name, start) - 1, -1):
            bad = values[index].bad
            minute = self.start + index * conventions.MINUTE
            ids.extend(f"{slo_name}-{minute}-{n}" for n in range(bad))
            if len(ids) >= limit:
                break
        return ids[:limit]

    def latency_quantiles(self, sketch: str, start: int, end: int) -> dict[str, float] | None:
        name = _name(sketch)
        return dict(self.latency[name]) if name in self.latency else None

    def alert_log(self, since: int | None = None) -> list[dict[str, Any]]:
        return [] if self.alerts is None else list(self.alerts.alert_log(since=since))


def _name(series: str) -> str:
    """This view is keyed by SLO and sketch names; the evaluator reads series ids (name@revision)."""
    return series.split("@", 1)[0]


class CountingView:
    """Wraps a view and counts its reads, for the benchmark and read-budget tests."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.reads: dict[str, int] = {"counts": 0, "bad_exemplars": 0, "latency_quantiles": 0}

    def counts(self, slo: Slo, start: int, end: int) -> Counts:
        self.reads["counts"] += 1
        return self.view.counts(slo, start, end)

    def bad_exemplars(self, series: str, start: int, end: int, limit: int) -> list[str]:
        self.reads["bad_exemplars"] += 1
        return self.view.bad_exemplars(series, start, end, limit)

    def latency_quantiles(self, sketch: str, start: int, end: int) -> dict[str, float] | None:
        self.reads["latency_quantiles"] += 1
        return self.view.latency_quantiles(sketch, start, end)

    def __getattr__(self, name: str) -> Any:  # the reads not counted here pass straight through
        return getattr(self.view, name)

    @property
    def total_reads(self) -> int:
        return sum(self.reads.values())
