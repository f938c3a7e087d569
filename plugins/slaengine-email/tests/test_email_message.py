"""Rendering: subject, plain text, HTML, the link, and the stable Message-ID."""

from __future__ import annotations

from email_support import DUE
from slaengine_email.config import Server, Target
from slaengine_email.message import (
    build,
    message_id,
    span,
    subject,
    text_body,
    ticket_link,
    timing,
)

from slaengine.delivery import printable
from slaengine.notifications import Notification

SERVER = Server(
    "smtp.example.org",
    587,
    "starttls",
    "SLA <sla@example.org>",
    "example.org",
    ticket_url="https://helpdesk.example.org/tickets/{ticket}?m={metric}",
)


def _n(kind: str = "breach", ticket: str = "T-1", at: int = DUE, level: int = 0) -> Notification:
    return Notification(kind, ticket, "gold", "first_response", 1, level, at, DUE, "urgent")


def test_the_plain_text_says_what_promise_which_ticket_due_how_late_priority_and_policy(
    escalation, lead
):
    message = build(escalation, lead, SERVER, DUE + 7300)
    text = message.get_body(("plain",)).get_content()
    assert text.splitlines()[0] == "SLA escalation 1 for ticket T-1001"
    for line in [
        "Promise:    first_response (clock 1) under policy standard-email",
        "Ticket:     T-1001",
        "Due:        2025-12-01 12:00:00 UTC",
        "How late:   overdue by 2 h",
        "Priority:   high",
        "Policy:     standard-email",
        "Link:       https://helpdesk.example.org/tickets/T-1001?m=first_response",
        "Key:        T-1001/first_response/1/escalation/1",
    ]:
        assert line in text.splitlines()
    assert (
        message["Subject"]
        == "[SLA] SLA escalation 1: ticket T-1001, first_response (overdue by 2 h)"
    )
    assert message["To"] == "lead@example.org, Deputy <deputy@example.org>"
    assert message["Cc"] == "ops@example.org"
    assert message["From"] == "SLA <sla@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Slaengine-Key"] == escalation.key


def test_the_html_body_carries_the_same_facts_escaped_with_a_link(lead):
    n = _n(ticket="<b>T&1</b>")
    html = build(n, lead, SERVER, DUE).get_body(("html",)).get_content()
    assert "&lt;b&gt;T&amp;1&lt;/b&gt;" in html
    assert "<b>T&1</b>" not in html
    assert (
        '<a href="https://helpdesk.example.org/tickets/%3Cb%3ET%261%3C%2Fb%3E?m=first_response">'
        in html
    )
    assert "urgent" in html
    assert "gold" in html


def test_the_message_id_is_stable_per_key_and_target():
    first = message_id("T-1/first_response/1/breach/0", "lead", "example.org")
    assert first == message_id("T-1/first_response/1/breach/0", "lead", "example.org")
    assert first != message_id("T-1/first_response/1/breach/0", "manager", "example.org")
    assert first != message_id("T-2/first_response/1/breach/0", "lead", "example.org")
    assert first.startswith("<sla.")
    assert first.endswith("@example.org>")


def test_a_repeat_is_the_same_message_but_for_its_date(lead, escalation):
    one, two = build(escalation, lead, SERVER, DUE), build(escalation, lead, SERVER, DUE + 99)
    assert one["Message-ID"] == two["Message-ID"]
    assert one.get_body(("plain",)).get_content() == two.get_body(("plain",)).get_content()
    assert one["Date"] != two["Date"]


def test_a_ticket_id_with_line_breaks_and_escapes_cannot_forge_headers(lead):
    n = _n(ticket="T-1\r\nBcc: evil@example.com\x1b[2J")
    message = build(n, lead, SERVER, DUE)
    raw = message.as_bytes()
    assert b"\nBcc:" not in raw
    assert "\\x0d\\x0aBcc: evil@example.com\\x1b[2J" in message["Subject"]
    assert "\x1b" not in message.get_body(("plain",)).get_content()


CYRILLIC = "\u0422-\u043a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430-\U0001f680"


def test_a_ticket_id_outside_ascii_is_kept_readable(lead):
    message = build(_n(ticket=CYRILLIC), lead, SERVER, DUE)
    assert CYRILLIC in str(message["Subject"])
    assert f"Ticket:     {CYRILLIC}" in message.get_body(("plain",)).get_content()
    message.as_bytes()  # encodable as a whole


def test_timing_for_each_kind():
    assert timing(_n("warning", at=DUE - 720, level=1)) == "due in 12 min"
    assert timing(_n("breach", at=DUE + 1)) == "overdue by 1 s"
    assert timing(_n("escalation", at=DUE + 90061, level=2)) == "overdue by 1 d 1 h"
    assert timing(_n("achieved", at=DUE - 300)) == "met 5 min before the due time"
    assert span(0) == "0 s"


def test_no_link_without_a_template(lead):
    server = Server("h", 25, "none", "a@example.org", "example.org")
    assert ticket_link(None, _n()) is None
    assert "Link:" not in text_body(_n(), lead.name, None)
    assert "href" not in build(_n(), lead, server, DUE).get_body(("html",)).get_content()


def test_subject_prefix_can_be_empty():
    assert subject(_n(), Target("t", ("a@example.org",), subject_prefix="")).startswith(
        "SLA breach"
    )


def test_printable_leaves_text_and_escapes_controls():
    assert printable("Grüße 🚀 ok") == "Grüße 🚀 ok"
    assert printable("a\nb\x00c\x7f\x85\u2028") == "a\\x0ab\\x00c\\x7f\\x85\\u2028"
