"""Delivering the outbox: each row to its recipient, retried with backoff, recorded.

A row is marked delivered only after its recipient returned, in its own
transaction, so a crash in between sends that one row again after restart,
with the same idempotency key (``Notification.key``). A recipient that raises
is retried with exponential backoff until ``attempts`` run out; the row then
becomes ``dead`` and ``slaengine outbox --retry`` can revive it.

Recipients are isolated from each other: each has its own lanes, threads that
deliver its rows one after another, so a slow or hung receiver holds up only
its own rows. The leases of rows waiting in a lane or under way
are renewed, so none runs out while its worker lives; rows a pass did not start
are given back when it ends. All database work stays on the calling thread.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import deque
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
_IDLE_SECONDS = 60.0  # a lane thread with nothing to deliver for this long ends


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


_Delivery = tuple[OutboxRow, Deliver, Notification]
_Job = tuple[list[_Delivery], int, Callable[[], int] | None]  # deliveries, now, clock


@dataclass(frozen=True, slots=True)
class _Outcome:
    row: OutboxRow
    error: BaseException | None
    stamp: int  # when the recipient returned (epoch seconds)
    started: bool = True  # False: never sent (the dispatcher was stopping)
    last: bool = True  # the last delivery of its job: the lane is free again


class Dispatcher:
    """Sends ready outbox rows through ``deliverers`` (recipient name -> deliver).

    Each recipient has up to ``per_target`` lanes, ``max_in_flight`` lanes in
    all; a lane is a thread delivering its rows one after another. ``lease``
    seconds is how long a claimed row is reserved; it is renewed while the row
    waits or is delivered. ``batch`` rows are claimed at a time, at most
    ``lane`` of them for one recipient.
    """

    def __init__(
        self,
        store: Store,
        deliverers: Mapping[str, Deliver],
        backoff: Backoff | None = None,
        lease: int = 60,
        per_target: int = 1,
        max_in_flight: int = 16,
        batch: int = 200,
        lane: int = 20,
    ) -> None:
        self.store = store
        self.deliverers = deliverers
        self.backoff = backoff or Backoff()
        self.lease = lease
        self.per_target = max(1, per_target)
        self.max_in_flight = max(1, max_in_flight)
        self.batch = max(1, batch)
        self.lane = max(1, lane)
        self._running: dict[int, OutboxRow] = {}  # row id -> row whose delivery is under way
        self._queued: dict[str, deque[OutboxRow]] = {}  # claimed rows waiting, per recipient
        self._finished: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()
        # Outcomes whose recording failed on a database error: recorded first next time.
        self._unrecorded: deque[_Outcome] = deque()
        self._renewed = time.monotonic()
        self._drained = True  # a lane ran out of claimed rows: time to claim more
        self._lanes: dict[str, int] = {}  # per recipient: lanes (jobs) under way
        self._halt = threading.Event()  # set while stopping: lanes start nothing new
        self._started: set[int] = set()  # rows whose delivery a lane thread has begun
        # Lane threads, kept while busy: per recipient, a job inbox and how many wait idle.
        self._threads_lock = threading.Lock()
        self._inboxes: dict[str, queue.SimpleQueue[_Job]] = {}
        self._idle: dict[str, int] = {}

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
        under way are recorded by a later pass (or :meth:`finish`), and rows
        claimed but not started are given back.
        """
        tally = {"delivered": 0, "failed": 0, "dead": 0}
        self._halt.clear()
        self._record_finished(tally)
        self._renew(now if clock is None else clock(), force=True)
        deadline = None if budget is None else time.monotonic() + budget
        more = True  # rows may be ready that are not claimed yet
        try:
            while stop is None or not stop.is_set():
                if more and (self._drained or not self._queued):
                    more = self._refill(now)
                    self._drained = False
                self._start(now, clock, tally)
                if not self._running and not any(self._lanes.values()):
                    if more:
                        continue  # nothing under way: claim more at once
                    break
                timeout = _SLICE
                if deadline is not None:
                    timeout = min(timeout, deadline - time.monotonic())
                    if timeout <= 0:
                        break
                self._record_finished(tally, wait=timeout)
                self._renew(now if clock is None else clock())
        finally:
            waiting = [row.id for rows in self._queued.values() for row in rows]
            # Forgotten only once given back: after a database error, a later pass
            # (or :meth:`flush`) gives them back or starts them.
            self.store.unclaim(waiting)
            self._queued.clear()
        return DispatchReport(
            tally["delivered"],
            tally["failed"],
            tally["dead"],
            len(self._running),
            more or bool(waiting),
        )

    def finish(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for deliveries under way and record them.

        Returns how many are still running after that: their rows stay claimed
        until their lease ends (or, on PostgreSQL, until this connection closes)
        and are then sent again with the same key.
        """
        tally = {"delivered": 0, "failed": 0, "dead": 0}
        with self._threads_lock:
            self._halt.set()
            # Rows waiting behind a slow delivery in their lane will not start: give them back.
            waiting = [row_id for row_id in self._running if row_id not in self._started]
            for row_id in waiting:
                del self._running[row_id]
        self.store.unclaim(waiting)
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

    def claimed(self) -> list[int]:
        """The rows this dispatcher holds: deliveries under way and rows waiting in a lane."""
        return [*self._running, *(row.id for rows in self._queued.values() for row in rows)]

    def flush(self) -> DispatchReport:
        """After a database error: record the deliveries that finished meanwhile and give
        back the rows that were waiting, without starting any; deliveries still under way
        are recorded by a later pass. Raises the database's error while it persists (what
        is left stays for the next try)."""
        tally = {"delivered": 0, "failed": 0, "dead": 0}
        self._record_finished(tally)
        waiting = [row.id for rows in self._queued.values() for row in rows]
        self.store.unclaim(waiting)
        self._queued.clear()
        self._drained = True
        return DispatchReport(
            tally["delivered"], tally["failed"], tally["dead"], len(self._running)
        )

    # -- lanes ----------------------------------------------------------------

    def _refill(self, now: int) -> bool:
        """Claim ready rows into the lanes that have room; whether more may be ready."""
        full = {name for name, rows in self._queued.items() if len(rows) >= self.lane}
        mine = [row.id for rows in self._queued.values() for row in rows]
        rows = self.store.claim(
            now,
            self.batch,
            self.lease,
            exclude=[*self._running, *mine],
            skip_recipients=full,
            per_recipient=self.lane,
        )
        for row in rows:
            self._queued.setdefault(row.recipient, deque()).append(row)
        # A lane that is full, or filled up now, may have more rows behind it.
        capped = any(len(self._queued[row.recipient]) >= self.lane for row in rows)
        return len(rows) >= self.batch or capped or bool(full)

    def _start(self, now: int, clock: Callable[[], int] | None, tally: dict[str, int]) -> None:
        """Hand the waiting rows of every recipient with a free lane to a lane thread."""
        for recipient, rows in list(self._queued.items()):
            while rows and self._lanes.get(recipient, 0) < self.per_target:
                if sum(self._lanes.values()) >= self.max_in_flight:
                    return
                # One lane delivers its share of the waiting rows in order, one by one.
                share = -(-len(rows) // (self.per_target - self._lanes.get(recipient, 0)))
                jobs = []
                for _ in range(share):
                    job = self._prepare(rows.popleft(), tally)
                    if job is not None:
                        jobs.append(job)
                if jobs:
                    self._lanes[recipient] = self._lanes.get(recipient, 0) + 1
                    self._running.update((row.id, row) for row, _, _ in jobs)
                    self._submit(recipient, (jobs, now, clock))
            if not rows:
                del self._queued[recipient]
                self._drained = True

    def _prepare(self, row: OutboxRow, tally: dict[str, int]) -> _Delivery | None:
        """A claimed row with its deliverer and notification; ``None`` if it is dead instead."""
        deliver = self.deliverers.get(row.recipient)
        if deliver is None:
            error = f"no notifier can deliver to {row.recipient!r}"
        else:
            try:
                return row, deliver, Notification.from_dict(json.loads(row.payload))
            except Exception as exc:  # a row it cannot read: written by another version, say
                error = f"unreadable notification: {exc!r}"
        error = escape_controls(error, _ERROR_LIMIT)
        self.store.mark_failed(row.id, error, None)
        self._bind(row).error("notification undeliverable", error=error)
        tally["dead"] += 1
        return None

    def _submit(self, recipient: str, job: _Job) -> None:
        """Hand deliveries to one of the recipient's lane threads (started when needed)."""
        with self._threads_lock:
            inbox = self._inboxes.setdefault(recipient, queue.SimpleQueue())
            if self._idle.get(recipient, 0) == 0:
                threading.Thread(
                    target=self._lane_thread,
                    args=(recipient, inbox),
                    name=f"deliver-{recipient}",
                    daemon=True,  # a hung receiver must not keep a stopping process alive
                ).start()
            else:
                self._idle[recipient] -= 1
        inbox.put(job)

    def _lane_thread(self, recipient: str, inbox: queue.SimpleQueue[_Job]) -> None:
        """Deliver the jobs of one recipient; end after a minute with nothing to do."""
        while True:
            try:
                jobs, now, clock = inbox.get(timeout=_IDLE_SECONDS)
            except queue.Empty:
                with self._threads_lock:
                    if inbox.empty():
                        self._idle[recipient] -= 1
                        return
                continue
            for number, (row, deliver, notification) in enumerate(jobs, start=1):
                last = number == len(jobs)
                with self._threads_lock:
                    # Stopping, or given back meanwhile (see finish): it stays unsent.
                    go = row.id in self._running and not self._halt.is_set()
                    if go:
                        self._started.add(row.id)
                if not go:
                    self._finished.put(_Outcome(row, None, now, started=False, last=last))
                    continue
                error: BaseException | None = None
                try:
                    deliver(notification)
                # Recorded by the dispatcher. Only the recipient's code runs here, never the
                # worker's own shutdown (it sets ``_halt``): a SystemExit is the recipient's
                # sys.exit() (an asyncio CancelledError its own too), a failure of this
                # delivery; re-raised, the row would stop the worker again after each restart.
                except BaseException as exc:
                    error = exc
                stamp = now if clock is None else clock()
                self._finished.put(_Outcome(row, error, stamp, last=last))
            with self._threads_lock:
                self._idle[recipient] = self._idle.get(recipient, 0) + 1

    def _record_finished(self, tally: dict[str, int], wait: float = 0.0) -> None:
        """Record every finished delivery, waiting up to ``wait`` seconds for the first.

        An outcome whose recording fails (a database error) is kept, the delivery still
        counted as under way, and recorded first by the next call: it is never lost nor,
        having gone out, sent again."""
        while self._unrecorded:
            self._record_kept(self._unrecorded.popleft(), tally)
        try:
            outcome = self._finished.get(True, wait) if wait > 0 else self._finished.get_nowait()
        except queue.Empty:
            return
        while True:
            self._record_kept(outcome, tally)
            try:
                outcome = self._finished.get_nowait()
            except queue.Empty:
                return

    def _record_kept(self, outcome: _Outcome, tally: dict[str, int]) -> None:
        try:
            self._record(outcome, tally)
        except Exception:
            self._unrecorded.appendleft(outcome)
            raise

    def _record(self, outcome: _Outcome, tally: dict[str, int]) -> None:
        row, exc, now = outcome.row, outcome.error, outcome.stamp
        if isinstance(exc, KeyboardInterrupt):
            self._settled(outcome)
            raise exc  # the process is going down
        # The row's outcome first, in its own transaction; the lane's bookkeeping after it.
        if not outcome.started:
            with self._threads_lock:
                given_back = row.id not in self._running
            if not given_back:
                self.store.unclaim([row.id])
            self._settled(outcome)
            return
        log = self._bind(row)
        if exc is None:
            self.store.mark_delivered(row.id, now)
            self._settled(outcome)
            log.info("notification delivered", kind=row.kind, late_by=max(0, now - row.due_at))
            tally["delivered"] += 1
            return
        # A receiver's text is untrusted: no control codes into logs, terminals or the row.
        error = escape_controls(_describe(exc), _ERROR_LIMIT)
        retry_at = self.backoff.next_attempt(now, row.attempts + 1)
        self.store.mark_failed(row.id, error, retry_at)
        self._settled(outcome)
        if retry_at is None:
            log.error("notification dead after its last attempt", error=error)
            tally["dead"] += 1
        else:
            log.warning("notification delivery failed", error=error, retry_in=retry_at - now)
            tally["failed"] += 1

    def _settled(self, outcome: _Outcome) -> None:
        """A delivery's outcome is recorded: it is no longer under way; its lane may be free."""
        with self._threads_lock:
            self._running.pop(outcome.row.id, None)
            self._started.discard(outcome.row.id)
        if outcome.last:
            self._lanes[outcome.row.recipient] -= 1

    def _renew(self, now: int, force: bool = False) -> None:
        """Keep the leases of rows waiting in a lane or under way from running out."""
        ids = [*self._running, *(row.id for rows in self._queued.values() for row in rows)]
        if not ids:
            return
        if force or time.monotonic() - self._renewed >= max(1.0, self.lease / 3):
            self.store.renew(ids, now + self.lease)
            self._renewed = time.monotonic()

    @staticmethod
    def _bind(row: OutboxRow) -> Any:
        return _log.bind(
            ticket=row.ticket, recipient=row.recipient, key=row.key, attempt=row.attempts + 1
        )


def _describe(exc: BaseException) -> str:
    """A failed delivery's error as kept in ``last_error``: type and message."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: the recipient called sys.exit({exc.code!r}) during the delivery"
    return f"{type(exc).__name__}: {exc}"


__all__ = ["Backoff", "Deliver", "DispatchReport", "Dispatcher"]
