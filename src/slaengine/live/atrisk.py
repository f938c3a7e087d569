"""Open clocks as of each ticket's last evaluation: the table behind the at-risk queue.

The live engine records every running or paused clock of a ticket (its due
instant, the ticket's group, assignee, priority and channel) in the same
transaction as the ticket's new schedule, so "what falls due in the next two
hours?" is one indexed query rather than an evaluation of every open ticket.
The table reflects the last ``advance``: an event ingested since then shows
after the next one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from slaengine.clocks import PAUSED
from slaengine.live.sql import StoreSql
from slaengine.notifications import iso

_CLOCK_COLUMNS: Final = (
    "ticket, metric, instance, state, due, policy, priority, channel, group_name, assignee"
)


@dataclass(frozen=True, slots=True)
class OpenClock:
    """A clock that has not stopped, with what its ticket looked like when evaluated."""

    ticket: str
    metric: str
    instance: int
    state: str
    due: int | None  # None while a clock that has not breached is paused
    policy: str | None
    priority: str
    channel: str
    group: str | None
    assignee: str | None
    agreement: str | None = None  # the internal agreement; None: the customer SLA

    @property
    def stored_metric(self) -> str:
        """The ``metric`` column: the agreement's name, ``/`` and the metric for an
        agreement's clock, so two agreements' clocks of one metric do not collide."""
        return self.metric if self.agreement is None else f"{self.agreement}/{self.metric}"

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> OpenClock:
        """The clock a ``clocks`` row holds (see :attr:`stored_metric`)."""
        agreement, _, metric = str(row[1]).rpartition("/")
        ticket, _, instance, state, due, policy, priority, channel, group, assignee = row
        return cls(
            ticket,
            metric,
            instance,
            state,
            due,
            policy,
            priority,
            channel,
            group,
            assignee,
            agreement or None,
        )

    def to_dict(self, now: int) -> dict[str, Any]:
        """A JSON-ready mapping; ``due_in_seconds`` is negative once the clock is overdue."""
        out = {
            "ticket": self.ticket,
            "metric": self.metric,
            "instance": self.instance,
            "state": self.state,
            "due": iso(self.due),
            "due_in_seconds": None if self.due is None else self.due - now,
            "overdue": self.due is not None and self.due < now,
            "policy": self.policy,
            "priority": self.priority,
            "channel": self.channel,
            "group": self.group,
            "assignee": self.assignee,
        }
        if self.agreement is not None:
            out["agreement"] = self.agreement
        return out


@dataclass(frozen=True, slots=True)
class ClockCounts:
    """Running clocks by group: how many are overdue and how many fall due in each window."""

    group: str | None
    overdue: int
    due_within: tuple[int, ...]  # one count per window, in the order asked


#: A window is elapsed (wall-clock) time, so a day is 24 hours and a week 7 days here,
#: unlike a policy's business-time durations, where days are refused as ambiguous.
_WINDOW = re.compile(
    r"^(?:(\d+)\s*w(?:eeks?)?)?\s*(?:(\d+)\s*d(?:ays?)?)?\s*(?:(\d+)\s*h(?:ours?)?)?"
    r"\s*(?:(\d+)\s*m(?:in(?:utes?)?)?)?\s*(?:(\d+)\s*s(?:ec(?:onds?)?)?)?$"
)
_UNIT_SECONDS: Final = (7 * 86_400, 86_400, 3_600, 60, 1)  # w, d, h, m, s
#: The longest window, a century: enough for "everything", and far from any overflow.
MAX_WINDOW_DAYS: Final = 36_525


def parse_window(value: object) -> int:
    """Seconds of an at-risk window such as ``2h``, ``30m``, ``3d`` or ``1d12h``.

    The window is elapsed time from now: ``d`` is 24 hours and ``w`` 7 days. A
    bare number is seconds. Raises ``ValueError`` saying what was expected.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 30m, 2h or 3d, got {value}")
    if isinstance(value, int):
        seconds = value
    else:
        text = str(value).strip().lower()
        found = _WINDOW.match(text if not text.isdigit() else f"{text}s")
        if not text or found is None or not any(found.groups()):
            raise ValueError(f"expected a duration like 30m, 2h or 3d, got {str(value)[:40]!r}")
        seconds = sum(
            int(amount) * unit
            for amount, unit in zip(found.groups(), _UNIT_SECONDS, strict=True)
            if amount
        )
    if seconds <= 0:
        raise ValueError(f"a duration must be longer than zero, got {str(value)[:40]!r}")
    if seconds > MAX_WINDOW_DAYS * 86_400:
        raise ValueError(
            f"a window may be at most {MAX_WINDOW_DAYS:,}d (a century), got {str(value)[:40]!r}"
        )
    return seconds


def queue_document(
    clocks: Sequence[OpenClock],
    now: int,
    within: int,
    group: str | None = None,
    agent: str | None = None,
) -> dict[str, Any]:
    """The at-risk queue as JSON (``GET /at-risk`` and ``slaengine status --due-within``)."""
    return {
        "at": iso(now),
        "within_seconds": within,
        "until": iso(now + within),
        "group": group,
        "agent": agent,
        "count": len(clocks),
        "clocks": [clock.to_dict(now) for clock in clocks],
    }


class ClockQueries(StoreSql):
    """The store's queries on the ``clocks`` table (mixed into :class:`Store`)."""

    def _replace_clocks(self, ticket: str, clocks: Sequence[OpenClock], now: int) -> None:
        # Called inside the transaction that records the ticket's evaluation.
        self._execute("DELETE FROM clocks WHERE ticket = ?", (ticket,))
        self._executemany(
            f"INSERT INTO clocks ({_CLOCK_COLUMNS}, evaluated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.ticket,
                    c.stored_metric,
                    c.instance,
                    c.state,
                    c.due,
                    c.policy,
                    c.priority,
                    c.channel,
                    c.group,
                    c.assignee,
                    now,
                )
                for c in clocks
            ],
        )

    def open_clocks(self, ticket: str) -> list[OpenClock]:
        """The open clocks of ``ticket`` as of its last evaluation."""
        return [
            OpenClock.from_row(row)
            for row in self._all(
                f"SELECT {_CLOCK_COLUMNS} FROM clocks WHERE ticket = ? ORDER BY metric, instance",
                (ticket,),
            )
        ]

    def at_risk(
        self,
        until: int,
        group: str | None = None,
        agent: str | None = None,
        limit: int = 100,
    ) -> list[OpenClock]:
        """Running clocks due at or before ``until`` (overdue ones too), soonest first.

        Paused clocks are left out: they wait for the customer and fall due
        only once an event resumes them. ``group`` and ``agent`` (the ticket's
        assignee) narrow the queue.
        """
        where = ["due IS NOT NULL", "due <= ?", "state <> ?"]
        params: list[Any] = [until, PAUSED]
        if group is not None:
            where.append("group_name = ?")
            params.append(group)
        if agent is not None:
            where.append("assignee = ?")
            params.append(agent)
        params.append(limit)
        rows = self._all(
            f"SELECT {_CLOCK_COLUMNS} FROM clocks WHERE {' AND '.join(where)} "
            "ORDER BY due, ticket, metric, instance LIMIT ?",
            params,
        )
        return [OpenClock.from_row(row) for row in rows]

    def clock_counts(self, now: int, windows: Sequence[int]) -> list[ClockCounts]:
        """Per group, running clocks overdue at ``now`` and due within each window after it."""
        sums = ", ".join("SUM(CASE WHEN due >= ? AND due <= ? THEN 1 ELSE 0 END)" for _ in windows)
        params: list[Any] = [now]
        for window in windows:
            params.extend((now, now + window))
        params.append(PAUSED)
        rows = self._all(
            "SELECT group_name, SUM(CASE WHEN due < ? THEN 1 ELSE 0 END)"
            f"{', ' + sums if windows else ''} "
            "FROM clocks WHERE due IS NOT NULL AND state <> ? "
            "GROUP BY group_name",
            params,
        )
        counts = [
            ClockCounts(row[0], int(row[1] or 0), tuple(int(value or 0) for value in row[2:]))
            for row in rows
        ]
        # Databases disagree on where NULL sorts: no group comes first here.
        return sorted(counts, key=lambda c: (c.group is not None, c.group or ""))

    def open_clock_total(self) -> int:
        """How many clocks are open (running or paused)."""
        return int(self._all("SELECT COUNT(*) FROM clocks")[0][0])

    def oldest_undelivered(self) -> int | None:
        """When the oldest outbox row still waiting for delivery was decided (epoch seconds)."""
        value = self._all(
            "SELECT MIN(created) FROM outbox WHERE status IN (?, ?)", ("pending", "failed")
        )[0][0]
        return None if value is None else int(value)


__all__ = ["ClockCounts", "ClockQueries", "OpenClock", "parse_window", "queue_document"]
