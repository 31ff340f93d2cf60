"""The store contract for grouped SLOs: group series, the group registry and per-group alert states read the
same through every adapter, before and after a rollup, whatever characters a group value holds."""

from __future__ import annotations

from processors import conventions
from processors.decoding import Position
from processors.store import CheckpointAdvance, Commit, CounterKey, keys
from tests.builders import T0, cid

M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
HOUR0 = int(T0)
# values that look like key, TTL or exemplar attributes, a separator, a quote, and non-ASCII
GROUPS = ("acme/web", "pk", "sk", "x", "expiresAt", "a#b", "o'r", "café/ünïcode", conventions.GROUP_OTHER)


def grouped_commit(expected: Position | None, to: Position, minute: int) -> Commit:
    bucket = HOUR0 + minute * 60
    registry = keys.group_registry_series("deploys")
    counters: dict[CounterKey, dict[str, int]] = {
        CounterKey(registry, H, HOUR0): {keys.group_field(GROUPS[minute % len(GROUPS)]): 1},
    }
    exemplars = {}
    for n, group in enumerate(GROUPS):
        series = keys.series_id("deploys", "", group)
        good = int((minute + n) % 3 != 0)
        fields = {"good": 1, "total": 1} if good else {"total": 1}  # as ingest commits them: no zero fields
        counters[CounterKey(series, M, bucket)] = dict(fields)
        counters[CounterKey(series, H, HOUR0)] = dict(fields)
        if not good:
            exemplars[(series, bucket)] = [cid(minute * 100 + n)]
    return Commit(
        checkpoint=CheckpointAdvance("stream", "shard-0", expected, to, newest_event=bucket + 30),
        counters=counters,
        exemplars=exemplars,
    )


def reads(store) -> dict[str, object]:
    store.refresh()
    series = {group: keys.series_id("deploys", "", group) for group in GROUPS}
    return {
        "groups": store.groups("deploys"),
        "windows": {g: store.window_counts(s, HOUR0, HOUR0 + 3600) for g, s in series.items()},
        "minutes": {g: store.buckets(s, M, HOUR0, HOUR0 + 600) for g, s in series.items()},
        "exemplars": {g: store.exemplars(s, HOUR0, HOUR0 + 3600, limit=3) for g, s in series.items()},
    }


def test_group_series_and_the_registry_read_the_same_before_and_after_a_rollup(store):
    position: Position | None = None
    for minute in range(len(GROUPS)):
        to = Position(minute + 1)
        store.commit(grouped_commit(position, to, minute))
        position = to
    before = reads(store)
    assert before["groups"] == set(GROUPS)
    assert before["windows"]["acme/web"].total == len(GROUPS)
    assert before["minutes"]["café/ünïcode"][HOUR0 + 60] == {"good": 1, "total": 1}
    store.rollup(HOUR0 + 2 * 3600)
    assert reads(store) == before


def test_an_slo_without_a_registry_has_no_groups(store):
    assert store.groups("deploys") == set()


def test_per_group_alert_states_are_kept_apart_and_saved_atomically(store):
    names = {group: keys.alert_state_sk("deploys", group) for group in GROUPS}
    states = {name: {"burn": {"level": "ok"}, "group": group} for group, name in names.items()}
    store.save_alert_evaluation(states, [], 500)
    assert store.load_alert_states() == states
    stale = {names["acme/web"]: {"burn": {"level": "page"}}}
    assert store.save_alert_evaluation(stale, [], 400) == []
    assert store.load_alert_states()[names["acme/web"]] == states[names["acme/web"]]
