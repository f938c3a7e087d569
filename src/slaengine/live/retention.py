"""Retention: pruning rejects and settled outbox rows once they are older than a number of days.

Mixed into :class:`~slaengine.live.store.Store`; :class:`Retention` is the
worker's setting (``[live] rejects_keep_days`` and ``delivered_keep_days``),
applied at most once an hour. Ages are elapsed time (a day is 24 hours): a
retention period is a storage promise, not a business-time target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from slaengine.live.outbox import DELIVERED, SKIPPED
from slaengine.live.sql import StoreSql

DAY: Final = 24 * 3600
#: The longest age accepted (about a hundred years): a longer one is a typing mistake.
MAX_AGE: Final = 36_500 * DAY
_AGE = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")
# Rows in these states are settled for good: never sent (again), never revived.
_SETTLED: Final = (DELIVERED, SKIPPED)


def parse_age(text: str) -> int:
    """Seconds of an age such as ``30d``, ``12h``, ``1d12h`` or ``90m``; raises ``ValueError``."""
    found = _AGE.match(text.lower())
    if not text.strip() or found is None or not any(found.groups()):
        raise ValueError(f"expected an age like 30d, 12h or 90m, got {text!r}")
    days, hours, minutes, seconds = (int(part) if part else 0 for part in found.groups())
    total = days * DAY + hours * 3600 + minutes * 60 + seconds
    if not 0 < total <= MAX_AGE:
        raise ValueError(f"an age must be more than zero and at most 36500d, got {text!r}")
    return total


class RetentionQueries(StoreSql):
    """The store's statements that delete old rows."""

    def prune_rejects(self, before: int) -> int:
        """Delete the rejects received before ``before``; how many."""
        with self.transaction():
            cursor = self._execute("DELETE FROM rejects WHERE received < ?", (before,))
            self._count_pruned("rejects", int(cursor.rowcount))
            return int(cursor.rowcount)

    def pruned_totals(self) -> dict[str, int]:
        """Rows pruned since the state began: ``rejects``, ``delivered``, ``skipped``."""
        return {
            str(kind): int(total) for kind, total in self._all("SELECT kind, total FROM pruned")
        }

    def _count_pruned(self, kind: str, amount: int) -> None:
        if amount:
            self._execute(
                "INSERT INTO pruned (kind, total) VALUES (?, ?) "
                "ON CONFLICT (kind) DO UPDATE SET total = pruned.total + excluded.total",
                (kind, amount),
            )

    def prune_delivered(self, before: int) -> int:
        """Delete delivered rows settled before ``before``, and skipped rows created before it.

        A ticket evaluated again later (a new event) must not take a deleted
        row for a new notification and send it twice: each ticket's quiet
        cut-off is raised past the newest row deleted, in the same
        transaction, so what it reached by then is recorded as skipped.
        Pending, failed, dead and cancelled rows are kept.
        """
        settled = "status IN (?, ?) AND COALESCE(delivered, created) < ?"
        params = (*_SETTLED, before)
        deleted = 0
        with self.transaction():
            newest = self._all(
                f"SELECT ticket, MAX(due_at) FROM outbox WHERE {settled} GROUP BY ticket", params
            )
            self._executemany(
                "UPDATE tickets SET quiet_until = CASE WHEN quiet_until IS NULL "
                "OR quiet_until <= ? THEN ? ELSE quiet_until END WHERE ticket = ?",
                [(int(due), int(due) + 1, ticket) for ticket, due in newest],
            )
            for status in _SETTLED:
                cursor = self._execute(
                    "DELETE FROM outbox WHERE status = ? AND COALESCE(delivered, created) < ?",
                    (status, before),
                )
                self._count_pruned(status, int(cursor.rowcount))
                deleted += int(cursor.rowcount)
        return deleted


@dataclass(frozen=True, slots=True)
class Retention:
    """How many days rejects and settled outbox rows are kept (``None``: for ever)."""

    rejects_days: int | None = None
    delivered_days: int | None = None
    every: int = 3600  # seconds between two prunings by the worker

    @property
    def active(self) -> bool:
        """Whether anything is ever pruned."""
        return self.rejects_days is not None or self.delivered_days is not None


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one pruning deleted."""

    rejects: int = 0
    delivered: int = 0


def prune(store: RetentionQueries, retention: Retention, now: int) -> Pruned:
    """Delete what ``retention`` keeps no longer, as of ``now``."""
    rejects = delivered = 0
    if retention.rejects_days is not None:
        rejects = store.prune_rejects(now - retention.rejects_days * DAY)
    if retention.delivered_days is not None:
        delivered = store.prune_delivered(now - retention.delivered_days * DAY)
    return Pruned(rejects, delivered)


__all__ = ["DAY", "Pruned", "Retention", "RetentionQueries", "parse_age", "prune"]
