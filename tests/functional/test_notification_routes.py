"""Native routes over real HTTP: PagerDuty Events API v2 and Slack incoming webhooks against a recording server on
127.0.0.1, payloads checked against JSON schemas written from the providers' documentation (tests/schemas/*.json
name their sources); secrets from Secrets Manager on moto's server; retries, isolation between routes, and one
delivery per (transition, route) through the store's notification claims.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from processors.alerting.exceptions import NotificationError
from processors.alerting.routes import (
    PagerDutySender,
    RoutedNotifier,
    SecretCache,
    SlackSender,
    SnsSender,
    dedup_key,
    pagerduty_event,
    slack_message,
)
from processors.alerting.service import publish_once
from processors.store import SqliteStore
from tests.alert_fakes import MemoryNotifier, Phase
from tests.alert_scenarios import RATE, Scenario, backtest
from tests.recording_server import recording_server

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
TRACE_API = "https://a1b2c3.execute-api.us-east-1.amazonaws.com/v1/traces/"  # as sam/template.yaml builds it
ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"  # 32 characters, like a real integration key


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


@cache
def incident() -> tuple[dict[str, Any], ...]:
    """Real transitions: a 2-minute outage, healthy 40 minutes, again (re-triggered), then quiet."""
    outage = Phase(2, RATE, 1.0)
    run = backtest(Scenario("twice", (outage, Phase(40, RATE), outage, Phase(200, RATE)), minutes=150))
    sent = [t for t in run.notifier.sent if t["kind"] == "burn_rate"]
    assert [t["state"] for t in sent] == ["firing", "resolved", "retriggered", "resolved"]
    for transition in sent:
        transition["runbook"] = "https://runbooks.example.com/slo/api-availability"
    return tuple(sent)


@pytest.fixture
def secrets(moto_endpoint: str) -> Iterator[tuple[Any, dict[str, str]]]:
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    arns = {
        "pagerduty": client.create_secret(Name=f"pd-{id(client)}", SecretString=ROUTING_KEY)["ARN"],
    }
    yield client, arns


class CountingSecrets:
    """Counts GetSecretValue calls made through a real boto3 client (models nothing; it only counts)."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def get_secret_value(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.client.get_secret_value(**kwargs)


def test_pagerduty_trigger_and_resolve_follow_the_events_api_v2_schema_with_one_dedup_key_per_incident(
    secrets: tuple[Any, dict[str, str]],
) -> None:
    client, arns = secrets
    with recording_server() as server:
        sender = PagerDutySender(SecretCache(client), arns["pagerduty"], server.url + "/v2/enqueue", TRACE_API)
        for transition in incident():
            sender.send(copy.deepcopy(transition))  # type: ignore[arg-type]
        events = server.json_bodies()
    for event in events:
        jsonschema.validate(event, schema("pagerduty_events_v2.json"))
    assert [e["event_action"] for e in events] == ["trigger", "resolve", "trigger", "resolve"]
    assert {e["dedup_key"] for e in events} == {dedup_key(incident()[0])}
    assert all(e["routing_key"] == ROUTING_KEY for e in events)
    first, retrigger = events[0], events[2]
    assert first["payload"]["severity"] == "critical" and retrigger["payload"]["severity"] == "warning"
    details = first["payload"]["custom_details"]
    assert set(details["burn_rates"]) == {"1h", "5m"} and details["budget"]["remaining"] < 1
    assert "1h" in details["forecast"] and details["incident"] == incident()[0]["incident"]
    assert first["links"][0] == {"href": "https://runbooks.example.com/slo/api-availability", "text": "runbook"}
    traces = [link["href"] for link in first["links"][1:]]
    assert len(traces) == 5 and all(h.startswith(TRACE_API) and "/traces/traces/" not in h for h in traces)
    assert all(r.path == "/v2/enqueue" for r in server.requests)


def test_slack_gets_block_kit_with_header_burn_rates_budget_forecast_exemplars_and_runbook(
    moto_endpoint: str,
) -> None:
    with recording_server(default_status=200, default_body=b"ok") as server:
        client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
        webhook = server.url + "/services/T000/B000/XXXX"
        arn = client.create_secret(Name="slack-webhook-blocks", SecretString=json.dumps({"webhook_url": webhook}))
        SlackSender(SecretCache(client), arn["ARN"], TRACE_API).send(copy.deepcopy(incident()[0]))  # type: ignore[arg-type]
        (request,) = server.requests
    body = request.json()
    jsonschema.validate(body, schema("slack_webhook_blocks.json"))
    assert request.path == "/services/T000/B000/XXXX"
    blocks = body["blocks"]
    assert blocks[0]["type"] == "header" and "api-availability firing" in blocks[0]["text"]["text"]
    fields = " ".join(f["text"] for f in blocks[2]["fields"])
    assert "*Burn rate*" in fields and "*Budget*" in fields and "*Budget exhausted in*" in fields
    exemplars = blocks[3]["text"]["text"]
    assert exemplars.count(f"<{TRACE_API}") == 5
    assert blocks[-1]["elements"][0]["text"] == "Runbook: <https://runbooks.example.com/slo/api-availability>"


def test_a_secret_is_read_once_per_container(secrets: tuple[Any, dict[str, str]]) -> None:
    client, arns = secrets
    counting = CountingSecrets(client)
    with recording_server() as server:
        sender = PagerDutySender(SecretCache(counting), arns["pagerduty"], server.url, TRACE_API)
        for transition in incident():
            sender.send(copy.deepcopy(transition))  # type: ignore[arg-type]
        assert len(server.requests) == 4
    assert counting.calls == 1


@pytest.mark.parametrize(
    ("case", "statuses", "delivered", "sleeps"),
    [
        ("throttling and a 5xx are retried with backoff", [429, 500], True, [0.5, 1.0]),
        ("a 400 is not retried", [400], False, []),
        ("three 5xx in a row give up", [503, 503, 503], False, [0.5, 1.0]),
    ],
)
def test_delivery_is_retried_with_backoff_on_what_the_provider_says_to_retry(
    secrets: tuple[Any, dict[str, str]], case: str, statuses: list[int], delivered: bool, sleeps: list[float]
) -> None:
    client, arns = secrets
    slept: list[float] = []
    with recording_server() as server:
        server.statuses = list(statuses)
        sender = PagerDutySender(SecretCache(client), arns["pagerduty"], server.url, TRACE_API)
        notifier = RoutedNotifier({"page": ["pagerduty"]}, {"pagerduty": sender}, sleep=slept.append)
        transition = copy.deepcopy(incident()[0])
        if delivered:
            notifier.publish(transition)  # type: ignore[arg-type]
        else:
            with pytest.raises(NotificationError, match="pagerduty"):
                notifier.publish(transition)  # type: ignore[arg-type]
        attempts = len(server.requests)
    assert slept == sleeps, case
    assert attempts == len(sleeps) + 1, case
    assert notifier.failures == ({} if delivered else {"pagerduty": 1}), case


def test_a_failing_route_never_blocks_the_others_and_a_retry_resends_only_it(
    secrets: tuple[Any, dict[str, str]], tmp_path: Path, moto_endpoint: str
) -> None:
    client, arns = secrets
    store = SqliteStore(tmp_path / "claims.db")
    sns = MemoryNotifier()
    with recording_server(default_status=500) as pagerduty, recording_server(200, b"ok") as slack:
        slack_arn = client.create_secret(Name="slack-isolation", SecretString=slack.url + "/hook")["ARN"]
        senders: dict[str, Any] = {
            "pagerduty": PagerDutySender(SecretCache(client), arns["pagerduty"], pagerduty.url, TRACE_API),
            "slack": SlackSender(SecretCache(client), slack_arn, TRACE_API),
            "sns": SnsSender(sns),
        }
        notifier = RoutedNotifier({"page": ["pagerduty", "slack", "sns"]}, senders, sleep=lambda _: None)
        transition = copy.deepcopy(incident()[0])
        with pytest.raises(NotificationError, match="pagerduty") as failed:
            publish_once(store, notifier, transition, "evaluation-1", lambda: 1000.0)  # type: ignore[arg-type]
        assert "slack" not in str(failed.value)
        assert len(slack.requests) == 1 and len(sns.sent) == 1 and len(pagerduty.requests) == 3
        pagerduty.default_status = 202
        publish_once(store, notifier, transition, "evaluation-2", lambda: 1001.0)  # type: ignore[arg-type]
        publish_once(store, notifier, transition, "evaluation-3", lambda: 1002.0)  # type: ignore[arg-type]
        assert len(slack.requests) == 1 and len(sns.sent) == 1  # claimed and published: not again
        assert [r.json()["event_action"] for r in pagerduty.requests] == ["trigger"] * 4  # 3 failed, 1 delivered
    assert notifier.failures == {"pagerduty": 1}
    store.close()


def test_the_event_builders_are_pure_and_a_resolve_carries_only_the_key() -> None:
    firing, resolved = incident()[0], incident()[1]
    assert pagerduty_event(firing, ROUTING_KEY, None) == pagerduty_event(copy.deepcopy(firing), ROUTING_KEY, None)
    assert set(pagerduty_event(resolved, ROUTING_KEY, TRACE_API)) == {"routing_key", "event_action", "dedup_key"}
    assert "trace_url" not in json.dumps(slack_message(firing, None))  # no TRACE_API_URL: commands, not links
    assert "`slo trace " in json.dumps(slack_message(firing, None))


def test_the_evaluator_wires_the_spec_s_routes_from_its_environment(
    secrets: tuple[Any, dict[str, str]], moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from processors.handlers.evaluator import routed_notifier
    from processors.spec import load_spec

    client, arns = secrets
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    topic = sns.create_topic(Name="page-routes")["TopicArn"]
    spec = dataclasses.replace(load_spec(), routes={"page": ("pagerduty", "sns"), "ticket": ("sns",)})
    with recording_server() as server:
        monkeypatch.setenv("PAGERDUTY_SECRET_ARN", arns["pagerduty"])
        monkeypatch.setenv("PAGERDUTY_EVENTS_URL", server.url + "/v2/enqueue")
        monkeypatch.setenv("PAGE_TOPIC_ARN", topic)
        monkeypatch.setenv("TRACE_API_URL", TRACE_API)
        notifier = routed_notifier(spec, sns, client)
        notifier.publish(copy.deepcopy(incident()[0]))  # type: ignore[arg-type]
        (event,) = server.json_bodies()
    assert event["event_action"] == "trigger" and event["routing_key"] == ROUTING_KEY
    assert notifier.targets(incident()[0]) == ("pagerduty", "sns")  # type: ignore[attr-defined, arg-type]
