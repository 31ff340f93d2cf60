"""Benchmark of the t-digest: build speed and day-merge time against the reference packages.

Run by hand (not in CI): `.venv/bin/python bench/bench_sketch.py`. Every ratio is computed from
timings taken in the same run. Requires bench/requirements.txt; fastdigest is skipped if missing.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from processors.sketch import TDigest

try:
    import tdigest as reference
except ImportError:  # pragma: no cover - depends on the machine
    reference = None
try:
    import fastdigest
except ImportError:  # pragma: no cover - depends on the machine
    fastdigest = None

SEED = 7
MINUTES_PER_DAY = 1_440


def best_of(repeats: int, fn: Callable[[], Any]) -> float:
    """Seconds taken by the fastest of `repeats` calls (the least disturbed by the machine)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def build_reference(values: np.ndarray) -> Any:
    digest = reference.TDigest()
    digest.batch_update(values)
    digest.compress()
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="values per build (ours, fastdigest, sort)")
    parser.add_argument("--reference-n", type=int, default=50_000, help="values per build for `tdigest`")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    values = rng.lognormal(3.0, 1.5, args.n)
    few = values[: args.reference_n]

    rates: dict[str, float] = {}
    rates["numpy.sort (floor)"] = args.n / best_of(args.repeats, lambda: np.sort(values))
    rates["ours: TDigest.from_values"] = args.n / best_of(args.repeats, lambda: TDigest.from_values(values))
    if fastdigest is not None:
        rates["fastdigest (max_centroids=1000)"] = args.n / best_of(
            args.repeats, lambda: fastdigest.TDigest.from_values(values)
        )
        rates["fastdigest (max_centroids=100)"] = args.n / best_of(
            args.repeats, lambda: fastdigest.TDigest.from_values(values, max_centroids=100)
        )
    if reference is not None:
        rates[f"tdigest package (n={args.reference_n:,})"] = args.reference_n / best_of(
            1, lambda: build_reference(few)
        )

    ours = rates["ours: TDigest.from_values"]
    ref_rate = next((r for k, r in rates.items() if k.startswith("tdigest")), None)
    fast_rate = rates.get("fastdigest (max_centroids=1000)")
    print(f"\nBuild speed, lognormal values, best of {args.repeats} (n={args.n:,})")
    print(f"{'':36} {'values/s':>14} {'ours ÷ this':>12}")
    for name, rate in rates.items():
        print(f"{name:36} {rate:>14,.0f} {ours / rate:>11.2f}×")
    if ref_rate:
        print(f"goal ≥ 100× tdigest package: {ours / ref_rate:,.0f}×")
    if fast_rate:
        print(f"goal ≥ ⅓ of fastdigest:       {ours / fast_rate:.2f} of its speed")
    else:
        print("fastdigest not installed (pip install fastdigest): skipped")

    # A day of minute digests, each from ~700 values, merged into one.
    minute_values = np.array_split(values, MINUTES_PER_DAY)
    minutes = [TDigest.from_values(v) for v in minute_values]
    stored = [m.to_bytes() for m in minutes]
    merges: dict[str, float] = {}
    merges["ours: TDigest.merge(1440 digests)"] = best_of(args.repeats, lambda: TDigest.merge(minutes))
    merges["ours: from_bytes ×1440 + merge"] = best_of(
        args.repeats, lambda: TDigest.merge([TDigest.from_bytes(b) for b in stored])
    )
    hours = [TDigest.merge(minutes[i : i + 60]) for i in range(0, MINUTES_PER_DAY, 60)]
    status = [hours[i % len(hours)] for i in range(720)] + minutes[:120]
    merges["ours: status query (720 h + 120 min)"] = best_of(args.repeats, lambda: TDigest.merge(status))
    merges["ours: read-merge-write (2 digests)"] = best_of(
        args.repeats, lambda: TDigest.merge([hours[0], minutes[0]]).to_bytes()
    )
    if fastdigest is not None:
        fast_minutes = [fastdigest.TDigest.from_values(v, max_centroids=100) for v in minute_values]
        merges["fastdigest: merge_all(1440)"] = best_of(
            args.repeats, lambda: fastdigest.merge_all(fast_minutes)
        )
    if reference is not None:
        ref_minutes = [build_reference(v) for v in minute_values[:60]]
        per_digest = best_of(1, lambda: functools.reduce(lambda a, b: a + b, ref_minutes)) / 60
        merges["tdigest package: a + b (×1440, extrapolated from 60)"] = per_digest * MINUTES_PER_DAY

    print(f"\nMerging a day of minute digests ({MINUTES_PER_DAY} × ~{args.n // MINUTES_PER_DAY} values)")
    print(f"{'':54} {'ms':>10} {'merges/s':>10}")
    for name, seconds in merges.items():
        print(f"{name:54} {seconds * 1e3:>10.2f} {1 / seconds:>10.1f}")
    day = TDigest.merge(minutes)
    print(f"goal < 50 ms: {merges['ours: TDigest.merge(1440 digests)'] * 1e3:.1f} ms")
    one = TDigest.from_values(values)
    print(
        f"\nSerialized size: one digest of {args.n:,} values {len(one.to_bytes())} B, "
        f"merged day {len(day.to_bytes())} B ({len(day)} centroids)"
    )


if __name__ == "__main__":
    main()
