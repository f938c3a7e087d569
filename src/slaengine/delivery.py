"""Helpers for plugins that deliver notifications over the network (public API).

A notifier's ``deliver`` must return or fail in bounded time, or one slow
receiver holds the worker. Socket timeouts bound each read, not their sum: a
receiver answering one byte a second would hold a delivery for as long as it
likes. :class:`Deadline` bounds the whole attempt by shutting its sockets down
from a timer thread, which ends a blocked read at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from slaengine.safetext import one_line, printable


class Deadline:
    """Shuts the attempt's sockets down once ``seconds`` have passed since :meth:`start`.

    Use: ``deadline.start()``, put every socket the attempt opens under it with
    :meth:`watch`, ``deadline.cancel()`` when done; :attr:`expired` says whether
    the attempt ran out of time.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._fired = False
        self._started: float | None = None
        self._ended: float | None = None
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        """Start counting."""
        self._started = time.monotonic()
        self._timer.start()

    def cancel(self) -> None:
        """Stop counting (the attempt ended in time or otherwise)."""
        self._timer.cancel()
        if self._ended is None:
            self._ended = time.monotonic()

    @property
    def expired(self) -> bool:
        """Whether the time ran out before the attempt ended (or, still running, by now).

        By the clock, not only by the timer: on a loaded machine the timer thread
        may run late, after a socket's own timeout (a TLS handshake has one for the
        whole handshake) has already ended the attempt at the same instant.
        """
        if self._fired:
            return True
        if self._started is None:
            return False
        ended = self._ended if self._ended is not None else time.monotonic()
        return ended - self._started >= self.seconds

    def watch(self, sock: socket.socket) -> socket.socket:
        """Put ``sock`` under the deadline (shut at once if it has passed); return it."""
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                self._shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self._fired = True
            for sock in self._socks:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed, or detached by TLS
            sock.shutdown(socket.SHUT_RDWR)


__all__ = ["Deadline", "one_line", "printable"]
