"""One notification per transition: the claim port on both adapters, and two evaluators racing over DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from processors.alerting.exceptions import NotificationError, NotificationsFailedError
from processors.alerting.service import evaluate_and_record
from processors.decoding import decode_record
from processors.ingest import Ingestor
from processors.store import DynamoDBStore, dynamodb_client
from processors.store.types import NotificationClaim
from processors.store.view import StoreView
from tests.builders import STREAM_ARN, T0, cid, cw_payload, gz, kinesis_record, log_line
from tests.conftest import create_table

CLAIM = NotificationClaim(slo="api-availability", transition="burn_rate#page#1h/5m#firing", minute=int(T0))


def test_one_owner_wins_a_claim_and_the_loser_does_not(store) -> None:
    assert store.claim_notification(CLAIM, "a", T0)
    assert not store.claim_notification(CLAIM, "b", T0)
    assert store.claim_notification(CLAIM, "a", T0 + 1)  # the same evaluation claiming again (its own retry)


def test_claims_of_other_minutes_groups_or_transitions_are_independent(store) -> None:
    assert store.claim_notification(CLAIM, "a", T0)
    for other in (
        NotificationClaim(CLAIM.slo, CLAIM.transition, CLAIM.minute + 60),
        NotificationClaim(CLAIM.slo, CLAIM.transition, CLAIM.minute, group="eu"),
        NotificationClaim(CLAIM.slo, "burn_rate#page#1h/5m#resolved", CLAIM.minute),
        NotificationClaim("deploy-success", CLAIM.transition, CLAIM.minute),
    ):
        assert store.claim_notification(other, "b", T0)


def test_a_lease_whose_holder_vanished_can_be_taken_over_but_a_published_claim_never(store) -> None:
    assert store.claim_notification(CLAIM, "crashed", T0)
    assert not store.claim_notification(CLAIM, "retry", T0 + CLAIM.lease_seconds - 1)
    assert store.claim_notification(CLAIM, "retry", T0 + CLAIM.lease_seconds + 1)
    store.settle_notification(CLAIM, "retry", published=True)
    assert not store.claim_notification(CLAIM, "late", T0 + 10 * CLAIM.lease_seconds)
    assert not store.claim_notification(CLAIM, "retry", T0 + 10 * CLAIM.lease_seconds)


def test_a_released_claim_after_a_failed_publish_can_be_claimed_by_the_retry(store) -> None:
    assert store.claim_notification(CLAIM, "a", T0)
    store.settle_notification(CLAIM, "b", published=False)  # not b's to release: nothing happens
    assert not store.claim_notification(CLAIM, "c", T0)
    store.settle_notification(CLAIM, "a", published=False)
    assert store.claim_notification(CLAIM, "c", T0)


def test_a_claim_reads_as_published_only_once_its_holder_settled_it_published(store) -> None:
    assert not store.notification_published(CLAIM)  # free
    assert store.claim_notification(CLAIM, "a", T0)
    assert not store.notification_published(CLAIM)  # held: its holder may still crash, so it is still to send
    store.settle_notification(CLAIM, "a", published=False)
    assert not store.notification_published(CLAIM)
    assert store.claim_notification(CLAIM, "b", T0)
    store.settle_notification(CLAIM, "b", published=True)
    assert store.notification_published(CLAIM)


# --- two evaluators racing over DynamoDB on moto's server ---------------------------------------------------


class RecordingNotifier:
    """Remembers what it published; `during_publish` runs inside the first publish (to interleave a rival)."""

    def __init__(self, during_publish: Callable[[], None] | None = None, fail: bool = False) -> None:
        self.published: list[dict[str, Any]] = []
        self.during_publish = during_publish
        self.fail = fail

    def publish(self, transition: Any) -> None:
        if self.fail:
            raise NotificationError("SNS refused")
        if self.during_publish is not None:
            rival, self.during_publish = self.during_publish, None
            rival()
        self.published.append(dict(transition))


def outage(store: Any, spec: Any) -> int:
    """Half of an hour's API requests fail: api-availability pages. Returns the minute to evaluate."""
    records = [
        kinesis_record(gz(cw_payload([log_line("api_request", T0 + n * 30, cid(n), "Api",
                                               status=500 if n % 2 else 200)])), n + 1)
        for n in range(120)
    ]
    report = Ingestor(store, spec).apply_batch(STREAM_ARN, "shardId-000000000000", [decode_record(r) for r in records])
    assert report.events == 120
    return int(T0) + 3600


@pytest.fixture
def racing_store(moto_endpoint: str) -> DynamoDBStore:
    return DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))


class WithoutClaims:
    """The same DynamoDB store with the claim port hidden: what the evaluator did before claims existed."""

    def __init__(self, store: DynamoDBStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        if name in ("claim_notification", "settle_notification"):
            raise AttributeError(name)
        return getattr(self.store, name)


def race(store: Any, spec: Any, now: int) -> tuple[list[str], list[str]]:
    """Two evaluations of `now`: the second starts while the first publishes, and saves before it."""
    second = RecordingNotifier()

    def rival_evaluation() -> None:
        evaluate_and_record(store, StoreView(store), spec, now, second)

    first = RecordingNotifier(during_publish=rival_evaluation)
    evaluate_and_record(store, StoreView(store), spec, now, first)
    return [t["id"] for t in first.published], [t["id"] for t in second.published]


def test_two_evaluations_of_the_same_minute_that_overlap_publish_each_transition_once(moto_endpoint, spec) -> None:
    alone = DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))
    now = outage(alone, spec)
    lone = RecordingNotifier()
    evaluate_and_record(alone, StoreView(alone), spec, now, lone)
    expected = sorted(t["id"] for t in lone.published)
    assert any("api-availability#burn_rate#page" in i and i.endswith(f"firing#{now}") for i in expected)

    racing = DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))
    outage(racing, spec)
    first, second = race(racing, spec, now)
    assert sorted(first + second) == expected  # each exactly once, by whichever evaluation claimed it
    assert first and len(set(first) & set(second)) == 0

    unguarded = DynamoDBStore(dynamodb_client(moto_endpoint), create_table(moto_endpoint))
    outage(unguarded, spec)
    first, second = race(WithoutClaims(unguarded), spec, now)
    assert set(first) & set(second)  # without claims the overlap pages twice: the defect this guards


def test_a_failed_publish_gives_the_claim_back_so_the_retry_pages(racing_store, spec) -> None:
    now = outage(racing_store, spec)
    with pytest.raises(NotificationsFailedError):
        evaluate_and_record(racing_store, StoreView(racing_store), spec, now, RecordingNotifier(fail=True))
    retry = RecordingNotifier()
    evaluate_and_record(racing_store, StoreView(racing_store), spec, now, retry)
    assert any(t["slo"] == "api-availability" and t["state"] == "firing" for t in retry.published)


class ReadBefore:
    """The store, except that the evaluation's first reads (floors, then states) answer what was stored at
    `snapshot` time: an evaluation that read them before another one's save, then saved after its delivery."""

    def __init__(self, store: Any) -> None:
        self.store, self.floors, self.states = store, store.alert_floors(), store.load_alert_states()

    def alert_floors(self) -> dict[str, int]:
        floors, self.floors = self.floors, None
        return floors if floors is not None else self.store.alert_floors()

    def load_alert_states(self, *args: Any) -> Any:
        states, self.states = self.states, None
        return states if states is not None else self.store.load_alert_states(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_an_evaluation_of_the_next_minute_that_read_the_states_before_this_ones_save_pages_nothing_twice(
        store, spec) -> None:
    """Evaluations of adjacent minutes that overlap (an evaluator minute longer than a minute): the later one
    advanced the states it read before the earlier one's save, so it opened the same incident again a minute
    later, with its own transition, claim and dedup_key, and paged it a second time."""
    now = outage(store, spec)
    late = ReadBefore(store)
    first, second = RecordingNotifier(), RecordingNotifier()
    evaluate_and_record(store, StoreView(store), spec, now, first)
    evaluate_and_record(late, StoreView(store), spec, now + 60, second)
    pages = [t["id"] for notifier in (first, second) for t in notifier.published if t["kind"] == "burn_rate"]
    assert pages == [f"api-availability#burn_rate#page#1h/5m#firing#{now}"]
    third = RecordingNotifier()
    evaluate_and_record(store, StoreView(store), spec, now + 120, third)  # the next minute carries on
    assert [t for t in third.published if t["kind"] == "burn_rate"] == []
    assert [t["id"] for t in store.alert_log() if t["kind"] == "burn_rate"] == pages
