"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it accepts, and its certificate.

``Mailbox`` is the handler: it keeps every accepted message, and answers the
``answers`` it is given (a reply such as ``"451 4.3.0 try later"``) before it
accepts again. ``certificate`` makes a throw-away CA and a server certificate
for 127.0.0.1, so the client verifies TLS exactly as it would in production.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import errno
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "sla-bot", "s3cret-pw"


@dataclass
class Received:
    """One accepted message: the envelope and the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Mailbox:
    """The aiosmtpd handler: records accepted messages, answers scripted refusals first."""

    received: list[Received] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # DATA replies to give before accepting
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> RCPT reply
    attempts: int = 0
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.attempts += 1
            if self.answers:
                return self.answers.pop(0)
            raw = bytes(envelope.original_content or envelope.content)
            parsed = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw))
        return "250 OK queued"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (USER, PASSWORD)
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    def by_message_id(self) -> dict[str, list[Received]]:
        """Accepted messages grouped by their Message-ID."""
        found: dict[str, list[Received]] = {}
        with self.lock:
            for item in self.received:
                found.setdefault(str(item.message["Message-ID"]), []).append(item)
        return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Certificate:
    """A CA file for the client and a server context using the certificate it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def certificate(directory: Path) -> Certificate:
    """A new CA, and a certificate for 127.0.0.1 and localhost signed by it, in ``directory``."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("slaengine test CA"))
        .issuer_name(_name("slaengine test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = (directory / n for n in ("ca.pem", "server.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(ca_file, cert_file, key_file)


class SmtpServer:
    """A started aiosmtpd server on 127.0.0.1.

    ``mode`` is ``"none"`` (plain SMTP), ``"starttls"`` (STARTTLS required before
    anything else, login required) or ``"tls"`` (implicit TLS, login required).
    """

    def __init__(
        self,
        mode: str = "none",
        cert: Certificate | None = None,
        port: int | None = None,
        mailbox: Mailbox | None = None,
    ) -> None:
        self.mailbox = mailbox or Mailbox()
        self.port = port or free_port()
        self.mode = mode
        kwargs: dict[str, Any] = {}
        if mode == "starttls":
            assert cert is not None
            kwargs = {
                "tls_context": cert.server_context(),
                "require_starttls": True,
                "authenticator": self.mailbox.authenticate,
                "auth_required": True,
            }
        elif mode == "tls":
            assert cert is not None
            kwargs = {
                "ssl_context": cert.server_context(),
                "authenticator": self.mailbox.authenticate,
                "auth_required": True,
                # The connection is TLS from the first byte; aiosmtpd only knows STARTTLS.
                "auth_require_tls": False,
            }
        for attempt in range(5):
            # A loaded machine starts the server thread slowly; success is quick.
            self.controller = Controller(
                self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=60, **kwargs
            )
            try:
                self.controller.start()
                return
            except OSError as exc:
                # The free port went to another socket before the server bound it: another.
                if port is not None or exc.errno != errno.EADDRINUSE or attempt == 4:
                    raise
                self.port = free_port()

    def stop(self) -> None:
        self.controller.stop()
