"""Spike alerts read as spikes in every body: the channel, the count and what was expected."""

from __future__ import annotations

import json

import pytest
from slaengine_webhook.payload import render

from slaengine.notifications import SPIKE, Notification

SPIKE_ALERT = Notification(
    kind=SPIKE,
    ticket="",
    policy="social-surge",
    metric="new_tickets",
    instance=1764583200,
    level=0,
    at=1764583200,
    due=None,
    priority="",
    notify=("social-lead",),
    channel="twitter",
    count=37,
    expected=4.6,
)


@pytest.mark.parametrize("body_format", ["slack", "teams", "google-chat", "json"])
def test_a_spike_names_its_channel_count_and_expectation(body_format):
    text = render(SPIKE_ALERT, "social-lead", body_format).decode()
    body = json.loads(text)
    assert "twitter" in text
    assert "37" in text
    assert "4.6" in text
    assert "social-surge" in text
    assert "ticket ," not in text  # no empty ticket
    assert "ticket ``" not in text
    if body_format == "slack":
        assert body["text"].startswith("SLA spike: 37 new tickets on twitter")
