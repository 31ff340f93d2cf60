"""The paging path under real faults: a page is never lost and never sent twice for one incident transition.

Real components throughout: DynamoDB, SNS, SQS and Secrets Manager on moto's server over HTTP; PagerDuty and Slack
stand-ins are real HTTP servers on 127.0.0.1 (tests/recording_server.py, and below a raw socket server for the
transport faults http.server cannot produce). Where a fault is one moto cannot produce, a thin wrapper models it,
and the test says what it models.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from processors.alerting.exceptions import NotificationError, NotificationsFailedError
from processors.alerting.notify import SnsNotifier
from processors.alerting.routes import (
    PagerDutySender,
    RetryableError,
    RoutedNotifier,
    SecretCache,
    SlackSender,
    SnsSender,
    post_json,
)
from processors.alerting.service import evaluate_and_record
from processors.store import DynamoDBStore, dynamodb_client
from processors.store.exceptions import TransientStoreError
from processors.store.view import StoreView
from tests.conftest import FakeLambdaContext, create_table
from tests.contract.test_notification_claims import outage
from tests.recording_server import RecordingServer, recording_server

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
PAGE = "api-availability"

# --- transport faults of one HTTP call ----------------------------------------------------------------------


@contextmanager
def raw_server(answer: Callable[[socket.socket, bytes], None]) -> Iterator[str]:
    """A socket server on 127.0.0.1 that reads one request head and body, then lets `answer(conn, head)` write the
    reply (or misbehave): the transport faults a real provider, or a proxy in front of it, produces."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                with suppress(OSError):
                    answer(conn, head)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v2/enqueue"
    finally:
        stop.set()
        listener.close()


def reply(status: str, body: bytes = b"", headers: str = "") -> Callable[[socket.socket, bytes], None]:
    def answer(conn: socket.socket, head: bytes) -> None:
        del head
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n"
                     .encode() + body)
    return answer


def truncated_body(conn: socket.socket, head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"status\"")


def reset(conn: socket.socket, head: bytes) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close


def hang(conn: socket.socket, head: bytes) -> None:
    time.sleep(1.5)


@pytest.mark.parametrize(
    ("case", "answer", "retryable"),
    [
        ("a timeout is retried", hang, True),
        ("a connection reset is retried", reset, True),
        ("a body cut short is retried (the provider may have it: PagerDuty dedups by key)", truncated_body, True),
        ("a garbled status line is retried", reply("2O2 Accepted"), True),
        ("429 with Retry-After is retried", reply("429 Too Many Requests", b"rate_limited", "Retry-After: 30\r\n"),
         True),
        ("429 without Retry-After is retried", reply("429 Too Many Requests"), True),
        ("a 5xx is retried", reply("503 Service Unavailable"), True),
        ("a 400 (a bad routing key) is refused for good", reply("400 Bad Request", b'{"status":"invalid event"}'),
         False),
        ("a 302 is not followed: a redirect is not a delivery", reply("302 Found", b"", "Location: /login\r\n"), False),
        ("a 307 is not followed either", reply("307 Temporary Redirect", b"", "Location: /v2/enqueue\r\n"), False),
    ],
)
def test_every_transport_fault_of_a_route_is_a_notification_error_within_the_timeout(
    case: str, answer: Callable[[socket.socket, bytes], None], retryable: bool
) -> None:
    with raw_server(answer) as url:
        started = time.monotonic()
        with pytest.raises(NotificationError) as raised:
            post_json(url, {"event_action": "trigger"}, "PagerDuty", timeout=0.5)
        elapsed = time.monotonic() - started
    assert isinstance(raised.value, RetryableError) is retryable, case
    assert elapsed < 1.0, case
    assert "127.0.0.1" not in str(raised.value), case  # a Slack webhook URL is a secret: never in a message


def test_a_redirect_to_a_page_that_answers_get_is_not_taken_for_a_delivered_page() -> None:
    """urllib follows a 302 after a POST as a GET without the body; a login page answering 200 looked delivered."""
    def answer(conn: socket.socket, head: bytes) -> None:
        if head.startswith(b"POST"):
            reply("302 Found", b"", "Location: /login\r\n")(conn, head)
        else:
            reply("200 OK", b"<html>sign in</html>")(conn, head)

    with raw_server(answer) as url, pytest.raises(NotificationError, match="PagerDuty"):
        post_json(url, {"event_action": "trigger"}, "PagerDuty", timeout=0.5)


def test_a_non_json_success_body_is_a_delivery() -> None:
    with raw_server(reply("200 OK", b"ok", "Content-Type: text/html\r\n")) as url:
        assert post_json(url, {"text": "x"}, "Slack", timeout=0.5) == b"ok"


@pytest.mark.parametrize(
    ("secret", "field"),
    [
        ("hooks.slack.com/services/T0/B0/SECRETPART", "webhook_url"),  # no scheme
        (json.dumps({"webhook_url": "ftp://hooks.slack.com/services/T0/B0/SECRETPART"}), "webhook_url"),
        (json.dumps({"webhook_url": "https://hooks.slack.com/services/T0/B0/SECRET PART\n"}), "webhook_url"),
    ],
)
def test_a_webhook_secret_that_is_not_an_http_url_is_one_error_that_never_shows_the_secret(
    moto_endpoint: str, secret: str, field: str
) -> None:
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    arn = client.create_secret(Name=f"slack-bad-{abs(hash(secret))}", SecretString=secret)["ARN"]
    sender = SlackSender(SecretCache(client), arn)
    with pytest.raises(NotificationError) as raised:
        sender.send({"slo": PAGE, "kind": "burn_rate", "severity": "page", "state": "firing",  # type: ignore[typeddict-item]
                     "route": "page", "at": "2026-10-01T01:00:00Z", "at_epoch": 0, "id": "x", "notify": True})
    assert "SECRETPART" not in str(raised.value) and "SECRET PART" not in str(raised.value)


# --- one incident transition, three routes, faults between them --------------------------------------------


class Paging:
    """The evaluator's paging path over real components: DynamoDB, SNS (with an SQS queue subscribed, to count
    what the topic delivered) and Secrets Manager on moto's server; PagerDuty and Slack stand-ins on 127.0.0.1.
    `routes` is what the spec says for pages."""

    def __init__(self, endpoint: str, pagerduty: RecordingServer, slack: RecordingServer, spec: Any) -> None:
        self.store: Any = DynamoDBStore(dynamodb_client(endpoint), create_table(endpoint))
        self.spec = spec
        self.now = outage(self.store, spec)  # api-availability pages at this minute and the next ones
        self.pagerduty, self.slack = pagerduty, slack
        secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
        name = create_table(endpoint)  # a unique name
        pd_arn = secrets.create_secret(Name=f"pd-{name}", SecretString=json.dumps({"routing_key": ROUTING_KEY}))
        slack_arn = secrets.create_secret(Name=f"slack-{name}", SecretString=slack.url + "/services/T0/B0/X")
        self.sns = boto3.client("sns", endpoint_url=endpoint, region_name="us-east-1")
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        topic = self.sns.create_topic(Name=f"page-{name}")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName=f"page-{name}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        self.sns_messages: list[dict[str, Any]] = []
        self.notifier = RoutedNotifier(
            {"page": ("pagerduty", "slack", "sns"), "ticket": ()},
            {
                "pagerduty": PagerDutySender(SecretCache(secrets), pd_arn["ARN"], pagerduty.url + "/v2/enqueue"),
                "slack": SlackSender(SecretCache(secrets), slack_arn["ARN"]),
                "sns": SnsSender(SnsNotifier(self.sns, topic, topic)),
            },
            sleep=lambda _: None,
        )

    def evaluate(self, minute: int, store: Any = None) -> list[dict[str, Any]]:
        """One scheduled evaluation `minute` minutes after the outage's: what it recorded; a failed route raises."""
        store = store or self.store
        return evaluate_and_record(store, StoreView(store), self.spec, self.now + 60 * minute, self.notifier)

    def pages(self) -> dict[str, list[Any]]:
        """What each receiver got for api-availability's page: PagerDuty events it accepted, Slack messages,
        SNS messages."""
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            for message in got:
                self.sns_messages.append(json.loads(json.loads(message["Body"])["Message"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return {
            "pagerduty": [(r.json()["event_action"], r.json()["dedup_key"]) for r in self.pagerduty.requests
                          if r.json()["dedup_key"].startswith(f"slo-pipeline/{PAGE}#")],
            "slack": [r.json()["text"].split(" ")[0] for r in self.slack.requests if PAGE in r.json()["text"]],
            "sns": [(m["state"], m["incident"]) for m in self.sns_messages if m["slo"] == PAGE],
        }


@pytest.fixture
def paging(moto_endpoint: str, spec: Any) -> Iterator[Paging]:
    with recording_server() as pagerduty, recording_server(200, b"ok") as slack:
        yield Paging(moto_endpoint, pagerduty, slack, spec)


def test_a_route_that_fails_is_retried_alone_and_the_page_keeps_one_incident_and_one_dedup_key(
    paging: Paging,
) -> None:
    paging.pagerduty.statuses = [503, 503, 503]  # PagerDuty down for this evaluation's three attempts
    with pytest.raises(NotificationsFailedError, match="pagerduty"):
        paging.evaluate(0)
    paging.evaluate(1)
    paging.evaluate(2)
    pages = paging.pages()
    (incident,) = {incident for _, incident in pages["sns"]}
    assert pages["slack"] == ["PAGE"] and pages["sns"] == [("firing", incident)]
    assert {key for _, key in pages["pagerduty"]} == {f"slo-pipeline/{incident}"}  # 3 refused, then accepted
    assert len(pages["pagerduty"]) == 4 and paging.pagerduty.statuses == []
    firing = [t for t in paging.store.alert_log() if t["slo"] == PAGE and t["kind"] == "burn_rate"]
    assert len(firing) == 1 and firing[0]["incident"] == incident


def test_a_route_that_keeps_refusing_is_retried_each_minute_without_paging_again_on_the_others(
    paging: Paging,
) -> None:
    paging.pagerduty.default_status = 400  # a bad routing key: PagerDuty refuses every event
    for minute in range(4):
        with pytest.raises(NotificationsFailedError, match="pagerduty: PagerDuty refused the message: 400"):
            paging.evaluate(minute)
    pages = paging.pages()
    assert pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1
    assert len(pages["pagerduty"]) == 4  # once a minute, not retried within one (a 4xx)
    assert len({key for _, key in pages["pagerduty"]}) == 1
    paging.pagerduty.default_status = 202  # the routing key is fixed: the page goes out, once, on the same key
    paging.evaluate(4)
    paging.evaluate(5)
    pages = paging.pages()
    assert len(pages["pagerduty"]) == 5 and len({key for _, key in pages["pagerduty"]}) == 1
    assert pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1


class LambdaKilled(BaseException):
    """The Lambda runtime ending the invocation (its timeout): nothing after this point runs, no handler sees it."""


class DiesAfterPublishing:
    """The real DynamoDB store, except that the invocation is killed at the first alert-state write that follows a
    delivered notification: models the Lambda timing out (or its write failing for good) after a page went out and
    before the state that records it was saved."""

    def __init__(self, store: Any, pagerduty: RecordingServer) -> None:
        self.store, self.pagerduty = store, pagerduty

    def save_alert_evaluation(self, *args: Any, **kwargs: Any) -> Any:
        if self.pagerduty.requests:
            raise LambdaKilled
        return self.store.save_alert_evaluation(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


class StateWriteFails:
    """The real DynamoDB store, except that its first alert-state write fails: models DynamoDB throttling the
    evaluation's save (a TransientStoreError after the SDK's retries)."""

    def __init__(self, store: Any) -> None:
        self.store, self.failed = store, False

    def save_alert_evaluation(self, *args: Any, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise TransientStoreError("save alert evaluation: ProvisionedThroughputExceededException")
        return self.store.save_alert_evaluation(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def test_a_lambda_killed_after_the_page_went_out_and_before_the_state_was_saved_never_pages_twice(
    paging: Paging,
) -> None:
    with pytest.raises(LambdaKilled):
        paging.evaluate(0, DiesAfterPublishing(paging.store, paging.pagerduty))
    for minute in range(1, 4):
        paging.evaluate(minute)
    pages = paging.pages()
    assert len(pages["pagerduty"]) == 1 and pages["pagerduty"][0][0] == "trigger"
    assert pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1
    assert pages["pagerduty"][0][1] == f"slo-pipeline/{pages['sns'][0][1]}"


def test_an_alert_state_write_that_fails_never_pages_twice_and_the_page_still_goes_out(paging: Paging) -> None:
    with pytest.raises(TransientStoreError):
        paging.evaluate(0, StateWriteFails(paging.store))
    for minute in range(1, 4):
        paging.evaluate(minute)
    pages = paging.pages()
    assert len(pages["pagerduty"]) == 1 and pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1
    assert pages["pagerduty"][0][1] == f"slo-pipeline/{pages['sns'][0][1]}"


# --- the routes' secrets, through the evaluator Lambda's handler --------------------------------------------


class ThrottledSecrets:
    """A real Secrets Manager client on moto, except that GetSecretValue answers ThrottlingException while
    `throttled` (moto never throttles): models Secrets Manager's request quota."""

    def __init__(self, client: Any) -> None:
        self.client, self.throttled = client, True

    def get_secret_value(self, **kwargs: Any) -> Any:
        if self.throttled:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "GetSecretValue")
        return self.client.get_secret_value(**kwargs)


GOOD_SECRET = json.dumps({"routing_key": ROUTING_KEY})


@pytest.mark.parametrize(
    ("case", "stored"),
    [
        ("the secret does not exist yet", None),
        ("the secret is malformed JSON", '{"routing_key": "e93facc0'),
        ("the secret has the wrong key", json.dumps({"integration_key": ROUTING_KEY})),
        ("Secrets Manager throttles", GOOD_SECRET),
    ],
)
def test_a_routing_key_secret_that_cannot_be_used_is_one_logged_error_and_the_other_routes_still_page(
    paging: Paging, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    case: str, stored: str | None,
) -> None:
    from processors.handlers import evaluator

    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"pd-routing-key-{create_table(moto_endpoint)}"
    if stored is not None:
        client.create_secret(Name=name, SecretString=stored)
    secrets: Any = ThrottledSecrets(client) if case == "Secrets Manager throttles" else client
    paging.notifier.senders["pagerduty"] = PagerDutySender(
        SecretCache(secrets), name, paging.pagerduty.url + "/v2/enqueue")
    store = paging.store
    deps = evaluator.Dependencies(store, paging.spec, paging.notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)

    def invoke(minute: int) -> dict[str, Any]:
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(paging.now + 60 * minute))
        return evaluator.lambda_handler({"time": at, "detail-type": "Scheduled Event"}, FakeLambdaContext())

    caplog.clear()
    invoke(0)  # no exception: the failure is logged and counted, the outbox keeps the page for PagerDuty
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    logged = f"{error.getMessage()} {getattr(error, 'failures', '')}"
    assert "pagerduty" in logged and ROUTING_KEY not in logged and error.exc_info is None, case
    pages = paging.pages()
    assert pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1 and pages["pagerduty"] == [], case

    if stored is None:
        client.create_secret(Name=name, SecretString=GOOD_SECRET)
    elif case == "Secrets Manager throttles":
        secrets.throttled = False
    else:
        client.put_secret_value(SecretId=name, SecretString=GOOD_SECRET)
    invoke(1)
    invoke(2)
    pages = paging.pages()
    assert [action for action, _ in pages["pagerduty"]] == ["trigger"], case
    assert pages["pagerduty"][0][1] == f"slo-pipeline/{pages['sns'][0][1]}", case
    assert pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1, case


def test_a_routing_key_pagerduty_refuses_is_read_again_so_a_rotated_key_is_used_without_a_new_container(
    moto_endpoint: str,
) -> None:
    client = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"pd-rotated-{create_table(moto_endpoint)}"
    client.create_secret(Name=name, SecretString="0" * 32)  # the key an operator has just revoked
    transition: Any = {"slo": PAGE, "kind": "burn_rate", "severity": "page", "state": "firing", "route": "page",
                       "at": "2026-10-01T01:00:00Z", "at_epoch": 0, "id": "x", "notify": True, "incident": f"{PAGE}#0"}
    with recording_server() as server:
        server.statuses = [400]
        sender = PagerDutySender(SecretCache(client), name, server.url + "/v2/enqueue")
        with pytest.raises(NotificationError, match="400"):
            sender.send(transition)
        client.put_secret_value(SecretId=name, SecretString=ROUTING_KEY)
        sender.send(transition)
        assert [r.json()["routing_key"] for r in server.requests] == ["0" * 32, ROUTING_KEY]


# --- bounded time -------------------------------------------------------------------------------------------


def test_a_route_that_fails_costs_its_retries_once_per_evaluation_however_many_slos_page(spec: Any) -> None:
    """Every SLO of the spec fails at once (a shared dependency is down) while PagerDuty answers 503: each of its
    attempts could as well be a 5 s timeout, so PagerDuty must be tried once per evaluation, not once per SLO,
    and Slack must still reach every SLO."""
    from tests.alert_fakes import MemoryAlertStore, MemoryNotifier, Phase, SeriesView, minute_counts

    t0, history = 1_790_000_000 // 3600 * 3600, 3 * 1440
    series = {slo.name: minute_counts([Phase(history, 20), Phase(60, 20, 1.0)]) for slo in spec.slos}
    view = SeriesView(t0 - history * 60, series)
    store, sns = MemoryAlertStore(), MemoryNotifier()
    with recording_server(default_status=503) as pagerduty, recording_server(200, b"ok") as slack:
        secrets = {"pagerduty": ROUTING_KEY, "slack": slack.url + "/hook"}

        class Plain:  # the secret strings as Secrets Manager would return them (the secret is not under test)
            def get_secret_value(self, SecretId: str) -> dict[str, str]:
                return {"SecretString": secrets[SecretId]}

        cache = SecretCache(Plain())
        notifier = RoutedNotifier(
            {"page": ("pagerduty", "slack", "sns"), "ticket": ()},
            {"pagerduty": PagerDutySender(cache, "pagerduty", pagerduty.url), "slack": SlackSender(cache, "slack"),
             "sns": SnsSender(sns)},
            sleep=lambda _: None,
        )
        with pytest.raises(NotificationsFailedError):
            evaluate_and_record(store, view, spec, t0 + 60, notifier)
        paged = {t["slo"] for t in sns.sent}
        assert len(paged) >= 3 and len(slack.requests) == len(sns.sent)
        assert len(pagerduty.requests) == 3  # one route's three attempts, for all of them
        pagerduty.default_status = 202
        evaluate_and_record(store, view, spec, t0 + 120, notifier)
        assert {r.json()["dedup_key"].split("/")[1].split("#")[0] for r in pagerduty.requests[3:]} == paged
        assert len(pagerduty.requests) == 3 + len(paged) and len(slack.requests) == len(sns.sent) == len(paged)


class EndOfTimeout(FakeLambdaContext):
    """A Lambda context whose invocation is about to time out: less time left than one route's retries need."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def test_an_evaluation_without_time_for_a_route_s_retries_sends_nothing_and_the_next_one_sends_it_once(
    paging: Paging, monkeypatch: pytest.MonkeyPatch
) -> None:
    from processors.handlers import evaluator

    store = paging.store
    deps = evaluator.Dependencies(store, paging.spec, paging.notifier, lambda: StoreView(store))
    monkeypatch.setattr(evaluator, "_dependencies", lambda: deps)

    def invoke(minute: int, context: Any) -> dict[str, Any]:
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(paging.now + 60 * minute))
        return evaluator.lambda_handler({"time": at, "detail-type": "Scheduled Event"}, context)

    late = invoke(0, EndOfTimeout())
    assert late["failed"] >= 1 and paging.pages() == {"pagerduty": [], "slack": [], "sns": []}
    invoke(1, FakeLambdaContext())
    invoke(2, FakeLambdaContext())
    pages = paging.pages()
    assert len(pages["pagerduty"]) == 1 and pages["slack"] == ["PAGE"] and len(pages["sns"]) == 1
    assert pages["pagerduty"][0][1] == f"slo-pipeline/{pages['sns'][0][1]}"


@pytest.mark.parametrize(
    ("retry_after", "slept", "attempts"),
    [
        (None, [0.5, 1.0], 3),  # no Retry-After: the back-off
        ("1", [1.0, 1.0], 3),  # a short one is honoured
        ("30", [], 1),  # longer than this evaluation should wait: the outbox sends it next minute
        ("Wed, 21 Oct 2026 07:28:00 GMT", [], 1),  # an HTTP date: not a short wait either
    ],
)
def test_a_429_s_retry_after_is_honoured_or_left_to_the_next_evaluation(
    retry_after: str | None, slept: list[float], attempts: int
) -> None:
    waited: list[float] = []
    with recording_server(default_status=429) as slack:
        if retry_after is not None:
            slack.headers["Retry-After"] = retry_after

        class Plain:
            def get_secret_value(self, SecretId: str) -> dict[str, str]:
                return {"SecretString": slack.url + "/hook"}

        notifier = RoutedNotifier({"page": ("slack",)}, {"slack": SlackSender(SecretCache(Plain()), "slack")},
                                  sleep=waited.append)
        transition: Any = {"slo": PAGE, "kind": "burn_rate", "severity": "page", "state": "firing",
                           "route": "page", "at": "2026-10-01T01:00:00Z", "at_epoch": 0, "id": "x", "notify": True}
        with pytest.raises(NotificationError, match="429"):
            notifier.publish(transition)
        assert waited == slept and len(slack.requests) == attempts
