"""What a grouped SLO's evaluator minute costs on DynamoDB, in requests (counts, not times: the times are
bench/bench_grouped_minute.py's): its reads per group, and how a minute writes its states."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from processors import conventions
from processors.alerting import record_evaluation
from processors.evaluating.service import evaluate_at
from processors.store import DynamoDBStore, keys
from processors.store.types import Commit, CounterKey
from processors.store.view import StoreView
from tests.builders import T0
from tests.fakes.alerting import MemoryNotifier
from tests.grouped import grouped_spec

MINUTE, HOUR = conventions.MINUTE, conventions.HOUR
GROUPS = [f"acme/repo-{n:03d}" for n in range(150)]  # 151 states with the other SLO's: a staged save
NOW = int(T0) // HOUR * HOUR + 2 * HOUR + 17 * MINUTE  # off the hour: every window has minute edges


class QueryCounter:
    """The boto3 client, counting Queries by partition key."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.partitions: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **kwargs: Any) -> Any:
        self.partitions[kwargs["ExpressionAttributeValues"][":pk"]["S"]] += 1
        return self._client.query(**kwargs)


def grouped_store(dynamodb_store: DynamoDBStore) -> DynamoDBStore:
    """Every group admitted, with a healthy minute before NOW, rolled up."""
    slo = grouped_spec(limit=200).slo("deploy-success")
    registry = keys.group_registry_series(slo.series())
    for n in range(0, len(GROUPS), 50):
        fields = {keys.group_field(group): 1 for group in GROUPS[n : n + 50]}
        dynamodb_store.commit(Commit(counters={CounterKey(registry, "h", NOW - 3 * HOUR + n * MINUTE): fields}))
    counters = {CounterKey(slo.series(group), resolution, bucket): {"good": 5, "total": 5}
                for group in GROUPS for resolution, bucket in (("m", NOW - 2 * MINUTE), ("h", NOW // HOUR * HOUR))}
    items = sorted(counters.items())
    for n in range(0, len(items), 90):
        dynamodb_store.commit(Commit(counters=dict(items[n : n + 90])))
    dynamodb_store.rollup(NOW + HOUR)
    return dynamodb_store


def test_a_group_is_read_in_one_hour_query_and_five_minute_queries_per_evaluation(dynamodb_store) -> None:
    store = grouped_store(dynamodb_store)
    counter = store.client = QueryCounter(store.client)
    spec = grouped_spec(limit=200)
    evaluate_at(StoreView(store), spec, NOW, readings=False)
    slo = spec.slo("deploy-success")
    for group in GROUPS:  # the recent minutes (the tail and the short windows' edges), then 4 long windows' heads
        assert counter.partitions[keys.counter_pk(slo.series(group), "h")] == 1
        assert counter.partitions[keys.counter_pk(slo.series(group), "m")] == 5


class PutsInFlight:
    """The boto3 client, whose first PutItems wait (up to 30 s) until two are in flight at once: a save that put
    its items one at a time would fail here (the first never returns in time) instead of counting as concurrent."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._two_at_once = threading.Event()
        self._in_flight = 0
        self.puts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        with self._lock:
            self._in_flight += 1
            self.puts += 1
            if self._in_flight >= 2:
                self._two_at_once.set()
        try:
            if not self._two_at_once.wait(timeout=30):
                raise AssertionError("no second PutItem was in flight with the first")
            return self._client.put_item(**kwargs)
        finally:
            with self._lock:
                self._in_flight -= 1


def test_a_grouped_slos_new_states_are_put_several_at_once_and_a_steady_minute_writes_none_of_them(
        dynamodb_store) -> None:
    store = grouped_store(dynamodb_store)
    spec = grouped_spec(limit=200)
    puts = store.client = PutsInFlight(store.client)
    view, writes = StoreView(store), store.stats.write_requests
    assert record_evaluation(store, view, evaluate_at(view, spec, NOW - MINUTE).evaluation, MemoryNotifier()) == []
    # every state is new: staged (1 conditional update), applied (151 states, one PutItem each: in a transaction
    # an item costs two write units), cleared (1)
    assert (store.stats.write_requests - writes, puts.puts) == (153, 151)
    view, writes = StoreView(store), store.stats.write_requests
    assert record_evaluation(store, view, evaluate_at(view, spec, NOW).evaluation, MemoryNotifier()) == []
    # nothing changed: no state is written, only the control item's floors move (a transaction of that one item)
    assert (store.stats.write_requests - writes, puts.puts) == (1, 151)
