"""Stitching: per-correlation-ID traces, the queue-latency pair, first-resolution and orphan decisions."""

from processors.stitching.model import TraceEvent, TraceHead
from processors.stitching.redaction import redact, storable_metadata
from processors.stitching.stitch import Stitcher, StitchResult, stored_id, sweep_orphan

__all__ = [
    "StitchResult", "Stitcher", "TraceEvent", "TraceHead", "redact", "storable_metadata", "stored_id", "sweep_orphan",
]
