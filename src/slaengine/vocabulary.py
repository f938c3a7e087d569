"""The words of clock results, one typed set: states, stop reasons, metric kinds, segments.

Each member is a ``str`` whose value is exactly the word that JSON, CSV and the tables
print, so members compare equal to (and hash like) the plain strings read from YAML,
events and stores.
"""

from __future__ import annotations

from enum import StrEnum


class ClockState(StrEnum):
    """Where a clock instance stands at the evaluation instant."""

    ACTIVE = "active"  # running, target not yet exceeded
    PAUSED = "paused"  # running but paused (a pause_when status), target not yet exceeded
    ACHIEVED = "achieved"  # stopped within its target by a fulfilment (or a solve, resolution)
    BREACHED = "breached"  # elapsed time exceeded the target, running or stopped
    CANCELLED = "cancelled"  # a response clock stopped by a solve or superseded, within target


class StopReason(StrEnum):
    """How a clock instance stopped."""

    FULFILLED = "fulfilled"  # a reply (response metrics) or an assignment (time to own)
    SOLVED = "solved"  # the ticket was solved or closed
    # A customer message ended a periodic_update that hands over to next_response
    # (``customer_message_stops``): the customer now waits for an answer instead.
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"  # a cancel trigger of a metric defined in YAML stopped it
    # The clock's agreement stopped matching the ticket (``on_unmatch: detach``).
    DETACHED = "detached"


class MetricKind(StrEnum):
    """The built-in metrics."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    PERIODIC_UPDATE = "periodic_update"
    RESOLUTION = "resolution"


class SegmentReason(StrEnum):
    """Why a stretch of a clock's span counted or not (see :class:`slaengine.clocks.Segment`)."""

    RUNNING = "running"  # counted: open hours, not paused
    HIDDEN = "hidden"  # counted, but the deadline is hidden in this status (hide_when)
    CLOSED = "closed"  # not counted: outside the calendar's open hours
    PAUSED = "paused"  # not counted: paused by a status or condition (pause_when, when_solved)
    STOPPED = "stopped"  # not counted: solved or closed until a reopen resumed the clock
    NOT_STARTED = "not_started"  # not counted: before a deferred start (first business minute)
    ROUNDED = "rounded"  # not counted: the part-minute that precision: minutes drops

    @property
    def counted(self) -> bool:
        """True when time in a segment of this reason adds to the elapsed time."""
        return self in _COUNTED


_COUNTED = frozenset({SegmentReason.RUNNING, SegmentReason.HIDDEN})


__all__ = ["ClockState", "MetricKind", "SegmentReason", "StopReason"]
