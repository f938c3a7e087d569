"""Per-ticket facts behind the ticket-level KPIs, from one pass over its events.

Pure: a function of the timeline and the evaluation instant. Only events at or
before ``now`` count. See ``docs/kpis.md`` for what each fact feeds.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from slaengine.attributes import initial_attributes, status_after, update_changes
from slaengine.timeline import STOPPED_STATUSES, Timeline

#: Statuses in which the ticket waits on someone else: not handling time.
WAITING_STATUSES = frozenset({"pending", "on_hold"})


class TicketFacts(NamedTuple):
    """What the ticket-level KPIs need to know about one ticket at ``now``.

    A named tuple: built once per ticket audited, the cheapest record to build.
    """

    customer_messages: int  # the opening request plus public customer messages
    answered_messages: int  # of those, how many a later public agent message followed
    agent_replies: int  # public agent messages
    last_agent: str | None  # who wrote the last public agent message (when named)
    solved: bool  # solved or closed at ``now``
    ever_solved: bool  # solved or closed at some point up to ``now``
    reopened: bool  # left solved/closed for another status at least once
    reassigned: bool  # assignee or group changed after it was first set
    handle_time: int | None  # seconds handled up to the final solve (solved tickets only)
    csat: float | None  # the last rating up to ``now``
    events: int = 0  # events at or before ``now``
    solved_at: int | None = None  # the final solve (see final_solve); solved tickets only


def ticket_facts(timeline: Timeline, now: int) -> TicketFacts:
    """The facts of ``timeline`` from its events at or before ``now``."""
    events = timeline.events
    created = events[0]
    status = created.status or "new"
    since = created.at  # when the current status began
    handled = 0  # seconds spent in handling statuses before ``since``
    ever_solved = status in STOPPED_STATUSES
    # The first status of the trailing run of solved/closed statuses (final_solve).
    stopped_since = since if ever_solved else None
    reopened = False
    values: dict[str, Any] | None = None  # the attributes, from the first update on
    reassigned = False
    customer_messages, answered, waiting, replies = 1, 0, 1, 0
    last_agent: str | None = None
    csat: float | None = None
    seen = len(events)
    for index in range(1, seen):
        event = events[index]
        if event.at > now:
            seen = index
            break
        kind = event.type
        if kind == "message":
            if not event.public:
                continue
            author = event.author
            if author == "customer":
                customer_messages += 1
                waiting += 1
            elif author == "agent":
                replies += 1
                answered += waiting
                waiting = 0
                if event.agent is not None:
                    last_agent = event.agent
        elif kind == "status":
            named = event.status
            if named:
                if named not in STOPPED_STATUSES:
                    stopped_since = None
                elif stopped_since is None:
                    stopped_since = event.at
            new = status_after(event, status)
            if new == status:
                continue
            if status not in WAITING_STATUSES and status not in STOPPED_STATUSES:
                handled += event.at - since
            if status in STOPPED_STATUSES and new not in STOPPED_STATUSES:
                reopened = True
            ever_solved = ever_solved or new in STOPPED_STATUSES
            status, since = new, event.at
        elif kind == "update":
            if values is None:
                values = initial_attributes(created)
            for name, old, value in update_changes(event, values):
                values[name] = value
                if name in ("assignee", "group") and old is not None:
                    reassigned = True
        elif kind == "csat":
            csat = event.score
    solved = status in STOPPED_STATUSES
    return TicketFacts(
        customer_messages,
        answered,
        replies,
        last_agent,
        solved,
        ever_solved,
        reopened,
        reassigned,
        handled if solved else None,
        csat,
        seen,
        stopped_since if solved else None,
    )


def final_solve(timeline: Timeline, now: int) -> int | None:
    """When a ticket solved (or closed) at ``now`` was solved for the last time.

    The earliest status of the trailing run of solved/closed statuses
    (``solved -> closed`` keeps the solve). ``None`` when it is not solved.
    """
    return ticket_facts(timeline, now).solved_at


__all__ = ["WAITING_STATUSES", "TicketFacts", "final_solve", "ticket_facts"]
