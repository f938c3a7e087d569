"""The SMTP side: hand one message to the server, over STARTTLS or TLS, logged in.

Standard library only (:mod:`smtplib`, :mod:`ssl`). :meth:`SmtpClient.send`
returns once the server accepted the message for at least one recipient and
raises :class:`EmailError` otherwise; the live engine's outbox retries later.
The server's certificate is always verified (against ``ca_file`` when given),
and ``starttls`` never falls back to plain text.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage
from typing import Any

from slaengine.delivery import Deadline, one_line, printable
from slaengine.logs import get_logger
from slaengine_email.config import STARTTLS, TLS, Server, address_parts, missing_password

_log = get_logger("slaengine_email")
# How much of a server's reply to quote in an error.
_SNIPPET = 200


class EmailError(Exception):
    """A message was not accepted. ``code`` is the SMTP reply code, if the server gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def _reply(code: int | None, text: bytes | str | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    quoted = one_line(text or "", _SNIPPET)
    return f"{code} {quoted}".strip() if code is not None else quoted


class _WatchedSMTP(smtplib.SMTP):
    """SMTP whose sockets, plain and after STARTTLS, are put under a :class:`Deadline`."""

    def __init__(self, deadline: Deadline, *args: Any, **kwargs: Any) -> None:
        self.deadline = deadline  # before connecting, which __init__ does
        super().__init__(*args, **kwargs)

    # smtplib makes every connection through ``_get_socket`` (SMTP_SSL overrides
    # it the same way); typeshed leaves this private method out.
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.deadline.watch(super()._get_socket(host, port, timeout))  # type: ignore[misc]

    def starttls(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        reply = super().starttls(*args, **kwargs)
        if self.sock is not None:  # the TLS socket that replaced the plain one
            self.deadline.watch(self.sock)
        return reply


class _WatchedSMTPS(smtplib.SMTP_SSL):
    """SMTP over TLS from the first byte, its sockets put under a :class:`Deadline`."""

    def __init__(self, deadline: Deadline, *args: Any, **kwargs: Any) -> None:
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # The raw socket too, so that a stalled TLS handshake is cut off as well.
        plain: Any = smtplib.SMTP._get_socket  # type: ignore[attr-defined]
        raw = self.deadline.watch(plain(self, host, port, timeout))
        name = getattr(self, "_host", host)  # what SMTP_SSL checks the certificate against
        return self.deadline.watch(self.context.wrap_socket(raw, server_hostname=name))


class SmtpClient:
    """Sends messages through one :class:`~slaengine_email.config.Server`.

    A connection per message: deliveries are rare, and a fresh connection
    cannot be left half-way by an earlier failure. ``timeout`` bounds the
    whole conversation of one message, however slowly the server answers.
    Safe to share between threads.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self._context = ssl.create_default_context(cafile=server.ca_file)

    @property
    def where(self) -> str:
        """``smtp HOST:PORT (security)`` for logs and errors."""
        s = self.server
        return f"smtp {s.host}:{s.port} ({s.security})"

    def _open(self, deadline: Deadline) -> smtplib.SMTP:
        s = self.server
        if s.security == TLS:
            return _WatchedSMTPS(deadline, s.host, s.port, timeout=s.timeout, context=self._context)
        smtp = _WatchedSMTP(deadline, s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == STARTTLS:
                if not smtp.has_extn("starttls"):
                    raise EmailError(
                        f"{self.where}: the server does not offer STARTTLS; not sent in plain text"
                    )
                smtp.starttls(context=self._context)
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage, recipients: tuple[str, ...]) -> None:
        """Send ``message`` to the envelope ``recipients``.

        Recipients the server refuses for good (5xx) while it accepts others are
        logged, not retried: a retry would not change the answer and would repeat
        the message to the others. A temporary refusal (4xx) of any recipient
        raises, so the outbox retries; the repeat carries the same ``Message-ID``.

        :raises EmailError: naming the server, the reply or the connection problem.
        """
        s = self.server
        if s.missing_password_env is not None:
            raise EmailError(f"{self.where}: not sent: {missing_password(s.missing_password_env)}")
        deadline = Deadline(s.timeout)
        deadline.start()
        try:
            refused = self._converse(deadline, message, recipients)
        except EmailError:
            raise
        except Exception as exc:
            if deadline.expired:  # whatever the cut-off read raised, the cause is the time
                raise EmailError(
                    f"{self.where}: not done within the timeout of {s.timeout:g} s "
                    "(a total per message)"
                ) from None
            raise self._error(exc) from None
        finally:
            deadline.cancel()
        if refused:
            self._partly_refused(refused)

    def _converse(
        self, deadline: Deadline, message: EmailMessage, recipients: tuple[str, ...]
    ) -> dict[str, tuple[int, bytes]]:
        s = self.server
        sender = address_parts(s.sender).addr_spec
        envelope = [address_parts(r).addr_spec for r in recipients]
        with self._open(deadline) as smtp:
            if s.username is not None and s.password is not None:
                smtp.login(s.username, s.password)
            return smtp.send_message(message, sender, envelope)

    def _error(self, exc: Exception) -> EmailError:
        """The :class:`EmailError` for what a conversation raised."""
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            reply = _reply(exc.smtp_code, exc.smtp_error)
            return EmailError(
                f"{self.where}: login as {self.server.username!r} refused: {reply}", exc.smtp_code
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            return EmailError(
                f"{self.where}: every recipient refused: "
                + "; ".join(f"{r}: {_reply(c, t)}" for r, (c, t) in exc.recipients.items())
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            return EmailError(
                f"{self.where}: {_reply(exc.smtp_code, exc.smtp_error)}", exc.smtp_code
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return EmailError(f"{self.where}: {printable(str(exc))}")
        if isinstance(exc, ssl.SSLError):
            return EmailError(f"{self.where}: TLS failed: {printable(str(exc))}")
        # Refused, reset, timed out, dropped, or anything else: named, not raised raw.
        problem = f"{type(exc).__name__}: {printable(str(exc))}"
        return EmailError(f"{self.where}: {problem}")

    def _partly_refused(self, refused: dict[str, tuple[int, bytes]]) -> None:
        later = {r: v for r, v in refused.items() if 400 <= v[0] < 500}
        for address, (code, text) in refused.items():
            _log.error(
                "e-mail recipient refused",
                server=self.where,
                recipient=address,
                reply=_reply(code, text),
                retried=address in later,
            )
        if later:
            raise EmailError(
                f"{self.where}: recipient refused for now, retried: "
                + "; ".join(f"{r}: {_reply(c, t)}" for r, (c, t) in later.items())
            )


__all__ = ["EmailError", "SmtpClient"]
