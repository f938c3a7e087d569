"""The outbox: decided notifications, one row per recipient, claimed, sent once, settled.

Mixed into :class:`~slaengine.live.store.Store`. Deciding (``save_evaluations``)
writes rows and each ticket's new schedule in one transaction; delivery claims
ready rows under a lease (and, on PostgreSQL, an advisory lock per row, see
:mod:`slaengine.live.pglocks`) and settles each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from slaengine.live import pglocks
from slaengine.live.sql import StoreSql

if TYPE_CHECKING:
    from slaengine.live.atrisk import OpenClock

PENDING: Final = "pending"  # waiting for its first attempt
FAILED: Final = "failed"  # an attempt failed; retried at next_attempt
DELIVERED: Final = "delivered"
DEAD: Final = "dead"  # out of attempts, or nobody can deliver it
CANCELLED: Final = "cancelled"  # a late event showed it should never have happened
SKIPPED: Final = "skipped"  # reached before its ticket's quiet cut-off (history): never sent
OUTBOX_STATES: Final = (PENDING, FAILED, DELIVERED, DEAD, CANCELLED, SKIPPED)
_OPEN_STATES: Final = (PENDING, FAILED)
# A dead row that is no longer reached is cancelled too, so a retry cannot revive it.
_UNDELIVERED: Final = (PENDING, FAILED, DEAD)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One notification for one recipient, as the outbox holds it."""

    id: int
    key: str
    recipient: str
    ticket: str
    kind: str
    due_at: int
    payload: str
    status: str
    attempts: int
    next_attempt: int
    last_error: str | None
    created: int
    delivered: int | None


@dataclass(frozen=True, slots=True)
class Decision:
    """A notification the engine decided on: one outbox row per recipient."""

    key: str
    ticket: str
    kind: str
    due_at: int
    payload: str
    recipients: tuple[str, ...]


_OUTBOX_COLUMNS: Final = (
    "id, key, recipient, ticket, kind, due_at, payload, status, attempts, "
    "next_attempt, last_error, created, delivered"
)


class OutboxQueries(StoreSql):
    """The store's statements on the outbox (and the tickets' schedules it commits with)."""

    _held: set[int]  # provided by Store: rows this session holds an advisory lock on

    if TYPE_CHECKING:  # ClockQueries' (a stub here would hide it in the store's MRO)

        def _replace_clocks(self, ticket: str, clocks: Sequence[OpenClock], now: int) -> None: ...

    def save_evaluations(
        self,
        results: Sequence[tuple[str, int | None, str | None, Sequence[Decision] | None]],
        now: int,
        clocks: Mapping[str, Sequence[OpenClock]] | None = None,
    ) -> list[tuple[Decision, str]]:
        """Record evaluated tickets and their notifications; ``(decision, recipient)`` rows added.

        ``results`` holds ``(ticket, wake, policy, decisions)``: every notification the
        ticket has reached, as of now. A recipient's row is added when new, revived
        when a late event had cancelled it, and cancelled when still undelivered but
        no longer reached. Delivered and skipped rows are never touched. A new row
        whose instant is before its ticket's quiet cut-off (the ticket was loaded
        as history, :meth:`add_events` ``quiet_until``) is added as skipped: kept,
        never sent, and not returned. ``decisions`` ``None``
        means the ticket could not be evaluated: its rows stay as they are and it is
        looked at again at ``wake``. ``clocks`` holds each evaluated ticket's open
        clocks, which replace its earlier ones (the at-risk queue).
        """
        added: list[tuple[Decision, str]] = []
        with self.transaction():
            for ticket, wake, policy, decisions in results:
                if decisions is None:
                    self._execute(
                        "UPDATE tickets SET dirty = 0, wake = ? WHERE ticket = ?", (wake, ticket)
                    )
                    continue
                existing = {
                    (key, recipient): status
                    for key, recipient, status in self._all(
                        "SELECT key, recipient, status FROM outbox WHERE ticket = ?", (ticket,)
                    )
                }
                wanted: set[tuple[str, str]] = set()
                quiet = self._quiet_until(ticket)
                for decision in decisions:
                    skip = quiet is not None and decision.due_at < quiet
                    for recipient in decision.recipients:
                        pair = (decision.key, recipient)
                        wanted.add(pair)
                        status = existing.get(pair)
                        if status is None:
                            # Another worker on the same PostgreSQL state may have added
                            # it since we read: theirs stands, ours is not news.
                            inserted = self._execute(
                                "INSERT INTO outbox (key, recipient, ticket, kind, due_at, "
                                "payload, status, attempts, next_attempt, created) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) "
                                "ON CONFLICT (key, recipient) DO NOTHING",
                                (
                                    decision.key,
                                    recipient,
                                    ticket,
                                    decision.kind,
                                    decision.due_at,
                                    decision.payload,
                                    SKIPPED if skip else PENDING,
                                    now,
                                    now,
                                ),
                            )
                            if inserted.rowcount == 1 and not skip:
                                added.append((decision, recipient))
                        elif status in (PENDING, FAILED, CANCELLED):
                            # Keep the newest view of it (a late event may move ``at``).
                            revived = status == CANCELLED
                            self._execute(
                                "UPDATE outbox SET payload = ?, due_at = ?, status = ?, "
                                "next_attempt = CASE WHEN ? THEN ? ELSE next_attempt END "
                                "WHERE key = ? AND recipient = ?",
                                (
                                    decision.payload,
                                    decision.due_at,
                                    PENDING if revived else status,
                                    revived,
                                    now,
                                    decision.key,
                                    recipient,
                                ),
                            )
                            if revived:
                                added.append((decision, recipient))
                stale = [
                    pair
                    for pair, status in existing.items()
                    if status in _UNDELIVERED and pair not in wanted
                ]
                self._executemany(
                    "UPDATE outbox SET status = ?, lease_until = NULL "
                    "WHERE key = ? AND recipient = ?",
                    [(CANCELLED, key, recipient) for key, recipient in stale],
                )
                self._execute(
                    "UPDATE tickets SET dirty = 0, wake = ?, policy = ? WHERE ticket = ?",
                    (wake, policy, ticket),
                )
                if clocks is not None:
                    self._replace_clocks(ticket, clocks.get(ticket, ()), now)
        return added

    def _quiet_until(self, ticket: str) -> int | None:
        rows = self._all("SELECT quiet_until FROM tickets WHERE ticket = ?", (ticket,))
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def claim(
        self,
        now: int,
        limit: int,
        lease: int,
        exclude: Collection[int] = (),
        skip_recipients: Collection[str] = (),
        per_recipient: int | None = None,
    ) -> list[OutboxRow]:
        """Take up to ``limit`` rows that are ready to send, for ``lease`` seconds.

        Oldest first; never the rows in ``exclude`` (the caller's own, under
        way) nor rows of ``skip_recipients``; at most ``per_recipient`` rows of
        any one recipient. On SQLite a claimed row is not handed out again
        until its lease ends. On PostgreSQL it is also locked for this
        connection (:mod:`slaengine.live.pglocks`): no other worker takes it
        while this one lives, however long its delivery takes, and the moment
        this one dies it is free again.
        """
        where = ["status IN (?, ?)", "next_attempt <= ?"]
        params: list[Any] = [PENDING, FAILED, now]
        skip = set(exclude)
        postgres = self.dialect.name == "postgresql"
        if postgres:
            skip |= pglocks.held_by_others(self._db)
        else:
            where.append("(lease_until IS NULL OR lease_until <= ?)")
            params.append(now)
        if skip:
            where.append(f"id NOT IN ({', '.join('?' for _ in skip)})")
            params.extend(sorted(skip))
        if skip_recipients:
            where.append(f"recipient NOT IN ({', '.join('?' for _ in skip_recipients)})")
            params.extend(sorted(skip_recipients))
        claimed: list[OutboxRow] = []
        taken: dict[str, int] = {}
        with self.transaction():
            rows = self._all(
                f"SELECT {_OUTBOX_COLUMNS}, lease_until FROM outbox WHERE {' AND '.join(where)} "
                f"ORDER BY next_attempt, id LIMIT ?{self.dialect.skip_locked}",
                (*params, limit),
            )
            for *columns, lease_until in rows:
                row = OutboxRow(*columns)
                if per_recipient is not None and taken.get(row.recipient, 0) >= per_recipient:
                    continue
                if postgres:
                    if row.id in self._held:
                        if lease_until is not None and lease_until > now:
                            continue  # this worker's own claim, still running
                    elif pglocks.try_lock(self._db, row.id):
                        self._held.add(row.id)
                    else:
                        continue  # another worker claimed it a moment ago
                taken[row.recipient] = taken.get(row.recipient, 0) + 1
                claimed.append(row)
            self._executemany(
                "UPDATE outbox SET lease_until = ? WHERE id = ?",
                [(now + lease, row.id) for row in claimed],
            )
        return claimed

    def unclaim(self, row_ids: Collection[int]) -> None:
        """Give claimed rows back unsent: free at once for any worker."""
        if not row_ids:
            return
        with self.transaction():
            self._executemany(
                "UPDATE outbox SET lease_until = NULL WHERE id = ?",
                [(row_id,) for row_id in sorted(row_ids)],
            )
        for row_id in sorted(row_ids):
            self._settle(row_id)

    def renew(self, row_ids: Collection[int], until: int) -> None:
        """Extend the leases of claimed rows whose delivery is still under way."""
        if not row_ids:
            return
        with self.transaction():
            self._executemany(
                "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_until IS NOT NULL",
                [(until, row_id) for row_id in sorted(row_ids)],
            )

    def release_leases(self) -> int:
        """Free claimed rows whose worker is gone; how many.

        SQLite (one worker): every claimed row, at start-up after a crash.
        PostgreSQL: this connection's claims, and every lease no live worker
        holds (a killed worker's locks ended with its connection).
        """
        with self.transaction():
            if self.dialect.name == "sqlite":
                cursor = self._execute(
                    "UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL"
                )
                return int(cursor.rowcount)
            others = pglocks.held_by_others(self._db)
            marks = f" AND id NOT IN ({', '.join('?' for _ in others)})" if others else ""
            cursor = self._execute(
                f"UPDATE outbox SET lease_until = NULL WHERE lease_until IS NOT NULL{marks}",
                sorted(others),
            )
        for row_id in sorted(self._held):
            self._settle(row_id)
        return int(cursor.rowcount)

    def _settle(self, row_id: int) -> None:
        """Drop this connection's lock of a row it claimed (PostgreSQL; after the commit)."""
        if row_id in self._held:
            self._held.discard(row_id)
            pglocks.unlock(self._db, row_id)

    def mark_delivered(self, row_id: int, now: int) -> None:
        """Record a successful delivery; the row is never sent again.

        Recorded even when the row was cancelled meanwhile: it did go out, and a
        later revival must not send it twice.
        """
        with self.transaction():
            self._execute(
                "UPDATE outbox SET status = ?, delivered = ?, attempts = attempts + 1, "
                "lease_until = NULL, last_error = NULL WHERE id = ?",
                (DELIVERED, now, row_id),
            )
        self._settle(row_id)

    def mark_failed(self, row_id: int, error: str, next_attempt: int | None) -> None:
        """Record a failed attempt: retry at ``next_attempt``, or give up (``None``).

        A row cancelled while its delivery was under way stays cancelled.
        """
        with self.transaction():
            self._execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
                "next_attempt = COALESCE(?, next_attempt), lease_until = NULL "
                "WHERE id = ? AND status IN (?, ?)",
                (
                    FAILED if next_attempt is not None else DEAD,
                    error[:2000],
                    next_attempt,
                    row_id,
                    *_OPEN_STATES,
                ),
            )
        self._settle(row_id)

    def outbox(
        self, statuses: Sequence[str] = (), ticket: str | None = None, limit: int = 1000
    ) -> list[OutboxRow]:
        """Outbox rows, oldest first, optionally only in ``statuses`` or of ``ticket``."""
        where = []
        params: list[Any] = []
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(statuses)
        if ticket is not None:
            where.append("ticket = ?")
            params.append(ticket)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        params.append(limit)
        rows = self._all(
            f"SELECT {_OUTBOX_COLUMNS} FROM outbox{clause} ORDER BY id LIMIT ?",
            params,
        )
        return [OutboxRow(*row) for row in rows]

    def retry(self, now: int, ids: Sequence[int] = ()) -> int:
        """Send dead (or the given failed/dead) rows again from now; how many."""
        with self.transaction():
            if ids:
                marks = ", ".join("?" for _ in ids)
                cursor = self._execute(
                    f"UPDATE outbox SET status = ?, next_attempt = ?, attempts = 0 "
                    f"WHERE id IN ({marks}) AND status IN (?, ?)",
                    (PENDING, now, *ids, FAILED, DEAD),
                )
            else:
                cursor = self._execute(
                    "UPDATE outbox SET status = ?, next_attempt = ?, attempts = 0 WHERE status = ?",
                    (PENDING, now, DEAD),
                )
            return int(cursor.rowcount)


__all__ = [
    "CANCELLED",
    "DEAD",
    "DELIVERED",
    "FAILED",
    "OUTBOX_STATES",
    "PENDING",
    "SKIPPED",
    "Decision",
    "OutboxQueries",
    "OutboxRow",
]
