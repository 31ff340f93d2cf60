"""Contract tests of the t-digest: invariants, value semantics and the versioned byte format."""

from __future__ import annotations

import copy
import functools
import math
import pickle
import re
import struct
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.sketch import (
    DEFAULT_COMPRESSION,
    EXACT_FACTOR,
    FORMAT_VERSION,
    CorruptSketchError,
    NonFiniteValueError,
    SketchError,
    SketchFormatError,
    TDigest,
    TruncatedSketchError,
    UnknownFormatVersionError,
)

SEED = 20240611
finite_floats = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
value_lists = st.lists(finite_floats, min_size=1, max_size=400)
quantile_grid = np.linspace(0.0, 1.0, 201)


def sample_digests() -> dict[str, TDigest]:
    rng = np.random.default_rng(SEED)
    minutes = [TDigest.from_values(rng.lognormal(3, 1, 500)) for _ in range(30)]
    return {
        "empty": TDigest.empty(),
        "one value": TDigest.from_values([3.5]),
        "five values": TDigest.from_values([5.0, 1.0, 4.0, 2.0, 3.0]),
        "tied integers": TDigest.from_values(np.rint(rng.lognormal(2, 1, 20_000))),
        "lognormal": TDigest.from_values(rng.lognormal(3, 1.5, 20_000)),
        "merged minutes": TDigest.merge(minutes),
        "compression 30": TDigest.from_values(rng.normal(0, 1, 5_000), compression=30),
    }


def assert_invariants(digest: TDigest) -> None:
    assert digest.count == int(digest.weights.sum())
    assert len(digest) == digest.centroid_count == len(digest.means) == len(digest.weights)
    # few or exactly known values are kept or clustered finer (EXACT_FACTOR); many are clustered to compression + 1
    assert len(digest) <= EXACT_FACTOR * digest.compression + 1
    if digest.count > 2 * EXACT_FACTOR * digest.compression and not digest.pure.all():
        assert len(digest) <= digest.compression + 1
    assert (digest.weights >= 1).all()
    assert (np.diff(digest.means) >= 0).all()
    assert digest.pure[digest.weights == 1].all()
    if digest.count:
        assert digest.min is not None and digest.max is not None
        assert digest.min <= digest.means[0] and digest.means[-1] <= digest.max


# --- construction and invariants ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(sample_digests()))
def test_every_sample_digest_keeps_the_invariants(name: str) -> None:
    assert_invariants(sample_digests()[name])


def test_an_empty_digest_answers_none_and_counts_zero() -> None:
    empty = TDigest.empty()
    assert empty.count == 0 and len(empty) == 0
    assert empty.quantile(0.5) is None and empty.cdf(1.0) is None
    assert empty.min is None and empty.max is None
    assert TDigest.from_values([]) == empty
    assert empty.compression == DEFAULT_COMPRESSION


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([7.0], 0.0, 7.0),
        ([7.0], 0.5, 7.0),
        ([7.0], 1.0, 7.0),
        ([1.0, 2.0], 0.0, 1.0),
        ([1.0, 2.0], 0.25, 1.0),
        ([1.0, 2.0], 0.75, 2.0),
        ([1.0, 2.0], 1.0, 2.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 0.1, 1.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 0.3, 2.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 0.5, 3.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 0.7, 4.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 0.9, 5.0),
    ],
)
def test_a_tiny_digest_answers_exact_order_statistics(values: list[float], q: float, expected: float) -> None:
    assert TDigest.from_values(values).quantile(q) == expected


def test_a_tiny_digest_reports_mid_ranks_from_cdf() -> None:
    digest = TDigest.from_values([5.0, 1.0, 4.0, 2.0, 3.0])
    assert [digest.cdf(x) for x in (0.0, 1.0, 3.0, 5.0, 6.0)] == [0.0, 0.1, 0.5, 0.9, 1.0]


def test_the_extremes_are_exact_even_after_compression() -> None:
    values = np.random.default_rng(SEED).pareto(1.1, 50_000)
    digest = TDigest.from_values(values)
    assert digest.quantile(0.0) == digest.min == values.min()
    assert digest.quantile(1.0) == digest.max == values.max()
    assert digest.cdf(values.min() - 1) == 0.0 and digest.cdf(values.max() + 1) == 1.0


def test_constant_input_reads_back_as_the_constant_everywhere() -> None:
    digest = TDigest.from_values(np.full(10_000, 42.0))
    assert {digest.quantile(q) for q in quantile_grid} == {42.0}
    assert digest.cdf(42.0) == 0.5


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_rejected_with_a_clear_error(bad: float) -> None:
    values = np.r_[np.arange(1000.0), bad]
    with pytest.raises(NonFiniteValueError, match="NaN or ±inf"):
        TDigest.from_values(values)


@pytest.mark.parametrize("q", [-0.01, 1.01, math.nan])
def test_a_quantile_outside_zero_to_one_is_rejected(q: float) -> None:
    with pytest.raises(SketchError, match=r"\[0, 1\]"):
        TDigest.from_values([1.0, 2.0]).quantile(q)


@pytest.mark.parametrize("compression", [0, -5, math.nan, math.inf])
def test_a_meaningless_compression_is_rejected(compression: float) -> None:
    with pytest.raises(SketchError, match="compression"):
        TDigest.from_values([1.0], compression=compression)


# --- merging --------------------------------------------------------------------------------------


def test_merging_leaves_the_inputs_unchanged() -> None:
    digests = [d for d in sample_digests().values()]
    before = [d.to_bytes() for d in digests]
    merged = TDigest.merge(digests)
    assert [d.to_bytes() for d in digests] == before
    assert merged.count == sum(d.count for d in digests)
    assert_invariants(merged)


def test_a_digest_cannot_be_changed_through_its_arrays() -> None:
    digest = sample_digests()["lognormal"]
    with pytest.raises(ValueError, match="read-only"):
        digest.means[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        digest.weights[0] = 0


COPIERS: dict[str, Callable[[TDigest], TDigest]] = {
    **{
        f"pickle protocol {protocol}": functools.partial(lambda d, p: pickle.loads(pickle.dumps(d, p)), p=protocol)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1)
    },
    "deepcopy": copy.deepcopy,
    "copy": copy.copy,
}


@pytest.mark.parametrize("copier", list(COPIERS))
@pytest.mark.parametrize("name", list(sample_digests()))
def test_a_pickled_or_copied_digest_keeps_read_only_arrays_and_its_bytes(name: str, copier: str) -> None:
    digest = sample_digests()[name]
    restored = COPIERS[copier](digest)
    assert not any(array.flags.writeable for array in (restored.means, restored.weights, restored.pure))
    assert restored == digest and restored.to_bytes() == digest.to_bytes() and restored.count == digest.count
    assert [restored.quantile(q) for q in quantile_grid] == [digest.quantile(q) for q in quantile_grid]
    assert_invariants(restored)


def test_merging_nothing_or_only_empties_gives_an_empty_digest() -> None:
    assert TDigest.merge([]) == TDigest.empty()
    assert TDigest.merge([TDigest.empty(), TDigest.empty()]).count == 0


def test_merging_keeps_the_overall_min_and_max() -> None:
    parts = [TDigest.from_values(np.arange(i * 100.0, (i + 1) * 100.0)) for i in range(50)]
    merged = TDigest.merge(parts[::-1])
    assert (merged.min, merged.max, merged.count) == (0.0, 4999.0, 5000)


def test_merging_uses_the_largest_compression_unless_told_otherwise() -> None:
    a = TDigest.from_values(np.arange(1000.0), compression=50)
    b = TDigest.from_values(np.arange(1000.0), compression=200)
    assert TDigest.merge([a, b]).compression == 200
    assert TDigest.merge([a, b], compression=80).compression == 80


def test_merging_1440_minute_digests_keeps_the_centroid_bound() -> None:
    rng = np.random.default_rng(SEED)
    minutes = [TDigest.from_values(rng.lognormal(3, 1, 700)) for _ in range(1440)]
    day = TDigest.merge(minutes)
    assert day.count == 1440 * 700
    assert len(day) <= DEFAULT_COMPRESSION + 1
    assert len(day.to_bytes()) <= 2048


def test_read_merge_write_of_tied_data_keeps_centroids_pure() -> None:
    rng = np.random.default_rng(SEED)
    stored = TDigest.empty()
    for _ in range(60):
        batch = TDigest.from_values(rng.integers(1, 6, 1000))
        stored = TDigest.from_bytes(TDigest.merge([stored, batch]).to_bytes())
    assert set(stored.means[stored.pure]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert {stored.quantile(q) for q in quantile_grid} <= {1.0, 2.0, 3.0, 4.0, 5.0}


# --- serialization ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(sample_digests()))
def test_a_round_trip_through_bytes_is_lossless(name: str) -> None:
    digest = sample_digests()[name]
    back = TDigest.from_bytes(digest.to_bytes())
    assert back == digest and hash(back) == hash(digest)
    assert np.array_equal(back.means, digest.means) and np.array_equal(back.weights, digest.weights)
    assert (back.min, back.max, back.count, back.compression) == (
        digest.min,
        digest.max,
        digest.count,
        digest.compression,
    )
    assert [back.quantile(q) for q in quantile_grid] == [digest.quantile(q) for q in quantile_grid]


def test_serialization_starts_with_the_format_version() -> None:
    assert sample_digests()["lognormal"].to_bytes()[0] == FORMAT_VERSION == 1


def test_bytes_accept_any_buffer_type() -> None:
    data = sample_digests()["five values"].to_bytes()
    assert TDigest.from_bytes(bytearray(data)) == TDigest.from_bytes(memoryview(data))


@pytest.mark.parametrize("version", [0, 2, 255])
def test_an_unknown_format_version_is_rejected_in_one_line(version: int) -> None:
    data = bytes([version]) + sample_digests()["lognormal"].to_bytes()[1:]
    with pytest.raises(UnknownFormatVersionError) as caught:
        TDigest.from_bytes(data)
    message = str(caught.value)
    assert "\n" not in message and f"version {version}" in message
    assert isinstance(caught.value, SketchError)


def test_every_truncation_is_rejected_as_truncated() -> None:
    data = sample_digests()["tied integers"].to_bytes()
    for cut in range(len(data)):
        with pytest.raises(TruncatedSketchError, match="truncated t-digest"):
            TDigest.from_bytes(data[:cut])


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(CorruptSketchError, match="trailing"):
        TDigest.from_bytes(sample_digests()["five values"].to_bytes() + b"\x00")


def test_out_of_order_means_are_rejected_as_corrupt() -> None:
    data = bytearray(TDigest.from_values([1.0, 2.0, 3.0]).to_bytes())
    header = 30
    first, second = slice(header, header + 8), slice(header + 8, header + 16)
    data[first], data[second] = data[second], data[first]
    with pytest.raises(SketchFormatError, match="not in order"):
        TDigest.from_bytes(bytes(data))


def _weights_summing_past_int64(n: int) -> bytes:
    """n centroids whose 8-byte weights (each valid) sum to n + 2**64: an int64 sum wraps to exactly n, the
    count of a digest whose weights are all 1."""
    weights = [2**63 - 1, 2**63 - 1, n + 2] + [1] * (n - 3)
    header = struct.pack("<BBdddI", FORMAT_VERSION, 8, DEFAULT_COMPRESSION, 1.0, float(n), n)
    means = struct.pack(f"<{n}d", *map(float, range(1, n + 1)))
    pure = int("".join("1" if w == 1 else "0" for w in reversed(weights)), 2).to_bytes((n + 7) // 8, "little")
    return header + means + struct.pack(f"<{n}Q", *weights) + pure


@pytest.mark.parametrize("n", [3, 4, 9])
def test_weights_whose_total_overflows_int64_are_rejected_as_corrupt(n: int) -> None:
    # Accepted, the wrapped total would read as a count of n, which to_bytes takes for n unit weights.
    with pytest.raises(CorruptSketchError, match="total weight"):
        TDigest.from_bytes(_weights_summing_past_int64(n))
    with pytest.raises(CorruptSketchError, match="total weight"):
        TDigest.merge_bytes([TDigest.from_values([0.5]).to_bytes(), _weights_summing_past_int64(n)])


def _heavy(low: float) -> bytes:
    """A valid digest of two centroids at `low` and `low + 1` whose weights total 2**63 - 1, the most one holds."""
    weights = [2**62, 2**62 - 1]
    header = struct.pack("<BBdddI", FORMAT_VERSION, 8, DEFAULT_COMPRESSION, low, low + 1, 2)
    return header + struct.pack("<2d", low, low + 1) + struct.pack("<2Q", *weights) + b"\x00"


@pytest.mark.parametrize("parts", [2, 3], ids=["past int64", "past 2**64"])
def test_merging_digests_whose_weights_together_overflow_int64_is_rejected_as_corrupt(parts: int) -> None:
    # Each decodes; merged, the weights' int64 sums wrapped, and the merged digest was caught as damaged only once
    # stored and read again, far from the digests that hold the edited weights.
    blobs = [_heavy(float(10 * n)) for n in range(parts)]
    with pytest.raises(CorruptSketchError, match="the total weight overflows int64"):
        TDigest.merge([TDigest.from_bytes(blob) for blob in blobs])
    with pytest.raises(CorruptSketchError, match="the total weight overflows int64"):
        TDigest.merge_bytes(blobs)
    with pytest.raises(CorruptSketchError, match="the total weight overflows int64"):
        TDigest.merge_bytes(blobs, compression=50.0)


def test_a_big_input_serializes_within_two_kilobytes_with_narrow_weights() -> None:
    digest = TDigest.from_values(np.random.default_rng(SEED).lognormal(3, 1, 1_000_000))
    data = digest.to_bytes()
    assert len(data) <= 2048
    assert data[1] == 2  # 10^6 values: every weight fits in 16 bits


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(value_lists)
def test_quantile_is_monotone_in_q(values: list[float]) -> None:
    digest = TDigest.from_values(values * 3)  # repeated so digests above the singleton limit occur
    estimates = np.array([digest.quantile(q) for q in quantile_grid])
    assert (np.diff(estimates) >= 0).all()
    assert estimates[0] == min(values) and estimates[-1] == max(values)


@settings(max_examples=60, deadline=None)
@given(value_lists, st.lists(finite_floats, min_size=2, max_size=30))
def test_cdf_is_monotone_in_x(values: list[float], probes: list[float]) -> None:
    digest = TDigest.from_values(values * 3)
    points = sorted(probes + values)
    fractions = np.array([digest.cdf(x) for x in points])
    assert ((fractions >= 0.0) & (fractions <= 1.0)).all()
    assert (np.diff(fractions) >= 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(value_lists, min_size=1, max_size=8))
def test_any_merge_round_trips_and_counts_every_value(parts: list[list[float]]) -> None:
    merged = TDigest.merge([TDigest.from_values(p * 5) for p in parts])
    assert merged.count == 5 * sum(len(p) for p in parts)
    assert_invariants(merged)
    assert TDigest.from_bytes(merged.to_bytes()) == merged


# --- the exact case's bytes --------------------------------------------------------------------
# from_values and to_bytes skip numpy's per-call work for exact digests (all weights 1); their bytes must stay
# those of the numpy path: np.sort's order (the place of -0.0 among 0.0 included) and numpy's packing.

edge_floats = st.one_of(
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e308, -1e308, 1.0, 1.0 + 2**-52]),
    st.floats(allow_nan=False, allow_infinity=False),
)
compressions = st.sampled_from([1.0, 2.0, 5.0, 25.5, DEFAULT_COMPRESSION])
# Past the exact limit, a cluster's sum of values near ±1e308 overflows; _bounded_means clips its mean back.
overflow_in_clusters = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")


def _numpy_bytes(digest: TDigest) -> bytes:
    """The documented layout written with numpy from a digest's public fields, as to_bytes did for every digest."""
    largest = int(digest.weights.max()) if len(digest) else 0
    width = next(w for w in (1, 2, 4, 8) if largest < 1 << (8 * w))
    minimum = math.nan if digest.min is None else digest.min
    maximum = math.nan if digest.max is None else digest.max
    header = struct.pack("<BBdddI", FORMAT_VERSION, width, digest.compression, minimum, maximum, len(digest))
    return b"".join(
        (
            header,
            digest.means.astype("<f8").tobytes(),
            digest.weights.astype(f"<u{width}").tobytes(),
            np.packbits(digest.pure, bitorder="little").tobytes(),
        )
    )


@st.composite
def lists_near_the_exact_limit(draw: st.DrawFn) -> tuple[list[float], float]:
    """Values with a compression, their count within 2 of EXACT_FACTOR x compression (exact up to it)."""
    compression = draw(compressions)
    limit = math.floor(EXACT_FACTOR * compression)
    size = draw(st.integers(min_value=max(limit - 2, 0), max_value=limit + 2))
    pool = draw(st.lists(edge_floats, min_size=1, max_size=6))  # few distinct values: ties, zeros of both signs
    return draw(st.lists(st.sampled_from(pool), min_size=size, max_size=size)), compression


def _assert_numpy_path(values: list[float], compression: float) -> None:
    digest = TDigest.from_values(values, compression)
    numpy_sorted = np.sort(np.asarray(values, dtype=np.float64))
    if len(values) <= EXACT_FACTOR * compression:
        assert digest.means.tobytes() == numpy_sorted.tobytes()  # bitwise: -0.0 where np.sort puts it
        assert digest.weights.tolist() == [1] * len(values) and digest.pure.all()
    if values:
        bounds = struct.pack("<dd", numpy_sorted[0], numpy_sorted[-1])
        assert struct.pack("<dd", digest.min, digest.max) == bounds
    assert digest.to_bytes() == _numpy_bytes(digest)
    assert TDigest.from_bytes(digest.to_bytes()) == digest


@overflow_in_clusters
@settings(max_examples=300, deadline=None)
@given(st.lists(edge_floats, max_size=40), compressions)
def test_a_small_digest_has_the_bytes_numpy_writes(values: list[float], compression: float) -> None:
    _assert_numpy_path(values, compression)


@overflow_in_clusters
@settings(max_examples=150, deadline=None)
@given(lists_near_the_exact_limit())
def test_a_digest_at_the_exact_limit_has_the_bytes_numpy_writes(case: tuple[list[float], float]) -> None:
    _assert_numpy_path(*case)


@overflow_in_clusters
@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(edge_floats, min_size=1, max_size=12), min_size=1, max_size=6), compressions)
def test_merged_small_digests_have_the_bytes_numpy_writes(parts: list[list[float]], compression: float) -> None:
    merged = TDigest.merge([TDigest.from_values(part, compression) for part in parts])
    assert merged.to_bytes() == _numpy_bytes(merged)
    assert TDigest.from_bytes(merged.to_bytes()) == merged


@pytest.mark.parametrize("name", list(sample_digests()))
def test_every_sample_digest_has_the_bytes_numpy_writes(name: str) -> None:
    assert sample_digests()[name].to_bytes() == _numpy_bytes(sample_digests()[name])


def test_building_a_digest_leaves_the_callers_array_unsorted() -> None:
    values = np.array([3.0, -0.0, 1.0, 0.0])
    TDigest.from_values(values)
    assert values.tobytes() == np.array([3.0, -0.0, 1.0, 0.0]).tobytes()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_few_values_with_a_non_finite_one_are_rejected(bad: float) -> None:
    with pytest.raises(NonFiniteValueError, match="NaN or ±inf"):
        TDigest.from_values([2.0, bad, 1.0])


# --- merging straight from bytes ----------------------------------------------------------------


def _merged_one_by_one(blobs: list[bytes], compression: float | None = None) -> TDigest:
    return TDigest.merge([TDigest.from_bytes(blob) for blob in blobs], compression)


def _same(a: TDigest, b: TDigest) -> bool:
    return a == b and a.to_bytes() == b.to_bytes()


def _day_of_minutes(tied: bool) -> list[bytes]:
    values = np.random.default_rng(SEED).lognormal(3, 1.5, 300_000)
    values = np.rint(values) if tied else values
    return [TDigest.from_values(minute).to_bytes() for minute in np.array_split(values, 1440)]


def _with_a_copy_of_three_means(blobs: list[bytes]) -> list[bytes]:
    """Ties between blobs but none inside one: the ordering has to notice them after sorting."""
    return [*blobs, TDigest.from_values(TDigest.from_bytes(blobs[0]).means[:3]).to_bytes()]


@pytest.mark.parametrize(
    "name, blobs",
    [
        ("no blobs", []),
        ("only empties", [TDigest.empty().to_bytes()] * 3),
        ("one blob", [sample_digests()["lognormal"].to_bytes()]),
        ("every sample digest", [d.to_bytes() for d in sample_digests().values()]),
        ("mixed weight widths", [TDigest.merge([sample_digests()["lognormal"]] * 300).to_bytes(),
                                 TDigest.from_values([1.0, 2.0]).to_bytes()]),
        ("a day of continuous minutes", _day_of_minutes(tied=False)),
        ("a day of tied minutes", _day_of_minutes(tied=True)),
        ("ties only across minutes", _with_a_copy_of_three_means(_day_of_minutes(tied=False))),
    ],
)
def test_merging_from_bytes_equals_decoding_each_blob_then_merging(name: str, blobs: list[bytes]) -> None:
    for compression in (None, 50.0):
        assert _same(TDigest.merge_bytes(blobs, compression), _merged_one_by_one(blobs, compression)), name


def _corrupt(offset: int, value: float) -> bytes:
    data = bytearray(TDigest.from_values([1.0, 2.0, 3.0]).to_bytes())
    data[offset : offset + 8] = np.float64(value).tobytes()
    return bytes(data)


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x02" + bytes(40),
        TDigest.from_values([1.0]).to_bytes()[:-1],
        TDigest.from_values([1.0]).to_bytes() + b"\0",
        _corrupt(30, 99.0),
        _corrupt(38, math.nan),
        _corrupt(10, math.inf),
        _corrupt(2, -1.0),
        _corrupt(2, 0.5),  # no constructor takes it: decoded, it made merge_bytes raise a bare SketchError
    ],
)
def test_merging_from_bytes_rejects_a_bad_blob_as_from_bytes_does(bad: bytes) -> None:
    blobs = [TDigest.from_values([0.5, 1.5]).to_bytes(), bad]
    with pytest.raises(SketchFormatError) as expected:
        _merged_one_by_one(blobs)
    with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
        TDigest.merge_bytes(blobs)
