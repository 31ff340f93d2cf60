"""The orphan sweep: open runners past the spec's max_runtime resolve as orphaned, each counted once."""

from processors.sweeping.service import Sweeper

__all__ = ["Sweeper"]
