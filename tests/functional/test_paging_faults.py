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

import boto3
import pytest

from processors.alerting.exceptions import NotificationError
from processors.alerting.routes import RetryableError, SecretCache, SlackSender, post_json

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
