"""Ingest: the exactly-once application of decoded shard batches (and the orphan sweep) to the store."""

from processors.ingest.service import BatchReport, Ingestor

__all__ = ["BatchReport", "Ingestor"]
