"""The live engine inside the helpdesk: status equals evaluate, breaches write back once."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from django.core import mail
from django.core.exceptions import ObjectDoesNotExist
from django.core.management import call_command
from helpdesk.models import FollowUp, Ticket
from slaengine_django_helpdesk import engine
from slaengine_django_helpdesk.actions import perform
from slaengine_django_helpdesk.models import SlaAction, SlaEvent

import slaengine
from slaengine.live import LiveEngine
from slaengine.notifications import Notification, ticket_status

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


def advance(at: dt.datetime) -> str:
    """Run the advance command at ``at``; its one-line report."""
    out = io.StringIO()
    call_command("slaengine_advance", at=at.isoformat(), stdout=out)
    return out.getvalue()


def evaluated(ticket: Any, at: dt.datetime) -> dict[str, Any]:
    """``slaengine.evaluate`` on the events the app recorded for ``ticket``, as a status."""
    policies = engine.runtime().policies
    recorded = [
        slaengine.parse_event(e, status_map=policies.status_map)
        for e in SlaEvent.objects.filter(ticket=ticket)
        .order_by("at", "id")
        .values_list("payload", flat=True)
    ]
    (result,) = slaengine.evaluate(policies, slaengine.build_timelines(recorded), at)
    return ticket_status(result, engine.epoch(at)).to_dict()


def live_status(ticket: Any, at: dt.datetime) -> dict[str, Any]:
    """What the live engine's store says about ``ticket`` at ``at``."""
    with engine.open_store() as store:
        found = LiveEngine(engine.runtime().policies, store).status(str(ticket.pk), at)
    assert found is not None
    return found.to_dict()


def states(status: dict[str, Any]) -> dict[str, str]:
    return {m["metric"]: m["state"] for m in status["metrics"]}


def test_live_status_equals_evaluate_on_the_recorded_events(desk: Any, users: Any) -> None:
    ticket = desk.open(priority=2)
    desk.login(users["agent"])
    desk.update(ticket, comment="On it.", public=True)
    desk.update(ticket, comment="Note to self.")
    desk.hold(ticket)
    at = ticket.created + 3 * H
    assert "ingested" in advance(at)
    expected = evaluated(ticket, at)
    assert live_status(ticket, at) == expected
    assert engine.status(ticket.pk, at).to_dict() == expected
    # A reply within the hour met the first response; the hold pauses the resolution clock.
    assert states(expected) == {"first_response": "achieved", "resolution": "paused"}
    assert expected["policy"] == "desk"
    desk.hold(ticket, hold=False)
    desk.update(ticket, queue=desk.queues["vip"].pk)
    desk.update(ticket, new_status=Ticket.RESOLVED_STATUS)
    desk.update(ticket, new_status=Ticket.REOPENED_STATUS)
    at = ticket.created + 5 * H
    advance(at)
    expected = evaluated(ticket, at)
    assert live_status(ticket, at) == expected
    assert expected["policy"] == "vip-queue"
    # Reopened on the vip queue: resolution runs again, on its 2-hour target, so at 5 h
    # of open time it is over; the first response was met before.
    assert states(expected) == {"first_response": "achieved", "resolution": "breached"}
    resolution = expected["metrics"][-1]
    assert resolution["remaining_seconds"] < -2 * 3600


@pytest.mark.django_db(transaction=True)  # the dispatcher delivers on threads of its own
def test_a_breach_is_written_back_once_however_often_advance_runs(desk: Any, users: Any) -> None:
    ticket = desk.open(priority=3)  # normal: first response due in 2 hours
    assert ticket.assigned_to is None
    breach = ticket.created + 2 * H + dt.timedelta(seconds=5)
    for _ in range(3):
        advance(breach)
    advance(breach + dt.timedelta(minutes=10))
    ticket.refresh_from_db()
    assert ticket.priority == 2  # high
    assert ticket.assigned_to == users["lead"]
    (note,) = FollowUp.objects.filter(ticket=ticket, public=False)
    due = (ticket.created + 2 * H).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert note.comment == (
        f"SLA escalation (level 1): first response of policy 'desk', due {due} (priority normal)."
    )
    assert note.user is None
    (action,) = SlaAction.objects.filter(ticket=ticket)
    assert action.key == f"{ticket.pk}/first_response/1/escalation/1"
    assert action.target == "django-helpdesk"
    assert action.summary == "set priority to high; assign to agent lead; add an internal note"
    assert mail.outbox == [] or all("SLA" not in m.subject for m in mail.outbox)
    # The write-back is itself recorded: the priority and owner change, the internal note.
    recorded = list(SlaEvent.objects.filter(ticket=ticket).values_list("payload", flat=True))
    updates: dict[str, Any] = {}
    for event in recorded:
        if event["type"] == "update":
            updates |= {k: v for k, v in event.items() if k in ("priority", "assignee")}
    assert updates == {"priority": "high", "assignee": "lead"}
    notes = [e for e in recorded if e["type"] == "message"]
    assert [(e["author"], e["public"]) for e in notes] == [("system", False)]


@pytest.mark.django_db(transaction=True)
def test_the_second_escalation_mails_through_django_once(desk: Any, users: Any) -> None:
    ticket = desk.open(priority=3)
    first = ticket.created + 2 * H + dt.timedelta(seconds=5)
    advance(first)
    mail.outbox.clear()  # the helpdesk's own mails about the reassignment
    later = ticket.created + 6 * H  # raised to high: breached at 1 h, level 2 three hours on
    advance(later)
    advance(later + H)
    sla_mails = [m for m in mail.outbox if "SLA escalation" in m.subject]
    assert len(sla_mails) == 1
    (message,) = sla_mails
    assert message.to == ["sla-alerts@example.com", "lead@example.com"]
    # Raised to high, the clock was due at 1 h; level 2 came three hours later.
    assert "first response of policy 'desk'" in message.body
    assert ", 3h 0m late (priority high)." in message.body
    assert message.extra_headers["Message-ID"] == (
        f"<{ticket.pk}.first_response.1.escalation.2.sla-mail@slaengine>"
    )
    action = SlaAction.objects.get(ticket=ticket, target="sla-mail")
    assert action.email_sent is not None


def test_a_held_creation_is_released_after_the_grace(queues: Any, state: Any) -> None:
    ticket = Ticket.objects.create(title="Bare", queue=queues["desk"], priority=3)
    assert SlaEvent.objects.get(ticket=ticket, event_id="created").held
    advance(ticket.created + dt.timedelta(minutes=5))
    created = SlaEvent.objects.get(ticket=ticket, event_id="created")
    assert not created.held
    assert created.payload["author"] == "customer"
    assert live_status(ticket, ticket.created + H)["policy"] == "desk"


def test_the_advance_command_refuses_an_instant_without_offset(db: None) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no UTC offset"):
        call_command("slaengine_advance", at="2025-12-02T10:00:00")


def _escalation(ticket: Any, *actions: dict[str, Any]) -> Notification:
    due = engine.epoch(ticket.created) + 3600
    return Notification.from_dict(
        {"kind": "escalation", "ticket": str(ticket.pk), "policy": "desk",
         "metric": "first_response", "instance": 1, "level": 1,
         "at": dt.datetime.fromtimestamp(due + 600, dt.UTC).isoformat(),
         "due": dt.datetime.fromtimestamp(due, dt.UTC).isoformat(), "priority": "normal",
         "actions": list(actions)}
    )  # fmt: skip


def test_the_performer_moves_queues_and_skips_tags(desk: Any) -> None:
    ticket = desk.open(priority=4)
    notification = _escalation(
        ticket,
        {"type": "assign", "group": "vip"},
        {"type": "add_tag", "value": "sla"},
        {"type": "internal_note", "value": "Call the customer back."},
        {"type": "set_priority", "value": "urgent"},
    )
    perform(notification)
    perform(notification)  # delivered again after a crash: nothing happens twice
    ticket.refresh_from_db()
    assert (ticket.queue.slug, ticket.priority) == ("vip", 1)
    (note,) = FollowUp.objects.filter(ticket=ticket, public=False)
    assert note.comment.endswith(", 10m late (priority normal).\n\nCall the customer back.")


def test_the_performer_refuses_an_unknown_agent(desk: Any) -> None:
    ticket = desk.open()
    with pytest.raises(ObjectDoesNotExist):
        perform(_escalation(ticket, {"type": "assign", "agent": "nobody"}))
    assert not SlaAction.objects.filter(ticket=ticket).exists()  # retried later, in full
    assert not FollowUp.objects.filter(ticket=ticket, public=False).exists()
