"""The merging t-digest (Dunning & Ertl), vectorized with numpy: a mergeable quantile sketch of latencies.

Building and merging are the same operation: put the points (or centroids) in order, then cut the
ordered weight into clusters whose size is bounded by a scale function, in one vectorized pass.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterable
from typing import Any

# The sketch never calls BLAS, but OpenBLAS starts a worker thread per core when numpy loads, and each spins
# for about 0.1 s of CPU (measured: ~100 ms more CPU than wall time per process on 2 cores), which a Lambda
# with a fraction of a vCPU pays in its first invocation. One thread, unless the caller chose otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import numpy.typing as npt

from processors.sketch.exceptions import (
    CorruptSketchError,
    NonFiniteValueError,
    SketchError,
    TruncatedSketchError,
    UnknownFormatVersionError,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_COMPRESSION = 100.0
FORMAT_VERSION = 1
# A digest keeps its values exactly (pure centroids, no clustering) up to this many times its compression.
EXACT_FACTOR = 4

# Byte layout of format version 1 (all little-endian):
#
#   offset  size  field
#   0       1     format version, = 1
#   1       1     bytes per weight W: 1, 2, 4 or 8 (the narrowest unsigned width holding the largest weight)
#   2       8     compression, float64
#   10      8     min, float64 (NaN when empty)
#   18      8     max, float64 (NaN when empty)
#   26      4     centroid count C, uint32
#   30      8*C   centroid means, float64, non-decreasing
#   30+8C   W*C   centroid weights, unsigned integers of W bytes, each >= 1
#   30+..   ⌈C/8⌉ purity bitmap, bit i (LSB first) set when every value in centroid i equals its mean
#
# Weights are integers because every centroid counts whole input values. A compressed digest has at most
# ~compression + 1 centroids (see _cluster_starts): at compression 100 at most 30 + 101 * 16 + 13 = 1,659
# bytes; 10^6 values need 2-byte weights, about 1 KB. An exact digest (all centroids pure, at most
# EXACT_FACTOR x compression of them) is at most 30 + 200 * 9 + 25 = 1,855 bytes with 1-byte weights.
_HEADER = struct.Struct("<BBdddI")
_WEIGHT_DTYPES: dict[int, np.dtype[Any]] = {w: np.dtype(f"<u{w}") for w in (1, 2, 4, 8)}


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    if array.flags.writeable:  # a view of a read-only array (_unit_weights) already is
        array.setflags(write=False)
    return array


# An exact digest's weights and purity are all ones: it takes read-only views of these instead of making two
# arrays of its own (numpy's per-call cost is most of the cost of a digest of a few values).
_UNIT_WEIGHTS = _readonly(np.ones(EXACT_FACTOR * int(DEFAULT_COMPRESSION), np.int64))
_ALL_PURE = _readonly(np.ones(EXACT_FACTOR * int(DEFAULT_COMPRESSION), np.bool_))


def _unit_weights(n: int) -> tuple[IntArray, BoolArray]:
    """(weights, pure) of n pure unit-weight centroids."""
    if n <= len(_UNIT_WEIGHTS):
        return _UNIT_WEIGHTS[:n], _ALL_PURE[:n]
    return np.ones(n, np.int64), np.ones(n, np.bool_)


def _all_set_bits(n: int) -> bytes:
    """np.packbits(np.ones(n, np.bool_), bitorder="little").tobytes(): n bits set, LSB first, zero-padded."""
    return ((1 << n) - 1).to_bytes((n + 7) // 8, "little")


def _cluster_starts(left_edges: FloatArray, total: float, compression: float) -> IntArray:
    """Index of the first item of each cluster, given each item's cumulative weight before it.

    The scale function is k1(q) = δ/(2π)·asin(2q−1). Dunning's greedy merge closes a cluster when
    its k-span would exceed 1, which leaves between δ/2 and δ clusters. We cut instead at fixed
    points in k — item i joins cluster floor(2·k1(q_left_i)), i.e. half-units of k1 — so all items
    are assigned at once and the count is at most δ + 1 (hence the hard size bound). Half units
    make clusters about twice as fine as a saturated greedy merge, which the 2 KB budget affords.
    (When merging, a cluster can overrun its half unit by the span of its last input centroid.)
    k1 rather than k2/k3: k2's normalizer depends on n
    and coarsens the median to ~15% of rank per cluster at δ=100, too coarse for ≤ 0.005 rank
    error there; k1 gives ~1.6% at the median and ~0.1% at q = 0.001, which meets the tail bounds.
    In q the cuts sit where 2·k1 crosses an integer j: q_j = (1 + sin(π·j/δ)) / 2.
    """
    half = compression / 2.0
    ks = np.arange(math.floor(-half) + 1, math.ceil(half), dtype=np.float64)
    cuts = (1.0 + np.sin(np.pi * ks / compression)) * (0.5 * total)
    starts = np.searchsorted(left_edges, cuts, side="left")
    starts = np.unique(np.concatenate(([0], starts)))
    return starts[starts < len(left_edges)].astype(np.int64)


def _cluster(
    means: FloatArray, weights: IntArray, pure: BoolArray, compression: float
) -> tuple[FloatArray, IntArray, BoolArray]:
    """Cluster sorted centroids into at most ~compression + 1 centroids, unless they are few and exact.

    Up to EXACT_FACTOR x compression centroids that are all pure (every value known) are kept as they are:
    minute digests of a few values each merge into an exact digest, and a window's quantiles stay exact
    until the count needs compressing (at n = 330 re-clustering per merge cost 2 ranks at the median).
    """
    n = len(means)
    if n <= compression or (n <= EXACT_FACTOR * compression and bool(pure.all())):
        return means, weights, pure
    cumulative = np.cumsum(weights)
    total = float(cumulative[-1])
    compression = _effective_compression(compression, total)
    if n <= compression:
        return means, weights, pure
    left_edges = (cumulative - weights).astype(np.float64)
    starts = _cluster_starts(left_edges, total, compression)
    starts = _snap_cuts_to_ties(means, np.concatenate((left_edges, [total])), starts)
    new_weights = np.add.reduceat(weights, starts)
    new_means = np.add.reduceat(means * weights, starts) / new_weights
    new_pure = np.logical_and.reduceat(pure, starts) & _single_valued(means, starts, n)
    return _bounded_means(new_means, means, starts, n), new_weights, new_pure


def _effective_compression(compression: float, total: float) -> float:
    """Few values (up to 2 x EXACT_FACTOR x compression) are clustered EXACT_FACTOR times finer: at n = 401
    clusters of ~4 values cost 2.5 ranks at the median, past the 0.005 bound; clusters of ~2 do not."""
    return compression * EXACT_FACTOR if total <= 2 * EXACT_FACTOR * compression else compression


def _snap_cuts_to_ties(values: FloatArray, edges: FloatArray, starts: IntArray) -> IntArray:
    """Move cuts so that a cluster does not straddle the boundary between two runs of tied values.

    With heavily tied data (integer milliseconds) a cluster holding the end of the run of 7s and the
    start of the run of 8s gets a mean like 7.4, and quantiles interpolated next to it land between
    the ties, far in rank from both. When a cluster holds exactly two distinct values and one of its
    cuts falls inside a run, that cut moves to the boundary (the nearer one if both could): both
    clusters become pure, and the cluster that grows only gains copies of its own edge value. The
    number of clusters is unchanged; a cluster may grow past its k-size, by tied values only.
    `edges[i]` is the cumulative weight before item i (with the total appended); `values` is sorted.
    """
    n = len(values)
    ends = np.concatenate((starts[1:], [n]))
    firsts = values[starts]
    lasts = values[ends - 1]
    boundary = np.searchsorted(values, firsts, side="right")  # end of each cluster's first run
    two_runs = (boundary < ends) & (values[np.minimum(boundary, n - 1)] == lasts)
    can_start = two_runs & (starts > 0) & (values[np.maximum(starts - 1, 0)] == firsts)
    can_end = two_runs & (ends < n) & (values[np.minimum(ends, n - 1)] == lasts)
    to_start = edges[boundary] - edges[starts]
    to_end = edges[ends] - edges[boundary]
    move_start = can_start & (~can_end | (to_start <= to_end))
    move_end = can_end & ~move_start
    if not (move_start.any() or move_end.any()):
        return starts
    snapped = starts.copy()
    snapped[move_start] = boundary[move_start]
    snapped[np.flatnonzero(move_end) + 1] = boundary[move_end]
    return snapped


def _single_valued(values: FloatArray, starts: IntArray, n: int) -> BoolArray:
    lasts = np.concatenate((starts[1:], [n])) - 1
    return np.asarray(values[starts] == values[lasts])


def _bounded_means(new_means: FloatArray, means: FloatArray, starts: IntArray, n: int) -> FloatArray:
    # Rounding can put a mean a hair outside its cluster; clipping keeps means ordered, and keeps a
    # cluster of tied values exactly at that value so tied data reads back as tied.
    lasts = np.concatenate((starts[1:], [n])) - 1
    return np.clip(new_means, means[starts], means[lasts])


class TDigest:
    """An immutable merging t-digest: sorted centroids (mean, integer weight) plus the exact min and max.

    Each centroid also records whether it is pure: all its values equal its mean. Dunning treats a
    weight-1 centroid as a known sample rather than a spread of mass; a pure centroid is the same
    generalized to ties, which keeps quantiles of tied data (integer milliseconds) on the ties.

    Build with from_values, combine with merge (inputs are never changed), query with quantile and
    cdf, store with to_bytes / from_bytes. Equality is exact on all stored fields, so a round trip
    through bytes compares equal.
    """

    __slots__ = ("_compression", "_count", "_knots", "_max", "_means", "_min", "_pure", "_weights")

    def __init__(
        self,
        means: FloatArray,
        weights: IntArray,
        pure: BoolArray,
        minimum: float,
        maximum: float,
        compression: float,
        count: int | None = None,
    ) -> None:
        # Internal: callers use from_values, merge, empty or from_bytes, which establish the invariants.
        # `count`, when the caller knows it, is weights.sum() (a merge keeps the parts' total weight).
        self._means = _readonly(means)
        self._weights = _readonly(weights)
        self._pure = _readonly(pure)
        self._min = minimum
        self._max = maximum
        self._compression = compression
        self._count = count if count is not None else int(weights.sum()) if len(weights) else 0
        self._knots: tuple[FloatArray, FloatArray] | None = None

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def empty(cls, compression: float = DEFAULT_COMPRESSION) -> TDigest:
        compression = _checked_compression(compression)
        nothing = np.empty(0, np.float64)
        return cls(nothing, np.empty(0, np.int64), np.empty(0, np.bool_), math.nan, math.nan, compression)

    @classmethod
    def from_values(cls, values: npt.ArrayLike, compression: float = DEFAULT_COMPRESSION) -> TDigest:
        """A digest of finite floats. NaN or ±inf raise NonFiniteValueError (nothing is silently dropped)."""
        compression = _checked_compression(compression)
        data = np.array(values, dtype=np.float64).ravel()  # a copy (never the caller's array): sorted in place
        data.sort()  # what np.sort does after its copy, without its per-call cost: the same order, ties included
        n = len(data)
        if n == 0:
            return cls.empty(compression)
        low, high = float(data[0]), float(data[-1])
        # After sorting, -inf is first and NaN/+inf are last: two checks cover the whole array.
        if not (math.isfinite(low) and math.isfinite(high)):
            raise NonFiniteValueError("t-digest input contains NaN or ±inf; only finite floats are accepted")
        if n <= EXACT_FACTOR * compression:  # exact: every value is its own centroid
            weights, pure = _unit_weights(n)
            return cls(data, weights, pure, low, high, compression, n)
        # Unit weights: each item's left edge is its index, so the cuts are found without a search.
        edges = np.arange(n + 1, dtype=np.float64)
        cuts = _cluster_starts(edges[:-1], float(n), _effective_compression(compression, n))
        starts = _snap_cuts_to_ties(data, edges, cuts)
        weights = np.diff(np.concatenate((starts, [n]))).astype(np.int64)
        means = _bounded_means(np.add.reduceat(data, starts) / weights, data, starts, n)
        pure = _single_valued(data, starts, n)
        return cls(means, weights, pure, low, high, compression, n)

    @classmethod
    def merge(cls, digests: Iterable[TDigest], compression: float | None = None) -> TDigest:
        """A new digest of everything in `digests`; concatenate, sort, re-cluster in one pass.

        The result uses `compression` if given, else the largest compression among the inputs. Parts whose
        weights together pass int64 raise from_bytes's CorruptSketchError: one of them was edited.
        """
        parts = [d for d in digests if d._count]
        if compression is None:
            compression = max((d._compression for d in parts), default=DEFAULT_COMPRESSION)
        compression = _checked_compression(compression)
        if not parts:
            return cls.empty(compression)
        count = sum(d._count for d in parts)
        if count > _INT64_MAX:  # each part's weights fit (from_bytes checks them); together they would wrap
            raise CorruptSketchError("corrupt t-digest: the total weight overflows int64")
        if len(parts) == 1 and parts[0]._compression == compression:
            return parts[0]
        means = np.concatenate([d._means for d in parts])
        weights = np.concatenate([d._weights for d in parts])
        pure = np.concatenate([d._pure for d in parts])
        minimum = min(d._min for d in parts)
        maximum = max(d._max for d in parts)
        return cls._merged(means, weights, pure, minimum, maximum, compression, count)

    @classmethod
    def merge_bytes(
        cls, blobs: Iterable[bytes | bytearray | memoryview], compression: float | None = None
    ) -> TDigest:
        """merge(from_bytes(blob) for blob in blobs), equal in every field, decoded in one vectorized pass:
        a store reading a window of minute digests pays one decode, not one per blob. A blob that does not
        decode raises what from_bytes raises for it, and blobs whose weights together pass int64 what merge
        raises."""
        blobs = list(blobs)
        decoded = _decode_many(blobs)
        if decoded is None:  # something is off: decode one by one, so the error names the first bad blob
            return cls.merge([cls.from_bytes(blob) for blob in blobs], compression)
        means, weights, pure, minimums, maximums, compressions = decoded
        if compression is None:
            compression = max(compressions, default=DEFAULT_COMPRESSION)
        compression = _checked_compression(compression)
        if not compressions:
            return cls.empty(compression)
        if len(compressions) == 1 and compressions[0] == compression:
            return cls(means.copy(), weights, pure, minimums[0], maximums[0], compression)
        return cls._merged(means, weights, pure, min(minimums), max(maximums), compression)

    @classmethod
    def _merged(
        cls,
        means: FloatArray,
        weights: IntArray,
        pure: BoolArray,
        minimum: float,
        maximum: float,
        compression: float,
        count: int | None = None,
    ) -> TDigest:
        """The digest of concatenated parts' centroids (each part sorted): stable sort, then re-cluster."""
        order, means = _stable_order(means)
        means, weights, pure = _cluster(means, weights[order], pure[order], compression)
        return cls(means, weights, pure, minimum, maximum, compression, count)

    # --- properties ---------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Total weight: the number of values summarized."""
        return self._count

    @property
    def compression(self) -> float:
        return self._compression

    @property
    def min(self) -> float | None:
        return self._min if self._count else None

    @property
    def max(self) -> float | None:
        return self._max if self._count else None

    @property
    def means(self) -> FloatArray:
        """Centroid means, non-decreasing (a read-only array)."""
        return self._means

    @property
    def weights(self) -> IntArray:
        """Centroid weights, each >= 1 (a read-only array)."""
        return self._weights

    @property
    def pure(self) -> BoolArray:
        """Per centroid, whether all its values equal its mean (a read-only array)."""
        return self._pure

    @property
    def centroid_count(self) -> int:
        return len(self._means)

    def __len__(self) -> int:
        return len(self._means)

    # --- queries ------------------------------------------------------------------------------

    def _interpolation_knots(self) -> tuple[FloatArray, FloatArray]:
        """Piecewise-linear map from rank (0..count) to value, as in Dunning's MergingDigest.quantile.

        A centroid of weight w sits at the middle of its rank range. A pure centroid (a unit-weight
        one in particular) is known exactly, so it holds its value over its whole rank range rather
        than being blended. The extremes are exact: one sample sits at min over rank [0, 1] and one
        at max over [count - 1, count], and the tails are interpolated between them and the end
        centroids.
        """
        if self._knots is None:
            w = self._weights
            cumulative = np.cumsum(w, dtype=np.float64)
            centers = cumulative - w / 2.0
            half = np.where(self._pure, w / 2.0, 0.0)
            ranks = [np.array([0.0])]
            values = [np.array([self._min])]
            if not self._pure[0]:
                ranks.append(np.array([1.0]))
                values.append(np.array([self._min]))
            ranks.append(np.column_stack((centers - half, centers + half)).ravel())
            values.append(np.repeat(self._means, 2))
            total = float(self._count)
            if not self._pure[-1]:
                ranks.append(np.array([total - 1.0]))
                values.append(np.array([self._max]))
            ranks.append(np.array([total]))
            values.append(np.array([self._max]))
            self._knots = (np.concatenate(ranks), np.concatenate(values))
        return self._knots

    def quantile(self, q: float) -> float | None:
        """The value at rank fraction q in [0, 1]; None when empty. quantile(0) is min, quantile(1) max."""
        if not 0.0 <= q <= 1.0:
            raise SketchError(f"quantile q must be in [0, 1], got {q!r}")
        if not self._count:
            return None
        ranks, values = self._interpolation_knots()
        rank = q * self._count
        low = int(np.searchsorted(ranks, rank, side="left"))
        high = int(np.searchsorted(ranks, rank, side="right"))
        if high - low >= 2 and values[low] != values[high - 1]:
            # exactly between two known values (p50 of [2000, 7000]): their midpoint, as cdf's mid-rank
            return float((values[low] + values[high - 1]) / 2.0)
        return float(np.interp(rank, ranks, values))

    def cdf(self, x: float) -> float | None:
        """Fraction of the weight at or below x, counting ties at x by half (mid-rank); None if empty.

        This is the inverse of quantile's piecewise-linear map: where several knots share the value
        x (tied data, singletons), the answer is the middle of their rank range.
        """
        if math.isnan(x):
            raise SketchError("cdf x must not be NaN")
        if not self._count:
            return None
        if x < self._min:
            return 0.0
        if x > self._max:
            return 1.0
        ranks, values = self._interpolation_knots()
        lo = int(np.searchsorted(values, x, side="left"))
        hi = int(np.searchsorted(values, x, side="right"))
        if lo < hi:
            rank = (ranks[lo] + ranks[hi - 1]) / 2.0
        else:
            x0, x1 = values[lo - 1], values[lo]
            r0, r1 = ranks[lo - 1], ranks[lo]
            rank = r0 + (r1 - r0) * (x - x0) / (x1 - x0)
        return float(min(max(rank / self._count, 0.0), 1.0))

    # --- serialization ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Serialize as format version 1 (layout documented at the top of this module)."""
        n = len(self._means)
        if self._count == n:
            # Every weight is 1 (each is >= 1) and so every centroid is pure (an invariant): the bytes of an
            # exact digest, the usual one in a store's commit, without numpy's per-call cost.
            header = _HEADER.pack(FORMAT_VERSION, 1, self._compression, self._min, self._max, n)
            return b"".join((header, self._means.astype("<f8", copy=False).tobytes(), b"\x01" * n, _all_set_bits(n)))
        largest = int(self._weights.max()) if len(self._weights) else 0
        width = next(w for w in (1, 2, 4, 8) if largest < 1 << (8 * w))
        header = _HEADER.pack(
            FORMAT_VERSION, width, self._compression, self._min, self._max, len(self._means)
        )
        return b"".join(
            (
                header,
                self._means.astype("<f8").tobytes(),
                self._weights.astype(_WEIGHT_DTYPES[width]).tobytes(),
                np.packbits(self._pure, bitorder="little").tobytes(),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> TDigest:
        """Decode to_bytes output; raise a SketchFormatError subclass on unknown versions or bad bytes."""
        buf = memoryview(data).cast("B")
        if len(buf) < 1:
            raise TruncatedSketchError(1, 0)
        if buf[0] != FORMAT_VERSION:
            raise UnknownFormatVersionError(buf[0], FORMAT_VERSION)
        if len(buf) < _HEADER.size:
            raise TruncatedSketchError(_HEADER.size, len(buf))
        _, width, compression, minimum, maximum, n = _HEADER.unpack_from(buf)
        if width not in _WEIGHT_DTYPES:
            raise CorruptSketchError(f"corrupt t-digest: weight width {width} is not 1, 2, 4 or 8")
        needed = _HEADER.size + n * (8 + width) + (n + 7) // 8
        if len(buf) < needed:
            raise TruncatedSketchError(needed, len(buf))
        if len(buf) > needed:
            raise CorruptSketchError(f"corrupt t-digest: {len(buf) - needed} trailing bytes after {needed}")
        if not (math.isfinite(compression) and compression >= 1.0):  # what every constructor checks
            raise CorruptSketchError(f"corrupt t-digest: compression {compression!r} is not a number >= 1")
        means = np.frombuffer(buf, "<f8", n, _HEADER.size).astype(np.float64)
        weights = np.frombuffer(buf, _WEIGHT_DTYPES[width], n, _HEADER.size + 8 * n).astype(np.int64)
        bits = np.frombuffer(buf, np.uint8, (n + 7) // 8, _HEADER.size + (8 + width) * n)
        pure = np.unpackbits(bits, count=n, bitorder="little").view(np.bool_)  # 0 or 1: a bool's bytes
        _check_decoded(means, weights, pure, minimum, maximum)
        if _may_overflow(width, n) and not _total_fits(weights):
            raise CorruptSketchError("corrupt t-digest: the total weight overflows int64")
        return cls(means, weights, pure, minimum, maximum, compression)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # pickle and copy.deepcopy go through the byte format, so a restored digest holds read-only arrays as
        # every other does (numpy restores an array writable under pickle protocols below 5 and in deepcopy)
        return TDigest.from_bytes, (self.to_bytes(),)

    # --- value semantics ----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TDigest):
            return NotImplemented
        return (
            self._compression == other._compression
            and self._count == other._count
            and (self._count == 0 or (self._min == other._min and self._max == other._max))
            and np.array_equal(self._means, other._means)
            and np.array_equal(self._weights, other._weights)
            and np.array_equal(self._pure, other._pure)
        )

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return (
            f"TDigest(count={self._count}, centroids={len(self._means)}, "
            f"compression={self._compression:g}, min={self.min}, max={self.max})"
        )


# Below this many centroids numpy's stable sort is as fast as anything; above it, a quicksort that finds no
# ties gives the same order (distinct keys have one order) in well under half the time.
_QUICK_ORDER_FROM = 4096


def _stable_order(means: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """(np.argsort(means, kind="stable"), means in that order). Ties keep their input order, which decides
    where clusters are cut, so with any tie the stable sort is used."""
    if len(means) >= _QUICK_ORDER_FROM and not (means[1:] == means[:-1]).any():
        order = np.argsort(means)
        ordered = means[order]
        if not (ordered[1:] == ordered[:-1]).any():
            return order, ordered
    order = np.argsort(means, kind="stable")
    return order, means[order]


def _decode_many(
    blobs: list[bytes | bytearray | memoryview],
) -> tuple[FloatArray, IntArray, BoolArray, list[float], list[float], list[float]] | None:
    """The non-empty blobs' centroids concatenated in blob order, with each one's min, max and compression;
    None when any blob fails a check of from_bytes (the caller then decodes one by one for the error)."""
    views: list[memoryview] = []
    sizes: list[int] = []
    widths: list[int] = []
    minimums: list[float] = []
    maximums: list[float] = []
    compressions: list[float] = []
    header = _HEADER.size
    for blob in blobs:
        buf = memoryview(blob).cast("B")
        if len(buf) < header or buf[0] != FORMAT_VERSION:
            return None
        _, width, compression, minimum, maximum, n = _HEADER.unpack_from(buf)
        if width not in _WEIGHT_DTYPES or len(buf) != header + n * (8 + width) + (n + 7) // 8:
            return None
        if not (math.isfinite(compression) and compression >= 1.0):
            return None
        if n == 0:
            continue  # an empty digest adds nothing and, as in merge, does not vote on the compression
        if not (math.isfinite(minimum) and math.isfinite(maximum)):
            return None
        views.append(buf)
        sizes.append(n)
        widths.append(width)
        minimums.append(minimum)
        maximums.append(maximum)
        compressions.append(compression)
    if not views:
        empty = np.empty(0, np.float64)
        return empty, np.empty(0, np.int64), np.empty(0, np.bool_), [], [], []
    layout = list(zip(views, sizes, widths, strict=True))
    means = np.frombuffer(b"".join(buf[header : header + 8 * n] for buf, n, _ in layout), "<f8")
    if len(set(widths)) == 1:  # the usual case: one width, one buffer
        width = _WEIGHT_DTYPES[widths[0]]
        weights = np.frombuffer(b"".join(buf[header + 8 * n : header + (8 + w) * n] for buf, n, w in layout), width)
    else:
        weights = np.concatenate([np.frombuffer(buf, _WEIGHT_DTYPES[w], n, header + 8 * n) for buf, n, w in layout])
    weights = weights.astype(np.int64)
    pure = np.concatenate(
        [
            np.unpackbits(np.frombuffer(buf, np.uint8, (n + 7) // 8, header + (8 + w) * n), count=n, bitorder="little")
            for buf, n, w in layout
        ]
    ).astype(np.bool_)
    lasts = np.cumsum(sizes) - 1  # each blob's last centroid
    firsts = lasts - np.array(sizes) + 1
    ascending = means[1:] >= means[:-1]  # False at a NaN too: with finite bounds below, every mean is finite
    ascending[lasts[:-1]] = True  # a blob's last mean against the next blob's first is no order
    if (
        not ascending.all()
        or (weights < 1).any()
        or (_may_overflow(max(widths), len(weights)) and not _total_fits(weights))
        or not (np.array(minimums) <= means[firsts]).all()
        or not (means[lasts] <= np.array(maximums)).all()
        or not pure[weights == 1].all()
    ):
        return None
    return means, weights, pure, minimums, maximums, compressions


def _consistent(means: FloatArray, weights: IntArray, pure: BoolArray, minimum: float, maximum: float) -> bool:
    """Every check below at once, in fewer passes (a store decodes a digest per read-merge-write): ordered
    means (a NaN fails >=) between finite bounds are all finite. False sends the caller to the checks that
    name the problem."""
    return bool(
        math.isfinite(minimum)
        and math.isfinite(maximum)
        and minimum <= means[0]
        and means[-1] <= maximum
        and (means[1:] >= means[:-1]).all()
        and weights.min() >= 1
        and pure[weights == 1].all()
    )


_INT64_MAX = (1 << 63) - 1


def _may_overflow(width: int, n: int) -> bool:
    """Whether n weights of `width` bytes can sum past int64: 8-byte weights, or more than 2**31 narrower ones."""
    return ((1 << 8 * width) - 1) * n > _INT64_MAX


def _total_fits(weights: IntArray) -> bool:
    """Whether the weights' total is an int64: a wrapped sum could read as any count, n among them, which
    to_bytes takes for n unit weights. The bound on the largest weight settles every real digest in one pass."""
    return int(weights.max()) <= _INT64_MAX // len(weights) or sum(map(int, weights)) <= _INT64_MAX


def _checked_compression(compression: float) -> float:
    compression = float(compression)
    if not (math.isfinite(compression) and compression >= 1.0):
        raise SketchError(f"t-digest compression must be a finite number >= 1, got {compression!r}")
    return compression


def _check_decoded(
    means: FloatArray, weights: IntArray, pure: BoolArray, minimum: float, maximum: float
) -> None:
    if len(means) == 0 or _consistent(means, weights, pure, minimum, maximum):
        return
    if not (np.isfinite(means).all() and math.isfinite(minimum) and math.isfinite(maximum)):
        raise CorruptSketchError("corrupt t-digest: non-finite mean, min or max")
    if (np.diff(means) < 0).any():
        raise CorruptSketchError("corrupt t-digest: centroid means are not in order")
    if (weights < 1).any():
        raise CorruptSketchError("corrupt t-digest: a centroid weight is below 1 (or overflows int64)")
    if not minimum <= means[0] <= means[-1] <= maximum:
        raise CorruptSketchError("corrupt t-digest: centroid means lie outside [min, max]")
    if not pure[weights == 1].all():
        raise CorruptSketchError("corrupt t-digest: a unit-weight centroid is not marked pure")

