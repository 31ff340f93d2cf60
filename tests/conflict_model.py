"""A DynamoDB client wrapper that adds what moto never does: TransactionConflict, throttling, timeouts after commit.

What each part models (real DynamoDB behaviour, not ours):
- **TransactionConflict.** DynamoDB cancels a TransactWriteItems that touches an item another in-flight
  transaction is writing, with reason `TransactionConflict` for that item, whatever the conditions (an
  unconditional ADD included). A single-item write to such an item fails with `TransactionConflictException`.
  moto serializes requests and never does either. Here every in-flight transaction registers its item keys in a
  SQLite file that all processes of a test share, for as long as its request to the server takes; a transaction
  that finds one of its keys registered is cancelled, with TransactionConflict on exactly those items.
- **Throttling.** With probability `throttle_rate`, a write fails with `ThrottlingException` before it reaches
  the server (on-demand tables throttle on a hot partition the same way).
- **Timeouts after commit.** With probability `timeout_rate`, a transaction is applied by the server and the
  client then sees a `ReadTimeoutError`, so the caller cannot know it committed and must retry safely.

Every outcome is counted by item kind (the partition-key prefix: CNT, DIG, PART, CKPT, TRACE, ...), so a test
can assert that no counter or digest item ever conflicted. It wraps a boto3 client over moto's real server:
our store is not patched.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError


@dataclass
class ModelStats:
    transactions: int = 0  # attempted TransactWriteItems
    committed: int = 0
    conflicts: int = 0  # transactions cancelled with TransactionConflict
    condition_failures: int = 0  # transactions cancelled by a failed condition (moto's own answer)
    throttles: int = 0
    timeouts_after_commit: int = 0
    conflict_items: Counter[str] = field(default_factory=Counter)  # item kind -> TransactionConflict reasons
    condition_items: Counter[str] = field(default_factory=Counter)  # item kind -> ConditionalCheckFailed reasons

    def to_json(self) -> dict[str, Any]:
        items = {"conflict_items": dict(self.conflict_items), "condition_items": dict(self.condition_items)}
        return {**self.__dict__, **items}

    def add(self, other: dict[str, Any]) -> None:
        for name, value in other.items():
            if isinstance(value, dict):
                getattr(self, name).update(value)
            else:
                setattr(self, name, getattr(self, name) + value)


def item_kind(partition_key: str) -> str:
    return partition_key.split("#", 1)[0]


class InFlightRegistry:
    """Item keys of in-flight transactions, shared by every process through one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS inflight (key TEXT PRIMARY KEY, owner TEXT NOT NULL)")

    def acquire(self, owner: str, keys: list[str]) -> list[str]:
        """Register `keys` for `owner`, or return the ones another transaction holds (and register nothing)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            marks = ",".join("?" * len(keys))
            held = [k for (k,) in self.db.execute(f"SELECT key FROM inflight WHERE key IN ({marks})", keys)]
            if not held:
                self.db.executemany("INSERT INTO inflight VALUES (?, ?)", [(k, owner) for k in keys])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return held

    def held(self, keys: list[str]) -> list[str]:
        marks = ",".join("?" * len(keys))
        return [k for (k,) in self.db.execute(f"SELECT key FROM inflight WHERE key IN ({marks})", keys)]

    def release(self, owner: str) -> None:
        self.db.execute("DELETE FROM inflight WHERE owner = ?", (owner,))


def _item_key(operation: dict[str, Any]) -> tuple[str, str]:
    key = operation.get("Key") or operation["Item"]
    return key["PK"]["S"], key["SK"]["S"]


class ConflictModelClient:
    """Wraps a boto3 DynamoDB client; every other method passes through to moto's server unchanged."""

    def __init__(
        self,
        client: Any,
        registry: str | Path,
        *,
        throttle_rate: float = 0.0,
        timeout_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.client = client
        self.registry = InFlightRegistry(registry)
        self.random = random.Random(seed)
        self.throttle_rate = throttle_rate
        self.timeout_rate = timeout_rate
        self.stats = ModelStats()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        operations = [next(iter(entry.values())) for entry in kwargs["TransactItems"]]
        keys = [f"{op['TableName']}|{pk}|{sk}" for op in operations for pk, sk in [_item_key(op)]]
        self.stats.transactions += 1
        self._maybe_throttle("TransactWriteItems")
        owner = uuid.uuid4().hex
        held = set(self.registry.acquire(owner, keys))
        if held:
            self.stats.conflicts += 1
            reasons = []
            for key in keys:
                if key in held:
                    self.stats.conflict_items[item_kind(key.split("|")[1])] += 1
                    reasons.append({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})
                else:
                    reasons.append({"Code": "None"})
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        try:
            try:
                response = self.client.transact_write_items(**kwargs)
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons", [])
                for key, reason in zip(keys, reasons, strict=False):
                    if reason.get("Code") == "ConditionalCheckFailed":
                        self.stats.condition_items[item_kind(key.split("|")[1])] += 1
                if reasons:
                    self.stats.condition_failures += 1
                raise
        finally:
            self.registry.release(owner)
        self.stats.committed += 1
        if self.timeout_rate and self.random.random() < self.timeout_rate:
            self.stats.timeouts_after_commit += 1
            raise ReadTimeoutError(endpoint_url="conflict-model (the transaction committed)")
        return dict(response)

    def _single_write(self, method: str, **kwargs: Any) -> Any:
        self._maybe_throttle(method)
        pk, sk = _item_key(kwargs)
        if self.registry.held([f"{kwargs['TableName']}|{pk}|{sk}"]):
            self.stats.conflict_items[item_kind(pk)] += 1
            raise ClientError(
                {"Error": {"Code": "TransactionConflictException", "Message": "in-flight transaction"}}, method
            )
        return getattr(self.client, method)(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        return self._single_write("put_item", **kwargs)

    def update_item(self, **kwargs: Any) -> Any:
        return self._single_write("update_item", **kwargs)

    def delete_item(self, **kwargs: Any) -> Any:
        return self._single_write("delete_item", **kwargs)

    def _maybe_throttle(self, operation: str) -> None:
        if self.throttle_rate and self.random.random() < self.throttle_rate:
            self.stats.throttles += 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)

    def save_stats(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.stats.to_json()))


__all__ = ["ConflictModelClient", "InFlightRegistry", "ModelStats", "item_kind"]
