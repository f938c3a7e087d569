"""SmtpClient against a real SMTP server on 127.0.0.1: plain, STARTTLS, TLS, login, failures."""

from __future__ import annotations

import pytest
import structlog
from email_smtpd import free_port
from slaengine_email.client import EmailError, SmtpClient
from slaengine_email.config import Server
from slaengine_email.message import build

from conftest import DUE, server_for


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
