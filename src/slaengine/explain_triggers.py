"""Explain's words for what a metric's triggers did: the events that started, stopped,
cancelled and paused a clock, and the messages that did not stop it.

Every note reads the engine's record of the clock (its start and stop triggers, the
messages it ran through with the triggers each fires, its paused segments) and the
metric's definition as written; none decides whether an event fires a trigger.
The built-in metrics and the metrics defined in YAML get the same notes, worded by
their own settings (``fulfilled_by: agent`` or ``stop: agent_message``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from slaengine.clock_record import ClockRecord
from slaengine.explain_notes import Note, article, at_line
from slaengine.policy.definition import (
    MESSAGE_TRIGGERS,
    PER_GROUP,
    MetricDefinition,
    On,
    Trigger,
)
from slaengine.policy.model import PUBLIC_AGENT
from slaengine.timeline import Event

# What a non-message event changed, in the order tried when no trigger says which part of
# it acted on the clock: the assignment (time to own) first.
_CHANGES: Final = ("assignee", "group", "status", "tag", "field", "priority", "channel")
# Messages a stop trigger can wait for.
_MESSAGE_ONS: Final = frozenset({*MESSAGE_TRIGGERS, On.CUSTOMER_MESSAGE})
# The triggers a bot message fires when bot replies count as agent replies.
_AGENT_ONS: Final = frozenset({On.AGENT_REPLY, On.AGENT_MESSAGE})


def _attribute_text(event: Event, attribute: str) -> str | None:
    """What ``event`` did to ``attribute``, or ``None`` when it left it alone."""
    created = event.type == "created"
    if attribute == "assignee" and event.assignee is not None:
        return f"the assignment to {event.assignee}"
    if attribute == "group" and event.group is not None:
        return f"group {event.group}" if created else f"the move to group {event.group}"
    if attribute == "status" and event.status is not None and not created:
        return f"the status change to {event.status}"
    if attribute == "tag" and event.tags is not None:
        return f"the tags {', '.join(event.tags) or '(none)'}"
    if attribute == "field" and event.fields:
        return "the change of " + ", ".join(f"field {name}" for name in event.fields)
    if attribute == "priority" and event.priority is not None and not created:
        return f"the priority change to {event.priority}"
    if attribute == "channel" and event.channel is not None and not created:
        return f"the channel change to {event.channel}"
    return None


def change_text(event: Event, triggers: Sequence[Trigger] = ()) -> str:
    """What a non-message event that acted on a clock changed: first what ``triggers``
    look at (the recorded trigger, so a stop on the group names the group even when the
    same update assigned the ticket), then the assignment, the group, the status, tags,
    fields."""
    wanted = [t.condition.attribute for t in triggers if t.condition is not None]
    if any(t.on == On.ASSIGNED for t in triggers):
        wanted.append("assignee")
    for attribute in (*wanted, *_CHANGES):
        text = _attribute_text(event, attribute)
        if text is not None:
            return text
    return f"the {event.type} event"


def event_text(event: Event, triggers: Sequence[Trigger] = ()) -> str:
    """An event that started or stopped a clock, as in "fulfilled by ...": a message by its
    author, any other event by what it changed (what ``triggers`` look at first)."""
    if event.type != "message":
        at_creation = " at creation" if event.type == "created" else ""
        return f"{change_text(event, triggers)}{at_creation}"
    author = event.author or "agent"
    noun = "message" if author in ("system", "customer") else "reply"
    if not event.public:
        noun = "internal note"
    if event.agent:
        return f"{event.agent}'s {noun}"
    return f"{article(author)} {author} {noun}"


def _literal(text: str) -> str:
    """``text`` placed in a note's format string: its braces stay braces."""
    return text.replace("{", "{{").replace("}", "}}")


def _triggers_text(triggers: Sequence[Trigger]) -> str:
    return ", ".join(t.text for t in triggers)


def message_notes(definition: MetricDefinition, record: ClockRecord) -> list[Note]:
    """Messages the clock ran through that did not stop it, and why: for a metric that
    stops on a message (or an assignment), each message its stop does not wait for."""
    wanted = frozenset(t.on for t in definition.fulfil if t.on is not None)
    messages = wanted & _MESSAGE_ONS
    if not messages and On.ASSIGNED not in wanted:
        return []  # the metric stops on no message: messages are beside the point
    if definition.builtin:
        rule = f"fulfilled_by: {definition.fulfilled_by}"
        subject = "the metric"
    else:
        rule = _literal(f"stop: {_triggers_text(definition.fulfil)}")
        subject = _literal(definition.name)
    notes: list[Note] = []
    for passed in record.passed:
        event = passed.event
        author = event.author or "agent"
        if author == "customer" and On.CUSTOMER_MESSAGE not in messages:
            continue  # a customer message is never a reply
        if passed.fires & messages:
            continue  # it fires the stop, yet the clock ran on: a rule note says why
        where = f"at {{0}}{at_line(event.line)}"
        if not messages:
            kind = "internal note" if not event.public else "message"
            code, text = "message_ignored", f"{author} {kind} {where} does not count: "
            text += f"{subject} has {rule}"
        elif author == "bot" and (
            (event.public and On.AGENT_REPLY in messages) or On.AGENT_MESSAGE in messages
        ):
            code = "bot_ignored"
            text = f"bot message {where} does not count: the policy has bot_replies_count: false"
        elif not event.public:
            plain = definition.builtin and definition.fulfilled_by == PUBLIC_AGENT
            code = "internal_note_ignored"
            text = f"internal note {where} does not count as a reply"
            text += "" if plain else f" ({rule})"
        else:
            code = "system_ignored" if author == "system" else "message_ignored"
            text = f"{author} message {where} does not count: {subject} has {rule}"
        notes.append(Note(code, text, (event.at,)))
    return notes


def start_note(
    definition: MetricDefinition, record: ClockRecord, instance: int, group: str | None
) -> list[Note]:
    """What started an instance of a defined metric that repeats (or counts per group):
    the start trigger the engine recorded at its start event."""
    if definition.builtin or not (definition.repeat or definition.per == PER_GROUP):
        return []
    event, trigger = record.start_event, record.start_trigger
    if event is None:
        return []
    name = _literal(definition.name)
    if definition.per == PER_GROUP and group is not None:
        text = (
            f"{name} #{instance} started at {{0}}{at_line(event.line)} when group "
            f"{_literal(group)} took the ticket (per: group: one instance per group's turn)"
        )
        return [Note("started_by", text, (event.at,))]
    if trigger is None:
        return []
    what = "the ticket's creation" if trigger.on == On.CREATED else event_text(event, (trigger,))
    text = (
        f"{name} #{instance} started at {{0}}{at_line(event.line)} by {_literal(what)}: "
        f"start: {_literal(trigger.text)} happened (repeat: true starts an instance each "
        "time, when none is running)"
    )
    return [Note("started_by", text, (event.at,))]


def counts_from_note(record: ClockRecord) -> list[Note]:
    """That a later start moved the count (``counts_from: latest_customer_message``), worded
    by the start trigger the engine recorded at the event first counted from: "the
    customer also wrote" for a customer message, else what fired which trigger."""
    moved, trigger = record.moved_from, record.moved_trigger
    if moved is None:
        return []
    rule = "with counts_from: latest_customer_message the clock counts from the latest"
    if moved.type == "message" and moved.author == "customer":
        text = f"the customer also wrote at {{0}}{at_line(moved.line)}; {rule} message"
    else:
        what = _literal(event_text(moved, () if trigger is None else (trigger,)))
        fired = "" if trigger is None else _literal(f" fired start: {trigger.text}")
        text = f"{what} at {{0}}{at_line(moved.line)}{fired} and a later one did too; {rule} start"
    return [Note("counts_from_latest", text, (moved.at,))]


def stop_note(definition: MetricDefinition, record: ClockRecord, cancelled: bool) -> list[Note]:
    """Which ``cancel`` trigger of a defined metric cancelled it, or which of its several
    ``stop`` triggers met it, as recorded."""
    event, trigger = record.stop_event, record.stop_trigger
    if definition.builtin or event is None or trigger is None:
        return []
    word, code = ("cancel", "cancelled_by") if cancelled else ("stop", "stopped_by")
    listed = definition.cancel if cancelled else definition.fulfil
    if not cancelled and len(listed) < 2:
        return []  # the stop line says it all: the metric has one way to be met
    what = event_text(event, (trigger,))
    text = f"{_literal(what)} at {{0}}{at_line(event.line)} fired {word}: "
    text += _literal(trigger.text)
    if len(listed) > 1:
        text += _literal(f" (of {word}: {_triggers_text(listed)})")
    if cancelled:
        text += ", so the clock was cancelled, not met"
    return [Note(code, text, (event.at,))]


def pause_notes(definition: MetricDefinition, record: ClockRecord, running: bool) -> list[Note]:
    """Each stretch a pause condition (a tag, group or field) paused the clock, with the
    event that began it, as the engine's segments record it."""
    notes: list[Note] = []
    for first, end, last in record.condition_pauses():
        condition = _literal(first.condition or "")
        event = first.event
        # The update that set the condition; a status change that ended a status pause
        # while the condition held did not.
        set_by = event is not None and event.type in ("update", "created")
        began = f"{at_line(event.line)}" if set_by and event is not None else ""
        if last and running:
            text = f"paused from {{0}}{began} while {condition} holds"
            instants: tuple[int, ...] = (first.start,)
        else:
            text = f"paused from {{0}}{began} to {{1}} while {condition} held"
            instants = (first.start, end)
        text += f": a pause condition of {_literal(definition.name)}"
        notes.append(Note("paused_by_condition", text, instants))
    return notes


__all__ = [
    "change_text",
    "counts_from_note",
    "event_text",
    "message_notes",
    "pause_notes",
    "start_note",
    "stop_note",
]
