"""The SLO spec: the shipped file loads; every mistake is one line naming file:line and the field."""

from __future__ import annotations

import itertools
import random

import pytest

from processors.spec import SpecError, burn_rate_factor, default_tiers, load_spec, parse_spec
from processors.spec.model import Condition, EventsSli, Matcher

VALID = """apiVersion: slo-pipeline/v1
kind: SLOSpec
slos:
  - name: api
    objective: 0.999
    sli:
      events:
        match: {action: api_request}
        good: {status: {lt: 500}}
"""


def test_the_shipped_spec_has_the_five_slos_with_their_objectives() -> None:
    spec = load_spec()
    assert {slo.name: slo.objective for slo in spec.slos} == {
        "queue-latency": 0.999,
        "cache-hit-rate": 0.95,
        "deploy-success": 0.995,
        "orphan-rate": 0.999,
        "api-availability": 0.999,
    }
    assert spec.max_runtime == 6 * 3600
    assert {s.name for s in spec.latency} >= {"queue-latency", "api-latency", "runner-startup"}


def test_the_workbook_tiers_come_from_budget_percentages_as_data() -> None:
    assert [(t.name, t.severity, t.factor) for t in default_tiers()] == [
        ("1h/5m", "page", pytest.approx(14.4)),
        ("6h/30m", "page", pytest.approx(6.0)),
        ("1d/2h", "ticket", pytest.approx(3.0)),
        ("3d/6h", "ticket", pytest.approx(1.0)),
    ]
    assert burn_rate_factor(2, 3600, 30 * 86400) == pytest.approx(14.4)


def test_a_matcher_compares_numbers_and_never_matches_a_missing_field() -> None:
    sli = parse_spec(VALID).slos[0].sli
    assert sli.good.matches({"metadata": {"action": "api_request", "status": 200}})
    assert not sli.good.matches({"metadata": {"action": "api_request", "status": 503}})
    assert not sli.good.matches({"metadata": {"action": "api_request"}})
    assert not sli.good.matches({"metadata": {"action": "api_request", "status": "200"}})


ERRORS = [
    ("a wrong apiVersion names the field", VALID.replace("slo-pipeline/v1", "v0"), 1, "apiVersion"),
    ("an objective in percent is refused", VALID.replace("0.999", "99.9"), 5, "objective"),
    ("an unknown SLO field is refused", VALID.replace("    objective", "    objectiv: 1\n    objective"), 5,
     "objectiv"),
    ("a matcher that is not a mapping is refused", VALID.replace("{action: api_request}", "api_request"), 8, "match"),
    ("an unknown comparison is refused", VALID.replace("{lt: 500}", "{below: 500}"), 9, "status"),
    ("two SLI kinds at once are refused", VALID.replace("    sli:\n", "    sli:\n      resolution: {}\n"), 7,
     "sli"),
    ("a bad window is refused", VALID.replace("    objective", "    window: forever\n    objective"), 5, "window"),
    ("broken YAML points at its line", VALID + "  - name: [unclosed\n", 10, ""),
    ("a duplicate key is refused",
     VALID.replace("    objective: 0.999", "    objective: 0.999\n    objective: 0.99"), 6, "objective"),
]


@pytest.mark.parametrize(("case", "text", "line", "field"), ERRORS, ids=[c[0] for c in ERRORS])
def test_spec_mistakes_are_one_line_with_file_line_and_field(case: str, text: str, line: int, field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "my-slos.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"my-slos.yaml:{line}:"), message
    assert field in message


def test_a_missing_spec_file_is_a_spec_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nope.yaml")


def with_alerting(block: str) -> str:
    return VALID.replace("    objective: 0.999", "    objective: 0.999\n    alerting:\n" + block)


def test_recovery_and_budget_gating_are_configured_per_tier_and_per_slo() -> None:
    text = with_alerting(
        "      cool_off: 2h\n      budget_min_events: 500\n"
        "      tiers:\n        - {severity: page, long: 1h, short: 5m, factor: 14.4, keep_firing_for: 10m,"
        " clear_ratio: 0.8}\n        - {severity: page, long: 6h, short: 30m, factor: 6, keep_firing_for: 0}\n"
    )
    policy = parse_spec(text).slos[0].alerting
    assert policy is not None and (policy.cool_off, policy.budget_min_events) == (7200, 500)
    fast, slow = policy.tiers
    assert (fast.hold, fast.clear_ratio) == (600, 0.8)
    assert (slow.hold, slow.clear_ratio) == (0, 0.5)
    assert [(t.hold, t.clear_ratio) for t in default_tiers()] == [(300, 0.5), (1800, 0.5), (7200, 0.5), (21600, 0.5)]


RECOVERY_ERRORS = [
    ("a clear ratio above 1 is refused", "clear_ratio: 1.5", "clear_ratio"),
    ("a hold longer than the long window is refused", "keep_firing_for: 2h", "keep_firing_for"),
    ("a hold that is not a duration is refused", "keep_firing_for: soon", "keep_firing_for"),
]


@pytest.mark.parametrize(("case", "field_text", "field"), RECOVERY_ERRORS, ids=[c[0] for c in RECOVERY_ERRORS])
def test_recovery_mistakes_name_the_tier_field(case: str, field_text: str, field: str) -> None:
    tier = f"{{severity: page, long: 1h, short: 5m, factor: 14.4, {field_text}}}"
    text = with_alerting(f"      tiers:\n        - {tier}\n")
    with pytest.raises(SpecError, match=field):
        parse_spec(text, "my-slos.yaml")


def test_a_negative_budget_minimum_is_refused() -> None:
    with pytest.raises(SpecError, match="budget_min_events"):
        parse_spec(with_alerting("      budget_min_events: -1\n"), "my-slos.yaml")


def test_routes_are_chosen_per_severity_and_default_to_sns() -> None:
    assert parse_spec(VALID).routes == {"page": ("sns",), "ticket": ("sns",)}
    text = VALID.replace("slos:", "routes: {page: [pagerduty, sns], ticket: [slack, sns]}\nslos:", 1)
    assert parse_spec(text).routes == {"page": ("pagerduty", "sns"), "ticket": ("slack", "sns")}
    with pytest.raises(SpecError, match=r"routes\.page"):
        parse_spec(VALID.replace("slos:", "routes: {page: [opsgenie]}\nslos:", 1), "my-slos.yaml")
    with pytest.raises(SpecError, match=r"routes\.urgent"):
        parse_spec(VALID.replace("slos:", "routes: {urgent: [sns]}\nslos:", 1), "my-slos.yaml")


MATCHED_VALUES = [None, True, False, 0, 1, 499, 500, 500.0, 1.5, "", "500", "success", "cache_hit", [1], {"a": 1}]


def test_compiled_conditions_matchers_and_verdicts_answer_as_holds_matches_and_is_good_do_for_any_log() -> None:
    rng = random.Random(15)
    paths = [("metadata", "status"), ("status",), ("metadata", "a", "b"), ()]
    operands = {"eq": MATCHED_VALUES, "in": [["cache_hit", 500], [], [None, True]], "not_in": [["success"], [1, None]],
                "lt": [500, 1.5], "le": [500], "gt": [0], "ge": [499, -1]}
    conditions = [Condition(path, op, value) for path in paths for op, values in operands.items() for value in values]
    matchers = [Matcher(())] + [Matcher(tuple(rng.sample(conditions, rng.randint(1, 3)))) for _ in range(200)]

    def value(depth: int) -> object:
        if depth < 2 and rng.random() < 0.4:
            return {key: value(depth + 1) for key in rng.sample(["metadata", "status", "a", "b"], rng.randint(0, 3))}
        return rng.choice(MATCHED_VALUES)

    logs = [value(0) for _ in range(300)]
    logs += [{"metadata": {"status": v, "a": {"b": v}}, "status": v} for v in MATCHED_VALUES]
    for condition, log in itertools.product(conditions, logs):
        assert condition.compiled()(log) is condition.holds(log), (condition, log)
    for matcher, log in itertools.product(matchers, logs):
        assert matcher.compiled()(log) == matcher.matches(log), (matcher, log)
    verdicts = ((matchers[2], None), (None, matchers[3]), (None, None))
    slis = [EventsSli(matchers[1], good, bad=bad) for good, bad in verdicts]
    for sli, log in itertools.product(slis, logs):
        assert sli.compiled_is_good()(log) == sli.is_good(log), (sli, log)


def test_field_tests_and_matchers_given_a_value_answer_as_holds_and_matches_do_for_any_metadata() -> None:
    rng = random.Random(15)
    paths = [("metadata", "status"), ("metadata", "action"), ("metadata", "a")]
    operands = {"eq": MATCHED_VALUES, "in": [["cache_hit", 500], [], [None, True]], "not_in": [["success"], [1, None]],
                "lt": [500, 1.5], "le": [500], "gt": [0], "ge": [499, -1]}
    conditions = [Condition(path, op, value) for path in paths for op, values in operands.items() for value in values]
    others = [Condition(("status",), "eq", 1), Condition(("metadata", "a", "b"), "eq", 1)]
    matchers = [Matcher(())] + [Matcher(tuple(rng.sample(conditions, rng.randint(1, 3)))) for _ in range(200)]
    logs = [{"metadata": {key: rng.choice(MATCHED_VALUES) for key in rng.sample(["status", "action", "a"], k)}}
            for k in (0, 1, 2, 3) for _ in range(50)]
    for condition, log in itertools.product(conditions, logs):
        assert condition.compiled_field()(log["metadata"]) is condition.holds(log), (condition, log)
    for matcher, log in itertools.product(matchers, logs):
        assert matcher.compiled_field()(log["metadata"]) == matcher.matches(log), (matcher, log)
    for matcher, log in itertools.product(matchers + [Matcher((c, *others)) for c in conditions[::7]], logs):
        if "action" in log["metadata"]:
            given = matcher.given(("metadata", "action"), log["metadata"]["action"])
            assert (given if isinstance(given, bool) else given.matches(log)) == matcher.matches(log), (matcher, log)
    with pytest.raises(ValueError):
        others[0].compiled_field()
    with pytest.raises(ValueError):
        Matcher((conditions[0], Condition(("other", "a"), "eq", 1))).compiled_field()


def test_the_default_tiers_are_read_once_per_period_not_once_per_slo() -> None:
    # burn_rate_windows.yaml was read and parsed for every SLO: 3/4 of validating a spec of 6,000 SLOs
    assert default_tiers(7 * 86400) is default_tiers(7 * 86400)
    assert default_tiers(7 * 86400) != default_tiers(28 * 86400)  # scaled to each period
