"""An outbox entry whose transition reads (its SLO, kind, severity, state, tier, time and routes) but whose details
do not (a hand edit, another program or version) costs only those details: delivered through the real formatters
and routes (SNS through SnsNotifier, PagerDuty and Slack over HTTP to a recording server) without them, named as
damaged, and every other SLO's notification delivered in the same pass."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from processors.alerting import record_evaluation
from processors.alerting.notify import SnsNotifier
from processors.alerting.routes import PagerDutySender, RoutedNotifier, SecretCache, SlackSender, SnsSender
from processors.evaluating import Evaluation, Unevaluated
from tests.fakes.alerting import MemoryAlertStore, RecordingSns
from tests.recording_server import RecordingServer, recording_server

NOW = 1_790_000_040
TRACE_API = "https://a1b2c3.execute-api.us-east-1.amazonaws.com/v1/traces/"
PAGE = {"slo": "checkout", "kind": "burn_rate", "severity": "page", "state": "firing", "tier": "1h/5m",
        "at": "2026-09-22T12:33:00Z", "at_epoch": NOW - 60, "notify": True, "route": "page", "objective": 0.999,
        "incident": "checkout#1", "runbook": "https://runbooks.example.com/checkout",
        "burn_rates": {"1h": 15.2, "5m": 20.5},
        "thresholds": {"factor": 14.4, "long_window": "1h", "short_window": "5m", "min_bad_events": 1},
        "budget": {"consumed": 0.4, "remaining": 0.6}, "forecast": {"1h": 3600, "6h": 7200},
        "exemplars": ["c-1", "c-2"]}
NO_DATA = {"slo": "checkout", "kind": "no_data", "severity": "ticket", "state": "firing", "at": "2026-09-22T12:33:00Z",
           "at_epoch": NOW - 60, "notify": True, "route": "ticket", "objective": 0.999, "silent_for_seconds": 900,
           "budget": {"consumed": 0.4, "remaining": 0.6}, "forecast": {"1h": None, "6h": None}}
FIELDS = [("burn_rates",), ("thresholds",), ("budget",), ("forecast",), ("exemplars",), ("silent_for_seconds",),
          ("objective",), ("at",), ("burn_rates", "5m"), ("thresholds", "factor"), ("thresholds", "short_window"),
          ("budget", "consumed"), ("budget", "remaining"), ("forecast", "1h"), ("forecast", "6h")]
VALUES: list[Any] = [None, "x", [1], {}, 1e400, 10**400, float("nan"), -1, True]  # 10**400: JSON reads it as an int



class Secrets:
    """A secretsmanager client's get_secret_value over fixed values."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # boto3's name
        return {"SecretString": self.values[SecretId]}


@pytest.fixture(scope="module")
def providers() -> Iterator[tuple[RecordingServer, RecordingServer]]:
    with recording_server() as pagerduty, recording_server(200, b"ok") as slack:
        yield pagerduty, slack


def damaged(base: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    transition = copy.deepcopy(base)
    if len(path) == 1:
        transition[path[0]] = value
    else:
        transition[path[0]][path[1]] = value
    return transition


def strict_json(body: bytes | str) -> Any:
    """JSON as PagerDuty and Slack read it: NaN and Infinity are not JSON."""
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(body, parse_constant=refuse)


def deliver(transition: dict[str, Any], providers: tuple[RecordingServer, RecordingServer]) -> dict[str, Any]:
    """The damaged entry waits first in the outbox of an SLO left out of the minute, a healthy page after it in
    another SLO's; both are delivered through pagerduty, slack and sns in one pass."""
    pagerduty, slack = providers
    pagerduty.requests.clear()
    slack.requests.clear()
    healthy = {**copy.deepcopy(PAGE), "slo": "api", "incident": "api#1"}
    store = MemoryAlertStore()
    store.states = {"checkout": {"evaluated_at": NOW - 60, "outbox": [{"transition": transition,
                                                                        "routes": ["pagerduty", "slack", "sns"]}]},
                    "api": {"evaluated_at": NOW - 60, "outbox": [{"transition": healthy,
                                                                  "routes": ["pagerduty", "slack", "sns"]}]}}
    store.evaluated_at = dict.fromkeys(store.states, NOW - 60)
    sns = RecordingSns()
    secrets = SecretCache(Secrets({"pd": "e93facc04764012d7bfb002500d5d1a6", "slack": slack.url + "/hook"}))
    routes = ("pagerduty", "slack", "sns")
    notifier = RoutedNotifier({"page": routes, "ticket": routes}, {
        "pagerduty": PagerDutySender(secrets, "pd", pagerduty.url, TRACE_API),
        "slack": SlackSender(secrets, "slack", TRACE_API),
        "sns": SnsSender(SnsNotifier(sns, "arn:page", "arn:ticket", TRACE_API)),
    }, sleep=lambda _: None)
    left_out: list[Unevaluated] = []
    evaluation = Evaluation(NOW, (), (Unevaluated("checkout", "", "damaged"), Unevaluated("api", "", "damaged")))

    record_evaluation(store, None, evaluation, notifier, left_out=left_out)  # type: ignore[arg-type]

    return {
        "pagerduty": [strict_json(r.body) for r in pagerduty.requests],
        "slack": [strict_json(r.body) for r in slack.requests],
        "sns": [strict_json(m["Message"]) for m in sns.sent],
        "named": [str(u) for u in left_out if u.why != "damaged"],
        "outboxes": {key: state.get("outbox") for key, state in store.states.items()},
    }


def test_an_outbox_entry_whose_details_do_not_read_is_sent_without_them_named_and_every_other_slo_is_paged(
        providers: tuple[RecordingServer, RecordingServer]) -> None:
    """Each detail the formatters read, set to each of None, "x", [1], {}, 1e400, NaN, -1 and True: the formatters
    raised a TypeError, ValueError, OverflowError or AttributeError out of delivery (the evaluator Lambda raised
    every minute, the entry carried into each state, and the outboxes after it not delivered), or sent NaN, which
    is not JSON, to PagerDuty."""
    wrong = []
    for base in (PAGE, NO_DATA):
        for path in FIELDS:
            if path[0] not in base:
                continue
            for value in VALUES:
                case = f"{base['kind']} {'.'.join(path)}={value!r}"
                try:
                    got = deliver(damaged(base, path, value), providers)
                except Exception as exc:  # the fuzz reports whatever raised
                    wrong.append(f"{case}: raised {type(exc).__name__}: {exc}")
                    continue
                slos = {name: sorted(body.get("payload", {}).get("component") or "" for body in bodies)
                        for name, bodies in (("pagerduty", got["pagerduty"]),)}
                if slos["pagerduty"] != ["api", "checkout"] or len(got["slack"]) != 2 or \
                        sorted(m["slo"] for m in got["sns"]) != ["api", "checkout"]:
                    wrong.append(f"{case}: not every notification went out: {got}")
                if any(got["outboxes"].values()):
                    wrong.append(f"{case}: left in an outbox: {got['outboxes']}")
                for name in got["named"]:
                    if not name.startswith("checkout: ") or path[0] not in name:
                        wrong.append(f"{case}: named {name!r}")
    assert not wrong, f"{len(wrong)} case(s):\n" + "\n".join(wrong[:40])


def test_an_unreadable_detail_is_named_and_the_page_keeps_what_reads() -> None:
    with recording_server() as pagerduty, recording_server(200, b"ok") as slack:
        got = deliver(damaged(damaged(PAGE, ("budget",), "x"), ("forecast", "1h"), 1e400), (pagerduty, slack))
    (named,) = got["named"]
    assert named.startswith("checkout: ") and "budget is str 'x'" in named and "forecast" in named
    (page,) = [body for body in got["pagerduty"] if body["payload"]["component"] == "checkout"]
    details = page["payload"]["custom_details"]
    assert "budget" not in details and "forecast" not in details
    assert details["burn_rates"] == PAGE["burn_rates"] and page["payload"]["summary"].startswith("PAGE checkout")


@pytest.mark.parametrize("route", [None, "x", ["page"]], ids=["no topic", "a topic that is not page or ticket",
                                                              "a list"])
def test_an_outbox_entry_whose_topic_is_not_page_or_ticket_is_left_out_named_and_every_other_slo_is_paged(
        providers: tuple[RecordingServer, RecordingServer], route: Any) -> None:
    """SNS reads the transition's `route` for its topic: without one a KeyError, a list a TypeError, out of
    delivery; another text failed the sns route, held down for every later SLO of the pass, every minute for a day."""
    transition = {k: v for k, v in copy.deepcopy(PAGE).items() if k != "route"}
    if route is not None:
        transition["route"] = route

    got = deliver(transition, providers)

    assert [m["slo"] for m in got["sns"]] == ["api"] and len(got["pagerduty"]) == len(got["slack"]) == 1
    (named,) = got["named"]
    assert named.startswith("checkout: an outbox entry that does not read is left out: ")
    assert not any(got["outboxes"].values())
