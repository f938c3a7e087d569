"""The helpdesk's own code paths record the right canonical events, once each."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from helpdesk.models import FollowUp, Queue, Ticket
from slaengine_django_helpdesk.models import SlaEvent, SlaTicket

pytestmark = pytest.mark.django_db


def events(ticket: Any) -> list[dict[str, Any]]:
    """The recorded events of ``ticket`` without id, ticket and instant, in order."""
    found = []
    for event in SlaEvent.objects.filter(ticket=ticket).order_by("at", "id"):
        payload = dict(event.payload)
        assert payload.pop("ticket") == str(ticket.pk)
        payload.pop("at")
        found.append(payload)
    return found


def test_a_customer_ticket_from_the_public_form_is_created_by_the_customer(desk: Any) -> None:
    ticket = desk.open()
    assert events(ticket) == [
        {"id": "created", "type": "created", "channel": "web", "priority": "normal",
         "group": "desk", "customer": "carla@example.com", "author": "customer"},
    ]  # fmt: skip
    assert not SlaEvent.objects.get(ticket=ticket, event_id="created").held


def test_a_staff_ticket_opening_follow_up_is_creation_not_a_reply(desk: Any, users: Any) -> None:
    desk.login(users["agent"])
    ticket = desk.open(priority=2, assigned_to=users["agent"])
    opening = FollowUp.objects.get(ticket=ticket)
    assert opening.public  # the helpdesk's own fact: a public staff follow-up
    assert opening.user == users["agent"]
    assert events(ticket) == [
        {"id": "created", "type": "created", "channel": "web", "priority": "high",
         "group": "desk", "assignee": "agent", "customer": "carla@example.com",
         "author": "agent"},
    ]  # fmt: skip
    assert SlaTicket.objects.get(pk=ticket.pk).opening_followup == opening.pk


def test_replies_notes_hold_resolve_reopen_priority_and_queue(desk: Any, users: Any) -> None:
    ticket = desk.open()
    desk.login(users["agent"])
    desk.update(ticket, comment="Looking into it.", public=True)
    desk.update(ticket, comment="Internal: call the vendor.")
    desk.hold(ticket)
    desk.hold(ticket, hold=False)
    desk.update(ticket, priority=1)
    desk.update(ticket, queue=desk.queues["vip"].pk)
    desk.update(ticket, owner=users["lead"].pk)
    desk.update(ticket, comment="Fixed.", public=True, new_status=Ticket.RESOLVED_STATUS)
    desk.update(ticket, new_status=Ticket.REOPENED_STATUS)
    desk.update(ticket, new_status=Ticket.CLOSED_STATUS)
    public, internal, *_, fixed = FollowUp.objects.filter(ticket=ticket).exclude(comment="")[1:]
    assert [e for e in events(ticket) if e["type"] != "created"] == [
        {"id": f"followup-{public.pk}", "type": "message", "author": "agent", "public": True,
         "agent": "agent"},
        {"id": f"followup-{internal.pk}", "type": "message", "author": "agent",
         "public": False, "agent": "agent"},
        {"id": "change-1-status", "type": "status", "status": "on_hold"},
        {"id": "change-2-status", "type": "status", "status": "open"},
        {"id": "change-3-update", "type": "update", "priority": "urgent"},
        {"id": "change-4-update", "type": "update", "group": "vip"},
        {"id": "change-5-update", "type": "update", "assignee": "lead"},
        {"id": f"followup-{fixed.pk}", "type": "message", "author": "agent", "public": True,
         "agent": "agent"},
        {"id": "change-6-status", "type": "status", "status": "solved"},
        {"id": "change-7-status", "type": "status", "status": "open"},
        {"id": "change-8-status", "type": "status", "status": "closed"},
    ]  # fmt: skip


def test_hold_on_a_resolved_ticket_keeps_it_solved(desk: Any, users: Any) -> None:
    ticket = desk.open()
    desk.login(users["agent"])
    desk.update(ticket, new_status=Ticket.RESOLVED_STATUS)
    desk.hold(ticket)
    assert [e.get("status") for e in events(ticket)[1:]] == ["solved"]


def test_saves_that_bypass_the_helpdesk_signals_are_recorded(queues: Any, users: Any,
                                                            state: Any) -> None:  # fmt: skip
    ticket = Ticket.objects.create(title="API", queue=queues["desk"], priority=4,
                                   submitter_email="x@example.com")  # fmt: skip
    # Not the opening follow-up: its text is not the ticket's description.
    FollowUp.objects.create(ticket=ticket, comment="Any news?", public=True, user=users["carla"])
    ticket.priority = 2
    ticket.assigned_to = users["agent"]
    ticket.save()
    ticket.save()  # a second save changes nothing: nothing new is recorded
    kinds = [(e["type"], e.get("author"), e.get("priority")) for e in events(ticket)]
    assert kinds == [("created", None, "low"), ("message", "customer", None),
                     ("update", None, "high")]  # fmt: skip
    assert SlaEvent.objects.get(ticket=ticket, event_id="created").held


def test_a_ticket_created_through_the_rest_api_is_staff_created(
    client: Any, users: Any, queues: Any, state: Any
) -> None:
    users["agent"].is_superuser = True  # the API wants an admin
    users["agent"].save()
    client.force_login(users["agent"])
    response = client.post(
        "/api/tickets/",
        {"queue": queues["vip"].pk, "title": "From the API", "description": "Body",
         "submitter_email": "api@example.com", "priority": 1},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(title="From the API")
    (created,) = events(ticket)
    assert (created["author"], created["priority"], created["group"]) == ("agent", "urgent", "vip")


def test_the_follow_up_saved_twice_is_one_event(desk: Any, users: Any) -> None:
    ticket = desk.open()
    desk.login(users["agent"])
    desk.update(ticket, comment="Reply", public=True, new_status=Ticket.RESOLVED_STATUS)
    reply = FollowUp.objects.get(ticket=ticket, comment="Reply")
    reply.save()  # a third save, e.g. an edit of the follow-up's title
    assert [e["id"] for e in events(ticket)].count(f"followup-{reply.pk}") == 1


def test_a_failing_recorder_never_breaks_the_helpdesk(desk: Any, users: Any, settings: Any) -> None:
    settings.SLAENGINE = {"POLICIES": []}  # misconfigured: recording raises
    ticket = desk.open()
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert not SlaEvent.objects.filter(ticket=ticket).exists()


def test_queue_slug_maps_to_a_channel(desk: Any) -> None:
    ticket = desk.open(queue="phone-desk")
    assert events(ticket)[0]["channel"] == "phone"
    assert Queue.objects.get(slug="phone-desk") == ticket.queue


def _mail(message_id: str, subject: str, body: str, reply_to: str | None = None) -> str:
    headers = [
        "From: Carla <carla@example.com>",
        "To: desk@x.org",
        f"Subject: {subject}",
        f"Message-Id: {message_id}",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if reply_to:
        headers.append(f"In-Reply-To: {reply_to}")
    return "\r\n".join(headers) + "\r\n\r\n" + body + "\r\n"


def test_a_ticket_opened_by_e_mail_and_a_reply_by_e_mail(queues: Any, state: Any) -> None:
    import logging

    from helpdesk.email import extract_email_metadata

    log = logging.getLogger("tests.helpdesk.email")
    extract_email_metadata(_mail("<m1@example.com>", "Invoice wrong", "Please fix."),
                           queues["desk"], log)  # fmt: skip
    ticket = Ticket.objects.get(title="Invoice wrong")
    extract_email_metadata(
        _mail("<m2@example.com>", f"Re: [desk-{ticket.pk}] Invoice wrong", "Any news?",
              reply_to="<m1@example.com>"),
        queues["desk"], log,
    )  # fmt: skip
    reply = FollowUp.objects.get(ticket=ticket, message_id="<m2@example.com>")
    assert events(ticket) == [
        {"id": "created", "type": "created", "channel": "email", "priority": "normal",
         "group": "desk", "customer": "carla@example.com", "author": "customer"},
        {"id": f"followup-{reply.pk}", "type": "message", "author": "customer", "public": True},
    ]  # fmt: skip


def test_the_submitter_closing_from_the_public_page(desk: Any, users: Any, client: Any) -> None:
    ticket = desk.open()
    desk.login(users["agent"])
    desk.update(ticket, comment="Fixed.", public=True, new_status=Ticket.RESOLVED_STATUS)
    desk.logout()
    response = client.get(
        "/view/",
        {"ticket": ticket.ticket_for_url, "email": ticket.submitter_email,
         "key": ticket.secret_key, "close": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    closing = FollowUp.objects.filter(ticket=ticket).latest("pk")
    assert closing.user is None  # the public page records no user
    assert events(ticket)[-2:] == [
        {"id": f"followup-{closing.pk}", "type": "message", "author": "customer", "public": True},
        {"id": "change-2-status", "type": "status", "status": "closed"},
    ]  # fmt: skip


def test_a_follow_up_through_the_rest_api(desk: Any, users: Any, client: Any) -> None:
    ticket = desk.open()
    users["agent"].is_superuser = True  # the API wants an admin
    users["agent"].save()
    client.force_login(users["agent"])
    response = client.post(
        "/api/followups/",
        {"ticket": ticket.pk, "comment": "Via the API", "public": True, "new_status": 3},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    reply = FollowUp.objects.get(ticket=ticket, comment="Via the API")
    assert events(ticket)[1:] == [
        {"id": f"followup-{reply.pk}", "type": "message", "author": "agent", "public": True,
         "agent": "agent"},
        {"id": "change-1-status", "type": "status", "status": "solved"},
    ]  # fmt: skip
