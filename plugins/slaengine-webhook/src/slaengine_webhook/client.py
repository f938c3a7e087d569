"""The HTTP side: POST one notification to one target, signed, with timeouts and retries.

Standard library only (:mod:`urllib.request`). A delivery returns when the
receiver answered 2xx and raises :class:`WebhookError` otherwise. It retries
at once, a few times, only what a moment may fix (a refused or reset
connection, a 5xx, 408 or 429); everything else is left to the live engine's
outbox, which retries later with backoff. ``timeout`` is a total deadline per
attempt, from connecting to the last byte read: a receiver that trickles its
answer is cut off when it runs out. A timed-out attempt is not retried at
once, so a hung receiver holds a delivery for about one ``timeout``.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import hmac
import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

from slaengine.delivery import Deadline, one_line
from slaengine.notifications import Notification
from slaengine_webhook import __version__, payload
from slaengine_webhook.config import Target, missing_secret

USER_AGENT = f"slaengine-webhook/{__version__}"
SIGNATURE_HEADER = "X-Slaengine-Signature"
TIMESTAMP_HEADER = "X-Slaengine-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# Client errors worth an immediate retry (every 5xx is): the receiver timed out or is busy.
RETRY_STATUSES = frozenset({408, 429})
# How much of an error response to quote in the exception message.
_SNIPPET = 200
# How much of a successful answer to read before closing: its content is not used.
_DRAIN = 1 << 16


# Key characters sent as they are: printable ASCII but space and "%" (the escape itself).
_KEY_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def encode_key(key: str) -> str:
    """The ``Idempotency-Key`` header value of ``key``: percent-encoded UTF-8 where needed.

    Printable ASCII other than space and ``%`` stays as it is, so a usual key
    (``T-1001/first_response/1/breach/0``) is sent unchanged; every other
    character (non-Latin letters, emoji, CR, LF, space, ``%``) becomes ``%XX``
    per UTF-8 byte. ``urllib.parse.unquote(value)`` gives the key back.
    """
    return urllib.parse.quote(key, safe=_KEY_SAFE)


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``: the signature header."""
    digest = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookError(Exception):
    """A delivery failed. ``status`` is the HTTP status, if the receiver answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the body and then
    # report success; a redirect is a misconfigured URL, reported as a failure.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


@dataclass(frozen=True, slots=True)
class _Failure:
    reason: str
    status: int | None = None
    retry: bool = False
    retry_after: float | None = None


class _WatchedHTTP(http.client.HTTPConnection):
    """An HTTP connection whose sockets are put under an attempt's :class:`Deadline`."""

    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _create_connection(self, *args: Any, **kwargs: Any) -> socket.socket:
        # The raw socket: shutting it down also ends a stalled TLS handshake.
        return self.deadline.watch(socket.create_connection(*args, **kwargs))

    def connect(self) -> None:
        super().connect()
        # After a TLS handshake ``sock`` is a new object (the raw one was detached):
        # it is the one the answer is read through, so it is the one to shut.
        self.deadline.watch(self.sock)


class _WatchedHTTPS(_WatchedHTTP, http.client.HTTPSConnection):
    """The HTTPS kind of :class:`_WatchedHTTP`."""


class DeadlineHTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedHTTP, deadline=self.deadline), req)


class DeadlineHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # The settings HTTPSHandler keeps (check_hostname only before Python 3.12).
        settings = {"context": getattr(self, "_context", None)}
        check_hostname = getattr(self, "_check_hostname", None)
        if check_hostname is not None:
            settings["check_hostname"] = check_hostname
        factory = functools.partial(_WatchedHTTPS, deadline=self.deadline)
        return self.do_open(factory, req, **settings)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait that a ``Retry-After`` header asks for (seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        return None
    return max(0.0, when.timestamp() - now)


class WebhookClient:
    """Delivers notifications to one :class:`~slaengine_webhook.config.Target`.

    ``sleep`` and ``clock`` are :func:`time.sleep` and :func:`time.time`
    unless a test replaces them. Safe to share between threads.
    """

    def __init__(
        self,
        target: Target,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target = target
        self._sleep = sleep
        self._clock = clock

    def deliver(self, notification: Notification) -> None:
        """POST ``notification``; return once the receiver answered 2xx.

        :raises WebhookError: naming the target, the URL without secrets, the
            status or the connection problem, and the attempts made.
        """
        target = self.target
        if target.missing_secret_env is not None:
            raise WebhookError(
                f"webhook {target.name!r} ({target.safe_url}): not sent: "
                + missing_secret(target.missing_secret_env)
            )
        body = payload.render(notification, target.name, target.format)
        attempts = target.retries + 1
        for attempt in range(1, attempts + 1):
            failure = self._attempt(body, notification.key)
            if failure is None:
                return
            where = f"webhook {target.name!r} ({target.safe_url})"
            tried = f"{attempt} attempt{'s' if attempt > 1 else ''}"
            if not failure.retry:
                raise WebhookError(f"{where}: {failure.reason} ({tried})", failure.status)
            if attempt == attempts:
                raise WebhookError(
                    f"{where}: {failure.reason} (gave up after {tried})", failure.status
                )
            wait = min(target.backoff * 2 ** (attempt - 1), target.max_retry_after)
            if failure.retry_after is not None:
                if failure.retry_after > target.max_retry_after:
                    raise WebhookError(
                        f"{where}: {failure.reason}; Retry-After {failure.retry_after:g} s is over "
                        f"max_retry_after {target.max_retry_after:g} s; left for a later retry "
                        f"({tried})",
                        failure.status,
                    )
                wait = failure.retry_after
            self._sleep(wait)

    def _request(self, body: bytes, key: str) -> urllib.request.Request:
        # The timestamp is taken per attempt, so a receiver can refuse stale replays.
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            IDEMPOTENCY_HEADER: encode_key(key),
            TIMESTAMP_HEADER: timestamp,
        }
        if self.target.secret is not None:
            headers[SIGNATURE_HEADER] = sign(self.target.secret, timestamp, body)
        return urllib.request.Request(self.target.url, data=body, headers=headers, method="POST")

    def _attempt(self, body: bytes, key: str) -> _Failure | None:
        request = self._request(body, key)
        deadline = Deadline(self.target.timeout)
        # An opener per attempt: its handlers carry this attempt's deadline.
        opener = urllib.request.build_opener(
            _NoRedirects, DeadlineHTTP(deadline), DeadlineHTTPS(deadline)
        )
        deadline.start()
        try:
            failure = self._exchange(opener, request)
        finally:
            deadline.cancel()
        if deadline.expired:
            # Whatever the cut-off read raised, the cause is the deadline.
            return self._timed_out()
        return failure

    def _exchange(
        self, opener: urllib.request.OpenerDirector, request: urllib.request.Request
    ) -> _Failure | None:
        try:
            with opener.open(request, timeout=self.target.timeout) as response:
                response.read(_DRAIN)
        except urllib.error.HTTPError as exc:
            return self._http_failure(exc)
        except urllib.error.URLError as exc:
            return self._connection_failure(exc.reason)
        except OSError as exc:  # a timeout or reset while reading the response
            return self._connection_failure(exc)
        except http.client.HTTPException as exc:  # an answer that is not HTTP
            return _Failure(f"not an HTTP answer: {one_line(repr(exc))}", retry=False)
        except ValueError as exc:  # a header http.client refuses to send
            return _Failure(f"request not sent: {one_line(str(exc))}")
        return None

    def _timed_out(self) -> _Failure:
        return _Failure(
            f"no complete answer within the timeout of {self.target.timeout:g} s "
            "(a total per attempt)"
        )

    def _http_failure(self, exc: urllib.error.HTTPError) -> _Failure:
        try:
            snippet = one_line(exc.read(4 * _SNIPPET))
        except OSError:
            snippet = ""
        finally:
            exc.close()
        status = exc.code
        reason = f"HTTP {status} {one_line(str(exc.reason))}" + (f": {snippet}" if snippet else "")
        if 300 <= status < 400:
            return _Failure(
                f"{reason}; redirects are not followed, configure the final URL", status
            )
        if status in RETRY_STATUSES or status >= 500:
            after = retry_after_seconds(exc.headers.get("Retry-After"), self._clock())
            return _Failure(reason, status, retry=True, retry_after=after)
        return _Failure(f"{reason}; the receiver refused the request, not retried at once", status)

    def _connection_failure(self, reason: Any) -> _Failure:
        if isinstance(reason, TimeoutError):
            return self._timed_out()
        if isinstance(reason, ConnectionError):  # refused, reset, aborted
            return _Failure(f"connection failed: {one_line(str(reason))}", retry=True)
        return _Failure(f"could not connect: {one_line(str(reason))}")


__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "USER_AGENT",
    "WebhookClient",
    "WebhookError",
    "encode_key",
    "retry_after_seconds",
    "sign",
]
