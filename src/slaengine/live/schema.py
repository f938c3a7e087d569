"""The state database's schema: numbered migrations, applied in order by ``Store.migrate``.

Each migration runs in one transaction with the version it records, so a
database is always at exactly one version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias

if TYPE_CHECKING:
    from slaengine.live.store import Store

Step: TypeAlias = "str | Callable[[Store], None]"


def event_id(value: Any) -> str | None:
    """An event's ``id`` as the events table keys it (an integer id as its text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _backfill_event_ids(store: Store) -> None:
    # Events stored before ids were kept: give each (ticket, id) to its first
    # row; a later row with the very same content is the repeat the old ingest
    # stored, so it goes; one with other content stays, without an id.
    first: dict[tuple[str, str], bytes] = {}  # digests: the events may be many
    keep: list[tuple[str, int]] = []
    repeats: list[tuple[int]] = []
    for seq, ticket, payload in store._execute(
        "SELECT seq, ticket, payload FROM events ORDER BY seq"
    ):
        try:
            found = event_id(json.loads(payload).get("id"))
        except (ValueError, AttributeError, RecursionError):
            continue
        if found is None:
            continue
        digest = hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=20).digest()
        stored = first.get((ticket, found))
        if stored is None:
            first[(ticket, found)] = digest
            keep.append((found, seq))
        elif stored == digest:
            repeats.append((seq,))
    store._executemany("UPDATE events SET event_id = ? WHERE seq = ?", keep)
    store._executemany("DELETE FROM events WHERE seq = ?", repeats)


# Each migration: (version, what it does, statements). Append only; never edit
# a released one. A step is SQL (``{serial}`` is the dialect's auto-numbered
# key type) or a function run on the store inside the migration's transaction.
MIGRATIONS: Final[tuple[tuple[int, str, tuple[Step, ...]], ...]] = (
    (
        1,
        "events, tickets, outbox, cursors, rejects",
        (
            """CREATE TABLE events (
                seq {serial},
                ticket TEXT NOT NULL,
                at BIGINT NOT NULL,
                payload TEXT NOT NULL,
                origin TEXT NOT NULL,
                received BIGINT NOT NULL)""",
            "CREATE INDEX events_by_ticket ON events (ticket, seq)",
            """CREATE TABLE tickets (
                ticket TEXT PRIMARY KEY,
                dirty INTEGER NOT NULL,
                wake BIGINT,
                policy TEXT)""",
            "CREATE INDEX tickets_dirty ON tickets (dirty)",
            "CREATE INDEX tickets_wake ON tickets (wake)",
            """CREATE TABLE outbox (
                id {serial},
                key TEXT NOT NULL,
                recipient TEXT NOT NULL,
                ticket TEXT NOT NULL,
                kind TEXT NOT NULL,
                due_at BIGINT NOT NULL,
                payload TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt BIGINT NOT NULL,
                lease_until BIGINT,
                last_error TEXT,
                created BIGINT NOT NULL,
                delivered BIGINT,
                UNIQUE (key, recipient))""",
            "CREATE INDEX outbox_ready ON outbox (status, next_attempt)",
            "CREATE INDEX outbox_by_ticket ON outbox (ticket)",
            "CREATE TABLE cursors (source TEXT PRIMARY KEY, position TEXT)",
            """CREATE TABLE rejects (
                id {serial},
                origin TEXT NOT NULL,
                problem TEXT NOT NULL,
                payload TEXT,
                received BIGINT NOT NULL)""",
        ),
    ),
    (
        2,
        "event ids (an event is stored once), open clocks (the at-risk queue)",
        (
            "ALTER TABLE events ADD COLUMN event_id TEXT",
            _backfill_event_ids,
            "CREATE UNIQUE INDEX events_by_id ON events (ticket, event_id)",
            """CREATE TABLE clocks (
                ticket TEXT NOT NULL,
                metric TEXT NOT NULL,
                instance INTEGER NOT NULL,
                state TEXT NOT NULL,
                due BIGINT,
                policy TEXT,
                priority TEXT NOT NULL,
                channel TEXT NOT NULL,
                group_name TEXT,
                assignee TEXT,
                evaluated BIGINT NOT NULL,
                PRIMARY KEY (ticket, metric, instance))""",
            "CREATE INDEX clocks_by_due ON clocks (due)",
        ),
    ),
    (
        3,
        "spikes under way; events by instant (volume counts)",
        (
            """CREATE TABLE spikes (
                rule TEXT NOT NULL,
                channel TEXT NOT NULL,
                started BIGINT NOT NULL,
                PRIMARY KEY (rule, channel))""",
            "CREATE INDEX events_by_at ON events (at)",
        ),
    ),
    (
        4,
        "rejects keep the text of input that could not be read",
        (
            "ALTER TABLE rejects ADD COLUMN raw TEXT",
            "ALTER TABLE rejects ADD COLUMN raw_size BIGINT",
        ),
    ),
    (
        5,
        "tickets loaded quietly: notifications before their cut-off are skipped",
        ("ALTER TABLE tickets ADD COLUMN quiet_until BIGINT",),
    ),
    (
        6,
        "rejects record their replay; retention prunes rejects and delivered rows by age",
        (
            "ALTER TABLE rejects ADD COLUMN replayed BIGINT",
            "CREATE INDEX rejects_by_received ON rejects (received)",
            "CREATE INDEX outbox_by_delivered ON outbox (delivered)",
            # Rows pruned so far, by kind: the metrics' totals stay monotonic.
            "CREATE TABLE pruned (kind TEXT PRIMARY KEY, total BIGINT NOT NULL)",
        ),
    ),
    (
        7,
        "rejects keep the request body an inbox translated, and its content type",
        (
            "ALTER TABLE rejects ADD COLUMN body TEXT",
            "ALTER TABLE rejects ADD COLUMN body_type TEXT",
            "ALTER TABLE rejects ADD COLUMN body_size BIGINT",
        ),
    ),
)
LATEST: Final = MIGRATIONS[-1][0]

__all__ = ["LATEST", "MIGRATIONS", "Step", "event_id"]
