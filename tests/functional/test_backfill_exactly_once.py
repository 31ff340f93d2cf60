"""`slo backfill` is exactly once under any interruption: hypothesis stops backfills after any commit (whole
files or chunks inside one, at any commit size) any number of times, and the run that finally finishes leaves
every series, revision record and live checkpoint as one uninterrupted backfill does, with the new revision
counted as a fresh replay under the new spec counts it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors import conventions
from processors.decoding import parser_for
from processors.replay import Replayer, read_batches
from processors.replay.backfill import Backfiller, BackfillPlan, begin
from processors.replay.sources import arrival_order
from processors.spec import Spec, load_spec
from processors.store import SqliteStore
from processors.store.base import Store
from processors.store.keys import is_backfill_stream
from tests.builders import T0, cid
from tests.revisions import SLO, write_orphans, write_requests, write_specs, write_units

M, H = conventions.RESOLUTION_MINUTE, conventions.RESOLUTION_HOUR
SPAN = (0, 4_102_444_800)
EARLY_HOURS = ((0, 1), (1, 2))  # two files of history before the new revision went live


class Interrupted(Exception):
    pass


class Interrupting:
    """The store, stopping the run (as Ctrl-C or a killed process would) once `after` commits have landed."""

    def __init__(self, store: Store, after: int) -> None:
        self._store, self._left = store, after

    def commit(self, commit: Any) -> None:
        if self._left <= 0:
            raise Interrupted
        self._store.commit(commit)
        self._left -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("backfill")
    v1, v2 = write_specs(folder)
    early = [write_requests(folder / f"early-{a}.jsonl", a, b) for a, b in EARLY_HOURS]
    late = write_requests(folder / "late.jsonl", 2, 3)
    specs = {"v1": load_spec(v1), "v2": load_spec(v2)}
    fresh = SqliteStore(folder / "fresh.db")
    replay(fresh, specs["v2"], [*early, late])
    inputs = {"folder": folder, "early": early, "late": late, **specs}
    inputs["truth"] = series_rows(fresh, specs["v2"].slo(SLO).series())
    clean = live_store(folder / "clean.db", inputs)
    backfill(clean, inputs, limit=None)
    inputs["clean"] = snapshot(clean, inputs)
    return inputs


def replay(store: Store, spec: Spec, paths: list[Path]) -> None:
    parser = parser_for(spec.log_format)
    Replayer(store, spec).run(arrival_order([read_batches(path, parser) for path in paths]))


def live_store(path: Path, inputs: dict[str, Any]) -> SqliteStore:
    """Two hours ingested under the shipped spec, then one under the changed matcher."""
    store = SqliteStore(path)
    replay(store, inputs["v1"], inputs["early"])
    replay(store, inputs["v2"], [inputs["late"]])
    return store


def backfill(store: Any, inputs: dict[str, Any], limit: int | None) -> None:
    spec = inputs["v2"]
    revision = spec.slo(SLO).revision
    recorded = store.backfill_plan(SLO, revision)  # as the CLI: a rerun follows the first run's plan
    if recorded is None:
        until = store.revisions(SLO)[revision]
        plan = begin(store, BackfillPlan(SLO, revision, until - 30 * conventions.DAY, until))
    else:
        plan = BackfillPlan.from_document(recorded)
    store.max_items_per_commit = limit  # a small limit cuts each file into many commits, as DynamoDB's does
    parser = parser_for(spec.log_format)
    paths = [*inputs["early"], inputs["late"]]
    Backfiller(store, spec, plan).run(arrival_order([read_batches(path, parser) for path in paths]))


def series_rows(store: Store, series: str) -> dict[str, Any]:
    return {resolution: store.buckets(series, resolution, *SPAN) for resolution in (M, H)}


def snapshot(store: Store, inputs: dict[str, Any]) -> dict[str, Any]:
    series = {inputs[v].slo(SLO).series() for v in ("v1", "v2")} | {conventions.TRACE_COVERAGE_SLI}
    return {
        "series": {name: series_rows(store, name) for name in sorted(series)},
        "revisions": store.revisions(SLO),
        "live": sorted((c.stream, c.shard, c.position) for c in store.checkpoints()
                       if not is_backfill_stream(c.stream)),
        "newest": store.newest_event_time(),
    }


def test_one_backfill_counts_the_new_revision_as_a_fresh_replay_does(inputs: dict[str, Any]) -> None:
    assert inputs["clean"]["series"][inputs["v2"].slo(SLO).series()] == inputs["truth"]
    assert inputs["clean"]["series"][inputs["v1"].slo(SLO).series()][M]  # the earlier revision is still there


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.sampled_from([None, 8, 20, 64]),
    stops=st.lists(st.integers(min_value=0, max_value=60), max_size=3),
)
def test_any_interruptions_end_as_one_uninterrupted_backfill(
    inputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, limit: int | None, stops: list[int]
) -> None:
    store = live_store(tmp_path_factory.mktemp("interrupted") / "slo.db", inputs)
    for after in stops:
        with contextlib.suppress(Interrupted):
            backfill(Interrupting(store, after), inputs, limit)
    backfill(store, inputs, limit)
    backfill(store, inputs, limit)  # and once more, for good measure: nothing left to count
    assert snapshot(store, inputs) == inputs["clean"]


# --- a stitched latency SLI: units whose start and end lie in different files, decided in memory ---------------

LATENCY_SLO = "queue-latency"
UNITS = 90


@pytest.fixture(scope="module")
def stitched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Units with webhook_received in one file and runner_started in another (tests/revisions.write_units)."""
    folder = tmp_path_factory.mktemp("stitched")
    paths, v2 = write_units(folder, UNITS)
    inputs: dict[str, Any] = {"paths": paths, "v1": load_spec(), "v2": load_spec(v2)}
    fresh = SqliteStore(folder / "fresh.db")
    replay(fresh, inputs["v2"], inputs["paths"])
    inputs["truth"] = latency_rows(fresh, inputs["v2"])
    clean = stitched_live(folder / "clean.db", inputs)
    latency_backfill(clean, inputs, None)
    inputs["clean"] = latency_snapshot(clean, inputs)
    return inputs


def stitched_live(path: Path, inputs: dict[str, Any]) -> SqliteStore:
    store = SqliteStore(path)
    replay(store, inputs["v1"], inputs["paths"])
    return store


def latency_backfill(store: Any, inputs: dict[str, Any], limit: int | None) -> None:
    spec = inputs["v2"]
    plan = begin(store, BackfillPlan(LATENCY_SLO, spec.slo(LATENCY_SLO).revision, int(T0) - 3600, int(T0) + 7200))
    store.max_items_per_commit = limit
    parser = parser_for(spec.log_format)
    Backfiller(store, spec, plan).run(arrival_order([read_batches(path, parser) for path in inputs["paths"]]))


def latency_rows(store: Store, spec: Spec) -> dict[str, Any]:
    digest = store.digest(spec.sketch_series(LATENCY_SLO), *SPAN)
    quantiles = None if digest is None else [round(float(digest.quantile(q)), 3) for q in (0.5, 0.95)]
    return {
        "counts": series_rows(store, spec.slo(LATENCY_SLO).series()),
        "digest": None if digest is None else (digest.count, quantiles),
    }


def latency_snapshot(store: Store, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "new": latency_rows(store, inputs["v2"]),
        "old": latency_rows(store, inputs["v1"]),
        "coverage": series_rows(store, conventions.TRACE_COVERAGE_SLI),
        "heads": {cid_: (head.version, head.milestones, head.claims) for cid_, head in
                  store.heads(cid(n) for n in range(UNITS)).items()},
        "open_units": store.gauge(conventions.OPEN_UNITS_GAUGE),
        "live": sorted((c.stream, c.shard, c.position) for c in store.checkpoints()
                       if not is_backfill_stream(c.stream)),
    }


def test_a_latency_backfill_stitches_in_memory_and_counts_as_a_fresh_replay(stitched: dict[str, Any]) -> None:
    assert stitched["clean"]["new"] == stitched["truth"]
    assert stitched["truth"]["digest"][0] == UNITS and stitched["truth"]["counts"][M]
    assert stitched["clean"]["old"]["digest"][0] == UNITS  # the earlier revision keeps its own series


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.sampled_from([None, 6, 16]), stops=st.lists(st.integers(min_value=0, max_value=40), max_size=3))
def test_any_interruptions_of_a_latency_backfill_end_as_one_uninterrupted_backfill(
    stitched: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, limit: int | None, stops: list[int]
) -> None:
    store = stitched_live(tmp_path_factory.mktemp("stitched-interrupted") / "slo.db", stitched)
    before = latency_snapshot(store, stitched)
    for after in stops:
        with contextlib.suppress(Interrupted):
            latency_backfill(Interrupting(store, after), stitched, limit)
    latency_backfill(store, stitched, limit)
    latency_backfill(store, stitched, limit)
    after_all = latency_snapshot(store, stitched)
    assert after_all == stitched["clean"]
    assert {k: v for k, v in after_all.items() if k != "new"} == {k: v for k, v in before.items() if k != "new"}


# --- a resolution SLI: units resolved by their events or by the orphan sweep, both decided in memory ----------

ORPHAN_SLO = "orphan-rate"
ORPHAN_UNITS = 60


@pytest.fixture(scope="module")
def orphans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("orphans")
    paths, v2 = write_orphans(folder, ORPHAN_UNITS)
    inputs: dict[str, Any] = {"paths": paths, "v1": load_spec(), "v2": load_spec(v2)}
    fresh = SqliteStore(folder / "fresh.db")
    replay(fresh, inputs["v2"], paths)
    inputs["truth"] = series_rows(fresh, inputs["v2"].slo(ORPHAN_SLO).series())
    clean = SqliteStore(folder / "clean.db")
    replay(clean, inputs["v1"], paths)
    orphan_backfill(clean, inputs, None)
    inputs["clean"] = orphan_snapshot(clean, inputs)
    return inputs


def orphan_backfill(store: Any, inputs: dict[str, Any], limit: int | None) -> None:
    spec = inputs["v2"]
    plan = begin(store, BackfillPlan(ORPHAN_SLO, spec.slo(ORPHAN_SLO).revision, int(T0) - 3600, int(T0) + 9 * 3600))
    store.max_items_per_commit = limit
    parser = parser_for(spec.log_format)
    Backfiller(store, spec, plan).run(arrival_order([read_batches(path, parser) for path in inputs["paths"]]))


def orphan_snapshot(store: Store, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "new": series_rows(store, inputs["v2"].slo(ORPHAN_SLO).series()),
        "old": series_rows(store, inputs["v1"].slo(ORPHAN_SLO).series()),
        "coverage": series_rows(store, conventions.TRACE_COVERAGE_SLI),
        "heads": {cid_: (head.version, head.milestones, head.claims, head.open_since_ms) for cid_, head in
                  store.heads(cid(n) for n in range(ORPHAN_UNITS)).items()},
        "open_units": store.gauge(conventions.OPEN_UNITS_GAUGE),
        "live": sorted((c.stream, c.shard, c.position) for c in store.checkpoints()
                       if not is_backfill_stream(c.stream)),
    }


def test_a_resolution_backfill_sweeps_in_memory_and_counts_as_a_fresh_replay(orphans: dict[str, Any]) -> None:
    new = orphans["clean"]["new"]
    assert new == orphans["truth"]
    assert sum(row["total"] for row in new[M].values()) == ORPHAN_UNITS  # every unit resolved once
    good = sum(row.get("good", 0) for row in new[M].values())
    assert 0 < good < ORPHAN_UNITS // 3  # successful early completions only: the sweep took the late ones
    assert orphans["clean"]["old"][M]  # the earlier revision keeps its own series


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.sampled_from([None, 6, 16]), stops=st.lists(st.integers(min_value=0, max_value=40), max_size=3))
def test_any_interruptions_of_a_resolution_backfill_end_as_one_uninterrupted_backfill(
    orphans: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, limit: int | None, stops: list[int]
) -> None:
    store = SqliteStore(tmp_path_factory.mktemp("orphans-interrupted") / "slo.db")
    replay(store, orphans["v1"], orphans["paths"])
    before = orphan_snapshot(store, orphans)
    for after in stops:
        with contextlib.suppress(Interrupted):
            orphan_backfill(Interrupting(store, after), orphans, limit)
    orphan_backfill(store, orphans, limit)
    orphan_backfill(store, orphans, limit)
    after_all = orphan_snapshot(store, orphans)
    assert after_all == orphans["clean"]
    assert {k: v for k, v in after_all.items() if k != "new"} == {k: v for k, v in before.items() if k != "new"}
