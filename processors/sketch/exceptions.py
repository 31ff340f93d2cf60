"""Sketch errors: each str() is one line that says what was wrong."""

from __future__ import annotations


class SketchError(ValueError):
    """A sketch could not be built, queried or decoded."""


class NonFiniteValueError(SketchError):
    """The input held NaN or ±inf; a t-digest summarizes finite floats only."""


class SketchFormatError(SketchError):
    """Serialized bytes are not a valid t-digest."""


class UnknownFormatVersionError(SketchFormatError):
    """The first byte names a format version this build cannot read."""

    def __init__(self, version: int, supported: int) -> None:
        self.version = version
        self.supported = supported
        super().__init__(f"unknown t-digest format version {version} (this build reads version {supported})")


class TruncatedSketchError(SketchFormatError):
    """The bytes end before the layout says they should."""

    def __init__(self, needed: int, got: int) -> None:
        self.needed = needed
        self.got = got
        super().__init__(f"truncated t-digest: needed {needed} bytes, got {got}")


class CorruptSketchError(SketchFormatError):
    """The bytes have the right length but break an invariant (order, weights, bounds)."""
