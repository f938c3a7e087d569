"""Hostile ticket ids, trickling receivers and control characters in answers (issue 17).

Each defect against a real server on 127.0.0.1: a key outside Latin-1 or with
CR/LF must not stop the request; ``timeout`` is a total deadline per attempt; a
receiver's error text is escaped before it reaches logs and ``last_error``.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from slaengine_webhook.client import WebhookClient, WebhookError, encode_key
from slaengine_webhook.config import Target
from webhook_receiver import Answer

import slaengine
from slaengine.live import Backoff, Dispatcher, LiveEngine, Store
from slaengine.notifications import Notification

DUE = 1764590400
CYRILLIC = "\u0422-\u043a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430"


def _breach(ticket: str) -> Notification:
    return Notification("breach", ticket, "p", "first_response", 1, 0, DUE, DUE, "high")


@pytest.mark.parametrize(
    "ticket",
    [CYRILLIC, "T-\U0001f680", "T-1\r\nX-Injected: yes", "T 1 100%", "T-\u00e9\u00df"],
    ids=["cyrillic", "emoji", "crlf", "space-percent", "latin-1"],
)
def test_any_ticket_id_reaches_the_receiver_with_a_decodable_key(receiver, ticket):
    notification = _breach(ticket)
    WebhookClient(Target("lead", receiver.url, backoff=0.01)).deliver(notification)

    [request] = receiver.requests
    header = request.headers["Idempotency-Key"]
    assert header == encode_key(notification.key)
    assert header.isascii()
    assert all(" " < ch < "\x7f" for ch in header)  # no CR, LF or space: one header line
    assert urllib.parse.unquote(header) == notification.key
    assert "X-Injected" not in request.headers
    assert json.loads(request.body)["notification"]["key"] == notification.key


def test_a_usual_key_is_sent_unchanged():
    key = "T-1001/first_response/1/breach/0"
    assert encode_key(key) == key
    assert encode_key("a%b") == "a%25b"  # the escape itself is escaped, so decoding is exact


def _store_with_a_due_breach(tmp_path: Path, ticket: str) -> Store:
    """A state database whose outbox holds ``ticket``'s escalation for target ``lead``."""
    policies = slaengine.loads_policies(
        "policies:\n  - name: p\n    calendar: 24x7\n    metrics:\n"
        "      first_response: {targets: 1h, escalations: [{after: 0m, notify: [lead]}]}\n",
        "p.yaml",
        notifiers=frozenset({"lead"}),
    )
    store = Store.open(tmp_path / "state.db")
    engine = LiveEngine(policies, store)
    created = {
        "ticket": ticket,
        "type": "created",
        "at": "2025-12-01T10:00:00Z",
        "channel": "chat",
        "priority": "high",
    }
    engine.ingest([created], DUE)
    engine.advance(DUE)
    return store


def test_a_crlf_ticket_is_delivered_through_the_outbox_not_dead(receiver, tmp_path):
    ticket = f"{CYRILLIC}\r\n\U0001f680"
    store = _store_with_a_due_breach(tmp_path, ticket)
    client = WebhookClient(Target("lead", receiver.url, backoff=0.01))
    report = Dispatcher(store, {"lead": client.deliver}, Backoff(attempts=1)).dispatch(DUE)
    assert (report.delivered, report.dead) == (1, 0)  # one attempt: it had to work at once
    [request] = receiver.requests
    assert urllib.parse.unquote(request.headers["Idempotency-Key"]).startswith(ticket)
    store.close()


def _read_request(conn: socket.socket) -> None:
    """Read one whole request (head and body), so closing later sends no reset."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


class Trickler:
    """A raw TCP server that answers every request with ``answer``, one byte every ``every`` s."""

    def __init__(
        self,
        answer: bytes,
        every: float,
        context: ssl.SSLContext | None = None,
        at_once: int = 0,
    ) -> None:
        self.answer, self.every, self.context, self.at_once = answer, every, context, at_once
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.bytes_sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            try:
                conn.settimeout(5)
                if self.context is not None:
                    conn = self.context.wrap_socket(conn, server_side=True)
                _read_request(conn)
                conn.sendall(self.answer[: self.at_once])
                self.bytes_sent = self.at_once
                for byte in self.answer[self.at_once :]:
                    conn.sendall(bytes([byte]))
                    self.bytes_sent += 1
                    if self.stop.wait(self.every):
                        return
            except OSError:
                continue  # the client gave up: what the test wants
            finally:
                conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.listener.close()


@pytest.fixture
def trickler() -> Iterator[list[Trickler]]:
    made: list[Trickler] = []
    yield made
    for server in made:
        server.close()


HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"


@pytest.mark.parametrize(
    "answer",
    [HEAD + b"x" * 40, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops"],
    ids=["trickled-200", "trickled-500"],
)
def test_a_trickling_receiver_is_cut_off_at_the_timeout(trickler, answer, breach):
    server = Trickler(answer, every=1.5)
    trickler.append(server)
    client = WebhookClient(Target("lead", f"http://127.0.0.1:{server.port}/", timeout=2, retries=0))

    started = time.monotonic()
    with pytest.raises(WebhookError, match=r"no complete answer within the timeout of 2 s"):
        client.deliver(breach)
    elapsed = time.monotonic() - started

    assert 1.9 <= elapsed < 10.0  # each byte within the socket timeout; the total (a minute) not
    assert server.bytes_sent < len(answer)


def test_a_trickled_body_after_a_complete_head_is_cut_off_too(trickler, breach):
    server = Trickler(HEAD + b"x" * 40, every=1.5, at_once=len(HEAD))  # 200 at once, then slow
    trickler.append(server)
    client = WebhookClient(Target("lead", f"http://127.0.0.1:{server.port}/", timeout=2, retries=0))

    started = time.monotonic()
    with pytest.raises(WebhookError, match=r"no complete answer within the timeout of 2 s"):
        client.deliver(breach)
    assert 1.9 <= time.monotonic() - started < 10.0  # the body alone would trickle a minute


def _openssl_cert(directory: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the HTTPS tests make their certificate with the openssl command")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_the_deadline_holds_over_https_too(trickler, tmp_path, monkeypatch, breach):
    cert, key = _openssl_cert(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's default context trusts it
    fast_answer = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    fast = Trickler(fast_answer, 0.0, context, at_once=len(fast_answer))
    slow = Trickler(HEAD + b"x" * 40, 1.5, context)
    trickler.extend([fast, slow])

    WebhookClient(Target("lead", f"https://127.0.0.1:{fast.port}/", timeout=2)).deliver(breach)
    started = time.monotonic()
    with pytest.raises(WebhookError, match="no complete answer within the timeout of 2 s"):
        WebhookClient(Target("lead", f"https://127.0.0.1:{slow.port}/", timeout=2)).deliver(breach)
    assert time.monotonic() - started < 10.0  # the answer trickles for two minutes


def test_an_untrusted_https_receiver_is_refused(trickler, tmp_path, breach):
    cert, key = _openssl_cert(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Trickler(b"HTTP/1.1 204 No Content\r\n\r\n", 0.0, context)
    trickler.append(server)
    with pytest.raises(WebhookError, match="CERTIFICATE_VERIFY_FAILED"):
        WebhookClient(Target("lead", f"https://127.0.0.1:{server.port}/")).deliver(breach)


def test_control_characters_in_an_error_answer_are_escaped(receiver, breach):
    receiver.answers.append(
        Answer(
            400,
            body="bad \x1b[2J\x1b]0;owned\x07 input\x00\x9b".encode(),
            reason="Bad\x1b[31m Request",
        )
    )
    with pytest.raises(WebhookError) as caught:
        WebhookClient(Target("lead", receiver.url, retries=0)).deliver(breach)
    message = str(caught.value)
    assert "\x1b" not in message
    assert "\x00" not in message
    assert "\x07" not in message
    assert "\x9b" not in message
    assert "bad \\x1b[2J\\x1b]0;owned\\x07 input\\x00\\x9b" in message
    assert "HTTP 400 Bad\\x1b[31m Request" in message


def test_escaped_error_text_is_what_the_outbox_keeps(receiver, tmp_path):
    receiver.answers.append(Answer(500, body=b"\x1b[2Jdown\r\n\x1b[1A"))
    store = _store_with_a_due_breach(tmp_path, "T-1")
    client = WebhookClient(Target("lead", receiver.url, retries=0))
    report = Dispatcher(store, {"lead": client.deliver}).dispatch(DUE)
    assert report.failed == 1
    [row] = store.outbox()
    assert row.last_error is not None
    assert "\x1b" not in row.last_error
    assert "HTTP 500 Internal Server Error: \\x1b[2Jdown \\x1b[1A" in row.last_error
    store.close()
