"""Why a ticket's SLA clocks are where they are: a pure explanation of one evaluation.

``explain_ticket(policies, timeline, now)`` evaluates the ticket with the engine's
record of every clock (``segments=True``) and adds what a person needs to follow it:
which policy matched and why (and why the earlier ones did not), the calendars, and
for every clock instance its segments (running, paused, closed, stopped), whose
running time adds up to the clock's elapsed business time. The clock rules are the
engine's alone: this package only reads their record. No I/O, no wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from slaengine.agreements import Attachment
from slaengine.clock_walk import Exemption
from slaengine.clocks import ClockResult
from slaengine.engine import evaluate_timeline
from slaengine.explain_calendar import CalendarInfo, calendar_info
from slaengine.explain_clock import (
    CLOSED,
    PAUSED,
    RUNNING,
    SEGMENT_KINDS,
    STOPPED,
    ClockExplanation,
    PriorityChange,
    Segment,
    explain_clock,
)
from slaengine.explain_notes import Note, article, at_line
from slaengine.explain_selection import (
    AttributeChange,
    PolicyCheck,
    SelectionChange,
    attribute_changes,
    attributes,
    check_policies,
    held_conditions,
    selection_history,
)
from slaengine.metric_names import BUILTIN_METRICS, definition_name, labels_of, metric_words
from slaengine.policy.model import MetricPolicy, Policy, PolicySet
from slaengine.timeline import Event, TicketState, Timeline


@dataclass(frozen=True, slots=True)
class EventUse:
    """One of the ticket's events, and whether the evaluation used it."""

    event: Event
    used: bool  # False: after the evaluation instant, ignored
    summary: str


@dataclass(frozen=True, slots=True)
class AgreementAttachment:
    """An internal agreement attached to the ticket: when, and at which event's line; with
    ``on_unmatch: detach`` also when it detached (``None``: still attached) and why."""

    name: str
    kind: str
    starts: str
    at: int
    line: int
    conditions: tuple[str, ...]  # its match's conditions, as they held then
    number: int = 1  # its attachments counted from 1 (a re-attachment is 2, 3, ...)
    detached_at: int | None = None
    detached_line: int | None = None
    failed: tuple[str, ...] = ()  # its match's conditions that no longer held then


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything ``slaengine explain`` shows about one ticket at one instant."""

    ticket: str
    now: int
    created: int
    exists: bool  # False when the ticket was created after ``now``
    state: TicketState
    policy: Policy | None
    checks: tuple[PolicyCheck, ...]
    attribute_changes: tuple[AttributeChange, ...]
    selection_history: tuple[SelectionChange, ...]
    calendars: tuple[tuple[str, CalendarInfo], ...]  # (metric, calendar) in policy metric order
    clocks: tuple[ClockExplanation, ...]
    events: tuple[EventUse, ...]
    notes: tuple[Note, ...] = ()  # about the ticket: a metric without a clock, and why
    # The internal agreements attached by then: each with the instant and line it attached.
    agreements: tuple[AgreementAttachment, ...] = ()

    @property
    def matched(self) -> bool:
        """True when a policy applies."""
        return self.policy is not None


def event_summary(event: Event) -> str:
    """One line saying what an event is, for people."""
    kind = event.type
    if kind == "created":
        parts = [f"channel {event.channel}", f"priority {event.priority}"]
        if event.status and event.status != "new":
            parts.append(f"status {event.status}")
        parts += _update_parts(event)
        return "created: " + ", ".join(parts)
    if kind == "message":
        who = event.author or "?"
        if event.agent:
            who += f" {event.agent}"
        visibility = "public" if event.public else "internal note"
        return f"message from {who} ({visibility})"
    if kind == "status":
        return f"status -> {event.status}"
    if kind == "update":
        return "update: " + ", ".join(
            ([f"priority -> {event.priority}"] if event.priority else [])
            + ([f"channel -> {event.channel}"] if event.channel else [])
            + [p.replace(" ", " -> ", 1) for p in _update_parts(event)]
        )
    if kind == "csat":
        return f"csat score {event.score:g}" if event.score is not None else "csat"
    return kind


def _update_parts(event: Event) -> list[str]:
    parts: list[str] = []
    for name in ("group", "assignee", "customer"):
        value = getattr(event, name)
        if value is not None:
            parts.append(f"{name} {value}")
    if event.tags is not None:
        parts.append(f"tags {','.join(event.tags) or '(none)'}")
    if event.fields is not None:
        parts.append("fields " + ",".join(f"{k}={v!r}" for k, v in event.fields.items()))
    return parts


def _metric_policy(policy: Policy, name: str) -> MetricPolicy:
    return next(m for m in policy.metrics if definition_name(m) == name)


def explain_ticket(policies: PolicySet, timeline: Timeline, now: int) -> Explanation:
    """Explain ``timeline``'s ticket at ``now`` (epoch seconds) under ``policies``."""
    all_events = timeline.events
    used = tuple(e for e in all_events if e.at <= now)
    uses = tuple(EventUse(e, e.at <= now, event_summary(e)) for e in all_events)
    created = all_events[0]
    result = evaluate_timeline(policies, timeline, now, segments=True)
    if result is None:
        return Explanation(
            ticket=timeline.ticket,
            now=now,
            created=created.at,
            exists=False,
            state=timeline.state_at(created.at),
            policy=None,
            checks=(),
            attribute_changes=(),
            selection_history=(),
            calendars=(),
            clocks=(),
            events=uses,
        )
    changes = attribute_changes(used)
    clocks: list[ClockExplanation] = []
    calendars: list[tuple[str, CalendarInfo]] = []
    notes: list[Note] = []
    if result.policy is not None:
        for metric in result.policy.metrics:
            calendars.append((definition_name(metric), _calendar(metric, used, result.state)))
    for agreement in result.agreements:
        for metric in agreement.policy.metrics:
            info = replace(_calendar(metric, used, result.state), agreement=agreement.name)
            calendars.append((definition_name(metric), info))
    for clock in result.clocks:
        owner = result.policy_of(clock)
        if owner is not None:
            metric = _metric_policy(owner, clock.metric)
            clocks.append(explain_clock(clock, metric, used, now, owner))
    if result.policy is not None:
        own = [c for c in result.clocks if c.agreement is None]
        notes += _missing_clock_notes(result.policy, own, result.exemptions, now)
    return Explanation(
        ticket=timeline.ticket,
        now=now,
        created=created.at,
        exists=True,
        state=result.state,
        policy=result.policy,
        checks=tuple(check_policies(policies, result.state)),
        attribute_changes=tuple(changes),
        selection_history=tuple(selection_history(policies, timeline, changes)),
        calendars=tuple(calendars),
        clocks=tuple(clocks),
        events=uses,
        notes=tuple(notes),
        agreements=_attachments(result.attachments, used),
    )


def _calendar(metric: MetricPolicy, events: Sequence[Event], state: TicketState) -> CalendarInfo:
    """A metric's calendar, and the calendar map entry that chose it for the ticket."""
    info = calendar_info(metric.calendar)
    choice = metric.calendar_choice
    if choice is None:
        return info
    return replace(info, chosen_by=choice.describe(choice.map.value_of(events, state)))


def _attachments(
    recorded: Sequence[Attachment], events: Sequence[Event]
) -> tuple[AgreementAttachment, ...]:
    """The engine's record of each attachment, with the event lines and conditions."""
    found: list[AgreementAttachment] = []
    for attachment in recorded:
        agreement, match = attachment.agreement, attachment.agreement.policy.match
        detached, left = attachment.detached, attachment.detached_state
        found.append(
            AgreementAttachment(
                agreement.name,
                agreement.kind,
                agreement.starts,
                events[attachment.index].at,
                events[attachment.index].line,
                tuple(text for met, text in match.conditions(attachment.state) if met),
                attachment.number,
                None if detached is None else events[detached].at,
                None if detached is None else events[detached].line,
                () if left is None else tuple(t for met, t in match.conditions(left) if not met),
            )
        )
    return tuple(found)


def _missing_clock_notes(
    policy: Policy,
    clocks: Sequence[ClockResult],
    exemptions: Sequence[Exemption],
    now: int,
) -> list[Note]:
    """Why a metric of the policy has no clock when a clock rule is the reason (the
    engine's record of the exemption); and that a user-defined metric of the policy has
    none (its start did not happen)."""
    notes: list[Note] = []
    started = {clock.metric for clock in clocks} | {e.metric for e in exemptions}
    for metric in policy.metrics:
        name = definition_name(metric)
        if name in BUILTIN_METRICS or name in started:
            continue
        words = metric_words(name, labels_of([policy])).replace("{", "{{").replace("}", "}}")
        shown = name.replace("{", "{{").replace("}", "}}")
        notes.append(
            Note(
                "not_started",
                f"no {shown} clock ({words}): what starts the metric has not happened by {{0}}",
                (now,),
            )
        )
    for exemption in exemptions:
        opener = exemption.event
        if opener.type == "created":
            why = f"its created event names the author {opener.author}"
        else:
            who = (
                f"{opener.author} {opener.agent}"
                if opener.agent
                else f"{article(opener.author or 'a')} {opener.author}"
            )
            why = f"its first public message is from {who} at {{0}}"
        shown = exemption.metric.replace("{", "{{").replace("}", "}}")
        notes.append(
            Note(
                exemption.rule,
                f"no {shown} clock: the ticket was opened by staff and the metric has "
                f"staff_created: exempt; {why}{at_line(opener.line)}",
                (opener.at,),
            )
        )
    return notes


__all__ = [
    "CLOSED",
    "PAUSED",
    "RUNNING",
    "SEGMENT_KINDS",
    "STOPPED",
    "AgreementAttachment",
    "AttributeChange",
    "CalendarInfo",
    "ClockExplanation",
    "EventUse",
    "Explanation",
    "Note",
    "PolicyCheck",
    "PriorityChange",
    "Segment",
    "SelectionChange",
    "attributes",
    "calendar_info",
    "check_policies",
    "event_summary",
    "explain_clock",
    "explain_ticket",
    "held_conditions",
]
