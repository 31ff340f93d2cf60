"""Where the adapters used to differ (issue #12), one contract: alert-state staleness per SLO, an alert save
that is stale records nothing, and the open-unit lookback bounded by the trace TTL, oldest first."""

from __future__ import annotations

from processors.stitching.model import TraceHead
from processors.store.types import Commit, HeadWrite
from tests.builders import T0, cid

DAY = 86400


def firing(slo: str, at: int) -> dict:
    return {"id": f"{slo}#burn_rate#page#1h/5m#firing#{at}", "slo": slo, "state": "firing", "at_epoch": at}


def test_a_newer_state_of_another_slo_does_not_make_a_save_stale(store):
    store.save_alert_evaluation({"removed-slo": {"v": 1}}, [], 500)  # e.g. an SLO since deleted from the spec
    recorded = store.save_alert_evaluation({"api": {"v": 2}}, [firing("api", 400)], 400)
    assert [t["id"] for t in recorded] == [firing("api", 400)["id"]]
    assert store.load_alert_states() == {"removed-slo": {"v": 1}, "api": {"v": 2}}


def test_a_save_that_is_stale_for_one_of_its_slos_records_nothing_at_all(store):
    store.save_alert_evaluation({"api": {"v": 1}}, [], 500)
    recorded = store.save_alert_evaluation({"api": {"v": 0}, "deploy": {"v": 0}}, [firing("deploy", 400)], 400)
    assert recorded == []
    assert store.load_alert_states() == {"api": {"v": 1}}  # atomic: deploy's state was not written either
    assert store.alert_log() == []


def open_runner(n: int, started_ms: int) -> dict[str, HeadWrite]:
    head = TraceHead(correlation_id=cid(n), milestones={"runner_started": started_ms}, open_since_ms=started_ms,
                     first_seen_ms=started_ms)
    return {cid(n): HeadWrite(head, ttl=0)}


def test_open_units_are_looked_back_over_the_trace_ttl_oldest_first_ties_by_id(store):
    now = int(T0)
    ttl = store.trace_ttl_days * DAY
    started = {
        1: now - ttl - 2 * 3600,  # before the lookback's first hour: both adapters leave it out
        2: now - 3600, 3: now - 3600,  # a tie: ordered by ID
        4: now - ttl + 60,
        5: now - 60,
    }
    for n, seconds in started.items():
        store.commit(Commit(heads=open_runner(n, seconds * 1000)))
    assert store.open_units(now) == [cid(4), cid(2), cid(3), cid(5)]
    assert store.open_units(now - 3600) == [cid(4)]


def transition(slo: str, kind: str, at: int) -> dict:
    return {"id": f"{slo}#{kind}#page#1h/5m#firing#{at}", "slo": slo, "kind": kind, "at_epoch": at}


def test_one_minutes_transitions_come_back_in_the_order_recorded_not_by_id(store):
    # the evaluator records SLOs in spec order and burn_rate before budget: neither is the IDs' order
    first = [transition("queue-latency", "budget", 180), transition("api-availability", "budget", 180)]
    store.save_alert_evaluation({"queue-latency": {"v": 1}, "api-availability": {"v": 1}}, first, 180)
    second = [transition("api-availability", "burn_rate", 240), transition("api-availability", "budget", 240)]
    store.save_alert_evaluation({"api-availability": {"v": 2}}, second, 240)
    late = [transition("deploy", "budget", 240)]  # a retry of the same minute recording one more
    store.save_alert_evaluation({"deploy": {"v": 2}}, late, 240)
    assert [t["id"] for t in store.alert_log()] == [t["id"] for t in first + second + late]
    assert [t["id"] for t in store.alert_log(since=240)] == [t["id"] for t in second + late]


def test_a_save_older_than_one_that_judged_an_slo_is_stale_though_that_one_wrote_none_of_its_states(store):
    """A steady minute writes no unchanged state (processors/alerting/service.py), so the states' own times lag:
    the SLOs it judged make every older evaluation of theirs stale all the same (a late Lambda retry)."""
    store.save_alert_evaluation({"api": {"v": 1}}, [], 300, judged={"api"})
    assert store.save_alert_evaluation({}, [], 500, judged={"api"}) == []  # steady: nothing written
    assert store.save_alert_evaluation({"api": {"v": 0}}, [firing("api", 400)], 400, judged={"api"}) == []
    assert store.load_alert_states() == {"api": {"v": 1}}
    assert store.alert_log() == []


def test_an_slo_judged_later_does_not_make_a_save_of_another_slo_stale_and_a_retry_of_the_minute_is_not(store):
    store.save_alert_evaluation({}, [], 500, judged={"removed-slo"})
    assert store.save_alert_evaluation({"api": {"v": 2}}, [firing("api", 400)], 400, judged={"api"}) == [
        firing("api", 400)]
    budget = {"id": "api#budget#warning#firing#400", "slo": "api", "state": "firing", "at_epoch": 400}
    retried = store.save_alert_evaluation({"api": {"v": 3}}, [firing("api", 400), budget], 400, judged={"api"})
    assert retried == [budget] and store.load_alert_states() == {"api": {"v": 3}}  # not stale; recorded once
    assert sorted(t["id"] for t in store.alert_log()) == sorted([firing("api", 400)["id"], budget["id"]])
