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

from slaengine.safetext import one_line, printable


class Deadline:
    """Shuts the attempt's sockets down once ``seconds`` have passed since :meth:`start`.

    Use: ``deadline.start()``, put every socket the attempt opens under it with
    :meth:`watch`, ``deadline.cancel()`` when done; :attr:`expired` says whether
    it cut the attempt short.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        """Start counting."""
        self._timer.start()

    def cancel(self) -> None:
        """Stop counting (the attempt ended in time or otherwise)."""
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> socket.socket:
        """Put ``sock`` under the deadline (shut at once if it has passed); return it."""
        with self._lock:
            self._socks.append(sock)
            if self.expired:
                self._shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._socks:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed, or detached by TLS
            sock.shutdown(socket.SHUT_RDWR)


__all__ = ["Deadline", "one_line", "printable"]
