"""Accuracy of the t-digest against exact quantiles: fast cases by default, 10^6-value sweeps marked slow.

Error is absolute rank error: for an estimate x̂ at q, the distance from q to the data's ECDF at x̂,
where tied data gives an interval [fraction < x̂, fraction <= x̂] and any q inside it is exact.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import pytest
import tdigest as reference

from processors.sketch import TDigest

SEED = 1_440
MINUTES_PER_DAY = 1_440

# Bound on absolute rank error, per quantile.
BOUNDS = {0.001: 0.001, 0.01: 0.001, 0.5: 0.005, 0.95: 0.002, 0.99: 0.001, 0.999: 0.001}

Generator = Callable[[np.random.Generator, int], np.ndarray]

DISTRIBUTIONS: dict[str, Generator] = {
    "uniform": lambda rng, n: rng.uniform(0.0, 1.0, n),
    "lognormal": lambda rng, n: rng.lognormal(3.0, 1.5, n),
    "bimodal": lambda rng, n: np.concatenate(
        [rng.normal(10.0, 1.0, n // 2), rng.normal(100.0, 5.0, n - n // 2)]
    ),
    "pareto heavy tail": lambda rng, n: (rng.pareto(1.1, n) + 1.0) * 10.0,
    "constant": lambda rng, n: np.full(n, 42.0),
    "integer milliseconds (heavily tied)": lambda rng, n: np.rint(rng.lognormal(2.0, 1.0, n)),
    "seven tied values": lambda rng, n: rng.choice(
        [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0], n, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    ),
    "already sorted": lambda rng, n: np.sort(rng.lognormal(3.0, 1.0, n)),
}


def data(name: str, n: int) -> np.ndarray:
    return DISTRIBUTIONS[name](np.random.default_rng(SEED), n)


def rank_error(sorted_data: np.ndarray, estimate: float, q: float) -> float:
    n = len(sorted_data)
    below = np.searchsorted(sorted_data, estimate, side="left") / n
    at_or_below = np.searchsorted(sorted_data, estimate, side="right") / n
    if below <= q <= at_or_below:
        return 0.0
    return float(min(abs(q - below), abs(q - at_or_below)))


def errors(digest_quantile: Callable[[float], float | None], values: np.ndarray) -> dict[float, float]:
    ordered = np.sort(values)
    out = {}
    for q in BOUNDS:
        estimate = digest_quantile(q)
        assert estimate is not None
        out[q] = rank_error(ordered, estimate, q)
    return out


def assert_within_bounds(measured: dict[float, float]) -> None:
    over = {q: e for q, e in measured.items() if e > BOUNDS[q]}
    assert not over, f"rank error over bound at {over} (bounds {BOUNDS})"


def merged_from_random_partitions(values: np.ndarray, parts: int = MINUTES_PER_DAY) -> TDigest:
    rng = np.random.default_rng(SEED + 1)
    cuts = np.sort(rng.integers(0, len(values), parts - 1))
    shuffled = rng.permutation(values)
    return TDigest.merge([TDigest.from_values(p) for p in np.split(shuffled, cuts)])


# --- fast: default run ------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_one_digest_of_20k_values_is_within_the_rank_error_bounds(name: str) -> None:
    values = data(name, 20_000)
    assert_within_bounds(errors(TDigest.from_values(values).quantile, values))


@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_a_day_of_merged_partitions_of_20k_values_is_within_the_bounds(name: str) -> None:
    values = data(name, 20_000)
    merged = merged_from_random_partitions(values)
    assert merged.count == len(values)
    assert_within_bounds(errors(merged.quantile, values))


@pytest.mark.parametrize("n", [1, 2, 5])
def test_tiny_inputs_give_exact_order_statistics(n: int) -> None:
    values = data("lognormal", n)
    digest = TDigest.from_values(values)
    assert all(e == 0.0 for e in errors(digest.quantile, values).values())
    assert digest.quantile(0.0) == values.min() and digest.quantile(1.0) == values.max()


def test_no_input_gives_no_quantiles() -> None:
    assert all(TDigest.from_values([]).quantile(q) is None for q in BOUNDS)


@pytest.mark.slow  # the reference package is pure Python: seconds per case
@pytest.mark.parametrize("name", ["lognormal", "bimodal", "pareto heavy tail"])
def test_the_reference_package_and_ours_both_meet_the_bounds_on_continuous_data(name: str) -> None:
    values = data(name, 20_000)
    random.seed(20261001)  # the reference package shuffles with the global random generator
    ref = reference.TDigest()
    ref.batch_update(values)
    assert_within_bounds(errors(lambda q: ref.percentile(100 * q), values))
    assert_within_bounds(errors(TDigest.from_values(values).quantile, values))


@pytest.mark.slow
def test_on_tied_data_ours_is_exact_at_the_median_where_the_reference_is_not() -> None:
    values = data("integer milliseconds (heavily tied)", 20_000)
    random.seed(20261001)  # the reference package shuffles with the global random generator
    ref = reference.TDigest()
    ref.batch_update(values)
    theirs = errors(lambda q: ref.percentile(100 * q), values)
    ours = errors(TDigest.from_values(values).quantile, values)
    assert ours[0.5] == 0 < theirs[0.5], (ours, theirs)  # pure centroids keep runs of ties whole
    assert_within_bounds(ours)


# --- slow: 10^6-value sweeps (pytest -m slow) -------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_one_digest_of_a_million_values_is_within_bounds_and_two_kilobytes(name: str) -> None:
    values = data(name, 1_000_000)
    digest = TDigest.from_values(values)
    assert_within_bounds(errors(digest.quantile, values))
    assert len(digest.to_bytes()) <= 2048


@pytest.mark.slow
@pytest.mark.parametrize("name", list(DISTRIBUTIONS))
def test_a_day_of_merged_partitions_of_a_million_values_is_within_bounds_and_two_kilobytes(name: str) -> None:
    values = data(name, 1_000_000)
    merged = merged_from_random_partitions(values)
    assert merged.count == len(values)
    assert_within_bounds(errors(merged.quantile, values))
    assert len(merged.to_bytes()) <= 2048


@pytest.mark.slow
@pytest.mark.parametrize("name", ["lognormal", "integer milliseconds (heavily tied)"])
def test_hours_merged_from_minutes_and_days_from_hours_stay_within_bounds(name: str) -> None:
    # The store's shape: minute digests merged into hour digests, a status query merging hours.
    values = data(name, 1_000_000)
    minutes = [TDigest.from_values(p) for p in np.array_split(values, 30 * MINUTES_PER_DAY // 24)]
    hours = [TDigest.merge(minutes[i : i + 60]) for i in range(0, len(minutes), 60)]
    status = TDigest.merge([TDigest.from_bytes(h.to_bytes()) for h in hours])
    assert_within_bounds(errors(status.quantile, values))


# --- small n: windows merged from minute digests of a few values each ---------------------------------


def merged_like_the_store(values: np.ndarray, rng: np.random.Generator) -> TDigest:
    """Minute digests of 1-5 values; each hour digest folded in as the store does (read, merge one delta,
    write bytes); the window is the merge of the hours, as `slo status` reads it."""
    cuts = np.cumsum(rng.integers(1, 6, size=len(values)))
    minutes = [TDigest.from_values(part) for part in np.split(values, cuts[cuts < len(values)])]
    hours = []
    for start in range(0, len(minutes), 60):
        hour = TDigest.empty()
        for minute in minutes[start : start + 60]:
            hour = TDigest.merge([TDigest.from_bytes(hour.to_bytes()), minute])
        hours.append(hour)
    return TDigest.merge(hours)


def test_the_median_of_two_values_is_their_midpoint_not_the_larger() -> None:
    assert TDigest.from_values([2000.0, 7000.0]).quantile(0.5) == 4500.0
    assert TDigest.merge([TDigest.from_values([7000.0]), TDigest.from_values([2000.0])]).quantile(0.5) == 4500.0


def test_330_values_merged_from_minute_digests_are_within_the_median_bound() -> None:
    rng = np.random.default_rng(SEED)
    values = rng.lognormal(7.0, 0.4, 330)  # queue latency in ms over a few hours of the sample
    merged = merged_like_the_store(values, rng)
    assert merged.count == 330
    assert_within_bounds(errors(merged.quantile, values))


@pytest.mark.slow
@pytest.mark.parametrize("n", [10, 33, 100, 199, 200, 201, 330, 399, 400, 401, 450, 600, 799, 800, 801, 1000,
                               2000, 5000])
@pytest.mark.parametrize("kind", ["continuous", "tied"])
def test_small_windows_merged_from_minute_digests_stay_within_the_bounds(n: int, kind: str) -> None:
    rng = np.random.default_rng(SEED + n)
    for _trial in range(5):
        values = rng.lognormal(7.0, 0.5, n)
        if kind == "tied":
            values = np.rint(values / 50.0) * 50.0  # 50 ms steps: heavy ties
        merged = merged_like_the_store(values, rng)
        assert merged.count == n
        # below n = 1 / bound a tail bound is finer than one value: about a rank is the resolution allowed there
        over = {q: e for q, e in errors(merged.quantile, values).items() if e > max(BOUNDS[q], 1.5 / n) + 1e-12}
        assert not over, f"rank error over bound at {over} (n = {n})"
