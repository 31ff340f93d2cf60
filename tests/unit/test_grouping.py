"""Grouped SLOs in the spec and at ingest: group_by is validated like every field (one line, file:line), an
event's group comes from its fields, and the group_limit admits the first values and folds the rest."""

from __future__ import annotations

import pytest

from processors import conventions
from processors.ingest.grouping import admit
from processors.spec import SpecError, parse_spec
from processors.store import keys

GROUPED = """apiVersion: slo-pipeline/v1
kind: SLOSpec
slos:
  - name: deploys
    objective: 0.99
    group_by: [repository]
    sli:
      events:
        match: {action: workflow_completed}
        good: {conclusion: success}
"""


def test_group_by_names_event_fields_in_the_matchers_syntax_with_a_default_limit() -> None:
    slo = parse_spec(GROUPED).slos[0]
    assert (slo.group_by, slo.group_paths, slo.group_limit) == (("repository",), (("metadata", "repository"),), 100)
    two = parse_spec(GROUPED.replace("[repository]", "[repository, service]\n    group_limit: 5")).slos[0]
    assert two.group_paths == (("metadata", "repository"), ("service",)) and two.group_limit == 5
    assert slo.series() == f"deploys@{slo.revision}"
    assert slo.series("acme/web") == f"deploys@{slo.revision}/acme%2Fweb"


GROUP_ERRORS = [
    ("a field with a space", GROUPED.replace("[repository]", "[repo sitory]"), "not an event field"),
    ("a field that is not a string", GROUPED.replace("[repository]", "[{a: 1}]"), "not an event field"),
    ("an empty list", GROUPED.replace("[repository]", "[]"), "must be a non-empty list"),
    ("a bare string", GROUPED.replace("[repository]", "repository"), "must be a non-empty list"),
    ("the same field twice", GROUPED.replace("[repository]", "[repository, metadata.repository]"), "twice"),
    ("the action", GROUPED.replace("[repository]", "[action]"), "can't group"),
    ("a stitched SLI", GROUPED.replace(
        "      events:\n        match: {action: workflow_completed}\n        good: {conclusion: success}",
        "      resolution:\n        good: {action: a}\n        bad: {action: b}"), "needs an events SLI"),
]


@pytest.mark.parametrize(("case", "text", "reason"), GROUP_ERRORS, ids=[c[0] for c in GROUP_ERRORS])
def test_a_bad_group_by_is_one_line_naming_file_line_and_the_field(case: str, text: str, reason: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "my-slos.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("my-slos.yaml:6: slos[deploys].group_by: "), message
    assert reason in message


@pytest.mark.parametrize(
    ("case", "extra", "reason"),
    [
        ("zero", "group_limit: 0", "must be an integer from 1 to 1000"),
        ("too many", "group_limit: 1001", "must be an integer from 1 to 1000"),
        ("not a number", "group_limit: lots", "must be an integer from 1 to 1000"),
    ],
)
def test_a_bad_group_limit_is_refused(case: str, extra: str, reason: str) -> None:
    with pytest.raises(SpecError, match=reason) as caught:
        parse_spec(GROUPED.replace("    sli:", f"    {extra}\n    sli:"), "my-slos.yaml")
    assert str(caught.value).startswith("my-slos.yaml:7: slos[deploys].group_limit:")


def test_a_group_limit_without_group_by_is_refused() -> None:
    text = GROUPED.replace("    group_by: [repository]", "    group_limit: 3")
    with pytest.raises(SpecError, match="group_limit: needs group_by"):
        parse_spec(text, "my-slos.yaml")


def test_an_events_group_is_its_field_values_with_none_for_a_missing_one() -> None:
    slo = parse_spec(GROUPED.replace("[repository]", "[repository, service]")).slos[0]
    assert slo.group_of({"service": "Runner", "metadata": {"repository": "acme/web"}}) == "acme/web,Runner"
    assert slo.group_of({"metadata": {"repository": 7}}) == f"7,{conventions.GROUP_NONE}"
    assert slo.group_of({"metadata": {"repository": {"nested": 1}}, "service": ""}) == (
        f"{conventions.GROUP_NONE},{conventions.GROUP_NONE}"
    )
    assert len(slo.group_of({"metadata": {"repository": "x" * 500}})) == 2 * conventions.MAX_GROUP_CHARS  # cut later


OTHER = conventions.GROUP_OTHER
ADMISSIONS = [
    ("a known value counts as itself", {"a"}, "a", 1, ("a", False)),
    ("a new value below the limit is admitted", {"a"}, "b", 2, ("b", True)),
    ("a new value at the limit folds, admitting __other__ once", {"a", "b"}, "c", 2, (OTHER, True)),
    ("later folds reuse __other__", {"a", "b", OTHER}, "d", 2, (OTHER, False)),
    ("__other__ takes no place under the limit", {"a", OTHER}, "b", 2, ("b", True)),
]


@pytest.mark.parametrize(("case", "known", "value", "limit", "expected"), ADMISSIONS, ids=[c[0] for c in ADMISSIONS])
def test_the_group_limit_admits_the_first_values_and_folds_the_rest(
    case: str, known: set[str], value: str, limit: int, expected: tuple[str, bool]
) -> None:
    assert admit(set(known), value, limit) == expected


def test_registry_fields_keep_any_value_apart_from_key_and_ttl_attributes() -> None:
    rows = {0: {keys.group_field("pk"): 1, keys.group_field("acme/web"): 2, "expiresAt": 5}, 3600: {}}
    assert keys.groups_of_rows(rows) == {"pk", "acme/web"}
    assert keys.alert_state_sk("deploys") == "deploys"
    assert keys.alert_state_sk("deploys", "acme/web#1") == "deploys#acme%2Fweb%231"


def test_a_grouped_slo_gets_top_n_widgets_ranked_by_a_metrics_insights_query() -> None:
    from processors.dashboards import build_dashboards, slos_from_spec

    spec = parse_spec(GROUPED + VALID_UNGROUPED)
    widgets = build_dashboards(slos_from_spec(spec))["slo-error-budgets"]["widgets"]
    top = [w["properties"] for w in widgets if "top 10" in w["properties"].get("title", "")]
    assert [p["title"] for p in top] == [
        "deploys: top 10 repository by budget used", "deploys: top 10 repository by 1h burn rate",
    ]
    query = top[0]["metrics"][0][0]["expression"]
    assert "SELECT MAX(SLOGroupBudgetUsed)" in query and "WHERE SLO = 'deploys'" in query
    assert "ORDER BY MAX() DESC LIMIT 10" in query


VALID_UNGROUPED = """  - name: api
    objective: 0.999
    sli:
      events:
        match: {action: api_request}
        good: {status: {lt: 500}}
"""
