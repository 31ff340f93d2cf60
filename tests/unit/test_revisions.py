"""Spec revisions: what a revision hashes, and the notice `slo status` prints when an SLO has more than one."""

from __future__ import annotations

import pytest

from processors.evaluating.revisions import resolve_revision, revision_status
from processors.spec import parse_spec

SPEC = """apiVersion: slo-pipeline/v1
kind: SLOSpec
slos:
  - name: api
    objective: 0.999
    window: 30d
    description: API requests answered without a server error.
    sli:
      events:
        match: {action: api_request}
        good: {status: {lt: 500}}
"""
T = 1_790_812_800  # 2026-10-01T00:00:00Z


def revision(text: str) -> str:
    return parse_spec(text).slo("api").revision


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("objective: 0.999", "objective: 0.99"),
        ("window: 30d", "window: 7d"),
        ("window: 30d", "window: calendar-month"),
        ("description: API requests answered without a server error.", "description: Another sentence."),
    ],
    ids=[
        "an objective change keeps the revision",
        "a window change keeps the revision",
        "a calendar month keeps the revision",
        "a description change keeps the revision",
    ],
)
def test_evaluation_only_changes_keep_the_revision(old: str, new: str) -> None:
    assert SPEC.count(old) == 1
    assert revision(SPEC.replace(old, new)) == revision(SPEC)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("lt: 500", "lt: 400"),
        ("match: {action: api_request}", "match: {action: api_call}"),
        ("good: {status: {lt: 500}}", "bad: {status: {ge: 500}}"),
    ],
    ids=["a threshold change is a new revision", "a matcher change is a new revision",
         "good turned into bad is a new revision"],
)
def test_counting_changes_are_a_new_revision(old: str, new: str) -> None:
    assert revision(SPEC.replace(old, new)) != revision(SPEC)


def test_a_pinned_spec_reads_the_earlier_series_and_keeps_its_own_revision() -> None:
    spec = parse_spec(SPEC)
    pinned = spec.at_revision("api", "abcd1234")
    assert pinned.slo("api").series() == "api@abcd1234"
    assert pinned.slo("api").own_revision == spec.slo("api").revision
    assert pinned.slo("api").objective == spec.slo("api").objective
    with pytest.raises(KeyError):
        spec.at_revision("missing", "abcd1234")


@pytest.mark.parametrize(
    ("recorded", "shown", "notice"),
    [
        ({"new1": T}, None, None),
        ({}, None, None),
        ({"old1": T, "new1": T + 7200}, None,
         "api: revision new1 since 2026-10-01 02:00 UTC; the earlier revision old1 is readable with --revision old1"),
        ({"old1": T}, None,
         "api: revision new1 has no events yet; the earlier revision old1 is readable with --revision old1"),
        ({"old2": T + 60, "old1": T, "new1": T + 7200}, None,
         "api: revision new1 since 2026-10-01 02:00 UTC; the earlier revisions old1, old2 are readable with "
         "--revision REV"),
        ({"old1": T, "new1": T + 7200}, "old1",
         "api: showing revision old1 (since 2026-10-01 00:00 UTC), not the spec's current revision new1"),
    ],
    ids=[
        "a single revision has no notice",
        "an SLO without data has no notice",
        "a new revision names the earlier one and how to read it",
        "a new revision without events yet says so",
        "several earlier revisions are listed oldest first",
        "reading an earlier revision says which one and that it is not current",
    ],
)
def test_the_revision_notice(recorded: dict[str, int], shown: str | None, notice: str | None) -> None:
    assert revision_status("api", "new1", recorded, shown)["notice"] == notice


def test_the_revision_fields_name_the_shown_revision_and_the_others_oldest_first() -> None:
    status = revision_status("api", "new1", {"new1": T + 7200, "old2": T + 60, "old1": T})
    assert status == {
        "revision": "new1",
        "revision_since": "2026-10-01T02:00:00Z",
        "other_revisions": [{"revision": "old1", "since": "2026-10-01T00:00:00Z"},
                            {"revision": "old2", "since": "2026-10-01T00:01:00Z"}],
        "notice": status["notice"],
    }


def test_a_revision_is_found_by_a_prefix_of_four_or_more_characters_in_every_slo_that_recorded_it() -> None:
    recorded = {"api": {"abcd1234": T, "ffff0000": T}, "copy": {"abcd1234": T}, "other": {"abce9999": T}}
    assert resolve_revision("abcd", recorded) == [("api", "abcd1234"), ("copy", "abcd1234")]
    assert resolve_revision("abcd1234", recorded) == [("api", "abcd1234"), ("copy", "abcd1234")]
    assert {r for _, r in resolve_revision("abc", recorded)} == set()  # too short to mean anything
    assert {r for _, r in resolve_revision("abc", {"a": {"abc": T}})} == set()
    assert resolve_revision("0000", recorded) == []
