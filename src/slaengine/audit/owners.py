"""Whose a clock is, for the audit's per-clock dimensions: its agent and its agreement."""

from __future__ import annotations

from typing import Final

from slaengine.audit.facts import TicketFacts
from slaengine.clocks import ClockResult
from slaengine.engine import TicketResult

#: Value of a dimension the ticket has none of (no group, no agent, no matching policy).
NONE: Final = "(none)"


def ticket_agent(result: TicketResult, facts: TicketFacts) -> str:
    """The agent of ticket-level KPIs: the assignee, else the last agent who replied."""
    return result.state.assignee or facts.last_agent or NONE


def clock_agreement(result: TicketResult, clock: ClockResult) -> str:
    """The agreement of a clock: its internal agreement's name, else the ticket's policy."""
    if clock.agreement is not None:
        return clock.agreement
    return result.policy.name if result.policy is not None else NONE


def clock_agent(result: TicketResult, clock: ClockResult, last_agent: str | None = None) -> str:
    """The agent of a clock: who fulfilled it, else the ticket's assignee, else ``last_agent``
    (who wrote the ticket's last public reply): a resolution clock of an unassigned ticket
    belongs to whoever answered it, and ``(none)`` is left to clocks nobody answered."""
    return clock.agent or result.state.assignee or last_agent or NONE


__all__ = ["NONE", "clock_agent", "clock_agreement", "ticket_agent"]
