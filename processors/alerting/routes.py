"""Native notification routes: PagerDuty Events API v2 and Slack incoming webhooks, beside SNS.

The spec picks routes per severity (`routes: {page: [pagerduty, sns], ticket: [slack, sns]}`). Each route is a
`Sender`; `RoutedNotifier` sends a transition to every route of its severity, retrying each with backoff on
throttling, 5xx and network errors, and reports the routes that still failed without letting one route block
another. Secrets (PagerDuty's routing key, Slack's webhook URL) come from Secrets Manager through `SecretCache`,
read once per container.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from processors.alerting.exceptions import NotificationError
from processors.alerting.notify import exemplar_links, human_duration, message, subject
from processors.alerting.types import Transition

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
ENV_PAGERDUTY_SECRET = "PAGERDUTY_SECRET_ARN"
ENV_PAGERDUTY_URL = "PAGERDUTY_EVENTS_URL"  # tests point it at a local server
ENV_SLACK_SECRET = "SLACK_SECRET_ARN"
HTTP_TIMEOUT_SECONDS = 5.0
# PagerDuty's Events API v2 and Slack's webhooks both ask callers to retry 429 and 5xx, preferably with back-off.
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
# A 429's Retry-After up to this is waited for (instead of the back-off, when longer); a longer one ends the
# route's attempts for this evaluation: the outbox sends it next minute (Slack's webhooks answer 30 s or so).
MAX_RETRY_AFTER_SECONDS = 2.0
_PD_SUMMARY_LIMIT = 1024  # PagerDuty truncates summaries at 1024 characters
_SLACK_HEADER_LIMIT = 150  # header block: plain_text, at most 150 characters
_SLACK_FIELD_LIMIT = 2000  # section fields: at most 10, each at most 2000 characters


class Sender(Protocol):
    name: str

    def send(self, transition: Transition) -> None:
        """Deliver once; raise RetryableError (worth retrying) or NotificationError (not)."""
        ...


class RetryableError(NotificationError):
    """Throttled, a 5xx or a network error: the provider asks to be retried later (`retry_after` seconds, when it
    said how long: a 429's Retry-After; None when it did not, or not in seconds)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(headers: Any) -> float | None:
    value = (headers.get("Retry-After") if headers is not None else None) or ""
    try:
        seconds = float(value.strip())
    except ValueError:
        return None if not value else float("inf")  # an HTTP date: not a wait this evaluation should make
    return seconds if seconds >= 0 else None


class SecretCache:
    """Secrets Manager values, fetched on first use and kept for the container's life (one GetSecretValue
    per secret per container). `client` is an injected boto3 secretsmanager client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._values: dict[str, str] = {}

    def get(self, secret_id: str) -> str:
        if secret_id not in self._values:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                value = self.client.get_secret_value(SecretId=secret_id)["SecretString"]
            except (ClientError, BotoCoreError, KeyError) as exc:
                # the ARN is configuration, not a secret; the value never appears in messages
                raise NotificationError(f"cannot read secret {secret_id}: {type(exc).__name__}") from exc
            self._values[secret_id] = value
        return self._values[secret_id]

    def forget(self, secret_id: str) -> None:
        """Read it again on next use: it did not work (malformed, or the provider refused it: rotated)."""
        self._values.pop(secret_id, None)

    @contextlib.contextmanager
    def forgotten_if_refused(self, secret_id: str) -> Iterator[None]:
        """Forget the secret when the call inside is refused (a NotificationError that is not retryable), so the
        next use reads it again from Secrets Manager."""
        try:
            yield
        except RetryableError:
            raise
        except NotificationError:
            self.forget(secret_id)
            raise

    def field(self, secret_id: str, key: str) -> str:
        """A plain secret string, or one field of a JSON secret (`{"routing_key": "…"}`). A value that has no such
        field is not kept: once it is fixed in Secrets Manager, the next use reads the fixed one."""
        raw = self.get(secret_id).strip()
        if raw.startswith("{"):
            try:
                value = json.loads(raw).get(key)
            except (ValueError, AttributeError):
                value = None
            if not isinstance(value, str) or not value:
                self.forget(secret_id)
                raise NotificationError(f"secret {secret_id} has no string field {key!r}")
            return value
        return raw


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is not a delivery: urllib would follow a 302 after a POST as a GET without the body, and the 200
    of whatever answers there (a login page) would look like a delivered page. Both providers answer 2xx or an
    error, never a redirect, so a 3xx is refused (an HTTPError) like any other unexpected status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, body: Mapping[str, Any], what: str, timeout: float = HTTP_TIMEOUT_SECONDS) -> bytes:
    """POST JSON; 2xx returns the body, 429/5xx/network errors raise RetryableError, other codes NotificationError.
    Messages name the provider and status only: URLs can hold secrets (Slack's webhook URL is one).

    Every transport fault is one of the two: a timeout, a reset, a body cut short or a garbled status line is
    retryable (the provider may have the event: PagerDuty deduplicates by dedup_key); a redirect, or a URL that
    is not http(s) (a malformed secret), is not."""
    data = json.dumps(body, sort_keys=True).encode()
    url = url.strip()
    try:
        if urllib.parse.urlsplit(url).scheme not in ("https", "http") or any(c.isspace() for c in url):
            raise NotificationError(f"{what} URL is not an http(s) URL")
        request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        with _OPENER.open(request, timeout=timeout) as response:
            return bytes(response.read())
    except (http.client.InvalidURL, ValueError) as exc:  # a malformed secret: the message would quote the URL
        raise NotificationError(f"{what} URL is malformed: {type(exc).__name__}") from exc
    except urllib.error.HTTPError as exc:
        if exc.code == 429 or exc.code >= 500:
            raise RetryableError(f"{what} answered {exc.code}", _retry_after(exc.headers)) from exc
        raise NotificationError(f"{what} refused the message: {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        raise RetryableError(f"{what} unreachable: {type(exc).__name__}") from exc


# --- PagerDuty ----------------------------------------------------------------------------------------------


def dedup_key(transition: Mapping[str, Any]) -> str:
    """One PagerDuty alert per (SLO, incident): re-triggers and the resolve land on the same alert."""
    incident = transition.get("incident") or f"{transition['slo']}#{transition['kind']}"
    return f"slo-pipeline/{incident}"[:255]


def pagerduty_severity(transition: Mapping[str, Any]) -> str:
    """critical for a new page; warning for a re-trigger (an update, low urgency under PagerDuty's dynamic
    notifications); error for a ticket routed here; info otherwise."""
    if transition.get("severity") == "page":
        return "warning" if transition.get("state") == "retriggered" else "critical"
    return "error" if transition.get("severity") == "ticket" else "info"


def pagerduty_event(transition: Mapping[str, Any], routing_key: str, trace_api_url: str | None) -> dict[str, Any]:
    """An Events API v2 event: `resolve` when the page ends, `trigger` otherwise (firing, re-triggered)."""
    ends = transition.get("state") in ("resolved", "downgraded")
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if ends else "trigger",
        "dedup_key": dedup_key(transition),
    }
    if ends:
        return event  # a resolve needs only the key
    body = message(transition, trace_api_url)
    details = {
        key: body[key]
        for key in ("slo", "kind", "tier", "state", "at", "burn_rates", "thresholds", "budget", "forecast",
                    "suppressed", "incident", "objective")
        if body.get(key) is not None
    }
    forecast = transition.get("forecast") or {}
    details["forecast_human"] = {k: None if v is None else human_duration(v) for k, v in forecast.items()}
    links = [{"href": e["trace_url"], "text": f"trace {e['id']}"} for e in body["exemplars"] if "trace_url" in e]
    if transition.get("runbook"):
        links.insert(0, {"href": str(transition["runbook"]), "text": "runbook"})
    event["payload"] = {
        "summary": subject(transition)[:_PD_SUMMARY_LIMIT],
        "source": f"slo-pipeline/{transition['slo']}",
        "severity": pagerduty_severity(transition),
        "timestamp": transition.get("at"),
        "component": str(transition["slo"]),
        "group": "slo-pipeline",
        "class": f"{transition['kind']}/{transition.get('tier') or transition['severity']}",
        "custom_details": details,
    }
    event["client"] = "slo-pipeline"
    if links:
        event["links"] = links
    return event


class PagerDutySender:
    name = "pagerduty"

    def __init__(self, secrets: SecretCache, secret_id: str | None, url: str = PAGERDUTY_EVENTS_URL,
                 trace_api_url: str | None = None) -> None:
        self.secrets, self.secret_id, self.url, self.trace_api_url = secrets, secret_id, url, trace_api_url

    def send(self, transition: Transition) -> None:
        if transition["kind"] != "burn_rate" and transition["state"] not in ("firing", "resolved"):
            return
        if not self.secret_id:
            raise NotificationError(f"pagerduty route without a routing key: set {ENV_PAGERDUTY_SECRET}")
        key = self.secrets.field(self.secret_id, "routing_key")
        with self.secrets.forgotten_if_refused(self.secret_id):  # a 4xx: perhaps a rotated key
            post_json(self.url, pagerduty_event(transition, key, self.trace_api_url), "PagerDuty")


# --- Slack --------------------------------------------------------------------------------------------------

_EMOJI = {"firing": ":rotating_light:", "retriggered": ":repeat:", "escalated": ":arrow_double_up:",
          "downgraded": ":small_red_triangle_down:", "resolved": ":white_check_mark:"}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(transition: Mapping[str, Any], trace_api_url: str | None) -> dict[str, Any]:
    """Block Kit: a header, burn rates / budget / forecast as section fields, exemplar links, the runbook."""
    title = subject(transition)
    fields: list[dict[str, str]] = []
    rates = transition.get("burn_rates") or {}
    if rates:
        text = ", ".join(f"{window} {rate:g}x" for window, rate in rates.items())
        factor = (transition.get("thresholds") or {}).get("factor")
        threshold = f" (threshold {factor:g}x)" if factor else ""
        fields.append({"type": "mrkdwn", "text": f"*Burn rate*\n{text}{threshold}"})
    budget = transition.get("budget") or {}
    if budget:
        fields.append({"type": "mrkdwn", "text": f"*Budget*\n{budget.get('consumed', 0) * 100:.0f}% consumed, "
                                                 f"{budget.get('remaining', 1) * 100:.0f}% left"})
    forecast = {k: v for k, v in (transition.get("forecast") or {}).items() if v is not None}
    if forecast:
        text = ", ".join(f"at {w} burn: {human_duration(v)}" for w, v in forecast.items())
        fields.append({"type": "mrkdwn", "text": f"*Budget exhausted in*\n{text}"})
    fields.append({"type": "mrkdwn", "text": f"*State*\n{transition['state']} ({transition['severity']})"})
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(
            f"{_EMOJI.get(str(transition['state']), '')} {transition['slo']} {transition['state']}".strip(),
            _SLACK_HEADER_LIMIT), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(title, 3000)}},
        {"type": "section", "fields": [{**f, "text": _clip(f["text"], _SLACK_FIELD_LIMIT)} for f in fields[:10]]},
    ]
    links = exemplar_links(list(transition.get("exemplars") or []), trace_api_url)
    if links:
        lines = [f"<{e['trace_url']}|{e['id']}>" if "trace_url" in e else f"`{e['command']}`" for e in links]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Exemplar traces*\n" + "\n".join(lines)}})
    if transition.get("runbook"):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Runbook: <{transition['runbook']}>"}]})
    return {"text": title, "blocks": blocks}  # `text` is the notification fallback


class SlackSender:
    name = "slack"

    def __init__(self, secrets: SecretCache, secret_id: str | None, trace_api_url: str | None = None) -> None:
        self.secrets, self.secret_id, self.trace_api_url = secrets, secret_id, trace_api_url

    def send(self, transition: Transition) -> None:
        if not self.secret_id:
            raise NotificationError(f"slack route without a webhook: set {ENV_SLACK_SECRET}")
        url = self.secrets.field(self.secret_id, "webhook_url")
        with self.secrets.forgotten_if_refused(self.secret_id):  # refused or not a URL: perhaps a replaced webhook
            post_json(url, slack_message(transition, self.trace_api_url), "Slack")


class SnsSender:
    """The SNS topics, unchanged (email, AWS Chatbot), as one route among others."""

    name = "sns"

    def __init__(self, notifier: Any) -> None:
        self.notifier = notifier

    def send(self, transition: Transition) -> None:
        self.notifier.publish(transition)


# --- routing ------------------------------------------------------------------------------------------------


class RoutedNotifier:
    """Sends each transition to the routes the spec names for its severity (page or ticket)."""

    def __init__(
        self,
        routes: Mapping[str, Sequence[str]],
        senders: Mapping[str, Sender],
        *,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.routes = {severity: tuple(names) for severity, names in routes.items()}
        self.senders = dict(senders)
        self.attempts, self.backoff, self.sleep = attempts, backoff, sleep
        self.failures: dict[str, int] = {}  # route -> failed deliveries since this notifier was built

    def targets(self, transition: Transition) -> tuple[str, ...]:
        return self.routes.get(transition["route"], ())

    def send_to(self, name: str, transition: Transition) -> None:
        """One route, retried with exponential back-off; raises NotificationError when it still failed."""
        sender = self.senders.get(name)
        try:
            if sender is None:
                raise NotificationError(f"unknown route {name!r}")
            for attempt in range(self.attempts):
                try:
                    sender.send(transition)
                    return
                except RetryableError as exc:
                    wait = max(self.backoff * 2**attempt, exc.retry_after or 0.0)
                    if attempt == self.attempts - 1 or wait > MAX_RETRY_AFTER_SECONDS:
                        raise
                    self.sleep(wait)
        except NotificationError:
            self.failures[name] = self.failures.get(name, 0) + 1
            raise

    def publish(self, transition: Transition) -> None:
        """Every route is tried; the failures are reported together afterwards."""
        errors = []
        for name in self.targets(transition):
            try:
                self.send_to(name, transition)
            except NotificationError as exc:
                errors.append(f"{name}: {exc}")
        if errors:
            raise NotificationError("; ".join(errors))
