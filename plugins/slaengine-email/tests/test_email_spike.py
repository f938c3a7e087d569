"""A spike alert by e-mail: the channel and its volume, no ticket and no ticket link."""

from __future__ import annotations

from slaengine_email.config import Server, Target
from slaengine_email.message import build

from slaengine.notifications import SPIKE, Notification

SPIKE_ALERT = Notification(
    kind=SPIKE,
    ticket="",
    policy="social-surge",
    metric="customer_messages",
    instance=1764583200,
    level=0,
    at=1764583200,
    due=None,
    priority="",
    notify=("social-lead",),
    channel="whatsapp",
    count=120,
    expected=9.5,
)


def test_a_spike_mail_is_about_the_channel():
    server = Server(
        "127.0.0.1",
        25,
        "none",
        "sla@example.com",
        "example.com",
        ticket_url="https://helpdesk.example.com/tickets/{ticket}",
    )
    target = Target(name="social-lead", to=("lead@example.com",))
    message = build(SPIKE_ALERT, target, server, SPIKE_ALERT.at)
    subject = str(message["Subject"])
    assert "whatsapp: 120 customer messages in the window" in subject
    assert "about 9.5 expected" in subject
    text = message.get_body(("plain",)).get_content()
    assert "Count in the window:" in text
    assert "helpdesk.example.com" not in text  # a spike has no ticket to link to
    assert "ticket ," not in subject
