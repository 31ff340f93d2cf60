"""The orphan sweep: units of work still open past the spec's max_runtime resolve as orphaned, each counted once."""

from processors.sweeping.service import Sweeper

__all__ = ["Sweeper"]
