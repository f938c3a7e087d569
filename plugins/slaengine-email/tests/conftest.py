"""Fixtures of the e-mail tests: SMTP servers on 127.0.0.1, a certificate, notifications."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from email_support import DUE
from slaengine_email.config import Target

from slaengine.notifications import Notification

# aiosmtpd warns from its own server thread: on every login (a deprecated attribute
# it sets itself), and in implicit-TLS mode, where it cannot tell that the connection
# is encrypted and so is told not to insist on STARTTLS before AUTH.
_SERVER_WARNINGS = (
    "ignore:Session.login_data is deprecated:DeprecationWarning",
    "ignore:Requiring AUTH while not requiring TLS:UserWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            for spec in _SERVER_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))


@pytest.fixture(scope="session")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A throw-away CA and a server certificate for 127.0.0.1 (an ``email_smtpd.Certificate``)."""
    pytest.importorskip("cryptography", reason="the TLS tests need cryptography ([test] extra)")
    from email_smtpd import certificate

    return certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Any]]:
    """Start SMTP servers (``smtp_server(mode, cert)``); all stopped after the test."""
    pytest.importorskip("aiosmtpd", reason="the SMTP tests need aiosmtpd ([test] extra)")
    from email_smtpd import SmtpServer

    started: list[SmtpServer] = []

    def start(mode: str = "none", cert: Any = None) -> SmtpServer:
        server = SmtpServer(mode, cert)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def lead() -> Target:
    """A target with two addresses in To and one in Cc."""
    return Target(
        "team-lead", ("lead@example.org", "Deputy <deputy@example.org>"), ("ops@example.org",)
    )


@pytest.fixture
def escalation() -> Notification:
    """The first escalation of T-1001's first response, two hours after its due time."""
    return Notification(
        "escalation",
        "T-1001",
        "standard-email",
        "first_response",
        1,
        1,
        DUE + 7200,
        DUE,
        "high",
        ("team-lead",),
    )


@pytest.fixture
def warning() -> Notification:
    """A warning 12 minutes before T-1002's due time."""
    return Notification(
        "warning", "T-1002", "standard-email", "first_response", 1, 1, DUE - 720, DUE, "normal"
    )
