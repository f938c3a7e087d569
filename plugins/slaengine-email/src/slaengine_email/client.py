"""The SMTP side: hand one message to the server, over STARTTLS or TLS, logged in.

Standard library only (:mod:`smtplib`, :mod:`ssl`). :meth:`SmtpClient.send`
returns once the server accepted the message for at least one recipient and
raises :class:`EmailError` otherwise; the live engine's outbox retries later.
The server's certificate is always verified (against ``ca_file`` when given),
and ``starttls`` never falls back to plain text.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import structlog

from slaengine_email.config import STARTTLS, TLS, Server, address_parts, missing_password
from slaengine_email.message import escape_controls

_log = structlog.get_logger("slaengine_email")
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
    quoted = escape_controls(" ".join((text or "").split()))
    if len(quoted) > _SNIPPET:
        quoted = quoted[: _SNIPPET - 1] + "…"
    return f"{code} {quoted}".strip() if code is not None else quoted


class SmtpClient:
    """Sends messages through one :class:`~slaengine_email.config.Server`.

    A connection per message: deliveries are rare, and a fresh connection
    cannot be left half-way by an earlier failure. Safe to share between threads.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self._context = ssl.create_default_context(cafile=server.ca_file)

    @property
    def where(self) -> str:
        """``smtp HOST:PORT (security)`` for logs and errors."""
        s = self.server
        return f"smtp {s.host}:{s.port} ({s.security})"

    def _open(self) -> smtplib.SMTP:
        s = self.server
        if s.security == TLS:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._context)
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
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
        sender = address_parts(s.sender).addr_spec
        envelope = [address_parts(r).addr_spec for r in recipients]
        try:
            with self._open() as smtp:
                if s.username is not None and s.password is not None:
                    smtp.login(s.username, s.password)
                refused = smtp.send_message(message, sender, envelope)
        except EmailError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            reply = _reply(exc.smtp_code, exc.smtp_error)
            raise EmailError(
                f"{self.where}: login as {s.username!r} refused: {reply}", exc.smtp_code
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise EmailError(
                f"{self.where}: every recipient refused: "
                + "; ".join(f"{r}: {_reply(c, t)}" for r, (c, t) in exc.recipients.items())
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise EmailError(
                f"{self.where}: {_reply(exc.smtp_code, exc.smtp_error)}", exc.smtp_code
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise EmailError(f"{self.where}: {escape_controls(str(exc))}") from None
        except ssl.SSLError as exc:
            raise EmailError(f"{self.where}: TLS failed: {escape_controls(str(exc))}") from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out, dropped
            problem = f"{type(exc).__name__}: {escape_controls(str(exc))}"
            raise EmailError(f"{self.where}: {problem}") from None
        if refused:
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
