"""PostgreSQL advisory locks that mark the outbox rows a live worker is delivering.

A lease alone cannot tell a slow worker from a dead one: a row whose lease ran
out while its delivery was still queued went to a second worker (sent twice),
and the rows of a killed worker waited out their lease. A session-level
advisory lock per claimed row answers both: PostgreSQL holds it exactly as long
as the claiming connection lives, and drops it when that process dies.

Each row id maps to a pair of non-negative 32-bit keys under a class number of
their own, so they cannot meet the migration lock or another application's.

Sources are locked the same way while a worker reads one and stores what it
read with the new cursor: two workers reading from the same cursor at once
would store every event twice.
"""

from __future__ import annotations

import zlib
from typing import Any, Final

_CLASS: Final = 1_366_000_000  # the first key: this number plus the id's high bits
_SOURCE_CLASS: Final = 1_365_999_999  # the first key of a source's lock
_LOW_BITS: Final = 31
_LOW_MASK: Final = (1 << _LOW_BITS) - 1


def lock_key(row_id: int) -> tuple[int, int]:
    """The two ``int4`` keys of ``row_id``'s advisory lock."""
    return _CLASS + (row_id >> _LOW_BITS), row_id & _LOW_MASK


def held_by_others(connection: Any) -> set[int]:
    """Outbox row ids locked by other sessions of this database: claimed by a live worker."""
    rows = connection.execute(
        "SELECT classid::bigint, objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 2 AND granted "
        "AND pid <> pg_backend_pid() AND classid::bigint >= %s "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (_CLASS,),
    ).fetchall()
    return {((high - _CLASS) << _LOW_BITS) | low for high, low in rows}


def try_lock(connection: Any, row_id: int) -> bool:
    """Lock ``row_id`` for this session; ``False`` when another session holds it."""
    row = connection.execute("SELECT pg_try_advisory_lock(%s, %s)", lock_key(row_id)).fetchone()
    return bool(row[0])


def unlock(connection: Any, row_id: int) -> None:
    """Release this session's lock of ``row_id``."""
    connection.execute("SELECT pg_advisory_unlock(%s, %s)", lock_key(row_id))


def source_key(name: str) -> tuple[int, int]:
    """The two ``int4`` keys of the lock a worker holds while it reads source ``name``."""
    return _SOURCE_CLASS, zlib.crc32(name.encode("utf-8", "backslashreplace")) & 0x7FFFFFFF


def try_lock_source(connection: Any, name: str) -> bool:
    """Lock source ``name`` for this session; ``False`` while another worker reads it."""
    row = connection.execute("SELECT pg_try_advisory_lock(%s, %s)", source_key(name)).fetchone()
    return bool(row[0])


def unlock_source(connection: Any, name: str) -> None:
    """Release this session's lock of source ``name``."""
    connection.execute("SELECT pg_advisory_unlock(%s, %s)", source_key(name))


__all__ = [
    "held_by_others",
    "lock_key",
    "source_key",
    "try_lock",
    "try_lock_source",
    "unlock",
    "unlock_source",
]
