"""Replay: sample or historical events through the real ingest path into a local (or any) store."""

from processors.replay.runner import Replayer, ReplayReport
from processors.replay.sources import ShardBatch, SourceError, expand_paths, read_batches

__all__ = ["ReplayReport", "Replayer", "ShardBatch", "SourceError", "expand_paths", "read_batches"]
