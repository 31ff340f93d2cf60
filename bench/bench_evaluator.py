"""Cost of one evaluation: 5 SLOs over a 30-day window, as reads through the SliView and CPU milliseconds.

    python bench/bench_evaluator.py                 # generated streams behind an in-memory view
    python bench/bench_evaluator.py --db .slo/x.db  # a real store (reads counted at the view and the store)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processors import conventions
from processors.alerting import LocalNotifier, record_evaluation
from processors.evaluating.service import evaluate_at
from processors.spec import load_spec
from tests.fakes.alerting import MemoryAlertStore
from tests.fakes.evaluating import CountingView, Phase, SeriesView, minute_counts

DAYS = 30


def generated_view(now: int) -> SeriesView:
    spec = load_spec()
    minutes = DAYS * 1440 + 60
    series = {
        slo.name: minute_counts([Phase(minutes - 30, 40, 0.0005), Phase(30, 40, 0.2)], seed=i)
        for i, slo in enumerate(spec.slos)
    }
    latency = {"queue-latency": {"p50": 900.0, "p95": 3200.0, "p99": 4900.0}}
    return SeriesView(now - minutes * conventions.MINUTE, series, latency)


def measure(make_view: Any, store: Any, now: int, rounds: int) -> dict[str, Any]:
    spec = load_spec()
    cpu_ms: list[float] = []
    reads: dict[str, int] = {"counts": 0, "bad_exemplars": 0, "latency_quantiles": 0}
    transitions = 0
    store_reads = []
    for i in range(rounds):
        at = now + i * conventions.MINUTE
        view = CountingView(make_view())
        before = getattr(getattr(store, "stats", None), "read_requests", 0)
        started = time.process_time()
        evaluation = evaluate_at(view, spec, at, readings=False).evaluation
        transitions += len(record_evaluation(store, view, evaluation, LocalNotifier()))
        cpu_ms.append((time.process_time() - started) * 1000)
        store_reads.append(getattr(getattr(store, "stats", None), "read_requests", 0) - before)
        for name, count in view.reads.items():
            reads[name] += count
    return {
        "slos": len(spec.slos),
        "window_days": DAYS,
        "rounds": rounds,
        "view_reads_per_evaluation": {name: round(count / rounds, 2) for name, count in reads.items()},
        "view_reads_total_per_evaluation": round(sum(reads.values()) / rounds, 2),
        "store_read_requests_per_evaluation": statistics.median(store_reads) if any(store_reads) else None,
        "cpu_ms_median": round(statistics.median(cpu_ms), 3),
        "cpu_ms_p95": round(sorted(cpu_ms)[int(0.95 * (len(cpu_ms) - 1))], 3),
        "transitions": transitions,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a SQLite store to evaluate (e.g. after `slo replay`)")
    parser.add_argument("--at", type=int, help="evaluation time, epoch seconds (default: newest event)")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    if args.db:
        from processors.store import SqliteStore
        from processors.store.view import StoreView

        store: Any = SqliteStore(args.db)
        newest = store.newest_event_time() or time.time()
        now = args.at or int(newest // 60 * 60)
        result = measure(lambda: StoreView(store), store, now, args.rounds)
        result["source"] = args.db
    else:
        now = 1_790_000_000 // 60 * 60
        view = generated_view(now + args.rounds * conventions.MINUTE)
        view.alerts = alerts = MemoryAlertStore()
        result = measure(lambda: view, alerts, now, args.rounds)
        result["source"] = "generated (in-memory view: reads are calls, not I/O)"
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
