"""Durable live state in SQL: events, each ticket's schedule, the outbox, source cursors.

One class serves SQLite (the default: a file path) and PostgreSQL (a
``postgresql://`` URL, for several workers); the SQL is shared and the few
differences are in :class:`Dialect`. The schema is created and upgraded by
numbered migrations recorded in ``schema_version``.

Durability: every method that writes does so in one transaction. SQLite runs in
WAL mode with ``synchronous=NORMAL``: a killed process loses nothing committed
(a power cut may lose the last transactions, which the sources then deliver
again from their stored cursors).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from slaengine.errors import UserError
from slaengine.live import pglocks
from slaengine.live.atrisk import ClockQueries, OpenClock
from slaengine.live.eventstore import Duplicate, EventQueries, NewEvent, Reject
from slaengine.live.schema import LATEST, MIGRATIONS
from slaengine.live.spikes import SpikeQueries
from slaengine.live.text import has_lone_surrogate, redact_url_secrets

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
class Dialect:
    """What differs between the SQL databases the store runs on."""

    name: str
    serial: str  # an auto-numbered primary key column type
    skip_locked: str  # appended to a SELECT that claims rows

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this database's parameter style."""
        return text if self.name == "sqlite" else text.replace("?", "%s")


SQLITE: Final = Dialect("sqlite", "INTEGER PRIMARY KEY AUTOINCREMENT", "")
POSTGRES: Final = Dialect("postgresql", "BIGSERIAL PRIMARY KEY", " FOR UPDATE SKIP LOCKED")


def _create_private(path: str) -> None:
    """Create the SQLite file readable by its owner only (it holds every event's payload).

    SQLite gives its WAL and shared-memory files the database file's mode, so they
    are private too. An existing file keeps the mode its owner chose.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise UserError(f"state: cannot create {path!r}: {exc.strerror or exc}") from None


def _wal(connection: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs it alone for a moment, and SQLite answers
    # "locked" at once rather than waiting: two processes opening a new state
    # together (serve and run) retry briefly instead of failing.
    for attempt in range(100):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


def event_problem(ticket: str, payload: str) -> str | None:
    """Why an event cannot be stored as it is, or ``None``.

    A NUL in a ticket id fits no PostgreSQL text column (and would reach every
    notification key); a lone surrogate has no UTF-8 form in either database.
    Refused on both databases alike, so a state moves between them unchanged.
    """
    if "\x00" in ticket:
        return "ticket id contains a NUL character"
    if has_lone_surrogate(ticket) or has_lone_surrogate(payload):
        return "not valid Unicode: a lone surrogate (an unpaired \\ud800-\\udfff)"
    return None


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


class Store(EventQueries, ClockQueries, SpikeQueries):
    """The live engine's state in one SQL database. Use it from one thread at a time."""

    def __init__(self, connection: Any, dialect: Dialect, location: str) -> None:
        self._db = connection
        self.dialect = dialect
        self.location = location
        # PostgreSQL: rows this session holds an advisory lock on (claimed, not yet settled).
        self._held: set[int] = set()

    # -- opening and schema ---------------------------------------------------

    @classmethod
    def open(cls, url: str | Path) -> Store:
        """Open (and migrate) the store at ``url``.

        A plain path or ``sqlite:///path`` opens SQLite (``:memory:`` for a
        throw-away store); ``postgresql://...`` opens PostgreSQL (needs
        ``pip install "slaengine[postgres]"``).
        """
        text = str(url)
        if text.startswith(("postgresql://", "postgres://")):
            store = cls._open_postgres(text)
        else:
            path = text.removeprefix("sqlite:///").removeprefix("sqlite://")
            if path != ":memory:":
                parent = Path(path).parent
                if not parent.is_dir():
                    raise UserError(f"state: directory {str(parent)!r} does not exist")
                _create_private(path)
            # One thread at a time, but not necessarily the one that opened it.
            connection = sqlite3.connect(
                path, isolation_level=None, timeout=30.0, check_same_thread=False
            )
            _wal(connection)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            store = cls(connection, SQLITE, path)
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def _open_postgres(cls, url: str) -> Store:
        try:
            import psycopg
        except ImportError:
            raise UserError(
                'PostgreSQL state needs psycopg: python3 -m pip install "slaengine[postgres]"'
            ) from None
        try:
            connection = psycopg.connect(url, autocommit=True)
        except (psycopg.Error, ValueError) as exc:
            message = redact_url_secrets(f"cannot connect to PostgreSQL: {exc}".strip(), url)
            raise UserError(message) from None
        return cls(connection, POSTGRES, redact_url_secrets(url.rsplit("@", maxsplit=1)[-1], url))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        if self.dialect is SQLITE:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        else:
            with self._db.transaction():
                yield

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(self.dialect.sql(sql), params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.dialect is SQLITE:
            self._db.executemany(sql, rows)  # sqlite3 runs it in the open transaction
        else:
            with self._db.cursor() as cursor:
                cursor.executemany(self.dialect.sql(sql), rows)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._execute(sql, params).fetchall())

    def schema_version(self) -> int:
        """The newest migration applied (0 for an empty database)."""
        exists = (
            self._all("SELECT name FROM sqlite_master WHERE name = 'schema_version'")
            if self.dialect is SQLITE
            else self._all("SELECT tablename FROM pg_tables WHERE tablename = 'schema_version'")
        )
        if not exists:
            return 0
        rows = self._all("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks; the versions applied, in order."""
        with self.transaction():
            if self.dialect is POSTGRES:
                # Two workers starting together must not both migrate.
                self._execute("SELECT pg_advisory_xact_lock(4711)")
            current = self.schema_version()
            if current > LATEST:
                raise UserError(
                    f"state schema version {current} is newer than this slaengine "
                    f"understands ({LATEST}); upgrade slaengine"
                )
            if current == 0:
                self._execute(
                    "CREATE TABLE schema_version (version INTEGER NOT NULL, "
                    "description TEXT NOT NULL)"
                )
            applied = []
            for version, description, statements in MIGRATIONS:
                if version <= current:
                    continue
                for step in statements:
                    if callable(step):
                        step(self)
                    else:
                        self._execute(step.format(serial=self.dialect.serial))
                self._execute(
                    "INSERT INTO schema_version (version, description) VALUES (?, ?)",
                    (version, description),
                )
                applied.append(version)
        return applied

    def counts(self) -> dict[str, int]:
        """Rows per table and outbox rows per state."""
        result = {
            table: int(self._all(f"SELECT COUNT(*) FROM {table}")[0][0])
            for table in ("events", "tickets", "rejects")
        }
        for status, count in self._all("SELECT status, COUNT(*) FROM outbox GROUP BY status"):
            result[f"outbox.{status}"] = int(count)
        return result

    # -- tickets --------------------------------------------------------------

    def tickets_due(self, now: int, limit: int) -> list[str]:
        """Tickets with new events, or whose next point falls at or before ``now``."""
        rows = self._all(
            "SELECT ticket FROM tickets WHERE dirty = 1 OR wake <= ? ORDER BY ticket LIMIT ?",
            (now, limit),
        )
        return [str(row[0]) for row in rows]

    def next_wake(self) -> int | None:
        """The earliest instant a ticket is scheduled to be re-evaluated."""
        rows = self._all("SELECT MIN(wake) FROM tickets")
        value = rows[0][0]
        return None if value is None else int(value)

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

    # -- outbox ---------------------------------------------------------------

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
        postgres = self.dialect is POSTGRES
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

    @contextmanager
    def reading(self, source: str) -> Iterator[bool]:
        """Hold ``source`` for this worker while it reads it; yields whether it may.

        On PostgreSQL a second worker gets ``False`` while the first reads
        (reading from the same cursor, both would store every event); SQLite
        has one worker.
        """
        if self.dialect is SQLITE:
            yield True
            return
        held = pglocks.try_lock_source(self._db, source)
        try:
            yield held
        finally:
            if held:
                pglocks.unlock_source(self._db, source)

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
            if self.dialect is SQLITE:
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
    "LATEST",
    "MIGRATIONS",
    "OUTBOX_STATES",
    "PENDING",
    "POSTGRES",
    "SKIPPED",
    "SQLITE",
    "Decision",
    "Dialect",
    "Duplicate",
    "NewEvent",
    "OutboxRow",
    "Reject",
    "Store",
]
