# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""Recording the helpdesk's changes as events: signal receivers and the history replay.

Receivers listen to model saves of tickets and follow-ups (``Ticket.objects.create``,
the REST API and the admin bypass django-helpdesk's own signals) and to those
signals as well; all are connected strongly, and every path is idempotent:
events have stable ids and a change is found by comparing the ticket with the
attributes last recorded (:class:`~.models.SlaTicket`), so the second
``post_save`` django-helpdesk fires per follow-up records nothing new.

A failure while recording is logged and rolled back to a savepoint: it never
breaks the helpdesk's own save, and ``manage.py slaengine_backfill`` repairs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext
from helpdesk.decorators import is_helpdesk_staff
from helpdesk.models import FollowUp, Queue, Ticket
from helpdesk.signals import new_ticket_done, update_ticket_done

from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.mapping import (
    Snapshot,
    author_of,
    change_events,
    created_event,
    message_event,
    priority_of,
    status_of,
)
from slaengine_django_helpdesk.models import SlaEvent, SlaTicket

_log = structlog.get_logger("slaengine.django_helpdesk")
_UNASSIGNED = ("", "None", "Unassigned")


# -- receivers -------------------------------------------------------------------------


def connect() -> None:
    """Connect the receivers (strongly: a weak reference to a function can vanish)."""
    post_save.connect(_ticket_saved, sender=Ticket, weak=False, dispatch_uid="slaengine-ticket")
    post_save.connect(
        _followup_saved, sender=FollowUp, weak=False, dispatch_uid="slaengine-followup"
    )
    new_ticket_done.connect(_new_ticket_done, weak=False, dispatch_uid="slaengine-new-ticket")
    update_ticket_done.connect(_update_done, weak=False, dispatch_uid="slaengine-update")


def _ticket_saved(sender: Any, instance: Ticket, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # fixtures load rows as they are: nothing happened to the ticket
        _guarded("ticket", instance.pk, record_ticket, instance)


def _followup_saved(sender: Any, instance: FollowUp, raw: bool = False, **kwargs: Any) -> None:
    if not raw:
        _guarded("followup", instance.pk, record_followup, instance)


def _new_ticket_done(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    _guarded("ticket", ticket.pk, record_ticket, ticket)


def _update_done(sender: Any, followup: FollowUp, **kwargs: Any) -> None:
    _guarded("followup", followup.pk, record_followup, followup)


def _guarded(what: str, pk: Any, record: Callable[[Any], object], instance: Any) -> None:
    try:
        with transaction.atomic():  # a savepoint: the helpdesk's own change stays
            record(instance)
    except Exception as exc:  # recording must never break the helpdesk's save
        _log.error("recording an SLA event failed", object=what, pk=pk, error=repr(exc))
        return
    ticket_id = instance.pk if what == "ticket" else instance.ticket_id
    from slaengine_django_helpdesk.engine import summarize

    try:
        with transaction.atomic():
            summarize(ticket_id, timezone.now())
    except Exception as exc:  # a policy problem must not undo the recorded events
        _log.error("refreshing the SLA summary failed", ticket=ticket_id, error=repr(exc))


# -- recording -------------------------------------------------------------------------


def record_ticket(ticket: Ticket) -> list[dict[str, Any]]:
    """Record what changed on ``ticket`` since it was last recorded; the new events."""
    settings = conf.load()
    sla = SlaTicket.objects.select_for_update().filter(pk=ticket.pk).first()
    if sla is None:
        return replay(ticket, settings)
    after = snapshot_of(ticket, settings)
    events = change_events(
        str(ticket.pk), _recorded(sla), after, ticket.modified or timezone.now(), sla.changes + 1
    )
    if events:
        sla.changes += 1
        _remember(sla, after)
        sla.save()
        _store(ticket, events)
    return events


def record_followup(followup: FollowUp) -> list[dict[str, Any]]:
    """Record a follow-up: the opening one settles who opened the ticket, text is a message."""
    settings = conf.load()
    ticket = followup.ticket
    sla = SlaTicket.objects.select_for_update().filter(pk=ticket.pk).first()
    if sla is None:
        return replay(ticket, settings)
    if followup.pk == sla.opening_followup:
        return []
    if sla.opening_followup is None and _is_opening(followup, ticket, settings):
        sla.opening_followup = followup.pk
        sla.save(update_fields=["opening_followup"])
        _settle_created(ticket, followup, settings)
        return []
    event = _message(followup)
    if event is None:
        return []
    return _store(ticket, [event])


def snapshot_of(ticket: Ticket, settings: conf.Settings) -> Snapshot:
    """The ticket's current attributes as slaengine names them."""
    assignee = ticket.assigned_to.get_username() if ticket.assigned_to_id else ""
    return Snapshot(
        status_of(ticket.status, ticket.on_hold, settings),
        priority_of(ticket.priority, settings),
        ticket.queue.slug,
        assignee,
    )


def _recorded(sla: SlaTicket) -> Snapshot:
    return Snapshot(sla.status, sla.priority, sla.group, sla.assignee)


def _remember(sla: SlaTicket, snapshot: Snapshot) -> None:
    sla.status = snapshot.status
    sla.priority = snapshot.priority
    sla.group = snapshot.group
    sla.assignee = snapshot.assignee


def _store(
    ticket: Ticket, events: Iterable[dict[str, Any]], held: bool = False
) -> list[dict[str, Any]]:
    stored = []
    for event in events:
        _, created = SlaEvent.objects.get_or_create(
            ticket=ticket,
            event_id=event["id"],
            defaults={"at": dt.datetime.fromisoformat(event["at"]), "payload": event, "held": held},
        )
        if created:
            stored.append(event)
    return stored


def _text(followup: FollowUp) -> bool:
    return bool((followup.comment or "").strip())


def _public(followup: FollowUp) -> bool:
    # The update view assigns the posted text ("1") before saving; read it as the field does.
    return bool(FollowUp._meta.get_field("public").to_python(followup.public))


def _author(followup: FollowUp) -> str:
    user = followup.user
    return author_of(
        public=_public(followup),
        from_submitter=followup.is_from_submitter,
        staff=user is not None and is_helpdesk_staff(user),
        has_user=user is not None,
    )


def _message(followup: FollowUp) -> dict[str, Any] | None:
    # Hold, status and assignment follow-ups carry no text: they are changes, not messages.
    if not _text(followup):
        return None
    author = _author(followup)
    agent = followup.user.get_username() if followup.user is not None else None
    return message_event(
        str(followup.ticket_id),
        followup.pk,
        followup.date,
        author=author,
        public=_public(followup),
        agent=agent,
    )


def _is_opening(followup: FollowUp, ticket: Ticket, settings: conf.Settings) -> bool:
    """The follow-up django-helpdesk writes with a new ticket, holding its body.

    Its first follow-up, written within ``OPENING_GRACE`` of the ticket, with the
    ticket's description as its text, or (an e-mail that opened the ticket, whose
    full text may quote more than the description) with a message id. It is part
    of creation: a staff member opening a ticket has not replied to it.
    """
    if FollowUp.objects.filter(ticket=ticket, pk__lt=followup.pk).exists():
        return False
    if followup.date - ticket.created > dt.timedelta(seconds=settings.opening_grace):
        return False
    if followup.message_id:
        return True
    return (followup.comment or "").strip() == (ticket.description or "").strip()


def _channel(ticket: Ticket, opening: FollowUp | None, settings: conf.Settings) -> str:
    if opening is not None and opening.message_id:
        return settings.email_channel
    return settings.channels.get(ticket.queue.slug, settings.channel)


def _settle_created(ticket: Ticket, opening: FollowUp, settings: conf.Settings) -> None:
    """Say who opened the ticket on its held ``created`` event, and release it."""
    event = SlaEvent.objects.filter(ticket=ticket, event_id="created").first()
    if event is None or not event.held or event.ingested:
        return
    event.payload = {
        **event.payload,
        "author": _author(opening),
        "channel": _channel(ticket, opening, settings),
    }
    event.held = False
    event.save(update_fields=["payload", "held"])


# -- history -----------------------------------------------------------------------------


def _label(field: str, english: str) -> bool:
    # Change records hold translated labels of the language active when they were made.
    return field in (english, gettext(english))


def _owner(value: str | None) -> str:
    text = (value or "").strip()
    return "" if text in _UNASSIGNED or text == gettext("Unassigned") else text


def _queue_slug(value: str | None, fallback: str) -> str:
    try:
        queue = Queue.objects.filter(pk=int(value or "")).first()
    except ValueError:
        return fallback
    return queue.slug if queue is not None else fallback


class _Working:
    """A ticket's attributes while its history is replayed, in helpdesk terms."""

    def __init__(self, ticket: Ticket, followups: list[FollowUp]) -> None:
        changes = [c for f in followups for c in f.ticketchange_set.all().order_by("id")]

        def first_old(english: str) -> str | None:
            found = [c.old_value for c in changes if _label(c.field, english)]
            return found[0] if found else None

        priority = first_old("Priority")
        self.priority = int(priority) if priority and priority.isdigit() else ticket.priority
        self.queue = _queue_slug(first_old("Queue"), ticket.queue.slug)
        owner = first_old("Owner")
        current = ticket.assigned_to.get_username() if ticket.assigned_to_id else ""
        self.assignee = current if owner is None else _owner(owner)
        hold = first_old("On Hold")
        self.on_hold = ticket.on_hold if hold is None else hold == "True"
        statuses = [f.new_status for f in followups if f.new_status is not None]
        self.status = Ticket.OPEN_STATUS if statuses else ticket.status

    def apply(self, followup: FollowUp) -> None:
        if followup.new_status is not None:
            self.status = followup.new_status
        for change in followup.ticketchange_set.all().order_by("id"):
            if _label(change.field, "Priority") and (change.new_value or "").isdigit():
                self.priority = int(change.new_value)
            elif _label(change.field, "Queue"):
                self.queue = _queue_slug(change.new_value, self.queue)
            elif _label(change.field, "Owner"):
                self.assignee = _owner(change.new_value)
            elif _label(change.field, "On Hold"):
                self.on_hold = change.new_value == "True"

    def snapshot(self, settings: conf.Settings) -> Snapshot:
        return Snapshot(
            status_of(self.status, self.on_hold, settings),
            priority_of(self.priority, settings),
            self.queue,
            self.assignee,
        )


def replay(
    ticket: Ticket, settings: conf.Settings, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Record a ticket the app has not seen: its creation, follow-ups and changes so far.

    Status history comes from the follow-ups' numeric ``new_status``; priority,
    queue, owner and hold from the change records. Whatever the history does
    not explain is recorded as one last change at the ticket's ``modified``.
    """
    now = now or timezone.now()
    ticket_id = str(ticket.pk)
    followups = list(ticket.followup_set.all().order_by("date", "id"))
    opening = followups[0] if followups and _is_opening(followups[0], ticket, settings) else None
    working = _Working(ticket, followups)
    state = working.snapshot(settings)
    if opening is not None:
        author: str | None = _author(opening)
    elif now - ticket.created > dt.timedelta(seconds=settings.opening_grace):
        author = settings.opened_by
    else:
        author = None  # a new ticket: its opening follow-up is about to be saved
    events = [
        created_event(
            ticket_id,
            ticket.created,
            state,
            channel=_channel(ticket, opening, settings),
            customer=ticket.submitter_email,
            author=author,
        )
    ]
    number = 0
    for followup in followups:
        if followup is not opening:
            message = _message(followup)
            if message is not None:
                events.append(message)
        working.apply(followup)
        after = working.snapshot(settings)
        found = change_events(ticket_id, state, after, followup.date, number + 1)
        if found:
            number += 1
            events.extend(found)
            state = after
    current = snapshot_of(ticket, settings)
    found = change_events(ticket_id, state, current, ticket.modified or now, number + 1)
    if found:
        number += 1
        events.extend(found)
    sla = SlaTicket(ticket=ticket, changes=number, opening_followup=opening and opening.pk)
    _remember(sla, current)
    sla.save()
    stored = _store(ticket, events[:1], held=author is None)
    return stored + _store(ticket, events[1:])


__all__ = ["connect", "record_followup", "record_ticket", "replay", "snapshot_of"]
