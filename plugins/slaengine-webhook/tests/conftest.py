"""Fixtures of the webhook tests: a live receiver and two notifications."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webhook_receiver import Receiver

from slaengine.notifications import Notification


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started :class:`Receiver`; shut down and joined after the test."""
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def breach() -> Notification:
    """A breach of T-1001's first response (due 2025-12-01T12:00:00Z)."""
    due = 1764590400
    return Notification(
        "breach", "T-1001", "standard-email", "first_response", 1, 0, due, due, "normal"
    )


@pytest.fixture
def escalation() -> Notification:
    """The first escalation of the same clock, two hours after the breach, for two targets."""
    due = 1764590400
    return Notification(
        "escalation",
        "T-1001",
        "standard-email",
        "first_response",
        1,
        1,
        due + 7200,
        due,
        "high",
        ("team-lead", "support-leads"),
    )
