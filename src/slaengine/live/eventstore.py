"""The events table: each event stored once per (ticket, id), with rejects and source cursors.

Mixed into :class:`~slaengine.live.store.Store`. A unique index on (ticket,
event id) decides what is new, so a repeated delivery, a re-ingested file or
two processes ingesting the same event at once store it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slaengine.live.sql import StoreSql
from slaengine.live.text import storable


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to store: its ticket and instant, canonical JSON, and where it came from."""

    ticket: str
    at: int
    payload: str
    origin: str
    id: str | None = None  # stored once per (ticket, id); None: always stored


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An event not stored because its (ticket, id) already was; ``same``: same content."""

    index: int  # its position in the batch
    same: bool


@dataclass(frozen=True, slots=True)
class Reject:
    """An event that could not be used, kept with its reason so nothing is lost.

    ``payload`` is the refused event as JSON when it was read as one; ``raw``
    the input's own text when it could not be read at all (a line that is
    not JSON), made storable by :func:`~slaengine.live.text.raw_text` and
    cut to its limit, with ``raw_size`` its full size in bytes. ``body`` is the
    request body the event was translated from (an inbox webhook's), kept the same
    way up to :data:`~slaengine.live.text.BODY_LIMIT`, with its ``body_type`` (the
    Content-Type received) and ``body_size``; a reject read from a page of the
    rejects table has none (see :meth:`~slaengine.live.rejects.RejectQueries.reject`).
    """

    origin: str
    problem: str
    payload: str | None
    raw: str | None = None
    raw_size: int | None = None
    body: str | None = None
    body_type: str | None = None
    body_size: int | None = None


@dataclass(frozen=True, slots=True)
class RejectRow:
    """A stored reject with its row id, when it was received and when it was replayed.

    Instants are epoch seconds; ``replayed`` is ``None`` until a corrected
    event was stored in its place (:meth:`~slaengine.live.LiveEngine.replay`).
    """

    id: int
    received: int
    reject: Reject
    replayed: int | None = None


class UnknownReject(LookupError):
    """No stored reject has this id (never had, or it was pruned)."""


class AlreadyReplayed(ValueError):
    """The reject was replayed before; ``replayed`` is when."""

    def __init__(self, reject_id: int, replayed: int) -> None:
        super().__init__(f"reject {reject_id} was already replayed")
        self.reject_id = reject_id
        self.replayed = replayed


class EventQueries(StoreSql):
    """The store's statements on the events, rejects and cursors tables."""

    def add_events(
        self,
        events: Sequence[NewEvent],
        now: int,
        rejects: Sequence[Reject] = (),
        cursor: tuple[str, str | None] | None = None,
        quiet_until: int | None = None,
        replay_of: int | None = None,
    ) -> list[Duplicate]:
        """Store events and rejects, mark their tickets for re-evaluation, save ``cursor``.

        All in one transaction, so a source's cursor moves only with its events.
        An event whose (ticket, id) is already stored, or came earlier in the
        batch, is not stored again; those are returned, in batch order.
        ``quiet_until`` (history): the tickets of the events stored get that
        quiet cut-off, or keep a later one they have; their notifications
        before it are recorded as skipped, never sent.
        ``replay_of`` (a reject's id): the events replace that reject, which is
        marked replayed in the same transaction; raises :class:`UnknownReject`
        or :class:`AlreadyReplayed` (storing nothing) when it cannot be.
        """
        with self.transaction():
            if replay_of is not None:
                self._mark_replayed(replay_of, now)
            stored = self._insert_events(events, now)
            duplicates = [
                Duplicate(index, self._same_event(event))
                for index, (event, new) in enumerate(zip(events, stored, strict=True))
                if not new
            ]
            tickets = sorted({e.ticket for e, new in zip(events, stored, strict=True) if new})
            self._executemany(
                "INSERT INTO tickets (ticket, dirty, quiet_until) VALUES (?, 1, ?) "
                "ON CONFLICT (ticket) DO UPDATE SET dirty = 1, quiet_until = CASE "
                "WHEN excluded.quiet_until IS NULL THEN tickets.quiet_until "
                "WHEN tickets.quiet_until IS NULL THEN excluded.quiet_until "
                "WHEN tickets.quiet_until > excluded.quiet_until THEN tickets.quiet_until "
                "ELSE excluded.quiet_until END",
                [(ticket, quiet_until) for ticket in tickets],
            )
            self._executemany(
                "INSERT INTO rejects (origin, problem, payload, raw, raw_size, received, "
                "body, body_type, body_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        storable(r.origin),
                        storable(r.problem),
                        None if r.payload is None else storable(r.payload),
                        None if r.raw is None else storable(r.raw),
                        r.raw_size,
                        now,
                        None if r.body is None else storable(r.body),
                        None if r.body_type is None else storable(r.body_type),
                        r.body_size,
                    )
                    for r in rejects
                ],
            )
            if cursor is not None:
                self._execute(
                    "INSERT INTO cursors (source, position) VALUES (?, ?) "
                    "ON CONFLICT (source) DO UPDATE SET position = excluded.position",
                    cursor,
                )
        return duplicates

    def _mark_replayed(self, reject_id: int, now: int) -> None:
        if not is_row_id(reject_id):
            raise UnknownReject(reject_id)
        # The conditional update decides, so two replays of one reject store it once.
        marked = self._execute(
            "UPDATE rejects SET replayed = ? WHERE id = ? AND replayed IS NULL", (now, reject_id)
        )
        if marked.rowcount == 1:
            return
        rows = self._all("SELECT replayed FROM rejects WHERE id = ?", (reject_id,))
        if not rows:
            raise UnknownReject(reject_id)
        raise AlreadyReplayed(reject_id, int(rows[0][0]))

    def _insert_events(self, events: Sequence[NewEvent], now: int) -> list[bool]:
        # Whether each event was stored. The unique (ticket, event_id) index
        # decides, so two processes ingesting the same event store it once.
        sql = (
            "INSERT INTO events (ticket, at, payload, origin, received, event_id) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ticket, event_id) DO NOTHING RETURNING seq"
        )
        rows = [(e.ticket, e.at, e.payload, storable(e.origin), now, e.id) for e in events]
        if not rows:
            return []
        if self.dialect.name == "sqlite":  # in-process: one statement per event costs little
            return [bool(self._db.execute(sql, row).fetchall()) for row in rows]
        stored = []
        with self._db.cursor() as cursor:  # pipelined: one round trip for the batch
            cursor.executemany(self.dialect.sql(sql), rows, returning=True)
            while True:
                stored.append(bool(cursor.fetchall()))
                if not cursor.nextset():
                    break
        return stored

    def _same_event(self, event: NewEvent) -> bool:
        rows = self._all(
            "SELECT payload FROM events WHERE ticket = ? AND event_id = ?", (event.ticket, event.id)
        )
        return bool(rows) and rows[0][0] == event.payload

    def events_of(self, ticket: str) -> list[tuple[int, str, str]]:
        """``(seq, payload, origin)`` of every stored event of ``ticket``, in arrival order."""
        return [
            (int(seq), str(payload), str(origin))
            for seq, payload, origin in self._all(
                "SELECT seq, payload, origin FROM events WHERE ticket = ? ORDER BY seq", (ticket,)
            )
        ]

    def event_page(self, after: int = 0, limit: int = 10_000) -> list[tuple[int, str]]:
        """``(seq, payload)`` of the stored events after ``seq`` ``after``, in arrival order:
        an export of every ticket's events, a page at a time."""
        return [
            (int(seq), str(payload))
            for seq, payload in self._all(
                "SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, limit),
            )
        ]

    def cursor(self, source: str) -> str | None:
        """The stored cursor of ``source`` (``None``: it has not been read yet)."""
        rows = self._all("SELECT position FROM cursors WHERE source = ?", (source,))
        return None if not rows else rows[0][0]

    def rejects(self, limit: int = 100) -> list[Reject]:
        """The newest rejected events, newest first."""
        return [row.reject for row in self.reject_rows(limit)]

    def reject_rows(
        self, limit: int = 100, after: int | None = None, body: bool = False
    ) -> list[RejectRow]:
        """Stored rejects with their ids: the newest first, or those after id ``after`` in order.

        ``after`` lets an export go on where the last one ended; ``body`` also reads the
        request body each kept.
        """
        where = "" if after is None else " WHERE id > ?"
        order = "DESC" if after is None else "ASC"
        params = ([] if after is None else [after]) + [limit]
        columns = f"{REJECT_COLUMNS}, {BODY_COLUMNS}" if body else REJECT_COLUMNS
        return [
            reject_row(row)
            for row in self._all(
                f"SELECT {columns} FROM rejects{where} ORDER BY id {order} LIMIT ?",
                params,
            )
        ]


def is_row_id(value: int) -> bool:
    """Whether ``value`` can be a row id in both databases (a positive 64-bit integer)."""
    return 0 < value < 2**63


REJECT_COLUMNS = "id, received, origin, problem, payload, raw, raw_size, replayed"
#: The columns of a request body a reject keeps (read for one reject or an export, not for pages).
BODY_COLUMNS = "body, body_type, body_size"


def reject_row(row: tuple[Any, ...]) -> RejectRow:
    """A :class:`RejectRow` from the :data:`REJECT_COLUMNS` of a rejects row, and its
    :data:`BODY_COLUMNS` when they follow."""
    row_id, received, origin, problem, payload, raw, size, replayed, *more = row
    body, body_type, body_size = more or (None, None, None)
    return RejectRow(
        int(row_id),
        int(received),
        Reject(origin, problem, payload, raw, size, body, body_type, body_size),
        None if replayed is None else int(replayed),
    )


__all__ = [
    "BODY_COLUMNS",
    "REJECT_COLUMNS",
    "AlreadyReplayed",
    "Duplicate",
    "EventQueries",
    "NewEvent",
    "Reject",
    "RejectRow",
    "UnknownReject",
    "is_row_id",
    "reject_row",
]
