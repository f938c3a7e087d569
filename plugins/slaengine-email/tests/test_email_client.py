"""SmtpClient against a real SMTP server on 127.0.0.1: plain, STARTTLS, TLS, login, failures."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import structlog
from email_support import DUE, server_for

pytest.importorskip("aiosmtpd", reason="the SMTP tests need aiosmtpd ([test] extra)")

from email_smtpd import free_port
from slaengine_email.client import EmailError, SmtpClient
from slaengine_email.config import Server
from slaengine_email.message import build


def _send(server: Server, notification, target) -> None:
    SmtpClient(server).send(build(notification, target, server, DUE), target.recipients)


def test_plain_smtp_delivers_to_every_recipient(smtp_server, escalation, lead):
    smtp = smtp_server("none")
    _send(server_for(smtp), escalation, lead)
    [got] = smtp.mailbox.received
    assert got.sender == "sla@example.org"
    assert got.recipients == ["lead@example.org", "deputy@example.org", "ops@example.org"]
    assert got.message["X-Slaengine-Key"] == escalation.key
    assert got.message.get_body(("plain",)) is not None
    assert got.message.get_body(("html",)) is not None


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_encrypted_and_logged_in(smtp_server, cert, escalation, lead, mode):
    smtp = smtp_server(mode, cert)
    _send(server_for(smtp, cert), escalation, lead)
    assert len(smtp.mailbox.received) == 1
    assert smtp.mailbox.logins  # the server saw a successful AUTH


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_a_wrong_password_is_an_error_naming_the_user_not_the_password(
    smtp_server, cert, escalation, lead, mode
):
    smtp = smtp_server(mode, cert)
    with pytest.raises(EmailError) as caught:
        _send(server_for(smtp, cert, password="wrong-pw"), escalation, lead)
    assert "login as 'sla-bot' refused: 535" in str(caught.value)
    assert "wrong-pw" not in str(caught.value)
    assert smtp.mailbox.received == []


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_an_untrusted_certificate_is_refused(smtp_server, cert, escalation, lead, mode):
    smtp = smtp_server(mode, cert)
    with pytest.raises(EmailError, match="CERTIFICATE_VERIFY_FAILED"):
        _send(server_for(smtp, None), escalation, lead)  # the test CA is not trusted
    assert smtp.mailbox.received == []


def test_starttls_never_falls_back_to_plain_text(smtp_server, cert, escalation, lead):
    smtp = smtp_server("none")
    server = server_for(smtp, cert, security="starttls", username=None, password=None)
    with pytest.raises(EmailError, match="does not offer STARTTLS; not sent in plain text"):
        _send(server, escalation, lead)
    assert smtp.mailbox.received == []


def test_a_temporary_refusal_is_an_error_with_its_code(smtp_server, escalation, lead):
    smtp = smtp_server("none")
    smtp.mailbox.answers.append("451 4.3.0 mailbox busy\x1b[2J")
    with pytest.raises(EmailError) as caught:
        _send(server_for(smtp), escalation, lead)
    assert caught.value.code == 451
    assert "451 4.3.0 mailbox busy\\x1b[2J" in str(caught.value)  # escaped, not raw
    _send(server_for(smtp), escalation, lead)
    assert len(smtp.mailbox.received) == 1


def test_no_server_listening_is_an_error(escalation, lead):
    server = Server("127.0.0.1", free_port(), "none", "a@example.org", "example.org", timeout=2)
    with pytest.raises(EmailError, match="ConnectionRefusedError"):
        _send(server, escalation, lead)


def test_a_missing_password_variable_fails_before_connecting(escalation, lead):
    server = Server(
        "127.0.0.1",
        free_port(),
        "tls",
        "a@example.org",
        "example.org",
        username="bot",
        missing_password_env="SMTP_PW",
    )
    with pytest.raises(EmailError, match="SMTP_PW"):
        _send(server, escalation, lead)


def test_a_recipient_refused_for_good_is_logged_and_the_others_get_it(
    smtp_server, escalation, lead
):
    smtp = smtp_server("none")
    smtp.mailbox.refuse_rcpt["ops@example.org"] = "550 5.1.1 no such user"
    with structlog.testing.capture_logs() as logs:
        _send(server_for(smtp), escalation, lead)
    [got] = smtp.mailbox.received
    assert got.recipients == ["lead@example.org", "deputy@example.org"]
    [log] = [e for e in logs if e["event"] == "e-mail recipient refused"]
    assert (log["recipient"], log["retried"]) == ("ops@example.org", False)


def test_a_recipient_refused_for_now_makes_the_delivery_fail(smtp_server, escalation, lead):
    smtp = smtp_server("none")
    smtp.mailbox.refuse_rcpt["ops@example.org"] = "450 4.2.0 over quota"
    with pytest.raises(
        EmailError, match=r"recipient refused for now, retried: ops@example\.org: 450"
    ):
        _send(server_for(smtp), escalation, lead)


def test_every_recipient_refused_is_an_error(smtp_server, escalation, lead):
    smtp = smtp_server("none")
    for address in lead.recipients:
        smtp.mailbox.refuse_rcpt[address.split("<")[-1].rstrip(">")] = "550 5.1.1 no"
    with pytest.raises(EmailError, match="every recipient refused"):
        _send(server_for(smtp), escalation, lead)


class TricklingServer:
    """A TCP server on 127.0.0.1 that sends a greeting one byte every 1.5 s."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    for byte in b"220 smtp.example.org ESMTP slow but alive\r\n":
                        conn.sendall(bytes([byte]))
                        self.sent += 1
                        if self.stop.wait(1.5):
                            return
                except OSError:
                    continue  # the client gave up

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.listener.close()


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_a_trickling_server_is_cut_off_at_the_timeout(escalation, lead, security):
    slow = TricklingServer()
    try:
        server = Server("127.0.0.1", slow.port, security, "a@example.org", "example.org", timeout=2)
        started = time.monotonic()
        with pytest.raises(EmailError, match=r"not done within the timeout of 2 s"):
            _send(server, escalation, lead)
        elapsed = time.monotonic() - started
        # Without the total deadline the server trickles for a minute; 10 s leaves room for a
        # loaded machine while still telling the two apart.
        assert 1.9 <= elapsed < 10.0  # each byte came within the socket timeout; the total did not
        assert slow.sent < 10
    finally:
        slow.close()


class _LateTimer(threading.Timer):
    """A timer whose thread runs 1.5 s late, as on a loaded machine."""

    def __init__(self, interval, function, *args, **kwargs):
        super().__init__(interval + 1.5, function, *args, **kwargs)


def test_a_tls_handshake_cut_off_before_the_deadline_timer_ran_names_the_timeout(
    escalation, lead, monkeypatch
):
    # The TLS handshake has a time limit of its own (the socket timeout, as long as the
    # deadline): it ends the attempt at the same instant, before a late timer thread.
    monkeypatch.setattr(threading, "Timer", _LateTimer)
    slow = TricklingServer()
    try:
        server = Server("127.0.0.1", slow.port, "tls", "a@example.org", "example.org", timeout=2)
        with pytest.raises(EmailError, match=r"not done within the timeout of 2 s"):
            _send(server, escalation, lead)
    finally:
        slow.close()
