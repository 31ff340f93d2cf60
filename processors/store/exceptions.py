"""Store errors. Transient ones are retried (the batch is reported as failed from the first unapplied record)."""

from __future__ import annotations


class StoreError(Exception):
    """A store operation failed."""


class TransientStoreError(StoreError):
    """Throttling, a transaction conflict or a lost race: retrying the same batch is correct."""

    kind = "transient"  # what a retry counts it as: conflict, throttle, or transient (e.g. a timeout)


class CommitConflictError(TransientStoreError):
    """A checkpoint, trace head or digest changed since it was read; re-read and retry."""

    kind = "conflict"


class TransactionConflictError(TransientStoreError):
    """DynamoDB cancelled the transaction because another in-flight transaction was writing one of its items."""

    kind = "conflict"


class ThrottledError(TransientStoreError):
    """The table (or a partition of it) is over its throughput: back off and retry."""

    kind = "throttle"


class StoreUnavailableError(StoreError):
    """The store cannot be reached or used as configured (missing table, bad file)."""


class CorruptItemError(StoreError):
    """An item the store holds does not decode (a damaged file, or written by something else)."""
