"""Durable live state in SQL: opening, migrating and transactions of the state database.

One class serves SQLite (the default: a file path) and PostgreSQL (a
``postgresql://`` URL, for several workers); the SQL is shared and the few
differences are in :class:`Dialect`. The schema is created and upgraded by
numbered migrations recorded in ``schema_version``. The statements on each
part of the state live beside it, mixed into :class:`Store`: events, rejects
and cursors (:mod:`.eventstore`), inspecting rejects (:mod:`.rejects`), pruning
(:mod:`.retention`), the outbox (:mod:`.outbox`), open clocks (:mod:`.atrisk`),
spikes (:mod:`.spikes`).

Durability: every method that writes does so in one transaction. SQLite runs in
WAL mode with ``synchronous=NORMAL``: a killed process loses nothing committed
(a power cut may lose the last transactions, which the sources then deliver
again from their stored cursors).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from slaengine.errors import UserError
from slaengine.live import pglocks
from slaengine.live.atrisk import ClockQueries
from slaengine.live.eventstore import (
    AlreadyReplayed,
    Duplicate,
    EventQueries,
    NewEvent,
    Reject,
    RejectRow,
    UnknownReject,
)
from slaengine.live.outbox import (
    CANCELLED,
    DEAD,
    DELIVERED,
    FAILED,
    OUTBOX_STATES,
    PENDING,
    SKIPPED,
    Decision,
    OutboxQueries,
    OutboxRow,
)
from slaengine.live.rejects import RejectQueries
from slaengine.live.retention import RetentionQueries
from slaengine.live.schema import LATEST, MIGRATIONS
from slaengine.live.spikes import SpikeQueries
from slaengine.live.sql import POSTGRES, SQLITE, Dialect
from slaengine.live.text import has_lone_surrogate, redact_url_secrets


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


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the database driver (SQLite or psycopg)."""
    return isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg")


def is_operational_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the database failing rather than the program: the server gone or
    restarting, a lost connection, a lock or statement timeout, a deadlock (the drivers'
    ``OperationalError``), which a later try may not meet. A closed store or wrong SQL is
    not."""
    if isinstance(exc, sqlite3.OperationalError):
        return True
    return any(
        kind.__name__ == "OperationalError" and kind.__module__.startswith("psycopg")
        for kind in type(exc).__mro__
    )


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


class Store(
    EventQueries, RejectQueries, RetentionQueries, ClockQueries, SpikeQueries, OutboxQueries
):
    """The live engine's state in one SQL database. Use it from one thread at a time."""

    def __init__(self, connection: Any, dialect: Dialect, location: str) -> None:
        self._db = connection
        self.dialect = dialect
        self.location = location
        # PostgreSQL: rows this session holds an advisory lock on (claimed, not yet settled).
        self._held: set[int] = set()
        # The database is shared with another application on purpose (see ``open``).
        self._shared = False
        # PostgreSQL: the URL as given (with its password), for :meth:`reconnect` only.
        self._url = ""

    # -- opening and schema ---------------------------------------------------

    @classmethod
    def open(cls, url: str | Path, *, shared: bool = False) -> Store:
        """Open (and migrate) the store at ``url``.

        A plain path or ``sqlite:///path`` opens SQLite (``:memory:`` for a
        throw-away store); ``postgresql://...`` opens PostgreSQL (needs
        ``pip install "slaengine[postgres]"``). A database holding other tables
        and no slaengine schema is refused untouched, unless ``shared`` says the
        state is meant to sit beside another application's tables (a site's own
        database).
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
            store = cls(connection, SQLITE, path)
        store._shared = shared
        try:
            # Before anything writes: switching to WAL already rewrites the file's header.
            store.refuse_foreign_database()
            if store.dialect is SQLITE:
                _wal(store._db)
                store._db.execute("PRAGMA synchronous=NORMAL")
                store._db.execute("PRAGMA foreign_keys=ON")
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
        store = cls(connection, POSTGRES, redact_url_secrets(url.rsplit("@", maxsplit=1)[-1], url))
        store._url = url
        return store

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def reconnect(self, keep: Collection[int] = ()) -> bool:
        """Make the store usable again after a database error; whether it opened a new
        connection.

        A PostgreSQL connection that broke (a server restart, a failover, a killed
        session) is replaced, and the outbox rows in ``keep`` (claimed rows whose
        delivery is under way or waiting) are locked again for this worker: their
        locks ended with the old session. A connection that still works, and SQLite's,
        stay; a transaction left open is rolled back. Raises the driver's error (or a
        :class:`UserError` naming the server) while the database cannot be reached.
        """
        if self.dialect is SQLITE:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            return False
        if not self._url or not (self._db.closed or self._db.broken):
            return False  # working (or not opened by ``open``: nothing to open again)
        fresh = self._open_postgres(self._url)._db
        with suppress(Exception):  # the old session is gone already
            self._db.close()
        self._db = fresh
        self._held = {row_id for row_id in sorted(keep) if pglocks.try_lock(fresh, row_id)}
        return True

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

    def _own_tables(self) -> set[str]:
        """The tables of this database (in PostgreSQL: of the current schema), but SQLite's own."""
        rows = (
            self._all("SELECT name FROM sqlite_master WHERE type = 'table'")
            if self.dialect is SQLITE
            else self._all("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        )
        return {str(name) for (name,) in rows if not str(name).startswith("sqlite_")}

    def _has_version_table(self) -> bool:
        # Other tools keep a ``schema_version`` table too (with more columns): the
        # exact columns tell slaengine's apart.
        rows = (
            self._all("SELECT name FROM pragma_table_info('schema_version')")
            if self.dialect is SQLITE
            else self._all(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'schema_version'"
            )
        )
        return {str(name) for (name,) in rows} == {"version", "description"}

    def refuse_foreign_database(self) -> None:
        """Stop with a user error, writing nothing, unless this database is empty or a
        slaengine state: another application's database is never migrated into."""
        if self._shared:
            return
        tables = self._own_tables()
        if not tables or self._has_version_table():
            return
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise UserError(
            f"state {self.location!r} cannot be used as a slaengine state (another "
            f"application's database: it holds other tables, {shown}, and no slaengine "
            "schema; it was left untouched); give a new file or an empty database, or the "
            "state slaengine ingest, run or serve keep (--state, or 'state' in the [live] table)"
        )

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks; the versions applied, in order.

        Refuses (writing nothing) a database that holds other tables and no slaengine schema.
        """
        with self.transaction():
            if self.dialect is POSTGRES:
                # Two workers starting together must not both migrate.
                self._execute("SELECT pg_advisory_xact_lock(4711)")
            self.refuse_foreign_database()
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

    # -- sources --------------------------------------------------------------

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
    "AlreadyReplayed",
    "Decision",
    "Dialect",
    "Duplicate",
    "NewEvent",
    "OutboxRow",
    "Reject",
    "RejectRow",
    "Store",
    "UnknownReject",
]
