"""A site that installs the app mid-life: backfilled clocks equal clocks recorded live."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

pytest.importorskip("helpdesk")
pytest.importorskip("pytest_django")

from django.core.management import call_command
from helpdesk.models import FollowUp, Ticket
from slaengine_django_helpdesk import engine
from slaengine_django_helpdesk.models import SlaEvent, SlaTicket

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


def backfill() -> str:
    out = io.StringIO()
    call_command("slaengine_backfill", stdout=out)
    return out.getvalue()


def clocks(ticket: Any, at: dt.datetime) -> list[tuple[str, int, str, int, int]]:
    status = engine.status(ticket.pk, at)
    assert status is not None
    return [(m.metric, m.instance, m.state, m.due or 0, m.remaining) for m in status.metrics]


def close(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    # Replayed changes carry the follow-up's instant, live ones the ticket save a few
    # milliseconds later: the two may fall on either side of a second.
    return len(a) == len(b) and all(
        x[:3] == y[:3] and abs(x[3] - y[3]) <= 1 and abs(x[4] - y[4]) <= 1
        for x, y in zip(a, b, strict=True)
    )


def _history(desk: Any, users: Any) -> list[Any]:
    customer = desk.open(priority=2)
    desk.login(users["agent"])
    staff = desk.open(priority=3, title="Staff opened", assigned_to=users["agent"])
    desk.update(customer, comment="Hello", public=True)
    FollowUp.objects.create(
        ticket=customer, comment="Still broken", public=True, user=users["carla"]
    )
    desk.update(customer, comment="Internal", public=False)
    desk.hold(customer)
    desk.hold(customer, hold=False)
    desk.update(customer, priority=1)
    desk.update(customer, queue=desk.queues["vip"].pk, owner=users["lead"].pk)
    desk.update(customer, new_status=Ticket.RESOLVED_STATUS, comment="Done", public=True)
    desk.update(customer, new_status=Ticket.REOPENED_STATUS)
    desk.hold(staff)
    return [customer, staff]


def test_backfill_gives_the_clocks_live_recording_gave(desk: Any, users: Any) -> None:
    tickets = _history(desk, users)
    at = max(t.created for t in tickets) + 3 * H
    live = {t.pk: clocks(t, at) for t in tickets}
    live_events = {t.pk: SlaEvent.objects.filter(ticket=t).count() for t in tickets}
    SlaEvent.objects.all().delete()  # as if the app had just been installed
    SlaTicket.objects.all().delete()
    assert "replayed 2 tickets, reconciled 0; recorded " in backfill()
    for ticket in tickets:
        assert close(clocks(ticket, at), live[ticket.pk]), (clocks(ticket, at), live[ticket.pk])
        assert SlaEvent.objects.filter(ticket=ticket).count() <= live_events[ticket.pk]
    staff_created = SlaEvent.objects.get(ticket=tickets[1], event_id="created").payload
    assert staff_created["author"] == "agent"
    assert backfill() == "replayed 0 tickets, reconciled 0; recorded 0 events\n"  # idempotent


def test_backfill_records_a_change_no_signal_announced(desk: Any) -> None:
    ticket = desk.open(priority=3)
    Ticket.objects.filter(pk=ticket.pk).update(priority=1)  # a bulk update: no post_save
    assert backfill() == "replayed 0 tickets, reconciled 1; recorded 1 event\n"
    (update,) = [e for e in engine.recorded_events(ticket.pk) if e["type"] == "update"]
    assert update["priority"] == "urgent"


def test_a_ticket_saved_before_the_backfill_gets_its_history(desk: Any, users: Any) -> None:
    tickets = _history(desk, users)
    at = max(t.created for t in tickets) + 3 * H
    live = clocks(tickets[0], at)
    SlaEvent.objects.all().delete()
    SlaTicket.objects.all().delete()
    tickets[0].save()  # the first save after installing: its whole history is replayed
    assert close(clocks(tickets[0], at), live)
