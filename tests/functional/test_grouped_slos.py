"""Grouped SLOs (issue #17): `group_by: [repository]` gives one series per repository, pages per (SLO, group),
folds values past `group_limit` into __other__ (counted), and reads the same through both store adapters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from processors import conventions
from processors.cli import main
from processors.evaluating.service import evaluate_at
from processors.store import SqliteStore
from processors.store.view import StoreView
from tests.builders import T0
from tests.grouped import MINUTE, Deploys, deliver, grouped_spec, run

END = int(T0) + 90 * MINUTE


def pages(notifier: Any) -> list[tuple[str, str, str]]:
    return [(t["slo"], t.get("group", ""), t["state"]) for t in notifier.sent if t["route"] == "page"]


def test_a_grouped_deploy_success_slo_pages_for_the_failing_repository_while_the_others_stay_green(store):
    spec = grouped_spec()
    notifier = run(store, spec, Deploys(minutes=90), every=10)  # acme/api fails from minute 60
    assert pages(notifier) == [("deploy-success", "acme/api", "firing")]
    (page,) = [t for t in notifier.sent if t["route"] == "page"]
    assert page["id"].endswith("#acme%2Fapi")
    assert page["incident"].startswith("deploy-success[acme/api]#")
    assert page["exemplars"]  # the failing repository's own bad deploys
    from processors.alerting.notify import subject

    assert subject(page).startswith("PAGE deploy-success[acme/api] burning")
    states = store.load_alert_states()
    assert set(states) == {"deploy-success#acme%2Fapi", "deploy-success#acme%2Fdocs", "deploy-success#acme%2Fweb",
                           "api-availability"}
    assert states["deploy-success#acme%2Fweb"]["burn"]["level"] == "ok"
    assert states["deploy-success#acme%2Fapi"]["burn"]["level"] == "page"

    evaluation = evaluate_at(StoreView(store), spec, END, readings=False).evaluation.get("deploy-success")
    by_group = {g.group: (g.counts.good, g.counts.total) for g in evaluation.groups}
    assert by_group == {"acme/api": (150, 180), "acme/docs": (180, 180), "acme/web": (180, 180)}
    assert (evaluation.counts.good, evaluation.counts.total) == (510, 540)  # the whole SLO still counts all
    assert [g.group for g in evaluation.worst_groups()] == ["acme/api", "acme/docs", "acme/web"]


def test_values_past_the_group_limit_fold_into_other_and_the_fold_is_counted(store):
    spec = grouped_spec(limit=2)
    deploys = Deploys(repositories=("a/one", "a/two", "a/three", "a/four"), failing="a/four", minutes=3)
    reports = [deliver(store, spec, list(deploys.lines(m)), 1000 + m) for m in range(deploys.minutes)]
    assert [r.notes[conventions.NOTE_GROUP_FOLDED] for r in reports] == [4, 4, 4]  # two repositories × two
    evaluation = evaluate_at(StoreView(store), spec, int(T0) + 3 * MINUTE, readings=False).evaluation
    grouped = evaluation.get("deploy-success")
    assert {g.group: g.counts.total for g in grouped.groups} == {"a/one": 6, "a/two": 6, conventions.GROUP_OTHER: 12}
    assert grouped.counts.total == 24


def test_an_event_without_the_group_field_counts_under_none(sqlite_store):
    spec = grouped_spec()
    from tests.builders import cid, log_line

    lines = [log_line("workflow_completed", T0 + 5, cid(1), conclusion="success")]
    deliver(sqlite_store, spec, lines, 1000)
    grouped = evaluate_at(StoreView(sqlite_store), spec, int(T0) + MINUTE, readings=False).evaluation
    assert [g.group for g in grouped.get("deploy-success").groups] == [conventions.GROUP_NONE]


def test_a_replayed_batch_admits_and_counts_its_groups_once(store):
    spec = grouped_spec(limit=2)
    deploys = Deploys(repositories=("a/one", "a/two", "a/three"), minutes=1)
    first = deliver(store, spec, list(deploys.lines(0)), 1000)
    again = deliver(store, spec, list(deploys.lines(0)), 1000)
    assert again.records_already_applied == 1 and not again.notes
    assert first.notes[conventions.NOTE_GROUP_FOLDED] == 2
    assert store.groups(spec.slo("deploy-success").series()) == {"a/one", "a/two", conventions.GROUP_OTHER}


def status_json(db: str, spec_path: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["status", "--db", db, "--spec", spec_path, "--at", "2026-10-01T02:00:00Z", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def grouped_store(tmp_path: Any) -> tuple[str, str]:
    from tests.grouped import GROUPED_SPEC

    spec_path = tmp_path / "grouped.yaml"
    spec_path.write_text(GROUPED_SPEC.format(limit=2))
    db = tmp_path / "slo.db"
    store = SqliteStore(db)
    run(store, grouped_spec(limit=2), Deploys(repositories=("acme/web", "acme/api", "acme/docs", "acme/ops")))
    store.close()
    return str(db), str(spec_path)


def test_status_json_shows_each_group_worst_first_with_its_figures_and_the_fold(grouped_store, capsys):
    db, spec_path = grouped_store
    document = status_json(db, spec_path, capsys=capsys)
    deploy = next(slo for slo in document["slos"] if slo["name"] == "deploy-success")
    assert (deploy["group_by"], deploy["group_limit"], deploy["groups_tracked"]) == (["repository"], 2, 2)
    assert deploy["folded_events"] == 2 * 2 * 120  # acme/docs and acme/ops: past the limit of two
    assert [g["group"] for g in deploy["groups"]] == ["acme/api", conventions.GROUP_OTHER, "acme/web"]
    worst = deploy["groups"][0]
    assert set(worst) == {"group", "good", "total", "attainment", "budget", "burn_rates", "alerts"}
    assert (worst["good"], worst["total"], worst["attainment"]) == (180, 240, 0.75)
    assert [(a["kind"], a["group"]) for a in worst["alerts"]] == [("burn_rate", "acme/api"), ("budget", "acme/api")]
    assert all(g["alerts"] == [] for g in deploy["groups"][1:])
    api = next(slo for slo in document["slos"] if slo["name"] == "api-availability")
    assert "groups" not in api and "group_by" not in api  # an ungrouped SLO's document is unchanged


def test_status_group_keeps_only_the_slos_grouped_by_that_field(grouped_store, capsys):
    db, spec_path = grouped_store
    document = status_json(db, spec_path, "--group", "repository", capsys=capsys)
    assert [slo["name"] for slo in document["slos"]] == ["deploy-success"]
    assert main(["status", "--db", db, "--spec", spec_path, "--at", "2026-10-01T02:00:00Z",
                 "--group", "repository"]) == 0
    text = capsys.readouterr().out
    rows = [line.split()[0] for line in text.splitlines() if line.startswith(("acme/", "__"))]
    assert rows == ["acme/api", conventions.GROUP_OTHER, "acme/web"]
    assert "480 events past the limit counted under __other__" in text


def test_status_group_on_a_field_no_slo_groups_by_is_a_one_line_error(grouped_store, capsys):
    db, spec_path = grouped_store
    assert main(["status", "--db", db, "--spec", spec_path, "--group", "org"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--group: no SLO has group_by 'org'" in err


def test_the_report_shows_each_group_worst_first_with_its_alerts(grouped_store, tmp_path):
    db, spec_path = grouped_store
    out = tmp_path / "report.html"
    assert main(["report", "--db", db, "--spec", spec_path, "--until", "2026-10-01T02:00:00Z", "--out", str(out)]) == 0
    html = out.read_text()
    section = html[html.index("<h3>By repository</h3>"):]
    section = section[: section.index("</table>")]
    assert "2 groups (limit 2)" in section and "480 events past the limit" in section
    rows = [row.split("</td>")[0] for row in section.split("<tr><td>")[1:]]
    assert rows == ["acme/api", conventions.GROUP_OTHER, "acme/web"]
    assert "page 1h/5m" in section.split("<tr><td>")[1]


def test_the_evaluator_emits_per_group_points_for_the_top_n_widget(store):
    from processors.evaluating.metrics import DIMENSION_GROUP, evaluation_points

    spec = grouped_spec()
    run(store, spec, Deploys(minutes=70), every=70)
    evaluation = evaluate_at(StoreView(store), spec, int(T0) + 70 * MINUTE, readings=False).evaluation
    points = [p for p in evaluation_points(evaluation, 1.0) if dict(p.dimensions).get(DIMENSION_GROUP)]
    by_group = {(p.name, dict(p.dimensions)[DIMENSION_GROUP]): p.value for p in points}
    assert by_group[("SLOGroupBurnRate1h", "acme/web")] == 0.0
    assert by_group[("SLOGroupBurnRate1h", "acme/api")] > 14.4
    assert {dict(p.dimensions)["SLO"] for p in points} == {"deploy-success"}


def test_a_secret_in_a_group_value_is_redacted_wherever_the_group_is_named(store):
    from processors.evaluating.metrics import evaluation_points

    secret = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    hostile = f"https://x:{secret}@github.com/acme/api"  # a repository field logged as the clone URL
    spec = grouped_spec()
    notifier = run(store, spec, Deploys(repositories=("acme/web", hostile), failing=hostile, minutes=70), every=10)
    named = f"https://{conventions.REDACTED}@github.com/acme/api"
    assert pages(notifier) == [("deploy-success", named, "firing")]
    evaluation = evaluate_at(StoreView(store), spec, int(T0) + 70 * MINUTE, readings=False).evaluation
    everything = json.dumps([notifier.sent, sorted(store.groups(spec.slo("deploy-success").series())),
                             store.load_alert_states(), [p.dimensions for p in evaluation_points(evaluation, 1.0)]],
                            default=str)
    assert named in everything and secret not in everything


def test_a_group_value_is_cut_after_its_redaction_so_a_secret_on_the_cut_is_never_half_kept(store):
    secret = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    straddling = "r" * (conventions.MAX_GROUP_CHARS - 10) + " " + secret  # the token spans character 200
    spec = grouped_spec()
    run(store, spec, Deploys(repositories=("acme/web", straddling), minutes=5), every=5)
    groups = store.groups(spec.slo("deploy-success").series())
    kept = next(group for group in groups if group.startswith("rrr"))
    assert len(kept) == conventions.MAX_GROUP_CHARS and secret[:10] not in kept
    assert kept.endswith(" " + conventions.REDACTED[:9])


def test_slo_replay_over_a_damaged_group_registry_refuses_in_one_line_naming_it_and_applies_nothing(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The ingest Lambda counts such a batch without the SLO's groups (it cannot wait: its retries run out); a
    local replay can, so it applies nothing and says so, and a rerun once the item is mended applies each line once
    (docs/store.md, Damaged group registries)."""
    from processors.store import keys
    from tests.grouped import GROUPED_SPEC

    spec_path = tmp_path / "grouped.yaml"
    spec_path.write_text(GROUPED_SPEC.format(limit=100))
    deploys = Deploys(minutes=2)
    for minute in range(2):
        (tmp_path / f"{minute}.jsonl").write_text("\n".join(deploys.lines(minute)) + "\n")
    db = tmp_path / "slo.db"
    replay = ["replay", "--db", str(db), "--spec", str(spec_path), "--no-backtest"]
    assert main([*replay, str(tmp_path / "0.jsonl")]) == 0
    registry = keys.group_registry_series(grouped_spec().slo("deploy-success").series())
    mend = "UPDATE counters SET value = {} WHERE sli = ? AND field = '=acme/web'"
    with SqliteStore(db) as store:
        assert store.db.execute(mend.format("'abc'"), (registry,)).rowcount == 1
    capsys.readouterr()

    assert main([*replay, str(tmp_path / "1.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a damaged store: the =acme/web counter of _groups!deploy-success@" in err
    with SqliteStore(db) as store:
        whole = grouped_spec().slo("deploy-success").series()
        assert store.window_counts(whole, int(T0), END).total == 6  # the first file's: nothing of the second
        store.db.execute(mend.format(1), (registry,))
    assert main([*replay, str(tmp_path / "1.jsonl")]) == 0
    assert main([*replay, str(tmp_path / "1.jsonl")]) == 0  # a rerun changes nothing
    with SqliteStore(db) as store:
        assert store.window_counts(whole, int(T0), END).total == 12
        assert store.window_counts(grouped_spec().slo("deploy-success").series("acme/web"), int(T0), END).total == 4
