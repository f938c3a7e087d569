"""The e-mail for a notification (or a digest of several): headers, plain text and HTML.

Pure functions: no I/O, and no clock but the ``Date`` instant handed in. The
same notification to the same target always gives the same ``Message-ID``,
subject and bodies, so a receiver can recognise a repeated delivery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import urllib.parse
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Final

from slaengine.delivery import printable
from slaengine.notifications import (
    ACHIEVEMENT,
    BREACH,
    ESCALATION,
    SPIKE,
    WARNING,
    Notification,
    iso,
)
from slaengine_email.config import Server, Target, address_parts

KEY_HEADER: Final = "X-Slaengine-Key"
TARGET_HEADER: Final = "X-Slaengine-Target"


def message_id(key: str, target: str, domain: str) -> str:
    """``<hash@domain>``: stable per (idempotency key, target), whatever the ticket id holds.

    The target is part of it because each target's message is its own delivery
    (one outbox row), even when two targets share an address.
    """
    digest = hashlib.sha256(f"{target}\n{key}".encode()).hexdigest()[:40]
    return f"<sla.{digest}@{domain}>"


def span(seconds: int) -> str:
    """A wall-clock duration in words: ``2 h 5 min``, ``45 s``, ``3 d 1 h``."""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = [f"{value} {unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0 s"


def title(n: Notification) -> str:
    """``SLA breach``, ``SLA warning 2``, ``SLA escalation 1``, ``SLA achieved``."""
    if n.kind in (WARNING, ESCALATION):
        return f"SLA {n.kind} {n.level}"
    return f"SLA {n.kind}"


def timing(n: Notification) -> str:
    """How late (or how early) the notification's instant is against the due time.

    Wall-clock time between ``at`` and ``due``: the same text on every repeat.
    """
    if n.due is None:
        return "no due time"
    if n.kind == WARNING:
        return f"due in {span(n.due - n.at)}" if n.due > n.at else "due now"
    if n.kind in (BREACH, ESCALATION):
        return f"overdue by {span(n.at - n.due)}" if n.at > n.due else "overdue"
    if n.kind == ACHIEVEMENT:
        return f"met {span(n.due - n.at)} before the due time" if n.due > n.at else "met"
    return ""


def ticket_link(template: str | None, n: Notification) -> str | None:
    """``template`` with ``{ticket}``, ``{policy}``, ``{metric}`` filled in, URL-quoted.

    A spike is about no ticket: it has no link.
    """
    if template is None or n.kind == SPIKE:
        return None
    quote = urllib.parse.quote
    return template.format(
        ticket=quote(n.ticket, safe=""),
        policy=quote(n.policy, safe=""),
        metric=quote(n.metric, safe=""),
    )


def _utc(instant: int | None) -> str:
    text = iso(instant)
    return "-" if text is None else text.replace("T", " ").replace("Z", " UTC")


def _about(n: Notification) -> str:
    # What the notification is about: a ticket, or for a spike a channel's volume.
    if n.kind == SPIKE:
        return f"{n.channel}: {n.count:,} {n.metric.replace('_', ' ')} in the window"
    return f"ticket {n.ticket}"


def fields(n: Notification, target: str, link: str | None) -> list[tuple[str, str]]:
    """The facts of one notification as (label, value) rows, for both bodies."""
    if n.kind == SPIKE:
        spike = [
            ("Channel", n.channel),
            ("What", title(n)),
            ("Measure", n.metric),
            ("Count in the window", f"{n.count:,}"),
            ("Expected", f"{n.expected:.1f}"),
            ("Rule", n.policy),
            ("Found at", _utc(n.at)),
            ("Target", target),
            ("Key", n.key),
        ]
        return [(label, printable(value)) for label, value in spike]
    rows = [
        ("Promise", f"{n.metric_text} (clock {n.instance}) under policy {n.policy or '-'}"),
        ("Ticket", n.ticket),
        ("What", title(n)),
        ("Due", _utc(n.due)),
        ("Reached at", _utc(n.at)),
        ("How late", timing(n)),
        ("Priority", n.priority or "-"),
        ("Policy", n.policy or "-"),
    ]
    if link is not None:
        rows.append(("Link", link))
    rows += [("Target", target), ("Key", n.key)]
    return [(label, printable(value)) for label, value in rows]


def subject(n: Notification, target: Target) -> str:
    """One line: prefix, what happened, the ticket, the metric and how late."""
    text = (
        f"{title(n)}: {_about(n)}, about {n.expected:.1f} expected"
        if n.kind == SPIKE
        else f"{title(n)}: ticket {n.ticket}, {n.metric_text} ({timing(n)})"
    )
    prefix = f"{target.subject_prefix} " if target.subject_prefix else ""
    return prefix + printable(text)


def text_body(n: Notification, target: str, link: str | None) -> str:
    """The plain-text body: a headline and the facts, one per line."""
    rows = fields(n, target, link)
    width = max(len(label) for label, _ in rows) + 1
    lines = [printable(f"{title(n)} for {_about(n)}"), ""]
    lines += [f"{label + ':':<{width}} {value}" for label, value in rows]
    return "\n".join(lines) + "\n"


def _html_rows(rows: Sequence[tuple[str, str]], link: str | None) -> str:
    cells = []
    for label, value in rows:
        shown = html.escape(value)
        if label == "Link" and link is not None:
            shown = f'<a href="{html.escape(link, quote=True)}">{shown}</a>'
        cells.append(
            f'<tr><th align="left" style="padding:2px 12px 2px 0">{html.escape(label)}</th>'
            f"<td>{shown}</td></tr>"
        )
    return "\n".join(cells)


def html_body(n: Notification, target: str, link: str | None) -> str:
    """The HTML body: the same facts as :func:`text_body`, every value escaped."""
    heading = html.escape(printable(f"{title(n)} for {_about(n)}"))
    return (
        '<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n'
        f"<h2>{heading}</h2>\n<table>\n{_html_rows(fields(n, target, link), link)}\n</table>\n"
        "</body></html>\n"
    )


def _envelope(
    target: Target, server: Server, subject_line: str, mid: str, date: int
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = address_parts(server.sender)
    message["To"] = [address_parts(a) for a in target.to]
    if target.cc:
        message["Cc"] = [address_parts(a) for a in target.cc]
    message["Subject"] = subject_line
    message["Date"] = format_datetime(dt.datetime.fromtimestamp(date, dt.UTC))
    message["Message-ID"] = mid
    # RFC 3834: machine-sent, so auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message[TARGET_HEADER] = printable(target.name)
    return message


def build(n: Notification, target: Target, server: Server, date: int) -> EmailMessage:
    """The whole message for one notification; ``date`` (epoch seconds) is its ``Date``."""
    link = ticket_link(server.ticket_url, n)
    message = _envelope(
        target, server, subject(n, target), message_id(n.key, target.name, server.domain), date
    )
    message[KEY_HEADER] = printable(n.key)
    message.set_content(text_body(n, target.name, link))
    message.add_alternative(html_body(n, target.name, link), subtype="html")
    return message


def build_digest(
    notifications: Sequence[Notification], target: Target, server: Server, digest: str, date: int
) -> EmailMessage:
    """One message listing ``notifications``; ``digest`` names it (its ``Message-ID`` source).

    Each notification keeps its own section with the same facts as a single
    message, in the order given.
    """
    count = len(notifications)
    prefix = f"{target.subject_prefix} " if target.subject_prefix else ""
    subject_line = f"{prefix}SLA digest: {count} notification{'s' if count != 1 else ''}"
    mid = message_id(f"digest/{digest}", target.name, server.domain)
    message = _envelope(target, server, subject_line, mid, date)
    message[KEY_HEADER] = printable(f"digest/{digest}")
    texts, htmls = [], []
    for n in notifications:
        link = ticket_link(server.ticket_url, n)
        texts.append(text_body(n, target.name, link))
        heading = html.escape(printable(f"{title(n)} for {_about(n)}"))
        rows = _html_rows(fields(n, target.name, link), link)
        htmls.append(f"<h3>{heading}</h3>\n<table>\n{rows}\n</table>")
    message.set_content(f"{subject_line}\n\n" + "\n".join(texts))
    message.add_alternative(
        '<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n'
        f"<h2>{html.escape(subject_line)}</h2>\n" + "\n<hr>\n".join(htmls) + "\n</body></html>\n",
        subtype="html",
    )
    return message


__all__ = [
    "KEY_HEADER",
    "TARGET_HEADER",
    "build",
    "build_digest",
    "fields",
    "html_body",
    "message_id",
    "span",
    "subject",
    "text_body",
    "ticket_link",
    "timing",
    "title",
]
