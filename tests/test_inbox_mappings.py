"""Inbox webhooks: each vendor's documented payloads give exactly the expected events.

``tests/data/inbox/<vendor>/*.json`` are webhook bodies written from the
vendor's documentation; ``expected.json`` beside them says, per file, the
events, the ignored type, or the start of the InboxError message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

import slaengine
from slaengine.event_parsing import parse_instant
from slaengine.inbox import Delivery, InboxError
from slaengine.plugins import make_plugins

DATA = Path(__file__).resolve().parent / "data" / "inbox"
VENDORS = ("chatwoot", "zendesk", "freshdesk", "intercom", "front")


def _cases() -> list[Any]:
    cases = []
    for vendor in VENDORS:
        expected = json.loads((DATA / vendor / "expected.json").read_text(encoding="utf-8"))
        payloads = sorted(p for p in (DATA / vendor).glob("*.json") if p.name != "expected.json")
        assert {p.stem for p in payloads} == set(expected), f"{vendor}: files and expectations"
        cases.extend(
            pytest.param(vendor, path, expected[path.stem], id=f"{vendor}-{path.stem}")
            for path in payloads
        )
    return cases


@pytest.fixture(scope="module")
def inboxes() -> dict[str, Any]:
    return make_plugins(entry_points=False).inboxes()


def test_every_bundled_vendor_is_registered(inboxes):
    assert set(VENDORS) <= set(inboxes)
    for vendor in VENDORS:
        assert inboxes[vendor].name == vendor
        assert inboxes[vendor].description


@pytest.mark.parametrize(("vendor", "path", "expected"), _cases())
def test_payload_maps_to_expected_events(inboxes, vendor, path, expected):
    payload = json.loads(path.read_text(encoding="utf-8"))
    translate = inboxes[vendor].translate
    if "error" in expected:
        with pytest.raises(InboxError) as caught:
            translate(payload)
        assert str(caught.value).startswith(expected["error"])
        return
    delivery = translate(payload)
    assert isinstance(delivery, Delivery)
    if "ignored" in expected:
        assert delivery == Delivery(ignored=expected["ignored"])
        return
    assert delivery.ignored is None
    assert list(delivery.events) == expected["events"]
    for number, obj in enumerate(delivery.events):
        event = slaengine.parse_event(obj, seq=number)  # canonical: parses without a problem
        assert event.id == obj["id"]
        assert event.ticket == obj["ticket"]


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("payload", [[], "text", 42, None, {}, {"event": 3, "type": 3}], ids=repr)
def test_foreign_shapes_are_inbox_errors_not_tracebacks(inboxes, vendor, payload):
    with pytest.raises(InboxError, match=f"^{vendor}: "):
        inboxes[vendor].translate(payload)


def _variants(obj: Any) -> Any:
    """The payload with one value removed, nulled or replaced by a list, anywhere in it."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            rest = {k: v for k, v in obj.items() if k != key}
            yield rest
            yield {**rest, key: None}
            yield {**rest, key: [1]}
            for variant in _variants(value):
                yield {**rest, key: variant}
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            for variant in _variants(value):
                yield [*obj[:index], variant, *obj[index + 1 :]]


@pytest.mark.parametrize("vendor", VENDORS)
def test_damaged_payloads_give_events_ignores_or_inbox_errors(inboxes, vendor):
    # Any value missing, null or of the wrong type: never a KeyError or TypeError.
    tried = 0
    for path in sorted((DATA / vendor).glob("*.json")):
        if path.name == "expected.json":
            continue
        for variant in _variants(json.loads(path.read_text(encoding="utf-8"))):
            tried += 1
            try:
                delivery = inboxes[vendor].translate(variant)
            except InboxError:
                continue
            for obj in delivery.events:
                slaengine.parse_event(obj)
    assert tried > 500


DOC = DATA.parents[2] / "docs" / "integrations.md"


def test_the_integrations_page_covers_every_bundled_inbox(inboxes):
    text = DOC.read_text(encoding="utf-8")
    for vendor in VENDORS:
        assert f"\n## {vendor.title()}\n" in text, f"docs/integrations.md: no section for {vendor}"
        assert f"https://HOST/inbox/{vendor}" in text
        if inboxes[vendor].signed:
            assert f"SLAENGINE_INBOX_{vendor.upper()}_SECRET" in text


def test_the_documented_freshdesk_content_is_what_the_inbox_reads(inboxes):
    # The JSON block of the Freshdesk section, filled in as Freshdesk fills its placeholders.
    section = DOC.read_text(encoding="utf-8").split("\n## Freshdesk\n")[1].split("\n## ")[0]
    template = section.split("```json\n")[1].split("```")[0]
    rendered = {
        "ticket.id": "6541",
        "triggered_event": "{note_type:private}",
        "ticket.modified_on": "2026-03-02 10:10:00",
        "ticket.created_on": "2026-03-02 10:00:00",
        "ticket.status": "Open",
        "ticket.priority": "Urgent",
        "ticket.source": "Phone",
        "ticket.group.name": "Billing",
        "ticket.agent.email": "jonas@acme.example",
        "ticket.requester.email": "anna@example.com",
        "ticket.tags": "invoice,vat",
    }
    for placeholder, value in rendered.items():
        template = template.replace("{{" + placeholder + "}}", value)
    assert "{{" not in template, "a placeholder of the documented content is not covered here"
    delivery = inboxes["freshdesk"].translate(json.loads(template))
    created, note = delivery.events
    assert created == {
        "id": "created",
        "ticket": "6541",
        "at": "2026-03-02T09:00:00Z",
        "type": "created",
        "channel": "phone",
        "priority": "urgent",
        "customer": "anna@example.com",
        "group": "Billing",
        "assignee": "jonas@acme.example",
        "tags": ["invoice", "vat"],
    }
    assert note["author"] == "agent"
    assert note["public"] is False
    assert note["at"] == "2026-03-02T09:10:00Z"


def test_the_documented_zendesk_delivery_signs_and_translates_as_the_page_says(inboxes):
    section = DOC.read_text(encoding="utf-8").split("\n## Zendesk\n")[1].split("\n## ")[0]
    body = section.split("```json\n")[1].split("```")[0].encode("utf-8")  # comment_added.json
    # The shell recipe: base64 HMAC-SHA256 of the timestamp followed by the file's bytes.
    stamp = "2026-03-02T09:15:30Z"
    signature = base64.b64encode(
        hmac.new(b"s3cret", stamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    headers = {
        "x-zendesk-webhook-signature": signature,
        "x-zendesk-webhook-signature-timestamp": stamp,
    }
    inbox = inboxes["zendesk"]
    inbox.verify(body, headers, "s3cret", parse_instant(stamp) + 60)
    created, comment = inbox.translate(json.loads(body)).events
    assert created == {
        "id": "created",
        "ticket": "35436",
        "at": "2026-03-02T09:00:00Z",
        "type": "created",
        "channel": "web",
        "priority": "high",
        "customer": "7001",
        "group": "360001",
        "tags": ["login"],
        "author": "customer",
    }
    assert comment == {
        "id": "comment:555001",
        "ticket": "35436",
        "at": "2026-03-02T09:15:04Z",
        "type": "message",
        "author": "customer",
        "public": True,
    }
    # ... and the page says so.
    words = " ".join(section.split())
    for said in ("channel `web`", "priority `high`", "group `360001`", "`comment:555001`"):
        assert said in words
