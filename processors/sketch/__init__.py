"""Sketching: the merging t-digest that summarizes latencies per (SLI, minute) and (SLI, hour)."""

from processors.sketch.exceptions import (
    CorruptSketchError,
    NonFiniteValueError,
    SketchError,
    SketchFormatError,
    TruncatedSketchError,
    UnknownFormatVersionError,
)
from processors.sketch.tdigest import DEFAULT_COMPRESSION, EXACT_FACTOR, FORMAT_VERSION, TDigest

__all__ = [
    "DEFAULT_COMPRESSION",
    "EXACT_FACTOR",
    "FORMAT_VERSION",
    "CorruptSketchError",
    "NonFiniteValueError",
    "SketchError",
    "SketchFormatError",
    "TDigest",
    "TruncatedSketchError",
    "UnknownFormatVersionError",
]
