"""SNS notifications: subject and message shape, topics by route, and the publish-failure path (Stubber)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from processors.alerting import NotificationError, SnsNotifier, message, subject
from processors.alerting.notify import ascii_subject, human_duration

PAGE_ARN = "arn:aws:sns:us-east-1:123456789012:slo-page"
TICKET_ARN = "arn:aws:sns:us-east-1:123456789012:slo-ticket"


def page() -> dict[str, Any]:
    return {
        "id": "api-availability#burn_rate#page#1h/5m#firing#1790830860",
        "slo": "api-availability",
        "kind": "burn_rate",
        "severity": "page",
        "tier": "1h/5m",
        "state": "firing",
        "at": "2026-10-01T04:01:00Z",
        "at_epoch": 1790830860,
        "notify": True,
        "route": "page",
        "objective": 0.999,
        "burn_rates": {"1h": 15.2, "5m": 176.0},
        "thresholds": {"factor": 14.4, "long_window": "1h", "short_window": "5m", "min_bad_events": 5},
        "suppressed": ["6h/30m"],
        "budget": {"consumed": 0.46, "remaining": 0.54},
        "forecast": {"1h": 11400, "6h": None},
        "runbook": "https://runbooks.example.com/slo/api-availability",
        "exemplars": [f"00000000-0000-4000-8000-00000000000{n}" for n in range(7)],
    }


@pytest.mark.parametrize(
    ("case", "changes", "expected"),
    [
        (
            "a page names the burn, the tier, the budget left and the forecast",
            {},
            "PAGE api-availability burning 176x (1h/5m) - budget 54% left, exhausted in 3h10m",
        ),
        (
            "a resolution says so",
            {"state": "resolved"},
            "RESOLVED PAGE api-availability (1h/5m) - budget 54% left, exhausted in 3h10m",
        ),
        (
            "an overspent budget reads exhausted",
            {"budget": {"consumed": 5.2, "remaining": -4.2}},
            "PAGE api-availability burning 176x (1h/5m) - budget exhausted (520% used)",
        ),
        (
            "a downgrade names the ticket tier",
            {
                "state": "downgraded",
                "tier": "1d/2h",
                "burn_rates": {"1d": 4.0, "2h": 3.5},
                "thresholds": {"short_window": "2h"},
                "forecast": {"1h": None, "6h": None},
            },
            "DOWNGRADED api-availability page to ticket, still burning 3.5x (1d/2h) - budget 54% left",
        ),
        (
            "a budget ticket names its level",
            {"kind": "budget", "severity": "critical", "budget": {"consumed": 0.81, "remaining": 0.19}},
            "TICKET api-availability error budget critical: 81% consumed",
        ),
        (
            "a no-data ticket names the silence",
            {"kind": "no_data", "severity": "ticket", "silent_for_seconds": 900},
            "TICKET api-availability no data for 15m",
        ),
    ],
)
def test_subjects(case: str, changes: dict[str, Any], expected: str) -> None:
    assert subject({**page(), **changes}) == expected, case


def test_a_subject_is_one_ascii_line_of_at_most_100_characters() -> None:
    text = ascii_subject("PAGE ünïcode — slo\nname " + "x" * 200)
    assert len(text) == 100 and text.isascii() and "\n" not in text and " - slo name" in text
    assert text.endswith("...")


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45s"), (600, "10m"), (11400, "3h10m"), (3600, "1h"), (180000, "2d2h")]
)
def test_human_durations(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_the_message_links_five_exemplars_to_traces_and_drops_bookkeeping() -> None:
    body = message(page(), "https://api.example.com/prod/")
    assert body["slo"] == "api-availability" and body["severity"] == "page" and body["tier"] == "1h/5m"
    assert body["burn_rates"] == {"1h": 15.2, "5m": 176.0} and body["thresholds"]["factor"] == 14.4
    assert body["runbook"].startswith("https://runbooks.example.com/")
    assert len(body["exemplars"]) == 5
    first = body["exemplars"][0]
    assert first == {
        "id": "00000000-0000-4000-8000-000000000000",
        "command": "slo trace 00000000-0000-4000-8000-000000000000",
        "trace_url": "https://api.example.com/prod/traces/00000000-0000-4000-8000-000000000000",
    }
    assert not {"notify", "route", "at_epoch"} & set(body)
    assert "trace_url" not in message(page())["exemplars"][0]
    collection = message(page(), "https://api.example.com/prod/traces/")["exemplars"][0]["trace_url"]
    assert collection == first["trace_url"]  # the collection URL (as the template sets it) gives the same link


def sns() -> Any:
    return boto3.client("sns", region_name="us-east-1")


@pytest.mark.parametrize(
    ("case", "changes", "topic"),
    [
        ("a page goes to the page topic", {}, PAGE_ARN),
        (
            "a budget alert goes to the ticket topic",
            {"kind": "budget", "severity": "warning", "route": "ticket"},
            TICKET_ARN,
        ),
    ],
)
def test_publish_sends_subject_and_json_message_to_the_route_topic(
    case: str, changes: dict[str, Any], topic: str
) -> None:
    client = sns()
    transition = {**page(), **changes}
    with Stubber(client) as stub:
        stub.add_response(
            "publish",
            {"MessageId": "m-1"},
            {
                "TopicArn": topic,
                "Subject": subject(transition),
                "Message": ANY,
                "MessageAttributes": ANY,
            },
        )
        SnsNotifier(client, PAGE_ARN, TICKET_ARN, "https://t.example.com").publish(transition)  # type: ignore[arg-type]
        stub.assert_no_pending_responses()


def test_the_published_message_is_the_transition_without_bookkeeping_with_five_linked_exemplars() -> None:
    client = sns()
    published: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.sns.Publish", lambda params, **_: published.append(params))
    transition = page()
    headline = "PAGE api-availability burning 176x (1h/5m) - budget 54% left, exhausted in 3h10m"
    # the expected body, built from the transition by hand (not by `message`, the function under test)
    expected = {key: value for key, value in transition.items() if key not in ("notify", "route", "at_epoch")}
    expected["subject"] = headline
    expected["exemplars"] = [
        {"id": cid, "command": f"slo trace {cid}", "trace_url": f"https://t.example.com/traces/{cid}"}
        for cid in transition["exemplars"][:5]
    ]
    with Stubber(client) as stub:
        stub.add_response("publish", {"MessageId": "m-1"})
        SnsNotifier(client, PAGE_ARN, TICKET_ARN, "https://t.example.com").publish(transition)  # type: ignore[arg-type]
        stub.assert_no_pending_responses()
    (params,) = published
    assert params["TopicArn"] == PAGE_ARN and params["Subject"] == headline
    assert json.loads(params["Message"]) == expected
    assert params["MessageAttributes"] == {
        "slo": {"DataType": "String", "StringValue": "api-availability"},
        "severity": {"DataType": "String", "StringValue": "page"},
        "state": {"DataType": "String", "StringValue": "firing"},
    }


def test_a_refused_publish_raises_a_notification_error() -> None:
    client = sns()
    with Stubber(client) as stub:
        stub.add_client_error("publish", service_error_code="AuthorizationError", http_status_code=403)
        with pytest.raises(NotificationError, match=r"SNS publish to .*slo-page failed"):
            SnsNotifier(client, PAGE_ARN, TICKET_ARN).publish(page())  # type: ignore[arg-type]


def test_a_missing_topic_is_a_notification_error_naming_the_variable() -> None:
    with pytest.raises(NotificationError, match="TICKET_TOPIC_ARN"):
        SnsNotifier(sns(), PAGE_ARN, None).publish({**page(), "route": "ticket"})  # type: ignore[arg-type]
