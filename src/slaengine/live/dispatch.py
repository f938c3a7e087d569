"""Delivering the outbox: each row to its recipient, retried with backoff, recorded.

A row is marked delivered only after its recipient returned, in its own
transaction, so a crash in between sends that one row again after restart,
with the same idempotency key (``Notification.key``). A recipient that raises
is retried with exponential backoff until ``attempts`` run out; the row then
becomes ``dead`` and ``slaengine outbox --retry`` can revive it.

Recipients are isolated from each other: each has its own lane of at most
``per_target`` deliveries under way, run in threads, so a slow or hung receiver
holds up only its own rows. A row is claimed only when its lane starts it (a
lease cannot run out while it waits in a queue), and the lease of a delivery
still under way is renewed. All database work stays on the calling thread.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from slaengine.live.store import OutboxRow, Store
from slaengine.live.text import escape_controls
from slaengine.notifications import Notification

Deliver = Callable[[Notification], None]
_log = structlog.get_logger("slaengine.live")
_SLICE = 0.2  # seconds between looks at the stop flag while deliveries run
_ERROR_LIMIT = 500  # characters of a receiver's error kept in logs and ``last_error``


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
    """What one dispatch pass did, and what it left running or waiting."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    in_flight: int = 0  # deliveries still under way (recorded by a later pass)
    more: bool = False  # the pass ran out of time with rows still ready to start


@dataclass(frozen=True, slots=True)
class _Outcome:
    row: OutboxRow
    error: BaseException | None
    stamp: int  # when the recipient returned (epoch seconds)


class Dispatcher:
    """Sends ready outbox rows through ``deliverers`` (recipient name -> deliver).

    ``per_target`` deliveries may run at once for one recipient, ``max_in_flight``
    in all. ``lease`` seconds is how long a claimed row is reserved; it is
    renewed while its delivery runs.
    """

    def __init__(
        self,
        store: Store,
        deliverers: Mapping[str, Deliver],
        backoff: Backoff | None = None,
        lease: int = 60,
        per_target: int = 1,
        max_in_flight: int = 16,
    ) -> None:
        self.store = store
        self.deliverers = deliverers
        self.backoff = backoff or Backoff()
        self.lease = lease
        self.per_target = max(1, per_target)
        self.max_in_flight = max(1, max_in_flight)
        self._running: dict[int, OutboxRow] = {}  # row id -> row whose delivery is under way
        self._finished: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
        self._renewed = time.monotonic()

    @property
    def in_flight(self) -> int:
        """Deliveries under way (their outcome is recorded by the next pass)."""
        return len(self._running)

    def dispatch(
        self,
        now: int,
        clock: Callable[[], int] | None = None,
        budget: float | None = None,
        stop: threading.Event | None = None,
    ) -> DispatchReport:
        """Deliver the rows ready at ``now``; ``clock`` stamps each delivery (default: now).

        Without ``budget`` the pass returns once every row it could start has
        been delivered or has failed. With it, it returns after at most about
        ``budget`` seconds, leaving slow deliveries running; ``stop`` set ends
        the pass within a fraction of a second. Either way, deliveries still
        under way are recorded by a later pass (or :meth:`finish`).
        """
        tally = {"delivered": 0, "failed": 0, "dead": 0}
        self._record_finished(tally)
        self._renew(now if clock is None else clock(), force=True)
        deadline = None if budget is None else time.monotonic() + budget
        waiting = self.store.ready_recipients(now)
        out_of_time = False
        while stop is None or not stop.is_set():
            waiting = self._start(now, clock, waiting, tally)
            if not self._running:
                break
            timeout = _SLICE
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    out_of_time = bool(waiting)
                    break
            self._record_finished(tally, wait=timeout)
            self._renew(now if clock is None else clock())
        return DispatchReport(
            tally["delivered"], tally["failed"], tally["dead"], len(self._running), out_of_time
        )

    def finish(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for deliveries under way and record them.

        Returns how many are still running after that: their rows stay claimed
        until their lease ends (or, on PostgreSQL, until this connection closes)
        and are then sent again with the same key.
        """
        tally = {"delivered": 0, "failed": 0, "dead": 0}
        deadline = time.monotonic() + grace
        while self._running and (left := deadline - time.monotonic()) > 0:
            self._record_finished(tally, wait=min(_SLICE, left))
        for row in self._running.values():
            _log.warning(
                "delivery still under way at stop; it is sent again after the restart",
                ticket=row.ticket,
                recipient=row.recipient,
                key=row.key,
            )
        return len(self._running)

    # -- lanes ----------------------------------------------------------------

    def _start(
        self, now: int, clock: Callable[[], int] | None, waiting: list[str], tally: dict[str, int]
    ) -> list[str]:
        """Fill every free lane of the ``waiting`` recipients; those that may have more."""
        busy: dict[str, int] = {}
        for row in self._running.values():
            busy[row.recipient] = busy.get(row.recipient, 0) + 1
        still = []
        for recipient in waiting:
            exhausted = False
            while busy.get(recipient, 0) < self.per_target and (
                len(self._running) < self.max_in_flight
            ):
                claimed = self.store.claim(now, 1, self.lease, recipient, exclude=self._running)
                if not claimed:
                    exhausted = True  # nothing more for it now (or another worker has it)
                    break
                if self._launch(claimed[0], now, clock, tally):
                    busy[recipient] = busy.get(recipient, 0) + 1
            if not exhausted:
                still.append(recipient)
        return still

    def _launch(
        self, row: OutboxRow, now: int, clock: Callable[[], int] | None, tally: dict[str, int]
    ) -> bool:
        """Start delivering a claimed row on its own thread; ``False`` if it is dead instead."""
        deliver = self.deliverers.get(row.recipient)
        notification = None
        if deliver is None:
            error = f"no notifier can deliver to {row.recipient!r}"
        else:
            try:
                notification = Notification.from_dict(json.loads(row.payload))
            except Exception as exc:  # a row it cannot read: written by another version, say
                error = f"unreadable notification: {exc!r}"
        if deliver is None or notification is None:
            error = escape_controls(error, _ERROR_LIMIT)
            self.store.mark_failed(row.id, error, None)
            self._bind(row).error("notification undeliverable", error=error)
            tally["dead"] += 1
            return False
        self._running[row.id] = row
        threading.Thread(
            target=self._run,
            args=(row, deliver, notification, now, clock),
            name=f"deliver-{row.recipient}",
            daemon=True,  # a hung receiver must not keep a stopping process alive
        ).start()
        return True

    def _run(
        self,
        row: OutboxRow,
        deliver: Deliver,
        notification: Notification,
        now: int,
        clock: Callable[[], int] | None,
    ) -> None:
        """One delivery, on its own thread: call the recipient, hand back the outcome."""
        error: BaseException | None = None
        try:
            deliver(notification)
        except BaseException as exc:  # recorded (or re-raised) on the dispatching thread
            error = exc
        self._finished.put(_Outcome(row, error, now if clock is None else clock()))

    def _record_finished(self, tally: dict[str, int], wait: float = 0.0) -> None:
        """Record every finished delivery, waiting up to ``wait`` seconds for the first."""
        try:
            outcome = self._finished.get(True, wait) if wait > 0 else self._finished.get_nowait()
        except queue.Empty:
            return
        while True:
            self._record(outcome, tally)
            try:
                outcome = self._finished.get_nowait()
            except queue.Empty:
                return

    def _record(self, outcome: _Outcome, tally: dict[str, int]) -> None:
        row, exc, now = outcome.row, outcome.error, outcome.stamp
        self._running.pop(row.id, None)
        log = self._bind(row)
        if exc is None:
            self.store.mark_delivered(row.id, now)
            log.info("notification delivered", kind=row.kind, late_by=max(0, now - row.due_at))
            tally["delivered"] += 1
            return
        if not isinstance(exc, Exception):
            raise exc  # KeyboardInterrupt, SystemExit: the process is going down
        # A receiver's text is untrusted: no control codes into logs, terminals or the row.
        error = escape_controls(f"{type(exc).__name__}: {exc}", _ERROR_LIMIT)
        retry_at = self.backoff.next_attempt(now, row.attempts + 1)
        self.store.mark_failed(row.id, error, retry_at)
        if retry_at is None:
            log.error("notification dead after its last attempt", error=error)
            tally["dead"] += 1
        else:
            log.warning("notification delivery failed", error=error, retry_in=retry_at - now)
            tally["failed"] += 1

    def _renew(self, now: int, force: bool = False) -> None:
        """Keep the leases of deliveries under way from running out."""
        if not self._running:
            return
        if force or time.monotonic() - self._renewed >= max(1.0, self.lease / 3):
            self.store.renew(list(self._running), now + self.lease)
            self._renewed = time.monotonic()

    @staticmethod
    def _bind(row: OutboxRow) -> Any:
        return _log.bind(
            ticket=row.ticket, recipient=row.recipient, key=row.key, attempt=row.attempts + 1
        )


__all__ = ["Backoff", "Deliver", "DispatchReport", "Dispatcher"]
