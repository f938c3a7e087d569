"""Metric definitions: what starts, fulfils, cancels and pauses each instance of a clock.

Every metric, built-in or written under a policy file's top-level ``metrics:``, is one
:class:`MetricDefinition`. The four built-in metrics are definitions whose settings are
the clock rules of docs/policies.md (``fulfilled_by``, ``starts``, ``counts_from``...);
:func:`builtin_definition` builds them from those rules. The one clock machine
(:mod:`slaengine.clock_triggers` compiles, :mod:`slaengine.clock_walk` runs) reads
definitions and nothing else about a metric's behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from slaengine.vocabulary import MetricKind


class On(StrEnum):
    """Events that can start, fulfil or cancel a clock instance."""

    CREATED = "created"  # the ticket was created (and is not solved or closed)
    CUSTOMER_MESSAGE = "customer_message"  # a public message from the customer
    AGENT_REPLY = "agent_reply"  # a public agent message (bots with bot_replies_count)
    AGENT_MESSAGE = "agent_message"  # an agent message, internal notes too (bots as above)
    PUBLIC_REPLY = "public_reply"  # a public message not written by the customer
    ANY_REPLY = "any_reply"  # any message not written by the customer, notes too
    ASSIGNED = "assigned"  # the ticket gets an assignee (created with one, or an update)
    SOLVED = "solved"  # the ticket becomes solved or closed
    REOPENED = "reopened"  # a solved or closed ticket gets another status


# The message triggers, and the ``fulfilled_by`` value each one is.
MESSAGE_TRIGGERS: Final[Mapping[On, str]] = {
    On.AGENT_REPLY: "public_agent",
    On.AGENT_MESSAGE: "agent",
    On.PUBLIC_REPLY: "not_requester",
    On.ANY_REPLY: "any_outgoing",
}
FULFILLED_BY_TRIGGER: Final[Mapping[str, On]] = {
    **{rule: trigger for trigger, rule in MESSAGE_TRIGGERS.items()},
    "assignment": On.ASSIGNED,
}

#: The longest metric ``label``: it heads table columns and message subjects.
LABEL_MAX: Final = 60

# Ticket attributes a condition may test; ``tag`` tests membership, ``field:NAME`` a field.
CONDITION_ATTRIBUTES: Final = ("status", "priority", "group", "assignee", "channel", "tag", "field")


@dataclass(frozen=True, slots=True)
class StateCondition:
    """A condition on the ticket's attributes that holds for a while, like ``group: tier2``.

    ``attribute`` is one of :data:`CONDITION_ATTRIBUTES`; ``values`` are the values any
    of which makes it hold (for ``tag``: tags the ticket has; for ``field`` the field
    ``name``'s values); ``negate`` turns it around (written under ``not:``). ``text`` is
    how it reads in segments and messages.
    """

    attribute: str
    values: tuple[Any, ...]
    text: str
    name: str | None = None  # the custom field, for attribute "field"
    negate: bool = False

    def holds(self, status: str, attributes: Mapping[str, Any]) -> bool:
        """True when the condition holds for ``status`` and ``attributes``
        (:func:`slaengine.attributes.initial_attributes` gives their shape)."""
        attribute = self.attribute
        if attribute == "status":
            found = status in self.values
        elif attribute == "tag":
            found = not set(attributes["tags"]).isdisjoint(self.values)
        elif attribute == "field":
            fields = attributes["fields"]
            found = self.name in fields and fields[self.name] in self.values
        else:
            found = attributes[attribute] in self.values
        return found is not self.negate


@dataclass(frozen=True, slots=True)
class Trigger:
    """An event (``on``) or a condition becoming true (``condition``) that acts on a clock."""

    on: On | None = None
    condition: StateCondition | None = None

    @property
    def text(self) -> str:
        """How the trigger is written."""
        if self.on is not None:
            return str(self.on)
        assert self.condition is not None
        return self.condition.text


# A metric counted per group (``per: group``): one instance per stint of a group.
PER_GROUP: Final = "group"
PER: Final = (PER_GROUP,)

# What solving does to a running instance (``when_solved``) and what a reopen does to
# one a solve stopped (``on_reopen``).
STOP: Final = "stop"
PAUSE: Final = "pause"
RESUME: Final = "resume"
STAYS_MET: Final = "stays_met"


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One metric's behaviour: what starts, fulfils, cancels and pauses its instances.

    ``start`` triggers start an instance when none is running (a second one only with
    ``repeat``); ``fulfil`` triggers stop it as met (``stop_reason`` ``fulfilled``, or
    ``solved`` for the ``solved`` trigger); ``cancel`` triggers stop it as cancelled. While
    a ``pause`` status or condition holds the clock is paused. ``when_solved`` says
    whether solving stops a running instance or pauses it, ``on_reopen`` whether a reopen
    resumes an instance the solve stopped. No instance starts while the ticket is solved
    or closed. ``label`` is how reports and messages name the metric ("" for none: its
    name with spaces for underscores).

    The built-in metrics carry their particular rules as settings too: ``starts``
    (``first_business_minute`` defers a start to the policy calendar's next opening),
    ``start_delay`` (a start that many business seconds of the policy calendar after
    creation), ``assignment_counts`` (what takes a ticket for ``fulfilled_by: assignment``),
    ``staff_created`` (``False``: no instance on a ticket staff opened), ``after_fulfil``
    (instances start only once a fulfilling message was written: next_response, unless
    ``before_first_reply: measured``),
    ``counts_from`` (``latest_customer_message``: a start trigger while running moves the
    start), ``starts_on_reopen`` (a start trigger that came while the ticket was solved,
    with no fulfilling message after it, starts an instance at the reopen: next_response),
    ``hands_over`` (a cancel trigger supersedes the running instance:
    customer_message_stops), ``takes_over`` (the instance running after a customer
    message, or started at the reopen, takes over the instances it superseded),
    ``stops_at`` (``closed``: resolution runs on while solved and stops when closed) and
    ``misses`` (``per_customer_message``: next_response notes the customer messages written
    while an instance runs, each one written after the due is one more miss).

    ``per: group`` makes it an ownership clock: an instance starts each time a group takes
    the ticket (at creation, a change of group, a reopen), for that group only when
    ``groups`` names some, and stops as met when the ticket passes to another group or is
    solved; ``start`` is empty then.
    """

    name: str
    start: tuple[Trigger, ...]
    fulfil: tuple[Trigger, ...] = ()
    cancel: tuple[Trigger, ...] = ()
    pause: frozenset[str] = frozenset()  # statuses
    pause_conditions: tuple[StateCondition, ...] = ()
    repeat: bool = False
    when_solved: str = STOP
    on_reopen: str = STAYS_MET
    description: str = ""
    label: str = ""  # how people read the metric's name; "" for none
    builtin: bool = False
    starts: str = "created"
    start_delay: int = 0  # business seconds of the policy calendar after creation
    staff_created: bool = True
    after_fulfil: bool = False
    counts_from: str = "oldest_unanswered"
    starts_on_reopen: bool = False
    hands_over: bool = False
    takes_over: bool = False
    per: str | None = None
    groups: frozenset[str] | None = None  # per group: only these groups (None: any)
    # fulfilled_by: assignment: what an assignment is (assignee, group, field:NAME).
    assignment_counts: tuple[str, ...] = ("assignee",)
    stops_at: str = "solved"  # "closed": the solved trigger fires only when the ticket closes
    misses: str = "once"  # "per_customer_message": messages while overdue count as misses

    @property
    def solve_fulfils(self) -> bool:
        """True when solving the ticket meets the metric (like resolution)."""
        return any(t.on == On.SOLVED for t in self.fulfil)

    @property
    def fulfilled_by(self) -> str:
        """The ``fulfilled_by`` word of the first message or assignment fulfil trigger."""
        for trigger in self.fulfil:
            on = trigger.on
            if on is not None and on in MESSAGE_TRIGGERS:
                return MESSAGE_TRIGGERS[on]
            if on == On.ASSIGNED:
                return "assignment"
        return "public_agent"


def builtin_definition(kind: str, rules: Mapping[str, Any]) -> MetricDefinition:
    """The definition of built-in metric ``kind`` under the clock rules ``rules`` (the
    :class:`~slaengine.policy.model.MetricPolicy` fields; absent ones take the default);
    for any other name a definition that never starts."""
    fulfil = (Trigger(FULFILLED_BY_TRIGGER[rules.get("fulfilled_by", "public_agent")]),)
    when_solved = rules.get("when_solved", STOP)
    if kind == MetricKind.FIRST_RESPONSE:
        return MetricDefinition(
            kind,
            (Trigger(On.CREATED),),
            fulfil,
            when_solved=when_solved,
            builtin=True,
            starts=rules.get("starts", "created"),
            start_delay=rules.get("start_delay", 0),
            staff_created=rules.get("staff_created", True),
            assignment_counts=tuple(rules.get("assignment_counts", ("assignee",))),
        )
    if kind == MetricKind.NEXT_RESPONSE:
        return MetricDefinition(
            kind,
            (Trigger(On.CUSTOMER_MESSAGE),),
            fulfil,
            repeat=True,
            when_solved=when_solved,
            builtin=True,
            # before_first_reply: measured, customer messages before the first reply start it.
            after_fulfil=not rules.get("before_first_reply", False),
            counts_from=rules.get("counts_from", "oldest_unanswered"),
            starts_on_reopen=True,
            takes_over=True,
            misses=rules.get("misses", "once"),
        )
    if kind == MetricKind.PERIODIC_UPDATE:
        hands_over = bool(rules.get("customer_message_stops", False))
        # before_first_reply: measured, the first instance runs from creation.
        early = (Trigger(On.CREATED),) if rules.get("before_first_reply", False) else ()
        return MetricDefinition(
            kind,
            early + fulfil,
            fulfil,
            cancel=(Trigger(On.CUSTOMER_MESSAGE),) if hands_over else (),
            repeat=True,
            when_solved=when_solved,
            builtin=True,
            hands_over=hands_over,
        )
    if kind == MetricKind.RESOLUTION:
        # A ticket created solved or closed starts it at its first reopen.
        return MetricDefinition(
            kind,
            (Trigger(On.CREATED), Trigger(On.REOPENED)),
            (Trigger(On.SOLVED),),
            on_reopen=rules.get("on_reopen", RESUME),
            builtin=True,
            starts=rules.get("starts", "created"),
            start_delay=rules.get("start_delay", 0),
            stops_at=rules.get("stops_at", "solved"),
        )
    # Not a built-in name and no definition given (a model built by hand): nothing starts
    # it, as a name the walk did not know started nothing before definitions existed.
    return MetricDefinition(kind, ())


__all__ = [
    "CONDITION_ATTRIBUTES",
    "FULFILLED_BY_TRIGGER",
    "LABEL_MAX",
    "MESSAGE_TRIGGERS",
    "PAUSE",
    "PER",
    "PER_GROUP",
    "RESUME",
    "STAYS_MET",
    "STOP",
    "MetricDefinition",
    "On",
    "StateCondition",
    "Trigger",
]
