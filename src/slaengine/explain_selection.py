"""Why a policy applies to a ticket: the conditions tried, and how attribute changes moved it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slaengine.attributes import initial_attributes, update_changes
from slaengine.policy.match import Match
from slaengine.policy.model import PolicySet
from slaengine.timeline import Event, TicketState, Timeline


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """One policy tried during selection: whether its match held, and why (not)."""

    name: str
    location: str | None
    matched: bool
    held: tuple[str, ...]  # conditions that held (all of them when matched)
    failed: tuple[str, ...]  # conditions that did not hold (empty when matched)
    # The policy's ``effective_from``, and whether the ticket was created at or after it.
    effective_from: int | None = None
    in_force: bool = True

    def why_not(self, when: Callable[[int], str]) -> tuple[str, ...]:
        """Why the policy does not apply: not yet in force for the ticket, failed conditions."""
        if self.in_force or self.effective_from is None:
            return self.failed
        version = (
            f"ticket created before {when(self.effective_from)}; the policy applies to "
            "tickets created from then"
        )
        return (version, *self.failed)


@dataclass(frozen=True, slots=True)
class SelectionChange:
    """From ``at`` on, the ticket's attributes then would have selected ``policy``."""

    at: int
    line: int
    policy: str | None


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """An ``update`` event (at or before the evaluation instant) that changed an attribute."""

    at: int
    line: int
    attribute: str
    old: Any
    new: Any


def held_conditions(match: Match, ticket: TicketState) -> list[str]:
    """Human-readable conditions of ``match`` that ``ticket`` meets (the counterpart of
    :meth:`Match.failed_conditions`); a catch-all says so."""
    if match.is_catch_all:
        return ["no conditions: matches every ticket (catch-all)"]
    return [text for met, text in match.conditions(ticket) if met]


def check_policies(policies: PolicySet, ticket: TicketState) -> list[PolicyCheck]:
    """Every policy tried, in order, up to and including the one that matched."""
    checks: list[PolicyCheck] = []
    for policy in policies.policies:
        failed = policy.match.failed_conditions(ticket)
        location = str(policy.location) if policy.location is not None else None
        in_force = policy.effective_from is None or ticket.created >= policy.effective_from
        matched = policy.applies_to(ticket)
        checks.append(
            PolicyCheck(
                policy.name,
                location,
                matched,
                tuple(held_conditions(policy.match, ticket)),
                tuple(failed),
                policy.effective_from,
                in_force,
            )
        )
        if matched:
            break
    return checks


def attribute_changes(events: Sequence[Event]) -> list[AttributeChange]:
    """The ``update`` events among ``events`` that changed a selection attribute, as
    :mod:`slaengine.attributes` decides it."""
    current = initial_attributes(events[0])
    changes: list[AttributeChange] = []
    for event in events[1:]:
        if event.type != "update":
            continue
        for name, old, new in update_changes(event, current):
            changes.append(AttributeChange(event.at, event.line, name, old, new))
            current[name] = new
    return changes


def selection_history(
    policies: PolicySet, timeline: Timeline, changes: Sequence[AttributeChange]
) -> list[SelectionChange]:
    """The policy the ticket's attributes selected from creation and after each change."""
    created = timeline.events[0]
    first = policies.select(timeline.state_at(created.at))
    history = [SelectionChange(created.at, created.line, first.name if first else None)]
    for change in changes:
        if change.at == history[-1].at and len(history) > 1:
            history.pop()
        selected = policies.select(timeline.state_at(change.at))
        name = selected.name if selected else None
        if name != history[-1].policy:
            history.append(SelectionChange(change.at, change.line, name))
    return history


def attributes(state: TicketState) -> Mapping[str, Any]:
    """The ticket attributes that policy selection looks at, in a stable order."""
    return {
        "channel": state.channel,
        "priority": state.priority,
        "status": state.status,
        "customer": state.customer,
        "group": state.group,
        "assignee": state.assignee,
        "tags": sorted(state.tags),
        "fields": dict(state.fields),
    }


__all__ = [
    "AttributeChange",
    "PolicyCheck",
    "SelectionChange",
    "attribute_changes",
    "attributes",
    "check_policies",
    "held_conditions",
    "selection_history",
]
