"""Store errors. Transient ones are retried (the batch is reported as failed from the first unapplied record)."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed."""


class TransientStoreError(StoreError):
    """Throttling, a transaction conflict or a lost race: retrying the same batch is correct."""


class CommitConflictError(TransientStoreError):
    """A checkpoint, trace head or digest changed since it was read; re-read and retry."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached or used as configured (missing table, bad file)."""
