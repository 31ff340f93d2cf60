"""Ingest: the exactly-once application of decoded shard batches to the store (service.py), in commits
that fit the store's transaction limit (chunking.py)."""

from processors.ingest.service import BatchReport, Ingestor

__all__ = ["BatchReport", "Ingestor"]
