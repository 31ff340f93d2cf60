"""Notifications: one SNS message per notified transition, page and ticket on separate topics.

The subject is one ASCII line of at most 100 characters (SNS rejects anything else); the message is JSON
with the burn rates, thresholds, budget, forecast, runbook and up to five exemplar traces. LocalNotifier
sends nothing: `slo replay` backtests keep transitions in the store's alert log only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Protocol

from processors.alerting.exceptions import NotificationError
from processors.alerting.types import Transition
from processors.timeutil import finite_seconds

SUBJECT_LIMIT = 100
MAX_EXEMPLARS = 5
ENV_PAGE_TOPIC = "PAGE_TOPIC_ARN"
ENV_TICKET_TOPIC = "TICKET_TOPIC_ARN"
ENV_TRACE_API_URL = "TRACE_API_URL"
# Fields of the transition record that are bookkeeping, not news for a responder.
_INTERNAL_FIELDS = ("notify", "route", "at_epoch")


class Notifier(Protocol):
    def publish(self, transition: Transition) -> None:
        """Send one transition; raise NotificationError when it could not be sent."""
        ...


class LocalNotifier:
    """For backtests: sends nothing, so transitions end up in the alert log only."""

    def publish(self, transition: Transition) -> None:
        del transition


def human_duration(seconds: float) -> str:
    """3h10m, 2d4h, 12m, 45s: two units at most, rounded down."""
    whole = max(int(seconds), 0)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def ascii_subject(text: str) -> str:
    """One printable ASCII line of at most 100 characters."""
    text = " ".join(text.split())  # newlines and tabs become single spaces
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "-" if ch in "\u2013\u2014" else "?" for ch in text)
    if len(cleaned) > SUBJECT_LIMIT:
        cleaned = cleaned[: SUBJECT_LIMIT - 3].rstrip() + "..."
    return cleaned


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def _rate(value: float) -> str:
    return f"{value:.0f}x" if value >= 10 else f"{value:.1f}x"


def _budget_phrase(transition: Mapping[str, Any]) -> str:
    budget = transition.get("budget") or {}
    remaining = float(budget.get("remaining", 1.0))
    if remaining <= 0:
        return f"budget exhausted ({_percent(float(budget.get('consumed', 0.0)))} used)"
    phrase = f"budget {_percent(remaining)} left"
    forecast = transition.get("forecast") or {}
    seconds = forecast.get("1h") if forecast.get("1h") is not None else forecast.get("6h")
    if seconds is not None:
        phrase += f", exhausted in {human_duration(seconds)}"
    return phrase


def _short_burn(transition: Mapping[str, Any]) -> float | None:
    thresholds = transition.get("thresholds") or {}
    rates = transition.get("burn_rates") or {}
    return rates.get(thresholds.get("short_window"))


def subject(transition: Mapping[str, Any]) -> str:
    """e.g. `PAGE api-availability burning 176x (1h/5m) - budget 54% left, exhausted in 3h10m`; one group of a
    grouped SLO is named after it: `PAGE deploy-success[acme/web] burning 40x (1h/5m) - ...`."""
    slo, kind, state = transition["slo"], transition["kind"], transition["state"]
    if transition.get("group"):
        slo = f"{slo}[{transition['group']}]"
    severity = str(transition["severity"]).upper()
    tier = transition.get("tier", "")
    if kind == "burn_rate":
        burn = _short_burn(transition)
        burning = f"burning {_rate(burn)}" if burn is not None else "burning"
        if state == "firing":
            text = f"{severity} {slo} {burning} ({tier}) - {_budget_phrase(transition)}"
        elif state == "downgraded":
            text = f"DOWNGRADED {slo} page to ticket, still {burning} ({tier}) - {_budget_phrase(transition)}"
        elif state == "escalated":
            text = f"ESCALATED {slo} {burning} ({tier})"
        else:
            text = f"RESOLVED {severity} {slo} ({tier}) - {_budget_phrase(transition)}"
    elif kind == "budget":
        consumed = float((transition.get("budget") or {}).get("consumed", 0.0))
        verb = "RESOLVED " if state == "resolved" else "TICKET "
        text = f"{verb}{slo} error budget {transition['severity']}: {_percent(consumed)} consumed"
    else:
        silent = transition.get("silent_for_seconds")
        for_how_long = f" for {human_duration(silent)}" if silent else ""
        text = f"TICKET {slo} no data{for_how_long}" if state == "firing" else f"RESOLVED {slo} data is back"
    return ascii_subject(text)


def trace_url(trace_api_url: str, correlation_id: str) -> str:
    """The trace API's GET /traces/{id}. TRACE_API_URL is the traces collection, as sam/template.yaml sets it
    (`…/v1/traces/`); a bare stage URL (`…/v1`) gets `/traces` added rather than a broken link."""
    base = trace_api_url.rstrip("/")
    if not base.endswith("/traces"):
        base += "/traces"
    return f"{base}/{correlation_id}"


def exemplar_links(ids: list[str], trace_api_url: str | None) -> list[dict[str, str]]:
    links = []
    for correlation_id in ids[:MAX_EXEMPLARS]:
        link = {"id": correlation_id, "command": f"slo trace {correlation_id}"}
        if trace_api_url:
            link["trace_url"] = trace_url(trace_api_url, correlation_id)
        links.append(link)
    return links


def message(transition: Mapping[str, Any], trace_api_url: str | None = None) -> dict[str, Any]:
    """The JSON body: the transition without bookkeeping fields, exemplars expanded into trace links."""
    body = {key: value for key, value in transition.items() if key not in _INTERNAL_FIELDS}
    body["subject"] = subject(transition)
    body["exemplars"] = exemplar_links(list(transition.get("exemplars") or []), trace_api_url)
    return body


def _finite(value: Any) -> bool:
    return finite_seconds(value) is not None  # an int too large for a float is not one (isfinite raised on it)


def _json(value: Any) -> bool:
    """JSON PagerDuty and Slack read: NaN and Infinity are not JSON (json.dumps writes them all the same)."""
    try:
        json.dumps(value, allow_nan=False)
    except (ValueError, TypeError):
        return False
    return True


# What the formatters (subject, message, and routes' pagerduty_event and slack_message) read of a transition's
# details, beside the fields that name it (slo, kind, severity, state, tier: the outbox's own check). Absent or
# None, each reads as nothing to say.
_DETAILS: dict[str, Any] = {
    "burn_rates": lambda v: isinstance(v, Mapping) and all(_finite(rate) for rate in v.values()),
    "thresholds": lambda v: (isinstance(v, Mapping) and _json(v) and (v.get("factor") is None or _finite(v["factor"]))
                             and (v.get("short_window") is None or isinstance(v["short_window"], str))),
    "budget": lambda v: isinstance(v, Mapping) and _json(v) and all(_finite(v[k]) for k in ("consumed", "remaining")
                                                                    if k in v),
    "forecast": lambda v: isinstance(v, Mapping) and all(s is None or _finite(s) for s in v.values()),
    "exemplars": lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
    "silent_for_seconds": _finite,
    "objective": _finite,
    "at": lambda v: isinstance(v, str),
    "suppressed": _json,
    "incident": lambda v: isinstance(v, str),
    "runbook": lambda v: isinstance(v, str),
}


def unreadable_details(transition: Mapping[str, Any]) -> dict[str, str]:
    """The details of a transition the formatters cannot read or would send as something that is not JSON, each
    with what it holds (`budget is str 'x'`); empty when every one reads. The evaluator writes none of these, but
    a notification waiting in an outbox is stored: a hand edit or another program or version can put anything
    there, and a formatter that raised stopped every notification after it (history.damaged_field is the same
    check for the readers of the alert log)."""
    return {field: f"{field} is {type(value).__name__} {str(value)[:40]!r}" for field, holds in _DETAILS.items()
            if (value := transition.get(field)) is not None and not holds(value)}


class SnsNotifier:
    """Publishes to the page or ticket topic with an injected boto3 SNS client."""

    def __init__(
        self,
        client: Any,
        page_topic_arn: str | None,
        ticket_topic_arn: str | None,
        trace_api_url: str | None = None,
    ) -> None:
        self.client = client
        self.topics = {"page": page_topic_arn, "ticket": ticket_topic_arn}
        self.trace_api_url = trace_api_url

    @classmethod
    def from_environment(cls, client: Any) -> SnsNotifier:
        return cls(
            client,
            os.environ.get(ENV_PAGE_TOPIC) or None,
            os.environ.get(ENV_TICKET_TOPIC) or None,
            os.environ.get(ENV_TRACE_API_URL) or None,
        )

    def publish(self, transition: Transition) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        route = transition["route"]
        topic = self.topics.get(route)
        if not topic:
            env = ENV_PAGE_TOPIC if route == "page" else ENV_TICKET_TOPIC
            raise NotificationError(f"no {route} topic configured: set {env}")
        try:
            self.client.publish(
                TopicArn=topic,
                Subject=subject(transition),
                Message=json.dumps(message(transition, self.trace_api_url), sort_keys=True),
                MessageAttributes={
                    "slo": {"DataType": "String", "StringValue": transition["slo"]},
                    "severity": {"DataType": "String", "StringValue": transition["severity"]},
                    "state": {"DataType": "String", "StringValue": transition["state"]},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise NotificationError(f"SNS publish to {topic} failed: {exc}") from exc
