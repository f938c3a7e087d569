"""WebhookClient against a real HTTP server on 127.0.0.1: body, headers, signature, failures."""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import json
import socket
import threading
import time

import pytest
from slaengine_webhook import __version__
from slaengine_webhook.client import WebhookClient, WebhookError, retry_after_seconds
from slaengine_webhook.config import Target
from webhook_receiver import Answer, Receiver

from slaengine.notifications import Notification


def _target(receiver: Receiver, **settings: object) -> Target:
    settings.setdefault("backoff", 0.01)
    return Target(name="team-lead", url=receiver.url, **settings)  # type: ignore[arg-type]


def verify(secret: bytes, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The receiver-side check the README recommends."""
    timestamp = headers.get("X-Slaengine-Timestamp", "")
    signature = headers.get("X-Slaengine-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"sha256={expected}")


def test_posts_the_notification_as_json_with_its_headers(receiver, breach):
    before = int(time.time())
    WebhookClient(_target(receiver)).deliver(breach)

    [request] = receiver.requests
    assert request.method == "POST"
    assert request.path == "/hooks/sla"
    assert json.loads(request.body) == {
        "event": "sla.breach",
        "notification": breach.to_dict(),
        "target": "team-lead",
    }
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"slaengine-webhook/{__version__}"
    assert request.headers["Idempotency-Key"] == "T-1001/first_response/1/breach/0"
    assert before <= int(request.headers["X-Slaengine-Timestamp"]) <= time.time()
    assert "X-Slaengine-Signature" not in request.headers  # no secret configured


def test_signature_verifies_with_the_secret_and_not_with_another(receiver, breach):
    WebhookClient(_target(receiver, secret=b"s3cret")).deliver(breach)

    [request] = receiver.requests
    assert request.headers["X-Slaengine-Signature"].startswith("sha256=")
    assert verify(b"s3cret", request.headers, request.body)
    assert not verify(b"another", request.headers, request.body)
    assert not verify(b"s3cret", request.headers, request.body.replace(b"T-1001", b"T-1002"))
    stale = dict(request.headers, **{"X-Slaengine-Timestamp": str(int(time.time()) - 3600)})
    assert not verify(b"s3cret", stale, request.body)


def test_a_receiver_slower_than_the_timeout_fails_within_about_the_timeout(receiver, breach):
    receiver.answers.append(Answer(stall=10))
    client = WebhookClient(_target(receiver, timeout=0.3, retries=2))

    started = time.monotonic()
    with pytest.raises(
        WebhookError, match=r"no complete answer within the timeout of 0\.3 s"
    ) as caught:
        client.deliver(breach)
    elapsed = time.monotonic() - started

    assert 0.25 <= elapsed < 5.0  # the receiver stalls 10 s; retries at once would take 3 x 10 s
    assert len(receiver.requests) == 1  # a timeout is left to the outbox, not retried at once
    assert caught.value.status is None


def test_retries_a_503_then_succeeds_with_the_same_key_and_body(receiver, breach):
    receiver.answers.extend([Answer(503, body=b"busy"), Answer(503, body=b"busy")])
    WebhookClient(_target(receiver, retries=2, secret=b"k")).deliver(breach)

    assert len(receiver.requests) == 3
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {breach.key}
    assert {r.body for r in receiver.requests} == {receiver.requests[0].body}
    assert all(verify(b"k", r.headers, r.body) for r in receiver.requests)


def test_gives_up_after_its_retries_with_an_informative_error(receiver, breach):
    receiver.answers.extend([Answer(503, body=b"down for\nmaintenance")] * 3)
    client = WebhookClient(_target(receiver, retries=2))

    with pytest.raises(WebhookError) as caught:
        client.deliver(breach)

    message = str(caught.value)
    port = receiver.server.server_address[1]
    assert f"webhook 'team-lead' (http://127.0.0.1:{port}/…)" in message
    assert "HTTP 503 Service Unavailable: down for maintenance" in message
    assert "gave up after 3 attempts" in message
    assert "/hooks/sla" not in message  # the path may hold a token
    assert caught.value.status == 503
    assert len(receiver.requests) == 3


def test_backoff_doubles_between_immediate_retries(receiver, breach):
    receiver.answers.extend([Answer(500)] * 3)
    waits: list[float] = []
    client = WebhookClient(_target(receiver, retries=2, backoff=0.5), sleep=waits.append)

    with pytest.raises(WebhookError, match="HTTP 500"):
        client.deliver(breach)

    assert waits == [0.5, 1.0]


def test_backoff_never_waits_longer_than_max_retry_after(receiver, breach):
    receiver.answers.extend([Answer(502)] * 4)
    waits: list[float] = []
    target = _target(receiver, retries=4, backoff=1, max_retry_after=3)

    WebhookClient(target, sleep=waits.append).deliver(breach)

    assert waits == [1, 2, 3, 3]


def test_a_400_is_not_retried(receiver, breach):
    receiver.answers.append(Answer(400, body=b"invalid_payload"))

    with pytest.raises(WebhookError) as caught:
        WebhookClient(_target(receiver, retries=3)).deliver(breach)

    assert caught.value.status == 400
    assert "HTTP 400 Bad Request: invalid_payload" in str(caught.value)
    assert "not retried" in str(caught.value)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        *[(status, True) for status in (408, 429, 500, 502, 504)],
        *[(status, False) for status in (401, 403, 404, 410, 422)],
    ],
    ids=str,
)
def test_which_statuses_are_retried_at_once(receiver, breach, status, retried):
    receiver.answers.append(Answer(status))
    client = WebhookClient(_target(receiver, retries=1))

    if retried:
        client.deliver(breach)  # the retry gets the default 200
    else:
        with pytest.raises(WebhookError, match=f"HTTP {status}"):
            client.deliver(breach)

    assert len(receiver.requests) == (2 if retried else 1)


def test_retry_after_is_honoured(receiver, breach):
    receiver.answers.append(Answer(429, headers={"Retry-After": "1"}))

    WebhookClient(_target(receiver, retries=1)).deliver(breach)

    first, second = receiver.requests
    assert second.at - first.at >= 0.95


def test_a_retry_after_over_the_cap_ends_the_delivery_at_once(receiver, breach):
    receiver.answers.append(Answer(429, headers={"Retry-After": "120"}))
    waits: list[float] = []
    client = WebhookClient(_target(receiver, retries=3, max_retry_after=2), sleep=waits.append)

    with pytest.raises(WebhookError, match="Retry-After 120 s is over max_retry_after 2 s"):
        client.deliver(breach)

    assert waits == []
    assert len(receiver.requests) == 1


def test_a_refused_connection_is_retried_then_reported(breach):
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = Target("team-lead", f"http://127.0.0.1:{port}/x?token=t", retries=1)
    waits: list[float] = []

    with pytest.raises(WebhookError) as caught:
        WebhookClient(target, sleep=waits.append).deliver(breach)

    message = str(caught.value)
    assert "connection failed" in message
    assert "gave up after 2 attempts" in message
    assert f"(http://127.0.0.1:{port}/…)" in message
    assert "token" not in message
    assert waits == [0.5]


def test_a_redirect_is_a_failure_not_a_get(receiver, breach):
    receiver.answers.append(Answer(302, headers={"Location": receiver.url + "/moved"}))

    with pytest.raises(WebhookError, match="redirects are not followed") as caught:
        WebhookClient(_target(receiver, retries=2)).deliver(breach)

    assert caught.value.status == 302
    assert [r.method for r in receiver.requests] == ["POST"]


def test_slack_format_posts_text_and_blocks(receiver, escalation: Notification):
    WebhookClient(_target(receiver, format="slack")).deliver(escalation)

    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["text"] == (
        "SLA escalation 1: ticket T-1001, first_response, policy standard-email, "
        "due 2025-12-01T12:00:00Z"
    )
    assert [block["type"] for block in body["blocks"]] == ["section", "context"]
    assert "*SLA escalation 1*" in body["blocks"][0]["text"]["text"]
    assert request.headers["Idempotency-Key"] == "T-1001/first_response/1/escalation/1"


@pytest.mark.parametrize(
    ("body_format", "fields"),
    [("teams", {"type", "summary", "attachments"}), ("google-chat", {"text", "cardsV2"})],
    ids=["teams", "google-chat"],
)
def test_chat_formats_post_their_body_with_the_usual_headers(
    receiver, escalation, body_format, fields
):
    WebhookClient(_target(receiver, format=body_format, secret=b"k")).deliver(escalation)

    [request] = receiver.requests
    body = json.loads(request.body)
    assert set(body) == fields
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "T-1001/first_response/1/escalation/1"
    assert verify(b"k", request.headers, request.body)


def test_retry_after_values():
    now = 1_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds(date, now) == pytest.approx(42, abs=1)
    assert retry_after_seconds(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_an_answer_that_is_not_http_is_reported(breach):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def answer_garbage() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"SMTP ready\r\n\r\n")

        server = threading.Thread(target=answer_garbage)
        server.start()
        target = Target("odd", f"http://127.0.0.1:{port}/", retries=2)
        try:
            with pytest.raises(WebhookError, match="not an HTTP answer") as caught:
                WebhookClient(target).deliver(breach)
        finally:
            server.join()
    assert "(1 attempt)" in str(caught.value)
