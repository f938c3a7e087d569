"""Policy match conditions: which tickets a policy (or agreement) applies to, and why not.

A :class:`Match` is evaluated against a ticket's current attributes; the
selection of policies (:class:`slaengine.policy.model.PolicySet`) and the
explanations of it read it. It reads no clock and no calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import TicketState

#: A named custom condition from a plugin: whether it holds for a ticket.
Condition = Callable[[TicketState], bool]


@dataclass(frozen=True, slots=True)
class Match:
    """Conditions on a ticket's current attributes; every given condition must hold.

    A set means "one of"; ``None`` means "any". ``exclude`` must not hold.
    """

    channel: frozenset[str] | None = None
    priority: frozenset[str] | None = None
    group: frozenset[str] | None = None
    assignee: frozenset[str] | None = None
    customer: frozenset[str] | None = None
    tags_any: frozenset[str] | None = None
    tags_all: frozenset[str] = frozenset()
    tags_none: frozenset[str] = frozenset()
    fields: Mapping[str, tuple[Any, ...]] = field(default_factory=ReadOnlyMap)
    exclude: Match | None = None
    # Named custom conditions (from plugins); every one must hold.
    custom: tuple[tuple[str, Condition], ...] = ()

    @property
    def is_catch_all(self) -> bool:
        """True when the match holds for every ticket."""
        return self == _EVERYTHING

    def holds(self, ticket: TicketState) -> bool:
        """True when ``ticket`` meets every condition.

        Written out with early exits because it runs once per ticket per policy
        tried; :meth:`failed_conditions` gives the same answer with reasons.
        """
        if self.channel is not None and ticket.channel not in self.channel:
            return False
        if self.priority is not None and ticket.priority not in self.priority:
            return False
        if self.group is not None and ticket.group not in self.group:
            return False
        if self.assignee is not None and ticket.assignee not in self.assignee:
            return False
        if self.customer is not None and ticket.customer not in self.customer:
            return False
        tags = ticket.tags
        if self.tags_any is not None and tags.isdisjoint(self.tags_any):
            return False
        if self.tags_all and not self.tags_all <= tags:
            return False
        if self.tags_none and not tags.isdisjoint(self.tags_none):
            return False
        if self.fields:
            for name, values in self.fields.items():
                if ticket.fields.get(name) not in values:
                    return False
        if self.custom:
            for _name, condition in self.custom:
                if not _custom_holds(condition, ticket):
                    return False
        return self.exclude is None or not self.exclude.holds(ticket)

    def reads(self) -> MatchReads | None:
        """What :meth:`holds` reads of a ticket (its ``exclude`` too); ``None`` when a
        custom condition may read anything."""
        if self.custom:
            return None
        inner = MatchReads() if self.exclude is None else self.exclude.reads()
        if inner is None:
            return None
        named = (
            ("channel", self.channel),
            ("priority", self.priority),
            ("group", self.group),
            ("assignee", self.assignee),
            ("customer", self.customer),
        )
        return MatchReads(
            inner.attributes | {name for name, allowed in named if allowed is not None},
            inner.tags | (self.tags_any or frozenset()) | self.tags_all | self.tags_none,
            inner.fields | frozenset(self.fields),
        )

    def conditions(self, ticket: TicketState) -> list[tuple[bool, str]]:
        """Each condition with whether ``ticket`` meets it, worded for that outcome."""
        found: list[tuple[bool, str]] = []
        for name, allowed, value in (
            ("channel", self.channel, ticket.channel),
            ("priority", self.priority, ticket.priority),
            ("group", self.group, ticket.group),
            ("assignee", self.assignee, ticket.assignee),
            ("customer", self.customer, ticket.customer),
        ):
            if allowed is not None:
                met = value in allowed
                found.append(
                    (met, f"{name} {value!r} {'in' if met else 'not in'} {sorted(allowed)}")
                )
        tags = ticket.tags
        if self.tags_any is not None:
            common = tags & self.tags_any
            found.append(
                (
                    bool(common),
                    f"has tag {sorted(common)} of {sorted(self.tags_any)}"
                    if common
                    else f"no tag of {sorted(self.tags_any)}",
                )
            )
        if self.tags_all:
            missing = self.tags_all - tags
            found.append(
                (
                    not missing,
                    f"missing tags {sorted(missing)}"
                    if missing
                    else f"has all tags {sorted(self.tags_all)}",
                )
            )
        if self.tags_none:
            excluded = tags & self.tags_none
            found.append(
                (
                    not excluded,
                    f"has excluded tags {sorted(excluded)}"
                    if excluded
                    else f"has none of the tags {sorted(self.tags_none)}",
                )
            )
        for name, values in self.fields.items():
            value = ticket.fields.get(name)
            met = value in values
            found.append(
                (met, f"field {name!r} = {value!r} {'in' if met else 'not in'} {list(values)}")
            )
        for name, condition in self.custom:
            try:
                met = bool(condition(ticket))
            except Exception as exc:
                found.append((False, f"condition {name!r} failed: {type(exc).__name__}: {exc}"))
                continue
            found.append((met, f"condition {name!r} {'holds' if met else 'does not hold'}"))
        if self.exclude is not None:
            if self.exclude.holds(ticket):
                found.append((False, "excluded by 'not'"))
            else:
                why = "; ".join(self.exclude.failed_conditions(ticket))
                found.append((True, f"'not' condition does not hold ({why})"))
        return found

    def failed_conditions(self, ticket: TicketState) -> list[str]:
        """Human-readable conditions that ``ticket`` does not meet (empty when it holds)."""
        return [text for met, text in self.conditions(ticket) if not met]


_EVERYTHING: Final = Match()


@dataclass(frozen=True, slots=True)
class MatchReads:
    """What matches read of a ticket: which of ``channel``, ``priority``, ``group``,
    ``assignee`` and ``customer``, which tags and which fields. Tickets that agree on
    these (and are created on the same side of every ``effective_from``) get the same
    policy from :meth:`PolicySet.select`."""

    attributes: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()


def _custom_holds(condition: Condition, ticket: TicketState) -> bool:
    """A custom condition's answer; one that raises does not hold (the caller may log it)."""
    try:
        return bool(condition(ticket))
    except Exception:
        return False


__all__ = ["Condition", "Match", "MatchReads"]
