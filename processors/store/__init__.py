"""The store port (base.Store) and its adapters: SQLite (embedded, the CLI default) and DynamoDB (Lambda)."""

from __future__ import annotations

from typing import Any

from processors.store.base import Store
from processors.store.dynamodb import DynamoDBStore
from processors.store.exceptions import (
    CommitConflictError,
    StoreError,
    StoreUnavailableError,
    ThrottledError,
    TransactionConflictError,
    TransientStoreError,
)
from processors.store.sqlite import SqliteStore
from processors.store.types import Checkpoint, CheckpointAdvance, Commit, CounterKey, DigestKey, HeadWrite

__all__ = [
    "Checkpoint",
    "CheckpointAdvance",
    "Commit",
    "CommitConflictError",
    "CounterKey",
    "DigestKey",
    "DynamoDBStore",
    "HeadWrite",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "ThrottledError",
    "TransactionConflictError",
    "TransientStoreError",
    "dynamodb_client",
    "open_dynamodb_store",
    "open_sqlite_store",
]


def open_sqlite_store(path: str, *, read_only: bool = False) -> SqliteStore:
    return SqliteStore(path, read_only=read_only)


def dynamodb_client(endpoint_url: str | None = None, *, read_timeout: int = 10, region: str | None = None) -> Any:
    """A DynamoDB client with adaptive retries (throttles back off before surfacing as transient errors).

    `region` overrides AWS_REGION / AWS_DEFAULT_REGION / the profile's; a local endpoint needs one too."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=3, read_timeout=read_timeout)
    return boto3.client("dynamodb", endpoint_url=endpoint_url, config=config, region_name=region)


def open_dynamodb_store(
    table_name: str,
    *,
    endpoint_url: str | None = None,
    client: Any = None,
    trace_ttl_days: int | None = None,
    region: str | None = None,
) -> DynamoDBStore:
    """`trace_ttl_days` bounds how far back the orphan sweep looks for open units (the spec's value)."""
    store = DynamoDBStore(client or dynamodb_client(endpoint_url, region=region), table_name)
    if trace_ttl_days is not None:
        store.trace_ttl_days = trace_ttl_days
    return store
