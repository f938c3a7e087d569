"""Delivering the outbox: each row to its recipient, retried with backoff, recorded.

A row is marked delivered only after its recipient returned, in its own
transaction, so a crash in between sends that one row again after restart,
with the same idempotency key (``Notification.key``). A recipient that raises
is retried with exponential backoff until ``attempts`` run out; the row then
becomes ``dead`` and ``slaengine outbox --retry`` can revive it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from slaengine.live.store import OutboxRow, Store
from slaengine.notifications import Notification

Deliver = Callable[[Notification], None]
_log = structlog.get_logger("slaengine.live")


@dataclass(frozen=True, slots=True)
class Backoff:
    """How failed deliveries are retried: ``first`` seconds, doubling up to ``cap``."""

    first: int = 10
    cap: int = 3600
    attempts: int = 10  # attempts in all before a row is dead

    def next_attempt(self, now: int, attempts_made: int) -> int | None:
        """When to try again after ``attempts_made`` failures; ``None``: give up."""
        if attempts_made >= self.attempts:
            return None
        return now + int(min(self.cap, self.first * 2 ** (attempts_made - 1)))


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one dispatch pass did."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0


class Dispatcher:
    """Sends ready outbox rows through ``deliverers`` (recipient name -> deliver)."""

    def __init__(
        self,
        store: Store,
        deliverers: Mapping[str, Deliver],
        backoff: Backoff | None = None,
        lease: int = 60,
        batch: int = 100,
    ) -> None:
        self.store = store
        self.deliverers = deliverers
        self.backoff = backoff or Backoff()
        self.lease = lease
        self.batch = batch

    def dispatch(self, now: int, clock: Callable[[], int] | None = None) -> DispatchReport:
        """Deliver every row ready at ``now``; ``clock`` stamps each delivery (default: now)."""
        delivered = failed = dead = 0
        while True:
            rows = self.store.claim(now, self.batch, self.lease)
            if not rows:
                break
            for row in rows:
                outcome = self._deliver(row, now if clock is None else clock())
                if outcome == "delivered":
                    delivered += 1
                elif outcome == "failed":
                    failed += 1
                else:
                    dead += 1
            if len(rows) < self.batch:
                break
        return DispatchReport(delivered, failed, dead)

    def _deliver(self, row: OutboxRow, now: int) -> str:
        log = _log.bind(
            ticket=row.ticket, recipient=row.recipient, key=row.key, attempt=row.attempts + 1
        )
        deliver = self.deliverers.get(row.recipient)
        if deliver is None:
            error = f"no notifier can deliver to {row.recipient!r}"
            self.store.mark_failed(row.id, error, None)
            log.error("notification undeliverable", error=error)
            return "dead"
        try:
            deliver(Notification.from_dict(json.loads(row.payload)))
        except Exception as exc:  # a recipient's failure must not stop the others
            error = f"{type(exc).__name__}: {exc}"
            retry_at = self.backoff.next_attempt(now, row.attempts + 1)
            self.store.mark_failed(row.id, error, retry_at)
            if retry_at is None:
                log.error("notification dead after its last attempt", error=error)
                return "dead"
            log.warning("notification delivery failed", error=error, retry_in=retry_at - now)
            return "failed"
        self.store.mark_delivered(row.id, now)
        log.info("notification delivered", kind=row.kind, late_by=max(0, now - row.due_at))
        return "delivered"


__all__ = ["Backoff", "Deliver", "DispatchReport", "Dispatcher"]
