"""One configured e-mail setup: a deliver function per target, single messages or digests."""

from __future__ import annotations

import time
from collections.abc import Callable

from slaengine.notifications import Notification
from slaengine_email.client import SmtpClient
from slaengine_email.config import Server, Target
from slaengine_email.digest import Flusher, Spool, interval_for
from slaengine_email.message import build


class EmailNotifier:
    """Delivers to the targets of one ``[plugins.email]`` table.

    A target without ``digest`` gets one message per notification, sent before
    its delivery returns. A digest target's delivery only stores the
    notification in the spool (``digest_state``); a background thread, started
    by :meth:`start_digests` or the first such delivery, sends each period's
    digest once it has ended. ``clock`` is :func:`time.time` unless a test
    replaces it.
    """

    def __init__(
        self,
        server: Server,
        targets: dict[str, Target],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server = server
        self.targets = dict(targets)
        self.client = SmtpClient(server)
        self.clock = clock
        self.spool: Spool | None = None
        self.flusher: Flusher | None = None
        digests = {n: t for n, t in self.targets.items() if t.digest is not None}
        if digests and server.digest_state is not None:
            self.spool = Spool(server.digest_state)
            self.flusher = Flusher(self.spool, digests, self.client, interval_for(digests), clock)

    def deliver(self, target: Target, notification: Notification) -> None:
        """Send ``notification`` to ``target`` (or keep it for the target's digest).

        :raises EmailError: when the server did not accept the message.
        """
        if target.digest is not None and self.spool is not None:
            self.spool.add(target, notification, int(self.clock()))
            self.start_digests()
            return
        message = build(notification, target, self.server, int(self.clock()))
        self.client.send(message, target.recipients)

    def deliverer(self, name: str) -> Callable[[Notification], None]:
        """The deliver function of target ``name``, for ``register``."""
        target = self.targets[name]

        def deliver(notification: Notification) -> None:
            self.deliver(target, notification)

        return deliver

    def start_digests(self) -> None:
        """Start sending digests in the background (nothing without digest targets)."""
        if self.flusher is not None:
            self.flusher.start()

    def stop_digests(self) -> None:
        """Stop sending digests in the background; :meth:`start_digests` starts it again."""
        if self.flusher is not None:
            self.flusher.stop()

    def close(self) -> None:
        """Stop the digest thread and close the spool."""
        if self.flusher is not None:
            self.flusher.stop()
        if self.spool is not None:
            self.spool.close()


__all__ = ["EmailNotifier"]
