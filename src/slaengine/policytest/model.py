"""The policy-test model: cases and expectations as read from a test file, located."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from slaengine.timeline import Timeline

# Clock fields an expectation may check, in the order failures are reported.
INSTANT_FIELDS: Final = ("start", "due", "stop")
DURATION_FIELDS: Final = ("elapsed", "remaining", "target", "paused")
TEXT_FIELDS: Final = ("state", "stop_reason", "priority", "group")
CHECKED_FIELDS: Final = (
    "state", *INSTANT_FIELDS, "stop_reason", *DURATION_FIELDS, "priority", "group", "misses"
)  # fmt: skip

# What the policy check expects when a case says ``policy: null``.
UNMATCHED: Final = None


@dataclass(frozen=True, slots=True)
class Check:
    """One expected value of one clock field, with where it was written.

    ``value`` is epoch seconds for instants (``None`` for ``null``), seconds for
    durations, text for the others; ``written`` is the text as written.
    """

    field: str
    value: int | str | None
    written: str
    line: int


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one instance of one metric's clock should look like."""

    metric: str
    instance: int
    checks: tuple[Check, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Case:
    """One policy test: a ticket's timeline, the instant to evaluate and what to expect.

    ``check_policy`` is False when the case says nothing about the policy;
    otherwise ``policy`` is the expected name (``None``: no policy matches).
    ``absent`` lists metrics that must have no clock instance.
    """

    source: str
    name: str
    line: int
    timeline: Timeline
    at: int
    anchor: int  # the first event's instant: ``+1h`` offsets count from it
    anchor_offset: int  # UTC offset (seconds) the first event was written in, for display
    check_policy: bool = False
    policy: str | None = None
    policy_line: int = 0
    expectations: tuple[Expectation, ...] = ()
    absent: tuple[tuple[str, int], ...] = ()  # (metric, line)


__all__ = [
    "CHECKED_FIELDS",
    "DURATION_FIELDS",
    "INSTANT_FIELDS",
    "TEXT_FIELDS",
    "UNMATCHED",
    "Case",
    "Check",
    "Expectation",
]
